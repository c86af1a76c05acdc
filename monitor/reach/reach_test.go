package reach_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// watch is reach.watch_after_clear in these tests.
const watch = 7 * 24 * time.Hour

// hits counts the requests each local website received, by scheme://host.
type hits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hits) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		h.mu.Lock()
		h.n[scheme+"://"+r.Host]++
		h.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (h *hits) of(target string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[target]
}

// web is the websites of a test, all on loopback; resolve sends each
// domain's :80 and :443 there, so that the prober never looks a name up.
type web struct {
	hits    *hits
	block   string // the Alibaba Cloud block page, over http
	site    string // a website, over http
	tlsSite string // the same over https, with a certificate for example.com
	closed  string // a port nobody listens on
	// newProber returns a prober trusting tlsSite that goes where resolve says.
	newProber func(resolve map[string]string) *prober.Prober
}

func newWeb(t *testing.T) *web {
	t.Helper()
	h := &hits{n: map[string]int{}}
	serve := func(s *httptest.Server) string {
		t.Cleanup(s.Close)
		return s.Listener.Addr().String()
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<h1>a website</h1>") })
	// httptest's certificate names example.com: the domain that goes over https.
	tlsSrv := httptest.NewTLSServer(h.count(page))
	w := &web{
		hits:    h,
		block:   serve(httptest.NewServer(h.count(harness.Replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response"))))),
		site:    serve(httptest.NewServer(h.count(page))),
		tlsSite: serve(tlsSrv),
		closed:  harness.FreeAddr(t),
	}
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	w.newProber = func(resolve map[string]string) *prober.Prober {
		p, err := prober.New(prober.Options{Resolve: resolve, RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return w
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	return store.New(redistest.Start(t).Client(t), "test")
}

var approvedAt = time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China)

// track adds a website cancellation with status and domains.
func track(t *testing.T, st *store.Store, id, licence string, status cancellation.Status, domains ...string) {
	t.Helper()
	c := cancellation.Cancellation{ID: id, Kind: cancellation.KindWebsite, Licence: licence, Province: string([]rune(licence)[:1]),
		Domains: domains, Submitted: calendar.NewDate(2026, 1, 5), Status: status}
	if status == cancellation.Approved {
		c.ApprovedAt, c.ApprovedBy = approvedAt, "operator"
	}
	if _, err := st.Add(context.Background(), c, "operator:test"); err != nil {
		t.Fatalf("add %s: %v", id, err)
	}
}

// clearAt clears an approved cancellation as the query job does, at the given
// moment; the store stamps the write itself with the present.
func clearAt(t *testing.T, st *store.Store, id string, at time.Time) {
	t.Helper()
	if _, err := st.Update(context.Background(), id, "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Status, c.ClearedAt = cancellation.Cleared, at
		return cancellation.Event{At: at, Action: cancellation.ActionClear, Detail: "no record left"}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// results returns c's latest probes as "scheme://domain result".
func results(c cancellation.Cancellation) []string {
	var out []string
	for _, p := range c.Probes {
		out = append(out, p.Scheme+"://"+p.Domain+" "+string(p.Result))
	}
	slices.Sort(out)
	return out
}

func get(t *testing.T, st *store.Store, id string) cancellation.Cancellation {
	t.Helper()
	c, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// probeEvents returns the details of c's "probe" history events.
func probeEvents(t *testing.T, st *store.Store, id string) []string {
	t.Helper()
	events, err := st.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Action == "probe" {
			if e.Actor != "job:reach" {
				t.Errorf("probe event of %s by %q, want job:reach", id, e.Actor)
			}
			out = append(out, e.Detail)
		}
	}
	return out
}

func TestRunProbesWhatIsWatched(t *testing.T) {
	st := newStore(t)
	w := newWeb(t)
	now := time.Now()
	track(t, st, "blocked", "京ICP备10000001号-1", cancellation.Approved, "blocked.example.cn", "example.com")
	track(t, st, "sharing", "沪ICP备10000002号-1", cancellation.Approved, "example.com")
	track(t, st, "pending", "粤ICP备10000003号-1", cancellation.Pending, "pending.example.cn")
	track(t, st, "rejected", "粤ICP备10000004号-1", cancellation.Rejected, "rejected.example.cn")
	track(t, st, "fresh", "浙ICP备10000005号-1", cancellation.Approved, "fresh.example.cn")
	clearAt(t, st, "fresh", now.Add(-time.Hour))
	// Cleared long ago, but written just now: the clearing is what counts.
	track(t, st, "stale", "苏ICP备10000006号-1", cancellation.Approved, "stale.example.cn")
	clearAt(t, st, "stale", now.Add(-watch-time.Hour))

	p := w.newProber(map[string]string{
		"blocked.example.cn:80": w.block, "blocked.example.cn:443": w.closed,
		"example.com:80": w.site, "example.com:443": w.tlsSite,
		"pending.example.cn:80": w.site, "pending.example.cn:443": w.tlsSite,
		"rejected.example.cn:80": w.site, "rejected.example.cn:443": w.tlsSite,
		"fresh.example.cn:80": w.site, "fresh.example.cn:443": w.closed,
		"stale.example.cn:80": w.site, "stale.example.cn:443": w.tlsSite,
	})
	job := reach.New(reach.Options{Store: st, Prober: p, WatchAfterClear: watch, Now: func() time.Time { return now }})
	if err := job.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	for id, want := range map[string][]string{
		"blocked": {"http://blocked.example.cn provider_block", "http://example.com served", "https://blocked.example.cn refused", "https://example.com served"},
		"sharing": {"http://example.com served", "https://example.com served"},
		"fresh":   {"http://fresh.example.cn served", "https://fresh.example.cn refused"},
		"pending": nil, "rejected": nil, "stale": nil,
	} {
		if got := results(get(t, st, id)); !slices.Equal(got, want) {
			t.Errorf("%s: probes %q, want %q", id, got, want)
		}
	}
	// The shared domain was probed once, and that one probe recorded on both.
	for target, want := range map[string]int{
		"http://example.com": 1, "https://example.com": 1, "http://blocked.example.cn": 1, "http://fresh.example.cn": 1,
		"http://pending.example.cn": 0, "https://pending.example.cn": 0, "http://rejected.example.cn": 0,
		"http://stale.example.cn": 0, "https://stale.example.cn": 0,
	} {
		if got := w.hits.of(target); got != want {
			t.Errorf("%s requested %d times, want %d", target, got, want)
		}
	}
	a, b := get(t, st, "blocked"), get(t, st, "sharing")
	for _, pa := range a.Probes {
		for _, pb := range b.Probes {
			if pa.Domain == pb.Domain && pa.Scheme == pb.Scheme && !pa.At.Equal(pb.At) {
				t.Errorf("%s://%s recorded from two probes (%v, %v)", pa.Scheme, pa.Domain, pa.At, pb.At)
			}
		}
	}
	if ev := probeEvents(t, st, "blocked"); len(ev) != 1 || !strings.Contains(ev[0], "http://blocked.example.cn provider_block") {
		t.Errorf("probe events of blocked: %q", ev)
	}

	// Past the watch after the fresh one's clearing and its site's last
	// answer, only the approved are probed; the fresh one's latest probes
	// are dropped, its history keeps them.
	later := now.Add(watch + time.Hour)
	job = reach.New(reach.Options{Store: st, Prober: p, WatchAfterClear: watch, Now: func() time.Time { return later }})
	if err := job.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.hits.of("http://fresh.example.cn"); got != 1 {
		t.Errorf("a cleared site probed %d times in all, want once: its watch is over", got)
	}
	if got := w.hits.of("http://example.com"); got != 2 {
		t.Errorf("an approved site probed %d times in two runs, want 2", got)
	}
	fresh := get(t, st, "fresh")
	if len(fresh.Probes) != 0 || len(fresh.ProbeHistory) != 2 {
		t.Errorf("fresh after its watch: latest %q, %d in history; want none latest, both kept", results(fresh), len(fresh.ProbeHistory))
	}
	if ev := probeEvents(t, st, "fresh"); len(ev) != 2 || !strings.HasPrefix(ev[1], "watch ended: cleared ") ||
		!strings.Contains(ev[1], ", a website last served ") || !strings.HasSuffix(ev[1], "reach.watch_after_clear 168h0m0s") {
		t.Errorf("probe events of fresh: %q", ev)
	}
	if stale := get(t, st, "stale"); stale.Version != 2 {
		t.Errorf("stale, never watched, was written %d times since its clearing", stale.Version-2)
	}
}

func TestRunRecordsAnEventOnlyWhenAResultChanges(t *testing.T) {
	st := newStore(t)
	w := newWeb(t)
	var blocked atomic.Bool
	block := harness.Replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response"))
	flip := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if blocked.Load() {
			block(rw, r)
			return
		}
		_, _ = io.WriteString(rw, "still here")
	}))
	t.Cleanup(flip.Close)
	track(t, st, "site", "京ICP备10000001号-1", cancellation.Approved, "shop.example.cn")
	job := reach.New(reach.Options{Store: st, WatchAfterClear: watch,
		Prober: w.newProber(map[string]string{"shop.example.cn:80": flip.Listener.Addr().String(), "shop.example.cn:443": w.closed})})
	run := func() cancellation.Cancellation {
		t.Helper()
		if err := job.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return get(t, st, "site")
	}

	first := run()
	if ev := probeEvents(t, st, "site"); len(ev) != 1 || ev[0] != "http://shop.example.cn served; https://shop.example.cn refused" {
		t.Fatalf("first probes: events %q", ev)
	}
	second := run()
	if ev := probeEvents(t, st, "site"); len(ev) != 1 {
		t.Errorf("unchanged results added events: %q", ev)
	}
	if !second.Probes[0].At.After(first.Probes[0].At) || len(second.ProbeHistory) != 2 || second.ProbeHistory[0].Count != 2 {
		t.Errorf("an unchanged result still replaces the latest probe and joins the history as a repeat: %+v", second)
	}

	blocked.Store(true)
	third := run()
	ev := probeEvents(t, st, "site")
	if len(ev) != 2 || ev[1] != "http://shop.example.cn served → provider_block" {
		t.Errorf("after the block: events %q, want one naming only the change", ev)
	}
	if got := results(third); !slices.Equal(got, []string{"http://shop.example.cn provider_block", "https://shop.example.cn refused"}) {
		t.Errorf("probes %q", got)
	}
}

func TestRunCutShortRecordsNothing(t *testing.T) {
	st := newStore(t)
	w := newWeb(t)
	// A server that accepts connections and never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	t.Cleanup(func() {
		_ = l.Close()
		for len(accepted) > 0 {
			_ = (<-accepted).Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	track(t, st, "silent", "京ICP备10000001号-1", cancellation.Approved, "silent.example.cn")
	before := get(t, st, "silent")
	silent := l.Addr().String()
	rec := &recorder{}
	job := reach.New(reach.Options{Store: st, WatchAfterClear: watch, Recorder: rec,
		Prober: w.newProber(map[string]string{"silent.example.cn:80": silent, "silent.example.cn:443": silent})})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job.Run(ctx) }()
	// Both probes are waiting for an answer.
	held := []net.Conn{<-accepted, <-accepted}
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run cut short returned %v, want the cancellation", err)
	}
	after := get(t, st, "silent")
	if after.Version != before.Version || len(after.Probes) != 0 || len(after.ProbeHistory) != 0 {
		t.Errorf("a cut-short run wrote %+v", after)
	}
	if got := rec.reasons.All(); !slices.Equal(got, []string{prober.ReasonCancelled, prober.ReasonCancelled}) {
		t.Errorf("probe errors counted %q, want both probes as cancelled", got)
	}
}

// The daemon counts probe errors in icpmon_probe_errors_total.
var _ reach.Recorder = (*metrics.Probes)(nil)

// recorder keeps the reasons of the probe errors it is told of.
type recorder struct{ reasons harness.List[string] }

func (r *recorder) ObserveProbeError(reason string) { r.reasons.Add(reason) }

func probe(domain, scheme string, result cancellation.ProbeResult, at time.Time) cancellation.Probe {
	return cancellation.Probe{Domain: domain, Scheme: scheme, Result: result, At: at}
}

func TestAddProbes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, calendar.China)
	c := &cancellation.Cancellation{}
	ev := reach.AddProbes(c, []cancellation.Probe{probe("a.example", "http", prober.Served, t0), probe("a.example", "https", prober.Timeout, t0)})
	if ev.Action != "probe" || ev.Detail != "http://a.example served; https://a.example timeout" || !ev.At.Equal(t0) {
		t.Errorf("first probes: event %+v", ev)
	}
	ev = reach.AddProbes(c, []cancellation.Probe{probe("a.example", "http", prober.Served, t0.Add(time.Minute))})
	if ev != (cancellation.Event{}) {
		t.Errorf("unchanged result: event %+v, want none", ev)
	}
	ev = reach.AddProbes(c, []cancellation.Probe{probe("a.example", "https", prober.ProviderBlock, t0.Add(2*time.Minute))})
	if ev.Detail != "https://a.example timeout → provider_block" {
		t.Errorf("changed result: event %+v", ev)
	}
	want := []string{"http://a.example served", "https://a.example provider_block"}
	if got := results(*c); !slices.Equal(got, want) || !c.Probes[0].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("latest probes %q (http at %v), want %q", got, c.Probes[0].At, want)
	}
	var counts []int
	for _, p := range c.ProbeHistory {
		counts = append(counts, p.Count)
	}
	if !slices.Equal(counts, []int{2, 1, 1}) || !c.ProbeHistory[0].LastAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("history counts %v (first entry last at %v), want the repeated http served as one entry of 2", counts, c.ProbeHistory[0].LastAt)
	}
}

