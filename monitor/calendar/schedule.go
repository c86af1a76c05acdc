package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// embedded holds the official schedules shipped with the binary; see data/README.md.
//
//go:embed data/*.json
var embedded embed.FS

// schedule is one holiday-cn document: the State Council notice for one year.
type schedule struct {
	name   string // where it came from, for errors and for YearSource.Files
	source Source
	year   int // the notice year
	days   []scheduledDay
}

// scheduledDay is a listed date: a day off, or (offDay false) a 调休 makeup working day.
type scheduledDay struct {
	date   Date
	offDay bool
}

// official reports whether the document holds a published schedule rather than a placeholder.
func (s schedule) official() bool { return len(s.days) > 0 }

// holidayCNFile mirrors the holiday-cn JSON; pointers tell a missing field from a zero one.
type holidayCNFile struct {
	Year *int `json:"year"`
	Days *[]struct {
		Name     string  `json:"name"`
		Date     *string `json:"date"`
		IsOffDay *bool   `json:"isOffDay"`
	} `json:"days"`
}

// embeddedSchedules reads the shipped files in name order, that is by year.
func embeddedSchedules() ([]schedule, error) {
	entries, err := embedded.ReadDir("data")
	if err != nil {
		return nil, fmt.Errorf("read embedded holiday data: %w", err)
	}
	var out []schedule
	for _, e := range entries {
		name := path.Join("data", e.Name())
		b, err := embedded.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded holiday data: %w", err)
		}
		s, err := parseSchedule(name, b)
		if err != nil {
			return nil, fmt.Errorf("embedded holiday data: %w", err)
		}
		s.source = SourceHolidayCN
		out = append(out, s)
	}
	return out, nil
}

// parseSchedule reads and checks one holiday-cn document. A file named
// NNNN.json must hold the year NNNN, so a misnamed copy is caught early.
func parseSchedule(name string, data []byte) (schedule, error) {
	fail := func(format string, args ...any) (schedule, error) {
		return schedule{}, fmt.Errorf("holiday file %q: %s", name, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var f holidayCNFile
	if err := dec.Decode(&f); err != nil {
		return fail("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("invalid JSON: unexpected data after the document")
	}
	if f.Year == nil {
		return fail(`no "year"`)
	}
	if f.Days == nil {
		return fail(`no "days" list`)
	}
	year := *f.Year
	if year <= MinDate.Year() || year > MaxDate.Year() {
		return fail("year %d is outside %d..%d", year, MinDate.Year()+1, MaxDate.Year())
	}
	if stem, ok := strings.CutSuffix(path.Base(filepath.ToSlash(name)), ".json"); ok {
		if n, err := strconv.Atoi(stem); err == nil && n != year {
			return fail("its year is %d but its name says %d", year, n)
		}
	}
	// A notice for year Y also schedules the last days of December Y-1.
	first, last := NewDate(year-1, time.December, 1), NewDate(year, time.December, 31)
	s := schedule{name: name, year: year, days: make([]scheduledDay, 0, len(*f.Days))}
	seen := make(map[Date]bool, len(*f.Days))
	for i, d := range *f.Days {
		if d.Date == nil || d.IsOffDay == nil {
			return fail(`day %d: "date" and "isOffDay" are both required`, i+1)
		}
		date, err := ParseDate(*d.Date)
		if err != nil {
			return fail("day %d: %v", i+1, err)
		}
		if date < first || date > last {
			return fail("day %d: %s does not belong to the %d schedule (%s..%s)", i+1, date, year, first, last)
		}
		if seen[date] {
			return fail("day %d: %s is listed twice", i+1, date)
		}
		seen[date] = true
		s.days = append(s.days, scheduledDay{date: date, offDay: *d.IsOffDay})
	}
	return s, nil
}
