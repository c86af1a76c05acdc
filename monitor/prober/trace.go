package prober

import (
	"crypto/tls"
	"log/slog"
	"net/http/httptrace"
	"sync"
	"time"
)

// Timings is where a probe's time went, summed over the hops of followed
// redirects, as measured through net/http/httptrace. A phase that did not
// happen (no DNS with a resolve override, no connect on a reused connection)
// is zero.
type Timings struct {
	DNS        time.Duration // name resolution
	Connect    time.Duration // TCP connect (the successful attempt)
	TLS        time.Duration // TLS handshake
	Processing time.Duration // request written until the first response byte
	Transfer   time.Duration // first response byte until the body was read (up to MaxBody)
	Hops       int           // requests made
	Reused     int           // requests that reused a kept-alive connection
}

// LogValue makes a Timings one readable group in the logs.
func (t Timings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Duration("dns", t.DNS),
		slog.Duration("connect", t.Connect),
		slog.Duration("tls", t.TLS),
		slog.Duration("processing", t.Processing),
		slog.Duration("transfer", t.Transfer),
		slog.Int("hops", t.Hops),
		slog.Int("reused", t.Reused),
	)
}

// Phases of one request, named in the detail of a failed probe.
const (
	phaseDNS      = "DNS lookup"
	phaseConnect  = "connect"
	phaseTLS      = "TLS handshake"
	phaseRequest  = "sending the request"
	phaseResponse = "waiting for the response"
	phaseAnswer   = "reading the response"
)

// hop records the moments of one request. The transport calls the hooks from
// its own goroutines (Happy Eyeballs dials in parallel, and a dial may finish
// after the request gave up), hence the lock.
type hop struct {
	mu           sync.Mutex
	dnsStart     time.Time
	dnsDone      time.Time
	connectStart time.Time
	connectDone  time.Time
	tlsStart     time.Time
	tlsDone      time.Time
	tlsFailed    bool
	wrote        time.Time
	firstByte    time.Time
	bodyDone     time.Time
	reused       bool
}

func (h *hop) mark(at *time.Time) {
	h.mu.Lock()
	*at = time.Now()
	h.mu.Unlock()
}

func (h *hop) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { h.mark(&h.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { h.mark(&h.dnsDone) },
		ConnectStart: func(string, string) {
			h.mu.Lock()
			if h.connectStart.IsZero() {
				h.connectStart = time.Now()
			}
			h.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				h.mark(&h.connectDone)
			}
		},
		TLSHandshakeStart: func() { h.mark(&h.tlsStart) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			h.mu.Lock()
			h.tlsDone, h.tlsFailed = time.Now(), err != nil
			h.mu.Unlock()
		},
		GotConn: func(info httptrace.GotConnInfo) {
			h.mu.Lock()
			h.reused = info.Reused
			h.mu.Unlock()
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { h.mark(&h.wrote) },
		GotFirstResponseByte: func() { h.mark(&h.firstByte) },
	}
}

// phase is how far the request got, to say where a failure happened.
func (h *hop) phase() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.firstByte.IsZero():
		return phaseAnswer
	case !h.wrote.IsZero():
		return phaseResponse
	case !h.tlsStart.IsZero() && (h.tlsDone.IsZero() || h.tlsFailed):
		return phaseTLS
	case !h.tlsDone.IsZero() || !h.connectDone.IsZero():
		return phaseRequest
	case !h.connectStart.IsZero():
		return phaseConnect
	case !h.dnsStart.IsZero():
		return phaseDNS
	default:
		return phaseConnect
	}
}

func (t *Timings) add(h *hop) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Hops++
	if h.reused {
		t.Reused++
	}
	t.DNS += span(h.dnsStart, h.dnsDone)
	t.Connect += span(h.connectStart, h.connectDone)
	t.TLS += span(h.tlsStart, h.tlsDone)
	t.Processing += span(h.wrote, h.firstByte)
	t.Transfer += span(h.firstByte, h.bodyDone)
}

func span(from, to time.Time) time.Duration {
	if from.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}
