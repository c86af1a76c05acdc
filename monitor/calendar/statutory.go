package calendar

import (
	"math"
	"slices"
	"sync"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"
)

// festivals are the lunar and solar-term dates a year's statutory holidays hang on.
type festivals struct {
	lunarNewYear Date // 正月初一 (春节)
	qingming     Date // the 清明 solar term
	duanwu       Date // 五月初五
	midAutumn    Date // 八月十五
}

// qingmingTerm is the index of 清明 in lunar-go's table of solar terms.
var qingmingTerm = slices.Index(lunar.JIE_QI_IN_USE, "清明")

// festivalsOf computes year y's festivals with lunar-go (about a millisecond).
func festivalsOf(y int) festivals {
	ly := lunar.NewLunarYear(y)
	monthStart := func(m int) Date { return julianDay(ly.GetMonth(m).GetFirstJulianDay()) }
	return festivals{
		lunarNewYear: monthStart(1),
		qingming:     julianDay(ly.GetJieQiJulianDays()[qingmingTerm]),
		duanwu:       monthStart(5) + 4,
		midAutumn:    monthStart(8) + 14,
	}
}

// julianDay converts a Julian day number in Beijing time, as lunar-go gives
// them, to a Date. 2440587.5 is 1970-01-01 00:00.
func julianDay(jd float64) Date { return Date(math.Floor(jd+0.5) - 2440588) }

// festivalMemo caches festivalsOf by year (int → festivals): the dates depend
// on astronomy alone, lunar-go needs most of a millisecond per year, and the
// calendar's range holds only 10000 years.
var festivalMemo sync.Map

func festivalsFor(y int) festivals {
	if f, ok := festivalMemo.Load(y); ok {
		return f.(festivals)
	}
	f := festivalsOf(y)
	festivalMemo.Store(y, f)
	return f
}

// statutoryHolidays lists the days off that 《全国年节及纪念日放假办法》 fixes for
// year y, as in force that year. They are what a year without a published
// schedule is assumed to have; its 调休 swaps cannot be known.
// Revisions: 1999 (used for every earlier year as well), 2007 (in force 2008),
// 2013 (in force 2014) and 2024 (in force 2025).
func statutoryHolidays(y int, f festivals) []Date {
	ny := f.lunarNewYear
	chuxi := ny - 1 // the day before 正月初一, however long 腊月 is
	may1 := NewDate(y, time.May, 1)
	oct1 := NewDate(y, time.October, 1)
	days := []Date{NewDate(y, time.January, 1), oct1, oct1 + 1, oct1 + 2}
	switch {
	case y >= 2025: // 春节 除夕..初三; 劳动节 1–2 May
		days = append(days, chuxi, ny, ny+1, ny+2, may1, may1+1)
	case y >= 2014: // 春节 初一..初三; 劳动节 1 May
		days = append(days, ny, ny+1, ny+2, may1)
	case y >= 2008: // 春节 除夕..初二; 劳动节 1 May
		days = append(days, chuxi, ny, ny+1, may1)
	default: // 春节 初一..初三; 劳动节 1–3 May; no 清明, 端午, 中秋
		return append(days, ny, ny+1, ny+2, may1, may1+1, may1+2)
	}
	return append(days, f.qingming, f.duanwu, f.midAutumn)
}
