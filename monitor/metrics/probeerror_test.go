package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// A regression: under descriptor exhaustion a served website was exported as
// unreachable. A local failure after a definite probe shows as probe_error
// in the one-hot result while reachable keeps the definite answer; with only
// local failures known there is no reachable series at all.
func TestProbeErrorLeavesReachableAlone(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, calendar.China)
	s := &status.Snapshot{Tracked: []*status.Standing{{
		Cancellation: cancellation.Cancellation{
			ID: "e5", Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-5", Province: "京",
			Domains: []string{"busy.example"}, Status: cancellation.Approved, ApprovedAt: at.Add(-72 * time.Hour),
		},
		Sites: []status.Site{
			{Probe: cancellation.Probe{Domain: "busy.example", Scheme: "http", Result: "served", At: at,
				LocalError: "socket: too many open files", LocalErrorAt: at.Add(10 * time.Minute)}, Reachable: true},
			{Probe: cancellation.Probe{Domain: "busy.example", Scheme: "https", Result: "probe_error", At: at,
				Detail: "socket: too many open files"}},
		},
	}}}
	g := gatherer(t, appendText(nil, s, AllSeries))
	want := `
# HELP icpmon_site_reachable 1 when the website itself answered the latest definite probe after the grace following approval, 0 otherwise; approved, and cleared while reach.watch_after_clear watches them; no series while only local probe errors are known.
# TYPE icpmon_site_reachable gauge
icpmon_site_reachable{domain="busy.example",id="e5",scheme="http"} 1
`
	if err := testutil.GatherAndCompare(g, strings.NewReader(want), "icpmon_site_reachable"); err != nil {
		t.Error(err)
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	hot := map[string]string{}
	for _, mf := range mfs {
		if mf.GetName() != "icpmon_site_probe_result" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if m.GetGauge().GetValue() == 1 {
				hot[l["scheme"]] += l["result"]
			}
		}
	}
	if hot["http"] != "probe_error" || hot["https"] != "probe_error" {
		t.Errorf("one-hot results %v, want probe_error for both schemes", hot)
	}
}

func TestProbeErrorsCounted(t *testing.T) {
	set := NewSet()
	set.Probes.ObserveProbeError("descriptors")
	want := `
# HELP icpmon_probe_errors_total Website probes that failed on this host, proving nothing about the site (result probe_error), by reason: descriptors, buffers, local_address, cancelled, invalid_target.
# TYPE icpmon_probe_errors_total counter
icpmon_probe_errors_total{reason="buffers"} 0
icpmon_probe_errors_total{reason="cancelled"} 0
icpmon_probe_errors_total{reason="descriptors"} 1
icpmon_probe_errors_total{reason="invalid_target"} 0
icpmon_probe_errors_total{reason="local_address"} 0
`
	if err := testutil.GatherAndCompare(set.Registry, strings.NewReader(want), "icpmon_probe_errors_total"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(set.Registry, "icpmon_probe_errors_total"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
