package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/store"
)

// probeCommand runs monitor/prober over the targets in a process of its own.
const probeCommand = "probe"

// site is one domain of the reach figure and the kind of website behind it.
type site struct {
	domain, kind string
}

// sites are n domains: 45% served, 45% blocked, 10% never answering.
func sites(n int) []site {
	out := make([]site, n)
	for i := range out {
		kind := siteServed
		switch i % 20 {
		case 9, 10, 11, 12, 13, 14, 15, 16, 17:
			kind = siteBlocked
		case 18, 19:
			kind = siteSilent
		}
		out[i] = site{domain: fmt.Sprintf("d%05d.reach.test", i), kind: kind}
	}
	return out
}

var schemes = map[string]string{"http": "80", "https": "443"}

// probeRun is one prober's pass over every target.
type probeRun struct {
	probes  int
	wall    time.Duration
	cpu     time.Duration
	results map[string]int
}

func (p probeRun) perSecond() float64 { return float64(p.probes) / p.wall.Seconds() }
func (p probeRun) cpuPerProbe() time.Duration {
	return p.cpu / time.Duration(max(p.probes, 1))
}

// benchReach is figure 3: probes per second and CPU per probe of icpmon's
// prober and of blackbox_exporter over the same targets at the same
// concurrency, and wrk's request rate on the same servers as the ceiling.
func benchReach(ctx context.Context, o options, r *report, log *slog.Logger) error {
	dir := filepath.Join(o.work, "reach")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	certs, err := newCerts(dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	targets, err := start(ctx, filepath.Join(dir, "targets.log"), nil, self, targetsCommand, "-cert", certs.certFile, "-key", certs.keyFile)
	if err != nil {
		return err
	}
	defer targets.stop(5 * time.Second)
	line, _, err := targets.waitLine(0, 30*time.Second, func(l string) bool { return strings.HasPrefix(l, "{") })
	if err != nil {
		return err
	}
	var ports targetPorts
	if err := json.Unmarshal([]byte(line), &ports); err != nil {
		return fmt.Errorf("target ports: %w", err)
	}
	all := sites(o.domains)
	// Both probers see the same websites: icpmon by name through
	// reach.resolve (name:port -> 127.0.0.1:port), blackbox_exporter, which
	// has no such mapping, by the same address in the URL.
	resolve := map[string]string{}
	want := map[string]int{}
	for _, s := range all {
		for scheme, port := range schemes {
			resolve[s.domain+":"+port] = fmt.Sprintf("127.0.0.1:%d", ports[s.kind][scheme])
			want[s.kind]++
		}
	}
	concurrency := config.Default().Reach.Concurrency
	env := []string{"SSL_CERT_FILE=" + certs.caFile} // both trust the private CA the same way

	var alone, blackbox []probeRun
	for i := range o.runs {
		run, err := runProber(ctx, o, dir, self, all, resolve, concurrency, env, i == 0)
		if err != nil {
			return err
		}
		alone = append(alone, run)
		log.Info("icpmon prober", "run", i+1, "wall", run.wall, "cpu", run.cpu, "results", run.results)
		run, err = runBlackbox(ctx, o, dir, all, ports, concurrency, env)
		if err != nil {
			return err
		}
		blackbox = append(blackbox, run)
		log.Info("blackbox_exporter", "run", i+1, "wall", run.wall, "cpu", run.cpu, "results", run.results)
	}
	serve, err := runReachJob(ctx, o, dir, all, resolve, env)
	if err != nil {
		return err
	}
	log.Info("icpmon serve reach job", "wall", serve.wall, "cpu", serve.cpu, "results", serve.results)
	keepAlive, err := wrk(ctx, ports[siteServed]["http"], concurrency, false)
	if err != nil {
		return err
	}
	fresh, err := wrk(ctx, ports[siteServed]["http"], concurrency, true)
	if err != nil {
		return err
	}

	a, b := medianRun(alone), medianRun(blackbox)
	ratio := a.cpuPerProbe().Seconds() / b.cpuPerProbe().Seconds()
	results := func(p probeRun) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(p.results)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, p.results[k]))
		}
		return strings.Join(parts, ", ")
	}
	row := func(name string, p probeRun, vs string) []string {
		return []string{name, count(int64(p.probes)), seconds(p.wall), rate(p.perSecond()), seconds(p.cpu),
			fmt.Sprintf("%.0f µs", float64(p.cpu.Microseconds())/float64(max(p.probes, 1))), vs, results(p)}
	}
	r.printf("\n## 3. Reach: %s domains on loopback, %s probes\n", count(int64(o.domains)), count(int64(2*o.domains)))
	r.printf("\nEach domain over http and https: 45%% served (200, a 2 KiB page), 45%% Alibaba Cloud's block page "+
		"(403, Server: Beaver), 10%% accept the connection and never answer; probe timeout %s, concurrency %d "+
		"(reach.concurrency's default), every probe a new connection (and TLS handshake) on both sides. "+
		"icpmon reaches each name through reach.resolve (`dNNNNN.reach.test:80` → `127.0.0.1:PORT`); "+
		"blackbox_exporter gets the same address in its target URL (it has no such mapping), driven by %d "+
		"concurrent `GET /probe?module=http_2xx&target=…`. Both trust the servers' private CA through SSL_CERT_FILE. "+
		"CPU is the prober process's user+sys: getrusage inside the icpmon prober process, /proc/PID/stat of "+
		"blackbox_exporter and of `icpmon serve`. Medians of %d runs, alternating.\n",
		o.reachTimeout, concurrency, concurrency, len(alone))
	r.table([]string{"prober", "probes", "wall", "probes/s", "CPU", "CPU/probe", "CPU/probe ÷ blackbox", "results"}, [][]string{
		row("icpmon prober (monitor/prober, as the reach job builds it)", a, times(ratio)),
		row("blackbox_exporter (/probe, http_2xx)", b, "1.0×"),
		row("icpmon serve: the whole reach job (probes and "+count(int64(o.domains))+" store updates) plus start-up, review and query", serve,
			times(serve.cpuPerProbe().Seconds()/b.cpuPerProbe().Seconds())),
	})
	r.printf("\nCeiling, wrk on the served http site (`wrk -t2 -c%d -d5s`): **%s requests/s** kept alive, "+
		"**%s requests/s** with `Connection: close` (a new connection per request, as a probe makes); "+
		"the icpmon prober reached %s and %s of them.\n",
		concurrency, rate(keepAlive), rate(fresh), pct(a.perSecond()/keepAlive), pct(a.perSecond()/fresh))
	r.goal("3 reach", "CPU per probe, icpmon prober ÷ blackbox_exporter", times(ratio), "≤ 1.0×", ratio <= 1)
	r.goal("3 reach", "CPU per probe, whole icpmon serve ÷ blackbox_exporter", times(serve.cpuPerProbe().Seconds()/b.cpuPerProbe().Seconds()), "(≤ 1.0×)",
		serve.cpuPerProbe() <= b.cpuPerProbe())
	if b.results["success"] != want[siteServed] {
		return fmt.Errorf("blackbox_exporter succeeded %d times, want %d (the served sites)", b.results["success"], want[siteServed])
	}
	for _, p := range []probeRun{a, serve} {
		for kind, n := range want {
			if p.results[kind] != n {
				return fmt.Errorf("icpmon found %d %s sites, want %d (%s)", p.results[kind], kind, n, results(p))
			}
		}
	}
	return nil
}

