package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/redistest"
)

// ListCurrent gives what List gives, every field but the probe history.
func TestListCurrent(t *testing.T) {
	s := New(redistest.Start(t).Client(t), "test")
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	present := true
	for i := range 3 {
		c := nth(i)
		c.ID = []string{"a", "b", "c"}[i]
		if i > 0 {
			c.Status, c.ApprovedAt, c.ApprovedBy = cancellation.Approved, at, "operator"
			c.Record = cancellation.Record{Present: &present, CheckedAt: at, Licences: []string{c.Licence}}
			c.Probes = []cancellation.Probe{{Domain: c.Domains[0], Scheme: "https", Result: "served", At: at}}
			c.ProbeHistory = []cancellation.Probe{
				{Domain: c.Domains[0], Scheme: "https", Result: "timeout", At: at.Add(-time.Hour), Detail: `odd "detail" {`},
				{Domain: c.Domains[0], Scheme: "https", Result: "served", At: at},
			}
		}
		if _, err := s.Add(ctx, c, operator); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	current, err := s.ListCurrent(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(current) != 3 {
		t.Fatalf("List gave %d, ListCurrent %d, want 3 each", len(all), len(current))
	}
	if len(all[2].ProbeHistory) != 2 {
		t.Fatalf("List lost the probe history: %+v", all[2].ProbeHistory)
	}
	for i := range all {
		if current[i].ProbeHistory != nil {
			t.Errorf("%s: ListCurrent decoded the probe history", current[i].ID)
		}
		want := all[i]
		want.ProbeHistory = nil
		if !reflect.DeepEqual(current[i], want) {
			t.Errorf("ListCurrent %+v\nList        %+v", current[i], want)
		}
	}
}
