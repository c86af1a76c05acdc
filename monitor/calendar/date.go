package calendar

import (
	"fmt"
	"time"
)

// China is mainland China time. China has kept UTC+8 without daylight saving
// since 1991, so a fixed zone is exact and needs no tzdata on the host.
var China = time.FixedZone("CST", 8*60*60)

// Date is a civil date in China, counted in days since 1970-01-01.
// It is a value type: comparable with <, ==, and cheap to add to.
type Date int32

const layout = "2006-01-02"

// NewDate returns the date y-m-d; out-of-range parts normalise like time.Date.
func NewDate(y int, m time.Month, d int) Date {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date(t.Unix() / 86400) // #nosec G115 -- int32 days reach 5.8 million years either way; dates come from 4-digit years
}

// DateOf returns the China date of the instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(China).Date()
	return NewDate(y, m, d)
}

// Today returns the current China date according to now.
func Today(now func() time.Time) Date { return DateOf(now()) }

// ParseDate reads a YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(layout, s)
	if err != nil {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return NewDate(t.Date()), nil
}

func (d Date) utc() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Civil returns the year, month and day.
func (d Date) Civil() (int, time.Month, int) { return d.utc().Date() }

// Year returns the year of d.
func (d Date) Year() int { return d.utc().Year() }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// AddDays returns d shifted by n calendar days.
func (d Date) AddDays(n int) Date { return d + Date(n) } // #nosec G115 -- callers shift by bounded day counts (bizdays caps N at 100,000)

// Start returns 00:00 China time on d.
func (d Date) Start() time.Time { return time.Unix(int64(d)*86400-8*3600, 0).In(China) }

// End returns 24:00 China time on d, which is the start of the next day.
func (d Date) End() time.Time { return (d + 1).Start() }

// DateEndingAt is the China date whose end (24:00) is t, as a deadline at
// midnight is named by the day it closes: the inverse of Date.End.
func DateEndingAt(t time.Time) Date { return DateOf(t.Add(-time.Nanosecond)) }

func (d Date) String() string { return d.utc().Format(layout) }

// MarshalText writes YYYY-MM-DD, so dates read naturally in JSON and YAML.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
