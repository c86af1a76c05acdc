package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// fuzzImport checks what an import promises for any file: no panic, rows in
// line order, and every row that passes the checks makes a cancellation the
// store would accept.
func fuzzImport(t *testing.T, name string, b []byte) {
	rows, err := parseImport(name, b)
	if err != nil {
		return
	}
	for i, r := range rows {
		if r.line < 1 || (i > 0 && r.line <= rows[i-1].line) {
			t.Fatalf("row %d on line %d after line %d", i, r.line, rows[max(i-1, 0)].line)
		}
	}
	today := calendar.NewDate(2026, time.November, 27)
	cs, err := importCancellations(rows, today, cancellation.DefaultMaxDomains)
	if err != nil {
		return
	}
	for i, c := range cs {
		if c.ID == "" {
			c.ID = cancellation.NewID()
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("line %d passed the import checks but the store would refuse it: %v", rows[i].line, err)
		}
		if err := c.CheckLimits(cancellation.DefaultMaxDomains); err != nil {
			t.Fatalf("line %d passed the import checks but exceeds a limit: %v", rows[i].line, err)
		}
		if c.Submitted > today {
			t.Fatalf("line %d: future date %s accepted", rows[i].line, c.Submitted)
		}
	}
}

func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", "import", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzImportCSV(f *testing.F) {
	addSeeds(f, "*.csv")
	f.Add([]byte("kind,licence,submitted\n\"website\",\"京ICP备1234567号-1\",2025-01-01\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzImport(t, "f.csv", b) })
}

func FuzzImportYAML(f *testing.F) {
	addSeeds(f, "*.yml")
	f.Add([]byte("- {kind: subject, licence: 京ICP备12345678号, submitted: 2025-01-01, domain: ~}\n"))
	f.Add([]byte("- &a {kind: website}\n- *a\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzImport(t, "f.yml", b) })
}
