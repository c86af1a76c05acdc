// Package evidence is the one place where what a query provider answered
// becomes a verdict about one filing: present, absent or unknown. Every
// lookup, the query job's and `icpmon query`'s, passes through Judge, and
// every absence also through a canary bracket (bracket.go). What proves
// nothing changes nothing:
//
//   - Present: a returned record whose licence parses and equals the key
//     (for a subject key: any record under that subject; for a domain: a
//     record of that domain), compared after the normalisation tracking uses
//     (full-width characters, spaces, the province aliases 云/滇, 贵/黔, 川/蜀,
//     甘/陇).
//   - Absent, only on one of two grounds:
//     (a) the source's explicit "no record" for exactly the key asked, or for
//     the subject the key belongs to (MIIT: success with total 0; html: the
//     no-record marker inside the result container, with no rows); or
//     (b) a result list proven complete (every page read, its count equal to
//     the stated total) for the subject asked, every row of which belongs to
//     that subject, and the key not among them.
//   - Anything else is unknown: records that name other filings
//     (unmatched_records), an empty or partial list the source did not
//     prove complete (incomplete_results).
//
// An absence is then only a claim until a canary lookup on the same provider,
// made after it, comes back present (silent_ban_suspected otherwise).
package evidence

import (
	"fmt"
	"slices"
	"strings"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/scraper"
)

// Result is what a lookup proved about a key.
type Result string

const (
	Present Result = "present"
	Absent  Result = "absent"
	Unknown Result = "unknown"
)

// Key is what a verdict is about: a licence (a subject's, or one service's)
// or a domain.
type Key struct {
	Licence string // compared form (cancellation.LicenceKey); "" for a domain
	Subject bool   // the licence is a subject number
	Domain  string // normalised; "" for a licence
	// text is what is sent to a provider: the normalised number as typed,
	// never its folded form, since an old 川ICP备… number may be filed under
	// that prefix and asking for 蜀ICP备… would find nothing.
	text string
}

// LicenceKey is the key of a tracked or typed licence number.
func LicenceKey(licence string) (Key, error) {
	l, err := cancellation.ParseLicence(licence)
	if err != nil {
		return Key{}, err
	}
	return Key{Licence: cancellation.LicenceKey(l.Number), Subject: l.Site == "", text: l.Number}, nil
}

// SubjectKey is the key of the subject a licence number belongs to.
func SubjectKey(licence string) (Key, error) {
	l, err := cancellation.ParseLicence(licence)
	if err != nil {
		return Key{}, err
	}
	return Key{Licence: cancellation.LicenceKey(l.Subject), Subject: true, text: l.Subject}, nil
}

// ParseKey reads what an operator typed: a licence number or a bare domain.
func ParseKey(s string) (Key, error) {
	if k, err := LicenceKey(s); err == nil {
		return k, nil
	}
	d, err := cancellation.NormaliseDomain(s)
	if err != nil {
		return Key{}, fmt.Errorf("%q is neither a filing number nor a domain: %w", s, err)
	}
	return Key{Domain: d, text: d}, nil
}

// String is the key as it is looked up.
func (k Key) String() string { return k.text }

// same reports whether k and o name one filing or domain.
func (k Key) same(o Key) bool {
	return k.Licence == o.Licence && k.Subject == o.Subject && k.Domain == o.Domain
}

// holds reports whether record r is about k: r's licence is k, lies under
// subject k, or r is a record of domain k.
func (k Key) holds(r scraper.Record) bool {
	if k.Domain != "" {
		d, err := cancellation.NormaliseDomain(r.Domain)
		return err == nil && d == k.Domain
	}
	l, err := cancellation.ParseLicence(r.Licence)
	if err != nil {
		return false // a record that does not parse names nothing
	}
	if k.Subject {
		return cancellation.LicenceKey(l.Subject) == k.Licence
	}
	return cancellation.LicenceKey(l.Number) == k.Licence
}

// covers reports whether an answer to k can speak about want: it is want
// itself, or the subject want belongs to.
func (k Key) covers(want Key) bool {
	if k.same(want) {
		return true
	}
	return k.Subject && want.Licence != "" && cancellation.SubjectKey(want.Licence) == k.Licence
}

// Verdict is what one answer proves about one key.
type Verdict struct {
	Result  Result
	Reason  scraper.Reason // why it is unknown; "" otherwise
	Matches []string       // the licences that keep the key alive, when present
	Why     string         // the evidence, in a sentence, for history and --debug
	// UnitName is the filing's unit (主办单位名称) on the records that keep
	// the key alive, when present and the source named it: never taken from
	// a record about another filing.
	UnitName string
}

// Judge applies the rules of the package doc to the answer to asked, for the
// key want (asked itself, or a filing under the subject asked).
func Judge(asked, want Key, ans scraper.Answer) Verdict {
	var matches, others []string
	var unit unitName
	for _, r := range ans.Records {
		lic := cancellation.NormaliseLicence(r.Licence)
		switch {
		case want.holds(r):
			if !slices.Contains(matches, lic) {
				matches = append(matches, lic)
			}
			unit.offer(lic, r.UnitName)
		case !asked.holds(r):
			others = append(others, lic)
		}
	}
	n := len(ans.Records)
	switch {
	case len(matches) > 0:
		slices.Sort(matches)
		return Verdict{Result: Present, Matches: matches, UnitName: unit.name,
			Why: fmt.Sprintf("the answer for %s holds %s", asked, strings.Join(matches, ", "))}
	case !asked.covers(want):
		return unknown(scraper.UnmatchedRecords, "%s was asked, whose answer says nothing about %s", asked, want)
	case n > 0 && ans.NoRecord:
		return unknown(scraper.Unparseable, "the answer for %s says no record yet lists %d", asked, n)
	case n == 0 && ans.NoRecord:
		return Verdict{Result: Absent, Why: fmt.Sprintf("the source answered no record for %s", asked)}
	case n == 0:
		return unknown(scraper.IncompleteResults, "an empty list for %s, without the source's no-record answer", asked)
	case len(others) > 0:
		return unknown(scraper.UnmatchedRecords, "%d of %d records for %s name other filings (%s), so the answer is no list of %s",
			len(others), n, asked, sample(others), asked)
	case !ans.Complete:
		return unknown(scraper.IncompleteResults, "%s is not among %d records of %s, but the list is not proven complete", want, n, asked)
	}
	return Verdict{Result: Absent,
		Why: fmt.Sprintf("%s is not among the complete list of %d records of %s", want, n, asked)}
}

// unitName picks the unit name of the matching records: that of the first
// licence in order which names one, so that the same answer in another order
// names the same unit. The records of one filing share their unit; which of
// them names it matters only for a source that contradicts itself.
type unitName struct{ licence, name string }

func (u *unitName) offer(licence, name string) {
	name = strings.TrimSpace(name)
	if name != "" && (u.name == "" || licence < u.licence) {
		u.licence, u.name = licence, name
	}
}

func unknown(r scraper.Reason, format string, args ...any) Verdict {
	return Verdict{Result: Unknown, Reason: r, Why: fmt.Sprintf(format, args...)}
}

// sample names a few licences for a message.
func sample(l []string) string {
	const most = 3
	if len(l) <= most {
		return strings.Join(l, ", ")
	}
	return strings.Join(l[:most], ", ") + ", …"
}
