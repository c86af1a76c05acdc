package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/calendar"
)

func TestBizdays(t *testing.T) {
	const warn2099 = "icpmon: warning: 2099 has no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n"
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"issue example add", []string{"bizdays", "add", "2025-09-26", "20"}, 0, "2025-10-30\n", ""},
		{"issue example count", []string{"bizdays", "count", "2025-09-26", "2025-10-31"}, 0, "21\n", ""},
		{"makeup Sunday", []string{"bizdays", "add", "2025-09-26", "1"}, 0, "2025-09-28\n", ""},
		{"zero days", []string{"bizdays", "add", "2025-10-01", "0"}, 0, "2025-10-01\n", ""},
		{"same day", []string{"bizdays", "count", "2025-10-09", "2025-10-09"}, 0, "0\n", ""},
		{"global flag after the subcommand", []string{"bizdays", "count", "2025-09-26", "2025-10-31", "--redis-url", "redis://127.0.0.1:1/0"}, 0, "21\n", ""},
		// 2027 is official (lunar-go): no warning, and 春节's makeup Sunday.
		{"into 2027", []string{"bizdays", "add", "2026-12-31", "1"}, 0, "2027-01-04\n", ""},
		{"across 春节 2027", []string{"bizdays", "add", "2027-02-04", "1"}, 0, "2027-02-14\n", ""},
		{"across 国庆 2027", []string{"bizdays", "add", "2027-09-30", "1"}, 0, "2027-10-08\n", ""},
		// January 2027: 21 weekdays less 元旦, plus Sunday 31 Jan; 1-4 Feb; Sunday 14 Feb.
		{"count over 2027", []string{"bizdays", "count", "2026-12-31", "2027-02-14"}, 0, "26\n", ""},
		{"year 2001 before lunar-go's first notice", []string{"bizdays", "count", "2001-12-26", "2001-12-28"}, 0, "2\n",
			"icpmon: warning: 2001 has no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n"},
		{"year 2018 from lunar-go", []string{"bizdays", "add", "2018-09-28", "1"}, 0, "2018-09-29\n", ""},
		// 2099-12-31 (Thursday); 2100-01-01 is a Friday (元旦), 2100-01-04 a Monday.
		{"two provisional years", []string{"bizdays", "count", "2099-12-30", "2100-01-04"}, 0, "2\n",
			"icpmon: warning: 2099-2100 have no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n"},
		{"covered up to the last day", []string{"bizdays", "count", "2027-12-30", "2027-12-31"}, 0, "1\n", ""},
		{"backwards", []string{"bizdays", "add", "2027-02-04", "-3"}, 0, "2027-02-01\n", ""},
		{"backwards across 春节 2027", []string{"bizdays", "add", "2027-02-15", "-2"}, 0, "2027-02-04\n", ""},
		{"backwards with a flag after it", []string{"bizdays", "add", "2027-10-09", "-2", "--redis-url", "redis://127.0.0.1:1/0"}, 0, "2027-09-30\n", ""},
		{"backwards after --", []string{"bizdays", "add", "2025-09-26", "--", "-3"}, 0, "2025-09-23\n", ""},
		{"backwards in a provisional year", []string{"bizdays", "add", "2099-12-31", "-1"}, 0, "2099-12-30\n", warn2099},
		{"malformed date", []string{"bizdays", "add", "2025-13-01", "5"}, 1, "", "icpmon: invalid date \"2025-13-01\": want YYYY-MM-DD\n"},
		{"malformed TO", []string{"bizdays", "count", "2025-09-26", "20251031"}, 1, "", "icpmon: invalid date \"20251031\": want YYYY-MM-DD\n"},
		{"non-integer N", []string{"bizdays", "add", "2025-09-26", "2.5"}, 1, "", "icpmon: invalid number of business days \"2.5\": want a whole number from -100000 to 100000\n"},
		{"huge N", []string{"bizdays", "add", "2025-09-26", "100001"}, 1, "", "icpmon: invalid number of business days \"100001\": want a whole number from -100000 to 100000\n"},
		{"huge negative N", []string{"bizdays", "add", "2025-09-26", "-100001"}, 1, "", "icpmon: invalid number of business days \"-100001\": want a whole number from -100000 to 100000\n"},
		{"past year 9999", []string{"bizdays", "add", "9999-12-20", "10"}, 1, "", "icpmon: 10 business days after 9999-12-20: date outside the calendar's range 0000-01-01..9999-12-31\n"},
		{"before year 0", []string{"bizdays", "add", "0000-01-05", "-5"}, 1, "", "icpmon: 5 business days before 0000-01-05: date outside the calendar's range 0000-01-01..9999-12-31\n"},
		{"FROM after TO", []string{"bizdays", "count", "2025-10-31", "2025-09-26"}, 1, "", "icpmon: FROM 2025-10-31 must not be after TO 2025-09-26\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}

func TestNegativeNumbersAsArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"bizdays", "add", "2027-02-04", "-3"}, []string{"bizdays", "add", "2027-02-04", "--", "-3"}},
		{[]string{"bizdays", "add", "2027-02-04", "-3", "--config", "x.yml"}, []string{"bizdays", "add", "2027-02-04", "--config", "x.yml", "--", "-3"}},
		{[]string{"bizdays", "add", "2027-02-04", "--", "-3"}, []string{"bizdays", "add", "2027-02-04", "--", "-3"}},
		{[]string{"track", "list", "-o", "json"}, []string{"track", "list", "-o", "json"}},
		{[]string{"bizdays", "add", "-", "-x3"}, []string{"bizdays", "add", "-", "-x3"}},
	} {
		if got := negativeNumbersAsArgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("negativeNumbersAsArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// `bizdays years` lists each year's source, official or not.
func TestBizdaysYears(t *testing.T) {
	r := icpmon(t, "bizdays", "years")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	stdout := withoutLunarGoVersion(r.stdout)
	last := lastOfficialYear(t)
	for _, want := range []string{
		"YEAR    OFFICIAL  SOURCE\n",
		"..2001  no        provisional: statutory holidays only, makeup workdays unknown\n",
		"2002    yes       lunar-go\n",
		"2018    yes       lunar-go\n",
		"2019    yes       holiday-cn (embedded)\n",
		"2026    yes       holiday-cn (embedded)\n",
		"2027    yes       lunar-go\n",
		strconv.Itoa(last+1) + "..  no        provisional: statutory holidays only, makeup workdays unknown\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no line %q in:\n%s", want, r.stdout)
		}
	}

	r = icpmon(t, "bizdays", "years", "-o", "json")
	var years []calendar.YearSource
	if err := json.Unmarshal([]byte(r.stdout), &years); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	if len(years) != last+2-2002 || years[0].Year != 2002 || years[0].Source != calendar.SourceLunarGo ||
		years[2027-2002].Source != calendar.SourceLunarGo || !years[2027-2002].Official || years[len(years)-1].Official {
		t.Errorf("bizdays years -o json: %s", r.stdout)
	}
}

// withoutLunarGoVersion drops lunar-go's version, which a binary records
// and some test binaries do not.
func withoutLunarGoVersion(s string) string {
	return regexp.MustCompile(`lunar-go v\S+`).ReplaceAllString(s, "lunar-go")
}

func TestYearRuns(t *testing.T) {
	for _, tc := range []struct {
		years []int
		want  string
	}{
		{[]int{2027}, "2027"},
		{[]int{2027, 2028}, "2027-2028"},
		{[]int{2000, 2001, 2002, 2018, 2027, 2029}, "2000-2002, 2018, 2027, 2029"},
	} {
		if got := yearRuns(tc.years); got != tc.want {
			t.Errorf("yearRuns(%v) = %q, want %q", tc.years, got, tc.want)
		}
	}
}
