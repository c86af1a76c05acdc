package miit

import (
	"context"
	"fmt"
	"testing"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// BenchmarkLookup looks subjects up against the simulator with no rate
// limit: the cost of one lookup (captcha image, slider solved, checkImage,
// one query page) on this side and the simulator's.
func BenchmarkLookup(b *testing.B) {
	sim := newSim(b, miittest.Options{})
	const subjects = 50
	for i := range subjects {
		sim.AddRecord(scraper.Record{Licence: fmt.Sprintf("京ICP备%08d号-1", i), Domain: fmt.Sprintf("s%d.example.cn", i), UnitName: "某公司"})
		sim.AddRecord(scraper.Record{Licence: fmt.Sprintf("京ICP备%08d号-2", i), Domain: fmt.Sprintf("t%d.example.cn", i), UnitName: "某公司"})
	}
	c := newClient(b, sim.URL, Options{})
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ans, err := c.Lookup(ctx, fmt.Sprintf("京ICP备%08d号", n%subjects))
		if err != nil || len(ans.Records) != 2 {
			b.Fatalf("lookup %d: %d records, %v", n, len(ans.Records), err)
		}
		n++
	}
	if q := sim.Requests()[miittest.Query]; q != n {
		b.Fatalf("%d query requests for %d subject lookups, want one each", q, n)
	}
}
