package daemon

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/version"
	"golang.org/x/net/idna"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"when": when, "took": took}).Parse(pageHTML))

// pageRows bounds the table: at 100,000 tracked the page shows the most
// urgent ones; /metrics and `icpmon track list` have the rest.
const pageRows = 500

// page is what the status page shows. It holds no secret: Redis appears by
// its addresses only.
type page struct {
	Version, Redis, KeyPrefix string
	Ready                     bool
	NotReady                  string
	StoreLost                 string // why what is shown is not the store as it is now
	Config                    []setting
	Jobs                      []jobStatus
	Taken                     string
	Kinds                     []cancellation.Kind
	Counts                    []countRow
	Rows                      []row
	Total                     int
}

type setting struct{ Key, Value string }

type countRow struct {
	Status string
	N      []int // by kind, in Kinds order
}

type row struct {
	ID, Licence, Kind, Status, Domains, Submitted string
	Deadline, BusinessDays, Record, Approved      string
	Overdue, Provisional                          bool
	Probes                                        []string
}

func (d *daemon) servePage(w http.ResponseWriter, _ *http.Request) {
	g := d.gen.Load()
	p := page{
		Version:   version.Info(),
		Redis:     g.conn.describe,
		KeyPrefix: g.cfg.Redis.KeyPrefix,
		Config: []setting{
			{"review.schedule", g.cfg.Review.Schedule},
			{"review.limit_business_days", fmt.Sprint(g.cfg.Review.LimitBusinessDays)},
			{"query.providers", strings.Join(g.cfg.Query.ProviderList(), ", ")},
			{"reach.grace", g.cfg.Reach.Grace.String()},
			{"reach.watch_after_clear", g.cfg.Reach.WatchAfterClear.String()},
			{"calendar covered until", g.cal.CoveredUntil().String()},
			{"calendar sources", calendarSources(g.cal)},
		},
		Jobs:  d.sched.status(),
		Kinds: cancellation.Kinds(),
	}
	p.Ready, p.NotReady = d.redis.ready()
	if lost := d.storeLost.Load(); lost != nil {
		p.StoreLost = *lost
	}
	if s := d.expo.Snapshot(); s != nil {
		if at := d.live.current.Load(); at != 0 {
			p.Taken = when(time.Unix(0, at))
		}
		for _, st := range cancellation.Statuses() {
			r := countRow{Status: string(st)}
			for _, k := range p.Kinds {
				r.N = append(r.N, s.Counts[status.Count{Kind: k, Status: st}])
			}
			p.Counts = append(p.Counts, r)
		}
		p.Total = len(s.Tracked)
		for _, t := range mostUrgent(s.Tracked, pageRows) {
			p.Rows = append(p.Rows, rowOf(t))
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, p); err != nil {
		d.log.Warn("render status page", "err", err)
	}
}

// mostUrgent orders pending reviews by deadline, then approved cancellations
// by approval, then the cleared ones, and keeps the first n.
func mostUrgent(all []*status.Standing, n int) []*status.Standing {
	ptrs := slices.Clone(all)
	rank := map[cancellation.Status]int{cancellation.Pending: 0, cancellation.Approved: 1, cancellation.Cleared: 2}
	at := func(t *status.Standing) time.Time {
		if t.Review != nil {
			return t.Review.Deadline
		}
		return t.ApprovedAt
	}
	slices.SortStableFunc(ptrs, func(a, b *status.Standing) int {
		return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), at(a).Compare(at(b)))
	})
	return ptrs[:min(n, len(ptrs))]
}

func rowOf(t *status.Standing) row {
	r := row{
		ID: t.ID, Licence: t.Licence, Kind: string(t.Kind), Status: string(t.Status),
		Domains: domainList(t.Domains), Submitted: t.Submitted.String(),
		Deadline: "—", BusinessDays: "—", Approved: "—", Record: record(t.Record),
	}
	if t.Review != nil {
		// A deadline is the end of a business day: name that day, as people do.
		r.Deadline = calendar.DateOf(t.Review.Deadline.Add(-time.Second)).String() + " 24:00 CST"
		r.BusinessDays = fmt.Sprintf("%d of %d", t.Review.Elapsed, t.Review.Limit)
		r.Overdue = t.Review.Overdue
		r.Provisional = len(t.Review.Provisional) > 0
	}
	if !t.ApprovedAt.IsZero() {
		r.Approved = when(t.ApprovedAt) + " (" + t.ApprovedBy + ")"
	}
	for _, s := range t.Sites {
		r.Probes = append(r.Probes, fmt.Sprintf("%s://%s %s at %s", s.Scheme, domainName(s.Domain), s.Result, when(s.At)))
	}
	return r
}

func record(r cancellation.Record) string {
	switch {
	case r.Present == nil && r.UnknownReason != "":
		return "unknown (" + r.UnknownReason + " at " + when(r.UnknownAt) + ")"
	case r.Present == nil:
		return "not looked up yet"
	case *r.Present:
		return "present at " + when(r.CheckedAt)
	default:
		return fmt.Sprintf("absent at %s (%d sweeps)", when(r.CheckedAt), r.AbsentSweeps)
	}
}

// when writes an instant in China time, as operators read their dates.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(calendar.China).Format("2006-01-02 15:04 MST")
}

// took writes a job's duration as people read it: 7.0 s, not 7.045630788s.
func took(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// domainName shows an internationalised domain both ways, "xn--fiqs8s.cn
// (中国.cn)": operators type the Unicode form, DNS and logs use punycode.
func domainName(d string) string {
	ascii, errA := idna.Lookup.ToASCII(d)
	uni, errU := idna.Display.ToUnicode(d)
	if errA != nil || errU != nil || ascii == uni {
		return d
	}
	return ascii + " (" + uni + ")"
}

func domainList(domains []string) string {
	names := make([]string, len(domains))
	for i, d := range domains {
		names[i] = domainName(d)
	}
	return strings.Join(names, ", ")
}

// calendarSources says where each year's holidays come from, e.g.
// "2019-2026 holiday-cn (embedded); 2027 lunar-go v1.4.7; other years provisional".
func calendarSources(cal *calendar.Calendar) string {
	var parts []string
	for _, r := range cal.Runs() {
		parts = append(parts, r.String())
	}
	return strings.Join(append(parts, "other years provisional (statutory holidays only)"), "; ")
}
