package statuspage

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// detailPage is what /cancellations/{id} shows.
type detailPage struct {
	locale
	Title    string
	ID       string
	Facts    []fact
	Verdicts []verdict
	Probes   []probeRow
	Earlier  []probeRow
	Lookup   lookupFacts
	Lookups  []cancellation.Event // the history's record entries
	History  []cancellation.Event
}

type fact struct {
	Label, Value string
	Bad, Nowrap  bool
}

// verdict is a conclusion with the evidence that supports it.
type verdict struct {
	Title    string
	Evidence []string
	Bad      bool
}

type probeRow struct {
	Domain, Scheme, Result, Status, Detail string
	At, LastAt                             time.Time
	Count                                  int
	Took                                   time.Duration
	LocalError                             string
	LocalErrorAt                           time.Time
}

// lookupFacts is what the public query proved so far.
type lookupFacts struct {
	State, Provider, Licences, UnknownReason string
	CheckedAt, FirstAbsentAt, UnknownAt      time.Time
	AbsentSweeps                             int
}

func newDetailPage(l locale, full Full, now time.Time) detailPage {
	c := full.Cancellation
	s := full.Rules.Of(c, now)
	pg := detailPage{locale: l, Title: l.T("Cancellation %s", c.ID), ID: c.ID, History: full.History}
	pg.Facts = facts(l, c, s)
	pg.Verdicts = verdicts(l, full, s)
	for _, p := range c.Probes {
		pg.Probes = append(pg.Probes, probeRowOf(p))
	}
	// Newest first: who investigates starts from now and goes back.
	for _, p := range slices.Backward(c.ProbeHistory) {
		pg.Earlier = append(pg.Earlier, probeRowOf(p))
	}
	r := c.Record
	pg.Lookup = lookupFacts{
		State: l.T(r.State()), Provider: r.Provider, Licences: strings.Join(r.Licences, ", "),
		UnknownReason: r.UnknownReason, CheckedAt: r.CheckedAt, FirstAbsentAt: r.FirstAbsentAt,
		UnknownAt: r.UnknownAt, AbsentSweeps: r.AbsentSweeps,
	}
	for _, e := range full.History {
		if e.Action == "record" {
			pg.Lookups = append(pg.Lookups, e)
		}
	}
	return pg
}

func probeRowOf(p cancellation.Probe) probeRow {
	r := probeRow{
		Domain: domainName(p.Domain), Scheme: p.Scheme, Result: string(p.Result), Detail: p.Detail,
		At: p.At, LastAt: p.LastAt, Count: max(p.Count, 1), Took: p.Duration,
		LocalError: p.LocalError, LocalErrorAt: p.LocalErrorAt,
	}
	if p.StatusCode != 0 {
		r.Status = strconv.Itoa(p.StatusCode)
	}
	if p.Location != "" {
		r.Detail = strings.TrimSpace("→ " + p.Location + " " + r.Detail)
	}
	return r
}

