package prober_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/testing/harness"
)

func check(t *testing.T, got prober.Outcome, result string, detail ...string) {
	t.Helper()
	if got.Result != result {
		t.Fatalf("%s://%s: result %q, want %q (status %d, location %q, detail %q)",
			got.Scheme, got.Domain, got.Result, result, got.StatusCode, got.Location, got.Detail)
	}
	for _, d := range detail {
		if !strings.Contains(got.Detail, d) {
			t.Errorf("%s://%s: detail %q does not mention %q", got.Scheme, got.Domain, got.Detail, d)
		}
	}
}

func TestServed(t *testing.T) {
	// A proxy from the environment is not used: the site is probed directly.
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	ca := harness.NewCA(t)
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Host {
		case "www.example.com":
			io.WriteString(w, "<html><title>Example shop</title></html>")
		case "down.example.com":
			http.Error(w, "upstream broken", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	})
	plain := startHTTP(t, site)
	secure := startTLS(t, ca, site, "www.example.com", "down.example.com", "gone.example.com")
	p := newProber(t, prober.Options{
		RootCAs: ca.Pool,
		Resolve: map[string]string{
			"www.example.com:80":   addr(plain),
			"www.example.com:443":  addr(secure),
			"down.example.com:443": addr(secure),
			"gone.example.com:443": addr(secure),
		},
	})
	ctx := t.Context()

	got := p.Probe(ctx, "www.example.com", "http")
	check(t, got, prober.Served, "HTTP 200 at http://www.example.com/")
	if got.StatusCode != 200 || got.Domain != "www.example.com" || got.Scheme != "http" || got.At.IsZero() || got.Duration <= 0 {
		t.Errorf("probe fields not filled in: %+v", got)
	}
	got = p.Probe(ctx, "www.example.com", "https")
	check(t, got, prober.Served)
	if got.StatusCode != 200 {
		t.Errorf("status %d, want 200", got.StatusCode)
	}
	// An error page of the site itself is still the site answering.
	got = p.Probe(ctx, "down.example.com", "https")
	check(t, got, prober.Served, "HTTP 503")
	got = p.Probe(ctx, "gone.example.com", "https")
	check(t, got, prober.Served, "HTTP 404")
}

func TestTimingsAndKeepAlive(t *testing.T) {
	ca := harness.NewCA(t)
	srv := startTLS(t, ca, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	}), "www.example.com")
	var logged bytes.Buffer
	p := newProber(t, prober.Options{
		RootCAs: ca.Pool,
		Resolve: map[string]string{"www.example.com:443": addr(srv)},
		Logger:  slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})

	first := p.Measure(t.Context(), "www.example.com", "https")
	check(t, first.Probe, prober.Served)
	if tm := first.Timings; tm.Hops != 1 || tm.Reused != 0 || tm.TLS == 0 || tm.Connect == 0 || tm.DNS != 0 {
		t.Errorf("fresh connection through a resolve override: timings %+v, want one hop with connect and TLS, no DNS", tm)
	}
	second := p.Measure(t.Context(), "www.example.com", "https")
	check(t, second.Probe, prober.Served)
	if tm := second.Timings; tm.Hops != 1 || tm.Reused != 1 || tm.TLS != 0 || tm.Connect != 0 {
		t.Errorf("second probe: timings %+v, want the kept-alive connection reused", tm)
	}
	if log := logged.String(); strings.Count(log, "result=served") != 2 || !strings.Contains(log, "timings.reused=1") {
		t.Errorf("debug log does not record both probes with their timings:\n%s", log)
	}
}

