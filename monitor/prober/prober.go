package prober

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Results of a probe, the label values of icpmon_site_probe_result.
const (
	Served        = "served"         // the website itself answered (any status that is not a block)
	ProviderBlock = "provider_block" // an access provider's block page or redirect
	DNSError      = "dns_error"      // the name did not resolve
	Refused       = "refused"        // the connection was refused or had no route
	Reset         = "reset"          // the peer tore the connection down (RST or close) before answering
	TLSError      = "tls_error"      // the TLS handshake failed: certificate or protocol
	Timeout       = "timeout"        // no answer within the probe timeout
	HTTPError     = "http_error"     // a malformed answer, a redirect loop or too many redirects
	// ProbeError is a failure on this host, not the site's: no descriptor or
	// buffer left, no local address, the run cancelled. It proves nothing.
	ProbeError = "probe_error"
)

// Results lists every result in a stable order, for metrics that pre-set them all.
func Results() []string {
	return []string{Served, ProviderBlock, DNSError, Refused, Reset, TLSError, Timeout, HTTPError, ProbeError}
}

// Why a probe ended in ProbeError, the reason label of icpmon_probe_errors_total.
const (
	ReasonDescriptors   = "descriptors"    // EMFILE, ENFILE: no file descriptor left
	ReasonBuffers       = "buffers"        // ENOBUFS, ENOMEM: no kernel buffer or memory left
	ReasonLocalAddress  = "local_address"  // no local address or port to connect from, or no socket
	ReasonCancelled     = "cancelled"      // the caller's context ended first
	ReasonInvalidTarget = "invalid_target" // not a domain and scheme this prober can probe
)

// ProbeErrorReasons lists every reason in a stable order, for metrics that pre-set them all.
func ProbeErrorReasons() []string {
	return []string{ReasonDescriptors, ReasonBuffers, ReasonLocalAddress, ReasonCancelled, ReasonInvalidTarget}
}

// Defaults for unset Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBody      = 256 << 10
	DefaultMaxRedirects = 5
	DefaultConcurrency  = 8
)

// idleConnTimeout keeps connections for the hops of one sweep but far below any
// sensible reach schedule, so each sweep dials (and resolves) afresh and sees a
// block that was put in place since the previous one.
const idleConnTimeout = 30 * time.Second

const userAgent = "icpmon-prober (ICP cancellation reachability check)"

// Options configures a Prober. Zero values take the defaults above; negative
// ones are refused by New.
type Options struct {
	// Timeout bounds a whole probe: DNS, connect, TLS, every redirect hop and the bodies.
	Timeout time.Duration
	// Resolve maps "host:port" to "ip:port" like curl --resolve (reach.resolve);
	// it applies to every hop, redirects included.
	Resolve map[string]string
	// Signatures are extra block signatures from the config, besides the built-in
	// Alibaba Cloud and Tencent Cloud ones.
	Signatures []Signature
	// MaxBody is how many bytes of each response body are read; the rest is
	// not waited for (the connection is dropped instead of reused).
	MaxBody int64
	// MaxRedirects is how many same-origin redirects one probe follows.
	MaxRedirects int
	// Concurrency is how many probes ProbeAll runs at once.
	Concurrency int
	// RootCAs verifies server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	Logger  *slog.Logger
}

// Target is one domain to probe over one scheme ("http" or "https").
type Target struct {
	Domain string
	Scheme string
}

// Outcome is what one probe of one domain over one scheme found. The prober
// knows nothing of cancellations: monitor/reach records outcomes as their
// probes.
type Outcome struct {
	Domain     string
	Scheme     string // http or https
	Result     string // one of Results
	StatusCode int
	Location   string // a redirect that was recorded, not followed
	Detail     string
	At         time.Time
	Duration   time.Duration
}

// Measurement is a probe and where its time went.
type Measurement struct {
	Probe   Outcome
	Timings Timings
	// Reason is why the probe is a ProbeError, one of ProbeErrorReasons; "" otherwise.
	Reason string
}

// Prober probes websites. It is safe for concurrent use; its connection pool
// is shared by all probes so that hops to the same host reuse connections.
type Prober struct {
	timeout      time.Duration
	maxBody      int64
	maxRedirects int
	concurrency  int
	signatures   []Signature
	resolve      map[string]string
	transport    *http.Transport
	log          *slog.Logger
}

// errProbeTimeout is the cause of a probe's context ending at Timeout, which
// tells it apart from the caller cancelling.
var errProbeTimeout = errors.New("probe timeout")

