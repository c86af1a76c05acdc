package reach_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// The probe history lives in a key of its own, bounded however many runs
// record into it, and the document keeps only the latest probes.
func TestProbeHistoryStaysBoundedInItsKey(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	st := store.New(rdb, "test")
	ctx := context.Background()
	track(t, st, "flaky", "京ICP备10000001号-1", cancellation.Approved, "flaky.example.cn")
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	outcomes := []cancellation.Probe{
		{Result: prober.Served, StatusCode: 200}, {Result: prober.Refused}, {Result: prober.Timeout},
		{Result: prober.Served, StatusCode: 502}, {Result: prober.ProviderBlock, StatusCode: 403},
	}
	docSize := func() int { return len(rdb.Get(ctx, "{test}:c:flaky").Val()) }
	var sizeAt50 int
	for run := range 500 {
		var probes []cancellation.Probe
		for i, scheme := range []string{"http", "https"} {
			p := outcomes[(run/(1+i))%len(outcomes)]
			p.Domain, p.Scheme, p.At = "flaky.example.cn", scheme, t0.Add(time.Duration(run)*10*time.Minute)
			p.Detail = fmt.Sprintf("run %d", run)
			probes = append(probes, p)
		}
		if _, err := st.UpdateWithProbeHistory(ctx, "flaky", "job:reach", func(c *cancellation.Cancellation) (cancellation.Event, error) {
			return reach.AddProbes(c, probes), nil
		}); err != nil {
			t.Fatal(err)
		}
		if run == 50 {
			sizeAt50 = docSize()
		}
	}
	if got := docSize(); got > sizeAt50+32 {
		t.Errorf("the document grew from %d to %d bytes over 450 runs", sizeAt50, got)
	}
	if doc := rdb.Get(ctx, "{test}:c:flaky").Val(); strings.Contains(doc, "probe_history") {
		t.Errorf("the document carries the probe history: %s", doc)
	}
	var history []cancellation.Probe
	if err := json.Unmarshal([]byte(rdb.Get(ctx, "{test}:ph:flaky").Val()), &history); err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, p := range history {
		per[p.Scheme]++
	}
	if len(per) != 2 || per["http"] > reach.HistoryPerTarget || per["https"] > reach.HistoryPerTarget {
		t.Errorf("history entries per scheme %v, want at most %d each", per, reach.HistoryPerTarget)
	}
	list, err := st.List(ctx, store.Filter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %d, %v", len(list), err)
	}
	full := get(t, st, "flaky")
	if list[0].ProbeHistory != nil || len(full.ProbeHistory) != len(history) {
		t.Errorf("List read %d entries of history, Get %d; want none and %d", len(list[0].ProbeHistory), len(full.ProbeHistory), len(history))
	}
	// The watch needs no history: the document knows when a site was last served.
	if want := reach.LastServed(full); !list[0].LastServedAt.Equal(want) || want.IsZero() {
		t.Errorf("LastServedAt %v, want %v", list[0].LastServedAt, want)
	}
}

// A cleared cancellation stored before the probe history had a key of its
// own has its last answer only in that history: the job still sees it, keeps
// watching, and moves the history out of the document.
func TestRunMigratesAnOldDocument(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	st := store.New(rdb, "test")
	ctx := context.Background()
	w := newWeb(t)
	now := time.Now()
	track(t, st, "old", "京ICP备10000001号-1", cancellation.Approved, "old.example.cn")
	clearAt(t, st, "old", now.Add(-watch-24*time.Hour))

	old := get(t, st, "old")
	answered := now.Add(-24 * time.Hour)
	dark := now.Add(-10 * time.Minute)
	old.Probes = []cancellation.Probe{{Domain: "old.example.cn", Scheme: "http", Result: prober.Refused, At: dark}}
	old.ProbeHistory = []cancellation.Probe{
		{Domain: "old.example.cn", Scheme: "http", Result: prober.Served, StatusCode: 200, At: answered, Count: 1, LastAt: answered},
		{Domain: "old.example.cn", Scheme: "http", Result: prober.Refused, At: dark, Count: 1, LastAt: dark},
	}
	doc, err := json.Marshal(old) // as the version before wrote it
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"probe_history"`) || strings.Contains(string(doc), "last_served_at") {
		t.Fatalf("not an old document: %s", doc)
	}
	rdb.Set(ctx, "{test}:c:old", doc, 0)

	p := w.newProber(map[string]string{"old.example.cn:80": w.site, "old.example.cn:443": w.closed})
	job := reach.New(reach.Options{Store: st, Prober: p, WatchAfterClear: watch, Now: func() time.Time { return now }})
	if err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.hits.of("http://old.example.cn"); got != 1 {
		t.Errorf("the site served a day ago was probed %d times, want once: still watched", got)
	}
	if doc := rdb.Get(ctx, "{test}:c:old").Val(); strings.Contains(doc, "probe_history") || !strings.Contains(doc, "last_served_at") {
		t.Errorf("not migrated: %s", doc)
	}
	c := get(t, st, "old")
	if len(c.ProbeHistory) < 3 || !c.ProbeHistory[0].At.Equal(answered) {
		t.Errorf("history after the move %+v, want the old entries and the new probes", c.ProbeHistory)
	}
	if !c.LastServedAt.After(answered) {
		t.Errorf("LastServedAt %v, want the new answer", c.LastServedAt)
	}
}