func TestProviderBlocks(t *testing.T) {
	other := &counter{}
	otherSrv := startTLS(t, harness.NewCA(t), other, "dnspod.qcloud.com")
	cases := []struct {
		fixture string
		result  string
		detail  string
	}{
		{"alibaba-block.response", prober.ProviderBlock, "Alibaba Cloud ICP block page"},
		{"alibaba-block-zh.response", prober.ProviderBlock, "Server: Beaver"},
		{"alibaba-block-cdn.response", prober.ProviderBlock, "Alibaba Cloud ICP block page"},
		{"tencent-block.response", prober.ProviderBlock, "Tencent Cloud ICP block: HTTP 302"},
		{"beaver-403-plain.response", prober.Served, "HTTP 403"},
		{"blog-200.response", prober.Served, "HTTP 200"},
		{"waf-493.response", prober.Served, "HTTP 493"},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			srv := startHTTP(t, replay(t, c.fixture))
			p := newProber(t, prober.Options{Resolve: map[string]string{
				"www.example.com:80": addr(srv),
				// Were the block redirect followed, it would land here, not on the internet.
				"dnspod.qcloud.com:443": addr(otherSrv),
			}})
			got := p.Probe(t.Context(), "www.example.com", "http")
			check(t, got, c.result, c.detail)
		})
	}
	t.Run("tencent location recorded", func(t *testing.T) {
		srv := startHTTP(t, replay(t, "tencent-block.response"))
		p := newProber(t, prober.Options{Resolve: map[string]string{"www.example.com:80": addr(srv)}})
		got := p.Probe(t.Context(), "www.example.com", "http")
		check(t, got, prober.ProviderBlock)
		if got.StatusCode != 302 || got.Location != "https://dnspod.qcloud.com/static/webblock.html?d=www.example.com" {
			t.Errorf("status %d location %q, want the 302 and its Location", got.StatusCode, got.Location)
		}
	})
	if n := other.count(); n != 0 {
		t.Errorf("the block redirect was followed %d times", n)
	}
}

// hangUpAfterClientHello reads the whole ClientHello record, then tears the
// connection down: with an RST when rst (SO_LINGER 0), else with an orderly close.
func hangUpAfterClientHello(rst bool) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		if readClientHello(c) != nil {
			return
		}
		if rst {
			c.(*net.TCPConn).SetLinger(0)
		}
	}
}

// readClientHello reads one TLS record: a 5-byte header and its payload.
func readClientHello(c net.Conn) error {
	header := make([]byte, 5)
	if _, err := io.ReadFull(c, header); err != nil {
		return err
	}
	_, err := io.CopyN(io.Discard, c, int64(header[3])<<8|int64(header[4]))
	return err
}

func TestResetDuringTLSHandshake(t *testing.T) {
	rst := harness.RawListener(t, hangUpAfterClientHello(true))
	fin := harness.RawListener(t, hangUpAfterClientHello(false))
	p := newProber(t, prober.Options{Resolve: map[string]string{
		"www.example.com:443":  rst,
		"shop.example.com:443": fin,
	}})
	got := p.Probe(t.Context(), "www.example.com", "https")
	check(t, got, prober.Reset, "connection reset by the peer after the TLS ClientHello (typical SNI block)")
	got = p.Probe(t.Context(), "shop.example.com", "https")
	check(t, got, prober.Reset, "connection closed by the peer after the TLS ClientHello (typical SNI block)")
}

func TestConnectionFailures(t *testing.T) {
	// A port that was just listening and is now closed refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	silent := harness.RawListener(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	closing := harness.RawListener(t, func(c net.Conn) {
		readRequest(c)
		c.Close()
	})
	// An SSH server where a web server was expected.
	garbage := harness.RawListener(t, func(c net.Conn) {
		readRequest(c)
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
		c.Close()
	})
	garbageTLS := harness.RawListener(t, func(c net.Conn) {
		readClientHello(c)
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
		c.Close()
	})
	p := newProber(t, prober.Options{
		Timeout: 300 * time.Millisecond,
		Resolve: map[string]string{
			"refused.example.com:80":  refused,
			"silent.example.com:80":   silent,
			"silent.example.com:443":  silent,
			"closing.example.com:80":  closing,
			"garbage.example.com:80":  garbage,
			"garbage.example.com:443": garbageTLS,
		},
	})
	ctx := t.Context()
	check(t, p.Probe(ctx, "refused.example.com", "http"), prober.Refused, "connection refused")
	check(t, p.Probe(ctx, "silent.example.com", "http"), prober.Timeout, "waiting for the response")
	check(t, p.Probe(ctx, "silent.example.com", "https"), prober.Timeout, "TLS handshake")
	check(t, p.Probe(ctx, "closing.example.com", "http"), prober.Reset, "connection closed by the peer (waiting for the response)")
	check(t, p.Probe(ctx, "garbage.example.com", "http"), prober.HTTPError, "(reading the response)", "malformed HTTP")
	check(t, p.Probe(ctx, "garbage.example.com", "https"), prober.TLSError, "does not look like a TLS handshake")
}

