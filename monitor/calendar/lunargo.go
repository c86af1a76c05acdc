package calendar

import (
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// lunarGoModule is the module whose HolidayUtil table is the second official source.
const lunarGoModule = "github.com/6tail/lunar-go"

// lunarGoSchedules reads 6tail/lunar-go's table of official holidays
// (HolidayUtil), one schedule per notice year, in year order. Its years come
// from the table itself, so a lunar-go release with a new notice brings that
// year without a change here.
func lunarGoSchedules() ([]schedule, error) {
	byYear := map[int]*schedule{}
	seen := map[Date]bool{}
	// GetHolidays matches the start of a record's date; the ten digits reach
	// every record of the table, whatever years it holds.
	for _, prefix := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		for e := HolidayUtil.GetHolidays(prefix).Front(); e != nil; e = e.Next() {
			h, ok := e.Value.(*HolidayUtil.Holiday)
			if !ok {
				return nil, fmt.Errorf("lunar-go holiday table: unexpected entry %T", e.Value)
			}
			day, err := ParseDate(h.GetDay())
			if err != nil {
				return nil, fmt.Errorf("lunar-go holiday table: %w", err)
			}
			target, err := ParseDate(h.GetTarget())
			if err != nil {
				return nil, fmt.Errorf("lunar-go holiday table: %s: target: %w", day, err)
			}
			// A record names the holiday it belongs to; that holiday's year is
			// the notice year, as holiday-cn files them (2017-12-30 → 2018).
			year := target.Year()
			if first, last := NewDate(year-1, time.December, 1), NewDate(year, time.December, 31); day < first || day > last {
				return nil, fmt.Errorf("lunar-go holiday table: %s (%s) does not belong to the %d schedule", day, h.GetName(), year)
			}
			if seen[day] {
				return nil, fmt.Errorf("lunar-go holiday table: %s is listed twice", day)
			}
			seen[day] = true
			s := byYear[year]
			if s == nil {
				s = &schedule{name: "lunar-go", source: SourceLunarGo, year: year}
				byYear[year] = s
			}
			s.days = append(s.days, scheduledDay{date: day, offDay: !h.IsWork()})
		}
	}
	out := make([]schedule, 0, len(byYear))
	for _, s := range byYear {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].year < out[j].year })
	return out, nil
}

// lunarGoVersion is the lunar-go version compiled in, from the build
// information; "" where it is absent (test binaries).
func lunarGoVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range info.Deps {
		if m.Path == lunarGoModule {
			if m.Replace != nil {
				m = m.Replace
			}
			return m.Version
		}
	}
	return ""
}
