package faults_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// proc is one run of the icpmon binary.
type proc struct {
	*harness.Process
	t      *testing.T
	stdout *harness.Log
	stderr *harness.Log
	base   string
}

// launch starts icpmon with args; ICPMON_REDIS_URL from the test's own
// environment is dropped, so only what the test passes counts.
func launch(t *testing.T, args ...string) *proc {
	t.Helper()
	return start(t, append([]string{icpmon(t)}, args...))
}

// start runs argv, whose process is (or execs) icpmon, and kills it at the
// end of the test if it is still running.
func start(t *testing.T, argv []string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...) // #nosec G204 -- the test's own binary and arguments
	cmd.Env = harness.Environ()
	p := &proc{t: t, stdout: &harness.Log{}, stderr: &harness.Log{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	p.Process = harness.StartProcess(t, cmd, 0)
	return p
}

// wait returns the exit code once the process ends (-1 when a signal killed it).
func (p *proc) wait() int {
	p.t.Helper()
	code, err := p.Wait(2 * time.Minute)
	if err != nil {
		p.t.Fatalf("icpmon %v: %v\n%s", p.Cmd.Args[1:], err, p.stderr)
	}
	return code
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// running fails the test if the process has ended.
func (p *proc) running() {
	p.t.Helper()
	if exited, err := p.Exited(); exited {
		p.t.Fatalf("icpmon %v exited: %v\n%s", p.Cmd.Args[1:], err, p.stderr)
	}
}

// serve starts `icpmon serve` with the configuration file and waits until
// it listens.
func serve(t *testing.T, configFile string) *proc {
	t.Helper()
	p := launch(t, "serve", "--config", configFile, "--log.format=json", "--log.level=debug")
	p.awaitListening()
	return p
}

// awaitListening waits until the serving process logs the address it
// listens on, and sets base from it.
func (p *proc) awaitListening() {
	p.t.Helper()
	eventually(p.t, "icpmon serve listens", func() (bool, string) {
		p.running()
		addr, ok := harness.ListeningAddress(p.stderr.String())
		p.base = "http://" + addr
		return ok, "not yet"
	})
}

// get returns the status and body of a request to the serving process.
func (p *proc) get(method, path string) (int, string) {
	p.t.Helper()
	p.running()
	req, err := http.NewRequest(method, p.base+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *proc) metric(name string, want ...string) (float64, bool) {
	p.t.Helper()
	code, body := p.get("GET", "/metrics")
	if code != http.StatusOK {
		p.t.Fatalf("/metrics: %d", code)
	}
	return harness.MetricValue(harness.ParseMetrics(p.t, body), name, want...)
}

// count counts the lines of the process's log that contain text.
func (p *proc) count(text string) int { return strings.Count(p.stderr.String(), text) }

// stoppedCleanly sends SIGTERM and checks the exit: 0, after the shutdown
// was logged.
func (p *proc) stoppedCleanly(t *testing.T) {
	t.Helper()
	if code := p.wait(); code != 0 {
		t.Errorf("icpmon serve exited %d after SIGTERM, want 0\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", p.stderr)
	}
}

// TestSIGTERMDuringEachJob stops `icpmon serve` with SIGTERM while each of
// its jobs is halfway: the query job in the middle of a sweep, the reach job
// in the middle of a probe, the review job with Redis frozen under it. The
// daemon must let the job finish, exit 0, and leave no half-written state.
func TestSIGTERMDuringEachJob(t *testing.T) {
	t.Parallel()
	t.Run("query", func(t *testing.T) {
		w := newWorld(t, "--appendonly", "yes")
		ids := w.track(tracked, removedIDs()...)
		held := w.gate.hold(15)
		p := serve(t, w.config("  url: "+w.redis.URL(), ""))
		await(t, "the sweep's 15th lookup", held)
		p.signal(syscall.SIGTERM)
		eventually(t, "the shutdown begins", func() (bool, string) { return p.count("shutting down") > 0, "not yet" })
		w.gate.open() // the lookup in flight answers; the sweep ends its run
		p.stoppedCleanly(t)
		res := audit(t, w.rdb, ids)
		// The sweep ran to its end: every removed record was seen absent once.
		approved := statuses(res.cs)[cancellation.Approved]
		t.Logf("after SIGTERM mid-sweep: %v, %d status changes", statuses(res.cs), res.transitions)
		if approved != len(removedIDs()) {
			t.Errorf("%d approvals inferred, want %d: the sweep stopped halfway", approved, len(removedIDs()))
		}
	})
	t.Run("reach", func(t *testing.T) {
		w := newWorld(t, "--appendonly", "yes")
		site := newHeldSite(t)
		id := w.trackApproved("held.example.com")
		p := serve(t, w.config("  url: "+w.redis.URL(),
			fmt.Sprintf("  resolve: {\"held.example.com:80\": %q, \"held.example.com:443\": %q}\n  timeout: 60s", site.addr, site.addr)))
		await(t, "the probe reaching the site", site.arrived)
		p.signal(syscall.SIGTERM)
		eventually(t, "the shutdown begins", func() (bool, string) { return p.count("shutting down") > 0, "not yet" })
		site.release()
		p.stoppedCleanly(t)
		res := audit(t, w.rdb, []string{id})
		if got := res.cs[id].Probes; len(got) == 0 {
			t.Error("the probe that was running at SIGTERM was not recorded: the job was cut short")
		} else {
			t.Logf("recorded after SIGTERM: %s %s", got[0].Result, got[0].Detail)
		}
	})
	t.Run("review", func(t *testing.T) {
		w := newWorld(t)
		ids := w.track(5)
		p := serve(t, w.config("  url: "+w.redis.URL(), ""))
		started := `"msg":"job started","job":"review"`
		eventually(t, "a review ran", func() (bool, string) { return p.count(`"msg":"job done","job":"review"`) > 0, "not yet" })
		if err := w.redis.Process().Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.redis.Process().Signal(syscall.SIGCONT) })
		n := p.count(started)
		eventually(t, "a review starts with Redis frozen", func() (bool, string) { return p.count(started) > n, "not yet" })
		p.signal(syscall.SIGTERM)
		eventually(t, "the shutdown begins", func() (bool, string) { return p.count("shutting down") > 0, "not yet" })
		if err := w.redis.Process().Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		p.stoppedCleanly(t)
		audit(t, w.rdb, ids)
	})
}

// trackApproved tracks one approved website cancellation with domain.
func (w *world) trackApproved(domain string) string {
	w.t.Helper()
	lic := licenceOf(900)
	w.file(lic)
	approvedAt := time.Date(2026, 1, 20, 10, 0, 0, 0, calendar.China)
	c, err := w.store.Add(context.Background(), cancellation.Cancellation{
		ID: "approved", Kind: cancellation.KindWebsite, Licence: lic, LicenceRaw: lic, Province: "京",
		Domains: []string{domain}, Submitted: calendar.NewDate(2026, 1, 5),
		Status: cancellation.Approved, ApprovedAt: approvedAt, ApprovedBy: "operator",
	}, "operator:faults")
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ID
}

// heldSite is a website that holds its first request until released.
type heldSite struct {
	addr    string
	arrived chan struct{}
	free    chan struct{}
}

func newHeldSite(t *testing.T) *heldSite {
	s := &heldSite{arrived: make(chan struct{}), free: make(chan struct{})}
	first := make(chan struct{}, 1)
	first <- struct{}{}
	s.addr = httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-first:
			close(s.arrived)
			select {
			case <-s.free:
			case <-r.Context().Done():
			}
		default:
		}
		fmt.Fprintln(w, "<html>still here</html>")
	}))
	t.Cleanup(s.release)
	return s
}

