package metrics

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A snapshot of many chunks comes out whole, plain and gzipped, byte for
// byte the text appendText writes, followed by the registry.
func TestLargeExposition(t *testing.T) {
	s := large(5_000)
	want := string(appendText(nil, s, AllSeries))
	if len(want) < 10*textChunk {
		t.Fatalf("the snapshot is %d bytes: too small to span many chunks", len(want))
	}
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "icpmon_redis_up", Help: "Redis."})
	reg.MustRegister(up)
	var e Exposition
	e.Publish(sample(), AllSeries) // a previous, smaller snapshot sizes the next one's buffer
	e.Publish(s, AllSeries)
	h := Handler(reg, &e, slog.New(slog.DiscardHandler))
	for _, enc := range []string{"", "gzip"} {
		got := get(t, h, enc)
		if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "icpmon_redis_up 0\n") {
			t.Errorf("Accept-Encoding %q: %d bytes, not the snapshot's %d followed by the registry", enc, len(got), len(want))
		}
	}
	if c := e.current.Load(); c.size != len(want) || len(c.deflate) > len(want)/5 {
		t.Errorf("kept %d bytes deflated for %d of text (counted %d)", len(c.deflate), len(want), c.size)
	}
}

// Refresh shows a new snapshot on the status page and serves the series
// already encoded; before anything was published it publishes.
func TestRefreshKeepsTheEncodedSeries(t *testing.T) {
	var e Exposition
	first, second := sample(), sample()
	e.Refresh(first, AllSeries)
	h := Handler(prometheus.NewRegistry(), &e, slog.New(slog.DiscardHandler))
	before := get(t, h, "gzip")
	if !strings.HasPrefix(before, string(appendText(nil, first, AllSeries))) {
		t.Fatal("Refresh before any publication did not publish")
	}
	e.Refresh(second, AllSeries)
	if e.Snapshot() != second || get(t, h, "gzip") != before {
		t.Error("Refresh did not swap the snapshot alone")
	}
}
