package statuspage

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// Bounds on what a filter may ask.
const (
	maxDue         = 100 // business days: no review is longer
	maxSearchRunes = 200
)

// Filter selects the rows of the list and of the CSV, from the query
// parameters of a plain GET form: status, kind, overdue=1, due=N and q.
// An empty field selects everything.
type Filter struct {
	Status cancellation.Status
	Kind   cancellation.Kind
	// Overdue keeps the pending reviews past their deadline.
	Overdue bool
	// Due keeps the pending reviews not yet overdue whose deadline is at
	// most Due business days away: 0 is the deadline day itself, 5 within
	// the next five business days. Nil selects everything.
	Due *int
	// Search is text in the licence (compared as tracking compares
	// licences: full-width characters and province aliases folded), the
	// ID, or a domain in punycode or Unicode form.
	Search string
}

// filterError is a bad filter, told in the request's language.
type filterError struct {
	format string
	args   []any
}

func (e *filterError) Error() string { return locale{}.T(e.format, e.args...) }

// parseFilter reads a Filter from query parameters; a bad one gives one
// error naming the parameter, and selects nothing.
func parseFilter(q url.Values) (Filter, *filterError) {
	var f Filter
	if s := q.Get("status"); s != "" {
		st, err := cancellation.ParseStatus(s)
		if err != nil {
			return Filter{}, &filterError{"unknown status %q", []any{s}}
		}
		f.Status = st
	}
	if s := q.Get("kind"); s != "" {
		k, err := cancellation.ParseKind(s)
		if err != nil {
			return Filter{}, &filterError{"unknown kind %q", []any{s}}
		}
		f.Kind = k
	}
	switch s := q.Get("overdue"); s {
	case "":
	case "1":
		f.Overdue = true
	default:
		return Filter{}, &filterError{"overdue is 1 or nothing, not %q", []any{s}}
	}
	if s := strings.TrimSpace(q.Get("due")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxDue {
			return Filter{}, &filterError{"due is a number of business days from 0 to %d, not %q", []any{maxDue, s}}
		}
		f.Due = &n
	}
	f.Search = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Search) > maxSearchRunes {
		return Filter{}, &filterError{"the search text is longer than %d characters", []any{maxSearchRunes}}
	}
	return f, nil
}

// Query is f as query parameters.
func (f Filter) Query() string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("status", string(f.Status))
	set("kind", string(f.Kind))
	if f.Overdue {
		q.Set("overdue", "1")
	}
	if f.Due != nil {
		q.Set("due", strconv.Itoa(*f.Due))
	}
	set("q", f.Search)
	return q.Encode()
}

// CSVLink is the CSV of the rows f selects.
func (f Filter) CSVLink() string {
	if q := f.Query(); q != "" {
		return "/cancellations.csv?" + q
	}
	return "/cancellations.csv"
}

// DueText is the due field as the form shows it.
func (f Filter) DueText() string {
	if f.Due == nil {
		return ""
	}
	return strconv.Itoa(*f.Due)
}

// matcher is a Filter made ready to test many standings.
type rowMatcher struct {
	f Filter
	// needles are the search text in the forms it may appear in: as typed
	// and lower-cased, as a licence key, as punycode.
	needles []string
}

func (f Filter) matcher() rowMatcher {
	m := rowMatcher{f: f}
	if f.Search == "" {
		return m
	}
	lower := strings.ToLower(f.Search)
	m.needles = append(m.needles, lower, cancellation.LicenceKey(f.Search))
	if ascii, err := idna.Lookup.ToASCII(lower); err == nil {
		m.needles = append(m.needles, ascii)
	}
	slices.Sort(m.needles)
	m.needles = slices.Compact(m.needles)
	return m
}

func (m rowMatcher) match(s *status.Standing) bool {
	f := m.f
	switch {
	case f.Status != "" && s.Status != f.Status,
		f.Kind != "" && s.Kind != f.Kind,
		f.Overdue && !s.Overdue():
		return false
	case f.Due != nil && (s.Review == nil || s.Review.Overdue || s.Review.Limit-s.Review.Elapsed > *f.Due):
		return false
	}
	return m.searched(s)
}

func (m rowMatcher) searched(s *status.Standing) bool {
	if len(m.needles) == 0 {
		return true
	}
	hay := []string{strings.ToLower(s.ID), s.Licence, cancellation.LicenceKey(s.Licence)}
	for _, d := range s.Domains {
		hay = append(hay, d)
		if uni := unicodeName(d); uni != "" {
			hay = append(hay, uni)
		}
	}
	for _, h := range hay {
		for _, n := range m.needles {
			if strings.Contains(h, n) {
				return true
			}
		}
	}
	return false
}

// selectRows keeps the standings f selects, most urgent first: pending
// reviews by deadline, then approved cancellations by approval, then the
// cleared ones.
func selectRows(all []*status.Standing, f Filter) []*status.Standing {
	m := f.matcher()
	var out []*status.Standing
	for _, s := range all {
		if m.match(s) {
			out = append(out, s)
		}
	}
	rank := map[cancellation.Status]int{cancellation.Pending: 0, cancellation.Approved: 1, cancellation.Cleared: 2}
	at := func(s *status.Standing) time.Time {
		if s.Review != nil {
			return s.Review.Deadline
		}
		return s.ApprovedAt
	}
	slices.SortStableFunc(out, func(a, b *status.Standing) int {
		return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), at(a).Compare(at(b)))
	})
	return out
}
