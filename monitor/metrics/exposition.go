package metrics

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Exposition holds the last published snapshot, encoded once: at 100,000
// cancellations it is over a million series, which no scrape could afford to
// rebuild, sort and compress (issue 8: scrape p99 under 500 ms).
type Exposition struct {
	current atomic.Pointer[encoded]
}

// encoded is one snapshot in the text format, plain and deflated. The
// deflate stream ends with a sync flush, not a final block, so that a scrape
// can continue the same gzip member with the registry's few families.
type encoded struct {
	snap    *Snapshot
	text    []byte
	deflate []byte
	crc     uint32 // CRC-32 of text, which the gzip trailer extends
}

// Publish encodes s and makes it what scrapes and the status page see. s
// must not change afterwards.
func (e *Exposition) Publish(s *Snapshot) {
	// Size the buffer once: growing a 100 MB slice by appends copies it many times.
	hint := 0
	for _, t := range s.Tracked {
		hint += 512 + 1024*len(t.Sites)
	}
	if old := e.current.Load(); old != nil {
		hint = max(hint, len(old.text)+len(old.text)/8)
	}
	text := s.appendText(make([]byte, 0, hint))
	var z bytes.Buffer
	z.Grow(len(text) / 8)
	fw, _ := flate.NewWriter(&z, flate.BestSpeed) // the level is valid
	_, _ = fw.Write(text)                         // writes to a bytes.Buffer cannot fail
	_ = fw.Flush()
	e.current.Store(&encoded{snap: s, text: text, deflate: z.Bytes(), crc: crc32.ChecksumIEEE(text)})
}

// Snapshot returns the last published snapshot, or nil before the first.
func (e *Exposition) Snapshot() *Snapshot {
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
			_, _ = w.Write(cur.text)
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
		binary.LittleEndian.PutUint32(trailer[4:], uint32(len(cur.text)+live.Len()))
		_, _ = w.Write(trailer[:])
	})
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
