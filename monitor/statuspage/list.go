package statuspage

import (
	"net/http"
	"slices"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// listPage is what / shows.
type listPage struct {
	locale
	Title string
	Overview
	Filter    Filter
	FilterErr string
	// Statuses are those the list can hold (the form's choices); AllStatuses
	// those the counts table has.
	Statuses, AllStatuses []cancellation.Status
	Kinds                 []cancellation.Kind
	Snapshot              bool
	Counts                []countRow
	Rows                  []row
	Matched, Total        int
}

type countRow struct {
	Status cancellation.Status
	Listed bool  // the list holds this status: the counts link to it
	N      []int // by kind, in Kinds order
}

type row struct {
	ID, Licence, Kind, Status, Submitted string
	Domains                              []string
	Deadline, BusinessDays, Record       string
	Approved                             string
	Overdue, Provisional                 bool
	Probes                               []string
}

// listed are the statuses the view holds (status.Rules.Shown).
var listed = []cancellation.Status{cancellation.Pending, cancellation.Approved, cancellation.Cleared}

// List serves /: the daemon, its jobs, and the tracked cancellations that
// the query parameters select (Filter), most urgent first.
func (p *Pages) List(w http.ResponseWriter, r *http.Request) {
	l := localeOf(r)
	pg := listPage{
		locale: l, Overview: p.src.Overview(),
		Statuses: listed, AllStatuses: cancellation.Statuses(), Kinds: cancellation.Kinds(),
	}
	code := http.StatusOK
	f, ferr := parseFilter(r.URL.Query())
	if ferr != nil {
		code, pg.FilterErr = http.StatusBadRequest, l.T(ferr.format, ferr.args...)
	}
	pg.Filter = f
	if s := p.src.Snapshot(); s != nil {
		pg.Snapshot = true
		for _, st := range pg.AllStatuses {
			c := countRow{Status: st, Listed: slices.Contains(listed, st)}
			for _, k := range pg.Kinds {
				c.N = append(c.N, s.Counts[status.Count{Kind: k, Status: st}])
			}
			pg.Counts = append(pg.Counts, c)
		}
		pg.Total = len(s.Tracked)
		if ferr == nil {
			rows := selectRows(s.Tracked, f)
			pg.Matched = len(rows)
			for _, t := range rows[:min(listRows, len(rows))] {
				pg.Rows = append(pg.Rows, rowOf(l, t))
			}
		}
	}
	p.render(w, code, "list.html", pg)
}

func rowOf(l locale, t *status.Standing) row {
	r := row{
		ID: t.ID, Licence: t.Licence, Kind: l.T(string(t.Kind)), Status: l.T(string(t.Status)),
		Submitted: t.Submitted.String(), Deadline: "—", BusinessDays: "—", Approved: "—", Record: recordText(l, t.Record),
	}
	for _, d := range t.Domains {
		r.Domains = append(r.Domains, domainName(d))
	}
	if t.Review != nil {
		r.Deadline = l.T("%s 24:00 CST", calendar.DateEndingAt(t.Review.Deadline))
		r.BusinessDays = l.T("%d of %d business days", t.Review.Elapsed, t.Review.Limit)
		r.Overdue = t.Review.Overdue
		r.Provisional = len(t.Review.Provisional) > 0
	}
	if !t.ApprovedAt.IsZero() {
		r.Approved = l.T("%s (%s)", when(t.ApprovedAt), l.T(t.ApprovedBy))
	}
	for _, s := range t.Sites {
		r.Probes = append(r.Probes, l.T("%s://%s %s at %s", s.Scheme, domainName(s.Domain), s.Result, when(s.At)))
	}
	return r
}

// recordText says what the public query proved, never more: an unknown
// lookup is told as unknown, with its reason.
func recordText(l locale, r cancellation.Record) string {
	switch {
	case r.Present == nil && r.UnknownReason != "":
		return l.T("unknown (%s at %s)", r.UnknownReason, when(r.UnknownAt))
	case r.Present == nil:
		return l.T("not looked up yet")
	case *r.Present:
		return l.T("present at %s", when(r.CheckedAt))
	default:
		return l.T("absent at %s (%d sweeps)", when(r.CheckedAt), r.AbsentSweeps)
	}
}
