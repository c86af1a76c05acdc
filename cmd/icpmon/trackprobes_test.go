package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// track show reads the probe history from its own key, and still shows it
// after the cancellation's next write.
func TestTrackShowProbeHistory(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	srv := redistest.Start(t)
	url := srv.URL()
	ok(t, "track", "add", "--redis-url", url, "--kind", "website", "--licence", "京ICP备12345678号-1",
		"--submitted", "2025-09-26", "--id", "a", "--domain", "a.example.cn")
	ok(t, "track", "approve", "a", "--redis-url", url)
	st := store.New(srv.Client(t), "icpmon")
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, err := st.UpdateWithProbeHistory(t.Context(), "a", "job:reach", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Probes = []cancellation.Probe{{Domain: "a.example.cn", Scheme: "http", Result: "refused", At: at}}
		c.ProbeHistory = []cancellation.Probe{
			{Domain: "a.example.cn", Scheme: "http", Result: "served", At: at.Add(-time.Hour)},
			{Domain: "a.example.cn", Scheme: "http", Result: "refused", At: at},
		}
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A write that does not carry the history, as the query job's.
	if _, err := st.Update(t.Context(), "a", "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Record.CheckedAt = at
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Checks struct {
			Probes       []cancellation.Probe `json:"probes"`
			ProbeHistory []cancellation.Probe `json:"probe_history"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(ok(t, "track", "show", "a", "-o", "json", "--redis-url", url)), &shown); err != nil {
		t.Fatal(err)
	}
	if h := shown.Checks.ProbeHistory; len(h) != 2 || h[0].Result != "served" || h[1].Result != "refused" || len(shown.Checks.Probes) != 1 {
		t.Errorf("track show: probes %+v, history %+v", shown.Checks.Probes, h)
	}
}
