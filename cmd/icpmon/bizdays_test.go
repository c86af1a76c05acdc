package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBizdays(t *testing.T) {
	const warn2027 = "icpmon: warning: 2027 has no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n"
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
		{"into provisional 2027", []string{"bizdays", "add", "2026-12-31", "1"}, 0, "2027-01-04\n", warn2027},
		// January 2027 has 20 business days (1 Jan is 元旦), then 1-4 Feb and 9 Feb (除夕 5 Feb to 初三 8 Feb off).
		{"count over 2027", []string{"bizdays", "count", "2026-12-31", "2027-02-09"}, 0, "25\n", warn2027},
		{"year 2018 before its notice", []string{"bizdays", "count", "2018-12-27", "2018-12-29"}, 0, "2\n",
			"icpmon: warning: 2018 has no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n"},
		// 2027-12-31 (Friday), 2028-01-03 and 01-04; 1 Jan 2028 is a Saturday.
		{"two provisional years", []string{"bizdays", "count", "2027-12-30", "2028-01-04"}, 0, "3\n",
			"icpmon: warning: 2027-2028 have no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n"},
		{"covered up to the last day", []string{"bizdays", "count", "2026-12-30", "2026-12-31"}, 0, "1\n", ""},
		{"malformed date", []string{"bizdays", "add", "2025-13-01", "5"}, 1, "", "icpmon: invalid date \"2025-13-01\": want YYYY-MM-DD\n"},
		{"malformed TO", []string{"bizdays", "count", "2025-09-26", "20251031"}, 1, "", "icpmon: invalid date \"20251031\": want YYYY-MM-DD\n"},
		{"non-integer N", []string{"bizdays", "add", "2025-09-26", "2.5"}, 1, "", "icpmon: invalid number of business days \"2.5\": want a whole number from 0 to 100000\n"},
		{"negative N", []string{"bizdays", "add", "2025-09-26", "--", "-3"}, 1, "", "icpmon: invalid number of business days \"-3\": want a whole number from 0 to 100000\n"},
		{"huge N", []string{"bizdays", "add", "2025-09-26", "100001"}, 1, "", "icpmon: invalid number of business days \"100001\": want a whole number from 0 to 100000\n"},
		{"past year 9999", []string{"bizdays", "add", "9999-12-20", "10"}, 1, "", "icpmon: 10 business days after 9999-12-20: date outside the calendar's range 0000-01-01..9999-12-31\n"},
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

// kingpin reads "-3" as a flag before the command sees it: still an error
// with nothing on stdout.
func TestBizdaysNegativeWithoutDoubleDash(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bizdays", "add", "2025-09-26", "-3"}, strings.NewReader(""), &stdout, &stderr); code == 0 {
		t.Errorf("exit code 0 for a negative N")
	}
	if stdout.Len() != 0 || stderr.Len() == 0 {
		t.Errorf("stdout %q, stderr %q; want only an error", stdout.String(), stderr.String())
	}
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
