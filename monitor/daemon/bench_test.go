package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/redistest"
	"github.com/icpmon/icpmon/monitor/store"
)

// BenchmarkReview100k is one review run at issue 8's scale: read 100,000
// active cancellations from a real Redis, measure the pending ones, encode
// the snapshot. Goal: under 2 s.
func BenchmarkReview100k(b *testing.B) {
	rs := redistest.Start(b)
	st := store.New(rs.Client(b), "bench")
	approvedAt := time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China)
	cs := make([]cancellation.Cancellation, 100_000)
	for i := range cs {
		c := cancellation.Cancellation{
			ID: fmt.Sprintf("c%07d", i), Kind: cancellation.KindWebsite,
			Licence: fmt.Sprintf("京ICP备%08d号-1", i), Province: "京",
			Domains: []string{fmt.Sprintf("site%d.example.com", i)}, Submitted: calendar.NewDate(2026, 1, 5),
		}
		if i%10 >= 7 { // 30% approved, probed over http and https
			c.Status, c.ApprovedAt, c.ApprovedBy = cancellation.Approved, approvedAt, "operator"
			for _, scheme := range []string{"http", "https"} {
				c.Probes = append(c.Probes, cancellation.Probe{Domain: c.Domains[0], Scheme: scheme, Result: "provider_block", At: approvedAt.Add(48 * time.Hour)})
			}
		}
		cs[i] = c
	}
	ctx := context.Background()
	if err := st.AddMany(ctx, cs, "operator:bench"); err != nil {
		b.Fatal(err)
	}
	cal, err := calendar.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	d := &daemon{o: Options{Now: func() time.Time { return fixedNow }}, log: slog.New(slog.DiscardHandler), metrics: metrics.NewSet()}
	job := &reviewJob{d: deps{cfg: &cfg, cal: cal, store: st, snapshot: d.snapshot}}
	b.ReportAllocs()
	for b.Loop() {
		if err := job.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if n := len(d.expo.Snapshot().Tracked); n != len(cs) {
		b.Fatalf("snapshot holds %d, want %d", n, len(cs))
	}
}
