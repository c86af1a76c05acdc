package daemon

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// BenchmarkView100k measures, side by side at the scale of 100,000 tracked (100,000
// active cancellations in a real Redis), what keeping the view costs:
//
//   - full-load: read and measure everything and publish it, what a resync
//     (and every review tick, before the view followed the store) costs;
//   - idle-turn: one turn of the follower with nothing changed (a blocking
//     read of the notices, the identity check) and the review job's tick;
//   - one-change: a write, the turn that reads it, and its publication.
//
// cpu-ms/op is the process's user+system CPU, which counts the Redis
// client and the garbage collector on every core; goal: an idle
// turn at most 5% of a full load.
func BenchmarkView100k(b *testing.B) {
	approvedAt := time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China)
	cs := make([]cancellation.Cancellation, 100_000)
	for i := range cs {
		c := cancellation.Cancellation{
			ID: fmt.Sprintf("c%07d", i), Kind: cancellation.KindWebsite,
			Licence: fmt.Sprintf("京ICP备%08d号-1", i+1), Province: "京",
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
	src := newSource(b, cs...)
	st := src.store
	d := viewDaemon(b, src, fixedNow)
	if err := d.follow(ctx); err != nil { // adopt and load
		b.Fatal(err)
	}
	if n := len(d.expo.Snapshot().Tracked); n != len(cs) {
		b.Fatalf("view holds %d, want %d", n, len(cs))
	}
	turn := func(b *testing.B) {
		if err := d.follow(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("full-load", func(b *testing.B) {
		cpu(b, func() {
			if err := d.load(ctx, st); err != nil {
				b.Fatal(err)
			}
			d.publish(true)
		})
	})
	b.Run("idle-turn", func(b *testing.B) {
		cpu(b, func() {
			turn(b)
			if err := d.tick(ctx); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("one-change", func(b *testing.B) {
		i := 0
		cpu(b, func() {
			i++
			if _, err := st.Update(ctx, "c0000001", "operator:bench", func(c *cancellation.Cancellation) (cancellation.Event, error) {
				c.Note = fmt.Sprint("change ", i)
				return cancellation.Event{}, nil
			}); err != nil {
				b.Fatal(err)
			}
			turn(b)
			d.publish(true)
		})
		if got := d.expo.Snapshot().Tracked[1].Note; got != fmt.Sprint("change ", i) {
			b.Fatalf("the view shows note %q after change %d", got, i)
		}
	})
}

// cpu runs fn b.N times and reports the process's CPU per run.
func cpu(b *testing.B, fn func()) {
	before := cpuTime(b)
	for b.Loop() {
		fn()
	}
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
