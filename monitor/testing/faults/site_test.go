package faults_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/htmlpage"
)

// hostile is a local website that misbehaves in one way.
type hostile struct {
	domain string
	scheme string
	addr   string   // where reach.resolve sends the domain
	want   []string // acceptable results; the prober's doc says which
}

// silent accepts and never answers, never reads, never closes.
func silent(net.Conn) {}

// dripHead reads the request, then sends a status line one byte a second.
func dripHead(c net.Conn) {
	_, _ = http.ReadRequest(bufio.NewReader(c))
	for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") {
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

// endlessHeaders answers a status line and then header lines forever.
func endlessHeaders(c net.Conn) {
	_, _ = http.ReadRequest(bufio.NewReader(c))
	if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\n")); err != nil {
		return
	}
	line := []byte("X-Filler: " + strings.Repeat("a", 1000) + "\r\n")
	for {
		if _, err := c.Write(line); err != nil {
			return
		}
	}
}

// dripBody answers 200 and then its body one byte a second.
func dripBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for {
		if _, err := w.Write([]byte("x")); err != nil || rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// gigabyte answers a body of 1 GiB, announced, and counts what it got to send.
type gigabyte struct{ sent atomic.Int64 }

func (g *gigabyte) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(1<<30))
	chunk := make([]byte, 64<<10)
	for sent := 0; sent < 1<<30; sent += len(chunk) {
		n, err := w.Write(chunk)
		g.sent.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// redirectForever sends every request one step further along the same site.
func redirectForever(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
	http.Redirect(w, r, "/"+strconv.Itoa(n+1), http.StatusFound)
}

func tlsServer(t *testing.T, h http.Handler, cert *tls.Certificate) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	if cert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// probeRounds is how many times every hostile site is probed.
const probeRounds = 3

// TestSiteChaos probes websites that never answer, drip one byte a second,
// send a gigabyte or headers without end, redirect forever, or present a
// bad certificate. Every ProbeAll must end (a generous outer deadline, not a
// timing), every probe must be classified, and neither memory nor what the
// prober lets a site send may grow with what the site offers.
func TestSiteChaos(t *testing.T) {
	t.Parallel()
	ca := harness.NewCA(t)
	giga := &gigabyte{}
	expired := ca.Issue(t, time.Now().Add(-time.Hour), "expired.example.com")
	other := ca.Issue(t, time.Now().Add(time.Hour), "other.example.org")
	silentAddr := harness.RawListener(t, silent)
	sites := []hostile{
		{"silent.example.com", "http", silentAddr, []string{prober.Timeout}},
		{"silent.example.com", "https", silentAddr, []string{prober.Timeout}},
		{"drip-head.example.com", "http", harness.RawListener(t, dripHead), []string{prober.Timeout}},
		// The status line came from the site: served, its body cut short.
		{"drip-body.example.com", "http", httpServer(t, http.HandlerFunc(dripBody)), []string{prober.Served}},
		{"gigabyte.example.com", "http", httpServer(t, giga), []string{prober.Served}},
		{"gigabyte.example.com", "https", tlsServer(t, giga, ptr(ca.Issue(t, time.Now().Add(time.Hour), "gigabyte.example.com"))), []string{prober.Served}},
		{"headers.example.com", "http", harness.RawListener(t, endlessHeaders), []string{prober.HTTPError}},
		{"redirects.example.com", "http", httpServer(t, http.HandlerFunc(redirectForever)), []string{prober.HTTPError}},
		{"self-signed.example.com", "https", tlsServer(t, http.NotFoundHandler(), nil), []string{prober.TLSError}},
		{"expired.example.com", "https", tlsServer(t, http.NotFoundHandler(), &expired), []string{prober.TLSError}},
		{"wrong-name.example.com", "https", tlsServer(t, http.NotFoundHandler(), &other), []string{prober.TLSError}},
	}
	resolve := map[string]string{}
	var targets []prober.Target
	for _, s := range sites {
		port := "80"
		if s.scheme == "https" {
			port = "443"
		}
		resolve[net.JoinHostPort(s.domain, port)] = s.addr
		targets = append(targets, prober.Target{Domain: s.domain, Scheme: s.scheme})
	}
	const timeout = time.Second
	p, err := prober.New(prober.Options{Timeout: timeout, Resolve: resolve, RootCAs: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}

	goroutines := runtime.NumGoroutine()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := watchHeap()

	results := map[string]map[string]int{}
	for round := range probeRounds {
		done := make(chan []prober.Outcome, 1)
		go func() { done <- p.ProbeAll(context.Background(), targets) }()
		var probes []prober.Outcome
		select {
		case probes = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("round %d: ProbeAll has not returned two minutes after it started (probe timeout %s)", round+1, timeout)
		}
		for i, pr := range probes {
			s := sites[i]
			key := s.scheme + "://" + s.domain
			if results[key] == nil {
				results[key] = map[string]int{}
			}
			results[key][pr.Result]++
			if !slices.Contains(s.want, pr.Result) {
				t.Errorf("round %d: %s: %q (%s), want one of %v", round+1, key, pr.Result, pr.Detail, s.want)
			}
		}
	}
	maxHeap := peak()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	for _, s := range sites {
		key := s.scheme + "://" + s.domain
		t.Logf("%-32s %v", key, results[key])
	}
	const mib = 1 << 20
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use: %.1f MiB before, %.1f MiB at the peak, %.1f MiB after (%+.1f MiB); the gigabyte sites got to send %.1f MiB in %d probes",
		float64(before.HeapInuse)/mib, float64(maxHeap)/mib, float64(after.HeapInuse)/mib, float64(grew)/mib, float64(giga.sent.Load())/mib, 2*probeRounds)
	if grew > 16*mib {
		t.Errorf("heap in use grew by %.1f MiB over %d rounds; want under 16 MiB", float64(grew)/mib, probeRounds)
	}
	if maxHeap > before.HeapInuse+64*mib {
		t.Errorf("heap in use peaked %.1f MiB above the start; want under 64 MiB", float64(maxHeap-before.HeapInuse)/mib)
	}
	// A probe reads 256 KiB of a body; what else a site got to send sat in
	// socket buffers. A gigabyte each time would mean the prober read it all.
	if sent := giga.sent.Load(); sent > 2*probeRounds*32*mib {
		t.Errorf("the gigabyte sites sent %.1f MiB in %d probes; the prober reads far more than it keeps", float64(sent)/mib, 2*probeRounds)
	}
	eventually(t, "the probes' goroutines end", func() (bool, string) {
		n := runtime.NumGoroutine()
		// An idle keep-alive connection or two may stay; a leak per probe would be dozens.
		return n <= goroutines+10, fmt.Sprintf("%d goroutines, %d before", n, goroutines)
	})
}

func ptr[T any](v T) *T { return &v }

// watchHeap samples HeapInuse until the returned function is called, which
// gives the largest sample.
func watchHeap() func() uint64 {
	stop := make(chan struct{})
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// TestProvidersAgainstHostileServers points each query provider, built from
// the configuration as the daemon builds it, at servers that never answer,
// drip bytes, or send without end: every lookup must end, unknown with a
// reason of the closed set (never a definite answer), having read a bounded
// amount.
func TestProvidersAgainstHostileServers(t *testing.T) {
	t.Parallel()
	giga := &gigabyte{}
	servers := map[string]string{
		"silent":          harness.RawListener(t, silent),
		"drip-head":       harness.RawListener(t, dripHead),
		"drip-body":       httpServer(t, http.HandlerFunc(dripBody)),
		"gigabyte":        httpServer(t, giga),
		"endless-headers": harness.RawListener(t, endlessHeaders),
	}
	for _, kind := range config.Providers() {
		for _, name := range slices.Sorted(maps.Keys(servers)) {
			addr := servers[name]
			q := config.Default().Query
			q.Providers, q.Timeout, q.MinInterval = []string{kind}, time.Second, 0
			q.MIIT.BaseURL = "http://" + addr + "/icpproject_query/api"
			q.YMICP.URL = "http://" + addr
			q.HTML = htmlpage.Options{URL: "http://" + addr + "/search?q={query}", RowSelector: "tr",
				Fields: map[string]string{"licence": "td"}, NoRecordSelector: "div.none", NoRecordText: "没有查询到记录"}
			providers, err := lookup.NewProviders(q, nil, lookup.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			p := providers[0]
			done := make(chan error, 1)
			go func() {
				_, err := p.Lookup(context.Background(), canary)
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("%s against %s: the lookup has not ended a minute on (timeout 1s)", kind, name)
			}
			if err == nil || !slices.Contains(scraper.Reasons(), scraper.ReasonOf(err)) {
				t.Errorf("%s against %s: %v; want unknown with a reason", kind, name, err)
			}
			t.Logf("%-5s %-15s → %s", kind, name, scraper.ReasonOf(err))
		}
	}
	const mib = 1 << 20
	// Each provider reads at most 4 MiB of an answer; the rest is what
	// socket buffers took before the client hung up.
	if sent := giga.sent.Load(); sent > int64(len(config.Providers()))*32*mib {
		t.Errorf("the gigabyte server sent %.1f MiB to %d lookups", float64(sent)/mib, len(config.Providers()))
	} else {
		t.Logf("the gigabyte server got to send %.1f MiB to %d lookups", float64(sent)/mib, len(config.Providers()))
	}
}
