package prober_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/testing/harness"
)

func TestSameOriginRedirectsAreFollowed(t *testing.T) {
	ca := harness.NewCA(t)
	// http://www.example.com.cn/ → https://www.example.com.cn:443/ → /home
	// (200): http up to https on the default ports, then within the origin;
	// every hop reaches its own local server through the resolve overrides.
	plain := startHTTP(t, http.RedirectHandler("https://WWW.example.com.cn:443/", http.StatusMovedPermanently))
	www := startTLS(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/home#top", http.StatusFound)
			return
		}
		io.WriteString(w, "home page")
	}), "www.example.com.cn")
	p := newProber(t, prober.Options{RootCAs: ca.Pool, Resolve: map[string]string{
		"www.example.com.cn:80":  addr(plain),
		"www.example.com.cn:443": addr(www),
	}})
	m := p.Measure(t.Context(), "www.example.com.cn", "http")
	check(t, m.Probe, prober.Served, "HTTP 200 at https://WWW.example.com.cn:443/home after 2 same-origin redirects")
	if m.Probe.StatusCode != 200 || m.Probe.Location != "" || m.Timings.Hops != 3 {
		t.Errorf("status %d location %q hops %d, want 200, none, 3", m.Probe.StatusCode, m.Probe.Location, m.Timings.Hops)
	}
}

func TestFailureAfterRedirect(t *testing.T) {
	// Plain http still redirects, but the https site hangs up on the ClientHello.
	plain := startHTTP(t, http.RedirectHandler("https://www.example.com/", http.StatusMovedPermanently))
	secure := harness.RawListener(t, hangUpAfterClientHello(true))
	p := newProber(t, prober.Options{Resolve: map[string]string{
		"www.example.com:80":  addr(plain),
		"www.example.com:443": secure,
	}})
	got := p.Probe(t.Context(), "www.example.com", "http")
	check(t, got, prober.Reset, "after the TLS ClientHello", "at https://www.example.com/ after 1 same-origin redirect")
	if got.StatusCode != 0 || got.Location != "" {
		t.Errorf("status %d location %q, want neither: no answer decided", got.StatusCode, got.Location)
	}
}

// A regression: a site redirecting to its own name on another port made the
// prober send GET /admin/delete?all=1 there. Another port or host may be
// another service: only the origin (and http up to https on 80 and 443) is
// followed, the rest recorded.
func TestRedirectsNotFollowed(t *testing.T) {
	ca := harness.NewCA(t)
	other := &counter{}
	otherSrv := startTLS(t, ca, other, "www.example.org", "shop.com.cn", "example.com", "www.example.com")
	otherPlain := startHTTP(t, other)
	cases := []struct {
		name     string
		scheme   string
		location string
		why      string
	}{
		{"another site", "http", "https://www.example.org/landing", "another host"},
		{"sibling under a public suffix", "http", "https://shop.com.cn/", "another host"},
		{"another host of the same site", "https", "https://example.com/", "another host"},
		{"another port", "http", "http://www.example.com:8080/admin/delete?all=1", "another port"},
		{"another port, relative to the scheme", "https", "//www.example.com:8443/admin/delete?all=1", "another port"},
		{"up to https on another port", "http", "https://www.example.com:8443/", "another port"},
		{"https on the http port", "http", "https://www.example.com:80/", "another port"},
		{"downgrade", "https", "http://www.example.com/", "plain http"},
		{"other scheme", "http", "ftp://www.example.com/pub", "a non-HTTP URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", c.location)
				w.WriteHeader(http.StatusMovedPermanently)
			})
			plain := startHTTP(t, h)
			secure := startTLS(t, ca, h, "www.example.com")
			p := newProber(t, prober.Options{RootCAs: ca.Pool, Resolve: map[string]string{
				"www.example.com:80":   addr(plain),
				"www.example.com:443":  addr(secure),
				"www.example.org:443":  addr(otherSrv),
				"shop.com.cn:443":      addr(otherSrv),
				"example.com:443":      addr(otherSrv),
				"www.example.com:8443": addr(otherSrv),
				"www.example.com:8080": addr(otherPlain),
			}})
			got := p.Probe(t.Context(), "www.example.com", c.scheme)
			check(t, got, prober.Served, "HTTP 301", "redirect to "+c.why+" recorded, not followed")
			want := c.location
			if strings.HasPrefix(want, "//") {
				want = c.scheme + ":" + want
			}
			if got.Location != want || got.StatusCode != 301 {
				t.Errorf("location %q status %d, want %q 301", got.Location, got.StatusCode, want)
			}
		})
	}
	if n := other.count(); n != 0 {
		t.Errorf("a redirect to another host or port was followed %d times", n)
	}
}

