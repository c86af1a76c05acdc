package calendar

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/icpmon/icpmon/monitor/regularfile"
)

// The calendar answers for the years a YYYY-MM-DD date can spell. Outside
// them there is no meaningful holiday law, and lunar-go is not checked there.
const (
	MinDate Date = -719528 // 0000-01-01
	MaxDate Date = 2932896 // 9999-12-31
)

// Years of the precomputed window: every date an ICP filing can have (filing
// began in 2005) and the deadlines that follow, answered from one prefix array.
const (
	windowFirstYear = 2000
	windowLastYear  = 2100
)

// ErrOutOfRange reports an answer that would fall outside MinDate..MaxDate.
var ErrOutOfRange = errors.New("date outside the calendar's range 0000-01-01..9999-12-31")

// Calendar tells business days apart. A notice year is official when one of
// the official sources holds its schedule (see Source: extra files, then
// holiday-cn, then lunar-go); every other year is provisional: weekends plus
// the statutory holidays, with no 调休 swaps.
// A Calendar is immutable after construction and safe for concurrent use.
type Calendar struct {
	listed  map[Date]bool      // dates the schedules list: true = day off, false = makeup workday
	years   map[int]YearSource // notice years with an official schedule
	covered Date               // the last day of the last official year
	window  span               // windowFirstYear..windowLastYear, precomputed
}

// New builds a calendar from the official sources followed by extra
// holiday-cn JSON documents; where two documents list a date, the later wins.
func New(extra ...[]byte) (*Calendar, error) {
	var scheds []schedule
	for i, b := range extra {
		s, err := parseSchedule(fmt.Sprintf("extra document %d", i+1), b)
		if err != nil {
			return nil, err
		}
		scheds = append(scheds, s)
	}
	return withOfficialSources(scheds)
}

// maxHolidayFileBytes bounds one extra file: a year of holiday-cn is about
// 5 KB, and a path at /dev/zero must not take all memory.
const maxHolidayFileBytes = 4 << 20

// Load is New with the extra documents read from files, in order.
func Load(extraFiles []string) (*Calendar, error) {
	var scheds []schedule
	for _, name := range extraFiles {
		b, err := regularfile.Read(name, maxHolidayFileBytes)
		if err != nil {
			return nil, fmt.Errorf("read holiday file: %w", err)
		}
		s, err := parseSchedule(name, b)
		if err != nil {
			return nil, err
		}
		scheds = append(scheds, s)
	}
	return withOfficialSources(scheds)
}

// withOfficialSources builds the calendar of the embedded holiday-cn files
// and lunar-go's table under the extra schedules.
func withOfficialSources(extra []schedule) (*Calendar, error) {
	holidayCN, err := embeddedSchedules()
	if err != nil {
		return nil, err
	}
	lunarGo, err := lunarGoSchedules()
	if err != nil {
		return nil, err
	}
	for i := range extra {
		extra[i].source = SourceExtraFile
	}
	return build(holidayCN, lunarGo, extra, lunarGoVersion()), nil
}

func build(holidayCN, lunarGo, extra []schedule, lunarGoVersion string) *Calendar {
	years, scheds := yearSources(holidayCN, lunarGo, extra, lunarGoVersion)
	c := &Calendar{listed: map[Date]bool{}, years: years}
	lastYear := MinDate.Year() - 1
	for y := range years {
		lastYear = max(lastYear, y)
	}
	for _, s := range scheds {
		for _, d := range s.days {
			c.listed[d.date] = d.offDay
		}
	}
	c.covered = NewDate(lastYear, time.December, 31)
	c.window = c.buildSpan(windowFirstYear, windowLastYear)
	return c
}

// IsBusinessDay reports whether d is a working day. It panics if d is
// outside MinDate..MaxDate.
func (c *Calendar) IsBusinessDay(d Date) bool {
	return c.spanAt(d).isBusinessDay(d)
}

// AddBusinessDays returns the n-th business day after d, or for n < 0 the
// -n-th business day before it; d itself never counts, and n == 0 returns d.
// It panics if the answer lies outside MinDate..MaxDate; use NthBusinessDay
// for numbers a user typed.
func (c *Calendar) AddBusinessDays(d Date, n int) Date {
	r, err := c.NthBusinessDay(d, n)
	if err != nil {
		panic("calendar: " + err.Error())
	}
	return r
}

// NthBusinessDay is AddBusinessDays returning an error instead of panicking:
// ErrOutOfRange when the answer would lie outside MinDate..MaxDate.
func (c *Calendar) NthBusinessDay(d Date, n int) (Date, error) {
	switch {
	case n < 0:
		return c.nthBefore(d, -n)
	case n == 0:
		return d, nil
	}
	outside := func() error { return fmt.Errorf("%d business days after %s: %w", n, d, ErrOutOfRange) }
	if d < MinDate-1 || d >= MaxDate {
		return 0, outside()
	}
	for x, left := d+1, n; ; {
		s := c.spanAt(x)
		if r, ok := s.nth(x, left); ok {
			return r, nil
		}
		if s.last() == MaxDate {
			return 0, outside()
		}
		left -= s.count(x, s.last())
		x = s.last() + 1
	}
}

