package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
)

// benchDaemon is figure 2: `icpmon serve` tracking n active cancellations.
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
	d, err := startDaemon(ctx, o, dir, "debug", rs, "all", nil)
	if err != nil {
		return err
	}
	defer d.proc.stop(30 * time.Second)
	// At start every job runs once: the review, the query sweep (whose
	// canary lookup fails at once: no provider runs here) and the reach job
	// (the approved sites are .invalid names: refused without a DNS query).
	from, last := d.seen, d.seen
	for _, job := range []string{"review", "query", "reach"} {
		d.seen = from // the three run at once: their lines come in any order
		if _, err := d.waitJob(job, 10*time.Minute); err != nil {
			return err
		}
		last = max(last, d.seen)
	}
	d.seen = last
	// Each job but the review takes a snapshot after it: let those finish.
	if err := waitIdle(d.proc.pid(), 5*time.Minute); err != nil {
		return err
	}
	reviews, reviewCPU, err := d.reviews(o.reviews)
	if err != nil {
		return err
	}
	rss, err := memoryKiB(d.proc.pid(), "VmRSS")
	if err != nil {
		return err
	}
	all, err := d.scrapes(ctx, o.scrapes)
	if err != nil {
		return err
	}
	hwm, err := memoryKiB(d.proc.pid(), "VmHWM")
	if err != nil {
		return err
	}
	// The bounded option, through the same daemon: a reload reruns the review.
	if err := d.write("alerting"); err != nil {
		return err
	}
	if err := d.reload(ctx); err != nil {
		return err
	}
	if _, err := d.waitJob("review", 5*time.Minute); err != nil {
		return err
	}
	alerting, err := d.scrapes(ctx, o.scrapes)
	if err != nil {
		return err
	}

	var durs, cpus []float64
	cells := make([]string, 0, len(reviews))
	for i, rv := range reviews {
		durs = append(durs, rv.Seconds())
		cpus = append(cpus, reviewCPU[i].Seconds())
		cells = append(cells, seconds(rv))
	}
	review := time.Duration(median(durs) * float64(time.Second))
	reviewCPUs := time.Duration(median(cpus) * float64(time.Second))
	r.printf("\n## 2. Daemon at %s active cancellations\n", count(int64(o.cancellations)))
	r.printf("\n`icpmon serve` over a Redis holding %s active cancellations (70%% pending, 30%% approved with one domain "+
		"probed over http and https, half with a definite record). Review = the review job's own duration "+
		"(debug log \"job done\"), each run started by `POST /-/reload`. RSS from /proc/PID/status after the reviews. "+
		"Scrapes: %d timed sequential `GET /metrics` (gzip, as Prometheus asks) while a second scraper loops.\n",
		count(int64(o.cancellations)), o.scrapes)
	r.table([]string{"measure", "value", "goal", "ratio to goal"}, [][]string{
		{"review job (median of " + strings.Join(cells, ", ") + ")", seconds(review), "< 2 s", times(review.Seconds() / 2)},
		{"CPU of the daemon over a review (median)", seconds(reviewCPUs), "", ""},
		{"RSS after the reviews (VmRSS)", mib(rss << 10), "< 512 MiB", times(float64(rss<<10) / (512 << 20))},
		{"RSS peak (VmHWM, after the scrapes)", mib(hwm << 10), "", ""},
		{"/metrics p50", millis(all.p50), "", ""},
		{"/metrics p99", millis(all.p99), "< 500 ms", times(all.p99.Seconds() / 0.5)},
	})
	r.printf("\nExposition and what Prometheus would hold (`metrics.per_cancellation`, a reload apart):\n")
	r.table([]string{"per_cancellation", "series", "plain", "gzip", "scrape p50", "scrape p99"}, [][]string{
		{"all (default)", count(all.series), mib(all.plain), mib(all.gzip), millis(all.p50), millis(all.p99)},
		{"alerting", count(alerting.series), mib(alerting.plain), mib(alerting.gzip), millis(alerting.p50), millis(alerting.p99)},
	})
	r.goal("2 daemon", "review job", seconds(review), "< 2 s", review < 2*time.Second)
	r.goal("2 daemon", "/metrics p99 (second scraper running)", millis(all.p99), "< 500 ms", all.p99 < 500*time.Millisecond)
	r.goal("2 daemon", "RSS", mib(rss<<10), "< 512 MiB", rss<<10 < 512<<20)
	log.Info("daemon", "review", review, "rss_kib", rss, "series", all.series)
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

