package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// goBench runs Go benchmarks of one package and returns, per benchmark
// (without its -GOMAXPROCS suffix), the median of each reported unit.
func goBench(ctx context.Context, pkg, pattern string, extra ...string) (map[string]map[string]float64, error) {
	args := append([]string{"test", "-run", "^$", "-bench", pattern}, extra...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	samples := map[string]map[string][]float64{}
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				samples[name][f[i+1]] = append(samples[name][f[i+1]], v)
			}
		}
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("go %s ran no benchmark:\n%s", strings.Join(args, " "), out)
	}
	res := map[string]map[string]float64{}
	for name, units := range samples {
		res[name] = map[string]float64{}
		for unit, vs := range units {
			res[name][unit] = median(vs)
		}
	}
	return res, nil
}

// benchCalendar is figure 4: business-day arithmetic against the naive day
// walk (monitor/calendar's benchmarks, which also check the answers agree).
func benchCalendar(ctx context.Context, _ options, r *report, _ *slog.Logger) error {
	res, err := goBench(ctx, "./monitor/calendar/", "AddBusinessDays|NaiveAdd|CountBusinessDays|NaiveCount", "-count", "3")
	if err != nil {
		return err
	}
	ns := func(name string) (float64, error) {
		v, ok := res[name]["ns/op"]
		if !ok {
			return 0, fmt.Errorf("no result for %s", name)
		}
		return v, nil
	}
	var rows [][]string
	for _, op := range []struct{ name, fast, naive string }{
		{"add N business days", "BenchmarkAddBusinessDays", "BenchmarkNaiveAdd"},
		{"count business days", "BenchmarkCountBusinessDays", "BenchmarkNaiveCount"},
	} {
		for _, span := range []string{"1m", "5y"} {
			fast, err := ns(op.fast + "/" + span)
			if err != nil {
				return err
			}
			naive, err := ns(op.naive + "/" + span)
			if err != nil {
				return err
			}
			rows = append(rows, []string{op.name, span, fmt.Sprintf("%.0f ns", fast), fmt.Sprintf("%.0f ns", naive), times(naive / fast)})
			if span == "5y" {
				r.goal("4 calendar", op.name+" over 5 years, speed-up on the walk", times(naive/fast), "≥ 100×", naive/fast >= 100)
			}
		}
	}
	r.printf("\n## 4. Calendar: business days over 1-month and 5-year spans\n")
	r.printf("\n`go test -run '^$' -bench 'AddBusinessDays|NaiveAdd|CountBusinessDays|NaiveCount' -count 3 ./monitor/calendar/` " +
		"(medians); the naive walk steps one day at a time through the same official schedule.\n")
	r.table([]string{"operation", "span", "icpmon", "naive walk", "speed-up"}, rows)
	return nil
}

// benchQuery is figure 5: a sweep of 10,000 licences against the MIIT
// simulator, and one lookup alone for comparison.
func benchQuery(ctx context.Context, o options, r *report, _ *slog.Logger) error {
	sweep, err := goBench(ctx, "./monitor/query/", "Sweep10k", "-benchtime", "1x")
	if err != nil {
		return err
	}
	lookup, err := goBench(ctx, "./scraper/miit/", "^BenchmarkLookup$", "-benchtime", "300x", "-benchmem", "-count", "3")
	if err != nil {
		return err
	}
	s, l := sweep["BenchmarkSweep10k"], lookup["BenchmarkLookup"]
	single := 1e9 / l["ns/op"]
	r.printf("\n## 5. Query: a sweep of 10,000 licences against the MIIT simulator, no rate limit\n")
	r.printf("\n10,000 website cancellations under 2,500 subjects (half of them filed), through the provider the daemon builds " +
		"(MIIT client, slider captcha, polite wrapper with min_interval 0) and a real Redis store; the simulator runs in " +
		"the same process, so allocations count both sides. The benchmark fails unless the simulator received exactly one " +
		"query per distinct subject plus the canary's. Beside it, `BenchmarkLookup`: one lookup after another, no sweep.\n")
	r.table([]string{"measure", "sweep (BenchmarkSweep10k)", "lookups alone (BenchmarkLookup)", "ratio"}, [][]string{
		{"lookups/s", rate(s["lookups/s"]), rate(single), pct(s["lookups/s"] / single)},
		{"allocations per lookup", rate(s["allocs/lookup"]), rate(l["allocs/op"]), times(s["allocs/lookup"] / l["allocs/op"])},
		{"queries sent per sweep", rate(s["lookups/op"]), "", fmt.Sprintf("%.2f per distinct subject (2,500 + canary)", s["lookups/op"]/2501)},
		{"sweep of 10,000", seconds(time.Duration(s["lookups/op"] / s["lookups/s"] * float64(time.Second))), "", ""},
	})
	r.goal("5 query", "queries per distinct subject in a sweep", fmt.Sprintf("%.2f", s["lookups/op"]/2501), "1", s["lookups/op"] == 2501)
	return nil
}