// nthBefore returns the n-th (n >= 1) business day before d, walking spans
// backwards as NthBusinessDay walks them forwards.
func (c *Calendar) nthBefore(d Date, n int) (Date, error) {
	outside := func() error { return fmt.Errorf("%d business days before %s: %w", n, d, ErrOutOfRange) }
	if n < 0 || d <= MinDate || d > MaxDate+1 { // n < 0: -math.MinInt overflowed
		return 0, outside()
	}
	for x, left := d-1, n; ; {
		s := c.spanAt(x)
		if r, ok := s.nthBack(x, left); ok {
			return r, nil
		}
		if s.first == MinDate {
			return 0, outside()
		}
		left -= s.count(s.first, x)
		x = s.first - 1
	}
}

// CountBusinessDays returns the number of business days x with
// from < x <= to; 0 if to <= from. It panics if the days counted reach
// outside MinDate..MaxDate.
func (c *Calendar) CountBusinessDays(from, to Date) int {
	total := 0
	for x := from + 1; x <= to; {
		s := c.spanAt(x)
		end := min(to, s.last())
		total += s.count(x, end)
		x = end + 1
	}
	return total
}

// Deadline returns the end (24:00 China time) of the n-th business day after
// d: the instant a review limit of n business days runs out. It panics where
// AddBusinessDays does.
func (c *Calendar) Deadline(d Date, n int) time.Time {
	return c.AddBusinessDays(d, n).End()
}

// CoveredUntil returns the last day of the last year whose official schedule
// is loaded.
func (c *Calendar) CoveredUntil() Date { return c.covered }

// Provisional returns the years in [from, to], ascending, that have no
// official schedule: answers touching them may miss 调休 swaps.
func (c *Calendar) Provisional(from, to Date) []int {
	var years []int
	for y := from.Year(); from <= to && y <= to.Year(); y++ {
		if _, ok := c.years[y]; !ok {
			years = append(years, y)
		}
	}
	return years
}

// spanAt returns precomputed counts covering d: the window, or d's year
// computed on demand.
func (c *Calendar) spanAt(d Date) span {
	if c.window.contains(d) {
		return c.window
	}
	if d < MinDate || d > MaxDate {
		panic(fmt.Sprintf("calendar: %s: %v", d, ErrOutOfRange))
	}
	y := d.Year()
	return c.buildSpan(y, y)
}

// buildSpan classifies every day of the years first..last: listed dates as
// listed; otherwise Monday to Friday, less the statutory holidays in a year
// without an official schedule.
func (c *Calendar) buildSpan(first, last int) span {
	start, end := NewDate(first, time.January, 1), NewDate(last, time.December, 31)
	business := make([]bool, end-start+1)
	for i := range business {
		wd := (start + Date(i)).Weekday()
		business[i] = wd != time.Saturday && wd != time.Sunday
	}
	for y := first; y <= last; y++ {
		if _, ok := c.years[y]; ok {
			continue
		}
		for _, h := range statutoryHolidays(y, festivalsFor(y)) {
			// Lunar-go's ancient calendars can put a festival in a
			// neighbouring year; a date belongs to its own year's rules only.
			if h.Year() == y {
				business[h-start] = false
			}
		}
	}
	for d, off := range c.listed {
		if d >= start && d <= end {
			business[d-start] = !off
		}
	}
	return newSpan(start, business)
}

// span holds prefix counts of business days over consecutive dates.
type span struct {
	first  Date
	prefix []int32 // prefix[i]: business days in [first, first+i)
}

func newSpan(first Date, business []bool) span {
	prefix := make([]int32, len(business)+1)
	for i, b := range business {
		prefix[i+1] = prefix[i]
		if b {
			prefix[i+1]++
		}
	}
	return span{first: first, prefix: prefix}
}

func (s span) last() Date { return s.first + Date(len(s.prefix)) - 2 } // #nosec G115 -- a span holds the days of the loaded years, far below 2^31

func (s span) contains(d Date) bool { return d >= s.first && d <= s.last() }

func (s span) isBusinessDay(d Date) bool {
	i := d - s.first
	return s.prefix[i+1] > s.prefix[i]
}

// count returns the business days in [a, b], both inside s.
func (s span) count(a, b Date) int {
	return int(s.prefix[b-s.first+1] - s.prefix[a-s.first])
}

// nth returns the n-th (n >= 1) business day counting from a itself, if s
// holds it.
func (s span) nth(a Date, n int) (Date, bool) {
	base := int(s.prefix[a-s.first])
	if int(s.prefix[len(s.prefix)-1])-base < n {
		return 0, false
	}
	// The smallest i with prefix[i+1] >= base+n is the day that reaches n.
	i := sort.Search(len(s.prefix)-1, func(i int) bool { return int(s.prefix[i+1])-base >= n })
	return s.first + Date(i), true // #nosec G115 -- i indexes the span's days, far below 2^31
}

// nthBack returns the n-th (n >= 1) business day counting backwards from b
// itself, if s holds it: the (k-n+1)-th of the k business days up to b.
func (s span) nthBack(b Date, n int) (Date, bool) {
	k := s.count(s.first, b)
	if k < n {
		return 0, false
	}
	return s.nth(s.first, k-n+1)
}