// history returns the entries of c's history of one target as
// result@first-minute (after t0), with xN for an entry of N probes.
func history(c *cancellation.Cancellation, domain, scheme string, t0 time.Time) []string {
	var out []string
	for _, p := range c.ProbeHistory {
		if p.Domain == domain && p.Scheme == scheme {
			e := fmt.Sprintf("%s@%d", p.Result, int(p.At.Sub(t0).Minutes()))
			if p.Count > 1 {
				e += fmt.Sprintf("x%d", p.Count)
			}
			out = append(out, e)
		}
	}
	return out
}

func TestHistoryKeepsFailuresLongest(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, calendar.China)
	c := &cancellation.Cancellation{}
	// Another target's one probe, older than everything else: never trimmed
	// by the probes of a.example.
	reach.AddProbes(c, []cancellation.Probe{probe("b.example", "http", prober.Served, t0)})
	minute := 0
	add := func(result cancellation.ProbeResult, status ...int) {
		for _, code := range status {
			minute++
			p := probe("a.example", "http", result, t0.Add(time.Duration(minute)*time.Minute))
			p.StatusCode = code
			reach.AddProbes(c, []cancellation.Probe{p})
		}
	}
	// Answers with distinct statuses are distinct entries; failures repeat.
	add(prober.Timeout, 0, 0, 0)                  // minutes 1-3: one entry
	add(prober.Served, 200, 201, 202, 203, 204)   // 4-8
	add(prober.Reset, 0, 0)                       // 9-10: one entry
	add(prober.ProviderBlock, 400, 401, 402, 403) // 11-14
	add(prober.ProviderBlock, 404, 405, 406, 407) // 15-18: answers push out answers only
	got := history(c, "a.example", "http", t0)
	// ... but the last time the site was served stays, for WatchedUntil.
	want := []string{"timeout@1x3", "served@6", "served@7", "served@8", "reset@9x2"}
	for m := 12; m <= 18; m++ {
		want = append(want, fmt.Sprintf("provider_block@%d", m))
	}
	if len(want) != reach.HistoryPerTarget || !slices.Equal(got, want) {
		t.Errorf("history %q,\nwant %q", got, want)
	}
	if b := history(c, "b.example", "http", t0); !slices.Equal(b, []string{"served@0"}) {
		t.Errorf("the other target's history %q", b)
	}
	if served := reach.LastServed(*c); !served.Equal(t0.Add(8 * time.Minute)) {
		t.Errorf("last served %v, want minute 8", served)
	}

	// A site served once, then never again: the one answer outlives every
	// failure after it, however many there are.
	c = &cancellation.Cancellation{}
	minute = 0
	add(prober.Served, 200)
	for range 3 * reach.HistoryPerTarget {
		add(prober.Timeout, 0)
		add(prober.Reset, 0)
	}
	got = history(c, "a.example", "http", t0)
	if len(got) != reach.HistoryPerTarget || got[0] != "served@1" || got[len(got)-1] != fmt.Sprintf("reset@%d", 6*reach.HistoryPerTarget+1) {
		t.Errorf("history %q: want the one answer and the newest failures", got)
	}
	if served := reach.LastServed(*c); !served.Equal(t0.Add(time.Minute)) {
		t.Errorf("last served %v, want minute 1", served)
	}
}

