package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
)

// schedules are the schedules of the daemon's three jobs.
type schedules struct{ review, query, reach string }

// startOnly runs every job once at start, then not for a day.
var startOnly = schedules{review: "@every 24h", query: "@every 24h", reach: "@every 24h"}

// shippedConfig is the configuration file whose schedules the daemon figure runs.
const shippedConfig = "deploy/icpmon.yml"

// shippedSchedules reads the jobs' schedules from a configuration file.
func shippedSchedules(file string) (schedules, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return schedules{}, fmt.Errorf("the shipped schedules: %w (run icpbench at the repository's root)", err)
	}
	type section struct {
		Schedule string `yaml:"schedule"`
	}
	var cfg struct{ Review, Query, Reach section }
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return schedules{}, fmt.Errorf("%s: %w", file, err)
	}
	s := schedules{review: cfg.Review.Schedule, query: cfg.Query.Schedule, reach: cfg.Reach.Schedule}
	for _, spec := range []string{s.review, s.query, s.reach} {
		if _, err := every(spec); err != nil {
			return schedules{}, fmt.Errorf("%s: %w", file, err)
		}
	}
	return s, nil
}

// every is the interval of an "@every" schedule.
func every(spec string) (time.Duration, error) {
	v, ok := strings.CutPrefix(spec, "@every ")
	if !ok {
		return 0, fmt.Errorf("schedule %q: the daemon figure needs @every schedules, whose ticks it can place", spec)
	}
	return time.ParseDuration(v)
}

// nextTick is the first tick of an "@every" schedule begun at start that
// comes after t.
func nextTick(start time.Time, interval time.Duration, t time.Time) time.Time {
	return start.Add((t.Sub(start)/interval + 1) * interval)
}

// Goals of figure 2 (BENCHMARKS.md §2).
const (
	goalRSS         = 256 << 20
	goalPeak        = 384 << 20
	goalChangeP99   = 2 * time.Second
	goalIdleShare   = 0.05
	goalScrapeP99   = 100 * time.Millisecond
	goalSeries      = 400_000
	importResync    = 2_000 // an import past 1,000 leaves a resync notice: every follower loads everything
	oldReviewCPU    = 2500 * time.Millisecond
	oldReviewCPUMax = "2.5–3 s"
	changePoll      = 20 * time.Millisecond
)

