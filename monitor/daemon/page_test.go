package daemon

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

func TestTook(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7045630788 * time.Nanosecond:          "7.0 s",
		1500 * time.Millisecond:               "1.5 s",
		45300 * time.Microsecond:              "45 ms",
		0:                                     "0 ms",
		83*time.Second + 600*time.Millisecond: "1m24s",
	} {
		if got := took(d); got != want {
			t.Errorf("took(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestDomainName(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":               "example.com",
		"xn--fiqs8s.cn":             "xn--fiqs8s.cn (中国.cn)",
		"中国.cn":                     "xn--fiqs8s.cn (中国.cn)",
		"www.xn--55qx5d.xn--fiqs8s": "www.xn--55qx5d.xn--fiqs8s (www.公司.中国)",
		"bad_domain..cn":            "bad_domain..cn", // shown as stored
	} {
		if got := domainName(in); got != want {
			t.Errorf("domainName(%q) = %q, want %q", in, got, want)
		}
	}
	r := rowOf(&status.Standing{
		Cancellation: cancellation.Cancellation{ID: "idn", Domains: []string{"xn--fiqs8s.cn", "example.com"}},
		Sites:        []status.Site{{Probe: cancellation.Probe{Domain: "xn--fiqs8s.cn", Scheme: "https", Result: "served"}}},
	})
	if want := "xn--fiqs8s.cn (中国.cn), example.com"; r.Domains != want {
		t.Errorf("row domains %q, want %q", r.Domains, want)
	}
	if len(r.Probes) != 1 || !strings.HasPrefix(r.Probes[0], "https://xn--fiqs8s.cn (中国.cn) served at ") {
		t.Errorf("row probes %q", r.Probes)
	}
}

// The status page says where each year of the calendar comes from and how
// long the jobs took, rounded.
func TestStatusPageCalendarAndDurations(t *testing.T) {
	rs := redistest.Start(t)
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1s", "")}, "http", nil)
	var page string
	eventually(t, "a job has run", func() (bool, string) {
		_, page = d.get("/")
		return !strings.Contains(page, "not yet"), page
	})
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<th>calendar covered until</th><td>" + cal.CoveredUntil().String() + "</td>",
		"<th>calendar sources</th><td>2002-2018 lunar-go",
		"; 2019-2026 holiday-cn (embedded); 2027",
		"; other years provisional (statutory holidays only)</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q:\n%s", want, page)
		}
	}
	if cal.CoveredUntil() < calendar.NewDate(2027, time.December, 31) {
		t.Errorf("calendar covered until %s, want 2027-12-31 or later", cal.CoveredUntil())
	}
	if unrounded := regexp.MustCompile(`<td>[0-9.]+(ms|µs|s)</td>`).FindString(page); unrounded != "" {
		t.Errorf("status page shows an unrounded duration %s:\n%s", unrounded, page)
	}
	if !regexp.MustCompile(`<td>\d+ ms</td>|<td>\d+\.\d s</td>`).MatchString(page) {
		t.Errorf("status page shows no job duration:\n%s", page)
	}
}
