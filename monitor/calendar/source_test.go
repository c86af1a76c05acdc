package calendar

import (
	"slices"
	"testing"
	"time"
)

func equalYearSource(a, b YearSource) bool {
	return a.Year == b.Year && a.Source == b.Source && a.Official == b.Official && a.Over == b.Over &&
		a.LunarGoVersion == b.LunarGoVersion && slices.Equal(a.Files, b.Files)
}

// sched is a made-up schedule: "2030-01-02" off, "+2030-01-05" a makeup workday.
func sched(t *testing.T, src Source, name string, year int, days ...string) schedule {
	t.Helper()
	s := schedule{name: name, source: src, year: year}
	for _, d := range days {
		work := d[0] == '+'
		s.days = append(s.days, scheduledDay{date: date(t, d[len(d)-10:]), offDay: !work})
	}
	return s
}

// For each year: the extra files over holiday-cn over lunar-go over the
// statutory model; an empty file does not count.
func TestSourceOrder(t *testing.T) {
	hc := []schedule{
		sched(t, SourceHolidayCN, "data/2030.json", 2030, "2030-01-03"),
		sched(t, SourceHolidayCN, "data/2031.json", 2031), // a placeholder
	}
	lg := []schedule{
		sched(t, SourceLunarGo, "lunar-go", 2030, "2030-01-02"),
		sched(t, SourceLunarGo, "lunar-go", 2031, "2031-01-02", "+2031-01-04"),
		sched(t, SourceLunarGo, "lunar-go", 2032, "2032-01-02"),
	}
	extra := []schedule{
		sched(t, SourceExtraFile, "fix.json", 2032, "+2032-01-02", "2032-01-05"),
		sched(t, SourceExtraFile, "2033.json", 2033, "2033-01-04"),
		sched(t, SourceExtraFile, "fix2.json", 2032, "2032-01-06"),
		sched(t, SourceExtraFile, "empty.json", 2034),
	}
	c := build(hc, lg, extra, "v9.9.9")
	for _, tc := range []struct {
		day  string
		want bool
		why  string
	}{
		{"2030-01-03", false, "holiday-cn lists it off"},
		{"2030-01-02", true, "only lunar-go lists it, and holiday-cn holds 2030"},
		{"2031-01-02", false, "lunar-go, under holiday-cn's empty 2031"},
		{"2031-01-04", true, "lunar-go's makeup Saturday"},
		{"2032-01-02", true, "fix.json over lunar-go"},
		{"2032-01-05", false, "fix.json adds a day off"},
		{"2032-01-06", false, "fix2.json too"},
		{"2032-01-07", true, "what nobody lists is a weekday"},
		{"2033-01-04", false, "2033.json alone"},
		{"2033-01-03", true, "2033 is official: no statutory 元旦 in lieu"},
		{"2034-01-02", true, "empty.json leaves 2034 provisional: a Monday"},
		{"2034-01-01", false, "元旦 of the statutory model (Sunday anyway)"},
	} {
		if got := c.IsBusinessDay(date(t, tc.day)); got != tc.want {
			t.Errorf("IsBusinessDay(%s) = %v, want %v: %s", tc.day, got, tc.want, tc.why)
		}
	}
	want := []YearSource{
		{Year: 2030, Source: SourceHolidayCN, Official: true},
		{Year: 2031, Source: SourceLunarGo, Official: true, LunarGoVersion: "v9.9.9"},
		{Year: 2032, Source: SourceExtraFile, Official: true, Files: []string{"fix.json", "fix2.json"}, Over: SourceLunarGo, LunarGoVersion: "v9.9.9"},
		{Year: 2033, Source: SourceExtraFile, Official: true, Files: []string{"2033.json"}},
		{Year: 2034, Source: SourceStatutory},
	}
	got := c.Years()
	if len(got) != len(want) {
		t.Fatalf("Years() = %+v, want %+v", got, want)
	}
	for i := range want {
		if !equalYearSource(got[i], want[i]) {
			t.Errorf("Years()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	for y, s := range map[int]string{
		2030: "holiday-cn (embedded)",
		2031: "lunar-go v9.9.9",
		2032: "extra file fix.json, fix2.json over lunar-go v9.9.9",
		2033: "extra file 2033.json",
		2034: "provisional: statutory holidays only, makeup workdays unknown",
	} {
		if got := c.Year(y).String(); got != s {
			t.Errorf("Year(%d).String() = %q, want %q", y, got, s)
		}
	}
	if got, want := c.CoveredUntil(), date(t, "2033-12-31"); got != want {
		t.Errorf("CoveredUntil() = %s, want %s", got, want)
	}
}

// The shipped sources: lunar-go before holiday-cn's files and after them.
func TestShippedYearSources(t *testing.T) {
	c := newCalendar(t)
	for y, want := range map[int]Source{
		2001: SourceStatutory, 2002: SourceLunarGo, 2018: SourceLunarGo, 2019: SourceHolidayCN,
		2026: SourceHolidayCN, 2027: SourceLunarGo, 2099: SourceStatutory,
	} {
		got := c.Year(y)
		if got.Source != want || got.Official != (want != SourceStatutory) {
			t.Errorf("Year(%d) = %+v, want source %s", y, got, want)
		}
	}
	runs := c.Runs()
	var text []string
	for _, r := range runs {
		text = append(text, r.String())
	}
	// Later lunar-go releases extend the last run; the start stays.
	if len(runs) < 3 || text[0] != "2002-2018 lunar-go" || text[1] != "2019-2026 holiday-cn (embedded)" ||
		runs[2].First != 2027 || runs[2].Source.Source != SourceLunarGo || runs[len(runs)-1].Last != c.CoveredUntil().Year() {
		t.Errorf("Runs() = %q", text)
	}
	years := c.Years()
	if years[0].Year != 2002 || years[len(years)-1].Year != c.CoveredUntil().Year()+1 || years[len(years)-1].Official {
		t.Errorf("Years() runs %d..%d, want 2002 to the first provisional year", years[0].Year, years[len(years)-1].Year)
	}
}

// lunar-go's table and holiday-cn are two readings of the same notices: on
// every business day of every year both hold they must agree, so that an
// upgrade of either that breaks this fails here rather than in a deadline.
// Where their listings differ at all it is harmless: weekend days that
// lunar-go also lists as off, and holiday-cn's 2020-02-03 (a Monday listed
// as a workday).
func TestOfficialSourcesAgree(t *testing.T) {
	hc, err := embeddedSchedules()
	if err != nil {
		t.Fatal(err)
	}
	lg, err := lunarGoSchedules()
	if err != nil {
		t.Fatal(err)
	}
	byHC, byLG := build(hc, nil, nil, ""), build(nil, lg, nil, "")
	both := func(y int) bool { return byHC.Year(y).Official && byLG.Year(y).Official }
	var compared []int
	for y := MinDate.Year(); y <= max(byHC.CoveredUntil().Year(), byLG.CoveredUntil().Year()); y++ {
		if !both(y) {
			continue
		}
		compared = append(compared, y)
		for d := NewDate(y, time.January, 1); d <= NewDate(y, time.December, 31); d++ {
			// Late December also belongs to next year's notice, which one
			// source may hold alone.
			if _, m, _ := d.Civil(); m == time.December && both(y+1) != (byHC.Year(y+1).Official || byLG.Year(y+1).Official) {
				continue
			}
			if a, b := byHC.IsBusinessDay(d), byLG.IsBusinessDay(d); a != b {
				t.Errorf("%s: holiday-cn says business day %v, lunar-go %v", d, a, b)
			}
			hcOff, inHC := byHC.listed[d]
			lgOff, inLG := byLG.listed[d]
			weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
			switch {
			case inHC == inLG && hcOff == lgOff:
			case weekend && inLG && lgOff && !inHC:
			case !weekend && (inHC && !hcOff && !inLG || inLG && !lgOff && !inHC):
			default:
				t.Errorf("%s (%s): holiday-cn lists %v (off %v), lunar-go %v (off %v): not a known harmless difference",
					d, d.Weekday(), inHC, hcOff, inLG, lgOff)
			}
		}
	}
	for y := 2019; y <= 2026; y++ {
		if !slices.Contains(compared, y) {
			t.Errorf("%d is not held by both sources (compared %v)", y, compared)
		}
	}
}

// lunar-go's years come from its table: no year is named in the code.
func TestLunarGoSchedules(t *testing.T) {
	lg, err := lunarGoSchedules()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range lg {
		if s.source != SourceLunarGo || len(s.days) == 0 || (i > 0 && s.year != lg[i-1].year+1) {
			t.Fatalf("schedule %d: year %d, %d days, source %s: want consecutive years with days", i, s.year, len(s.days), s.source)
		}
	}
	if first, last := lg[0].year, lg[len(lg)-1].year; first != 2002 || last < 2027 {
		t.Errorf("lunar-go holds %d..%d, want 2002..2027 or later", first, last)
	}
	// 2017-12-30 is listed in 2017 for 元旦 2018: it belongs to 2018.
	i := slices.IndexFunc(lg, func(s schedule) bool { return s.year == 2018 })
	if i < 0 || !slices.ContainsFunc(lg[i].days, func(d scheduledDay) bool { return d.date == date(t, "2017-12-30") }) {
		t.Error("2017-12-30 is not in lunar-go's 2018 schedule")
	}
}
