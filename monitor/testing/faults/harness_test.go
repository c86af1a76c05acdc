package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// TestMain quiets go-redis's process-wide logger, which prints every failed
// dial while Redis is down on purpose, and removes the icpmon binary that
// the process tests build.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	code := m.Run()
	removeBinary()
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// canary is the licence every sweep looks up first; the simulator files it.
const canary = "京ICP备10046444号"

// prefix is the key prefix of every store in the suite.
const prefix = "faults"

// licenceOf is the website licence of the i-th tracked cancellation: each
// has its own subject, so each is one lookup of a sweep.
func licenceOf(i int) string { return fmt.Sprintf("京ICP备%08d号-1", 30000000+i) }

// idOf is the ID of the i-th tracked cancellation.
func idOf(i int) string { return fmt.Sprintf("c%04d", i) }

// world is a Redis with AOF, a store on it and a MIIT simulator whose query
// requests pass a gate the test controls.
type world struct {
	t     *testing.T
	redis *redistest.Server
	rdb   *redis.Client // the test's own client: seeding, operator writes, audit
	store *store.Store
	sim   *miittest.Server
	gate  *gate
	api   string // the simulator's API root behind the gate
}

// newWorld starts Redis (extra arguments appended) and the simulator with
// the canary filed.
func newWorld(t *testing.T, redisArgs ...string) *world {
	t.Helper()
	rs := redistest.Start(t, redisArgs...)
	return newWorldOn(t, rs, redis.NewClient(&redis.Options{Addr: rs.Addr}))
}

func newWorldOn(t *testing.T, rs *redistest.Server, rdb *redis.Client) *world {
	t.Helper()
	t.Cleanup(func() { _ = rdb.Close() })
	// Small captcha images: the suite makes thousands of lookups under the
	// race detector, and the solver's work grows with the pixels.
	sim := miittest.NewHandler(miittest.Options{Seed: 9, Width: 128, Height: 64, Piece: 24})
	g := &gate{next: sim}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // a held request must not keep srv.Close waiting
	w := &world{t: t, redis: rs, rdb: rdb, store: store.New(rdb, prefix), sim: sim, gate: g, api: srv.URL + miittest.APIPath}
	w.file(canary + "-9")
	return w
}

// file puts a filing record for licence into the simulated public query.
func (w *world) file(licence string) {
	w.t.Helper()
	l, err := cancellation.ParseLicence(licence)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sim.AddRecord(scraper.Record{Licence: l.Number, MainLicence: l.Subject, UnitName: "测试单位", ServiceType: 1})
}

// track adds n pending website cancellations c0000…, each with its record
// filed, except those listed in removed, whose records the administration
// has already taken down (the sweep will infer approval, then clear).
func (w *world) track(n int, removed ...int) []string {
	w.t.Helper()
	gone := map[int]bool{}
	for _, i := range removed {
		gone[i] = true
	}
	cs := make([]cancellation.Cancellation, n)
	ids := make([]string, n)
	for i := range cs {
		lic := licenceOf(i)
		if !gone[i] {
			w.file(lic)
		}
		ids[i] = idOf(i)
		cs[i] = cancellation.Cancellation{
			ID: ids[i], Kind: cancellation.KindWebsite, Licence: lic, LicenceRaw: lic, Province: "京",
			Submitted: calendar.NewDate(2026, 1, 5),
		}
	}
	if err := w.store.AddMany(context.Background(), cs, "operator:faults"); err != nil {
		w.t.Fatal(err)
	}
	return ids
}

// config writes a daemon configuration for this world: Redis by redisYAML
// (the lines under "redis:"), quick schedules, the simulator as provider;
// extra is appended (top-level YAML).
func (w *world) config(redisYAML, extra string) string {
	w.t.Helper()
	return harness.WriteFile(w.t, "icpmon.yml", fmt.Sprintf(`redis:
%s
  key_prefix: %s
web:
  listen_address: 127.0.0.1:0
review:
  schedule: "@every 1s"
query:
  schedule: "@every 1s"
  provider: miit
  min_interval: 0s
  timeout: 60s
  park: 1s
  canary: %s
  confirmations: 1
  miit:
    base_url: %s
reach:
  schedule: "@every 1h"
%s`, redisYAML, prefix, canary, w.api, extra))
}