// A regression: a site flapping between 200 and reset grew its cancellation
// without bound (10 KB a minute). Repeats now collapse into one entry, the
// history is bounded per target, and a flapping site logs its changes when
// it starts flapping and when it settles: a steady or flapping site costs a
// fixed amount however long it runs.
func TestSteadyAndFlappingSitesCostAFixedAmount(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, calendar.China)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	served := func(i int) cancellation.Probe {
		p := probe("a.example", "http", prober.Served, at(i))
		p.StatusCode, p.Detail = 200, "HTTP 200 at http://a.example/"
		return p
	}
	reset := func(i int) cancellation.Probe {
		p := probe("a.example", "http", prober.Reset, at(i))
		p.Detail = "connection reset by the peer (waiting for the response): read: connection reset by peer"
		return p
	}
	size := func(c *cancellation.Cancellation, events []string) int {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return len(b) + len(strings.Join(events, ""))
	}

	steady := &cancellation.Cancellation{}
	for i := range 1000 {
		reach.AddProbes(steady, []cancellation.Probe{served(i)})
	}
	if h := steady.ProbeHistory; len(h) != 1 || h[0].Count != 1000 || !h[0].At.Equal(at(0)) || !h[0].LastAt.Equal(at(999)) {
		t.Errorf("steady site: history %+v, want one entry of 1000 probes from minute 0 to 999", h)
	}
	if served := reach.LastServed(*steady); !served.Equal(at(999)) {
		t.Errorf("steady site: last served %v, want minute 999 (WatchedUntil counts from it)", served)
	}

	flapping := &cancellation.Cancellation{}
	var events []string
	sizeAt := map[int]int{}
	for i := range 2000 {
		p := served(i)
		if i%2 == 1 {
			p = reset(i)
		}
		if ev := reach.AddProbes(flapping, []cancellation.Probe{p}); ev.Detail != "" {
			events = append(events, ev.Detail)
		}
		if i == 99 || i == 1999 {
			sizeAt[i] = size(flapping, events)
		}
	}
	if len(flapping.ProbeHistory) != reach.HistoryPerTarget {
		t.Errorf("flapping site: %d history entries, want %d", len(flapping.ProbeHistory), reach.HistoryPerTarget)
	}
	if sizeAt[1999] != sizeAt[99] {
		t.Errorf("flapping site: %d bytes after 100 runs, %d after 2000: want a fixed cost", sizeAt[99], sizeAt[1999])
	}
	want := []string{
		"http://a.example served",
		"http://a.example served → reset",
		"http://a.example reset → served (flapping: further changes are logged once a result holds for 3 probes)",
	}
	if !slices.Equal(events, want) {
		t.Errorf("flapping site: events %q,\nwant %q", events, want)
	}
	if served := reach.LastServed(*flapping); !served.Equal(at(1998)) {
		t.Errorf("flapping site: last served %v, want minute 1998", served)
	}

	// It settles on reset: said once, when the result has held for 3 probes;
	// after that a change is logged at once again.
	var after []string
	for i := 2000; i < 2010; i++ {
		p := reset(i)
		if i == 2009 {
			p = served(i)
		}
		if ev := reach.AddProbes(flapping, []cancellation.Probe{p}); ev.Detail != "" {
			after = append(after, ev.Detail)
		}
	}
	want = []string{"http://a.example settled on reset after flapping", "http://a.example reset → served"}
	if !slices.Equal(after, want) {
		t.Errorf("settling: events %q, want %q", after, want)
	}
}

