package calendar

import (
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	lunar "github.com/6tail/lunar-go/calendar"
)

func TestFestivalDates(t *testing.T) {
	for _, tc := range []struct {
		year                                 int
		newYear, qingming, duanwu, midAutumn string
	}{
		{2024, "2024-02-10", "2024-04-04", "2024-06-10", "2024-09-17"},
		{2025, "2025-01-29", "2025-04-04", "2025-05-31", "2025-10-06"},
		{2026, "2026-02-17", "2026-04-05", "2026-06-19", "2026-09-25"},
		{2027, "2027-02-06", "2027-04-05", "2027-06-09", "2027-09-15"},
	} {
		want := festivals{date(t, tc.newYear), date(t, tc.qingming), date(t, tc.duanwu), date(t, tc.midAutumn)}
		if got := festivalsFor(tc.year); got != want {
			t.Errorf("festivals of %d = %+v, want %+v", tc.year, got, want)
		}
	}
}

// festivalsOf reads lunar-go's month tables directly; its Lunar type, which
// converts dates another way, must agree on every year of the window.
func TestFestivalsAgreeWithLunarDates(t *testing.T) {
	solar := func(s *lunar.Solar) Date { return NewDate(s.GetYear(), time.Month(s.GetMonth()), s.GetDay()) }
	for y := windowFirstYear; y <= windowLastYear; y++ {
		ny := lunar.NewLunarFromYmd(y, 1, 1)
		want := festivals{
			lunarNewYear: solar(ny.GetSolar()),
			qingming:     solar(ny.GetJieQiTable()["清明"]),
			duanwu:       solar(lunar.NewLunarFromYmd(y, 5, 5).GetSolar()),
			midAutumn:    solar(lunar.NewLunarFromYmd(y, 8, 15).GetSolar()),
		}
		if got := festivalsFor(y); got != want {
			t.Errorf("festivals of %d = %+v, lunar-go's Lunar says %+v", y, got, want)
		}
	}
}

// 除夕 is the last day of 腊月, which has 29 or 30 days; both must occur.
func TestChuxiIsTheLastDayOfTheYear(t *testing.T) {
	lengths := map[int]bool{}
	for y := 2020; y <= 2035; y++ {
		chuxi := festivalsFor(y).lunarNewYear - 1
		l := lunar.NewLunarFromDate(chuxi.Start())
		if l.GetMonth() != 12 || l.GetYear() != y-1 {
			t.Errorf("除夕 %d = %s is lunar %d-%d-%d, not in 腊月 of %d", y, chuxi, l.GetYear(), l.GetMonth(), l.GetDay(), y-1)
		}
		lengths[l.GetDay()] = true
	}
	if !lengths[29] || !lengths[30] {
		t.Errorf("腊月 lengths seen 2020..2035: %v, want both 29 and 30", lengths)
	}
	// 2025's 腊月 had 29 days, 2024's 30.
	for y, want := range map[int]string{2024: "2024-02-09", 2025: "2025-01-28", 2026: "2026-02-16", 2027: "2027-02-05"} {
		if got := festivalsFor(y).lunarNewYear - 1; got != date(t, want) {
			t.Errorf("除夕 %d = %s, want %s", y, got, want)
		}
	}
}

// Every statutory holiday the rules give must be a day off in the published
// schedules: 2019..2026 from holiday-cn, under the 2013 and 2024 rules.
func TestStatutoryHolidaysAreOffInHolidayCN(t *testing.T) {
	ref := newReference(t)
	for y := 2019; y <= 2026; y++ {
		for _, d := range statutoryHolidays(y, festivalsFor(y)) {
			if off, ok := ref.listed[d]; !ok || !off {
				t.Errorf("%d: statutory holiday %s is not a day off in holiday-cn", y, d)
			}
		}
	}
}

// lunar-go ships schedules from 2002 on, covering the 1999, 2007 and 2013
// rules that holiday-cn does not reach, and a 2027 schedule.
func TestStatutoryHolidaysAreOffInLunarGo(t *testing.T) {
	for y := 2002; y <= 2027; y++ {
		for _, d := range statutoryHolidays(y, festivalsFor(y)) {
			yy, m, dd := d.Civil()
			h := HolidayUtil.GetHolidayByYmd(yy, int(m), dd)
			if h == nil || h.IsWork() {
				t.Errorf("%d: statutory holiday %s is not a day off in lunar-go's schedule", y, d)
			}
		}
	}
}

func TestStatutoryHolidaysByRevision(t *testing.T) {
	for _, tc := range []struct {
		year int
		want []string
	}{
		{2005, []string{"2005-01-01", "2005-10-01", "2005-10-02", "2005-10-03", "2005-02-09", "2005-02-10", "2005-02-11", "2005-05-01", "2005-05-02", "2005-05-03"}},
		{2010, []string{"2010-01-01", "2010-10-01", "2010-10-02", "2010-10-03", "2010-02-13", "2010-02-14", "2010-02-15", "2010-05-01", "2010-04-05", "2010-06-16", "2010-09-22"}},
		{2020, []string{"2020-01-01", "2020-10-01", "2020-10-02", "2020-10-03", "2020-01-25", "2020-01-26", "2020-01-27", "2020-05-01", "2020-04-04", "2020-06-25", "2020-10-01"}},
		{2027, []string{"2027-01-01", "2027-10-01", "2027-10-02", "2027-10-03", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-05-01", "2027-05-02", "2027-04-05", "2027-06-09", "2027-09-15"}},
	} {
		got := statutoryHolidays(tc.year, festivalsFor(tc.year))
		if len(got) != len(tc.want) {
			t.Errorf("%d: %d statutory holidays %v, want %v", tc.year, len(got), got, tc.want)
			continue
		}
		for i, w := range tc.want {
			if got[i] != date(t, w) {
				t.Errorf("%d: statutory holidays %v, want %v", tc.year, got, tc.want)
				break
			}
		}
	}
}
