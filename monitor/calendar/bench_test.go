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

// benchCases turns each span into the n that AddBusinessDays covers it with.
func benchCases(b *testing.B) (c *Calendar, ref reference, cases []struct {
	name     string
	from, to Date
	n        int
}) {
	c, ref = newCalendar(b), newReference(b)
	for _, s := range benchSpans {
		from, to := date(b, s.from), date(b, s.to)
		cases = append(cases, struct {
			name     string
			from, to Date
			n        int
		}{s.name, from, to, ref.count(from, to)})
	}
	return c, ref, cases
}

func BenchmarkAddBusinessDays(b *testing.B) {
	c, ref, cases := benchCases(b)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			want := ref.add(tc.from, tc.n)
			for b.Loop() {
				if c.AddBusinessDays(tc.from, tc.n) != want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

func BenchmarkNaiveAdd(b *testing.B) {
	_, ref, cases := benchCases(b)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				ref.add(tc.from, tc.n)
			}
		})
	}
}

func BenchmarkCountBusinessDays(b *testing.B) {
	c, _, cases := benchCases(b)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if c.CountBusinessDays(tc.from, tc.to) != tc.n {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

func BenchmarkNaiveCount(b *testing.B) {
	_, ref, cases := benchCases(b)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				ref.count(tc.from, tc.to)
			}
		})
	}
}

// BenchmarkNew is the cost of loading the schedules once the lunar table exists.
func BenchmarkNew(b *testing.B) {
	newCalendar(b)
	for b.Loop() {
		newCalendar(b)
	}
}