// A regression: under descriptor exhaustion served websites were recorded as
// http_error and icpmon_site_reachable fell to 0. A probe_error proves
// nothing: the latest definite probe stands (the snapshot's reachable is
// computed from it), the local failure is noted on it and kept in the
// history, and no event is logged.
func TestProbeErrorChangesNothing(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, calendar.China)
	local := func(i int) cancellation.Probe {
		p := probe("a.example", "http", prober.ProbeError, t0.Add(time.Duration(i)*time.Minute))
		p.Detail = "local failure on this host, not the site's (connect): dial tcp 127.0.0.1:80: socket: too many open files"
		return p
	}
	c := &cancellation.Cancellation{}
	// Only local failures known: the probe_error is the latest, so the
	// metrics show it, and nothing else.
	if ev := reach.AddProbes(c, []cancellation.Probe{local(0)}); ev.Detail != "" {
		t.Errorf("a first probe_error logged %q", ev.Detail)
	}
	if got := results(*c); !slices.Equal(got, []string{"http://a.example probe_error"}) {
		t.Errorf("latest %q", got)
	}
	ev := reach.AddProbes(c, []cancellation.Probe{probe("a.example", "http", prober.Served, t0.Add(time.Minute))})
	if ev.Detail != "http://a.example served" {
		t.Errorf("the first definite probe logged %q", ev.Detail)
	}
	for i := 2; i < 50; i++ {
		if ev := reach.AddProbes(c, []cancellation.Probe{local(i)}); ev.Detail != "" {
			t.Errorf("probe_error %d logged %q", i, ev.Detail)
		}
	}
	latest := c.Probes[0]
	if latest.Result != prober.Served || !latest.At.Equal(t0.Add(time.Minute)) ||
		!strings.Contains(latest.LocalError, "too many open files") || !latest.LocalErrorAt.Equal(t0.Add(49*time.Minute)) {
		t.Errorf("latest %+v: want the served probe standing, with the last local failure noted", latest)
	}
	if got := history(c, "a.example", "http", t0); !slices.Equal(got, []string{"probe_error@0", "served@1", "probe_error@2x48"}) {
		t.Errorf("history %q", got)
	}
	if served := reach.LastServed(*c); !served.Equal(t0.Add(time.Minute)) {
		t.Errorf("last served %v: a local failure proves nothing about the site", served)
	}
	// The next definite probe replaces it, local note and all.
	reach.AddProbes(c, []cancellation.Probe{probe("a.example", "http", prober.Served, t0.Add(50*time.Minute))})
	if c.Probes[0].LocalError != "" || !c.Probes[0].At.Equal(t0.Add(50*time.Minute)) {
		t.Errorf("latest %+v after a definite probe", c.Probes[0])
	}
}