// benchDaemon is figure 2: `icpmon serve` following a store of n active
// cancellations, with the shipped schedules.
func benchDaemon(ctx context.Context, o options, r *report, log *slog.Logger) error {
	dir := filepath.Join(o.work, "daemon")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rs, err := startRedis(ctx, dir)
	if err != nil {
		return err
	}
	defer rs.stop()
	if err := seedActive(ctx, rs, o.cancellations); err != nil {
		return err
	}
	st := store.New(rs.client, "icpmon")
	n := o.cancellations
	shipped, err := shippedSchedules(shippedConfig)
	if err != nil {
		return err
	}
	reviewInterval, _ := every(shipped.review)
	reachInterval, _ := every(shipped.reach)
	// Info level, as shipped: the reach job's debug lines would cost CPU.
	began := time.Now()
	d, err := startDaemon(ctx, o, dir, "info", rs, "", shipped, nil)
	if err != nil {
		return err
	}
	defer d.proc.stop(30 * time.Second)
	pid := d.proc.pid()
	m := newMetricsClient(d.base)
	defer m.close()

	// Start-up: the load, while every job runs once (the query sweep's
	// canary lookup fails at once: no provider runs here; the approved
	// sites are .invalid names, refused without a DNS query, and the reach
	// job writes each one's new result: notices the follower reads).
	if err := m.waitTracked(ctx, n, time.Second, 10*time.Minute); err != nil {
		return fmt.Errorf("start-up load: %w", err)
	}
	startupWall := time.Since(began)
	startupCPU, err := cpuTime(pid)
	if err != nil {
		return err
	}
	for _, job := range []string{"review", "query", "reach"} {
		if _, err := d.jobRun(ctx, job, 10*time.Minute); err != nil {
			return err
		}
	}
	if err := waitIdle(pid, 5*time.Minute); err != nil {
		return err
	}
	rssLoaded, err := memoryKiB(pid, "VmRSS")
	if err != nil {
		return err
	}
	hwmLoaded, err := memoryKiB(pid, "VmHWM")
	if err != nil {
		return err
	}

	// A full load: an import past 1,000 makes every follower load everything.
	load, err := d.fullLoad(ctx, m, st, n)
	if err != nil {
		return err
	}
	n += importResync
	hwmImport, err := memoryKiB(pid, "VmHWM")
	if err != nil {
		return err
	}

	// Quiet: nothing written, no job running; the follower blocks on the
	// notices. The window lies between two ticks of the jobs (they tick
	// every interval from the start, each once at start).
	first := nextTick(began, reviewInterval, time.Now())
	if t := nextTick(began, reachInterval, time.Now()); t.Before(first) {
		first = t
	}
	if time.Until(first) < o.idle+10*time.Second {
		if err := d.afterTick(ctx, m, first); err != nil {
			return err
		}
	}
	quiet, err := d.quiet(ctx, m, o.idle, reviewInterval)
	if err != nil {
		return err
	}
	rssQuietOnly, err := memoryKiB(pid, "VmRSS")
	if err != nil {
		return err
	}
	// One review interval as shipped: a review tick, and the reach runs,
	// which write every approved cancellation's new probes: notices the
	// follower reads.
	interval, err := d.quiet(ctx, m, reviewInterval, reviewInterval)
	if err != nil {
		return err
	}
	rssQuiet, err := memoryKiB(pid, "VmRSS")
	if err != nil {
		return err
	}

	// Changes, one at a time, each timed to /metrics.
	lat, err := d.changes(ctx, m, st, o.changes)
	if err != nil {
		return err
	}

	def, err := d.scrapes(ctx, o.scrapes)
	if err != nil {
		return err
	}
	hwm, err := memoryKiB(pid, "VmHWM")
	if err != nil {
		return err
	}
	rssEnd, err := memoryKiB(pid, "VmRSS")
	if err != nil {
		return err
	}

	// The full set, through the same daemon, a reload apart.
	if err := d.write("all"); err != nil {
		return err
	}
	if err := d.reload(ctx); err != nil {
		return err
	}
	if err := m.waitFamily(ctx, "icpmon_site_probe_result", 2*time.Minute); err != nil {
		return fmt.Errorf("per_cancellation: all after a reload: %w", err)
	}
	all, err := d.scrapes(ctx, o.scrapes)
	if err != nil {
		return err
	}
	hwmAll, err := memoryKiB(pid, "VmHWM")
	if err != nil {
		return err
	}
	rssAll, err := memoryKiB(pid, "VmRSS")
	if err != nil {
		return err
	}
	bench := viewBench(ctx, log)

	idleShare := quiet.perInterval.Seconds() / load.cpu.Seconds()
	intervalShare := interval.cpu.Seconds() / load.cpu.Seconds()
	r.printf("\n## 2. Daemon at %s active cancellations\n", count(int64(o.cancellations)))
	r.printf("\n`icpmon serve` following a Redis that holds %s active cancellations (70%% pending, 30%% approved with one domain "+
		"probed over http and https, half with a definite record), with deploy/icpmon.yml's schedules (review %s, query %s, "+
		"reach %s) and `metrics.per_cancellation` at its default, logging at info. It loads the store once at start, then "+
		"follows the change stream. Memory from /proc/PID/status; CPU is utime+stime from /proc/PID/stat, every thread.\n",
		count(int64(o.cancellations)), shipped.review, shipped.query, shipped.reach)
	r.printf("\n- **Start-up**: until /metrics shows every cancellation (the start-up runs of the three jobs overlap it).\n"+
		"- **Full load**: `AddMany` of %s new cancellations, one resync notice (past 1,000), after which the daemon loads all "+
		"%s; timed from the write's return to /metrics showing them (`icpmon_cancellations`), CPU until the daemon is idle again.\n"+
		"- **Quiet**: %s with nothing written and no job running (%d review, %d reach, %d query runs in it), scaled to one "+
		"review interval (%s). **Review interval as shipped**: the next %s whole, with the jobs as scheduled (%d review tick(s), "+
		"%d reach and %d query run(s) in it; a reach run writes every approved cancellation's probes).\n"+
		"- **Changes**: %d writes through the store, one at a time: new pending cancellations (`Add`) and approvals "+
		"(`Transition`) alternately; each timed from the write's return until a gzipped `GET /metrics`, polled every %s, "+
		"returns the new `icpmon_cancellation_info` series (or its `status=\"approved\"` label).\n"+
		"- **Scrapes**: %d timed sequential `GET /metrics` (gzip, as Prometheus asks) while a second scraper loops.\n",
		count(importResync), count(int64(n)), quiet.window.Round(time.Second), quiet.reviews, quiet.reach, quiet.query,
		reviewInterval, interval.window.Round(time.Second), interval.reviews, interval.reach, interval.query,
		len(lat.all), changePoll, o.scrapes)
	r.table([]string{"measure", "value", "goal", "ratio to goal"}, [][]string{
		{"start-up: until /metrics shows all, wall / CPU", seconds(startupWall) + " / " + seconds(startupCPU), "", ""},
		{"RSS after start-up, daemon idle (VmRSS / VmHWM)", mib(rssLoaded<<10) + " / " + mib(hwmLoaded<<10), "", ""},
		{"full load: write → /metrics", seconds(load.wall), "", ""},
		{"VmHWM after the full load", mib(hwmImport << 10), "", ""},
		{"full load: CPU of the daemon", seconds(load.cpu), "≤ " + seconds(oldReviewCPU) + " (old review: " + oldReviewCPUMax + ")", times(load.cpu.Seconds() / oldReviewCPU.Seconds())},
		{fmt.Sprintf("quiet: CPU over %s", quiet.window.Round(time.Second)), seconds(quiet.cpu), "", ""},
		{"quiet: CPU per review interval (" + reviewInterval.String() + ")", seconds(quiet.perInterval), "≤ 5% of a full load", pct(idleShare) + " of a full load, " + times(idleShare/goalIdleShare)},
		{"RSS after the quiet window (VmRSS)", mib(rssQuietOnly << 10), "", ""},
		{"review interval as shipped: CPU (jobs included; the reach run took " + seconds(interval.reachWall) + ")", seconds(interval.cpu), "", pct(intervalShare) + " of a full load"},
		{"RSS after the review interval as shipped (VmRSS)", mib(rssQuiet << 10), "≤ 256 MiB", times(float64(rssQuiet<<10) / goalRSS)},
		{"change → /metrics p50", millis(lat.p50), "", ""},
		{"change → /metrics p99", millis(lat.p99), "≤ 2 s", times(lat.p99.Seconds() / goalChangeP99.Seconds())},
		{"change → /metrics max", millis(lat.max), "", ""},
		{"/metrics p50 (second scraper running)", millis(def.p50), "", ""},
		{"/metrics p99 (second scraper running)", millis(def.p99), "< 100 ms", times(def.p99.Seconds() / goalScrapeP99.Seconds())},
		{"RSS after the changes and scrapes (VmRSS)", mib(rssEnd << 10), "", ""},
		{"RSS peak (VmHWM, start-up included)", mib(hwm << 10), "≤ 384 MiB", times(float64(hwm<<10) / goalPeak)},
	})
	r.printf("\nChange latency by kind (ms):\n")
	r.table([]string{"change", "n", "p50", "p99", "max"}, [][]string{
		lat.row("new pending cancellation (`Add`)", lat.add),
		lat.row("approval (`Transition`)", lat.approve),
		lat.row("all", lat.all),
	})
	r.printf("\nExposition and what Prometheus would hold (`metrics.per_cancellation`, a reload apart; %s tracked):\n", count(int64(n)))
	per := func(s int64) string { return fmt.Sprintf("%.2f", float64(s)/float64(n)) }
	r.table([]string{"per_cancellation", "series", "per cancellation", "plain", "gzip", "scrape p50", "scrape p99", "goal", "ratio to goal"}, [][]string{
		{"alerting (default)", count(def.series), per(def.series), mib(def.plain), mib(def.gzip), millis(def.p50), millis(def.p99), "≤ 400,000", times(float64(def.series) / goalSeries)},
		{"all", count(all.series), per(all.series), mib(all.plain), mib(all.gzip), millis(all.p50), millis(all.p99), "", ""},
	})
	r.printf("\nAfter the reload to `all` and its scrapes: VmRSS %s, VmHWM %s.\n", mib(rssAll<<10), mib(hwmAll<<10))
	bench.print(r)

	r.goal("2 daemon", "RSS after the load and review ticks", mib(rssQuiet<<10), "≤ 256 MiB", rssQuiet<<10 <= goalRSS)
	r.goal("2 daemon", "RSS peak (VmHWM)", mib(hwm<<10), "≤ 384 MiB", hwm<<10 <= goalPeak)
	r.goal("2 daemon", "change → /metrics p99", millis(lat.p99), "≤ 2 s", lat.p99 <= goalChangeP99)
	r.goal("2 daemon", "quiet CPU per review interval / full load", pct(idleShare), "≤ 5%", idleShare <= goalIdleShare)
	r.goal("2 daemon", "full load CPU", seconds(load.cpu), "≤ "+seconds(oldReviewCPU)+" (old review)", load.cpu <= oldReviewCPU)
	r.goal("2 daemon", "/metrics p99 (second scraper running)", millis(def.p99), "< 100 ms", def.p99 < goalScrapeP99)
	r.goal("2 daemon", "series, default per_cancellation", count(def.series), "≤ 400,000", def.series <= goalSeries)
	log.Info("daemon", "rss_kib", rssQuiet, "hwm_kib", hwm, "load_cpu", load.cpu, "quiet_cpu", quiet.perInterval,
		"change_p99", lat.p99, "series", def.series)
	return nil
}

