package statuspage_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// now is the daemon's clock in these tests (a Monday), so that the review
// figures of the samples are known: business days counted on the official
// 2026 calendar with `icpmon bizdays count`.
var now = time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.China)

// The sample cancellations, where they stand at now:
//
//	late-bj  subject, pending, submitted 2025-12-01: 60 of 20 business days, overdue
//	soon-sh     website, pending, submitted 2026-01-30: 17 of 20, 3 left (deadline 2026-03-05)
//	access-sc   access,  pending, submitted 2026-02-04: 14 of 20, 6 left; typed with full-width digits
//	zj-new      website, pending, submitted 2026-02-27: 2 of 30 (Zhejiang), a lookup that proved nothing
//	idn-gd      website, approved (inferred), record absent, https://中国.cn served after the grace
//	cleared-js  subject, cleared two days ago
const samples = 6

func day(y int, m time.Month, d int) calendar.Date { return calendar.NewDate(y, m, d) }

func at(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, calendar.China) }

// seed writes the samples through the store, as the CLI and the jobs do.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []cancellation.Cancellation{
		{ID: "late-bj", Kind: cancellation.KindSubject, Licence: "京ICP备12345678号", Province: "京", Domains: []string{"bj.example.com"}, Submitted: day(2025, 12, 1)},
		{ID: "soon-sh", Kind: cancellation.KindWebsite, Licence: "沪ICP备11112222号-1", Province: "沪", Domains: []string{"www.example.cn"}, Submitted: day(2026, 1, 30)},
		{ID: "access-sc", Kind: cancellation.KindAccess, Licence: "川ICP备77778888号-1", LicenceRaw: "川ICP备７７７７８８８８号-1", Province: "川", Domains: []string{"cloud.example.net"}, Submitted: day(2026, 2, 4)},
		{ID: "zj-new", Kind: cancellation.KindWebsite, Licence: "浙ICP备20001234号-1", Province: "浙", Domains: []string{"zj.example.cn"}, Submitted: day(2026, 2, 27),
			Record: cancellation.Record{UnknownAt: at(3, 1, 8), UnknownReason: "rate_limited"}},
		{ID: "idn-gd", Kind: cancellation.KindWebsite, Licence: "粤ICP备55556666号-2", Province: "粤", Domains: []string{"xn--fiqs8s.cn", "shop.example.com"}, Submitted: day(2026, 1, 20)},
		{ID: "cleared-js", Kind: cancellation.KindSubject, Licence: "苏ICP备99990000号", Province: "苏", Submitted: day(2026, 1, 5)},
	} {
		if _, err := st.Add(ctx, c, "operator:test"); err != nil {
			t.Fatalf("add %s: %v", c.ID, err)
		}
	}
	update := func(id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) {
		t.Helper()
		if _, err := st.UpdateWithProbeHistory(ctx, id, actor, fn); err != nil {
			t.Fatalf("update %s: %v", id, err)
		}
	}
	absent := func(c *cancellation.Cancellation, sweeps int, first, last time.Time) {
		no := false
		// The unit seen by an earlier lookup stays known after the record is gone.
		c.Record = cancellation.Record{Present: &no, CheckedAt: last, AbsentSweeps: sweeps, FirstAbsentAt: first, Provider: "miit",
			UnitName: "广州中国网络有限公司"}
	}
	update("idn-gd", "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		absent(c, 1, at(2, 19, 9), at(2, 19, 9))
		return cancellation.Event{At: at(2, 19, 9), Action: "record",
			Detail: "public query (miit) proved no record for 粤ICP备55556666号-2 (1 of 2 confirmations)"}, nil
	})
	update("idn-gd", "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		absent(c, 2, at(2, 19, 9), at(2, 20, 10))
		return c.Transition(cancellation.Approved, at(2, 19, 9), "job:query",
			"approval inferred: public query (miit) proved no record for 粤ICP备55556666号-2 (2 of 2 confirmations)")
	})
	update("idn-gd", "job:reach", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		reach.AddProbes(c, []cancellation.Probe{
			{Domain: "xn--fiqs8s.cn", Scheme: "https", Result: "timeout", At: at(2, 20, 9), Duration: 10 * time.Second},
		})
		return reach.AddProbes(c, []cancellation.Probe{
			{Domain: "xn--fiqs8s.cn", Scheme: "https", Result: "served", StatusCode: 200, At: at(3, 1, 9), Duration: 345678 * time.Microsecond},
			{Domain: "xn--fiqs8s.cn", Scheme: "http", Result: "provider_block", StatusCode: 403, Detail: "Server: Beaver", At: at(3, 1, 9), Duration: 1234567 * time.Microsecond},
		}), nil
	})
	update("cleared-js", "operator:test", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		return c.Transition(cancellation.Approved, at(2, 10, 12), "operator:test", "")
	})
	update("cleared-js", "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		absent(c, 4, at(2, 11, 9), at(2, 28, 9))
		return c.Transition(cancellation.Cleared, at(2, 28, 9), "job:query", "public query (miit) proved no record in 4 sweeps")
	})
}

// site is a daemon serving the samples from a Redis of its own.
type site struct {
	base  string // http://host:port
	store *store.Store
}

// startSite runs the daemon over a fresh Redis, its jobs scheduled too
// rarely to run again during a test, seeds the samples and waits until its
// view holds them.
func startSite(t *testing.T) *site {
	t.Helper()
	rs := redistest.Start(t)
	config := harness.WriteFile(t, "icpmon.yml", fmt.Sprintf(`redis:
  url: %s
  key_prefix: test
web:
  listen_address: 127.0.0.1:0
review:
  schedule: "@every 6h"
query:
  schedule: "@every 6h"
  miit:
    base_url: http://127.0.0.1:9/unused
reach:
  schedule: "@every 6h"
`, rs.URL()))
	d := harness.StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		return daemon.Run(ctx, daemon.Options{ConfigFile: config, Logger: logger, Now: func() time.Time { return now }, FollowWait: time.Second})
	})
	s := &site{base: "http://" + d.Addr}
	// Every job runs once at the start, then not for hours: seeded after
	// that, the samples are what the pages show, and no job probes their
	// websites (which would leave this machine).
	harness.Eventually(t, time.Minute, "every job has run once", func() (bool, string) {
		_, page := s.get(t, "/", "")
		return strings.Contains(page, "<h2>Jobs</h2>") && !strings.Contains(page, "not yet"), page
	})
	s.store = store.New(rs.Client(t), "test")
	seed(t, s.store)
	harness.Eventually(t, time.Minute, "the view holds the samples", func() (bool, string) {
		_, page := s.get(t, "/", "")
		return strings.Contains(page, fmt.Sprintf(">%d of %d match.", samples, samples)), page
	})
	return s
}

// get fetches path with an Accept-Language header (none when empty).
func (s *site) get(t *testing.T, path, acceptLanguage string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp, string(body)
}
