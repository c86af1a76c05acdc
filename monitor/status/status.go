// Package status is the one place that says where a cancellation stands:
// how far its review has gone and when it falls due (in mainland business
// days), when a record still returned counts as lingering, and which of its
// websites were still served after approval. /metrics, the status page and
// `icpmon track list|show` all read it; none computes its own.
//
// A Standing is computed from a cancellation's document and the day: it
// changes only when the document changes or at China midnight, when the
// business-day counts move. The daemon keeps a View of every shown
// cancellation and recomputes exactly those.
package status

import (
	"cmp"
	"reflect"
	"slices"
	"time"
	"unique"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
)

// Rules are what a standing is computed with: one configuration's calendar
// and limits.
type Rules struct {
	Calendar *calendar.Calendar
	Limits   Limits
	// LingerBusinessDays is how long after approval a record may still be
	// returned by the public query (query.linger_business_days).
	LingerBusinessDays int
	// Grace is how long after approval a website may still be served (reach.grace).
	Grace time.Duration
	// ClearedRetention keeps a cleared cancellation shown this long after it
	// was cleared (metrics.cleared_retention); longer while its sites are watched.
	ClearedRetention time.Duration
}

// RulesOf returns the rules of a configuration.
func RulesOf(cfg *config.Config, cal *calendar.Calendar) Rules {
	return Rules{
		Calendar:           cal,
		Limits:             Limits{Default: cfg.Review.LimitBusinessDays, Province: cfg.Review.ProvinceLimits},
		LingerBusinessDays: cfg.Query.LingerBusinessDays,
		Grace:              cfg.Reach.Grace,
		ClearedRetention:   cfg.Metrics.ClearedRetention,
	}
}

// Standing is one cancellation and where it stands. It is immutable once
// computed: snapshots share it.
type Standing struct {
	// Cancellation is the document without its probes: Sites has the latest.
	cancellation.Cancellation
	// Day is the China date it was computed for.
	Day calendar.Date
	// Review is where a pending review stands; nil unless pending.
	Review *Progress
	// LingerDeadline is when a record still returned by the public query
	// starts to count as lingering: approved subject and website
	// cancellations only, zero otherwise.
	LingerDeadline time.Time
	// Sites are the latest probes of an approved cancellation, or of a
	// cleared one still watched, one per domain and scheme.
	Sites []Site
}

// Site is the latest probe of one domain over one scheme: the latest
// definite one, with a later local failure noted (Probe.LocalErrorAt), or a
// probe_error while nothing definite is known (monitor/reach.AddProbes).
type Site struct {
	cancellation.Probe
	// Reachable is true when the website itself answered after the grace
	// following approval: the state an alert pages on.
	Reachable bool
}

// LatestResult is the result of the last run: a local failure noted after
// the definite probe shows as probe_error, which Reachable ignores.
func (s *Site) LatestResult() cancellation.ProbeResult {
	if s.LocalErrorAt.After(s.At) {
		return cancellation.ProbeLocalError
	}
	return s.Result
}

// Overdue reports a pending review past its deadline.
func (s *Standing) Overdue() bool { return s.Review != nil && s.Review.Overdue }

// Served reports a website that answered itself after the grace.
func (s *Standing) Served() bool {
	return slices.ContainsFunc(s.Sites, func(x Site) bool { return x.Reachable })
}

// Lingering reports a record the public query still returned, at a lookup
// made after the linger deadline. It needs no clock: a lookup after the
// deadline can only have been made once the deadline had passed.
func (s *Standing) Lingering() bool {
	r := s.Record
	return s.Status == cancellation.Approved && !s.LingerDeadline.IsZero() &&
		r.Present != nil && *r.Present && r.CheckedAt.After(s.LingerDeadline)
}

// Of computes where c stands at now.
func (r Rules) Of(c cancellation.Cancellation, now time.Time) *Standing {
	s := &Standing{Cancellation: c, Day: calendar.DateOf(now)}
	switch c.Status {
	case cancellation.Pending:
		p := Assess(r.Calendar, r.Limits, c.Submitted, c.Province, now)
		s.Review = &p
	case cancellation.Approved:
		if c.Kind != cancellation.KindAccess && !c.ApprovedAt.IsZero() {
			s.LingerDeadline = r.Calendar.Deadline(calendar.DateOf(c.ApprovedAt), r.LingerBusinessDays)
		}
		s.Sites = sites(c, r.Grace)
	case cancellation.Cleared:
		s.Sites = sites(c, r.Grace) // none unless still watched
	}
	s.compact()
	return s
}

