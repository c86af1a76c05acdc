package prober_test

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// startTLS starts h over TLS with a certificate for names from ca.
func startTLS(t testing.TB, ca *harness.CA, h http.Handler, names ...string) *httptest.Server {
	t.Helper()
	return httptestTLSWith(t, h, ca.Issue(t, time.Now().Add(time.Hour), names...))
}

// httptestTLSWith starts h over TLS (HTTP/2 enabled) with cert.
func httptestTLSWith(t testing.TB, h http.Handler, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are what some tests want
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func startHTTP(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// addr is the listen address of srv, the value side of a resolve override.
func addr(srv *httptest.Server) string { return srv.Listener.Addr().String() }

// replay serves the HTTP response stored in testdata/name.
func replay(t testing.TB, name string) http.Handler {
	t.Helper()
	return harness.Replay(t, filepath.Join("testdata", name))
}

// counter is a handler that counts requests and answers 200.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	io.WriteString(w, "other site\n")
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func newProber(t testing.TB, opts prober.Options) *prober.Prober {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	p, err := prober.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