func facts(l locale, c cancellation.Cancellation, s *status.Standing) []fact {
	licence := c.Licence
	if c.LicenceRaw != "" && c.LicenceRaw != c.Licence {
		licence += " (" + l.T("as typed: %s", c.LicenceRaw) + ")"
	}
	domains := make([]string, len(c.Domains))
	for i, d := range c.Domains {
		domains[i] = domainName(d)
	}
	fs := []fact{
		{Label: l.T("ID"), Value: c.ID},
		{Label: l.T("Kind"), Value: l.T(string(c.Kind))},
		{Label: l.T("Licence"), Value: licence, Nowrap: true},
		{Label: l.T("Province"), Value: c.Province},
		{Label: l.T("Unit (from the public query)"), Value: orDash(c.Record.UnitName)},
		{Label: l.T("Domains"), Value: orDash(strings.Join(domains, ", "))},
		{Label: l.T("Submitted"), Value: c.Submitted.String()},
		{Label: l.T("Status"), Value: l.T(string(c.Status))},
	}
	if rv := s.Review; rv != nil {
		v := l.T("%d of %d business days; deadline %s", rv.Elapsed, rv.Limit, l.T("%s 24:00 CST", calendar.DateEndingAt(rv.Deadline)))
		if rv.Overdue {
			v += " " + l.T("(overdue)")
		}
		fs = append(fs, fact{Label: l.T("Review"), Value: v, Bad: rv.Overdue})
	}
	if !c.ApprovedAt.IsZero() {
		by := l.T("recorded by an operator")
		if c.ApprovedBy == "inferred" {
			by = l.T("inferred from the public query")
		}
		fs = append(fs, fact{Label: l.T("Approved"), Value: l.T("%s, %s", when(c.ApprovedAt), by)})
	}
	if !c.ClearedAt.IsZero() {
		fs = append(fs, fact{Label: l.T("Cleared"), Value: when(c.ClearedAt)})
	}
	if c.Note != "" {
		fs = append(fs, fact{Label: l.T("Note"), Value: c.Note})
	}
	return append(fs,
		fact{Label: l.T("Created"), Value: when(c.CreatedAt)},
		fact{Label: l.T("Updated"), Value: l.T("%s (version %d)", when(c.UpdatedAt), c.Version)},
	)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// verdicts says where c stands and why: the review against its deadline,
// the approval and clearing with the events that recorded them, the record
// with the lookups behind it, and each website with the probe behind it.
func verdicts(l locale, full Full, s *status.Standing) []verdict {
	c := full.Cancellation
	var vs []verdict
	if rv := s.Review; rv != nil {
		vs = append(vs, reviewVerdict(l, c, full.Rules, rv))
	}
	if ev, ok := lastEvent(full.History, cancellation.ActionApprove); ok && !c.ApprovedAt.IsZero() {
		title := l.T("Approved by an operator")
		if c.ApprovedBy == "inferred" {
			title = l.T("Approval inferred from the public query")
		}
		vs = append(vs, verdict{Title: title, Evidence: []string{l.T("Approval recorded %s: %s", when(ev.At), ev.Detail)}})
	}
	if ev, ok := lastEvent(full.History, cancellation.ActionClear); ok && c.Status == cancellation.Cleared {
		vs = append(vs, verdict{Title: l.T("Record cleared"), Evidence: []string{l.T("Cleared %s: %s", when(ev.At), ev.Detail)}})
	}
	vs = append(vs, recordVerdict(l, c, s))
	for _, site := range s.Sites {
		vs = append(vs, siteVerdict(l, c, full.Rules, site))
	}
	return vs
}

func reviewVerdict(l locale, c cancellation.Cancellation, rules status.Rules, rv *status.Progress) verdict {
	deadline := l.T("%s 24:00 CST", calendar.DateEndingAt(rv.Deadline))
	var v verdict
	if rv.Overdue {
		v = verdict{Title: l.T("Overdue"), Bad: true, Evidence: []string{
			l.T("The review deadline was the end of business day %d after submission on %s: %s. %d business days have passed.", rv.Limit, c.Submitted, deadline, rv.Elapsed),
		}}
	} else {
		v = verdict{Title: l.T("Under review"), Evidence: []string{
			l.T("%d business days left: the deadline is the end of business day %d after submission on %s, %s.", rv.Limit-rv.Elapsed, rv.Limit, c.Submitted, deadline),
		}}
	}
	if rv.Limit != rules.Limits.Default {
		v.Evidence = append(v.Evidence, l.T("The limit is %d business days for province %s (review.province_limits).", rv.Limit, c.Province))
	}
	if len(rv.Provisional) > 0 {
		v.Evidence = append(v.Evidence, l.T("The deadline is provisional: the holiday schedule of %v is not loaded.", rv.Provisional))
	}
	return v
}

// recordVerdict tells what the public query proved; unknown stays unknown.
func recordVerdict(l locale, c cancellation.Cancellation, s *status.Standing) verdict {
	r := c.Record
	var v verdict
	switch {
	case r.Present == nil:
		v = verdict{Title: l.T("Record unknown"), Evidence: []string{l.T("No lookup has proved anything yet.")}}
	case *r.Present && s.Lingering():
		v = verdict{Title: l.T("Record lingering"), Bad: true, Evidence: []string{
			l.T("The last definite lookup, %s through %s, returned %s.", when(r.CheckedAt), r.Provider, strings.Join(r.Licences, ", ")),
			l.T("Still present after the linger deadline %s (query.linger_business_days after approval).", when(s.LingerDeadline)),
		}}
	case *r.Present:
		v = verdict{Title: l.T("Record present"), Evidence: []string{
			l.T("The last definite lookup, %s through %s, returned %s.", when(r.CheckedAt), r.Provider, strings.Join(r.Licences, ", ")),
		}}
	default:
		v = verdict{Title: l.T("Record absent"), Evidence: []string{
			l.T("No record in %d sweeps since %s; last lookup %s through %s.", r.AbsentSweeps, when(r.FirstAbsentAt), when(r.CheckedAt), r.Provider),
		}}
	}
	if r.UnknownReason != "" && r.UnknownAt.After(r.CheckedAt) {
		v.Evidence = append(v.Evidence, l.T("The last lookup, %s, proved nothing: %s.", when(r.UnknownAt), r.UnknownReason))
	}
	if c.Kind == cancellation.KindAccess {
		v.Evidence = append(v.Evidence, l.T("Access cancelled: the MIIT record stays by design, so its presence or absence proves nothing here."))
	}
	return v
}

// siteVerdict tells whether one website is still served, from its latest
// probe; a local probe error proves nothing about the site.
func siteVerdict(l locale, c cancellation.Cancellation, rules status.Rules, site status.Site) verdict {
	graceEnd := c.ApprovedAt.Add(rules.Grace)
	switch {
	case site.Reachable:
		return verdict{Title: l.T("Website served"), Bad: true, Evidence: []string{
			l.T("%s://%s answered %s at %s, after the grace ended %s (approval + reach.grace %s).",
				site.Scheme, domainName(site.Domain), site.Result, when(site.At), when(graceEnd), Duration(rules.Grace)),
		}}
	case site.Result == cancellation.ProbeServed:
		return verdict{Title: l.T("Served within the grace"), Evidence: []string{
			l.T("%s://%s answered %s at %s, before the grace ended %s.", site.Scheme, domainName(site.Domain), site.Result, when(site.At), when(graceEnd)),
		}}
	case site.Result == cancellation.ProbeLocalError:
		return verdict{Title: l.T("Probe failed on this host"), Evidence: []string{
			l.T("%s://%s: %s at %s proves nothing about the site.", site.Scheme, domainName(site.Domain), site.Result, when(site.At)),
		}}
	}
	return verdict{Title: l.T("Website not served"), Evidence: []string{
		l.T("%s://%s: %s at %s.", site.Scheme, domainName(site.Domain), site.Result, when(site.At)),
	}}
}

func lastEvent(history []cancellation.Event, action string) (cancellation.Event, bool) {
	for _, e := range slices.Backward(history) {
		if e.Action == action {
			return e, true
		}
	}
	return cancellation.Event{}, false
}