// seedActive writes n active cancellations with the store, in the mix of
// BenchmarkReview100k and BenchmarkSnapshot100k.
func seedActive(ctx context.Context, rs *redisServer, n int) error {
	if err := rs.reset(ctx); err != nil {
		return err
	}
	now := time.Now()
	approvedAt := now.Add(-72 * time.Hour)
	present := true
	cs := make([]cancellation.Cancellation, n)
	for i := range cs {
		c := cancellation.Cancellation{
			ID: fmt.Sprintf("c%07d", i), Kind: cancellation.KindWebsite,
			Licence: fmt.Sprintf("京ICP备%08d号-1", 10000000+i), Province: "京",
			Domains:   []string{fmt.Sprintf("site%d.bench.invalid", i)},
			Submitted: calendar.DateOf(now.Add(-time.Duration(i%60) * 24 * time.Hour)),
		}
		if i%2 == 0 {
			c.Record = cancellation.Record{Present: &present, CheckedAt: now.Add(-time.Hour)}
		}
		if i%10 >= 7 {
			c.Status, c.ApprovedAt, c.ApprovedBy = cancellation.Approved, approvedAt, "operator"
			for _, scheme := range []string{"http", "https"} {
				c.Probes = append(c.Probes, cancellation.Probe{Domain: c.Domains[0], Scheme: scheme, Result: "provider_block", At: approvedAt.Add(48 * time.Hour)})
			}
		}
		cs[i] = c
	}
	if err := store.New(rs.client, "icpmon").AddMany(ctx, cs, "operator:icpbench"); err != nil {
		return fmt.Errorf("seed %d cancellations: %w", n, err)
	}
	return nil
}

