package metrics

import (
	"io"
	"math"
	"strconv"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// PerCancellation names a set of per-cancellation families.
type PerCancellation string

const (
	// AllSeries exposes every per-cancellation family.
	AllSeries PerCancellation = "all"
	// AlertingSeries, the default, exposes only what alerts/icpmon.rules.yml
	// reads: the families its expressions read, for every cancellation they
	// may fire on, and those only its annotations read, for the cancellations
	// whose alert condition holds (an overdue review's submitted date and
	// business days). About a quarter of AllSeries: it leaves out the one-hot
	// probe result (9 series per site) and reapply-ready.
	AlertingSeries PerCancellation = "alerting"
	// NoSeries exposes no per-cancellation family, only icpmon_cancellations.
	NoSeries PerCancellation = "none"
)

// exposes reports whether f is among the families p names.
func (p PerCancellation) exposes(f family) bool {
	switch p {
	case NoSeries:
		return false
	case AlertingSeries:
		return f.alerting != nil
	default:
		return true
	}
}

// shows reports whether p exposes f's series of t.
func (p PerCancellation) shows(f family, t *status.Standing) bool {
	return p != AlertingSeries || f.alerting(t)
}

// family is one per-cancellation metric family; samples writes zero or more
// samples of t.
type family struct {
	name, help string
	// alerting selects the cancellations whose series the alerting set
	// has; nil leaves the family out of it.
	alerting func(t *status.Standing) bool
	samples  func(w *textWriter, t *status.Standing)
}

// Selections of the alerting set.
var (
	everyOne = func(*status.Standing) bool { return true }
	overdue  = (*status.Standing).Overdue
	// paging: an alert on a site or a record holds, whose annotations name
	// the approval (and the clearing).
	paging = func(t *status.Standing) bool { return t.Served() || t.Lingering() }
	// lingerWatched: the record alert's expression reads the record of
	// every cancellation with a linger deadline.
	lingerWatched = func(t *status.Standing) bool { return !t.LingerDeadline.IsZero() }
)

// families lists the per-cancellation families in exposition order.
var families = []family{
	{"icpmon_cancellation_info", "Descriptive labels of a tracked cancellation, for joins; always 1.", everyOne, func(w *textWriter, t *status.Standing) {
		w.start()
		w.label("domains", domainsLabel(t.Domains))
		w.label("id", t.ID)
		w.label("kind", string(t.Kind))
		w.label("licence", t.Licence)
		w.label("province", t.Province)
		w.label("status", string(t.Status))
		// Always set, "" while no lookup has named the unit: Prometheus
		// reads an empty label as none, and the label set stays the same.
		w.label("unit_name", unitNameLabel(t.Record.UnitName))
		w.value(1)
	}},
	{"icpmon_cancellation_submitted_timestamp_seconds", "Start (00:00 China time) of the date the application reached the communications administration.", overdue, func(w *textWriter, t *status.Standing) {
		if t.Status.Active() {
			w.idSample(t.ID, seconds(t.Submitted.Start()))
		}
	}},
	{"icpmon_cancellation_review_deadline_timestamp_seconds", "End (24:00 China time) of the last business day of the review limit; pending only.", everyOne, func(w *textWriter, t *status.Standing) {
		if t.Review != nil {
			w.idSample(t.ID, seconds(t.Review.Deadline))
		}
	}},
	{"icpmon_cancellation_review_workdays", "Business days d with submitted < d <= today (China time); pending only.", overdue, func(w *textWriter, t *status.Standing) {
		if t.Review != nil {
			w.idSample(t.ID, float64(t.Review.Elapsed))
		}
	}},
	{"icpmon_cancellation_approved_timestamp_seconds", "When approval was recorded by an operator or inferred from the public query.", paging, func(w *textWriter, t *status.Standing) {
		// Cleared ones keep it: the grace counts from approval, and the
		// alert on a site still served after clearing names the date.
		if (t.Status == cancellation.Approved || t.Status == cancellation.Cleared) && !t.ApprovedAt.IsZero() {
			w.idSample(t.ID, seconds(t.ApprovedAt))
		}
	}},
	{"icpmon_cancellation_cleared_timestamp_seconds", "When the public query confirmed that no record is left; cleared only.", paging, func(w *textWriter, t *status.Standing) {
		if t.Status == cancellation.Cleared && !t.ClearedAt.IsZero() {
			w.idSample(t.ID, seconds(t.ClearedAt))
		}
	}},
	{"icpmon_filing_record_present", "1 when the last definite public-query lookup found the record, 0 when it proved it absent; no series while unknown.", lingerWatched, func(w *textWriter, t *status.Standing) {
		if t.Status.Active() && t.Record.Present != nil {
			w.idSample(t.ID, boolValue(*t.Record.Present))
		}
	}},
	{"icpmon_filing_record_last_checked_timestamp_seconds", "When the last definite public-query lookup was made.", lingerWatched, func(w *textWriter, t *status.Standing) {
		if t.Status.Active() && !t.Record.CheckedAt.IsZero() {
			w.idSample(t.ID, seconds(t.Record.CheckedAt))
		}
	}},
	{"icpmon_filing_record_linger_deadline_timestamp_seconds", "After this moment a record still returned for an approved subject or website cancellation is lingering.", everyOne, func(w *textWriter, t *status.Standing) {
		if !t.LingerDeadline.IsZero() {
			w.idSample(t.ID, seconds(t.LingerDeadline))
		}
	}},
	{"icpmon_cancellation_reapply_ready", "1 once cleared-grade evidence says a new filing may be made, 0 while the cancellation is active.", nil, func(w *textWriter, t *status.Standing) {
		w.idSample(t.ID, boolValue(t.Status == cancellation.Cleared))
	}},
	{"icpmon_site_reachable", "1 when the website itself answered the latest definite probe after the grace following approval, 0 otherwise; approved, and cleared while reach.watch_after_clear watches them; no series while only local probe errors are known.", everyOne, func(w *textWriter, t *status.Standing) {
		for _, s := range t.Sites {
			if s.Result == cancellation.ProbeLocalError {
				continue // only local failures known: they prove nothing
			}
			w.start()
			w.label("domain", s.Domain)
			w.label("id", t.ID)
			w.label("scheme", s.Scheme)
			w.value(boolValue(s.Reachable))
		}
	}},
	{"icpmon_site_probe_result", "Result of the latest probe, one-hot over every result (probe_error: a local failure, proving nothing); approved, and cleared while reach.watch_after_clear watches them.", nil, func(w *textWriter, t *status.Standing) {
		for i := range t.Sites {
			s := &t.Sites[i]
			latest := s.LatestResult()
			for _, r := range cancellation.ProbeResults() {
				w.start()
				w.label("domain", s.Domain)
				w.label("id", t.ID)
				w.label("result", string(r))
				w.label("scheme", s.Scheme)
				w.value(boolValue(latest == r))
			}
		}
	}},
}

// appendText appends the snapshot's families in the Prometheus text format.
func appendText(b []byte, s *status.Snapshot, p PerCancellation) []byte {
	w := &textWriter{b: b}
	encode(w, s, p)
	return w.b
}

// textChunk is how much text writeText gathers before passing it on.
const textChunk = 64 << 10

// writeText writes the snapshot's families in the Prometheus text format to
// out, a chunk at a time.
func writeText(out io.Writer, s *status.Snapshot, p PerCancellation) {
	w := &textWriter{b: make([]byte, 0, textChunk+4<<10), out: out}
	encode(w, s, p)
	w.flush()
}

// encode writes the text format. Labels are written sorted by name, as
// client_golang writes them.
func encode(w *textWriter, s *status.Snapshot, p PerCancellation) {
	if p == "" {
		p = AlertingSeries
	}
	w.family("icpmon_cancellations", "How many cancellations are tracked, by kind and status.")
	for _, k := range cancellation.Kinds() {
		for _, st := range cancellation.Statuses() {
			w.start()
			w.label("kind", string(k))
			w.label("status", string(st))
			w.value(float64(s.Counts[status.Count{Kind: k, Status: st}]))
		}
	}
	for _, f := range families {
		if !p.exposes(f) {
			continue
		}
		w.family(f.name, f.help)
		for _, t := range s.Tracked {
			if p.shows(f, t) {
				f.samples(w, t)
			}
		}
	}
}

// textWriter writes the text exposition format without building metric
// objects: a family's header only once it has a sample.
type textWriter struct {
	b []byte
	// out, when set, gets b whenever it holds a chunk; b then starts again.
	out           io.Writer
	name, help    string
	headerWritten bool
	open          bool // a label set is open
}

func (w *textWriter) family(name, help string) {
	w.name, w.help, w.headerWritten = name, help, false
}

func (w *textWriter) start() {
	if !w.headerWritten {
		w.b = append(w.b, "# HELP "...)
		w.b = append(w.b, w.name...)
		w.b = append(w.b, ' ')
		w.b = append(w.b, w.help...)
		w.b = append(w.b, "\n# TYPE "...)
		w.b = append(w.b, w.name...)
		w.b = append(w.b, " gauge\n"...)
		w.headerWritten = true
	}
	w.b = append(w.b, w.name...)
	w.open = false
}

func (w *textWriter) label(name, value string) {
	if w.open {
		w.b = append(w.b, ',')
	} else {
		w.b = append(w.b, '{')
		w.open = true
	}
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = appendEscaped(w.b, value)
	w.b = append(w.b, '"')
}

func (w *textWriter) value(v float64) {
	if w.open {
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ' ')
	w.b = appendValue(w.b, v)
	w.b = append(w.b, '\n')
	if w.out != nil && len(w.b) >= textChunk {
		w.flush()
	}
}

func (w *textWriter) flush() {
	if w.out != nil && len(w.b) > 0 {
		_, _ = w.out.Write(w.b) // Publish's sink writes to memory and cannot fail
		w.b = w.b[:0]
	}
}

func (w *textWriter) idSample(id string, v float64) {
	w.start()
	w.label("id", id)
	w.value(v)
}

// appendEscaped escapes a label value as the text format requires.
func appendEscaped(b []byte, s string) []byte {
	// One pass over the bytes: label values are short, where three
	// IndexByte calls cost more than they save (BenchmarkSnapshot100k's
	// profile), and the three bytes never occur inside a multi-byte character.
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] != '\\' && s[i] != '"' && s[i] != '\n'
	}
	if plain {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendValue writes whole numbers (timestamps, counts) in full, as people
// read them, and anything else as client_golang does.
func appendValue(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