func TestRunSkipsACancellationRemovedMeanwhile(t *testing.T) {
	st := newStore(t)
	w := newWeb(t)
	track(t, st, "kept", "京ICP备10000001号-1", cancellation.Approved, "kept.example.cn")
	track(t, st, "gone", "沪ICP备10000002号-1", cancellation.Approved, "gone.example.cn")
	// The operator removes "gone" while its site is being probed.
	var once sync.Once
	removing := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			if err := st.Remove(r.Context(), "gone", "operator:test"); err != nil {
				t.Error(err)
			}
		})
		_, _ = io.WriteString(rw, "going")
	}))
	t.Cleanup(removing.Close)
	job := reach.New(reach.Options{Store: st, WatchAfterClear: watch, Prober: w.newProber(map[string]string{
		"kept.example.cn:80": w.site, "kept.example.cn:443": w.closed,
		"gone.example.cn:80": removing.Listener.Addr().String(), "gone.example.cn:443": w.closed,
	})})
	if err := job.Run(context.Background()); err != nil {
		t.Errorf("a removal is no failure of the job: %v", err)
	}
	if got := results(get(t, st, "kept")); len(got) != 2 {
		t.Errorf("the other cancellation's probes: %q", got)
	}
	if _, err := st.Get(context.Background(), "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the removed cancellation: %v", err)
	}
}

