package status_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

func rules(t *testing.T) status.Rules {
	t.Helper()
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	return status.Rules{Calendar: cal, Limits: status.Limits{Default: 3}, LingerBusinessDays: 3,
		Grace: time.Hour, ClearedRetention: 24 * time.Hour}
}

func pending(id string, submitted calendar.Date) cancellation.Cancellation {
	return cancellation.Cancellation{ID: id, Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-1", Province: "京",
		Submitted: submitted, Status: cancellation.Pending}
}

func ids(s *status.Snapshot) string {
	var out []string
	for _, t := range s.Tracked {
		out = append(out, t.ID)
	}
	return fmt.Sprint(out)
}

// Business days move at China midnight, and only then: Advance recomputes
// the pending reviews on a new date and leaves the view alone before it.
func TestViewAdvancesAtChinaMidnight(t *testing.T) {
	v := status.NewView(rules(t))
	// Submitted Monday 2026-03-02; the 3rd business day after is Thursday 03-05.
	lastEvening := time.Date(2026, 3, 5, 23, 59, 0, 0, calendar.China)
	v.Load([]cancellation.Cancellation{pending("a", calendar.NewDate(2026, 3, 2))}, nil, lastEvening)
	s, changed := v.Snapshot(lastEvening)
	if !changed.State || s.Tracked[0].Review.Elapsed != 3 || s.Tracked[0].Overdue() {
		t.Fatalf("on the last day: changed %v, %+v", changed, s.Tracked[0].Review)
	}
	v.Advance(lastEvening.Add(30 * time.Second))
	if _, changed := v.Snapshot(lastEvening); changed.Changed {
		t.Error("the view changed within the same day")
	}
	midnight := time.Date(2026, 3, 6, 0, 0, 1, 0, calendar.China)
	v.Advance(midnight)
	s, changed = v.Snapshot(midnight)
	if !changed.State || s.Tracked[0].Review.Elapsed != 4 || !s.Tracked[0].Overdue() {
		t.Errorf("after midnight: changed %v, %+v; want 4 business days, overdue", changed, s.Tracked[0].Review)
	}
}

// Apply recomputes only what it is given; the rest of the view stays the
// same standings, and the order is active by ID, then cleared by ID.
func TestViewApply(t *testing.T) {
	r := rules(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, calendar.China)
	v := status.NewView(r)
	v.Load([]cancellation.Cancellation{pending("b", calendar.NewDate(2026, 3, 2)), pending("a", calendar.NewDate(2026, 3, 2))},
		map[status.Count]int{{Kind: cancellation.KindWebsite, Status: cancellation.Pending}: 2}, now)
	before, _ := v.Snapshot(now)
	if ids(before) != "[a b]" {
		t.Fatalf("order %s", ids(before))
	}

	cleared := pending("a", calendar.NewDate(2026, 3, 2))
	cleared.Status, cleared.ApprovedAt, cleared.ClearedAt = cancellation.Cleared, now.Add(-time.Hour), now
	added := pending("c", calendar.NewDate(2026, 3, 3))
	v.Apply([]cancellation.Cancellation{cleared, added}, []string{"never-shown"}, nil, now)
	after, changed := v.Snapshot(now)
	if !changed.State || ids(after) != "[b c a]" {
		t.Fatalf("after a clearing and an add: %s (changed %v), want [b c a]", ids(after), changed)
	}
	if after.Tracked[0] != before.Tracked[1] {
		t.Error("an unchanged cancellation was recomputed")
	}
	if before.Tracked[0].Status != cancellation.Pending || ids(before) != "[a b]" {
		t.Error("a published snapshot changed under its readers")
	}
	if after.Counts[status.Count{Kind: cancellation.KindWebsite, Status: cancellation.Pending}] != 2 {
		t.Error("counts not given with a change were dropped")
	}

	// Past the retention the cleared one leaves; a removed one leaves at once.
	v.Apply(nil, []string{"b"}, nil, now)
	v.Advance(now.Add(r.ClearedRetention + time.Second))
	if s, _ := v.Snapshot(now); ids(s) != "[c]" {
		t.Errorf("after a removal and the retention: %s, want [c]", ids(s))
	}
}

