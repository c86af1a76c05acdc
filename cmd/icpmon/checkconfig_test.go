package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
)

func TestCheckConfig(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string // lines
	}{
		{"defaults", nil, 0, "config OK: (defaults)\n", nil},
		{"example config", []string{"--config", "../../deploy/icpmon.yml"}, 0, "config OK: ../../deploy/icpmon.yml\n", nil},
		{"validation problems", []string{"--config", "testdata/config/invalid.yml"}, 1, "", []string{
			"icpmon: config testdata/config/invalid.yml has 2 problems:",
			"  review.limit_business_days: want 1 to 366, got 0",
			`  query.provider: want one of miit, html, ymicp, got "baidu"`,
		}},
		{"files it names", []string{"--config", "testdata/config/broken-files.yml"}, 1, "", []string{
			"icpmon: config testdata/config/broken-files.yml has 2 problems:",
			"  calendar.extra_files: ",
			"  redis.password_file: open testdata/config/no-such-password: no such file or directory",
		}},
		{"missing file", []string{"--config", "testdata/config/absent.yml"}, 1, "", []string{
			"icpmon: config testdata/config/absent.yml has 1 problem:",
			"  read config: open testdata/config/absent.yml: no such file or directory",
		}},
		{"what serve refuses", []string{"--config", "testdata/config/serve-refuses.yml"}, 1, "", []string{
			"icpmon: config testdata/config/serve-refuses.yml has 5 problems:",
			`  web.listen_address: want a port from 1 to 65535, got "99999"`,
			`  review.schedule: invalid schedule "@every 0s": @every 0s: want an interval of at least 1s`,
			`  query.schedule: invalid schedule "0 0 31 2 *": never fires (no time matches it in the next five years)`,
			`  reach.schedule: invalid schedule "@every -10m": @every -10m0s: want an interval of at least 1s`,
			"  reach.ca_file: open testdata/config/no-such-ca.pem: no such file or directory",
		}},
		{"files that never end", []string{"--config", "testdata/config/endless-files.yml"}, 1, "", []string{
			"icpmon: config testdata/config/endless-files.yml has 3 problems:",
			"  calendar.extra_files: read holiday file: /dev/zero: not a regular file (a character device)",
			"  redis.password_file: /dev/zero: not a regular file (a character device)",
			"  reach.ca_file: /dev/zero: not a regular file (a character device)",
		}},
		{"config at /dev/zero", []string{"--config", "/dev/zero"}, 1, "", []string{
			"icpmon: config /dev/zero has 1 problem:",
			"  read config: /dev/zero: not a regular file (a character device)",
		}},
		{"a schedule Prometheus cannot see", []string{"--config", "testdata/config/short-schedule.yml"}, 0, "config OK: testdata/config/short-schedule.yml\n", []string{
			"icpmon: warning: review.schedule: runs every 5s, more often than Prometheus sees (three 30 s scrapes, 1m30s): ICPMonitorJobStale counts it as 1m30s",
		}},
		{"bad --redis-url", []string{"--redis-url", "http://h:1"}, 1, "", []string{
			"icpmon: config (defaults) has 1 problem:",
			"  --redis-url (or ICPMON_REDIS_URL): redis.url: want a redis:// or rediss:// URL",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := icpmon(t, append([]string{"check-config"}, tc.args...)...)
			// A good configuration is followed by the calendar's sources.
			first, _, _ := strings.Cut(r.stdout, "\n")
			if tc.stdout != "" {
				first += "\n"
			}
			if r.code != tc.code || first != tc.stdout {
				t.Errorf("exit %d stdout %q, want %d %q (stderr %q)", r.code, r.stdout, tc.code, tc.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if tc.stderr == nil {
				if r.stderr != "" {
					t.Errorf("stderr %q", r.stderr)
				}
				return
			}
			if len(lines) != len(tc.stderr) {
				t.Fatalf("stderr:\n%s\nwant lines starting:\n%s", r.stderr, strings.Join(tc.stderr, "\n"))
			}
			for i, want := range tc.stderr {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %d: %q, want it to start %q", i+1, lines[i], want)
				}
			}
		})
	}
}

// A FIFO as the config once hung check-config and every reload: the read
// waited for a writer.
func TestCheckConfigDoesNotBlockOnAFIFO(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	fifo := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan result, 1)
	go func() { done <- icpmon(t, "check-config", "--config", fifo) }()
	select {
	case r := <-done:
		if want := "  read config: " + fifo + ": not a regular file (a named pipe)\n"; r.code != 1 || !strings.HasSuffix(r.stderr, want) {
			t.Errorf("exit %d, stderr %q, want 1 and %q", r.code, r.stderr, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("check-config blocked on a FIFO")
	}
}

// check-config shows where each year of the calendar comes from.
func TestCheckConfigShowsCalendarSources(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	r := icpmon(t, "check-config")
	lines := strings.Split(strings.TrimSuffix(withoutLunarGoVersion(r.stdout), "\n"), "\n")
	// Later lunar-go releases extend 2027 into a run; the rest stays.
	if r.code != 0 || len(lines) != 6 ||
		lines[1] != "calendar: official holiday schedules until "+strconv.Itoa(lastOfficialYear(t))+"-12-31" ||
		lines[2] != "  2002-2018    lunar-go" ||
		lines[3] != "  2019-2026    holiday-cn (embedded)" ||
		!strings.HasPrefix(lines[4], "  2027") || !strings.HasSuffix(lines[4], "lunar-go") ||
		lines[5] != "  other years  provisional: statutory holidays only, makeup workdays unknown" {
		t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
	}

	// An extra file shows as the source of its year.
	extra, err := filepath.Abs("../../monitor/calendar/testdata/2027.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(cfg, []byte("calendar:\n  extra_files: ["+extra+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = icpmon(t, "check-config", "--config", cfg)
	if r.code != 0 || !strings.Contains(withoutLunarGoVersion(r.stdout), "  2027         extra file "+extra+" over lunar-go\n") {
		t.Errorf("with an extra file for 2027: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

// lastOfficialYear is the last year the shipped sources hold: 2027 with
// lunar-go v1.4.7, later after an upgrade.
func lastOfficialYear(t *testing.T) int {
	t.Helper()
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if y := cal.CoveredUntil().Year(); y >= 2027 {
		return y
	}
	t.Fatalf("the calendar covers %s, want 2027 at least", cal.CoveredUntil())
	return 0
}
