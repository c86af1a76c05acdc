package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
)

// writesPerItem are the Redis writes one imported cancellation costs: its
// document, its history, its status index entry and its active licence.
const writesPerItem = 4

// benchStore is figure 1: `icpmon track import` of a CSV file against
// redis-benchmark's pipelined SETs on the same redis-server.
func benchStore(ctx context.Context, o options, r *report, log *slog.Logger) error {
	dir := filepath.Join(o.work, "store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	file := filepath.Join(dir, "import.csv")
	if err := writeImportCSV(file, o.cancellations); err != nil {
		return err
	}
	rs, err := startRedis(ctx, dir)
	if err != nil {
		return err
	}
	defer rs.stop()

	var runs []importRun
	// Ceiling and import alternate, so that drift on the machine touches both.
	for i := range o.runs {
		ceiling, err := redisBenchmark(ctx, rs)
		if err != nil {
			return err
		}
		run, err := timeImport(ctx, o, rs, file, rs.url())
		if err != nil {
			return err
		}
		run.ceiling = ceiling
		runs = append(runs, run)
		log.Info("import", "run", i+1, "wall", run.wall, "ceiling_set_per_s", int(ceiling))
	}
	// Round trips are counted on the wire in one more, untimed, run.
	rel, err := startRelay(rs.addr)
	if err != nil {
		return err
	}
	if _, err := timeImport(ctx, o, rs, file, rel.url()); err != nil {
		rel.close()
		return err
	}
	rel.close()
	trips := rel.trips.Load()

	n := float64(o.cancellations)
	var walls, ratios, ceilings []float64
	rows := make([][]string, 0, len(runs)+1)
	for i, run := range runs {
		items := n / run.wall.Seconds()
		walls = append(walls, run.wall.Seconds())
		ceilings = append(ceilings, run.ceiling)
		ratios = append(ratios, items/run.ceiling)
		rows = append(rows, []string{fmt.Sprint(i + 1), seconds(run.wall), rate(items), rate(run.ceiling), pct(items / run.ceiling),
			pct(writesPerItem * items / run.ceiling), seconds(run.client), seconds(run.server), count(run.commands)})
	}
	wall := median(walls)
	ratio := median(ratios)
	rows = append(rows, []string{"**median**", fmt.Sprintf("**%.2f s**", wall), "**" + rate(n/wall) + "**", "**" + rate(median(ceilings)) + "**",
		"**" + pct(ratio) + "**", "", "", "", ""})

	r.printf("\n## 1. Store: import %s cancellations from CSV\n", count(int64(o.cancellations)))
	r.printf("\n`icpmon track import FILE` (the real binary, a fresh Redis each run: data and script cache flushed) "+
		"beside `redis-benchmark -P 64 -t set -n 1000000 -q` on the same redis-server, alternating. "+
		"Writes = %d Redis writes per item (document, history, status index, active licence). "+
		"Client CPU = the icpmon process (user+sys); Redis CPU and commands from INFO (commands include those the import script runs).\n", writesPerItem)
	r.table([]string{"run", "wall", "items/s", "ceiling SET/s", "items/s ÷ ceiling", "writes/s ÷ ceiling", "icpmon CPU", "Redis CPU", "commands"}, rows)
	r.printf("\nRound trips between icpmon and Redis for the whole import (counted by a TCP relay in a separate run): **%d**.\n", trips)
	r.goal("1 store", "import items/s ÷ redis-benchmark SET/s", pct(ratio), "≥ 25%", ratio >= 0.25)
	return nil
}

// importRun is one timed import and the ceiling measured beside it.
type importRun struct {
	wall, client, server time.Duration // wall time, icpmon's CPU, Redis's CPU
	commands             int64
	ceiling              float64 // redis-benchmark SETs per second
}

// timeImport empties Redis and times one import through url.
func timeImport(ctx context.Context, o options, rs *redisServer, file, url string) (run importRun, err error) {
	if err := rs.reset(ctx); err != nil {
		return run, err
	}
	before, err := rs.stats(ctx)
	if err != nil {
		return run, err
	}
	cmd := exec.CommandContext(ctx, o.icpmon, "track", "import", file, "--redis-url", url)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	run.wall = time.Since(start)
	if err != nil {
		return run, fmt.Errorf("icpmon track import: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("imported %d cancellations", o.cancellations); !strings.Contains(string(out), want) {
		return run, fmt.Errorf("icpmon track import said %q, want %q", out, want)
	}
	after, err := rs.stats(ctx)
	if err != nil {
		return run, err
	}
	keys, err := rs.client.DBSize(ctx).Result()
	if err != nil {
		return run, err
	}
	// A document and a history per cancellation, the licence hash and the indexes.
	if keys < 2*int64(o.cancellations) {
		return run, fmt.Errorf("redis holds %d keys after importing %d cancellations", keys, o.cancellations)
	}
	work := after.since(before)
	run.client = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	run.server, run.commands = work.cpu, work.commands
	return run, nil
}

// redisBenchmark runs the ceiling and returns its SETs per second.
func redisBenchmark(ctx context.Context, rs *redisServer) (float64, error) {
	host, port, _ := strings.Cut(rs.addr, ":")
	out, err := exec.CommandContext(ctx, "redis-benchmark", "-h", host, "-p", port, "-P", "64", "-t", "set", "-n", "1000000", "-q").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %v\n%s", err, out)
	}
	// -q prints progress lines ended by \r, then "SET: 123.45 requests per second, p50=…".
	for _, line := range strings.FieldsFunc(string(out), func(r rune) bool { return r == '\r' || r == '\n' }) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "SET: ")
		if v, _, found := strings.Cut(rest, " requests per second"); ok && found {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("redis-benchmark printed no SET rate:\n%s", out)
}

// writeImportCSV writes n cancellations in the import format: websites and,
// one in ten, accesses, over every province, with distinct licences.
func writeImportCSV(file string, n int) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	provinces := cancellation.Provinces()
	fmt.Fprintln(w, "kind,licence,domain,submitted,id,province,note")
	for i := range n {
		kind := "website"
		if i%10 == 0 {
			kind = "access"
		}
		fmt.Fprintf(w, "%s,%sICP备%08d号-%d,site%d.example.com,2026-01-05,,,\n",
			kind, provinces[i%len(provinces)], 10000000+i/4, 1+i%4, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