func (s *heldSite) release() {
	select {
	case <-s.free:
	default:
		close(s.free)
	}
}

// TestCheckConfigListsEveryProblem gives check-config a file with every kind
// of mistake at once: an unknown key, values of the wrong type, a bad
// duration, invalid schedules, URLs and selectors, numbers out of range, a
// conflict, and files that do not exist. It must name every one and exit 1.
func TestCheckConfigListsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := harness.WriteFile(t, "broken.yml", fmt.Sprintf(`redis:
  url: http://h:1
  addrs: [nohostport]
  password_file: %[1]s/no-such-password
  colour: blue
web:
  listen_address: nowhere
review:
  schedule: "every day"
  limit_business_days: many
  province_limits: {zhejiang: 30}
calendar:
  extra_files: [%[1]s/no-such-2027.json]
query:
  schedule: "@every banana"
  provider: html
  timeout: soon
  confirmations: 0
  html:
    url: "ftp://example.invalid/search"
    row_selector: "tr[["
reach:
  concurrency: -3
  resolve: {"www.example.com": "localhost:443"}
  signatures: [{status: 99}]
metrics:
  cleared_retention: -1h
`, dir))
	want := []string{
		"field colour not found",                  // unknown key
		"cannot unmarshal !!str `many` into int",  // wrong type
		"cannot unmarshal !!str `soon`",           // bad duration
		"redis: set url or addrs, not both",       // conflict
		"redis.url: want a redis:// or rediss://", // bad URL
		`redis.addrs[0]: want HOST:PORT`,          // bad address
		`web.listen_address: want HOST:PORT`,
		`review.schedule: invalid schedule "every day"`,
		`review.province_limits: key "zhejiang"`,
		`query.schedule: invalid schedule "@every banana"`,
		"query.confirmations: want 1 to 100, got 0", // out of range
		"query.html.url: must contain {query}",
		`query.html.row_selector: invalid CSS selector`,
		"query.html.fields.licence: a selector for the licence is required", // missing
		"query.html.no_record_selector: required",
		"reach.concurrency: want 1 to 10000, got -3",
		`reach.resolve: key "www.example.com": want HOST:PORT`,
		"reach.signatures[0].name: required",
		"reach.signatures[0].status: want an HTTP status, got 99",
		"metrics.cleared_retention: must not be negative",
		"calendar.extra_files: ",                   // a named file that is missing
		"redis.password_file: open " + dir + "/no", // likewise
	}
	p := launch(t, "check-config", "--config", file)
	code := p.wait()
	stderr := p.stderr.String()
	if code != 1 {
		t.Errorf("check-config exited %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	header := fmt.Sprintf("icpmon: config %s has %d problems:", file, len(lines)-1)
	if lines[0] != header {
		t.Errorf("first line %q, want %q (the count must match the problems listed)", lines[0], header)
	}
	missing := 0
	for _, w := range want {
		if !strings.Contains(stderr, "\n  "+w) && !strings.Contains(stderr, w) {
			t.Errorf("check-config does not name: %s", w)
			missing++
		}
	}
	t.Logf("%d kinds of mistake, %d named; check-config said:\n%s", len(want), len(want)-missing, stderr)
}

// TestSIGHUPWithBrokenConfig breaks the configuration file of a running
// `icpmon serve` in every way a reload can fail and sends SIGHUP: the
// daemon must keep running on the old configuration, say so in
// icpmon_config_last_reload_successful, and take a good file again.
func TestSIGHUPWithBrokenConfig(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ids := w.track(5)
	path := w.config("  url: "+w.redis.URL(), "")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := serve(t, path)
	reloadOK := func(want float64) {
		t.Helper()
		eventually(t, fmt.Sprintf("icpmon_config_last_reload_successful is %v", want), func() (bool, string) {
			v, ok := p.metric("icpmon_config_last_reload_successful")
			return ok && v == want, fmt.Sprint(v, ok)
		})
	}
	reloadOK(1)
	broken := []struct{ name, body string }{
		{"unknown key", string(good) + "bogus: 1\n"},
		{"invalid value", strings.Replace(string(good), `schedule: "@every 1s"`, `schedule: "every second"`, 1)},
		{"malformed YAML", "redis: [\n"},
		{"file removed", ""},
	}
	for _, b := range broken {
		if b.body == "" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, []byte(b.body), 0o600); err != nil {
			t.Fatal(err)
		}
		failed := p.count(`"msg":"configuration reload failed`)
		p.signal(syscall.SIGHUP)
		eventually(t, "the reload fails: "+b.name, func() (bool, string) {
			return p.count(`"msg":"configuration reload failed`) > failed, "not yet"
		})
		reloadOK(0)
		if code, body := p.get("GET", "/-/ready"); code != http.StatusOK {
			t.Errorf("%s: /-/ready %d %q: the old configuration should still be in force", b.name, code, body)
		}
		// The old configuration keeps running its jobs.
		since := time.Now()
		eventually(t, "a review succeeds after the failed reload", func() (bool, string) {
			v, ok := p.metric("icpmon_job_last_success_timestamp_seconds", "job_name", "review")
			return ok && v >= float64(since.UnixMilli())/1000, fmt.Sprint(v)
		})
		t.Logf("%s: reload refused, old configuration running", b.name)
	}
	// POST /-/reload takes the same path and answers the error.
	if code, body := p.get("POST", "/-/reload"); code != http.StatusInternalServerError || !strings.Contains(body, "failed to reload config") {
		t.Errorf("POST /-/reload of a missing file: %d %q", code, body)
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	reloadOK(1)
	p.signal(syscall.SIGTERM)
	p.stoppedCleanly(t)
	audit(t, w.rdb, ids)
}

// TestConcurrentCLIWriters starts 50 `icpmon track approve|reject|withdraw`
// processes on one pending cancellation at once: exactly one must win, the
// others be refused with a clear sentence, and the history hold exactly one
// transition. Then 50 `track add` of one licence: exactly one is tracked.
func TestConcurrentCLIWriters(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ids := w.track(1)
	cfg := w.config("  url: "+w.redis.URL(), "")
	const writers = 50
	verbs := []string{"approve", "reject", "withdraw"}
	procs := make([]*proc, writers)
	for i := range procs {
		procs[i] = launch(t, "track", verbs[i%3], ids[0], "--config", cfg)
	}
	refusal := regexp.MustCompile(`^icpmon: cannot (approve|reject|withdraw) ` + ids[0] + `: it is (already )?(approved|rejected|withdrawn)\n$`)
	var winner string
	wins, refused := 0, 0
	for i, p := range procs {
		code := p.wait()
		switch {
		case code == 0:
			wins++
			winner = verbs[i%3]
		case code == 1 && refusal.MatchString(p.stderr.String()):
			refused++
		default:
			t.Errorf("track %s: exit %d, stdout %q, stderr %q", verbs[i%3], code, p.stdout, p.stderr)
		}
	}
	t.Logf("%d concurrent writers: %d won (%s), %d refused", writers, wins, winner, refused)
	if wins != 1 {
		t.Errorf("%d writers won, want exactly 1", wins)
	}
	res := audit(t, w.rdb, ids)
	if res.transitions != 1 {
		t.Errorf("%d transitions in the history, want exactly 1", res.transitions)
	}

	lic := licenceOf(500)
	adds := make([]*proc, writers)
	for i := range adds {
		adds[i] = launch(t, "track", "add", "--kind", "website", "--licence", lic, "--submitted", "2026-01-05",
			"--id", fmt.Sprintf("dup%02d", i), "--config", cfg)
	}
	duplicate := regexp.MustCompile(`^icpmon: licence ` + lic + ` is already tracked by active cancellation dup\d\d\n$`)
	var added []string
	refused = 0
	for i, p := range adds {
		switch code := p.wait(); {
		case code == 0:
			added = append(added, fmt.Sprintf("dup%02d", i))
		case code == 1 && duplicate.MatchString(p.stderr.String()):
			refused++
		default:
			t.Errorf("track add: exit %d, stderr %q", code, p.stderr)
		}
	}
	t.Logf("%d concurrent adds of one licence: %d tracked, %d refused", writers, len(added), refused)
	if len(added) != 1 {
		t.Errorf("%d adds of licence %s succeeded, want exactly 1", len(added), lic)
	}
	audit(t, w.rdb, append(ids, added...))
}

// TestSIGTERMDuringImport sends SIGTERM to `icpmon track import` of 2,000
// rows at moments spread over its run (the moment only places the fault):
// whatever it hit, the import is all or nothing, and the exit status and
// message say which.
func TestSIGTERMDuringImport(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "--appendonly", "yes")
	cfg := w.config("  url: "+w.redis.URL(), "")
	const rows = 2000
	outcomes := map[string]int{}
	var all []string
	for run, delay := range []time.Duration{0, 30 * time.Millisecond, 80 * time.Millisecond, 150 * time.Millisecond,
		250 * time.Millisecond, 400 * time.Millisecond, 700 * time.Millisecond, 1200 * time.Millisecond} {
		var csv strings.Builder
		csv.WriteString("kind,licence,submitted,id\n")
		var runIDs []string
		for n := range rows {
			id := fmt.Sprintf("i%d-%04d", run, n)
			runIDs = append(runIDs, id)
			fmt.Fprintf(&csv, "website,%s,2026-01-05,%s\n", licenceOf(10000*(run+1)+n), id)
		}
		file := harness.WriteFile(t, fmt.Sprintf("import-%d.csv", run), csv.String())
		p := launch(t, "track", "import", file, "--config", cfg)
		time.Sleep(delay)
		_ = p.Cmd.Process.Signal(syscall.SIGTERM) // it may have finished already
		code := p.wait()
		n := 0
		iter := w.rdb.Scan(context.Background(), 0, "{"+prefix+"}:c:"+fmt.Sprintf("i%d-*", run), 1000).Iterator()
		for iter.Next(context.Background()) {
			n++
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		switch {
		case code == 0 && n == rows:
			outcomes["finished"]++
			all = append(all, runIDs...)
		case code == 0:
			t.Errorf("run %d: exit 0 but %d of %d rows imported", run, n, rows)
		case n == rows && strings.Contains(p.stdout.String(), fmt.Sprintf("imported %d cancellations", rows)):
			// Done and said so; the signal came as the process was exiting.
			outcomes["finished, then the signal"]++
			all = append(all, runIDs...)
		case n != 0:
			t.Errorf("run %d: exit %d with %d of %d rows imported (half-written)\n%s", run, code, n, rows, p.stderr)
		case code == -1:
			outcomes["killed before it started"]++
		case strings.Contains(p.stderr.String(), "nothing was imported") || strings.Contains(p.stderr.String(), "context canceled"):
			outcomes["refused, nothing imported"]++
		default:
			t.Errorf("run %d: exit %d, nothing imported, and stderr does not say so: %q", run, code, p.stderr)
		}
	}
	t.Logf("SIGTERM during 8 imports of %d rows: %v", rows, outcomes)
	audit(t, w.rdb, all)
}
