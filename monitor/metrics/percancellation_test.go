package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/status"
)

// familyNames lists the families of an exposition, in order.
func familyNames(t *testing.T, text []byte) []string {
	t.Helper()
	mfs, err := gatherer(t, text).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}

func TestPerCancellationModes(t *testing.T) {
	var all, alerting []string
	for _, f := range families {
		all = append(all, f.name)
		if f.alerting != nil {
			alerting = append(alerting, f.name)
		}
	}
	for mode, want := range map[PerCancellation][]string{
		"":             alerting, // the default
		AllSeries:      all,
		AlertingSeries: alerting,
		NoSeries:       nil,
	} {
		s := sample()
		text := appendText(nil, s, mode)
		if problems, err := testutil.GatherAndLint(gatherer(t, text)); err != nil || len(problems) > 0 {
			t.Errorf("%q: lint: %v %v", mode, err, problems)
		}
		got := slices.DeleteFunc(familyNames(t, text), func(n string) bool { return n == "icpmon_cancellations" })
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%q exposes %v, want %v", mode, got, want)
		}
	}
	for _, mode := range config.PerCancellationModes() {
		if m := PerCancellation(mode); m != AllSeries && m != AlertingSeries && m != NoSeries {
			t.Errorf("config mode %q is not a metrics mode", mode)
		}
	}
}

// The "alerting" families are exactly the per-cancellation ones the shipped
// rules read: a rule that starts reading another family must add it there.
func TestAlertingFamiliesAreThoseTheRulesRead(t *testing.T) {
	rules, err := os.ReadFile("../../alerts/icpmon.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, name := range regexp.MustCompile(`icpmon_[a-z_]+`).FindAllString(string(rules), -1) {
		read[name] = true
	}
	for _, f := range families {
		if (f.alerting != nil) != read[f.name] {
			t.Errorf("%s: alerting is %v, but the rules %s it", f.name, f.alerting != nil,
				map[bool]string{true: "read", false: "do not read"}[read[f.name]])
		}
	}
	if !strings.Contains(string(rules), "icpmon_site_reachable") {
		t.Error("the rules no longer read icpmon_site_reachable: is this the rules file?")
	}
}

// The alerting set keeps the series an alert's expression reads for every
// cancellation it may fire on, and those only its annotations read for the
// cancellations whose condition holds.
func TestAlertingSeriesPerCancellation(t *testing.T) {
	deadline := time.Date(2026, 3, 20, 0, 0, 0, 0, calendar.China)
	linger := time.Date(2026, 2, 13, 0, 0, 0, 0, calendar.China)
	before, after := linger.Add(-time.Hour), linger.Add(time.Hour)
	no := false
	pending := func(id string, overdue bool) *status.Standing {
		return &status.Standing{
			Cancellation: cancellation.Cancellation{ID: id, Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-1",
				Status: cancellation.Pending, Submitted: calendar.NewDate(2026, 2, 20), Record: cancellation.Record{Present: &yes, CheckedAt: t0}},
			Review: &status.Progress{Limit: 20, Deadline: deadline, Elapsed: 7, Overdue: overdue},
		}
	}
	approvedWith := func(id string, present *bool, checked time.Time, sites ...status.Site) *status.Standing {
		return &status.Standing{
			Cancellation: cancellation.Cancellation{ID: id, Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-2",
				Status: cancellation.Approved, Submitted: calendar.NewDate(2026, 1, 20), ApprovedAt: approved,
				Record: cancellation.Record{Present: present, CheckedAt: checked}},
			LingerDeadline: linger, Sites: sites,
		}
	}
	blocked := status.Site{Probe: cancellation.Probe{Domain: "a.example", Scheme: "http", Result: "provider_block", At: t0}}
	served := status.Site{Probe: cancellation.Probe{Domain: "a.example", Scheme: "https", Result: "served", At: t0}, Reachable: true}
	for _, tc := range []struct {
		s    *status.Standing
		want []string
	}{
		{pending("on-time", false), []string{"info", "review_deadline"}},
		{pending("overdue", true), []string{"info", "review_deadline", "review_workdays", "submitted"}},
		{approvedWith("quiet", &no, after, blocked), []string{"info", "linger", "present", "checked", "reachable"}},
		{approvedWith("unknown", nil, time.Time{}), []string{"info", "linger"}},
		{approvedWith("early", &yes, before), []string{"info", "linger", "present", "checked"}},
		{approvedWith("lingering", &yes, after), []string{"info", "linger", "present", "checked", "approved"}},
		{approvedWith("served", &no, after, blocked, served), []string{"info", "linger", "present", "checked", "approved", "reachable", "reachable"}},
	} {
		text := appendText(nil, &status.Snapshot{Counts: map[status.Count]int{}, Tracked: []*status.Standing{tc.s}}, AlertingSeries)
		var got []string
		for line := range strings.Lines(string(text)) {
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "icpmon_cancellations{") {
				continue
			}
			got = append(got, short(line))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: alerting series %v, want %v", tc.s.ID, got, want)
		}
	}
}

// short names a series line by its family's distinctive word.
func short(line string) string {
	name, _, _ := strings.Cut(line, "{")
	for _, w := range []string{"info", "review_deadline", "review_workdays", "submitted", "linger", "present", "checked", "approved", "cleared", "reachable", "probe_result", "reapply"} {
		if strings.Contains(name, w) {
			return w
		}
	}
	return name
}