// compact drops what no reader of a standing shows (the store and `track
// show` have it) and shares the strings that repeat across standings: at
// 100,000 the view is most of the daemon's memory, and every small string
// is one more object for the garbage collector to mark.
func (s *Standing) compact() {
	s.Probes, s.ProbeHistory = nil, nil // Sites has the latest ones
	s.LicenceRaw, s.LastServedAt = "", time.Time{}
	s.Record.Licences, s.Record.LastSweep = nil, ""
	s.Kind = cancellation.Kind(shared(string(s.Kind)))
	s.Status = cancellation.Status(shared(string(s.Status)))
	s.Province, s.ApprovedBy = shared(s.Province), shared(s.ApprovedBy)
	s.Record.Provider, s.Record.UnknownReason = shared(s.Record.Provider), shared(s.Record.UnknownReason)
	for i := range s.Sites {
		p := &s.Sites[i].Probe
		p.Scheme, p.Result = shared(p.Scheme), cancellation.ProbeResult(shared(string(p.Result)))
	}
}

// SameState reports whether o shows what s shows, probe times and details
// apart: the review, the record (its unit name included), the approval and
// clearing, and each site's latest result. A reach run rewrites every
// approved cancellation only to move its probe times; /metrics need not be
// encoded again for that.
func (s *Standing) SameState(o *Standing) bool {
	a, b := &s.Cancellation, &o.Cancellation
	same := a.ID == b.ID && a.Kind == b.Kind && a.Licence == b.Licence && a.Province == b.Province &&
		slices.Equal(a.Domains, b.Domains) && a.Submitted == b.Submitted && a.Status == b.Status &&
		a.ApprovedAt.Equal(b.ApprovedAt) && a.ClearedAt.Equal(b.ClearedAt) &&
		presence(a.Record.Present) == presence(b.Record.Present) && a.Record.CheckedAt.Equal(b.Record.CheckedAt) &&
		a.Record.UnitName == b.Record.UnitName && s.LingerDeadline.Equal(o.LingerDeadline) && (s.Review == nil) == (o.Review == nil) && len(s.Sites) == len(o.Sites)
	if !same || (s.Review != nil && !reflect.DeepEqual(*s.Review, *o.Review)) {
		return false
	}
	for i := range s.Sites {
		x, y := &s.Sites[i], &o.Sites[i]
		if x.Domain != y.Domain || x.Scheme != y.Scheme || x.Reachable != y.Reachable || x.LatestResult() != y.LatestResult() {
			return false
		}
	}
	return true
}

// presence is a record's state: -1 unknown, 0 absent, 1 present.
func presence(p *bool) int {
	switch {
	case p == nil:
		return -1
	case *p:
		return 1
	}
	return 0
}

// shared returns the one copy of a short, often repeated string.
func shared(v string) string { return unique.Make(v).Value() }

// Shown reports whether c belongs in the view at now: active, or cleared
// within the retention or while the reach job still watches its websites
// (it drops the latest probes when the watch ends: monitor/reach.WatchedUntil).
func (r Rules) Shown(c *cancellation.Cancellation, now time.Time) bool {
	switch c.Status {
	case cancellation.Pending, cancellation.Approved:
		return true
	case cancellation.Cleared:
		return len(c.Probes) > 0 || !c.ClearedAt.Before(now.Add(-r.ClearedRetention))
	}
	return false
}

// sites keeps the latest probe per domain and scheme. A site counts as
// reachable only on a probe made after the grace following approval: a
// website served before then, or known only from an older probe, proves no
// violation.
func sites(c cancellation.Cancellation, grace time.Duration) []Site {
	if len(c.Probes) == 0 {
		return nil
	}
	type key struct{ domain, scheme string }
	latest := make(map[key]cancellation.Probe, len(c.Probes))
	for _, p := range c.Probes {
		k := key{p.Domain, p.Scheme}
		if q, ok := latest[k]; !ok || p.At.After(q.At) {
			latest[k] = p
		}
	}
	graceEnd := c.ApprovedAt.Add(grace)
	out := make([]Site, 0, len(latest))
	for _, p := range latest {
		out = append(out, Site{
			Probe:     p,
			Reachable: p.Result == cancellation.ProbeServed && !c.ApprovedAt.IsZero() && p.At.After(graceEnd),
		})
	}
	slices.SortFunc(out, func(a, b Site) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Scheme, b.Scheme))
	})
	return out
}
