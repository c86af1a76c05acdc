package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
