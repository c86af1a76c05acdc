package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

func TestServe(t *testing.T) {
	rs := redistest.Start(t)
	dead := redistest.Start(t)
	dead.Stop()
	// Everything the jobs reach is local: a MIIT simulator that holds the
	// canary and the licence tracked below, and a web server standing in for
	// the tracked domain (pending, so not probed; mapped all the same).
	miit := miittest.New(miittest.Options{Seed: 1})
	t.Cleanup(miit.Close)
	miit.AddRecord(scraper.Record{Licence: "京ICP备10046444号-1", Domain: "canary.example.cn"})
	miit.AddRecord(scraper.Record{Licence: "京ICP备12345678号-1", Domain: "example.com"})
	site := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(site.Close)
	siteAddr := site.Listener.Addr().String()
	// The file names a Redis that is down; --redis-url after the subcommand wins.
	cfg := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `redis: {url: %q}
review: {schedule: "@every 1s"}
query:
  schedule: "@every 1s"
  min_interval: 0s
  canary: 京ICP备10046444号
  miit: {base_url: %q}
reach:
  resolve: {"example.com:80": %q, "example.com:443": %q}
`, dead.URL(), miit.URL, siteAddr, siteAddr), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &harness.Log{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "--config", cfg, "--web.listen-address", "127.0.0.1:0",
			"--redis-url", rs.URL(), "--log.format", "json", "--log.level", "debug"},
			strings.NewReader(""), io.Discard, stderr)
	}()
	var base string
	waitUntil(t, "serve listens", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d:\n%s", code, stderr)
		default:
		}
		addr, ok := harness.ListeningAddress(stderr.String())
		base = "http://" + addr
		return ok
	})
	stopped := false
	t.Cleanup(func() {
		if !stopped { // a failed test: end the daemon anyway
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			<-done
		}
	})
	waitUntil(t, "ready against the --redis-url Redis", func() bool {
		code, _ := serveGet(t, base+"/-/ready")
		return code == http.StatusOK
	})

	// As a new user would: track a cancellation submitted long ago, and the
	// next scrape shows its business days and a deadline in the past.
	var out, errOut bytes.Buffer
	if code := run([]string{"track", "add", "--kind", "website", "--licence", "京ICP备12345678号-1",
		"--domain", "example.com", "--submitted", "2025-10-09", "--redis-url", rs.URL()},
		strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("track add: %d %s", code, errOut.String())
	}
	id := strings.TrimSpace(out.String())
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	submitted := calendar.NewDate(2025, 10, 9)
	wantDeadline := fmt.Sprintf(`icpmon_cancellation_review_deadline_timestamp_seconds{id=%q} %d`, id, cal.AddBusinessDays(submitted, 20).End().Unix())
	var metrics string
	waitUntil(t, "the tracked cancellation shows in /metrics", func() bool {
		_, metrics = serveGet(t, base+"/metrics")
		return strings.Contains(metrics, wantDeadline)
	})
	if cal.AddBusinessDays(submitted, 20).End().After(time.Now()) {
		t.Errorf("deadline of a review submitted on 2025-10-09 is not in the past")
	}
	// The workdays depend on today, which the daemon reads at its snapshot;
	// accept the count at either side of a midnight between the two reads.
	today := calendar.DateOf(time.Now())
	w1, w2 := cal.CountBusinessDays(submitted, today-1), cal.CountBusinessDays(submitted, today)
	if !strings.Contains(metrics, fmt.Sprintf(`icpmon_cancellation_review_workdays{id=%q} %d`, id, w2)) &&
		!strings.Contains(metrics, fmt.Sprintf(`icpmon_cancellation_review_workdays{id=%q} %d`, id, w1)) {
		t.Errorf("workdays of %s missing or wrong (want %d):\n%s", id, w2, metrics)
	}
	if !strings.Contains(metrics, "icpmon_build_info{") {
		t.Error("icpmon_build_info missing")
	}
	// The query job looks it up on the simulator and finds it still on file.
	// (A pending review's record is not among the default series, which
	// only the alerts' needs make: `track show` has it.)
	waitUntil(t, "the query job finds the record", func() bool {
		_, metrics = serveGet(t, base+"/metrics")
		var shown bytes.Buffer
		run([]string{"track", "show", id, "-o", "json", "--redis-url", rs.URL()}, strings.NewReader(""), &shown, io.Discard)
		return strings.Contains(shown.String(), `"record": "present"`) &&
			strings.Contains(metrics, "icpmon_query_canary_ok 1\n")
	})

	// SIGTERM ends serve cleanly.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped = true
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited with %d after SIGTERM:\n%s", code, stderr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("serve still running a minute after SIGTERM")
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("--log.format json wrote a line that is not JSON: %q", sc.Text())
		}
	}
}

func TestServeRefusesABadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(cfg, []byte("review: {schedule: \"every banana\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run([]string{"serve", "--config", cfg, "--web.listen-address", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "icpmon: config "+cfg+": review.schedule: invalid schedule") {
		t.Errorf("exit %d, stderr %q; want 1 and the problem", code, stderr.String())
	}
}

func serveGet(t *testing.T, url string) (int, string) {
	t.Helper()
	return harness.Fetch(t, &http.Client{Timeout: 30 * time.Second}, http.MethodGet, url)
}

// waitUntil waits for cond with a generous deadline; it asserts states, not durations.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	harness.WaitUntil(t, 30*time.Second, what, cond)
}