// newPending is a pending cancellation of the figure's data that no seeded
// one collides with: prefix and the licence series tell them apart.
func newPending(prefix string, licence, i int) cancellation.Cancellation {
	return cancellation.Cancellation{
		ID: fmt.Sprintf("%s%07d", prefix, i), Kind: cancellation.KindWebsite,
		Licence: fmt.Sprintf("京ICP备%08d号-1", licence+i), Province: "京",
		Domains:   []string{fmt.Sprintf("%s%d.bench.invalid", prefix, i)},
		Submitted: calendar.DateOf(time.Now()),
	}
}

// loadRun is one full load.
type loadRun struct{ wall, cpu time.Duration }

// fullLoad imports importResync new cancellations, whose one resync notice
// makes the daemon load all n+importResync, and measures that load.
func (d *daemon) fullLoad(ctx context.Context, m *metricsClient, st *store.Store, n int) (loadRun, error) {
	cs := make([]cancellation.Cancellation, importResync)
	for i := range cs {
		cs[i] = newPending("i", 20000000, i)
	}
	pid := d.proc.pid()
	d.seen = d.proc.lineCount()
	before, err := cpuTime(pid)
	if err != nil {
		return loadRun{}, err
	}
	if err := st.AddMany(ctx, cs, "operator:icpbench"); err != nil {
		return loadRun{}, fmt.Errorf("import %d: %w", len(cs), err)
	}
	written := time.Now()
	if err := m.waitTracked(ctx, n+len(cs), 100*time.Millisecond, 5*time.Minute); err != nil {
		return loadRun{}, fmt.Errorf("full load after an import of %d: %w", len(cs), err)
	}
	wall := time.Since(written)
	// The daemon says why it loaded: a resync notice, not a change of each.
	_, next, err := d.proc.waitLine(d.seen, 10*time.Second, func(line string) bool {
		return strings.Contains(line, "store changes missed; loading everything again")
	})
	if err != nil {
		return loadRun{}, fmt.Errorf("the import of %d did not make the daemon load everything: %w", len(cs), err)
	}
	d.seen = next
	if err := waitIdle(pid, 5*time.Minute); err != nil {
		return loadRun{}, err
	}
	after, err := cpuTime(pid)
	if err != nil {
		return loadRun{}, err
	}
	return loadRun{wall: wall, cpu: after - before}, nil
}

