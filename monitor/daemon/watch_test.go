package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// A website approved, then cleared by the query job, and
// still served pages as a cleared cancellation's site; once blocked, and
// after reach.watch_after_clear without an answer, it leaves the metrics.
func TestClearedSiteStillServedPages(t *testing.T) {
	rs := redistest.Start(t)
	st := store.New(rs.Client(t), "test")
	ctx := context.Background()
	// The daemon's clock, which the test moves past the watch at the end.
	// Probes are stamped with the real time.
	var ahead atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	// Approved two hours ago: past the one-hour grace, which counts from the
	// approval, not from the clearing that follows.
	approvedAt := time.Now().Add(-2 * time.Hour)
	if _, err := st.Add(ctx, cancellation.Cancellation{
		ID: "gone", Kind: cancellation.KindWebsite, Licence: "沪ICP备11112222号-2", Province: "沪",
		Domains: []string{"shop.example.cn"}, Submitted: calendar.NewDate(2026, 1, 20),
		Status: cancellation.Approved, ApprovedAt: approvedAt, ApprovedBy: "operator",
	}, "operator:test"); err != nil {
		t.Fatal(err)
	}

	// MIIT holds the canary and nothing of the subject: with one
	// confirmation the first sweep clears the cancellation.
	sim := miittest.New(miittest.Options{Seed: 1})
	t.Cleanup(sim.Close)
	sim.AddRecord(scraper.Record{Licence: canary + "-1", Domain: "canary.example.cn", UnitName: "金丝雀科技有限公司"})

	// The website, served over http and https until its provider blocks it.
	var blocked atomic.Bool
	block := harness.Replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response"))
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if blocked.Load() {
			block(w, r)
			return
		}
		_, _ = io.WriteString(w, "<h1>the shop</h1>")
	})
	plain, secure, caFile := siteServers(t, site, "shop.example.cn")
	resolve, err := json.Marshal(map[string]string{
		"shop.example.cn:80": plain.Listener.Addr().String(), "shop.example.cn:443": secure.Listener.Addr().String(),
	})
	if err != nil {
		t.Fatal(err)
	}

	// metrics.cleared_retention 0s: only the watch keeps the cleared one shown.
	cfg := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `redis:
  url: %s
  key_prefix: test
web:
  listen_address: 127.0.0.1:0
review:
  schedule: "@every 1s"
query:
  schedule: "@every 1h"
  min_interval: 0s
  confirmations: 1
  canary: %s
  miit:
    base_url: %s
reach:
  schedule: "@every 1s"
  grace: 1h
  watch_after_clear: 1h
  ca_file: %q
  resolve: %s
metrics:
  cleared_retention: 0s
  per_cancellation: all
`, rs.URL(), canary, sim.URL, caFile, resolve), 0o600); err != nil {
		t.Fatal(err)
	}
	d := start(t, Options{ConfigFile: cfg, Now: clock}, "http", nil)

	// Cleared, probed since, still served: reachable, with the facts the
	// alert's annotations read.
	eventually(t, "the cleared cancellation's site, probed after the clearing, is reachable", func() (bool, string) {
		c, err := st.Get(ctx, "gone")
		if err != nil {
			return false, err.Error()
		}
		if c.Status != cancellation.Cleared {
			return false, fmt.Sprintf("status %s, record %+v\n%s", c.Status, c.Record, d.logs)
		}
		for _, p := range c.Probes {
			if p.Scheme == "https" && !p.At.After(c.ClearedAt) {
				return false, fmt.Sprintf("https probed at %v, before the clearing at %v", p.At, c.ClearedAt)
			}
		}
		_, mfs := d.scrape()
		var missing []string
		if _, ok := value(mfs, "icpmon_cancellation_info", "id", "gone", "status", "cleared", "licence", "沪ICP备11112222号-2"); !ok {
			missing = append(missing, "info with status cleared")
		}
		if v, ok := value(mfs, "icpmon_cancellation_approved_timestamp_seconds", "id", "gone"); !ok || int64(v) != approvedAt.Unix() {
			missing = append(missing, fmt.Sprintf("approval at %d (have %v)", approvedAt.Unix(), v))
		}
		if v, ok := value(mfs, "icpmon_cancellation_cleared_timestamp_seconds", "id", "gone"); !ok || int64(v) != c.ClearedAt.Unix() {
			missing = append(missing, fmt.Sprintf("clearing at %d (have %v)", c.ClearedAt.Unix(), v))
		}
		for _, scheme := range []string{"http", "https"} {
			if v, ok := value(mfs, "icpmon_site_reachable", "id", "gone", "domain", "shop.example.cn", "scheme", scheme); !ok || v != 1 {
				missing = append(missing, scheme+" reachable")
			}
			if v, ok := value(mfs, "icpmon_site_probe_result", "id", "gone", "scheme", scheme, "result", prober.Served); !ok || v != 1 {
				missing = append(missing, scheme+" served")
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %v", missing)
	})
	code, page := d.get("/")
	if code != http.StatusOK || !strings.Contains(page, "https://shop.example.cn served") || !strings.Contains(page, "http://shop.example.cn served") {
		t.Errorf("status page (%d) lacks the cleared cancellation's probes:\n%s", code, page)
	}

	// Blocked: not reachable, but still watched, within the watch after its
	// last answer.
	blocked.Store(true)
	eventually(t, "the blocked site is no longer reachable", func() (bool, string) {
		_, mfs := d.scrape()
		for _, scheme := range []string{"http", "https"} {
			if v, ok := value(mfs, "icpmon_site_reachable", "id", "gone", "scheme", scheme); !ok || v != 0 {
				return false, fmt.Sprintf("%s: %v (present %v)", scheme, v, ok)
			}
		}
		_, info := value(mfs, "icpmon_cancellation_info", "id", "gone")
		return info, "no info series while watched"
	})

	// An hour without an answer after the last one: the watch ends, and with
	// it every series of the cancellation (its retention is 0).
	ahead.Store(int64(2 * time.Hour))
	eventually(t, "the watch has ended", func() (bool, string) {
		_, mfs := d.scrape()
		for _, name := range []string{"icpmon_site_reachable", "icpmon_cancellation_info", "icpmon_cancellation_cleared_timestamp_seconds"} {
			if _, ok := value(mfs, name, "id", "gone"); ok {
				return false, name + " still exported"
			}
		}
		return true, ""
	})
	c, err := st.Get(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Probes) != 0 || !slices.ContainsFunc(c.ProbeHistory, func(p cancellation.Probe) bool { return p.Result == prober.Served }) {
		t.Errorf("after the watch: latest probes %+v, history %+v; want none latest, the answers kept", c.Probes, c.ProbeHistory)
	}
	events, err := st.History(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e cancellation.Event) bool { return strings.HasPrefix(e.Detail, "watch ended: ") }) {
		t.Errorf("no event says the watch ended: %+v", events)
	}
}

