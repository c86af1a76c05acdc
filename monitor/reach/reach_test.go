package reach_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/redistest"
	"github.com/icpmon/icpmon/monitor/store"
)

const retention = 7 * 24 * time.Hour

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
		block:   serve(httptest.NewServer(h.count(replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response"))))),
		site:    serve(httptest.NewServer(h.count(page))),
		tlsSite: serve(tlsSrv),
		closed:  closedPort(t),
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

// replay serves the HTTP response recorded in file.
func replay(t *testing.T, file string) http.HandlerFunc {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		maps.Copy(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
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
		out = append(out, p.Scheme+"://"+p.Domain+" "+p.Result)
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
	clearAt(t, st, "stale", now.Add(-retention-time.Hour))

	p := w.newProber(map[string]string{
		"blocked.example.cn:80": w.block, "blocked.example.cn:443": w.closed,
		"example.com:80": w.site, "example.com:443": w.tlsSite,
		"pending.example.cn:80": w.site, "pending.example.cn:443": w.tlsSite,
		"rejected.example.cn:80": w.site, "rejected.example.cn:443": w.tlsSite,
		"fresh.example.cn:80": w.site, "fresh.example.cn:443": w.closed,
		"stale.example.cn:80": w.site, "stale.example.cn:443": w.tlsSite,
	})
	job := reach.New(reach.Options{Store: st, Prober: p, ClearedRetention: retention, Now: func() time.Time { return now }})
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

	// Past the retention of the fresh one's clearing, only the approved are probed.
	later := now.Add(retention + time.Hour)
	job = reach.New(reach.Options{Store: st, Prober: p, ClearedRetention: retention, Now: func() time.Time { return later }})
	if err := job.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.hits.of("http://fresh.example.cn"); got != 1 {
		t.Errorf("a cleared site probed %d times in all, want once: not past its retention", got)
	}
	if got := w.hits.of("http://example.com"); got != 2 {
		t.Errorf("an approved site probed %d times in two runs, want 2", got)
	}
}

func TestRunRecordsAnEventOnlyWhenAResultChanges(t *testing.T) {
	st := newStore(t)
	w := newWeb(t)
	var blocked atomic.Bool
	block := replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response"))
	flip := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if blocked.Load() {
			block(rw, r)
			return
		}
		_, _ = io.WriteString(rw, "still here")
	}))
	t.Cleanup(flip.Close)
	track(t, st, "site", "京ICP备10000001号-1", cancellation.Approved, "shop.example.cn")
	job := reach.New(reach.Options{Store: st, ClearedRetention: retention,
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
	if !second.Probes[0].At.After(first.Probes[0].At) || len(second.ProbeHistory) != 4 {
		t.Errorf("an unchanged result still replaces the latest probe and joins the history: %+v", second)
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
	job := reach.New(reach.Options{Store: st, ClearedRetention: retention,
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
}

func probe(domain, scheme, result string, at time.Time) cancellation.Probe {
	return cancellation.Probe{Domain: domain, Scheme: scheme, Result: result, At: at}
}

func TestRecord(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, calendar.China)
	c := &cancellation.Cancellation{}
	ev := reach.Record(c, []cancellation.Probe{probe("a.example", "http", prober.Served, t0), probe("a.example", "https", prober.Timeout, t0)})
	if ev.Action != "probe" || ev.Detail != "http://a.example served; https://a.example timeout" || !ev.At.Equal(t0) {
		t.Errorf("first probes: event %+v", ev)
	}
	ev = reach.Record(c, []cancellation.Probe{probe("a.example", "http", prober.Served, t0.Add(time.Minute))})
	if ev != (cancellation.Event{}) {
		t.Errorf("unchanged result: event %+v, want none", ev)
	}
	ev = reach.Record(c, []cancellation.Probe{probe("a.example", "https", prober.ProviderBlock, t0.Add(2*time.Minute))})
	if ev.Detail != "https://a.example timeout → provider_block" {
		t.Errorf("changed result: event %+v", ev)
	}
	want := []string{"http://a.example served", "https://a.example provider_block"}
	if got := results(*c); !slices.Equal(got, want) || !c.Probes[0].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("latest probes %q (http at %v), want %q", got, c.Probes[0].At, want)
	}
	if len(c.ProbeHistory) != 4 {
		t.Errorf("history holds %d probes, want all 4", len(c.ProbeHistory))
	}
}

// history returns the results and minutes (after t0) of c's history of one target.
func history(c *cancellation.Cancellation, domain, scheme string, t0 time.Time) []string {
	var out []string
	for _, p := range c.ProbeHistory {
		if p.Domain == domain && p.Scheme == scheme {
			out = append(out, fmt.Sprintf("%s@%d", p.Result, int(p.At.Sub(t0).Minutes())))
		}
	}
	return out
}

func TestHistoryKeepsFailuresLongest(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, calendar.China)
	c := &cancellation.Cancellation{}
	// Another target's one probe, older than everything else: never trimmed
	// by the probes of a.example.
	reach.Record(c, []cancellation.Probe{probe("b.example", "http", prober.Served, t0)})
	minute := 0
	add := func(result string, n int) {
		for range n {
			minute++
			reach.Record(c, []cancellation.Probe{probe("a.example", "http", result, t0.Add(time.Duration(minute)*time.Minute))})
		}
	}
	add(prober.Timeout, 3)        // minutes 1-3
	add(prober.Served, 5)         // 4-8
	add(prober.Reset, 2)          // 9-10
	add(prober.ProviderBlock, 20) // 11-30: answers push out answers only
	got := history(c, "a.example", "http", t0)
	want := []string{"timeout@1", "timeout@2", "timeout@3", "reset@9", "reset@10"}
	for m := 24; m <= 30; m++ {
		want = append(want, fmt.Sprintf("provider_block@%d", m))
	}
	if len(want) != reach.HistoryPerTarget || !slices.Equal(got, want) {
		t.Errorf("history %q,\nwant %q", got, want)
	}
	if b := history(c, "b.example", "http", t0); !slices.Equal(b, []string{"served@0"}) {
		t.Errorf("the other target's history %q", b)
	}

	// Only failures left to drop: the oldest goes, and the newest probe stays
	// even when it is an answer.
	c = &cancellation.Cancellation{}
	minute = 0
	add(prober.Timeout, reach.HistoryPerTarget)
	add(prober.Served, 1)
	got = history(c, "a.example", "http", t0)
	if len(got) != reach.HistoryPerTarget || got[0] != "timeout@2" || got[len(got)-1] != fmt.Sprintf("served@%d", reach.HistoryPerTarget+1) {
		t.Errorf("history %q: want the oldest timeout dropped and the newest answer kept", got)
	}
	add(prober.Served, 1)
	got = history(c, "a.example", "http", t0)
	if len(got) != reach.HistoryPerTarget || got[0] != "timeout@2" || got[len(got)-2] != fmt.Sprintf("timeout@%d", reach.HistoryPerTarget) ||
		got[len(got)-1] != fmt.Sprintf("served@%d", reach.HistoryPerTarget+2) {
		t.Errorf("history %q: want the older answer dropped before any failure", got)
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
	job := reach.New(reach.Options{Store: st, ClearedRetention: retention, Prober: w.newProber(map[string]string{
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