// quietRun is the daemon's CPU over a window in which nothing was written.
type quietRun struct {
	window, cpu, perInterval time.Duration
	reviews, reach, query    int           // job runs in the window
	reachWall                time.Duration // of the reach runs in it
}

// quiet measures the daemon's CPU over window, and scales it to interval.
func (d *daemon) quiet(ctx context.Context, m *metricsClient, window, interval time.Duration) (quietRun, error) {
	pid := d.proc.pid()
	runsBefore, wallBefore, err := m.jobRuns(ctx)
	if err != nil {
		return quietRun{}, err
	}
	before, err := cpuTime(pid)
	if err != nil {
		return quietRun{}, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return quietRun{}, ctx.Err()
	case <-time.After(window):
	}
	after, err := cpuTime(pid)
	if err != nil {
		return quietRun{}, err
	}
	took := time.Since(start)
	runsAfter, wallAfter, err := m.jobRuns(ctx)
	if err != nil {
		return quietRun{}, err
	}
	q := quietRun{window: took, cpu: after - before,
		reviews: runsAfter["review"] - runsBefore["review"],
		reach:   runsAfter["reach"] - runsBefore["reach"],
		query:   runsAfter["query"] - runsBefore["query"], reachWall: wallAfter["reach"] - wallBefore["reach"]}
	q.perInterval = time.Duration(float64(q.cpu) * float64(interval) / float64(took))
	return q, nil
}

// afterTick waits for the jobs' tick at tick to pass, the runs it started
// to end and the daemon to be idle.
func (d *daemon) afterTick(ctx context.Context, m *metricsClient, tick time.Time) error {
	before, _, err := m.jobRuns(ctx)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(tick) + 2*time.Second):
	}
	for deadline := time.Now().Add(10 * time.Minute); ; {
		runs, _, err := m.jobRuns(ctx)
		if err != nil {
			return err
		}
		if runs["review"] > before["review"] || runs["reach"] > before["reach"] {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no job ran at the tick of %s: %w", tick.Format(time.TimeOnly), errTimeout)
		}
		time.Sleep(time.Second)
	}
	return waitIdle(d.proc.pid(), 5*time.Minute)
}

// latencies are the change latencies, by kind.
type latencies struct {
	add, approve, all []time.Duration // sorted
	p50, p99, max     time.Duration   // of all
}

func (l latencies) row(what string, lat []time.Duration) []string {
	if len(lat) == 0 {
		return []string{what, "0", "", "", ""}
	}
	return []string{what, strconv.Itoa(len(lat)), millis(percentile(lat, 50)), millis(percentile(lat, 99)), millis(lat[len(lat)-1])}
}

// changes writes n changes one at a time, alternately a new pending
// cancellation and the approval of a pending one, and times each from the
// write's return until /metrics shows it.
func (d *daemon) changes(ctx context.Context, m *metricsClient, st *store.Store, n int) (latencies, error) {
	var l latencies
	for i := range n {
		var id string
		var approved bool
		// The counts before the write: the change is published with new ones.
		gz, err := m.get(ctx)
		if err != nil {
			return l, err
		}
		before := countsOf(gz)
		if i%2 == 0 {
			c := newPending("n", 30000000, i/2)
			id = c.ID
			if _, err := st.Add(ctx, c, "operator:icpbench"); err != nil {
				return l, fmt.Errorf("change %d: add %s: %w", i, id, err)
			}
		} else {
			id, approved = fmt.Sprintf("c%07d", 10*(i/2)), true // i%10 < 7: seeded pending
			if _, err := st.Transition(ctx, id, cancellation.Approved, time.Now(), "operator:icpbench", "icpbench"); err != nil {
				return l, fmt.Errorf("change %d: approve %s: %w", i, id, err)
			}
		}
		written := time.Now()
		seen, err := m.waitInfo(ctx, id, approved, before, written.Add(30*time.Second))
		if err != nil {
			return l, fmt.Errorf("change %d (%s): %w", i, id, err)
		}
		lat := seen.Sub(written)
		if approved {
			l.approve = append(l.approve, lat)
		} else {
			l.add = append(l.add, lat)
		}
		l.all = append(l.all, lat)
	}
	for _, s := range [][]time.Duration{l.add, l.approve, l.all} {
		slices.Sort(s)
	}
	if len(l.all) > 0 {
		l.p50, l.p99, l.max = percentile(l.all, 50), percentile(l.all, 99), l.all[len(l.all)-1]
	}
	return l, nil
}

