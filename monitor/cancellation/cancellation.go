package cancellation

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
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
	// ClearedAt is when the public query confirmed that no record is left.
	ClearedAt time.Time `json:"cleared_at,omitzero"`

	Record Record  `json:"record"`
	Probes []Probe `json:"probes,omitempty"` // latest probe per domain and scheme
	// LastServedAt is when a probe last found one of the websites served,
	// kept here so that the reach job's watch needs no ProbeHistory.
	LastServedAt time.Time `json:"last_served_at,omitzero"`
	// ProbeHistory keeps earlier probes, a bounded number per domain and
	// scheme (the reach job trims it), for whoever investigates later. The
	// store keeps it apart from the document and only some reads fill it
	// (monitor/store); documents written before that carry it under this name.
	ProbeHistory []Probe `json:"probe_history,omitempty"`

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
	// Provider is the query provider that gave the last definite answer.
	Provider string `json:"provider,omitempty"`
	// UnitName is the filing's unit (主办单位名称) as the last present lookup
	// that named it showed it, on a record of exactly this filing. Absent
	// and unknown lookups leave it: the last name seen stays the best known,
	// and a cancelled filing's unit is what alerts about it name.
	UnitName string `json:"unit_name,omitempty"`
	// UnknownAt and UnknownReason describe the last lookup that proved nothing.
	UnknownAt     time.Time `json:"unknown_at,omitzero"`
	UnknownReason string    `json:"unknown_reason,omitempty"`
}

// Probe is the outcome of one reachability probe of a domain over one scheme.
type Probe struct {
	Domain     string        `json:"domain"`
	Scheme     string        `json:"scheme"` // http or https
	Result     ProbeResult   `json:"result"`
	StatusCode int           `json:"status_code,omitempty"`
	Location   string        `json:"location,omitempty"` // a redirect that was recorded, not followed
	Detail     string        `json:"detail,omitempty"`
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration"`
	// Count and LastAt: in the history, consecutive runs with the same outcome
	// collapse into one entry (At the first, LastAt the last), so that a
	// steady or flapping site costs a bounded amount.
	Count  int       `json:"count,omitempty"`
	LastAt time.Time `json:"last_at,omitzero"`
	// LocalError and LocalErrorAt: a later run failed on this host (a
	// probe_error, such as no descriptor left), which proves nothing about
	// the site, so this latest definite probe stands.
	LocalError   string    `json:"local_error,omitempty"`
	LocalErrorAt time.Time `json:"local_error_at,omitzero"`
}

// ProbeResult is what a probe of one website found.
type ProbeResult string

// The results of a probe. Only ProbeServed says the website itself answered;
// ProbeLocalError is a failure on this host and proves nothing about it.
const (
	ProbeServed        ProbeResult = "served"
	ProbeProviderBlock ProbeResult = "provider_block" // an access provider's block page or redirect
	ProbeDNSError      ProbeResult = "dns_error"
	ProbeRefused       ProbeResult = "refused"
	ProbeReset         ProbeResult = "reset"
	ProbeTLSError      ProbeResult = "tls_error"
	ProbeTimeout       ProbeResult = "timeout"
	ProbeHTTPError     ProbeResult = "http_error"
	ProbeLocalError    ProbeResult = "probe_error"
)

// ProbeResults lists every result, in the order the metrics show them.
func ProbeResults() []ProbeResult {
	return []ProbeResult{ProbeServed, ProbeProviderBlock, ProbeDNSError, ProbeRefused, ProbeReset, ProbeTLSError,
		ProbeTimeout, ProbeHTTPError, ProbeLocalError}
}

// Event is one entry of a cancellation's append-only history.
type Event struct {
	At time.Time `json:"at"` // when it was recorded

	Actor  string `json:"actor"`  // "operator:<os user>" or "job:<name>"
	Action string `json:"action"` // add, approve, reject, withdraw, remove, clear, record, probe, …
	From   Status `json:"from,omitempty"`
	To     Status `json:"to,omitempty"`
	Detail string `json:"detail,omitempty"` // the evidence, in words
}

// ParseKind reads a kind name.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if !slices.Contains(Kinds(), k) {
		return "", fmt.Errorf("unknown kind %q (want subject, website or access)", s)
	}
	return k, nil
}

// ParseStatus reads a status name.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !slices.Contains(Statuses(), st) {
		return "", fmt.Errorf("unknown status %q (want pending, approved, cleared, rejected or withdrawn)", s)
	}
	return st, nil
}

// State names what the last definite lookup proved: present, absent, or
// unknown while no lookup has proved anything yet.
func (r Record) State() string {
	switch {
	case r.Present == nil:
		return "unknown"
	case *r.Present:
		return "present"
	default:
		return "absent"
	}
}

const (
	maxIDLength = 64
	// idAlphabet is lower-case base32: no look-alike case pairs for people typing IDs.
	idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"
	// idLength of 10 gives 50 random bits: a collision among 100,000
	// cancellations has odds of about 1 in 200,000 (and is refused, not lost).
	idLength = 10
)

// NewID returns a short random ID.
func NewID() string {
	b := make([]byte, idLength)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = idAlphabet[b[i]&31]
	}
	return string(b)
}

