// Command icpbench measures icpmon as a whole process, the figures of
// BENCHMARKS.md: it generates the data, starts a private
// redis-server on a free port, runs the real icpmon binary beside the
// reference tools (redis-benchmark, prometheus-blackbox-exporter, wrk) on the
// same machine in the same run, and prints Markdown tables. Every figure is a
// ratio against something measured in the same run, because absolute times
// drift on a shared machine.
//
//	go build -o bin/icpmon ./cmd/icpmon && go run ./monitor/testing/icpbench -icpmon bin/icpmon
//
// It installs nothing: `make bench` installs the tools it runs (.ci/install-deps
// bench) and then runs it; it stops at once, naming them, when some are
// missing. `make test` never needs them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// figures are the sections, in the order of BENCHMARKS.md.
var figures = []string{"store", "daemon", "reach", "calendar", "query"}

// options are the command line.
type options struct {
	icpmon        string
	only          []string
	runs          int
	cancellations int
	domains       int
	reachTimeout  time.Duration
	scrapes       int
	changes       int
	idle          time.Duration
	probeProfile  string
	work          string
	out           string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	// The reach figure re-runs this binary as its target servers and as the
	// prober under test, so that each has a process (and CPU account) of its own.
	if len(args) > 0 {
		switch args[0] {
		case targetsCommand:
			return serveTargets(args[1:], stdout, stderr)
		case probeCommand:
			return probeTargets(args[1:], stdout, stderr)
		}
	}
	var o options
	fs := flag.NewFlagSet("icpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.icpmon, "icpmon", "bin/icpmon", "the icpmon binary under test")
	only := fs.String("figures", strings.Join(figures, ","), "figures to measure, comma-separated: "+strings.Join(figures, ", "))
	fs.IntVar(&o.runs, "runs", 3, "repetitions of each timed run; the tables show the median")
	fs.IntVar(&o.cancellations, "cancellations", 100_000, "cancellations imported (store) and tracked (daemon)")
	fs.IntVar(&o.domains, "domains", 10_000, "domains probed (reach), each over http and https")
	fs.DurationVar(&o.reachTimeout, "reach-timeout", time.Second, "probe timeout of both probers: what a never-answering site costs")
	fs.IntVar(&o.scrapes, "scrapes", 100, "timed /metrics scrapes (daemon)")
	fs.IntVar(&o.changes, "changes", 100, "changes timed from the write to /metrics (daemon)")
	fs.DurationVar(&o.idle, "idle", 2*time.Minute, "quiet window between the jobs' ticks over which the daemon's CPU is measured, scaled to one review interval; "+
		"2m holds one of the Go runtime's forced collections (daemon)")
	fs.StringVar(&o.probeProfile, "probe-cpuprofile", "", "write a CPU profile of the prober under test (reach) to this file")
	fs.StringVar(&o.out, "out", "", "also write the tables to this file")
	fs.StringVar(&o.work, "work", "", "working directory for data and logs (default: a new temporary one, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, f := range strings.Split(*only, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(figures, f) {
			fmt.Fprintf(stderr, "icpbench: unknown figure %q (want %s)\n", f, strings.Join(figures, ", "))
			return 2
		}
		o.only = append(o.only, f)
	}
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			fmt.Fprintf(stderr, "icpbench: %v\n", err)
			return 1
		}
		defer f.Close()
		stdout = io.MultiWriter(stdout, f)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o, stdout, log); err != nil {
		fmt.Fprintf(stderr, "icpbench: %v\n", err)
		return 1
	}
	return 0
}

// bench measures the chosen figures and prints them.
func bench(ctx context.Context, o options, out io.Writer, log *slog.Logger) error {
	abs, err := filepath.Abs(o.icpmon)
	if err != nil {
		return err
	}
	o.icpmon = abs
	if _, err := os.Stat(o.icpmon); err != nil && o.needs("store", "daemon", "reach") {
		return fmt.Errorf("icpmon binary: %w (build it: make build)", err)
	}
	if o.work == "" {
		dir, err := os.MkdirTemp("", "icpbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.work = dir
	} else if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	if err := checkTools(o); err != nil {
		return err
	}
	r := &report{out: out}
	r.machine(ctx)
	steps := []struct {
		name string
		run  func(context.Context, options, *report, *slog.Logger) error
	}{
		{"store", benchStore},
		{"daemon", benchDaemon},
		{"reach", benchReach},
		{"calendar", benchCalendar},
		{"query", benchQuery},
	}
	var failed []string
	for _, s := range steps {
		if !o.needs(s.name) {
			continue
		}
		log.Info("measuring", "figure", s.name)
		start := time.Now()
		if err := s.run(ctx, o, r, log); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Error("figure failed", "figure", s.name, "err", err)
			r.printf("\n**%s: not measured: %v**\n", s.name, err)
			failed = append(failed, s.name)
			continue
		}
		log.Info("measured", "figure", s.name, "took", time.Since(start).Round(time.Second))
	}
	r.summary()
	if len(failed) > 0 {
		return fmt.Errorf("figures not measured: %s", strings.Join(failed, ", "))
	}
	return nil
}

// needs reports whether any of the figures is to be measured.
func (o options) needs(names ...string) bool {
	for _, n := range names {
		if slices.Contains(o.only, n) {
			return true
		}
	}
	return false
}

// errTimeout is a wait that ran out.
var errTimeout = errors.New("timed out")
