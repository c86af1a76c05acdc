package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/icpmon/icpmon/monitor/config"
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
		if f.alerting {
			alerting = append(alerting, f.name)
		}
	}
	for mode, want := range map[PerCancellation][]string{
		"":             all,
		AllSeries:      all,
		AlertingSeries: alerting,
		NoSeries:       nil,
	} {
		s := sample()
		s.PerCancellation = mode
		text := s.appendText(nil)
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
		if f.alerting != read[f.name] {
			t.Errorf("%s: alerting is %v, but the rules %s it", f.name, f.alerting,
				map[bool]string{true: "read", false: "do not read"}[read[f.name]])
		}
	}
	if !strings.Contains(string(rules), "icpmon_site_reachable") {
		t.Error("the rules no longer read icpmon_site_reachable: is this the rules file?")
	}
}
