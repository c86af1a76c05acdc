package calendar

import "testing"

// Spans of one month and five years, all inside the official schedules, so
// the naive walk gives the same answers.
var benchSpans = []struct {
	name     string
	from, to string
}{
	{"1m", "2025-09-26", "2025-10-31"},
	{"5y", "2020-01-01", "2024-12-31"},
}

// benchCase is a span and the n that AddBusinessDays covers it with.
type benchCase struct {
	name     string
	from, to Date
	n        int
}

// benchSpan runs run as a sub-benchmark for each span, with the calendar
// and the naive reference.
func benchSpan(b *testing.B, run func(b *testing.B, c *Calendar, ref reference, tc benchCase)) {
	c, ref := newCalendar(b), newReference(b)
	for _, s := range benchSpans {
		from, to := date(b, s.from), date(b, s.to)
		tc := benchCase{s.name, from, to, ref.count(from, to)}
		b.Run(tc.name, func(b *testing.B) { run(b, c, ref, tc) })
	}
}

func BenchmarkAddBusinessDays(b *testing.B) {
	benchSpan(b, func(b *testing.B, c *Calendar, ref reference, tc benchCase) {
		want := ref.add(tc.from, tc.n)
		for b.Loop() {
			if c.AddBusinessDays(tc.from, tc.n) != want {
				b.Fatal("wrong answer")
			}
		}
	})
}

func BenchmarkNaiveAdd(b *testing.B) {
	benchSpan(b, func(b *testing.B, _ *Calendar, ref reference, tc benchCase) {
		for b.Loop() {
			ref.add(tc.from, tc.n)
		}
	})
}

func BenchmarkCountBusinessDays(b *testing.B) {
	benchSpan(b, func(b *testing.B, c *Calendar, _ reference, tc benchCase) {
		for b.Loop() {
			if c.CountBusinessDays(tc.from, tc.to) != tc.n {
				b.Fatal("wrong answer")
			}
		}
	})
}

func BenchmarkNaiveCount(b *testing.B) {
	benchSpan(b, func(b *testing.B, _ *Calendar, ref reference, tc benchCase) {
		for b.Loop() {
			ref.count(tc.from, tc.to)
		}
	})
}

// BenchmarkNew is the cost of loading the schedules once the lunar table exists.
func BenchmarkNew(b *testing.B) {
	newCalendar(b)
	for b.Loop() {
		newCalendar(b)
	}
}