func medianRun(runs []probeRun) probeRun {
	out := runs[0]
	var walls, cpus []float64
	for _, r := range runs {
		walls = append(walls, r.wall.Seconds())
		cpus = append(cpus, r.cpu.Seconds())
	}
	out.wall = time.Duration(median(walls) * float64(time.Second))
	out.cpu = time.Duration(median(cpus) * float64(time.Second))
	return out
}

// probeJob is what the probe subcommand is given.
type probeJob struct {
	Resolve     map[string]string `json:"resolve"`
	Targets     []prober.Target   `json:"targets"`
	Timeout     time.Duration     `json:"timeout"`
	Concurrency int               `json:"concurrency"`
}

// probeResult is what it answers.
type probeResult struct {
	Wall    time.Duration  `json:"wall"`
	CPU     time.Duration  `json:"cpu"`
	Results map[string]int `json:"results"`
}

// runProber runs the probe subcommand over every target.
func runProber(ctx context.Context, o options, dir, self string, all []site, resolve map[string]string, concurrency int, env []string, profile bool) (probeRun, error) {
	job := probeJob{Resolve: resolve, Timeout: o.reachTimeout, Concurrency: concurrency}
	for _, s := range all {
		for _, scheme := range []string{"http", "https"} {
			job.Targets = append(job.Targets, prober.Target{Domain: s.domain, Scheme: scheme})
		}
	}
	b, err := json.Marshal(job)
	if err != nil {
		return probeRun{}, err
	}
	file := filepath.Join(dir, "probe-job.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return probeRun{}, err
	}
	args := []string{probeCommand, "-job", file}
	if profile && o.probeProfile != "" {
		args = append(args, "-cpuprofile", o.probeProfile)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return probeRun{}, fmt.Errorf("probe: %v\n%s", err, stderr.Bytes())
	}
	var res probeResult
	if err := json.Unmarshal(out, &res); err != nil {
		return probeRun{}, fmt.Errorf("probe answer: %w", err)
	}
	return probeRun{probes: len(job.Targets), wall: res.Wall, cpu: res.CPU, results: res.Results}, nil
}

