package query_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/query"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// BenchmarkSweep10k is one query sweep of 10,000 website cancellations under
// 2,500 subjects against the MIIT simulator with no rate limit, through the
// provider the daemon builds (MIIT client, slider captcha, polite wrapper)
// and a real Redis store. Half the subjects are filed, half are not.
//
// It fails unless the sweep sends exactly one query per distinct subject
// plus the canary's: the grouping that keeps a sweep within the rate limit.
func BenchmarkSweep10k(b *testing.B) {
	const (
		subjects    = 2_500
		perSubject  = 4
		canaryLicen = "京ICP备10046444号"
	)
	rs := redistest.Start(b)
	rdb := rs.Client(b)
	st := store.New(rdb, "bench")
	sim := miittest.New(miittest.Options{Seed: 7})
	b.Cleanup(sim.Close)
	sim.AddRecord(scraper.Record{Licence: canaryLicen + "-1", Domain: "canary.example.cn", UnitName: "某公司"})

	submitted := calendar.NewDate(2026, time.January, 5)
	cs := make([]cancellation.Cancellation, 0, subjects*perSubject)
	for s := range subjects {
		subject := fmt.Sprintf("京ICP备%08d号", 20000000+s)
		for w := 1; w <= perSubject; w++ {
			licence := fmt.Sprintf("%s-%d", subject, w)
			if s%2 == 0 {
				sim.AddRecord(scraper.Record{Licence: licence, Domain: fmt.Sprintf("w%d.s%d.example.cn", w, s), UnitName: "某公司"})
			}
			cs = append(cs, cancellation.Cancellation{
				ID: fmt.Sprintf("c%05d-%d", s, w), Kind: cancellation.KindWebsite, Licence: licence,
				Province: "京", Submitted: submitted,
			})
		}
	}

	q := config.Default().Query
	q.MIIT.BaseURL, q.MinInterval = sim.URL, 0
	providers, err := lookup.NewProviders(q, slog.New(slog.DiscardHandler), lookup.Hooks{})
	if err != nil {
		b.Fatal(err)
	}
	chain, err := lookup.NewChain(providers, canaryLicen, metrics.NewSet().Query, nil)
	if err != nil {
		b.Fatal(err)
	}
	sw := query.New(query.Options{
		Store: st, Chain: chain, Confirmations: q.Confirmations, Budget: subjects * perSubject,
	})

	// Allocations are counted during the sweeps only, on both sides: the
	// simulator runs in this process.
	var (
		mem             runtime.MemStats
		mallocs         uint64
		lookups, sweeps int
	)
	for b.Loop() {
		b.StopTimer()
		if err := rdb.FlushDB(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
		fresh := make([]cancellation.Cancellation, len(cs))
		copy(fresh, cs)
		if err := st.AddMany(b.Context(), fresh, "operator:bench"); err != nil {
			b.Fatal(err)
		}
		before := sim.Requests()[miittest.Query]
		runtime.ReadMemStats(&mem)
		mallocs -= mem.Mallocs
		b.StartTimer()
		if err := sw.Run(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.ReadMemStats(&mem)
		mallocs += mem.Mallocs
		sent := sim.Requests()[miittest.Query] - before
		if sent != subjects+1 {
			b.Fatalf("the sweep sent %d queries for %d subjects and the canary, want one each", sent, subjects)
		}
		lookups += sent
		sweeps++
		b.StartTimer()
	}
	b.ReportMetric(float64(lookups)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(lookups)/float64(sweeps), "lookups/op")
	b.ReportMetric(float64(mallocs)/float64(lookups), "allocs/lookup")
}