// CheckID accepts IDs that are safe as Redis key parts and Prometheus label
// values and easy to type: letters, digits, '.', '_' and '-', starting with a
// letter or digit, at most 64 characters.
func CheckID(id string) error {
	if id == "" {
		return errors.New("empty ID")
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("ID %q is longer than %d characters", id, maxIDLength)
	}
	for i, r := range id {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '.' && r != '_' && r != '-')) {
			return fmt.Errorf("ID %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", id)
		}
	}
	return nil
}

// earliestSubmission is when ICP filing began; an earlier date is a mistake
// (most often a date left unset).
var earliestSubmission = calendar.NewDate(2000, time.January, 1)

// CheckSubmitted refuses a submission date after today (the current China
// date) or before ICP filing began.
func CheckSubmitted(d, today calendar.Date) error {
	switch {
	case d > today:
		return fmt.Errorf("submitted date %s is in the future (today in China is %s)", d, today)
	case d < earliestSubmission:
		return fmt.Errorf("submitted date %s is before ICP filing began (%s)", d, earliestSubmission)
	}
	return nil
}

// Validate checks that c is consistent: the store refuses to write anything else.
func (c Cancellation) Validate() error {
	if err := CheckID(c.ID); err != nil {
		return err
	}
	if _, err := ParseKind(string(c.Kind)); err != nil {
		return fmt.Errorf("cancellation %s: %w", c.ID, err)
	}
	if _, err := ParseStatus(string(c.Status)); err != nil {
		return fmt.Errorf("cancellation %s: %w", c.ID, err)
	}
	l, err := ParseLicence(c.Licence)
	if err != nil {
		return fmt.Errorf("cancellation %s: %w", c.ID, err)
	}
	if l.Number != c.Licence {
		return fmt.Errorf("cancellation %s: licence %s is not normalised (want %s)", c.ID, c.Licence, l.Number)
	}
	if err := c.Kind.CheckLicence(l); err != nil {
		return fmt.Errorf("cancellation %s: %w", c.ID, err)
	}
	if !IsProvince(c.Province) {
		return fmt.Errorf("cancellation %s: province %q is not a licence prefix (want one of %s)", c.ID, c.Province, provinces)
	}
	for i, d := range c.Domains {
		n, err := NormaliseDomain(d)
		if err != nil {
			return fmt.Errorf("cancellation %s: %w", c.ID, err)
		}
		if n != d {
			return fmt.Errorf("cancellation %s: domain %q is not normalised (want %q)", c.ID, d, n)
		}
		if slices.Contains(c.Domains[:i], d) {
			return fmt.Errorf("cancellation %s: domain %s is listed twice", c.ID, d)
		}
	}
	if c.Submitted < earliestSubmission {
		return fmt.Errorf("cancellation %s: %w", c.ID, CheckSubmitted(c.Submitted, c.Submitted))
	}
	if (c.Status == Approved || c.Status == Cleared) && c.ApprovedAt.IsZero() {
		return fmt.Errorf("cancellation %s: %s without an approval time", c.ID, c.Status)
	}
	return nil
}

// Bounds on what an operator may attach to one cancellation. Every active
// cancellation is held in the daemon's memory and each domain is probed and
// exposed: without them one careless import (a 50 MB note, 20,000 domains)
// grew the daemon from 27 to 415 MB (RELIABILITY.md).
const (
	// MaxNoteBytes bounds a note: a few sentences or a ticket link.
	MaxNoteBytes = 4 << 10
	// DefaultMaxDomains is the domains limit when track.max_domains is unset.
	DefaultMaxDomains = 100
	// MaxDomainsCeiling is the highest track.max_domains may be set.
	MaxDomainsCeiling = 1000
)

// CheckNote refuses a note longer than MaxNoteBytes.
func CheckNote(note string) error {
	if len(note) > MaxNoteBytes {
		return fmt.Errorf("the note is %d bytes, more than the %d (4 KiB) a cancellation keeps: link to longer text instead", len(note), MaxNoteBytes)
	}
	return nil
}

// CheckDomainCount refuses more than limit domains (track.max_domains).
func CheckDomainCount(n, limit int) error {
	if n > limit {
		return fmt.Errorf("%d domains is more than the %d one cancellation may list (track.max_domains)", n, limit)
	}
	return nil
}

// CheckLimits applies CheckNote and CheckDomainCount to c. It is separate
// from Validate so that a document stored before the limits existed can still
// be updated by the jobs; the store checks it where the note or domains change.
func (c Cancellation) CheckLimits(maxDomains int) error {
	if err := CheckNote(c.Note); err != nil {
		return fmt.Errorf("cancellation %s: %w", c.ID, err)
	}
	if err := CheckDomainCount(len(c.Domains), maxDomains); err != nil {
		return fmt.Errorf("cancellation %s: %w", c.ID, err)
	}
	return nil
}

// Clone returns a deep copy, so that a change to it never reaches c.
func (c Cancellation) Clone() Cancellation {
	c.Domains = slices.Clone(c.Domains)
	c.Probes = slices.Clone(c.Probes)
	c.ProbeHistory = slices.Clone(c.ProbeHistory)
	c.Record.Licences = slices.Clone(c.Record.Licences)
	if c.Record.Present != nil {
		p := *c.Record.Present
		c.Record.Present = &p
	}
	return c
}