// daemon is a running `icpmon serve`.
type daemon struct {
	proc   *process
	base   string // http://127.0.0.1:port
	config string
	write  func(perCancellation string) error
	seen   int // log lines read so far
}

// startDaemon writes a configuration and starts `icpmon serve` with logs in
// JSON and the jobs on sched. perCancellation "" leaves the default; reach
// adds to the reach section; env to the environment.
func startDaemon(ctx context.Context, o options, dir, logLevel string, rs *redisServer, perCancellation string, sched schedules, reach func(b *bytes.Buffer), env ...string) (*daemon, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &daemon{base: "http://127.0.0.1:" + strconv.Itoa(port), config: filepath.Join(dir, "icpmon.yml")}
	d.write = func(per string) error {
		var b bytes.Buffer
		fmt.Fprintf(&b, "redis:\n  url: %s\nweb:\n  listen_address: 127.0.0.1:%d\n", rs.url(), port)
		fmt.Fprintf(&b, "review:\n  schedule: %q\n", sched.review)
		// No query provider runs here: the canary lookup fails at once and the sweep is skipped.
		fmt.Fprintf(&b, "query:\n  schedule: %q\n  providers: [ymicp]\n  ymicp:\n    url: http://127.0.0.1:9\n", sched.query)
		fmt.Fprintf(&b, "reach:\n  schedule: %q\n", sched.reach)
		if reach != nil {
			reach(&b)
		}
		if per != "" {
			fmt.Fprintf(&b, "metrics:\n  per_cancellation: %s\n", per)
		}
		return os.WriteFile(d.config, b.Bytes(), 0o644)
	}
	if err := d.write(perCancellation); err != nil {
		return nil, err
	}
	d.proc, err = start(ctx, filepath.Join(dir, "icpmon.log"), env, o.icpmon, "serve", "--config", d.config, "--log.level="+logLevel, "--log.format=json")
	if err != nil {
		return nil, err
	}
	return d, nil
}

// reload asks the daemon to reload its configuration.
func (d *daemon) reload(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reload: %s: %s", resp.Status, body)
	}
	return nil
}

// waitIdle waits until the process has used no CPU for a second.
func waitIdle(pid int, limit time.Duration) error {
	last, err := cpuTime(pid)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		now, err := cpuTime(pid)
		if err != nil {
			return err
		}
		if now-last < 20*time.Millisecond {
			return nil
		}
		last = now
	}
	return fmt.Errorf("process %d still busy after %s: %w", pid, limit, errTimeout)
}

// scrapeFigures are the exposition's size and the latency of scraping it.
type scrapeFigures struct {
	series, plain, gzip int64
	p50, p99            time.Duration
}

// scrapes measures n sequential scrapes while a second scraper loops, and
// the exposition's size and series.
func (d *daemon) scrapes(ctx context.Context, n int) (scrapeFigures, error) {
	var f scrapeFigures
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	plain, err := scrape(ctx, client, d.base, false)
	if err != nil {
		return f, err
	}
	f.plain = int64(len(plain))
	for line := range bytes.Lines(plain) {
		if len(bytes.TrimSpace(line)) > 0 && line[0] != '#' {
			f.series++
		}
	}
	zipped, err := scrape(ctx, client, d.base, true)
	if err != nil {
		return f, err
	}
	f.gzip = int64(len(zipped))

	stop := make(chan struct{})
	var other sync.WaitGroup
	var otherErr error
	other.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := scrape(ctx, client, d.base, true); err != nil {
				otherErr = err
				return
			}
		}
	})
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := scrape(ctx, client, d.base, true); err != nil {
			close(stop)
			other.Wait()
			return f, err
		}
		lat = append(lat, time.Since(start))
	}
	close(stop)
	other.Wait()
	if otherErr != nil {
		return f, fmt.Errorf("second scraper: %w", otherErr)
	}
	slices.Sort(lat)
	f.p50, f.p99 = percentile(lat, 50), percentile(lat, 99)
	return f, nil
}

