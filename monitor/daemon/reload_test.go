package daemon

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

func TestReload(t *testing.T) {
	rs := redistest.Start(t)
	seededStore(t, rs)
	world := newOutside(t)
	cfg := world.writeConfig(t, "", rs.URL(), "@every 1h", "")
	reloads := make(chan struct{})
	d := start(t, Options{ConfigFile: cfg, Reloads: reloads}, "http", nil)
	interval := func() float64 {
		_, mfs := d.scrape()
		v, _ := value(mfs, "icpmon_job_interval_seconds", "job_name", "review")
		return v
	}
	reloadOK := func() float64 {
		_, mfs := d.scrape()
		v, _ := value(mfs, "icpmon_config_last_reload_successful")
		return v
	}
	if got := interval(); got != 3600 {
		t.Fatalf("review interval %v, want 3600", got)
	}

	// A broken file: refused with the reason, the old configuration stays.
	world.writeConfig(t, cfg, rs.URL(), "every banana", "")
	code, body := d.do("POST", "/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, "review.schedule") {
		t.Errorf("reload of a broken file: %d %q, want 500 naming review.schedule", code, body)
	}
	if got := reloadOK(); got != 0 {
		t.Errorf("icpmon_config_last_reload_successful = %v after a failed reload, want 0", got)
	}
	if got := interval(); got != 3600 {
		t.Errorf("review interval %v after a failed reload, want the old 3600", got)
	}
	if code, _ := d.get("/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready after a failed reload: %d; the old configuration should keep running", code)
	}
	if !strings.Contains(d.logs.String(), "configuration reload failed") {
		t.Error("the failed reload is not logged")
	}
	// So is one whose reach.ca_file cannot be read: the prober is built
	// with the rest, before anything is swapped.
	unreadable := *world
	unreadable.caFile = filepath.Join(t.TempDir(), "missing.pem")
	unreadable.writeConfig(t, cfg, rs.URL(), "@every 2h", "")
	if code, body := d.do("POST", "/-/reload"); code != http.StatusInternalServerError || !strings.Contains(body, "reach.ca_file") {
		t.Errorf("reload with a missing reach.ca_file: %d %q, want 500 naming reach.ca_file", code, body)
	}
	if got := interval(); got != 3600 {
		t.Errorf("review interval %v after a failed reload, want the old 3600", got)
	}
	if code, _ := d.get("/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", code)
	}

	// A good file: accepted, its schedule is in force, and the new review
	// limit shows at once, not at the next tick two hours away.
	world.writeConfig(t, cfg, rs.URL(), "@every 2h", "  limit_business_days: 25\n")
	if code, body := d.do("POST", "/-/reload"); code != http.StatusOK {
		t.Fatalf("reload of a good file: %d %s", code, body)
	}
	if got := reloadOK(); got != 1 {
		t.Errorf("icpmon_config_last_reload_successful = %v after a good reload, want 1", got)
	}
	if got := interval(); got != 7200 {
		t.Errorf("review interval %v after reload, want 7200", got)
	}
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(cal.AddBusinessDays(calendar.NewDate(2025, 9, 1), 25).End().Unix())
	eventually(t, "the deadline follows the reloaded limit", func() (bool, string) {
		_, mfs := d.scrape()
		got, _ := value(mfs, "icpmon_cancellation_review_deadline_timestamp_seconds", "id", "overdue")
		return got == want, fmt.Sprint(got)
	})

	// A reload request (main sends one per SIGHUP) takes the same path.
	// Weekdays at 09:00 China time: the next two runs after any moment are
	// one or three days apart.
	world.writeConfig(t, cfg, rs.URL(), "0 9 * * 1-5", "")
	reloads <- struct{}{}
	eventually(t, "a reload request reloads the schedule", func() (bool, string) {
		got := interval()
		return got == 86400 || got == 3*86400, ""
	})

	// A new Redis URL replaces the client; the daemon stays ready.
	other := redistest.Start(t)
	world.writeConfig(t, cfg, other.URL(), "@every 1h", "")
	if code, body := d.do("POST", "/-/reload"); code != http.StatusOK {
		t.Fatalf("reload onto another Redis: %d %s", code, body)
	}
	other.Stop()
	eventually(t, "the new Redis is the one watched", func() (bool, string) {
		code, body := d.get("/-/ready")
		return code == http.StatusServiceUnavailable, body
	})
}
