package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// importCSV writes n cancellations as an import file: websites and, one in
// ten, accesses, spread over every province, with distinct licences.
func importCSV(tb testing.TB, n int) string {
	tb.Helper()
	provinces := cancellation.Provinces()
	var b bytes.Buffer
	b.WriteString("kind,licence,domain,submitted,id,province,note\n")
	for i := range n {
		kind := "website"
		if i%10 == 0 {
			kind = "access"
		}
		fmt.Fprintf(&b, "%s,%sICP备%08d号-%d,site%d.example.com,2026-01-05,,,\n",
			kind, provinces[i%len(provinces)], 10000000+i/4, 1+i%4, i)
	}
	file := filepath.Join(tb.TempDir(), "import.csv")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// BenchmarkTrackImport100k is `icpmon track import` of 100,000 rows, in
// process so that pprof sees the whole command: CSV, checks, encoding and
// the store's one script. monitor/testing/icpbench measures the same with the binary.
func BenchmarkTrackImport100k(b *testing.B) {
	const n = 100_000
	file := importCSV(b, n)
	rs := redistest.Start(b)
	rdb := rs.Client(b)
	items := 0
	for b.Loop() {
		b.StopTimer()
		if err := rdb.FlushDB(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
		var stderr bytes.Buffer
		b.StartTimer()
		if code := run([]string{"track", "import", file, "--redis-url", rs.URL()}, nil, io.Discard, &stderr); code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
		items += n
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}