// scrape gets /metrics whole, gzipped (left compressed) or plain.
func scrape(ctx context.Context, client *http.Client, base string, gzip bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	return body, nil
}

// metricsClient reads /metrics gzipped, as Prometheus asks, and inflates
// it on this side: a plain scrape would make the daemon inflate its
// stored exposition, CPU that would count as the daemon's.
type metricsClient struct {
	base   string
	client *http.Client
}

func newMetricsClient(base string) *metricsClient {
	return &metricsClient{base: base, client: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
}

func (m *metricsClient) close() { m.client.CloseIdleConnections() }

// get scrapes once and returns the gzipped body.
func (m *metricsClient) get(ctx context.Context) ([]byte, error) {
	body, err := scrape(ctx, m.client, m.base, true)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return nil, fmt.Errorf("scrape: /metrics answered without gzip")
	}
	return body, nil
}

// eachLine inflates a gzipped exposition line by line until each returns false.
func eachLine(gz []byte, each func(line []byte) bool) error {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return err
	}
	s := bufio.NewScanner(zr)
	s.Buffer(make([]byte, 64<<10), 16<<20)
	for s.Scan() {
		if !each(s.Bytes()) {
			return nil
		}
	}
	return s.Err()
}

// tracked is the active count the exposition's first family gives:
// icpmon_cancellations of status pending and approved.
func tracked(gz []byte) (int, error) {
	total, in := 0, false
	err := eachLine(gz, func(line []byte) bool {
		rest, ok := bytes.CutPrefix(line, []byte("icpmon_cancellations{"))
		if !ok {
			return !in // its HELP and TYPE lines before, the next family after
		}
		in = true
		if bytes.Contains(rest, []byte(`status="pending"`)) || bytes.Contains(rest, []byte(`status="approved"`)) {
			if i := bytes.LastIndexByte(rest, ' '); i >= 0 {
				v, _ := strconv.ParseFloat(string(rest[i+1:]), 64)
				total += int(v)
			}
		}
		return true
	})
	return total, err
}

