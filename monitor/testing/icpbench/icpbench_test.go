package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// The relay counts a request, or a whole pipeline, as one round trip.
func TestRelayCountsRoundTrips(t *testing.T) {
	rs := redistest.Start(t)
	rel, err := startRelay(rs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rel.close()
	c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(rel.url(), "redis://"), "/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	send := func(commands string, replies int) {
		t.Helper()
		if _, err := io.WriteString(c, commands); err != nil {
			t.Fatal(err)
		}
		for range replies {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("PING\r\n", 1)
	send(strings.Repeat("INCR n\r\n", 50), 50) // a pipeline
	send("INCR n\r\n", 1)
	if got := rel.trips.Load(); got != 3 {
		t.Errorf("a command, a pipeline and a command counted as %d round trips, want 3", got)
	}
	if n, err := rs.Client(t).Get(t.Context(), "n").Int(); err != nil || n != 51 {
		t.Errorf("n = %d, %v: the relay lost something", n, err)
	}
}

func TestSitesMix(t *testing.T) {
	kinds := map[string]int{}
	for _, s := range sites(1000) {
		kinds[s.kind]++
	}
	if kinds[siteServed] != 450 || kinds[siteBlocked] != 450 || kinds[siteSilent] != 100 {
		t.Errorf("mix %v, want 450 served, 450 blocked, 100 silent", kinds)
	}
}

func TestStatistics(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v, want 2", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if p50, p99 := percentile(lat, 50), percentile(lat, 99); p50 != 50*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("p50 %v p99 %v, want 50ms 99ms", p50, p99)
	}
	if got := count(1140137); got != "1,140,137" {
		t.Errorf("count = %q", got)
	}
}

// The daemon figure runs the jobs on the shipped schedules: "@every" ones,
// whose ticks it can place.
func TestShippedSchedules(t *testing.T) {
	s, err := shippedSchedules("../../../" + shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	if s.review == "" || s.query == "" || s.reach == "" {
		t.Errorf("schedules %+v: one is missing", s)
	}
	file := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(file, []byte("review:\n  schedule: \"@every 5m\"\nquery:\n  schedule: \"@every 6h\"\nreach:\n  schedule: \"0 * * * *\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := shippedSchedules(file); err == nil {
		t.Error("a cron schedule was taken")
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ at, want time.Duration }{{0, 5 * time.Minute}, {time.Minute, 5 * time.Minute}, {5 * time.Minute, 10 * time.Minute}} {
		if got := nextTick(start, 5*time.Minute, start.Add(tc.at)); !got.Equal(start.Add(tc.want)) {
			t.Errorf("next tick after +%s: +%s, want +%s", tc.at, got.Sub(start), tc.want)
		}
	}
}

func TestExpositionReading(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, `# HELP icpmon_cancellations How many.
# TYPE icpmon_cancellations gauge
icpmon_cancellations{kind="website",status="approved"} 30000
icpmon_cancellations{kind="website",status="cleared"} 5
icpmon_cancellations{kind="website",status="pending"} 70000
# HELP icpmon_cancellation_info Labels.
# TYPE icpmon_cancellation_info gauge
icpmon_cancellation_info{domains="a.invalid",id="c0000001",kind="website",licence="x",province="京",status="approved"} 1
icpmon_cancellation_info{domains="b.invalid",id="c0000002",kind="website",licence="y",province="京",status="pending"} 1
icpmon_cancellations{kind="subject",status="pending"} 7
`)
	zw.Close()
	if n, err := tracked(b.Bytes()); err != nil || n != 100_000 {
		t.Errorf("tracked = %d, %v; want 100,000", n, err)
	}
	if got := countsOf(b.Bytes()); strings.Count(got, "\n") != 3 || strings.Contains(got, "subject") {
		t.Errorf("countsOf read\n%s", got)
	}
}
