package prober_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/icpmon/icpmon/monitor/prober"
)

// childSite is the environment variable that makes the test binary the child
// of TestDescriptorExhaustionIsAProbeError: the address of the site to probe.
const childSite = "ICPMON_PROBER_TEST_SITE"

// A regression: with the descriptor table full, served websites were recorded
// http_error ("socket: too many open files") and icpmon_site_reachable fell
// to 0. A child process lowers its own RLIMIT_NOFILE and fills the table, so
// the dial fails with the real EMFILE from the kernel; the parent's limits
// and other tests are untouched.
func TestDescriptorExhaustionIsAProbeError(t *testing.T) {
	if os.Getenv(childSite) != "" {
		t.Skip("in the child")
	}
	srv := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a website") }))
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDescriptorExhaustionChild$", "-test.v")
	cmd.Env = append(os.Environ(), childSite+"="+addr(srv))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var ms []prober.Measurement
	for _, line := range bytes.Split(out, []byte("\n")) {
		var m prober.Measurement
		if json.Unmarshal(line, &m) == nil && m.Probe.Domain != "" {
			ms = append(ms, m)
		}
	}
	if len(ms) != 3 {
		t.Fatalf("child printed %d probes, want 3:\n%s", len(ms), out)
	}
	check(t, ms[0].Probe, prober.Served)
	check(t, ms[1].Probe, prober.ProbeError, "local failure on this host", "too many open files")
	if ms[1].Reason != prober.ReasonDescriptors {
		t.Errorf("reason %q, want %q", ms[1].Reason, prober.ReasonDescriptors)
	}
	check(t, ms[2].Probe, prober.Served) // descriptors back: the same prober works again
}

// TestDescriptorExhaustionChild runs only as the child: it probes the site,
// fills its descriptor table and probes again, then frees it and probes a
// third time, printing each Measurement as a JSON line.
func TestDescriptorExhaustionChild(t *testing.T) {
	site := os.Getenv(childSite)
	if site == "" {
		t.Skip("only as the child of TestDescriptorExhaustionIsAProbeError")
	}
	opts := prober.Options{Resolve: map[string]string{"www.example.com:80": site}}
	probe := func(p *prober.Prober) {
		m := p.Measure(t.Context(), "www.example.com", "http")
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.Write(append(b, '\n'))
	}
	// The first probe also starts the network poller, which needs descriptors
	// of its own; the second prober has no idle connection to spare it a dial.
	probe(newProber(t, opts))
	p := newProber(t, opts)

	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 256, Max: 256}); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	probe(p)
	for _, f := range held {
		f.Close()
	}
	probe(p)
}
