// Package cancellation is the model of one ICP filing cancellation under
// review: its kind, its lifecycle, and the evidence the jobs gather about it.
package cancellation

import (
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
)

// Kind is what is being cancelled.
type Kind string

const (
	// KindSubject (注销主体) removes the subject licence and every website under it.
	KindSubject Kind = "subject"
	// KindWebsite (注销网站) removes one website's number …号-N; the subject stays.
	KindWebsite Kind = "website"
	// KindAccess (取消接入) removes the filing from this access provider only; the
	// MIIT record stays, but the domains must stop being served from here.
	KindAccess Kind = "access"
)

// Kinds lists every kind in a stable order.
func Kinds() []Kind { return []Kind{KindSubject, KindWebsite, KindAccess} }

// Status is where a cancellation stands.
type Status string

const (
	Pending   Status = "pending"   // under review by the communications administration
	Approved  Status = "approved"  // approved, recorded by an operator or inferred from the public query
	Cleared   Status = "cleared"   // the public query confirmed, repeatedly, that no record is left
	Rejected  Status = "rejected"  // the administration refused it
	Withdrawn Status = "withdrawn" // the applicant withdrew it
)

// Statuses lists every status in lifecycle order.
func Statuses() []Status { return []Status{Pending, Approved, Cleared, Rejected, Withdrawn} }

// Active reports whether the cancellation is still being watched by the jobs.
func (s Status) Active() bool { return s == Pending || s == Approved }

// Cancellation is one tracked cancellation application.
type Cancellation struct {
	ID         string        `json:"id"`
	Kind       Kind          `json:"kind"`
	Licence    string        `json:"licence"`     // normalised, e.g. 京ICP备12345678号-3
	LicenceRaw string        `json:"licence_raw"` // as the operator typed it
	Domains    []string      `json:"domains"`     // lower-case, punycode, no scheme/port/path
	Province   string        `json:"province"`    // licence prefix, e.g. 浙; keys review.province_limits
	Submitted  calendar.Date `json:"submitted"`   // China date the application reached the administration
	Status     Status        `json:"status"`
	Note       string        `json:"note,omitempty"`

	// ApprovedAt is when approval was recorded or inferred; zero while pending.
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	// ApprovedBy says where approval came from: "operator" or "inferred".
	ApprovedBy string `json:"approved_by,omitempty"`

	Record Record  `json:"record"`
	Probes []Probe `json:"probes,omitempty"` // latest probe per domain and scheme

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version increases with every write; the store uses it to refuse lost updates.
	Version int64 `json:"version"`
}

// Record is what the public query has proved about the filing record.
// Only definite lookups (present or absent) change it; an unknown lookup
// leaves Present as it was and notes the reason.
type Record struct {
	// Present is the answer of the last definite lookup; nil until there is one.
	Present *bool `json:"present,omitempty"`
	// CheckedAt is when the last definite lookup was made.
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// Licences are the matching records returned by the last present lookup.
	Licences []string `json:"licences,omitempty"`
	// AbsentSweeps counts consecutive absences in distinct sweeps whose canary was good.
	AbsentSweeps int `json:"absent_sweeps,omitempty"`
	// FirstAbsentAt is the first absence of the current run of absences.
	FirstAbsentAt time.Time `json:"first_absent_at,omitzero"`
	// LastSweep identifies the sweep that last counted, so one sweep never counts twice.
	LastSweep string `json:"last_sweep,omitempty"`
	// UnknownAt and UnknownReason describe the last lookup that proved nothing.
	UnknownAt     time.Time `json:"unknown_at,omitzero"`
	UnknownReason string    `json:"unknown_reason,omitempty"`
}

// Probe is the outcome of one reachability probe of a domain over one scheme.
type Probe struct {
	Domain     string        `json:"domain"`
	Scheme     string        `json:"scheme"` // http or https
	Result     string        `json:"result"` // served, provider_block, dns_error, refused, reset, tls_error, timeout, http_error
	StatusCode int           `json:"status_code,omitempty"`
	Location   string        `json:"location,omitempty"` // a redirect that was recorded, not followed
	Detail     string        `json:"detail,omitempty"`
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration"`
}

// Event is one entry of a cancellation's append-only history.
type Event struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "operator:<os user>" or "job:<name>"
	Action string    `json:"action"` // add, approve, reject, withdraw, remove, clear, record, probe, …
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to,omitempty"`
	Detail string    `json:"detail,omitempty"` // the evidence, in words
}
