package calendar

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// reference is the naive calendar the issue describes, written apart from the
// package's code: the listed dates of every shipped holiday-cn file that
// lists days, else of lunar-go's table for that notice year, else Monday to
// Friday, walked one day at a time. It knows no provisional rules, so it is
// only right from the first to the last year those sources hold.
type reference struct {
	listed      map[Date]bool // true = day off
	first, last int           // the notice years held
}

func newReference(t testing.TB) reference {
	t.Helper()
	files, err := filepath.Glob("data/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no data files: %v", err)
	}
	parse := func(s string) Date {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return Date(tm.Unix() / 86400)
	}
	r := reference{listed: map[Date]bool{}, first: 9999}
	held := func(y int) { r.first, r.last = min(r.first, y), max(r.last, y) }
	fromHolidayCN := map[int]bool{}
	for _, f := range files {
		var doc struct {
			Year int `json:"year"`
			Days []struct {
				Date     string `json:"date"`
				IsOffDay bool   `json:"isOffDay"`
			} `json:"days"`
		}
		if err := json.Unmarshal(readFile(t, f), &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range doc.Days {
			r.listed[parse(d.Date)] = d.IsOffDay
		}
		if len(doc.Days) > 0 {
			fromHolidayCN[doc.Year] = true
			held(doc.Year)
		}
	}
	// lunar-go's records by the year they are listed in; each belongs to its
	// target holiday's notice year.
	for y := 1990; y <= 2100; y++ {
		for e := HolidayUtil.GetHolidaysByYear(y).Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			notice := parse(h.GetTarget()).Year()
			if !fromHolidayCN[notice] {
				r.listed[parse(h.GetDay())] = !h.IsWork()
				held(notice)
			}
		}
	}
	return r
}

func (r reference) isBusinessDay(d Date) bool {
	if off, ok := r.listed[d]; ok {
		return !off
	}
	wd := time.Unix(int64(d)*86400, 0).UTC().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

func (r reference) add(d Date, n int) Date {
	for n > 0 {
		d++
		if r.isBusinessDay(d) {
			n--
		}
	}
	return d
}

func (r reference) count(from, to Date) int {
	n := 0
	for d := from + 1; d <= to; d++ {
		if r.isBusinessDay(d) {
			n++
		}
	}
	return n
}

// Every day of the covered range, against the naive walk.
func TestAgreesWithNaiveWalk(t *testing.T) {
	c, ref := newCalendar(t), newReference(t)
	first, last := NewDate(ref.first, time.January, 1), c.CoveredUntil()
	if want := NewDate(ref.last, time.December, 31); last != want || ref.first > 2019 || ref.last < 2027 {
		t.Fatalf("CoveredUntil() = %s, the sources hold %d..%d", last, ref.first, ref.last)
	}
	for a := first; a <= last; a++ {
		if got, want := c.IsBusinessDay(a), ref.isBusinessDay(a); got != want {
			t.Fatalf("IsBusinessDay(%s) = %v, naive walk says %v", a, got, want)
		}
		for _, n := range []int{0, 1, 2, 3, 5, 10, 20, 30, 60} {
			want := ref.add(a, n)
			if want > last {
				break
			}
			if got := c.AddBusinessDays(a, n); got != want {
				t.Fatalf("AddBusinessDays(%s, %d) = %s, naive walk says %s", a, n, got, want)
			}
		}
		for _, k := range []Date{-1, 0, 1, 2, 7, 31, 92, 365} {
			b := min(a+k, last)
			if got, want := c.CountBusinessDays(a, b), ref.count(a, b); got != want {
				t.Fatalf("CountBusinessDays(%s, %s) = %d, naive walk says %d", a, b, got, want)
			}
		}
	}
}
