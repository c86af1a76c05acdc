package calendar

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Source names where a year's days come from. For each notice year the
// calendar takes the first that holds it: extra files, holiday-cn, lunar-go,
// and else the statutory model.
type Source string

const (
	// SourceExtraFile is calendar.extra_files; it amends the official
	// source beneath it date by date, or stands alone.
	SourceExtraFile Source = "extra-file"
	// SourceHolidayCN is the embedded NateScarlet/holiday-cn snapshot (data/).
	SourceHolidayCN Source = "holiday-cn"
	// SourceLunarGo is the official table of 6tail/lunar-go (HolidayUtil).
	SourceLunarGo Source = "lunar-go"
	// SourceStatutory is no schedule at all: weekends and the statutory
	// holidays, without 调休 makeup workdays. Answers on it are provisional.
	SourceStatutory Source = "statutory"
)

// YearSource says how the days of one notice year are counted.
type YearSource struct {
	Year     int    `json:"year"`
	Source   Source `json:"source"`
	Official bool   `json:"official"`
	// Files are the extra files that list days of the year, in load order.
	Files []string `json:"files,omitempty"`
	// Over is the official source that Files amend; "" when they stand alone.
	Over Source `json:"over,omitempty"`
	// LunarGoVersion is the lunar-go module version where lunar-go is the
	// source or what Files amend, when the binary records it.
	LunarGoVersion string `json:"lunar_go_version,omitempty"`
}

// String describes the source as operators read it, without the year.
func (y YearSource) String() string {
	name := func(s Source) string {
		switch s {
		case SourceHolidayCN:
			return "holiday-cn (embedded)"
		case SourceLunarGo:
			return strings.TrimSpace("lunar-go " + y.LunarGoVersion)
		}
		return string(s)
	}
	switch y.Source {
	case SourceExtraFile:
		s := "extra file " + strings.Join(y.Files, ", ")
		if y.Over != "" {
			s += " over " + name(y.Over)
		}
		return s
	case SourceStatutory:
		return "provisional: statutory holidays only, makeup workdays unknown"
	}
	return name(y.Source)
}

// YearRun is a run of consecutive years counted on the same source.
type YearRun struct {
	First, Last int
	Source      YearSource // Source.Year is First
}

func (r YearRun) String() string {
	if r.First == r.Last {
		return fmt.Sprintf("%d %s", r.First, r.Source)
	}
	return fmt.Sprintf("%d-%d %s", r.First, r.Last, r.Source)
}

// Year returns the source of notice year y.
func (c *Calendar) Year(y int) YearSource {
	if s, ok := c.years[y]; ok {
		return s
	}
	return YearSource{Year: y, Source: SourceStatutory}
}

// Years returns every year from the first official one to the year after
// the last, ascending: the years before and after are all provisional.
func (c *Calendar) Years() []YearSource {
	if len(c.years) == 0 {
		return nil
	}
	first, last := c.firstOfficial(), c.covered.Year()
	out := make([]YearSource, 0, last-first+2)
	for y := first; y <= last+1; y++ {
		out = append(out, c.Year(y))
	}
	return out
}

// Runs groups the years from the first to the last official one by source,
// for a summary; every other year is provisional.
func (c *Calendar) Runs() []YearRun {
	var runs []YearRun
	for _, y := range c.Years() {
		if y.Year > c.covered.Year() {
			break
		}
		if n := len(runs); n > 0 && runs[n-1].Source.String() == y.String() {
			runs[n-1].Last = y.Year
			continue
		}
		runs = append(runs, YearRun{First: y.Year, Last: y.Year, Source: y})
	}
	return runs
}

func (c *Calendar) firstOfficial() int {
	first := c.covered.Year()
	for y := range c.years {
		first = min(first, y)
	}
	return first
}

// yearSources decides each notice year's source: holiday-cn where its file
// lists days, else lunar-go, then the extra files over either, in order.
func yearSources(holidayCN, lunarGo, extra []schedule, lunarGoVersion string) (map[int]YearSource, []schedule) {
	base := map[int]schedule{}
	for _, set := range [][]schedule{lunarGo, holidayCN} { // later sets win
		for _, s := range set {
			if s.official() {
				base[s.year] = s
			}
		}
	}
	years := map[int]YearSource{}
	ordered := make([]schedule, 0, len(base)+len(extra))
	for _, y := range slices.Sorted(maps.Keys(base)) {
		s := base[y]
		ys := YearSource{Year: y, Source: s.source, Official: true}
		if s.source == SourceLunarGo {
			ys.LunarGoVersion = lunarGoVersion
		}
		years[y] = ys
		ordered = append(ordered, s)
	}
	for _, s := range extra {
		if !s.official() {
			continue // a placeholder neither makes a year official nor unmakes one
		}
		ys, ok := years[s.year]
		if !ok {
			ys = YearSource{Year: s.year, Official: true}
		} else if ys.Source != SourceExtraFile {
			ys.Over = ys.Source
		}
		ys.Source = SourceExtraFile
		ys.Files = append(slices.Clone(ys.Files), s.name)
		years[s.year] = ys
		ordered = append(ordered, s)
	}
	return years, ordered
}
