package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/redistest"
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
