package status_test

import (
	"slices"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/status"
)

func TestAssess(t *testing.T) {
	cal, err := calendar.New()
	if err != nil {
		t.Fatal(err)
	}
	lim := status.Limits{Default: 20, Province: map[string]int{"浙": 30}}
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, calendar.China) }
	// Submitted Friday 2025-09-26: the 20th business day after it is
	// 2025-10-30 (Golden Week off, Sunday 09-28 and Saturday 10-11 worked).
	cases := []struct {
		name        string
		province    string
		submitted   calendar.Date
		now         time.Time
		limit       int
		deadline    time.Time
		elapsed     int
		overdue     bool
		provisional []int
	}{
		{"the day before the deadline", "京", calendar.NewDate(2025, 9, 26), at(2025, 10, 29, 12), 20, at(2025, 10, 31, 0), 19, false, nil},
		{"the last minute of the deadline day", "京", calendar.NewDate(2025, 9, 26), at(2025, 10, 30, 23).Add(59 * time.Minute), 20, at(2025, 10, 31, 0), 20, false, nil},
		{"at 24:00 the review is overdue", "京", calendar.NewDate(2025, 9, 26), at(2025, 10, 31, 0), 20, at(2025, 10, 31, 0), 21, true, nil},
		{"Zhejiang has 30 business days", "浙", calendar.NewDate(2025, 9, 26), at(2025, 10, 31, 0), 30, at(2025, 11, 14, 0), 21, false, nil},
		// No source holds 2099 or 2100 (2027 came with lunar-go): 元旦 2100 alone.
		{"a deadline in a year without a schedule is provisional", "京", calendar.NewDate(2099, 12, 15), at(2099, 12, 20, 9), 20, at(2100, 1, 14, 0), 3, false, []int{2099, 2100}},
		{"2027 is official", "京", calendar.NewDate(2027, 1, 29), at(2027, 2, 10, 9), 20, at(2027, 3, 5, 0), 5, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := status.Assess(cal, lim, tc.submitted, tc.province, tc.now)
			if p.Limit != tc.limit || !p.Deadline.Equal(tc.deadline) || p.Elapsed != tc.elapsed || p.Overdue != tc.overdue || !slices.Equal(p.Provisional, tc.provisional) {
				t.Errorf("got limit %d deadline %v elapsed %d overdue %v provisional %v; want %d %v %d %v %v",
					p.Limit, p.Deadline, p.Elapsed, p.Overdue, p.Provisional, tc.limit, tc.deadline, tc.elapsed, tc.overdue, tc.provisional)
			}
		})
	}
}

// A regression: review.province_limits keys accept either prefix of a province
// with two; 浙 stays as it is.
func TestLimitsForProvinceAliases(t *testing.T) {
	lim := status.Limits{Default: 20, Province: map[string]int{"浙": 30, "云": 25, "黔": 22}}
	for province, want := range map[string]int{"浙": 30, "云": 25, "滇": 25, "黔": 22, "贵": 22, "京": 20, "川": 20, "蜀": 20} {
		if got := lim.For(province); got != want {
			t.Errorf("For(%s) = %d, want %d", province, got, want)
		}
	}
	// the prefix's own limit comes first
	both := status.Limits{Default: 20, Province: map[string]int{"云": 25, "滇": 27}}
	if both.For("云") != 25 || both.For("滇") != 27 {
		t.Errorf("own limits: %d %d", both.For("云"), both.For("滇"))
	}
}