// probeTargets is the probe subcommand: a prober built as the reach job
// builds it (monitor/daemon newProber), over every target of a job file.
func probeTargets(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(probeCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("job", "", "probe job, JSON")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the probes here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "probe: %v\n", err); return 1 }
	b, err := os.ReadFile(*file)
	if err != nil {
		return fail(err)
	}
	var job probeJob
	if err := json.Unmarshal(b, &job); err != nil {
		return fail(err)
	}
	p, err := prober.New(prober.Options{Timeout: job.Timeout, Resolve: job.Resolve, Concurrency: job.Concurrency})
	if err != nil {
		return fail(err)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	before := rusage()
	start := time.Now()
	probes := p.ProbeAll(context.Background(), job.Targets)
	res := probeResult{Wall: time.Since(start), CPU: rusage() - before, Results: map[string]int{}}
	for _, pr := range probes {
		res.Results[pr.Result]++
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return fail(err)
	}
	return 0
}

// rusage is this process's CPU so far, user and system, every thread.
func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runBlackbox starts blackbox_exporter and has it probe every target, at
// the given concurrency, as Prometheus would: one /probe request per target.
func runBlackbox(ctx context.Context, o options, dir string, all []site, ports targetPorts, concurrency int, env []string) (probeRun, error) {
	cfg := filepath.Join(dir, "blackbox.yml")
	module := fmt.Sprintf("modules:\n  http_2xx:\n    prober: http\n    timeout: %s\n    http:\n      preferred_ip_protocol: ip4\n", o.reachTimeout)
	if err := os.WriteFile(cfg, []byte(module), 0o644); err != nil {
		return probeRun{}, err
	}
	port, err := freePort()
	if err != nil {
		return probeRun{}, err
	}
	bb, err := start(ctx, filepath.Join(dir, "blackbox.log"), env, "prometheus-blackbox-exporter",
		"--config.file="+cfg, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	if err != nil {
		return probeRun{}, err
	}
	defer bb.stop(10 * time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := client.Get(base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return probeRun{}, fmt.Errorf("blackbox_exporter did not come up: %w", errTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	type target struct{ url, kind string }
	var list []target
	for _, s := range all {
		for _, scheme := range []string{"http", "https"} {
			list = append(list, target{fmt.Sprintf("%s://127.0.0.1:%d/", scheme, ports[s.kind][scheme]), s.kind})
		}
	}
	// The scrape timeout header leaves the module's timeout in force
	// (blackbox_exporter takes the smaller, less its 0.5 s offset).
	scrapeTimeout := strconv.FormatFloat(o.reachTimeout.Seconds()+1, 'f', -1, 64)
	before, err := cpuTime(bb.pid())
	if err != nil {
		return probeRun{}, err
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		results  = map[string]int{}
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(list) {
					return
				}
				ok, err := blackboxProbe(ctx, client, base, list[i].url, scrapeTimeout)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				// probe_success says only 2xx or not: what it proves of each kind.
				if ok {
					results["success"]++
				} else {
					results["failure"]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	after, err := cpuTime(bb.pid())
	if err != nil {
		return probeRun{}, err
	}
	if firstErr != nil {
		return probeRun{}, firstErr
	}
	return probeRun{probes: len(list), wall: wall, cpu: after - before, results: results}, nil
}

// blackboxProbe asks blackbox_exporter for one probe and returns probe_success.
func blackboxProbe(ctx context.Context, client *http.Client, base, target, scrapeTimeout string) (bool, error) {
	q := url.Values{"module": {"http_2xx"}, "target": {target}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/probe?"+q.Encode(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", scrapeTimeout)
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("blackbox_exporter: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("blackbox_exporter: %s", resp.Status)
	}
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "probe_success "); ok {
			return v == "1", nil
		}
	}
	return false, fmt.Errorf("blackbox_exporter answered no probe_success for %s", target)
}

// runReachJob runs `icpmon serve` over the domains, as approved
// cancellations, and measures its first reach job.
func runReachJob(ctx context.Context, o options, dir string, all []site, resolve map[string]string, env []string) (probeRun, error) {
	rs, err := startRedis(ctx, dir)
	if err != nil {
		return probeRun{}, err
	}
	defer rs.stop()
	approvedAt := time.Now().Add(-72 * time.Hour)
	cs := make([]cancellation.Cancellation, len(all))
	for i, s := range all {
		cs[i] = cancellation.Cancellation{
			ID: fmt.Sprintf("r%05d", i), Kind: cancellation.KindWebsite, Licence: fmt.Sprintf("沪ICP备%08d号-1", 30000000+i),
			Province: "沪", Domains: []string{s.domain}, Submitted: calendar.DateOf(approvedAt.Add(-30 * 24 * time.Hour)),
			Status: cancellation.Approved, ApprovedAt: approvedAt, ApprovedBy: "operator",
		}
	}
	st := store.New(rs.client, "icpmon")
	if err := st.AddMany(ctx, cs, "operator:icpbench"); err != nil {
		return probeRun{}, err
	}
	reach := func(b *bytes.Buffer) {
		fmt.Fprintf(b, "  timeout: %s\n  resolve:\n", o.reachTimeout)
		for _, k := range slices.Sorted(maps.Keys(resolve)) {
			fmt.Fprintf(b, "    %q: %q\n", k, resolve[k])
		}
	}
	d, err := startDaemon(ctx, o, dir, "info", rs, "all", startOnly, reach, env...)
	if err != nil {
		return probeRun{}, err
	}
	defer d.proc.stop(30 * time.Second)
	took, err := d.jobRun(ctx, "reach", 15*time.Minute)
	if err != nil {
		return probeRun{}, err
	}
	cpu, err := cpuTime(d.proc.pid())
	if err != nil {
		return probeRun{}, err
	}
	run := probeRun{probes: 2 * len(all), wall: took, cpu: cpu, results: map[string]int{}}
	approved, err := st.List(ctx, store.Filter{Statuses: []cancellation.Status{cancellation.Approved}})
	if err != nil {
		return probeRun{}, err
	}
	for _, c := range approved {
		for _, p := range c.Probes {
			run.results[string(p.Result)]++
		}
	}
	return run, nil
}

// wrk measures the served site's request rate, kept alive or a connection
// per request.
func wrk(ctx context.Context, port, connections int, closeEach bool) (float64, error) {
	args := []string{"-t2", fmt.Sprintf("-c%d", connections), "-d5s"}
	if closeEach {
		args = append(args, "-H", "Connection: close")
	}
	args = append(args, fmt.Sprintf("http://127.0.0.1:%d/", port))
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Requests/sec:"); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
}
