package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// large is a snapshot of n active cancellations in the mix BENCHMARKS.md measures:
// 70% pending, 30% approved with one domain probed over http and https, and
// half of them with a definite record.
func large(n int) *status.Snapshot {
	s := &status.Snapshot{Taken: t0, Counts: map[status.Count]int{}, Tracked: make([]*status.Standing, n)}
	present := true
	for i := range s.Tracked {
		c := cancellation.Cancellation{
			ID: fmt.Sprintf("c%07d", i), Kind: cancellation.KindWebsite,
			Licence: fmt.Sprintf("京ICP备%08d号-1", i), Province: "京",
			Domains: []string{fmt.Sprintf("site%d.example.com", i)}, Submitted: calendar.NewDate(2026, 1, 5),
			Status: cancellation.Pending,
		}
		if i%2 == 0 {
			c.Record = cancellation.Record{Present: &present, CheckedAt: t0}
		}
		t := &status.Standing{Cancellation: c}
		if i%10 < 7 {
			t.Review = &status.Progress{Limit: 20, Deadline: t0, Elapsed: 12}
		} else {
			t.Status, t.ApprovedAt, t.LingerDeadline = cancellation.Approved, t0, t0
			for _, scheme := range []string{"http", "https"} {
				t.Sites = append(t.Sites, status.Site{Probe: cancellation.Probe{Domain: c.Domains[0], Scheme: scheme, Result: "provider_block", At: t0}})
			}
		}
		s.Counts[status.Count{Kind: t.Kind, Status: t.Status}]++
		s.Tracked[i] = t
	}
	return s
}

func BenchmarkSnapshot100k(b *testing.B) {
	s := large(100_000)
	var e Exposition
	b.ReportAllocs()
	for b.Loop() {
		e.Publish(s, AllSeries)
	}
	b.ReportMetric(float64(e.current.Load().size)/1e6, "MB-text")
	b.ReportMetric(float64(len(e.current.Load().deflate))/1e6, "MB-gzip")
}

func BenchmarkScrape100k(b *testing.B) {
	set := NewSet()
	var e Exposition
	e.Publish(large(100_000), AllSeries)
	h := Handler(set.Registry, &e, slog.New(slog.DiscardHandler))
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				w := &discard{header: http.Header{}}
				h.ServeHTTP(w, req)
				b.SetBytes(w.n)
			}
		})
	}
}

// discard is a ResponseWriter that only counts, so the benchmark measures the
// handler and not a recorder's buffer.
type discard struct {
	header http.Header
	n      int64
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) WriteHeader(int)     {}
func (d *discard) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}
