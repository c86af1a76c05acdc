package daemon

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

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