func TestRedirectErrors(t *testing.T) {
	var hops atomic.Int64
	srv := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		switch {
		case r.Host == "loop.example.com" && r.URL.Path == "/":
			http.Redirect(w, r, "/a", http.StatusFound)
		case r.Host == "loop.example.com" && r.URL.Path == "/a":
			http.Redirect(w, r, "http://loop.example.com/", http.StatusTemporaryRedirect)
		case r.Host == "deep.example.com":
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
			http.Redirect(w, r, fmt.Sprintf("/%d", n+1), http.StatusFound)
		case r.Host == "broken.example.com":
			w.Header().Set("Location", "http://broken.example.com/%zz")
			w.WriteHeader(http.StatusFound)
		}
	}))
	p := newProber(t, prober.Options{MaxRedirects: 3, Resolve: map[string]string{
		"loop.example.com:80":   addr(srv),
		"deep.example.com:80":   addr(srv),
		"broken.example.com:80": addr(srv),
	}})
	got := p.Probe(t.Context(), "loop.example.com", "http")
	check(t, got, prober.HTTPError, "redirect loop: http://loop.example.com/a redirects back to http://loop.example.com/")
	if got.Location != "http://loop.example.com/" {
		t.Errorf("location %q, want the redirect that closed the loop", got.Location)
	}

	hops.Store(0)
	got = p.Probe(t.Context(), "deep.example.com", "http")
	check(t, got, prober.HTTPError, "more than 3 redirects (last to http://deep.example.com/4)")
	if n := hops.Load(); n != 4 {
		t.Errorf("%d requests, want the first and 3 redirects", n)
	}

	got = p.Probe(t.Context(), "broken.example.com", "http")
	check(t, got, prober.HTTPError, "unparseable Location")
}

func TestProbeAllBoundsConcurrency(t *testing.T) {
	const limit, n = 3, 10
	var inflight, peak atomic.Int64
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	srv := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := inflight.Add(1)
		for {
			old := peak.Load()
			if now <= old || peak.CompareAndSwap(old, now) {
				break
			}
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		// Leave before answering: the client frees its slot only after the
		// answer, so the count never includes a probe that has finished.
		inflight.Add(-1)
		io.WriteString(w, r.Host)
	}))
	resolve := map[string]string{}
	var targets []prober.Target
	for i := range n {
		domain := fmt.Sprintf("site%d.example.com", i)
		resolve[domain+":80"] = addr(srv)
		targets = append(targets, prober.Target{Domain: domain, Scheme: "http"})
	}
	p := newProber(t, prober.Options{Concurrency: limit, Resolve: resolve})

	done := make(chan struct{})
	var probes []prober.Target
	go func() {
		defer close(done)
		for _, pr := range p.ProbeAll(t.Context(), targets) {
			if pr.Result != prober.Served {
				t.Errorf("%s: %s %s", pr.Domain, pr.Result, pr.Detail)
			}
			probes = append(probes, prober.Target{Domain: pr.Domain, Scheme: pr.Scheme})
		}
	}()
	// Release one request at a time, each only once every slot is taken.
	held := 0
	for finished := 0; finished < n; finished++ {
		for held < min(limit, n-finished) {
			select {
			case <-arrived:
				held++
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d requests in flight after %d finished, want %d", held, finished, min(limit, n-finished))
			}
		}
		// A pause before each release gives a prober that ignores the bound
		// time to send more requests; a correct one never fails because of it.
		time.Sleep(20 * time.Millisecond)
		release <- struct{}{}
		held--
	}
	<-done
	if got := peak.Load(); got != limit {
		t.Errorf("peak concurrency %d, want %d", got, limit)
	}
	for i := range targets {
		if probes[i] != targets[i] {
			t.Errorf("probe %d is for %v, want %v: order not kept", i, probes[i], targets[i])
		}
	}
}

func TestIPv6Override(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "v6") }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	p := newProber(t, prober.Options{Resolve: map[string]string{"www.example.com:80": ln.Addr().String()}})
	check(t, p.Probe(t.Context(), "www.example.com", "http"), prober.Served)
}
