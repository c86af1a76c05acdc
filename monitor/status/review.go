package status

import (
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// Limits is the review limit in business days, by licence province prefix.
type Limits struct {
	Default  int
	Province map[string]int // e.g. {"浙": 30}
}

// For returns the limit that applies to province. A limit set for either
// prefix of a province with two (云 and 滇, 贵 and 黔, 川 and 蜀, 甘 and 陇)
// applies to both; one set for the prefix itself comes first.
func (l Limits) For(province string) int {
	if n, ok := l.Province[province]; ok {
		return n
	}
	for _, p := range cancellation.Spellings(province)[1:] {
		if n, ok := l.Province[p]; ok {
			return n
		}
	}
	return l.Default
}

// Progress is where a review stands.
type Progress struct {
	Limit    int       // business days allowed
	Deadline time.Time // end (24:00 China time) of the Limit-th business day after submission
	Elapsed  int       // business days d with submitted < d <= today
	Overdue  bool      // now is past Deadline
	// Provisional lists the years the answer relies on that have no official
	// holiday schedule loaded: the deadline may move when one is published.
	Provisional []int
}

// Assess measures a review submitted on submitted, in province, at now.
func Assess(cal *calendar.Calendar, lim Limits, submitted calendar.Date, province string, now time.Time) Progress {
	limit := lim.For(province)
	today := calendar.DateOf(now)
	last := cal.AddBusinessDays(submitted, limit)
	deadline := last.End()
	span := max(last, today)
	return Progress{
		Limit:       limit,
		Deadline:    deadline,
		Elapsed:     cal.CountBusinessDays(submitted, today),
		Overdue:     now.After(deadline) || now.Equal(deadline),
		Provisional: cal.Provisional(submitted, span),
	}
}
