package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// roundTrips counts what the client sends to Redis: one per command, one per pipeline.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// benchStore returns a store whose scripts are loaded, so that the round
// trips counted are those of the steady state.
func benchStore(b *testing.B) (*Store, *redis.Client, *roundTrips) {
	rdb := redistest.Start(b).Client(b)
	s := New(rdb, "bench")
	warm := nth(1)
	warm.ID = "warm-up"
	if err := s.AddMany(b.Context(), []cancellation.Cancellation{warm}, operator); err != nil {
		b.Fatal(err)
	}
	if err := s.Remove(b.Context(), warm.ID, operator); err != nil {
		b.Fatal(err)
	}
	rt := &roundTrips{}
	rdb.AddHook(rt)
	return s, rdb, rt
}

// nth is the i-th of a set of valid pending cancellations with distinct
// licences, spread over kinds and provinces like a real import.
func nth(i int) cancellation.Cancellation {
	provinces := cancellation.Provinces()
	c := website(i)
	c.Province = provinces[i%len(provinces)]
	c.Licence = fmt.Sprintf("%sICP备%08d号-%d", c.Province, 10000000+i/4, 1+i%4)
	if i%10 == 0 {
		c.Kind = cancellation.KindAccess
	}
	return c
}

func many(n int) []cancellation.Cancellation {
	cs := make([]cancellation.Cancellation, n)
	for i := range cs {
		cs[i] = nth(i)
	}
	return cs
}

func BenchmarkAdd(b *testing.B) {
	s, _, rt := benchStore(b)
	i := 0
	for b.Loop() {
		if _, err := s.Add(b.Context(), nth(i), operator); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(rt.n.Load())/float64(i), "roundtrips/op")
}

// BenchmarkChanges is one write and its notice read by a follower: what
// keeping a daemon's view current costs per change.
func BenchmarkChanges(b *testing.B) {
	s, _, rt := benchStore(b)
	c, err := s.Add(b.Context(), nth(1), operator)
	if err != nil {
		b.Fatal(err)
	}
	cur, err := s.ChangeCursor(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	start, i := rt.n.Load(), 0
	for b.Loop() {
		if _, err := s.Update(b.Context(), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
			c.Note = fmt.Sprint(i)
			return cancellation.Event{}, nil
		}); err != nil {
			b.Fatal(err)
		}
		ids, next, err := s.Changes(b.Context(), cur, time.Second, 100)
		if err != nil || len(ids) != 1 {
			b.Fatalf("%v %v", ids, err)
		}
		cur = next
		i++
	}
	b.ReportMetric(float64(rt.n.Load()-start)/float64(i), "roundtrips/op")
}

// BenchmarkAddMany100k imports 100,000 cancellations in one all-or-nothing batch.
func BenchmarkAddMany100k(b *testing.B) {
	const n = 100_000
	s, rdb, rt := benchStore(b)
	items, trips, imports := 0, int64(0), 0
	for b.Loop() {
		b.StopTimer()
		if err := rdb.FlushDB(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
		cs := many(n)
		start := rt.n.Load()
		b.StartTimer()
		if err := s.AddMany(b.Context(), cs, operator); err != nil {
			b.Fatal(err)
		}
		trips += rt.n.Load() - start
		items += n
		imports++
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(trips)/float64(imports), "roundtrips/op")
}

// BenchmarkActive100k loads every active cancellation out of 100,000: what
// each review run does.
func BenchmarkActive100k(b *testing.B) {
	const n = 100_000
	s, _, rt := benchStore(b)
	if err := s.AddMany(b.Context(), many(n), operator); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Active(b.Context()); err != nil { // warm the connection pool: its handshakes are not the load's
		b.Fatal(err)
	}
	start, loads := rt.n.Load(), 0
	for b.Loop() {
		active, err := s.Active(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if len(active) != n {
			b.Fatalf("%d active", len(active))
		}
		loads++
	}
	b.ReportMetric(float64(rt.n.Load()-start)/float64(loads), "roundtrips/op")
}

// BenchmarkSetCeiling is the ceiling the import is measured against: plain
// SETs of documents of the same size, 64 to a pipeline, on the same server.
func BenchmarkSetCeiling(b *testing.B) {
	const n = 100_000
	_, rdb, _ := benchStore(b)
	doc := make([]byte, 400)
	items := 0
	for b.Loop() {
		pipe := rdb.Pipeline()
		for i := range n {
			pipe.Set(b.Context(), "k"+fmt.Sprint(i), doc, 0)
			if pipe.Len() == 64 {
				if _, err := pipe.Exec(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := pipe.Exec(b.Context()); err != nil {
			b.Fatal(err)
		}
		items += n
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkListHistory100k reads 100,000 active cancellations as a
// long-running daemon holds them: the 30% approved with two sites probed
// over a dozen reach runs (reach.HistoryPerTarget). The probe history is in
// keys of its own, which List never reads: it should cost as little as none.
func BenchmarkListHistory100k(b *testing.B) {
	const n = 100_000
	s, _, _ := benchStore(b)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cs := many(n)
	for i := range cs {
		if i%10 < 7 {
			continue
		}
		c := &cs[i]
		c.Status, c.ApprovedAt, c.ApprovedBy = cancellation.Approved, at, "operator"
		for run := range 12 {
			for _, scheme := range []string{"http", "https"} {
				p := cancellation.Probe{Domain: c.Domains[0], Scheme: scheme, Result: "provider_block", StatusCode: 403,
					Detail: "Alibaba Cloud ICP block page: HTTP 403, Server: Beaver", At: at.Add(time.Duration(run) * 10 * time.Minute), Duration: 3 * time.Millisecond}
				c.ProbeHistory = append(c.ProbeHistory, p)
				if run == 11 {
					c.Probes = append(c.Probes, p)
				}
			}
		}
	}
	if err := s.AddMany(b.Context(), cs, operator); err != nil {
		b.Fatal(err)
	}
	active := Filter{Statuses: []cancellation.Status{cancellation.Pending, cancellation.Approved}}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.List(b.Context(), active)
		if err != nil || len(got) != n {
			b.Fatalf("%d cancellations, %v", len(got), err)
		}
	}
}
