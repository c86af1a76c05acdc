package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// TestMain quiets go-redis's process-wide logger: the outage tests make it
// print every failed dial, and the daemon's own log already says what failed.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// fixedNow is the daemon's clock in these tests: a known date, so that the
// review figures can be computed independently.
var fixedNow = time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.China)

// running is a daemon started by a test.
type running struct {
	d      *harness.Daemon
	t      *testing.T
	base   string // scheme://host:port
	client *http.Client
	logs   *harness.Log
}

// start runs the daemon with o (Logger, Now and the short intervals filled
// in) and waits until it listens. scheme is http or https; client talks to it.
func start(t *testing.T, o Options, scheme string, client *http.Client) *running {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	if o.PingInterval == 0 {
		o.PingInterval = 100 * time.Millisecond
	}
	if o.FollowWait == 0 {
		o.FollowWait = time.Second // reloads and a lost store seen sooner
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	d := harness.StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		o.Logger = logger
		return Run(ctx, o)
	})
	return &running{d: d, t: t, base: scheme + "://" + d.Addr, client: client, logs: d.Logs}
}

// stop cancels Run's context and returns what Run returned.
func (r *running) stop() error { return r.d.Stop() }

// get returns the status and body of a GET of path.
func (r *running) get(path string) (int, string) {
	r.t.Helper()
	return r.do("GET", path)
}

func (r *running) do(method, path string) (int, string) {
	r.t.Helper()
	return harness.Fetch(r.t, r.client, method, r.base+path)
}

// scrape returns the exposition and its parsed families.
func (r *running) scrape() (string, map[string]*dto.MetricFamily) {
	r.t.Helper()
	code, body := r.get("/metrics")
	if code != http.StatusOK {
		r.t.Fatalf("/metrics: %d %s", code, body)
	}
	return body, harness.ParseMetrics(r.t, body)
}

// value returns the value of the series of name whose labels include want
// (name=value pairs), and whether there is one.
var value = harness.MetricValue

// eventually polls cond until it holds, failing the test after a generous
// deadline. It asserts states, never durations.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, what, cond)
}

// canary is the query.canary of the tests: a licence the simulator holds.
const canary = "京ICP备10046444号"

// outside is everything beyond the daemon that its jobs reach in a test,
// all of it on this machine: a MIIT simulator for the query job, and the
// websites of the seeded domains for the reach job (reach.resolve sends
// every one of them to a local server, so no name is ever looked up).
type outside struct {
	miit    *miittest.Server
	caFile  string            // reach.ca_file: the certificate of the https sites
	resolve map[string]string // reach.resolve
}

func newOutside(t *testing.T) *outside {
	t.Helper()
	sim := miittest.New(miittest.Options{Seed: 1})
	t.Cleanup(sim.Close)
	// Still on file: the canary, the two pending cancellations' licences and
	// another website of the approved one's subject (its own -2 is gone).
	for _, r := range []scraper.Record{
		{Licence: canary + "-1", Domain: "canary.example.cn", UnitName: "金丝雀科技有限公司"},
		{Licence: "京ICP备12345678号-1", Domain: "example.com", UnitName: "北京示例有限公司"},
		{Licence: "浙ICP备20001234号-1", Domain: "zj.example.cn", UnitName: "浙江示例有限公司"},
		{Licence: "沪ICP备11112222号-1", Domain: "www.example.cn", UnitName: "上海示例有限公司"},
	} {
		sim.AddRecord(r)
	}

	block := httptest.NewServer(harness.Replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response")))
	t.Cleanup(block.Close)
	site := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<h1>the shop</h1>") })
	plain, secure, caFile := siteServers(t, site, "shop.example.cn", "example.com")
	addr := func(s *httptest.Server) string { return s.Listener.Addr().String() }
	return &outside{
		miit:   sim,
		caFile: caFile,
		resolve: map[string]string{
			// The approved cancellation's site: blocked by its access
			// provider over http, still served over https.
			"shop.example.cn:80":  addr(block),
			"shop.example.cn:443": addr(secure),
			// The pending one's site, which is not probed: mapped all the same.
			"example.com:80":  addr(plain),
			"example.com:443": addr(secure),
		},
	}
}

// siteServers serves site over http and over https with a certificate for
// hosts from a CA made for the test, whose PEM is in caFile (for
// reach.ca_file).
func siteServers(t *testing.T, site http.Handler, hosts ...string) (plain, secure *httptest.Server, caFile string) {
	t.Helper()
	ca := harness.NewCA(t)
	caFile = filepath.Join(t.TempDir(), "sites-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert := ca.Issue(t, time.Now().Add(24*time.Hour), hosts...)
	plain = httptest.NewServer(site)
	t.Cleanup(plain.Close)
	secure = httptest.NewUnstartedServer(site)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	secure.StartTLS()
	t.Cleanup(secure.Close)
	return plain, secure, caFile
}

// writeConfig writes a configuration file for redisURL with the review
// schedule and any extra YAML (inside the review section), and returns its
// path. The query and reach jobs run once at start and talk only to o.
// Every per-cancellation family is exposed (the default is the alerting set).
func (o *outside) writeConfig(t *testing.T, path, redisURL, reviewSchedule, extra string) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "icpmon.yml")
	}
	resolve, err := json.Marshal(o.resolve)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`redis:
  url: %s
  key_prefix: test
web:
  listen_address: 127.0.0.1:0
review:
  schedule: %q
%squery:
  schedule: "@every 6h"
  min_interval: 0s
  canary: %s
  miit:
    base_url: %s
reach:
  schedule: "@every 1h"
  ca_file: %q
  resolve: %s
metrics:
  per_cancellation: all
`, redisURL, reviewSchedule, extra, canary, o.miit.URL, o.caFile, resolve)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