// daemon is a running `icpmon serve`.
type daemon struct {
	proc   *process
	base   string // http://127.0.0.1:port
	config string
	write  func(perCancellation string) error
	seen   int // log lines read so far
}

// startDaemon writes a configuration and starts `icpmon serve` with logs
// in JSON; at the debug level, their "job done" lines carry each job's
// duration. reach adds to the reach section; env to the environment.
func startDaemon(ctx context.Context, o options, dir, logLevel string, rs *redisServer, perCancellation string, reach func(b *bytes.Buffer), env ...string) (*daemon, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &daemon{base: "http://127.0.0.1:" + strconv.Itoa(port), config: filepath.Join(dir, "icpmon.yml")}
	d.write = func(per string) error {
		var b bytes.Buffer
		fmt.Fprintf(&b, "redis:\n  url: %s\nweb:\n  listen_address: 127.0.0.1:%d\n", rs.url(), port)
		// Jobs run at start, then reviews only when asked for (a reload).
		b.WriteString("review:\n  schedule: \"@every 24h\"\n")
		// No query provider runs here: the canary lookup fails at once and the sweep is skipped.
		b.WriteString("query:\n  schedule: \"@every 24h\"\n  provider: ymicp\n  ymicp:\n    url: http://127.0.0.1:9\n")
		b.WriteString("reach:\n  schedule: \"@every 24h\"\n")
		if reach != nil {
			reach(&b)
		}
		fmt.Fprintf(&b, "metrics:\n  per_cancellation: %s\n", per)
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

// logLine is one JSON log line of the daemon.
type logLine struct {
	Msg      string `json:"msg"`
	Job      string `json:"job"`
	Duration any    `json:"duration"` // nanoseconds from slog's JSON handler
	Err      string `json:"err"`
}

// waitJob waits for the end of the next run of job and returns its duration.
func (d *daemon) waitJob(job string, limit time.Duration) (time.Duration, error) {
	var got logLine
	_, next, err := d.proc.waitLine(d.seen, limit, func(line string) bool {
		var l logLine
		if json.Unmarshal([]byte(line), &l) != nil || l.Job != job {
			return false
		}
		if l.Msg == "job done" || l.Msg == "job failed" {
			got = l
			return true
		}
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("job %s: %w", job, err)
	}
	d.seen = next
	if got.Msg == "job failed" {
		return 0, fmt.Errorf("job %s failed: %s", job, got.Err)
	}
	switch v := got.Duration.(type) {
	case float64:
		return time.Duration(v), nil
	case string:
		return time.ParseDuration(v)
	}
	return 0, fmt.Errorf("job %s: no duration in its log line", job)
}

// reload asks the daemon to reload its configuration, which also reruns the review.
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

// reviews runs the review job n times and returns each run's duration and
// the daemon's CPU over it.
func (d *daemon) reviews(n int) (took, cpu []time.Duration, err error) {
	for range n {
		before, err := cpuTime(d.proc.pid())
		if err != nil {
			return nil, nil, err
		}
		if err := d.reload(context.Background()); err != nil {
			return nil, nil, err
		}
		t, err := d.waitJob("review", 5*time.Minute)
		if err != nil {
			return nil, nil, err
		}
		after, err := cpuTime(d.proc.pid())
		if err != nil {
			return nil, nil, err
		}
		took, cpu = append(took, t), append(cpu, after-before)
	}
	return took, cpu, nil
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

// jobRun polls /metrics until job has finished a run, and returns that
// run's duration (icpmon_job_duration_seconds). Unlike waitJob it needs no
// debug log, whose lines would cost the daemon CPU while it is measured.
func (d *daemon) jobRun(ctx context.Context, job string, limit time.Duration) (time.Duration, error) {
	client := &http.Client{}
	defer client.CloseIdleConnections()
	sum, cnt := fmt.Sprintf("icpmon_job_duration_seconds_sum{job=%q} ", job), fmt.Sprintf("icpmon_job_duration_seconds_count{job=%q} ", job)
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		text, err := scrape(ctx, client, d.base, false)
		if err != nil {
			continue // not listening yet
		}
		var took, runs float64
		for line := range strings.Lines(string(text)) {
			if v, ok := strings.CutPrefix(line, sum); ok {
				took, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
			if v, ok := strings.CutPrefix(line, cnt); ok {
				runs, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
		if runs >= 1 {
			return time.Duration(took * float64(time.Second)), nil
		}
	}
	return 0, fmt.Errorf("job %s did not finish within %s: %w", job, limit, errTimeout)
}