func TestWatchedUntil(t *testing.T) {
	cleared := time.Date(2026, 3, 1, 12, 0, 0, 0, calendar.China)
	const w = 720 * time.Hour
	for _, tc := range []struct {
		name    string
		latest  []cancellation.Probe
		history []cancellation.Probe
		want    time.Time
	}{
		{name: "never probed", want: cleared.Add(w)},
		{name: "blocked since before clearing",
			latest:  []cancellation.Probe{probe("a.example", "http", prober.ProviderBlock, cleared.Add(time.Hour))},
			history: []cancellation.Probe{probe("a.example", "http", prober.Served, cleared.Add(-time.Hour)), probe("a.example", "http", prober.ProviderBlock, cleared.Add(time.Hour))},
			want:    cleared.Add(w)},
		{name: "served after clearing, blocked since",
			latest: []cancellation.Probe{probe("a.example", "http", prober.ProviderBlock, cleared.Add(10*24*time.Hour))},
			history: []cancellation.Probe{
				probe("a.example", "http", prober.Served, cleared.Add(9*24*time.Hour)),
				probe("a.example", "http", prober.ProviderBlock, cleared.Add(10*24*time.Hour)),
			},
			want: cleared.Add(9*24*time.Hour + w)},
		{name: "one site of two still served",
			latest: []cancellation.Probe{
				probe("a.example", "https", prober.Timeout, cleared.Add(40*24*time.Hour)),
				probe("b.example", "https", prober.Served, cleared.Add(40*24*time.Hour)),
			},
			want: cleared.Add(40*24*time.Hour + w)},
	} {
		c := cancellation.Cancellation{Status: cancellation.Cleared, ApprovedAt: cleared.Add(-48 * time.Hour), ClearedAt: cleared,
			Probes: tc.latest, ProbeHistory: tc.history}
		if got := reach.WatchedUntil(c, w); !got.Equal(tc.want) {
			t.Errorf("%s: watched until %v, want %v", tc.name, got, tc.want)
		}
		if !reach.Watched(c, w, tc.want.Add(-time.Second)) || reach.Watched(c, w, tc.want) {
			t.Errorf("%s: Watched disagrees with WatchedUntil", tc.name)
		}
	}
	for _, st := range []cancellation.Status{cancellation.Pending, cancellation.Rejected, cancellation.Withdrawn} {
		if reach.Watched(cancellation.Cancellation{Status: st}, w, cleared) {
			t.Errorf("a %s cancellation is watched", st)
		}
	}
	if !reach.Watched(cancellation.Cancellation{Status: cancellation.Approved}, w, cleared.Add(100*w)) {
		t.Error("an approved cancellation stops being watched")
	}
}