// gate holds a chosen query request of the simulator until released: it
// puts a fault at a known point of a sweep without relying on timing.
type gate struct {
	next http.Handler

	mu      sync.Mutex
	queries int
	holdAt  int           // the query request to hold; 0 for none
	held    chan struct{} // closed when it arrives
	release chan struct{} // closed to let it through
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/queryByCondition") {
		g.mu.Lock()
		g.queries++
		var wait chan struct{}
		if g.holdAt != 0 && g.queries == g.holdAt {
			close(g.held)
			wait = g.release
		}
		g.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
			case <-r.Context().Done():
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

// hold lets any held request through, arms the gate for the n-th query
// request from now and returns a channel closed when that request arrives.
func (g *gate) hold(n int) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseHeld()
	g.holdAt = g.queries + n
	g.held, g.release = make(chan struct{}), make(chan struct{})
	return g.held
}

// open lets a held request through and disarms the gate.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseHeld()
	g.holdAt = 0
}

// releaseHeld lets a held request through; g.mu is held.
func (g *gate) releaseHeld() {
	if g.release != nil {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	}
}

// await waits for ch with a generous deadline: a fault that never comes is a
// broken test, not a slow machine.
func await(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually polls cond until it holds, failing after a generous deadline.
// It asserts states, never durations.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	harness.Eventually(t, 90*time.Second, what, cond)
}

// running is a daemon.Run started in the test process.
type running struct {
	t      *testing.T
	d      *harness.Daemon
	base   string
	client *http.Client
	logs   *harness.Log
}

// startDaemon runs daemon.Run with o (logger and short ping interval filled
// in) and waits until it listens. The test fails if Run ever returns before
// the test stops it.
func startDaemon(t *testing.T, o daemon.Options) *running {
	t.Helper()
	if o.PingInterval == 0 {
		o.PingInterval = 100 * time.Millisecond
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	d := harness.StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		o.Logger = logger
		return daemon.Run(ctx, o)
	})
	return &running{t: t, d: d, base: "http://" + d.Addr, client: &http.Client{Timeout: 30 * time.Second}, logs: d.Logs}
}

// stop cancels Run and checks that it returned nil.
func (d *running) stop() {
	d.t.Helper()
	if err := d.d.Stop(); err != nil {
		d.t.Errorf("daemon.Run: %v", err)
	}
}

// get returns the status and body of a GET.
func (d *running) get(path string) (int, string) {
	d.t.Helper()
	d.d.FailIfExited(d.t)
	return harness.Fetch(d.t, d.client, http.MethodGet, d.base+path)
}

// metric returns the value of the series of name whose labels include want
// (name, value pairs), and whether there is one.
func (d *running) metric(name string, want ...string) (float64, bool) {
	d.t.Helper()
	code, body := d.get("/metrics")
	if code != http.StatusOK {
		d.t.Fatalf("/metrics: %d %s", code, body)
	}
	return harness.MetricValue(harness.ParseMetrics(d.t, body), name, want...)
}

// redisState polls until icpmon_redis_up is up (1 or 0) and /-/ready agrees
// (200 when up, 503 naming Redis when down).
func (d *running) redisState(up bool) {
	d.t.Helper()
	want := 0.0
	if up {
		want = 1
	}
	eventually(d.t, fmt.Sprintf("icpmon_redis_up is %v and /-/ready agrees", want), func() (bool, string) {
		v, ok := d.metric("icpmon_redis_up")
		code, body := d.get("/-/ready")
		readyOK := code == http.StatusOK
		if !up {
			readyOK = code == http.StatusServiceUnavailable && strings.Contains(body, "Redis")
		}
		return ok && v == want && readyOK, fmt.Sprintf("icpmon_redis_up %v (%v), /-/ready %d %q", v, ok, code, body)
	})
}

// jobSucceededSince polls until job's last success is at or after since.
func (d *running) jobSucceededSince(job string, since time.Time) {
	d.t.Helper()
	eventually(d.t, "a "+job+" run succeeds after "+since.Format(time.TimeOnly), func() (bool, string) {
		v, ok := d.metric("icpmon_job_last_success_timestamp_seconds", "job_name", job)
		return ok && v >= float64(since.UnixMilli())/1000, fmt.Sprintf("last success %v (%v)", v, ok)
	})
}
