package metrics

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/icpmon/icpmon/monitor/status"
)

// Exposition holds the last published snapshot, encoded once: at 100,000
// cancellations it is over a million series, which no scrape could afford to
// rebuild, sort and compress within the goal of BENCHMARKS.md (scrape p99
// under 500 ms at 100,000 cancellations).
type Exposition struct {
	current atomic.Pointer[encoded]
}

// encoded is one snapshot in the text format, deflated only: the plain text
// is about 20 times larger (100 MB at 100,000 cancellations) and only a
// scrape that refuses gzip needs it, so such a scrape inflates it. The
// deflate stream ends with a sync flush, not a final block, so that a scrape
// can continue the same gzip member with the registry's few families.
type encoded struct {
	snap    *status.Snapshot
	deflate []byte
	size    int    // bytes of text
	crc     uint32 // CRC-32 of the text, which the gzip trailer extends
}

// finalBlock is an empty final stored block: it ends a deflate stream that
// stopped at a sync flush (which leaves it byte-aligned).
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// textSink passes text on to the compressor, counting it and its CRC.
type textSink struct {
	w    io.Writer
	size int
	crc  uint32
}

func (t *textSink) Write(p []byte) (int, error) {
	t.size += len(p)
	t.crc = crc32.Update(t.crc, crc32.IEEETable, p)
	return t.w.Write(p)
}

// Publish encodes s with the per-cancellation series p names ("" is the
// default, AlertingSeries) and makes it what scrapes and the status page
// see. s must not change afterwards. The text goes to the compressor a
// chunk at a time and is never held whole; writing the text and
// compressing it are each about half of the work, so they run at once, on
// two cores.
func (e *Exposition) Publish(s *status.Snapshot, p PerCancellation) {
	var z bytes.Buffer
	if old := e.current.Load(); old != nil {
		// Size the buffer once: growing it by appends copies it many times.
		z.Grow(len(old.deflate) + len(old.deflate)/8)
	}
	fw, _ := flate.NewWriter(&z, flate.BestSpeed) // the level is valid
	sink := &textSink{w: fw}
	q := &chunkQueue{full: make(chan []byte, 4), empty: make(chan []byte, 4)}
	compressed := make(chan struct{})
	go func() {
		defer close(compressed)
		for chunk := range q.full {
			_, _ = sink.Write(chunk) // writes to a bytes.Buffer cannot fail
			select {
			case q.empty <- chunk[:0]:
			default:
			}
		}
	}()
	writeText(q, s, p)
	close(q.full)
	<-compressed
	_ = fw.Flush()
	e.current.Store(&encoded{snap: s, deflate: z.Bytes(), size: sink.size, crc: sink.crc})
}

// Refresh replaces the published snapshot with s, whose series are the
// ones already encoded (status.Change.State false: only probe times moved),
// without encoding them again; it publishes s when nothing was published.
func (e *Exposition) Refresh(s *status.Snapshot, p PerCancellation) {
	cur := e.current.Load()
	if cur == nil {
		e.Publish(s, p)
		return
	}
	next := *cur
	next.snap = s
	e.current.Store(&next)
}

// chunkQueue hands copies of the text to the compressing goroutine,
// reusing the buffers it gives back.
type chunkQueue struct{ full, empty chan []byte }

func (q *chunkQueue) Write(p []byte) (int, error) {
	var buf []byte
	select {
	case buf = <-q.empty:
	default:
		buf = make([]byte, 0, len(p))
	}
	q.full <- append(buf, p...)
	return len(p), nil
}

// Snapshot returns the last published snapshot, or nil before the first.
func (e *Exposition) Snapshot() *status.Snapshot {
	if c := e.current.Load(); c != nil {
		return c.snap
	}
	return nil
}

// Handler serves the snapshot's families followed by those of reg in the
// text format, gzipped when the client accepts it. A failing collector is
// logged and left out; the rest is still served.
func Handler(reg prometheus.Gatherer, e *Exposition, logger *slog.Logger) http.Handler {
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	writers := sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs, err := reg.Gather()
		if err != nil {
			logger.Error("gather metrics", "err", err)
		}
		var live bytes.Buffer
		enc := expfmt.NewEncoder(&live, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				logger.Error("encode metrics", "family", mf.GetName(), "err", err)
			}
		}
		cur := e.current.Load()
		if cur == nil {
			cur = &encoded{}
		}
		w.Header().Set("Content-Type", string(format))
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) || cur.deflate == nil {
			if cur.deflate != nil {
				text := flate.NewReader(io.MultiReader(bytes.NewReader(cur.deflate), bytes.NewReader(finalBlock)))
				if _, err := io.Copy(w, text); err != nil { // #nosec G110 -- inflates what this process deflated itself, never outside input
					logger.Error("inflate the exposition", "err", err) // the client sees a short body
					return
				}
			}
			_, _ = w.Write(live.Bytes())
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		// One gzip member: header, the snapshot's stored deflate blocks, the
		// live part's blocks ending in the final one, then the trailer.
		_, _ = w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255})
		_, _ = w.Write(cur.deflate)
		fw := writers.Get().(*flate.Writer)
		defer writers.Put(fw)
		fw.Reset(w)
		_, _ = fw.Write(live.Bytes())
		_ = fw.Close()
		var trailer [8]byte
		binary.LittleEndian.PutUint32(trailer[:4], crc32.Update(cur.crc, crc32.IEEETable, live.Bytes()))
		binary.LittleEndian.PutUint32(trailer[4:], uint32(cur.size+live.Len())) // #nosec G115 -- gzip's ISIZE is the length modulo 2^32 (RFC 1952)
		_, _ = w.Write(trailer[:])
	})
}

// maxDomainsLabel bounds the domains label of icpmon_cancellation_info in
// bytes: 20,000 domains once made a 369 KB value (RELIABILITY.md), which
// Prometheus keeps in every sample's series and a scrape with
// label_value_length_limit drops whole.
const maxDomainsLabel = 1024

// domainsLabel joins domains with commas, cut at a domain so that it stays
// within maxDomainsLabel, with how many were left out: "a.cn,b.cn,… (+95
// more)". `track show` lists them all.
func domainsLabel(domains []string) string {
	n := max(len(domains)-1, 0)
	for _, d := range domains {
		n += len(d)
	}
	if n <= maxDomainsLabel {
		return strings.Join(domains, ",")
	}
	const room = len(",… (+1000000 more)")
	var b strings.Builder
	b.Grow(maxDomainsLabel)
	kept := 0
	for _, d := range domains {
		if b.Len()+1+len(d) > maxDomainsLabel-room {
			break
		}
		if kept > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d)
		kept++
	}
	if kept > 0 {
		b.WriteByte(',')
	}
	fmt.Fprintf(&b, "… (+%d more)", len(domains)-kept)
	return b.String()
}

// maxUnitNameLabel bounds the unit_name label of icpmon_cancellation_info in
// bytes. A registered unit name is a few dozen characters; a page scraped
// with a selector that matches too much (query.html) can give a whole table.
const maxUnitNameLabel = 256

// unitNameLabel is the unit name, cut within maxUnitNameLabel at a character
// with "…" when longer. `track show` has it whole.
func unitNameLabel(name string) string {
	if len(name) <= maxUnitNameLabel {
		return name
	}
	const ellipsis = "…"
	cut := maxUnitNameLabel - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + ellipsis
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