// readRequest reads until the end of the request headers.
func readRequest(c net.Conn) {
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), "\r\n\r\n") {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		got = append(got, buf[:n]...)
	}
}

func TestInvalidNames(t *testing.T) {
	// No resolve override: the .invalid name must fail without any DNS query.
	p := newProber(t, prober.Options{})
	for _, scheme := range []string{"http", "https"} {
		m := p.Measure(t.Context(), "www.example.invalid", scheme)
		check(t, m.Probe, prober.DNSError, "no such host (reserved .invalid name)")
		if m.Timings.DNS != 0 {
			t.Errorf("%s: a DNS lookup was made: %+v", scheme, m.Timings)
		}
	}
	check(t, p.Probe(t.Context(), "INVALID.", "http"), prober.DNSError, "reserved .invalid")
}

func TestBadCertificates(t *testing.T) {
	ca := harness.NewCA(t)
	stranger := harness.NewCA(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") })
	wrongName := startTLS(t, ca, ok, "www.example.net")
	unknownCA := startTLS(t, stranger, ok, "unknown.example.com")
	expired := httptestTLSWith(t, ok, ca.Issue(t, time.Now().Add(-time.Hour), "www.example.com"))
	p := newProber(t, prober.Options{
		RootCAs: ca.Pool,
		Resolve: map[string]string{
			"wrong.example.com:443":   addr(wrongName),
			"unknown.example.com:443": addr(unknownCA),
			"www.example.com:443":     addr(expired),
		},
	})
	check(t, p.Probe(t.Context(), "wrong.example.com", "https"), prober.TLSError, "certificate")
	check(t, p.Probe(t.Context(), "unknown.example.com", "https"), prober.TLSError, "unknown authority")
	check(t, p.Probe(t.Context(), "www.example.com", "https"), prober.TLSError, "expired")
}

func TestBodies(t *testing.T) {
	endlessDone := make(chan error, 1)
	endless := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				endlessDone <- err
				return
			}
		}
	}))
	drip := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		for range 1000 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	}))
	p := newProber(t, prober.Options{
		Timeout: 1500 * time.Millisecond,
		MaxBody: 64 << 10,
		Resolve: map[string]string{
			"endless.example.com:80": addr(endless),
			"drip.example.com:80":    addr(drip),
		},
	})
	got := p.Probe(t.Context(), "endless.example.com", "http")
	check(t, got, prober.Served, "HTTP 200")
	// The prober stopped reading and hung up: the endless writer fails.
	if err := <-endlessDone; err == nil {
		t.Error("endless body writer did not fail")
	}
	got = p.Probe(t.Context(), "drip.example.com", "http")
	check(t, got, prober.Served, "body cut short")
}

