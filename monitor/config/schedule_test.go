package config

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// Before ParseSchedule checked them, robfig/cron accepted all of these: the
// @every ones ran every second, the cron specs never (or once).
func TestParseScheduleRefuses(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for spec, want := range map[string]string{
		"@every 0s":             "@every 0s: want an interval of at least 1s",
		"@every -10m":           "@every -10m0s: want an interval of at least 1s",
		"@every 1ns":            "@every 1ns: want an interval of at least 1s",
		"@every 999ms":          "@every 999ms: want an interval of at least 1s",
		"@every 1500ms":         "@every 1.5s: want whole seconds (cron would run it every 1s)",
		"CRON_TZ=UTC @every 0s": "@every 0s: want an interval of at least 1s",
		"0 0 31 2 *":            "never fires (no time matches it in the next five years)",
		"0 0 30 2 *":            "never fires (no time matches it in the next five years)",
		"@every banana":         `failed to parse duration @every banana: time: invalid duration "banana"`,
	} {
		if _, err := parseSchedule(spec, now); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", spec, err, want)
		}
	}
}

func TestParseScheduleAccepts(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for spec, interval := range map[string]time.Duration{
		"@every 1s":              time.Second,
		"@every 5m":              5 * time.Minute,
		"CRON_TZ=UTC @every 10m": 10 * time.Minute,
		"*/10 * * * *":           10 * time.Minute,
		"@daily":                 24 * time.Hour,
		"0 0 29 2 *":             (4*365 + 1) * 24 * time.Hour, // leap days: 2028, 2032
	} {
		s, err := parseSchedule(spec, now)
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if got := ScheduleInterval(s, now); got != interval {
			t.Errorf("%q: interval %s, want %s", spec, got, interval)
		}
		if _, ok := s.(cron.ConstantDelaySchedule); ok && s.Next(now).Sub(now) != interval {
			t.Errorf("%q: next run after %s, want %s", spec, s.Next(now).Sub(now), interval)
		}
	}
}

// A schedule Prometheus cannot see is legal (demos run jobs every few
// seconds) but warned about: ICPMonitorJobStale counts it as VisibleInterval.
func TestWarningsForSchedulesPrometheusCannotSee(t *testing.T) {
	c, err := parse([]byte("review: {schedule: '@every 5s'}\nreach: {schedule: '@every 90s'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "review.schedule: runs every 5s, more often than Prometheus sees (three 30 s scrapes, 1m30s): ICPMonitorJobStale counts it as 1m30s"
	if ws := c.Warnings(); len(ws) != 1 || ws[0].String() != want {
		t.Errorf("warnings %q, want [%s]", ws, want)
	}
	if d := Default(); len(d.Warnings()) != 0 {
		t.Errorf("the defaults warn: %v", d.Warnings())
	}
}