// The snapshot shows a cleared cancellation while the reach job watches its
// sites (it has latest probes), past metrics.cleared_retention, with the
// grace counted from approval.
func TestTakeShowsWatchedClearedSites(t *testing.T) {
	cfg := config.Default()
	approvedAt := time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China)
	graceEnd := approvedAt.Add(cfg.Reach.Grace)
	now := approvedAt.Add(cfg.Metrics.ClearedRetention + 30*24*time.Hour)
	cleared := func(id string, n int, clearedAt time.Time, probes ...cancellation.Probe) cancellation.Cancellation {
		return cancellation.Cancellation{ID: id, Kind: cancellation.KindWebsite, Licence: fmt.Sprintf("京ICP备12345678号-%d", n),
			Province: "京", Domains: []string{id + ".example"}, Submitted: calendar.NewDate(2026, 1, 5),
			Status: cancellation.Cleared, ApprovedAt: approvedAt, ClearedAt: clearedAt, Probes: probes}
	}
	src := newSource(t,
		// Cleared long ago, still watched: its site answered past the grace.
		cleared("served", 1, approvedAt.Add(time.Hour),
			cancellation.Probe{Domain: "served.example", Scheme: "https", Result: prober.Served, At: now.Add(-time.Minute)},
			cancellation.Probe{Domain: "served.example", Scheme: "http", Result: prober.ProviderBlock, At: now.Add(-time.Minute)}),
		// Cleared within the grace, and served only then: no breach proven.
		cleared("early", 2, approvedAt.Add(time.Hour),
			cancellation.Probe{Domain: "early.example", Scheme: "https", Result: prober.Served, At: graceEnd.Add(-time.Minute)}),
		// Cleared long ago, no longer watched: gone from the snapshot.
		cleared("over", 3, approvedAt.Add(time.Hour)),
		// Cleared recently, unwatched: within the retention, without sites.
		cleared("recent", 4, now.Add(-time.Hour)),
	)
	s := take(t, src, now)
	got := map[string][]string{}
	for _, tr := range s.Tracked {
		got[tr.ID] = []string{}
		for _, x := range tr.Sites {
			got[tr.ID] = append(got[tr.ID], fmt.Sprintf("%s://%s %s %v", x.Scheme, x.Domain, x.Result, x.Reachable))
		}
		if tr.Probes != nil || tr.ProbeHistory != nil {
			t.Errorf("%s: the snapshot keeps the raw probes", tr.ID)
		}
	}
	want := map[string][]string{
		"served": {"http://served.example provider_block false", "https://served.example served true"},
		"early":  {"https://early.example served false"},
		"recent": {},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tracked sites %v,\nwant %v", got, want)
	}

	// What the alert reads of them.
	var expo metrics.Exposition
	expo.Publish(s, metrics.AllSeries)
	rec := httptest.NewRecorder()
	metrics.Handler(prometheus.NewRegistry(), &expo, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range []string{
		`icpmon_site_reachable{domain="served.example",id="served",scheme="https"} 1`,
		fmt.Sprintf(`icpmon_cancellation_approved_timestamp_seconds{id="served"} %d`, approvedAt.Unix()),
		fmt.Sprintf(`icpmon_cancellation_cleared_timestamp_seconds{id="served"} %d`, approvedAt.Add(time.Hour).Unix()),
		`icpmon_cancellation_info{domains="served.example",id="served",kind="website",licence="京ICP备12345678号-1",province="京",status="cleared",unit_name=""} 1`,
	} {
		if !strings.Contains(rec.Body.String(), line+"\n") {
			t.Errorf("the exposition lacks %s", line)
		}
	}
}