// waitTracked polls /metrics until it counts n active cancellations.
func (m *metricsClient) waitTracked(ctx context.Context, n int, every, limit time.Duration) error {
	got := -1
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		if gz, err := m.get(ctx); err == nil { // else not listening yet
			if got, err = tracked(gz); err != nil {
				return err
			}
			if got == n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return fmt.Errorf("/metrics counted %d active cancellations after %s, want %d: %w", got, limit, n, errTimeout)
}

// waitInfo polls /metrics every changePoll until the info series of id is
// there (approved: with status="approved"), and returns when the scrape
// that showed it was read. It inflates only the first family, the counts,
// until they differ from counts, read before the write: the series comes
// with them, in the same publication.
func (m *metricsClient) waitInfo(ctx context.Context, id string, approved bool, counts string, deadline time.Time) (time.Time, error) {
	want := []byte(`id="` + id + `",`)
	for {
		start := time.Now()
		gz, err := m.get(ctx)
		if err != nil {
			return time.Time{}, err
		}
		read := time.Now()
		if c := countsOf(gz); c != counts {
			found := false
			if err := eachLine(gz, func(line []byte) bool {
				if !bytes.HasPrefix(line, []byte("icpmon_cancellation_info{")) || !bytes.Contains(line, want) {
					return true
				}
				found = !approved || bytes.Contains(line, []byte(`status="approved"`))
				return false
			}); err != nil {
				return time.Time{}, err
			}
			if found {
				return read, nil
			}
		}
		if read.After(deadline) {
			return time.Time{}, fmt.Errorf("/metrics did not show it in time: %w", errTimeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(time.Until(start.Add(changePoll))):
		}
	}
}

// countsOf is the text of the exposition's icpmon_cancellations samples.
func countsOf(gz []byte) string {
	var b strings.Builder
	in := false
	_ = eachLine(gz, func(line []byte) bool {
		if bytes.HasPrefix(line, []byte("icpmon_cancellations{")) {
			in = true
			b.Write(line)
			b.WriteByte('\n')
			return true
		}
		return !in
	})
	return b.String()
}

// waitFamily polls /metrics until family is in it.
func (m *metricsClient) waitFamily(ctx context.Context, family string, limit time.Duration) error {
	help := []byte("# HELP " + family + " ")
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		gz, err := m.get(ctx)
		if err != nil {
			return err
		}
		found := false
		if err := eachLine(gz, func(line []byte) bool {
			found = bytes.HasPrefix(line, help)
			return !found
		}); err != nil {
			return err
		}
		if found {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("/metrics has no %s after %s: %w", family, limit, errTimeout)
}

// jobRuns reads how many runs each job has finished and their total
// duration (icpmon_job_duration_seconds).
func (m *metricsClient) jobRuns(ctx context.Context) (map[string]int, map[string]time.Duration, error) {
	gz, err := m.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	runs, took := map[string]int{}, map[string]time.Duration{}
	err = eachLine(gz, func(line []byte) bool {
		if rest, ok := bytes.CutPrefix(line, []byte(`icpmon_job_duration_seconds_count{job_name="`)); ok {
			if job, v, ok := bytes.Cut(rest, []byte(`"} `)); ok {
				f, _ := strconv.ParseFloat(string(v), 64)
				runs[string(job)] = int(f)
			}
		}
		if rest, ok := bytes.CutPrefix(line, []byte(`icpmon_job_duration_seconds_sum{job_name="`)); ok {
			if job, v, ok := bytes.Cut(rest, []byte(`"} `)); ok {
				f, _ := strconv.ParseFloat(string(v), 64)
				took[string(job)] = time.Duration(f * float64(time.Second))
			}
		}
		return true
	})
	return runs, took, err
}

// jobRun polls /metrics until job has finished a run, and returns that
// run's duration (icpmon_job_duration_seconds). It needs no debug log,
// whose lines would cost the daemon CPU while it is measured.
func (d *daemon) jobRun(ctx context.Context, job string, limit time.Duration) (time.Duration, error) {
	m := newMetricsClient(d.base)
	defer m.close()
	sum, cnt := []byte(fmt.Sprintf("icpmon_job_duration_seconds_sum{job_name=%q} ", job)), []byte(fmt.Sprintf("icpmon_job_duration_seconds_count{job_name=%q} ", job))
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		gz, err := m.get(ctx)
		if err != nil {
			continue // not listening yet
		}
		var took, runs float64
		if err := eachLine(gz, func(line []byte) bool {
			if v, ok := bytes.CutPrefix(line, sum); ok {
				took, _ = strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			}
			if v, ok := bytes.CutPrefix(line, cnt); ok {
				runs, _ = strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			}
			return true
		}); err != nil {
			return 0, err
		}
		if runs >= 1 {
			return time.Duration(took * float64(time.Second)), nil
		}
	}
	return 0, fmt.Errorf("job %s did not finish within %s: %w", job, limit, errTimeout)
}

// viewFigures are monitor/daemon's BenchmarkView100k: the same three costs
// inside one process, without the daemon's HTTP server and scheduler.
type viewFigures struct {
	res map[string]map[string]float64
	err error
}

func viewBench(ctx context.Context, log *slog.Logger) viewFigures {
	log.Info("running BenchmarkView100k")
	res, err := goBench(ctx, "./monitor/daemon/", "^BenchmarkView100k$", "-count", "3")
	return viewFigures{res, err}
}

func (v viewFigures) print(r *report) {
	r.printf("\nThe same in one process: `go test -run '^$' -bench '^BenchmarkView100k$' -count 3 ./monitor/daemon/` (medians; CPU of the whole test process):\n")
	if v.err != nil {
		r.printf("\n*not measured: %s*\n", firstLine([]byte(v.err.Error()), nil))
		return
	}
	full := v.res["BenchmarkView100k/full-load"]["cpu-ms/op"]
	var rows [][]string
	for _, sub := range []string{"full-load", "idle-turn", "one-change"} {
		b, ok := v.res["BenchmarkView100k/"+sub]
		if !ok {
			rows = append(rows, []string{sub, "not run", "", ""})
			continue
		}
		ratio := ""
		if full > 0 {
			ratio = pct(b["cpu-ms/op"] / full)
		}
		rows = append(rows, []string{sub, millis(time.Duration(b["ns/op"])), fmt.Sprintf("%.1f ms", b["cpu-ms/op"]), ratio})
	}
	r.table([]string{"operation", "wall/op", "CPU/op", "CPU to full-load"}, rows)
}