func TestExtraSignatures(t *testing.T) {
	waf := startHTTP(t, replay(t, "waf-493.response"))
	redirect := startHTTP(t, http.RedirectHandler("https://block.example.net/notice?d=www.example.com", http.StatusFound))
	plain := startHTTP(t, replay(t, "beaver-403-plain.response"))
	resolve := map[string]string{
		"waf.example.com:80":      addr(waf),
		"redirect.example.com:80": addr(redirect),
		"plain.example.com:80":    addr(plain),
	}
	cases := []struct {
		name   string
		sig    prober.Signature
		domain string
		result string
	}{
		{"status", prober.Signature{Name: "360 WAF", Status: 493}, "waf.example.com", prober.ProviderBlock},
		{"status mismatch", prober.Signature{Status: 451}, "waf.example.com", prober.Served},
		{"header", prober.Signature{Header: "x-block-reason", HeaderContains: "ICP-FILING"}, "waf.example.com", prober.ProviderBlock},
		{"header absent", prober.Signature{Header: "X-Other"}, "waf.example.com", prober.Served},
		{"body", prober.Signature{BodyContains: "已被拦截"}, "waf.example.com", prober.ProviderBlock},
		{"body and status", prober.Signature{Status: 403, BodyContains: "ACCESS TO THIS RESOURCE IS DENIED"}, "plain.example.com", prober.ProviderBlock},
		{"body and wrong status", prober.Signature{Status: 200, BodyContains: "denied"}, "plain.example.com", prober.Served},
		{"redirect host", prober.Signature{RedirectHost: "example.net"}, "redirect.example.com", prober.ProviderBlock},
		{"other redirect host", prober.Signature{RedirectHost: "qcloud.com"}, "redirect.example.com", prober.Served},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProber(t, prober.Options{Resolve: resolve, Signatures: []prober.Signature{c.sig}})
			got := p.Probe(t.Context(), c.domain, "http")
			if c.result == prober.ProviderBlock {
				name := c.sig.Name
				if name == "" {
					name = "signature 1"
				}
				check(t, got, c.result, fmt.Sprintf("block signature %q", name))
			} else {
				check(t, got, c.result)
			}
		})
	}
}

func TestCancelledAndInvalidTargets(t *testing.T) {
	silent := harness.RawListener(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	p := newProber(t, prober.Options{Resolve: map[string]string{"www.example.com:80": silent}})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := p.Measure(ctx, "www.example.com", "http")
	if got.Probe.Result != prober.ProbeError || got.Reason != prober.ReasonCancelled || !strings.Contains(got.Probe.Detail, "probe cancelled") {
		t.Errorf("cancelled probe: %+v, want a probe_error", got)
	}
	for _, target := range []prober.Target{{"www.example.com", "ftp"}, {"", "http"}, {"www.example.com:8080", "http"}, {"www.example.com/x", "https"}} {
		got := p.Measure(t.Context(), target.Domain, target.Scheme)
		if got.Probe.Result != prober.ProbeError || got.Reason != prober.ReasonInvalidTarget || !strings.Contains(got.Probe.Detail, "invalid target") {
			t.Errorf("%+v: %+v, want a probe_error", target, got)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := map[string]prober.Options{
		"prober: resolve key \"www.example.com\" is not host:port":                                       {Resolve: map[string]string{"www.example.com": "127.0.0.1:80"}},
		"prober: resolve \"www.example.com:80\": \"localhost:80\" is not ip:port":                        {Resolve: map[string]string{"www.example.com:80": "localhost:80"}},
		"prober: signature 1 matches every response: set status, header, body_contains or redirect_host": {Signatures: []prober.Signature{{}}},
		"prober: waf: status 7 is not an HTTP status":                                                    {Signatures: []prober.Signature{{Name: "waf", Status: 7}}},
		"prober: signature 1: header_contains needs header":                                              {Signatures: []prober.Signature{{HeaderContains: "x"}}},
		"prober: negative timeout -1s":                                                                   {Timeout: -time.Second},
		"prober: negative max redirects -1":                                                              {MaxRedirects: -1},
	}
	for want, opts := range cases {
		_, err := prober.New(opts)
		if err == nil || err.Error() != want {
			t.Errorf("New(%+v) = %v, want %q", opts, err, want)
		}
	}
}

func TestResults(t *testing.T) {
	want := "served provider_block dns_error refused reset tls_error timeout http_error probe_error"
	if got := strings.Join(prober.Results(), " "); got != want {
		t.Errorf("Results() = %q, want %q (README's metrics table)", got, want)
	}
}
