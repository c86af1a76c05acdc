package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

func TestTake(t *testing.T) {
	cfg := config.Default()
	approvedAt := time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China)
	graceEnd := approvedAt.Add(cfg.Reach.Grace)
	src := newSource(t, []cancellation.Cancellation{
		{ID: "site", Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-1", Province: "京",
			Domains: []string{"a.example", "b.example"}, Submitted: calendar.NewDate(2026, 1, 5),
			Status: cancellation.Approved, ApprovedAt: approvedAt,
			Probes: []cancellation.Probe{
				// Served, but only during the grace: no violation proven.
				{Domain: "a.example", Scheme: "https", Result: "served", At: graceEnd.Add(-time.Minute)},
				// An older probe of the same site and scheme is superseded.
				{Domain: "b.example", Scheme: "https", Result: "provider_block", At: graceEnd.Add(time.Hour)},
				{Domain: "b.example", Scheme: "https", Result: "served", At: graceEnd.Add(2 * time.Hour)},
				{Domain: "b.example", Scheme: "http", Result: "timeout", At: graceEnd.Add(2 * time.Hour)},
			}},
		{ID: "access", Kind: cancellation.KindAccess, Licence: "京ICP备12345678号-2", Province: "京",
			Domains: []string{"c.example"}, Submitted: calendar.NewDate(2026, 1, 5),
			Status: cancellation.Approved, ApprovedAt: approvedAt},
		{ID: "done", Kind: cancellation.KindSubject, Licence: "沪ICP备11112222号", Province: "沪",
			Submitted: calendar.NewDate(2025, 10, 9), Status: cancellation.Cleared, ApprovedAt: approvedAt, ClearedAt: approvedAt.Add(72 * time.Hour)},
		{ID: "gone", Kind: cancellation.KindWebsite, Licence: "沪ICP备11112222号-5", Province: "沪",
			Submitted: calendar.NewDate(2025, 10, 9), Status: cancellation.Withdrawn},
	}...)
	cleared, err := src.store.Get(context.Background(), "done")
	if err != nil {
		t.Fatal(err)
	}

	s := take(t, src, cleared.ClearedAt.Add(cfg.Metrics.ClearedRetention))
	byID := map[string]*status.Standing{}
	var order []string
	for _, tr := range s.Tracked {
		byID[tr.ID] = tr
		order = append(order, tr.ID)
	}
	if fmt.Sprint(order) != "[access site done]" {
		t.Errorf("tracked %v, want the active ones by ID, then the cleared one still retained", order)
	}
	site := byID["site"]
	got := map[string]string{}
	for _, x := range site.Sites {
		got[x.Scheme+"://"+x.Domain] = fmt.Sprintf("%s %v", x.Result, x.Reachable)
	}
	want := map[string]string{
		"https://a.example": "served false",
		"https://b.example": "served true",
		"http://b.example":  "timeout false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sites %v, want %v", got, want)
	}
	if wantLinger := src.cal.Deadline(calendar.DateOf(approvedAt), cfg.Query.LingerBusinessDays); !site.LingerDeadline.Equal(wantLinger) {
		t.Errorf("linger deadline %v, want %v", site.LingerDeadline, wantLinger)
	}
	if !byID["access"].LingerDeadline.IsZero() {
		t.Error("an access cancellation has a linger deadline; its record is meant to stay")
	}
	for pair, n := range map[status.Count]int{
		{Kind: cancellation.KindWebsite, Status: cancellation.Approved}:  1,
		{Kind: cancellation.KindAccess, Status: cancellation.Approved}:   1,
		{Kind: cancellation.KindSubject, Status: cancellation.Cleared}:   1,
		{Kind: cancellation.KindWebsite, Status: cancellation.Withdrawn}: 1,
		{Kind: cancellation.KindWebsite, Status: cancellation.Pending}:   0,
	} {
		if s.Counts[pair] != n {
			t.Errorf("count %v = %d, want %d", pair, s.Counts[pair], n)
		}
	}

	// Past the retention the cleared one leaves the per-cancellation series.
	s = take(t, src, cleared.ClearedAt.Add(cfg.Metrics.ClearedRetention+time.Second))
	if len(s.Tracked) != 2 {
		t.Errorf("%d tracked past the retention, want the 2 active ones", len(s.Tracked))
	}
	if s.Counts[status.Count{Kind: cancellation.KindSubject, Status: cancellation.Cleared}] != 1 {
		t.Error("a cleared cancellation past the retention is no longer counted")
	}
}

// source is what a view is loaded from: one configuration's store and calendar.
type source struct {
	store *store.Store
	cal   *calendar.Calendar
	cfg   *config.Config
}

// newSource is a store on a Redis of the test's own holding cs, with the
// default configuration and the embedded calendar.
func newSource(t testing.TB, cs ...cancellation.Cancellation) source {
	t.Helper()
	st := store.New(redistest.Start(t).Client(t), "test")
	if err := st.AddMany(context.Background(), cs, "operator:test"); err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	return source{store: st, cal: cal, cfg: &cfg}
}

// take loads a view of src at now with the daemon's own follower, and
// returns what it published.
func take(t testing.TB, src source, now time.Time) *status.Snapshot {
	t.Helper()
	d := viewDaemon(t, src, now)
	if err := d.follow(context.Background()); err != nil { // adopt, load, publish
		t.Fatal(err)
	}
	return d.expo.Snapshot()
}

// viewDaemon is a daemon with one generation over src whose clock says now
// and whose follower blocks only briefly on the notices; no loop runs.
func viewDaemon(t testing.TB, src source, now time.Time) *daemon {
	d := &daemon{o: Options{Now: func() time.Time { return now }, ResyncInterval: 24 * time.Hour},
		log: slog.New(slog.DiscardHandler), metrics: metrics.NewSet()}
	d.gen.Store(&generation{cfg: src.cfg, cal: src.cal, conn: &conn{store: src.store, refs: 1}})
	d.live = newLive()
	d.live.wait = time.Millisecond
	d.live.turned()
	return d
}