// A cleared cancellation whose site keeps answering stays watched past
// reach.watch_after_clear; one whose site went dark stops being probed then.
func TestRunKeepsWatchingAServedClearedSite(t *testing.T) {
	st := newStore(t)
	w := newWeb(t)
	now := time.Now()
	track(t, st, "served", "京ICP备10000001号-1", cancellation.Approved, "served.example.cn")
	track(t, st, "dark", "沪ICP备10000002号-1", cancellation.Approved, "dark.example.cn")
	cleared := now.Add(-time.Hour)
	clearAt(t, st, "served", cleared)
	clearAt(t, st, "dark", cleared)
	p := w.newProber(map[string]string{
		"served.example.cn:80": w.site, "served.example.cn:443": w.closed,
		"dark.example.cn:80": w.block, "dark.example.cn:443": w.closed,
	})
	// The probes are stamped with the real time, after now; the job's clock
	// jumps ahead between runs.
	run := func(at time.Time) {
		t.Helper()
		job := reach.New(reach.Options{Store: st, Prober: p, WatchAfterClear: watch, Now: func() time.Time { return at }})
		if err := job.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	run(now)
	if got := results(get(t, st, "served")); !slices.Equal(got, []string{"http://served.example.cn served", "https://served.example.cn refused"}) {
		t.Fatalf("served after its clearing: %q", got)
	}

	// Past the watch after clearing, but not after the last answer.
	run(cleared.Add(watch + time.Minute))
	if got := w.hits.of("http://served.example.cn"); got != 2 {
		t.Errorf("the served site was probed %d times, want 2: it answered since the clearing", got)
	}
	if got := w.hits.of("http://dark.example.cn"); got != 1 {
		t.Errorf("the blocked site was probed %d times, want once: its watch is over", got)
	}
	if c := get(t, st, "served"); len(c.Probes) != 2 {
		t.Errorf("served: latest probes %q", results(c))
	}
	dark := get(t, st, "dark")
	if len(dark.Probes) != 0 || len(dark.ProbeHistory) != 2 {
		t.Errorf("dark after its watch: latest %q, %d in history", results(dark), len(dark.ProbeHistory))
	}
	if ev := probeEvents(t, st, "dark"); len(ev) != 2 || !strings.Contains(ev[1], "no website served since approval") {
		t.Errorf("probe events of dark: %q", ev)
	}

	// Nobody answered for the whole watch after the last answer.
	served := reach.LastServed(get(t, st, "served"))
	run(served.Add(watch))
	if got := w.hits.of("http://served.example.cn"); got != 2 {
		t.Errorf("the served site was probed %d times, want 2: its watch ended with the last answer's", got)
	}
	if c := get(t, st, "served"); len(c.Probes) != 0 {
		t.Errorf("served after its watch: latest %q", results(c))
	}
}
