package prober_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// BenchmarkProbe is the cost of one served probe on a kept-alive connection,
// the steady state of repeated probes; BENCHMARKS.md compares it with blackbox_exporter.
func BenchmarkProbe(b *testing.B) {
	ca := harness.NewCA(b)
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<html><title>Example shop</title><body>welcome</body></html>")
	})
	plain := startHTTP(b, page)
	secure := startTLS(b, ca, page, "www.example.com")
	p := newProber(b, prober.Options{RootCAs: ca.Pool, Resolve: map[string]string{
		"www.example.com:80":  addr(plain),
		"www.example.com:443": addr(secure),
	}})
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := p.Probe(b.Context(), "www.example.com", scheme); got.Result != prober.Served {
					b.Fatalf("%s: %s", got.Result, got.Detail)
				}
			}
		})
	}
}