// Nothing is shown before the first load, not even counts of zero.
func TestViewShowsNothingBeforeLoad(t *testing.T) {
	v := status.NewView(rules(t))
	v.Apply([]cancellation.Cancellation{pending("a", calendar.NewDate(2026, 3, 2))}, nil, nil, time.Now())
	if s, changed := v.Snapshot(time.Now()); s != nil || changed.Changed {
		t.Errorf("snapshot before a load: %+v", s)
	}
}

// New rules (a reload) recompute every standing, the watched cleared ones
// included.
func TestViewSetRules(t *testing.T) {
	r := rules(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, calendar.China)
	watched := pending("w", calendar.NewDate(2026, 2, 2))
	watched.Status, watched.ApprovedAt, watched.ClearedAt = cancellation.Cleared, now.Add(-72*time.Hour), now.Add(-48*time.Hour)
	watched.Domains = []string{"w.example"}
	watched.Probes = []cancellation.Probe{{Domain: "w.example", Scheme: "https", Result: "served", At: now.Add(-time.Minute)}}
	v := status.NewView(r)
	v.Load([]cancellation.Cancellation{pending("a", calendar.NewDate(2026, 3, 2)), watched}, nil, now)
	r.Limits.Default = 10
	v.SetRules(r, now)
	s, _ := v.Snapshot(now)
	if ids(s) != "[a w]" || s.Tracked[0].Review.Limit != 10 || !s.Tracked[1].Served() {
		t.Errorf("after new rules: %s, limit %d, watched site served %v", ids(s), s.Tracked[0].Review.Limit, s.Tracked[1].Served())
	}
}

// A full load of an unchanged store keeps every standing and changes
// nothing; a document with a new version is computed again.
func TestViewReloadKeepsUnchanged(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, calendar.China)
	a, b := pending("a", calendar.NewDate(2026, 3, 2)), pending("b", calendar.NewDate(2026, 3, 2))
	a.Version, b.Version = 1, 1
	v := status.NewView(rules(t))
	v.Load([]cancellation.Cancellation{a, b}, nil, now)
	first, _ := v.Snapshot(now)

	r := v.Reload(now.Add(time.Minute))
	r.Add([]cancellation.Cancellation{b})
	r.Add([]cancellation.Cancellation{a})
	r.Done(nil)
	if s, changed := v.Snapshot(now); changed.Changed || s != first {
		t.Error("a reload of the same documents changed the view")
	}

	b.Version, b.Submitted = 2, calendar.NewDate(2026, 3, 3)
	r = v.Reload(now.Add(time.Minute))
	r.Add([]cancellation.Cancellation{a, b})
	r.Done(nil)
	s, changed := v.Snapshot(now)
	if !changed.State || s.Tracked[0] != first.Tracked[0] || s.Tracked[1].Submitted != b.Submitted {
		t.Errorf("after a reload with b changed: changed %v, a kept %v, b submitted %s", changed, s.Tracked[0] == first.Tracked[0], s.Tracked[1].Submitted)
	}
}

// A probe run that only moves probe times changes the snapshot (the status
// page shows them) but not its state (the series /metrics exposes).
func TestViewProbeTimesAreNoStateChange(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, calendar.China)
	c := pending("a", calendar.NewDate(2026, 2, 2))
	c.Status, c.ApprovedAt, c.Domains = cancellation.Approved, now.Add(-72*time.Hour), []string{"a.example"}
	c.Probes = []cancellation.Probe{{Domain: "a.example", Scheme: "https", Result: "provider_block", At: now.Add(-time.Hour)}}
	v := status.NewView(rules(t))
	v.Load([]cancellation.Cancellation{c}, nil, now)
	v.Snapshot(now)

	c.Version++
	c.Probes[0].At, c.Probes[0].Duration = now, time.Second
	v.Apply([]cancellation.Cancellation{c}, nil, nil, now)
	if s, changed := v.Snapshot(now); !changed.Changed || changed.State || !s.Tracked[0].Sites[0].At.Equal(now) {
		t.Errorf("a later probe with the same result: %+v", changed)
	}
	c.Version++
	c.Probes[0].Result = "served"
	v.Apply([]cancellation.Cancellation{c}, nil, nil, now)
	if _, changed := v.Snapshot(now); !changed.State {
		t.Error("a site now served is no change of state")
	}
}
