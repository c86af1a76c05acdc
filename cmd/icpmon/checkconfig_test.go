package main

import (
	"strings"
	"testing"
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
			if r.code != tc.code || r.stdout != tc.stdout {
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
