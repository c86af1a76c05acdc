package calendar

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newCalendar(t testing.TB, extra ...[]byte) *Calendar {
	t.Helper()
	c, err := New(extra...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Each row was read off the holiday-cn files and a wall calendar by hand.
func TestIsBusinessDay(t *testing.T) {
	c := newCalendar(t)
	for _, tc := range []struct {
		date string
		want bool
		why  string
	}{
		// Golden Week 2025: 国庆+中秋 10-01..08, makeup Sun 09-28 and Sat 10-11.
		{"2025-09-26", true, "Friday"},
		{"2025-09-27", false, "Saturday"},
		{"2025-09-28", true, "makeup Sunday"},
		{"2025-09-30", true, "Tuesday before the break"},
		{"2025-10-01", false, "国庆"},
		{"2025-10-06", false, "中秋 (Monday)"},
		{"2025-10-08", false, "last day of the break (Wednesday)"},
		{"2025-10-09", true, "Thursday after the break"},
		{"2025-10-11", true, "makeup Saturday"},
		{"2025-10-12", false, "Sunday"},
		// Spring Festival 2026: 02-15..23, makeup Sat 02-14 and Sat 02-28.
		{"2026-02-13", true, "Friday"},
		{"2026-02-14", true, "makeup Saturday"},
		{"2026-02-15", false, "Sunday, first day of the break"},
		{"2026-02-16", false, "除夕 (Monday)"},
		{"2026-02-17", false, "初一"},
		{"2026-02-23", false, "Monday, last day of the break"},
		{"2026-02-24", true, "Tuesday after the break"},
		{"2026-02-28", true, "makeup Saturday"},
		{"2026-03-01", false, "Sunday"},
		// 2020: Spring Festival extended to 02-02; 02-01 (a makeup Saturday before) became a day off.
		{"2020-01-19", true, "makeup Sunday"},
		{"2020-01-23", true, "Thursday"},
		{"2020-01-24", false, "除夕"},
		{"2020-01-30", false, "extension (Thursday)"},
		{"2020-01-31", false, "extension (Friday)"},
		{"2020-02-01", false, "Saturday, no longer worked"},
		{"2020-02-02", false, "Sunday, end of the extension"},
		{"2020-02-03", true, "Monday, listed isOffDay false"},
		// 除夕: a working day until 2024, a holiday since 2025.
		{"2024-02-04", true, "makeup Sunday"},
		{"2024-02-09", true, "除夕 2024 (Friday)"},
		{"2024-02-10", false, "初一 2024"},
		{"2024-02-16", false, "Friday in the break"},
		{"2024-02-18", true, "makeup Sunday"},
		{"2025-01-26", true, "makeup Sunday"},
		{"2025-01-27", true, "Monday"},
		{"2025-01-28", false, "除夕 2025 (Tuesday)"},
		{"2025-02-04", false, "Tuesday, last day of the break"},
		{"2025-02-05", true, "Wednesday"},
		{"2025-02-08", true, "makeup Saturday"},
		// Year boundaries: notices reach back into December.
		{"2018-12-29", true, "makeup Saturday from 2019.json"},
		{"2018-12-30", false, "元旦 break (Sunday)"},
		{"2018-12-31", false, "元旦 break (Monday)"},
		{"2019-01-01", false, "元旦"},
		{"2019-01-02", true, "Wednesday"},
		{"2022-12-31", false, "Saturday listed in 2023.json"},
		{"2023-01-02", false, "元旦 2023 in lieu (Monday)"},
		{"2023-01-03", true, "Tuesday"},
		{"2025-12-31", true, "Wednesday"},
		{"2026-01-02", false, "元旦 break (Friday)"},
		{"2026-01-04", true, "makeup Sunday"},
		{"2026-12-31", true, "Thursday, last covered day"},
		// 2027, official from lunar-go (holiday-cn's 2027.json is empty):
		// the dates the provisional model got most wrong.
		{"2027-01-01", false, "元旦 (Friday)"},
		{"2027-01-03", false, "元旦 break (Sunday)"},
		{"2027-01-04", true, "Monday"},
		{"2027-01-31", true, "春节 makeup Sunday"},
		{"2027-02-04", true, "Thursday before 春节"},
		{"2027-02-05", false, "除夕 2027 (Friday), first day of the break"},
		{"2027-02-06", false, "初一 (Saturday)"},
		{"2027-02-09", false, "Tuesday in the break"},
		{"2027-02-12", false, "Friday in the break"},
		{"2027-02-13", false, "Saturday, last day of the break"},
		{"2027-02-14", true, "春节 makeup Sunday"},
		{"2027-02-15", true, "Monday after the break"},
		{"2027-04-02", true, "Friday before 清明"},
		{"2027-04-05", false, "清明 (Monday)"},
		{"2027-04-30", true, "Friday before 劳动节"},
		{"2027-05-03", false, "劳动节 break (Monday)"},
		{"2027-05-05", false, "劳动节 break (Wednesday), last day"},
		{"2027-05-06", true, "Thursday after 劳动节"},
		{"2027-05-08", true, "劳动节 makeup Saturday"},
		{"2027-06-08", true, "Tuesday before 端午"},
		{"2027-06-09", false, "端午 (Wednesday), the day alone"},
		{"2027-06-10", true, "Thursday after 端午"},
		{"2027-09-14", true, "Tuesday before 中秋"},
		{"2027-09-15", false, "中秋 (Wednesday), the day alone"},
		{"2027-09-16", true, "Thursday after 中秋"},
		{"2027-09-26", true, "国庆 makeup Sunday"},
		{"2027-09-30", true, "Thursday before 国庆"},
		{"2027-10-01", false, "国庆 (Friday)"},
		{"2027-10-04", false, "国庆 break (Monday)"},
		{"2027-10-07", false, "国庆 break (Thursday), last day"},
		{"2027-10-08", true, "Friday after 国庆"},
		{"2027-10-09", true, "国庆 makeup Saturday"},
		{"2027-12-31", true, "Friday, last covered day"},
		// Before holiday-cn's files, lunar-go's table: 2018 Golden Week.
		{"2018-09-29", true, "makeup Saturday (lunar-go)"},
		{"2018-10-05", false, "国庆 break (Friday)"},
		{"2018-10-08", true, "Monday after the break"},
	} {
		if got := c.IsBusinessDay(date(t, tc.date)); got != tc.want {
			t.Errorf("IsBusinessDay(%s) = %v, want %v (%s)", tc.date, got, tc.want, tc.why)
		}
	}
}

func TestAddAndCountBusinessDays(t *testing.T) {
	c := newCalendar(t)
	for _, tc := range []struct {
		from string
		n    int
		want string
	}{
		{"2025-09-26", 20, "2025-10-30"}, // the example
		{"2025-09-26", 1, "2025-09-28"},  // makeup Sunday
		{"2025-09-30", 1, "2025-10-09"},  // across Golden Week
		{"2025-10-10", 1, "2025-10-11"},  // makeup Saturday
		{"2025-10-01", 0, "2025-10-01"},  // n == 0 returns d, even a holiday
		{"2026-02-13", 1, "2026-02-14"},
		{"2026-02-14", 1, "2026-02-24"},
		{"2020-01-23", 1, "2020-02-03"},
		{"2018-12-28", 1, "2018-12-29"},
		{"2018-12-29", 1, "2019-01-02"},
		{"2022-12-30", 1, "2023-01-03"},
		{"2025-12-31", 1, "2026-01-04"},
		{"2024-02-08", 1, "2024-02-09"}, // 除夕 2024 worked
		{"2025-01-27", 1, "2025-02-05"}, // 除夕 2025 off
		{"2026-12-31", 1, "2027-01-04"}, // 元旦 2027 (lunar-go)
		{"2027-02-04", 1, "2027-02-14"}, // across 春节 2027 to its makeup Sunday
		{"2027-02-14", 1, "2027-02-15"},
		{"2027-04-30", 1, "2027-05-06"}, // across 劳动节 2027
		{"2027-05-07", 1, "2027-05-08"}, // its makeup Saturday
		{"2027-09-24", 1, "2027-09-26"}, // 国庆 2027's makeup Sunday
		{"2027-09-30", 1, "2027-10-08"}, // across 国庆 2027
		{"2027-06-08", 1, "2027-06-10"}, // 端午 2027 alone
		{"2027-09-14", 1, "2027-09-16"}, // 中秋 2027 alone
		{"2027-01-29", 20, "2027-03-04"},
	} {
		from, want := date(t, tc.from), date(t, tc.want)
		if got := c.AddBusinessDays(from, tc.n); got != want {
			t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tc.from, tc.n, got, want)
		}
		if got := c.CountBusinessDays(from, want); got != tc.n {
			t.Errorf("CountBusinessDays(%s, %s) = %d, want %d", tc.from, tc.want, got, tc.n)
		}
	}
	for _, tc := range []struct {
		from, to string
		want     int
	}{
		{"2025-09-26", "2025-10-31", 21},  // the example
		{"2026-02-13", "2026-02-28", 6},   // 02-14, 24, 25, 26, 27, 28
		{"2020-01-17", "2020-02-03", 6},   // 01-19, 20..23, 02-03
		{"2025-10-31", "2025-09-26", 0},   // to before from
		{"2025-10-09", "2025-10-09", 0},   // from itself never counts
		{"2024-12-31", "2025-12-31", 248}, // 261 weekdays - 18 holidays + 5 makeup days
		{"2025-12-31", "2026-12-31", 248}, // 261 - 19 + 6
		{"2026-12-31", "2027-12-31", 248}, // 261 - 18 + 5
		{"2026-12-31", "2027-02-14", 26},  // January: 21 weekdays - 元旦 + 01-31; 02-01..04; 02-14
	} {
		if got := c.CountBusinessDays(date(t, tc.from), date(t, tc.to)); got != tc.want {
			t.Errorf("CountBusinessDays(%s, %s) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
}

// Counting backwards: the n-th business day before a date, the date itself
// never counting, is the date that counts n forwards to it (or the day
// before it, when the date itself is not a business day).
func TestAddBusinessDaysBackwards(t *testing.T) {
	c := newCalendar(t)
	for _, tc := range []struct {
		from string
		n    int
		want string
	}{
		{"2027-02-15", -1, "2027-02-14"}, // the makeup Sunday
		{"2027-02-14", -1, "2027-02-04"}, // back across 春节 2027
		{"2027-02-04", -3, "2027-02-01"},
		{"2027-02-01", -1, "2027-01-31"}, // the other makeup Sunday
		{"2027-10-09", -1, "2027-10-08"},
		{"2027-10-08", -1, "2027-09-30"}, // back across 国庆 2027
		{"2027-05-06", -2, "2027-04-29"}, // back across 劳动节 2027
		{"2027-01-04", -1, "2026-12-31"}, // back across 元旦 and the year
		{"2025-10-30", -20, "2025-09-26"},
		{"2025-10-01", 0, "2025-10-01"},
	} {
		from, want := date(t, tc.from), date(t, tc.want)
		if got := c.AddBusinessDays(from, tc.n); got != want {
			t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tc.from, tc.n, got, want)
		}
	}
	// Across the window's edges and far out, against counting forwards.
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		d := date(t, "1998-01-01") + Date(rng.IntN(int(date(t, "2103-01-01")-date(t, "1998-01-01"))))
		if i < 300 {
			d = []Date{date(t, "2000-01-01"), date(t, "2101-01-01"), date(t, "2028-01-01")}[i%3] + Date(rng.IntN(41)-20)
		}
		n := 1 + rng.IntN(1500)
		r := c.AddBusinessDays(d, -n)
		if !c.IsBusinessDay(r) || c.CountBusinessDays(r-1, d-1) != n {
			t.Fatalf("AddBusinessDays(%s, %d) = %s: %d business days from it up to the day before, want %d",
				d, -n, r, c.CountBusinessDays(r-1, d-1), n)
		}
	}
}

// A year no source holds: weekends and the statutory holidays, no swaps.
// Shown on a calendar without official sources, so that these rows hold
// whichever years lunar-go and holiday-cn come to cover.
func TestProvisionalModel(t *testing.T) {
	c := build(nil, nil, nil, "")
	for _, tc := range []struct {
		date string
		want bool
		why  string
	}{
		{"2028-01-03", true, "Monday: 元旦 fell on Saturday"},
		{"2028-01-24", true, "Monday before 春节"},
		{"2028-01-25", false, "除夕 2028 (Tuesday)"},
		{"2028-01-28", false, "初三 (Friday)"},
		{"2028-01-31", true, "Monday: no extension is known"},
		{"2028-04-04", false, "清明 (Tuesday)"},
		{"2028-05-02", false, "劳动节 second day (Tuesday)"},
		{"2028-05-29", true, "Monday: 端午 fell on Sunday"},
		{"2028-10-03", false, "国庆 and 中秋 (Tuesday)"},
		{"2028-10-04", true, "Wednesday: no Golden Week is known"},
		{"2027-02-09", true, "Tuesday: 春节 2027's extension was not known"},
		{"2027-10-04", true, "Monday: 国庆 2027's break was not known"},
	} {
		if got := c.IsBusinessDay(date(t, tc.date)); got != tc.want {
			t.Errorf("IsBusinessDay(%s) = %v, want %v (%s)", tc.date, got, tc.want, tc.why)
		}
	}
	for _, tc := range []struct {
		from string
		n    int
		want string
	}{
		{"2027-12-31", 1, "2028-01-03"},  // 元旦 2028 on a Saturday
		{"2028-01-24", 1, "2028-01-31"},  // 春节 2028
		{"2028-01-31", -1, "2028-01-24"}, // and back
	} {
		if got := c.AddBusinessDays(date(t, tc.from), tc.n); got != date(t, tc.want) {
			t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}

	// The shipped calendar counts the first year after its coverage the same way.
	shipped := newCalendar(t)
	next := shipped.CoveredUntil().Year() + 1
	if got := shipped.Year(next); got.Source != SourceStatutory || got.Official {
		t.Errorf("Year(%d) = %+v, want statutory", next, got)
	}
	for d := NewDate(next, time.January, 1); d <= NewDate(next, time.December, 31); d++ {
		if shipped.IsBusinessDay(d) != c.IsBusinessDay(d) {
			t.Fatalf("%s: the shipped calendar does not use the statutory model in %d", d, next)
		}
	}
}

func TestDeadlineIsMidnightChinaTime(t *testing.T) {
	c := newCalendar(t)
	for _, tc := range []struct {
		from string
		n    int
		want string // UTC
	}{
		{"2025-09-26", 20, "2025-10-30T16:00:00Z"}, // 24:00 on 2025-10-30 in Beijing
		{"2026-02-13", 1, "2026-02-14T16:00:00Z"},
		{"2025-10-01", 0, "2025-10-01T16:00:00Z"},
	} {
		got := c.Deadline(date(t, tc.from), tc.n)
		if s := got.UTC().Format(time.RFC3339); s != tc.want {
			t.Errorf("Deadline(%s, %d) = %s, want %s", tc.from, tc.n, s, tc.want)
		}
		if _, off := got.Zone(); off != 8*3600 {
			t.Errorf("Deadline(%s, %d) is in a zone %ds east of UTC, want China", tc.from, tc.n, off)
		}
	}
}

func TestCoverageAndProvisionalYears(t *testing.T) {
	c := newCalendar(t)
	// 2027 came with lunar-go v1.4.7; later releases may add years.
	last := c.CoveredUntil()
	if last < date(t, "2027-12-31") {
		t.Errorf("CoveredUntil() = %s, want 2027-12-31 or later", last)
	}
	if got, want := c.Provisional(last, last+4), []int{last.Year() + 1}; !slices.Equal(got, want) {
		t.Errorf("Provisional(%s, %s) = %v, want %v", last, last+4, got, want)
	}
	for _, tc := range []struct {
		from, to string
		want     []int
	}{
		{"2025-09-26", "2026-12-31", nil},
		{"2026-12-31", "2027-12-31", nil},         // 2027 from lunar-go
		{"2018-12-29", "2019-01-02", nil},         // 2018 from lunar-go
		{"2001-12-20", "2002-01-05", []int{2001}}, // before lunar-go's first notice
		{"2099-06-01", "2101-03-01", []int{2099, 2100, 2101}},
		{"2027-03-01", "2027-01-01", nil},
	} {
		got := c.Provisional(date(t, tc.from), date(t, tc.to))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Provisional(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// An operator's file amends the official year it names, and turns a
// provisional year official.
func TestExtraFileMakesYearOfficial(t *testing.T) {
	// testdata/2027.json is lunar-go's 2027 written out: it changes no day.
	c, err := Load([]string{"testdata/2027.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := YearSource{Year: 2027, Source: SourceExtraFile, Official: true, Files: []string{"testdata/2027.json"}, Over: SourceLunarGo}
	if got := c.Year(2027); !equalYearSource(got, want) {
		t.Errorf("Year(2027) = %+v, want %+v", got, want)
	}
	if got := c.AddBusinessDays(date(t, "2027-02-04"), 1); got != date(t, "2027-02-14") {
		t.Errorf("with 2027.json: AddBusinessDays(2027-02-04, 1) = %s, want 2027-02-14", got)
	}

	// A made-up 2099 file makes that year official on its own.
	c = newCalendar(t, []byte(`{"year": 2099, "days": [
		{"name": "元旦", "date": "2099-01-02", "isOffDay": true},
		{"name": "元旦", "date": "2099-01-03", "isOffDay": false}]}`))
	if got := c.Provisional(date(t, "2099-01-01"), date(t, "2099-12-31")); got != nil {
		t.Errorf("Provisional(2099) = %v with a 2099 file loaded, want none", got)
	}
	if got, want := c.CoveredUntil(), date(t, "2099-12-31"); got != want {
		t.Errorf("CoveredUntil() = %s, want %s", got, want)
	}
	want = YearSource{Year: 2099, Source: SourceExtraFile, Official: true, Files: []string{"extra document 1"}}
	if got := c.Year(2099); !equalYearSource(got, want) {
		t.Errorf("Year(2099) = %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		date string
		want bool
	}{
		{"2099-01-01", true},  // 元旦 (Thursday): the statutory model no longer applies
		{"2099-01-02", false}, // listed day off
		{"2099-01-03", true},  // listed makeup Saturday
		{"2099-01-04", false}, // Sunday
		{"2099-05-01", true},
	} {
		if got := c.IsBusinessDay(date(t, tc.date)); got != tc.want {
			t.Errorf("with a 2099 file: IsBusinessDay(%s) = %v, want %v", tc.date, got, tc.want)
		}
	}
}

func TestLaterDocumentsWin(t *testing.T) {
	fix := []byte(`{"year": 2025, "days": [
		{"name": "测试", "date": "2025-10-09", "isOffDay": true},
		{"name": "测试", "date": "2025-10-08", "isOffDay": false}]}`)
	undo := []byte(`{"year": 2025, "days": [{"name": "测试", "date": "2025-10-09", "isOffDay": false}]}`)
	c := newCalendar(t, fix)
	if c.IsBusinessDay(date(t, "2025-10-09")) || !c.IsBusinessDay(date(t, "2025-10-08")) {
		t.Error("an extra document did not override the embedded 2025 schedule")
	}
	if !c.IsBusinessDay(date(t, "2025-10-11")) || c.IsBusinessDay(date(t, "2025-10-01")) {
		t.Error("an extra document dropped dates it did not list")
	}
	if got, want := c.AddBusinessDays(date(t, "2025-09-30"), 2), date(t, "2025-10-10"); got != want {
		t.Errorf("AddBusinessDays(2025-09-30, 2) = %s, want %s", got, want)
	}
	if c := newCalendar(t, fix, undo); !c.IsBusinessDay(date(t, "2025-10-09")) {
		t.Error("of two extra documents, the first won")
	}
	// A placeholder with no days neither makes a year official nor unmakes one.
	empty := []byte(`{"year": 2026, "days": []}`)
	if got := newCalendar(t, empty).Provisional(date(t, "2026-01-01"), date(t, "2026-12-31")); got != nil {
		t.Errorf("an empty 2026 document made 2026 provisional: %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"testdata/invalid-date.json", `holiday file "testdata/invalid-date.json": day 2: invalid date "2027-02-30": want YYYY-MM-DD`},
		{"testdata/invalid-year.json", `holiday file "testdata/invalid-year.json": day 1: 2025-10-01 does not belong to the 2027 schedule (2026-12-01..2027-12-31)`},
		{"testdata/2028.json", `holiday file "testdata/2028.json": its year is 2027 but its name says 2028`},
		{"testdata/invalid-missing-isoffday.json", `holiday file "testdata/invalid-missing-isoffday.json": day 1: "date" and "isOffDay" are both required`},
		{"testdata/invalid-duplicate.json", `holiday file "testdata/invalid-duplicate.json": day 2: 2027-01-01 is listed twice`},
		{"testdata/invalid-trailing.json", `holiday file "testdata/invalid-trailing.json": invalid JSON: unexpected data after the document`},
		{"testdata/invalid-no-year.json", `holiday file "testdata/invalid-no-year.json": no "year"`},
		{"testdata/invalid-json.json", `holiday file "testdata/invalid-json.json": invalid JSON: unexpected EOF`},
		{"testdata/missing.json", `read holiday file: open testdata/missing.json: no such file or directory`},
		// Once read without a bound: /dev/zero took check-config's memory.
		{"/dev/zero", `read holiday file: /dev/zero: not a regular file (a character device)`},
		{"testdata", `read holiday file: testdata: not a regular file (a directory)`},
	} {
		// A good file first: the bad one must still fail the whole load.
		c, err := Load([]string{"testdata/2027.json", tc.file})
		if err == nil {
			t.Errorf("Load(%s) succeeded", tc.file)
			continue
		}
		if c != nil {
			t.Errorf("Load(%s) returned a calendar beside its error", tc.file)
		}
		if err.Error() != tc.want {
			t.Errorf("Load(%s) error:\n got %s\nwant %s", tc.file, err, tc.want)
		}
	}
	_, err := New([]byte(`{"year": 2027, "days": [{"date": "27-01-01", "isOffDay": true}]}`))
	if want := `holiday file "extra document 1": day 1: invalid date "27-01-01": want YYYY-MM-DD`; err == nil || err.Error() != want {
		t.Errorf("New(bad document) error = %v, want %s", err, want)
	}
	_, err = New([]byte(`{"year": 0, "days": []}`))
	if want := `holiday file "extra document 1": year 0 is outside 1..9999`; err == nil || err.Error() != want {
		t.Errorf("New(year 0) error = %v, want %s", err, want)
	}
}

// Property: the n-th business day after a is a business day, and exactly n
// business days lie after a up to it. Dates straddle the precomputed window.
func TestAddCountProperty(t *testing.T) {
	c := newCalendar(t)
	rng := rand.New(rand.NewPCG(1, 2))
	lo, hi := date(t, "1998-06-01"), date(t, "2102-06-30")
	edges := []Date{date(t, "1999-12-31"), date(t, "2000-01-01"), date(t, "2100-12-31"), date(t, "2101-01-01"), date(t, "2026-12-31")}
	for i := range 3000 {
		a := lo + Date(rng.IntN(int(hi-lo)))
		if i < 400 { // near the window's edges and the end of coverage
			a = edges[i%len(edges)] + Date(rng.IntN(61)-30)
		}
		n := rng.IntN(1500)
		checkAddCount(t, c, a, n)
	}
}

func checkAddCount(t *testing.T, c *Calendar, a Date, n int) {
	t.Helper()
	r := c.AddBusinessDays(a, n)
	if got := c.CountBusinessDays(a, r); got != n {
		t.Fatalf("CountBusinessDays(%s, AddBusinessDays(%s, %d) = %s) = %d", a, a, n, r, got)
	}
	if n > 0 {
		if !c.IsBusinessDay(r) {
			t.Fatalf("AddBusinessDays(%s, %d) = %s, not a business day", a, n, r)
		}
		if got := c.CountBusinessDays(a, r-1); got != n-1 {
			t.Fatalf("AddBusinessDays(%s, %d) = %s is not the first such day: %d business days before it", a, n, r, got)
		}
	}
}

// The days computed on demand outside the window must match the window's.
func TestYearSpansMatchTheWindow(t *testing.T) {
	c := newCalendar(t)
	for _, y := range []int{2000, 2018, 2020, 2025, 2027, 2064, 2100} {
		s := c.buildSpan(y, y)
		for d := s.first; d <= s.last(); d++ {
			if s.isBusinessDay(d) != c.window.isBusinessDay(d) {
				t.Fatalf("%s: the year span and the window disagree", d)
			}
		}
	}
}

// Years outside the window are computed on demand, lunar-go's shared year
// cache included; run under -race this shows they are safe to share.
func TestConcurrentUse(t *testing.T) {
	c := newCalendar(t)
	want := make([]Date, 8)
	for i := range want {
		want[i] = c.AddBusinessDays(NewDate(2300+10*i, time.January, 15), 400)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range want {
				j := (i + g) % len(want)
				if got := c.AddBusinessDays(NewDate(2300+10*j, time.January, 15), 400); got != want[j] {
					t.Errorf("concurrent AddBusinessDays = %s, want %s", got, want[j])
				}
				c.CountBusinessDays(NewDate(1900+g, time.June, 1), NewDate(2026, time.June, 1))
			}
		})
	}
	wg.Wait()
}

func TestRangeLimits(t *testing.T) {
	c := newCalendar(t)
	if MinDate != NewDate(0, time.January, 1) || MaxDate != NewDate(9999, time.December, 31) {
		t.Fatalf("MinDate, MaxDate = %s, %s", MinDate, MaxDate)
	}
	// Year 0 and 9999 lie outside the window: answered from their own rules.
	if c.IsBusinessDay(NewDate(9999, time.October, 1)) || !c.IsBusinessDay(NewDate(9999, time.October, 4)) {
		t.Error("9999-10-01 (Friday, 国庆) or 9999-10-04 (Monday) misclassified")
	}
	if got := c.CountBusinessDays(MinDate-1, MinDate+6); got != 5 { // Saturday 0000-01-01 (元旦) to Friday 01-07
		t.Errorf("CountBusinessDays over the first week of year 0 = %d, want 5", got)
	}
	if _, err := c.NthBusinessDay(MaxDate-3, 5); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("NthBusinessDay(%s, 5) error = %v, want ErrOutOfRange", MaxDate-3, err)
	}
	if _, err := c.NthBusinessDay(MaxDate, 1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("NthBusinessDay(%s, 1) error = %v, want ErrOutOfRange", MaxDate, err)
	}
	if got, err := c.NthBusinessDay(MaxDate-3, 1); err != nil || got != MaxDate-3+1 {
		t.Errorf("NthBusinessDay(%s, 1) = %s, %v; want 9999-12-29", MaxDate-3, got, err)
	}
	if _, err := c.NthBusinessDay(MinDate+3, -5); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("NthBusinessDay(%s, -5) error = %v, want ErrOutOfRange", MinDate+3, err)
	}
	if _, err := c.NthBusinessDay(MinDate, -1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("NthBusinessDay(%s, -1) error = %v, want ErrOutOfRange", MinDate, err)
	}
	if got, err := c.NthBusinessDay(MaxDate+1, -1); err != nil || got != MaxDate {
		t.Errorf("NthBusinessDay(%s, -1) = %s, %v; want 9999-12-31 (a Friday)", MaxDate+1, got, err)
	}
	for name, f := range map[string]func(){
		"AddBusinessDays(before MinDate)": func() { c.AddBusinessDays(MinDate+1, -5) },
		"AddBusinessDays(past MaxDate)":   func() { c.AddBusinessDays(MaxDate, 1) },
		"IsBusinessDay(MaxDate+1)":        func() { c.IsBusinessDay(MaxDate + 1) },
		"CountBusinessDays(MinDate-2)":    func() { c.CountBusinessDays(MinDate-2, MinDate) },
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, "calendar: ") {
					t.Errorf("%s: recovered %v, want a calendar panic", name, r)
				}
			}()
			f()
		}()
	}
}

func FuzzAddCount(f *testing.F) {
	c := newCalendar(f)
	for _, s := range []struct {
		day int32
		n   uint16
	}{
		{int32(NewDate(2025, 9, 26)), 20},
		{int32(NewDate(2026, 12, 31)), 1},
		{int32(NewDate(2100, 12, 20)), 30},
		{int32(NewDate(1999, 12, 31)), 300},
		{int32(MaxDate - 10), 9},
		{int32(MinDate), 3},
	} {
		f.Add(s.day, s.n)
	}
	f.Fuzz(func(t *testing.T, day int32, n16 uint16) {
		width := int64(MaxDate - MinDate + 1)
		a := MinDate + Date(((int64(day)%width)+width)%width) // fold any input into the range
		n := int(n16 % 5000)
		r, err := c.NthBusinessDay(a, n)
		if errors.Is(err, ErrOutOfRange) {
			if got := c.CountBusinessDays(a, MaxDate); got >= n {
				t.Fatalf("NthBusinessDay(%s, %d) out of range, but %d business days remain", a, n, got)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := c.CountBusinessDays(a, r); got != n {
			t.Fatalf("CountBusinessDays(%s, NthBusinessDay(%s, %d) = %s) = %d", a, a, n, r, got)
		}
		if n > 0 && (!c.IsBusinessDay(r) || c.CountBusinessDays(a, r-1) != n-1) {
			t.Fatalf("NthBusinessDay(%s, %d) = %s is not the n-th business day", a, n, r)
		}
		// Backwards from the answer's next day returns it.
		if n > 0 && r < MaxDate {
			if back, err := c.NthBusinessDay(r+1, -1); err != nil || back != r {
				t.Fatalf("NthBusinessDay(%s, -1) = %s, %v; want %s", r+1, back, err, r)
			}
		}
		b, err := c.NthBusinessDay(a, -n)
		if errors.Is(err, ErrOutOfRange) {
			if got := c.CountBusinessDays(MinDate-1, a-1); got >= n {
				t.Fatalf("NthBusinessDay(%s, %d) out of range, but %d business days lie before", a, -n, got)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && (!c.IsBusinessDay(b) || c.CountBusinessDays(b-1, a-1) != n) {
			t.Fatalf("NthBusinessDay(%s, %d) = %s is not the n-th business day before", a, -n, b)
		}
	})
}

func TestDateEndingAtIsTheInverseOfEnd(t *testing.T) {
	d := NewDate(2027, time.February, 5)
	if got := DateEndingAt(d.End()); got != d {
		t.Errorf("DateEndingAt(%s end) = %s", d, got)
	}
	if got := DateEndingAt(d.End().Add(time.Nanosecond)); got != d+1 {
		t.Errorf("an instant after %s ends belongs to %s, got %s", d, d+1, got)
	}
}
