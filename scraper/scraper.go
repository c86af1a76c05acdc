// Package scraper looks ICP filings up on a public query system.
//
// Its one promise is honesty: a lookup that did not prove absence is unknown,
// never absent. Providers return an Answer only when the source answered in a
// shape they recognise; everything else is an error carrying a Reason.
package scraper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Provider looks up a licence number (subject or website) or a bare domain.
type Provider interface {
	// Name labels the provider in metrics, e.g. "miit".
	Name() string
	// Lookup returns the records the source holds for query. A nil error means
	// the answer is definite: records present, or a recognised "no record".
	// A non-nil error means unknown; ReasonOf tells why.
	Lookup(ctx context.Context, query string) (Answer, error)
}

// Answer is what a source answered, in a shape the provider recognised. What
// it proves about one key is for the evidence rules (monitor/evidence) to
// say: records about other subjects, or a list that may go on beyond what was
// read, prove no absence.
type Answer struct {
	Records []Record
	// NoRecord is the source's explicit "no record" for exactly the query
	// asked (MIIT: success with total 0; html: the no-record marker inside
	// the result container, with no rows).
	NoRecord bool
	// Complete says every page was read and the count agrees with the total
	// the source stated, so that a key missing from Records is missing from
	// the source's answer.
	Complete bool
}

// Present reports whether any record was returned.
func (a Answer) Present() bool { return len(a.Records) > 0 }

// Record is one filing record as the source shows it.
type Record struct {
	Licence     string `json:"licence"`      // the service (website/App) number, e.g. 京ICP备10046444号-9
	MainLicence string `json:"main_licence"` // the subject number, e.g. 京ICP备10046444号
	Domain      string `json:"domain,omitempty"`
	UnitName    string `json:"unit_name,omitempty"`
	ServiceName string `json:"service_name,omitempty"`
	ServiceType int    `json:"service_type,omitempty"` // 1 website, 6 App, 7 mini program, 8 quick app
	ApprovedAt  string `json:"approved_at,omitempty"`  // as the source prints it
}

// Reason is why a lookup is unknown: a closed set, used as a metric label.
type Reason string

const (
	RateLimited   Reason = "rate_limited"
	WAFBlocked    Reason = "waf_blocked"
	CaptchaFailed Reason = "captcha_failed"
	AuthFailed    Reason = "auth_failed"
	ServerError   Reason = "server_error"
	Unparseable   Reason = "unparseable"
	NetworkError  Reason = "network_error"

	// The evidence rules' reasons: the source answered, but not about the
	// key asked.

	// UnmatchedRecords: records that name neither the key nor its subject,
	// e.g. a fuzzy search or a service that answers everything alike.
	UnmatchedRecords Reason = "unmatched_records"
	// IncompleteResults: the key is missing from a list not proven
	// complete (a page not read, no stated total, no explicit no-record).
	IncompleteResults Reason = "incomplete_results"
	// SilentBanSuspected: an absence whose canary lookup, made after it,
	// did not come back present: the normal-looking empty answer of a
	// blacklisted client (scraper/miit/PROTOCOL.md §7.4).
	SilentBanSuspected Reason = "silent_ban_suspected"
)

// Reasons lists every reason, for pre-setting metric series.
func Reasons() []Reason {
	return []Reason{RateLimited, WAFBlocked, CaptchaFailed, AuthFailed, ServerError, Unparseable, NetworkError,
		UnmatchedRecords, IncompleteResults, SilentBanSuspected}
}

// AboutProvider reports whether reason says something about the provider
// (its captcha, login, firewall, rate limit, a suspected ban, its servers or
// the way to them) rather than about the answer to one key: the reasons for
// which another provider is worth asking.
func AboutProvider(r Reason) bool {
	switch r {
	case UnmatchedRecords, IncompleteResults:
		return false
	}
	return true
}

// Error is an unknown lookup.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Unknown wraps err as an unknown lookup for reason.
func Unknown(reason Reason, err error) error { return &Error{Reason: reason, Err: err} }

// ReasonOf returns the reason an error made a lookup unknown. An error that
// is not an *Error (a cancelled context, a bug) counts as a network error:
// whatever it is, it proved nothing.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return NetworkError
}

// DefaultMaxBody bounds what a provider reads of one answer. MIIT query pages
// are kilobytes and its captcha images a few hundred; nothing larger is an
// answer.
const DefaultMaxBody int64 = 4 << 20

// ReadBody reads r up to limit bytes. A longer body is unparseable: an answer
// cut short proves nothing.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, Unknown(NetworkError, fmt.Errorf("reading the answer: %w", err))
	}
	if int64(len(b)) > limit {
		return nil, Unknown(Unparseable, fmt.Errorf("answer larger than %d bytes", limit))
	}
	return b, nil
}

// serviceSuffix is the "-N" (with an App/mini-program/quick-app letter) that a
// service licence adds to its subject licence: 京ICP备10046444号-9,
// 粤B2-20090059-5, 陕ICP备2024026116号-1A.
var serviceSuffix = regexp.MustCompile(`^(.*(?:号|B2-\d+))-\d+[A-Za-z]?$`)

// MainLicenceOf returns the subject licence of a service licence, or the
// licence itself when it carries no "-N" suffix (it is a subject licence).
func MainLicenceOf(licence string) string {
	if m := serviceSuffix.FindStringSubmatch(licence); m != nil {
		return m[1]
	}
	return licence
}
