package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report prints the Markdown tables and collects the goals for the summary.
type report struct {
	out   io.Writer
	goals []goal
}

// goal is one line of the summary: a figure's ratio or bound against its goal.
type goal struct {
	figure, what, value, target string
	met                         bool
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(r.out, format, args...) }

// table prints a Markdown table.
func (r *report) table(header []string, rows [][]string) {
	r.printf("\n| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, row := range rows {
		r.printf("| %s |\n", strings.Join(row, " | "))
	}
}

func (r *report) goal(figure, what, value, target string, met bool) {
	r.goals = append(r.goals, goal{figure, what, value, target, met})
}

func (r *report) summary() {
	if len(r.goals) == 0 {
		return
	}
	r.printf("\n## Goals\n")
	rows := make([][]string, 0, len(r.goals))
	for _, g := range r.goals {
		rows = append(rows, []string{g.figure, g.what, g.value, g.target, map[bool]string{true: "met", false: "**not met**"}[g.met]})
	}
	r.table([]string{"figure", "measure", "measured", "goal", ""}, rows)
}

// machine prints what the figures were measured on.
func (r *report) machine(ctx context.Context) {
	r.printf("# icpbench run of %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	rows := [][]string{
		{"cores (nproc)", fmt.Sprint(runtime.NumCPU())},
		{"CPU", cpuModel()},
		{"memory", memTotal()},
		{"kernel", firstLine(os.ReadFile("/proc/sys/kernel/osrelease"))},
		{"load average at start", firstLine(os.ReadFile("/proc/loadavg"))},
		{"Go", runtime.Version()},
		{"redis-server", toolVersion(ctx, "redis-server", "--version")},
		{"prometheus-blackbox-exporter", toolVersion(ctx, "prometheus-blackbox-exporter", "--version")},
		{"wrk", toolVersion(ctx, "wrk", "--version")},
	}
	r.table([]string{"machine", ""}, rows)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(b)) {
		var kb int64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

func firstLine(b []byte, err error) string {
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// toolVersion is the first line a tool prints about its version.
func toolVersion(ctx context.Context, tool string, args ...string) string {
	out, _ := exec.CommandContext(ctx, tool, args...).CombinedOutput() // wrk exits 1 after printing it
	line := firstLine(out, nil)
	if line == "" {
		return "not installed"
	}
	return line
}

// median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// percentile is the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Formatting of figures in the tables.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func millis(d time.Duration) string  { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
func rate(x float64) string          { return fmt.Sprintf("%.0f", x) }
func pct(x float64) string           { return fmt.Sprintf("%.1f%%", 100*x) }
func times(x float64) string         { return fmt.Sprintf("%.2f×", x) }
func mib(bytes int64) string         { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// count writes an integer with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
