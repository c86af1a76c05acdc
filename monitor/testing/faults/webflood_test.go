package faults_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWebFloodLeavesDescriptorsForTheJobs floods `icpmon serve`, run with
// a low open-files limit, with more idle connections than it has
// descriptors: half send one request and then sit on the keep-alive
// connection, half never send a byte. The web server must time them out
// and cap how many it holds, so the daemon never runs out of descriptors
// and /-/ready answers again once the flood has been let go.
func TestWebFloodLeavesDescriptorsForTheJobs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) is needed to lower the daemon's open-files limit")
	}
	const (
		nofile = 256
		flood  = 600 // well past nofile; the kernel's backlog (somaxconn) holds the rest
	)
	w := newWorld(t)
	w.track(5)
	path := w.config("  url: "+w.redis.URL(), "")
	p := launchWith(t, []string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--"},
		"serve", "--config", path, "--log.format=json", "--log.level=debug",
		"--web.read-header-timeout=1s", "--web.idle-timeout=1s")
	p.awaitListening()
	addr := strings.TrimPrefix(p.base, "http://")
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ready := func() (bool, string) {
		resp, err := client.Get(p.base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	}
	eventually(t, "ready before the flood", ready)
	before := openDescriptors(t, p)

	conns := make([]net.Conn, 0, flood)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	peak := before
	for i := range flood {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 0 { // a keep-alive request, then silence
			if _, err := fmt.Fprint(c, "GET /-/healthy HTTP/1.1\r\nHost: icpmon\r\n\r\n"); err != nil {
				t.Fatalf("flood connection %d: %v", i, err)
			}
		}
		if i%50 == 0 {
			peak = max(peak, openDescriptors(t, p))
		}
	}
	// The flood is held by the test until the end; the daemon must let go.
	eventually(t, "/-/ready answers through the flood", func() (bool, string) {
		peak = max(peak, openDescriptors(t, p))
		return ready()
	})
	peak = max(peak, openDescriptors(t, p))
	t.Logf("descriptors: %d before the flood, %d at the peak of %d connections (limit %d)", before, peak, flood, nofile)
	if peak >= nofile-16 {
		t.Errorf("the daemon held %d descriptors of %d under the flood: the jobs have none left", peak, nofile)
	}
	if p.count("too many open files") > 0 {
		t.Errorf("the daemon ran out of descriptors:\n%s", p.stderr)
	}
	// The rest of the daemon went on: Redis answers, the review job runs.
	since := time.Now()
	eventually(t, "a review succeeds after the flood", func() (bool, string) {
		v, ok := p.metric("icpmon_job_last_success_timestamp_seconds", "job_name", "review")
		return ok && v >= float64(since.UnixMilli())/1000, fmt.Sprint(v)
	})
	if v, _ := p.metric("icpmon_redis_up"); v != 1 {
		t.Errorf("icpmon_redis_up %v after the flood, want 1", v)
	}
	p.signal(syscall.SIGTERM)
	p.stoppedCleanly(t)
}

// launchWith starts icpmon behind a wrapper command that execs it (such as
// prlimit), so that the process is icpmon itself.
func launchWith(t *testing.T, wrapper []string, args ...string) *proc {
	t.Helper()
	return start(t, slices.Concat(wrapper, []string{icpmon(t)}, args))
}

// openDescriptors counts the process's open files.
func openDescriptors(t *testing.T, p *proc) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Cmd.Process.Pid))
	if err != nil {
		t.Fatalf("the daemon's descriptors: %v", err)
	}
	return len(fds)
}