// New checks the options and builds a Prober.
func New(opts Options) (*Prober, error) {
	p := &Prober{
		timeout:      opts.Timeout,
		maxBody:      opts.MaxBody,
		maxRedirects: opts.MaxRedirects,
		concurrency:  opts.Concurrency,
		log:          opts.Logger,
	}
	switch {
	case p.timeout < 0:
		return nil, fmt.Errorf("prober: negative timeout %s", p.timeout)
	case p.maxBody < 0:
		return nil, fmt.Errorf("prober: negative max body %d", p.maxBody)
	case p.maxRedirects < 0:
		return nil, fmt.Errorf("prober: negative max redirects %d", p.maxRedirects)
	case p.concurrency < 0:
		return nil, fmt.Errorf("prober: negative concurrency %d", p.concurrency)
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBody
	}
	if p.maxRedirects == 0 {
		p.maxRedirects = DefaultMaxRedirects
	}
	if p.concurrency == 0 {
		p.concurrency = DefaultConcurrency
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if p.resolve, err = parseResolve(opts.Resolve); err != nil {
		return nil, err
	}
	if p.signatures, err = compileSignatures(opts.Signatures); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{
		// The transport detaches dials from the request's context, so the
		// dialer bounds them itself. FallbackDelay stays at its default: Happy
		// Eyeballs tries IPv6 and IPv4 and a host with one family still works.
		Timeout: p.timeout,
	}
	p.transport = &http.Transport{
		Proxy: nil, // probe the site as this host sees it, never through an environment proxy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.dial(ctx, dialer, network, addr)
		},
		TLSClientConfig: &tls.Config{
			RootCAs:    opts.RootCAs,
			MinVersion: tls.VersionTLS12,
		},
		TLSHandshakeTimeout:    p.timeout, // handshakes too run detached from the request
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           2 * p.concurrency,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return p, nil
}

// parseResolve checks and copies the overrides, keyed by lower-case host:port.
func parseResolve(in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for from, to := range in {
		host, port, err := net.SplitHostPort(from)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("prober: resolve key %q is not host:port", from)
		}
		ip, toPort, err := net.SplitHostPort(to)
		if err != nil || net.ParseIP(ip) == nil || toPort == "" {
			return nil, fmt.Errorf("prober: resolve %q: %q is not ip:port", from, to)
		}
		out[net.JoinHostPort(strings.ToLower(host), port)] = to
	}
	return out, nil
}

// dial connects to addr, or to its resolve override. Names under .invalid fail
// at once, as RFC 6761 §6.4 asks, without a DNS query leaving the machine.
func (p *Prober) dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	if to, ok := p.resolve[strings.ToLower(addr)]; ok {
		return d.DialContext(ctx, network, to)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "invalid" || strings.HasSuffix(host, ".invalid") {
		return nil, &net.DNSError{Err: "no such host (reserved .invalid name)", Name: host, IsNotFound: true}
	}
	return d.DialContext(ctx, network, addr)
}

// Probe fetches scheme://domain/ and classifies the answer. A ProbeError
// proved nothing about the site (a local failure, ctx ended first, or the
// target was invalid): callers must not let it change what they know.
func (p *Prober) Probe(ctx context.Context, domain, scheme string) Outcome {
	return p.Measure(ctx, domain, scheme).Probe
}

// ProbeAll probes every target, at most Concurrency at a time, and returns the
// probes in the order of targets.
func (p *Prober) ProbeAll(ctx context.Context, targets []Target) []Outcome {
	ms := p.MeasureAll(ctx, targets)
	probes := make([]Outcome, len(ms))
	for i, m := range ms {
		probes[i] = m.Probe
	}
	return probes
}

// MeasureAll is ProbeAll with the timings of each probe.
func (p *Prober) MeasureAll(ctx context.Context, targets []Target) []Measurement {
	out := make([]Measurement, len(targets))
	slots := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			out[i] = p.Measure(ctx, t.Domain, t.Scheme)
		})
	}
	wg.Wait()
	return out
}

// Measure is Probe with the per-phase timings.
func (p *Prober) Measure(ctx context.Context, domain, scheme string) Measurement {
	start := time.Now()
	m := Measurement{Probe: Outcome{Domain: domain, Scheme: scheme, At: start}}
	target, err := targetURL(domain, scheme)
	if err != nil {
		m.Probe.Result, m.Reason, m.Probe.Detail = ProbeError, ReasonInvalidTarget, err.Error()
		return m
	}
	probeCtx, cancel := context.WithTimeoutCause(ctx, p.timeout, errProbeTimeout)
	defer cancel()
	p.follow(ctx, probeCtx, target, &m)
	m.Probe.Duration = time.Since(start)
	if p.log.Enabled(ctx, slog.LevelDebug) { // spares building the attributes of every probe
		p.log.LogAttrs(ctx, slog.LevelDebug, "probe", slog.String("domain", domain), slog.String("scheme", scheme),
			slog.String("result", m.Probe.Result), slog.Int("status", m.Probe.StatusCode),
			slog.String("location", m.Probe.Location), slog.String("detail", m.Probe.Detail),
			slog.Duration("duration", m.Probe.Duration), slog.Any("timings", m.Timings))
	}
	return m
}

func targetURL(domain, scheme string) (*url.URL, error) {
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("invalid target: scheme %q is neither http nor https", scheme)
	}
	u := &url.URL{Scheme: scheme, Host: domain, Path: "/"}
	if domain == "" || strings.ContainsAny(domain, ":/?#@[] ") {
		return nil, fmt.Errorf("invalid target: %q is not a domain name", domain)
	}
	return u, nil
}
