package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
)

// probed returns an approved cancellation with a latest probe and a history of two.
func probed(n int, at time.Time) cancellation.Cancellation {
	c := website(n)
	present := true
	c.Status, c.ApprovedAt, c.ApprovedBy = cancellation.Approved, at, "operator"
	c.Record = cancellation.Record{Present: &present, CheckedAt: at, Licences: []string{c.Licence}}
	c.Probes = []cancellation.Probe{{Domain: c.Domains[0], Scheme: "https", Result: "served", At: at}}
	c.LastServedAt = at
	c.ProbeHistory = []cancellation.Probe{
		{Domain: c.Domains[0], Scheme: "https", Result: "timeout", At: at.Add(-time.Hour), Detail: `odd "detail" {`},
		{Domain: c.Domains[0], Scheme: "https", Result: "served", At: at},
	}
	return c
}

// Active and List read documents only: the probe history is in a key of its
// own, which Get reads.
func TestListLeavesProbeHistoryOut(t *testing.T) {
	s, rdb := newStore(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	one := add(t, s, probed(1, at))
	if err := s.AddMany(ctx(t), []cancellation.Cancellation{probed(2, at), website(3)}, operator); err != nil {
		t.Fatal(err)
	}
	for _, key := range rdb.Keys(ctx(t), "{test}:c:*").Val() {
		if doc := rdb.Get(ctx(t), key).Val(); strings.Contains(doc, "probe_history") {
			t.Errorf("%s carries the probe history: %s", key, doc)
		}
	}
	active, err := s.Active(ctx(t))
	if err != nil || len(active) != 3 {
		t.Fatalf("Active: %d, %v", len(active), err)
	}
	for _, c := range active {
		if c.ProbeHistory != nil {
			t.Errorf("%s: Active read the probe history", c.ID)
		}
		full, err := s.Get(ctx(t), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == cancellation.Approved && len(full.ProbeHistory) != 2 {
			t.Errorf("%s: Get lost the probe history: %+v", c.ID, full.ProbeHistory)
		}
		full.ProbeHistory = nil
		if !reflect.DeepEqual(c, full) {
			t.Errorf("Active %+v\nGet    %+v", c, full)
		}
	}
	if err := s.Remove(ctx(t), one.ID, operator); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx(t), "{test}:ph:"+one.ID).Val(); n != 0 {
		t.Error("the probe history outlived its removed cancellation")
	}
	if _, err := s.History(ctx(t), one.ID); err != nil {
		t.Errorf("the history went with the removal: %v", err)
	}
}

// UpdateWithProbeHistory gives fn the history and writes it with the
// document; Update leaves it alone.
func TestUpdateWithProbeHistory(t *testing.T) {
	s, rdb := newStore(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := add(t, s, probed(1, at))
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		if c.ProbeHistory != nil {
			t.Errorf("Update showed fn the probe history")
		}
		c.Note = "checked"
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	later := cancellation.Probe{Domain: c.Domains[0], Scheme: "https", Result: "refused", At: at.Add(time.Hour)}
	after, err := s.UpdateWithProbeHistory(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		if len(c.ProbeHistory) != 2 {
			t.Errorf("fn got %d entries of history, want 2", len(c.ProbeHistory))
		}
		c.Probes[0] = later
		c.ProbeHistory = append(c.ProbeHistory, later)
		return cancellation.Event{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx(t), c.ID)
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(after)
	if err != nil || string(gotJSON) != string(wantJSON) || len(got.ProbeHistory) != 3 || got.Note != "checked" {
		t.Errorf("Get %+v (%v)\nwant %+v", got, err, after)
	}
	// A write that changes nothing writes nothing.
	same, err := s.UpdateWithProbeHistory(ctx(t), c.ID, operator, func(*cancellation.Cancellation) (cancellation.Event, error) {
		return cancellation.Event{}, nil
	})
	if err != nil || same.Version != after.Version {
		t.Errorf("no change: version %d, want %d (%v)", same.Version, after.Version, err)
	}
	var stored []cancellation.Probe
	if err := json.Unmarshal([]byte(rdb.Get(ctx(t), "{test}:ph:"+c.ID).Val()), &stored); err != nil || len(stored) != 3 {
		t.Errorf("probe history key: %d entries, %v", len(stored), err)
	}
}

// A document written before the probe history had a key of its own still
// reads, and its next write moves the history to the key.
func TestOldDocumentMigrates(t *testing.T) {
	for _, write := range []struct {
		name   string
		update func(t *testing.T, s *Store, id string) (cancellation.Cancellation, error)
	}{
		{"Update", func(t *testing.T, s *Store, id string) (cancellation.Cancellation, error) {
			return s.Update(ctx(t), id, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
				c.Note = "moved"
				return cancellation.Event{}, nil
			})
		}},
		{"UpdateWithProbeHistory", func(t *testing.T, s *Store, id string) (cancellation.Cancellation, error) {
			return s.UpdateWithProbeHistory(ctx(t), id, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
				if len(c.ProbeHistory) != 2 {
					t.Errorf("fn got %d entries of the old history, want 2", len(c.ProbeHistory))
				}
				c.Note = "moved"
				return cancellation.Event{}, nil
			})
		}},
	} {
		t.Run(write.name, func(t *testing.T) {
			s, rdb := newStore(t)
			at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			c := add(t, s, website(1))
			// As the version before wrote it: the history inside the document.
			old := probed(1, at)
			old.ID, old.CreatedAt, old.UpdatedAt, old.Version, old.LastServedAt = c.ID, c.CreatedAt, c.UpdatedAt, c.Version, time.Time{}
			doc, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			rdb.Set(ctx(t), "{test}:c:"+c.ID, doc, 0)
			rdb.SMove(ctx(t), "{test}:i:pending:website", "{test}:i:approved:website", c.ID)

			list, err := s.List(ctx(t), Filter{})
			if err != nil || len(list) != 1 || list[0].ProbeHistory != nil || len(list[0].Probes) != 1 {
				t.Fatalf("List of an old document: %+v, %v", list, err)
			}
			if got, err := s.Get(ctx(t), c.ID); err != nil || len(got.ProbeHistory) != 2 {
				t.Fatalf("Get of an old document: %+v, %v", got.ProbeHistory, err)
			}
			if _, err := write.update(t, s, c.ID); err != nil {
				t.Fatal(err)
			}
			if doc := rdb.Get(ctx(t), "{test}:c:"+c.ID).Val(); strings.Contains(doc, "probe_history") {
				t.Errorf("the write left the history in the document: %s", doc)
			}
			got, err := s.Get(ctx(t), c.ID)
			if err != nil || got.Note != "moved" || !reflect.DeepEqual(got.ProbeHistory, old.ProbeHistory) {
				t.Errorf("after the move: %+v, %v\nwant history %+v", got.ProbeHistory, err, old.ProbeHistory)
			}
		})
	}
}
