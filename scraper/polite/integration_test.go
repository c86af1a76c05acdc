package polite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// The real MIIT client against the simulator: a WAF page and the 2026
// empty-captcha ban park the provider, and a parked provider sends nothing.
func TestParkedLeavesTheSourceAlone(t *testing.T) {
	for _, fault := range []miittest.Fault{
		{Kind: miittest.FaultWAF, Endpoint: miittest.Query},
		{Kind: miittest.FaultEmptyBody, Endpoint: miittest.CaptchaImage},
		{Kind: miittest.FaultRateLimit},
	} {
		t.Run(string(fault.Kind), func(t *testing.T) {
			sim := miittest.New(miittest.Options{Seed: 1})
			t.Cleanup(sim.Close)
			sim.AddRecord(scraper.Record{Licence: "京ICP备10046444号-1", Domain: "mi.cn"})
			client, err := miit.New(miit.Options{BaseURL: sim.URL})
			if err != nil {
				t.Fatal(err)
			}
			clk := newClock()
			p := wrap(client, clk, Options{MinInterval: 6 * time.Second})
			ctx := context.Background()

			sim.Inject(fault)
			if _, err := p.Lookup(ctx, "京ICP备10046444号"); err == nil {
				t.Fatal("the fault gave a definite answer")
			}
			before := total(sim.Requests())
			for range 3 {
				_, err := p.Lookup(ctx, "京ICP备10046444号")
				if !errors.Is(err, ErrParked) || scraper.ReasonOf(err) != scraper.RateLimited {
					t.Fatalf("parked lookup: %v", err)
				}
			}
			if after := total(sim.Requests()); after != before {
				t.Fatalf("parked lookups sent %d requests", after-before)
			}
			clk.Advance(6 * time.Minute)
			ans, err := p.Lookup(ctx, "京ICP备10046444号")
			if err != nil || !ans.Present() {
				t.Fatalf("after the park: %+v, %v", ans, err)
			}
		})
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
