package track

import (
	"encoding/json"
	"io"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// View is one cancellation as `track list -o json` and
// GET /api/v1/cancellations show it. The field names are an interface for
// scripts: keep them. Review fields are null unless the cancellation is
// pending.
type View struct {
	ID                  string              `json:"id"`
	Kind                cancellation.Kind   `json:"kind"`
	Licence             string              `json:"licence"`
	Domains             []string            `json:"domains"`
	Province            string              `json:"province"`
	Submitted           calendar.Date       `json:"submitted"`
	Status              cancellation.Status `json:"status"`
	ReviewLimit         *int                `json:"review_limit"`
	ReviewDeadline      *time.Time          `json:"review_deadline"` // end (24:00 China time) of the last business day
	BusinessDaysElapsed *int                `json:"business_days_elapsed"`
	Overdue             *bool               `json:"overdue"`
	// ProvisionalYears are years the deadline relies on without an official
	// holiday schedule: it may move when one is published.
	ProvisionalYears []int          `json:"provisional_years"`
	Record           string         `json:"record"` // present, absent or unknown: the last definite lookup
	RecordCheckedAt  *time.Time     `json:"record_checked_at"`
	Approved         *calendar.Date `json:"approved"`
	Note             string         `json:"note"`
}

// NewView shows where a cancellation stands, as status computes it for
// /metrics and the status page too.
func NewView(s *status.Standing) View {
	c := &s.Cancellation
	v := View{
		ID: c.ID, Kind: c.Kind, Licence: c.Licence, Domains: c.Domains, Province: c.Province,
		Submitted: c.Submitted, Status: c.Status, Record: c.Record.State(), Note: c.Note,
		ProvisionalYears: []int{},
	}
	if v.Domains == nil {
		v.Domains = []string{}
	}
	if p := s.Review; p != nil {
		deadline := p.Deadline.In(calendar.China)
		v.ReviewLimit, v.ReviewDeadline, v.BusinessDaysElapsed, v.Overdue = &p.Limit, &deadline, &p.Elapsed, &p.Overdue
		if p.Provisional != nil {
			v.ProvisionalYears = p.Provisional
		}
	}
	if !c.Record.CheckedAt.IsZero() {
		t := c.Record.CheckedAt.In(calendar.China)
		v.RecordCheckedAt = &t
	}
	if !c.ApprovedAt.IsZero() {
		d := calendar.DateOf(c.ApprovedAt)
		v.Approved = &d
	}
	return v
}

// Detail is `track show` and GET /api/v1/cancellations/{id}: the view, then
// what is known in full.
type Detail struct {
	View
	LicenceRaw string               `json:"licence_raw"`
	ApprovedAt *time.Time           `json:"approved_at"`
	ApprovedBy string               `json:"approved_by"`
	CreatedAt  time.Time            `json:"created_at"`
	UpdatedAt  time.Time            `json:"updated_at"`
	Version    int64                `json:"version"`
	Checks     Checks               `json:"checks"`
	History    []cancellation.Event `json:"history"`
}

// Checks are the latest evidence of the jobs.
type Checks struct {
	Record       cancellation.Record  `json:"record"`
	Probes       []cancellation.Probe `json:"probes"`
	ProbeHistory []cancellation.Probe `json:"probe_history"`
}

// NewDetail is c with where it stands (s, computed from c) and its history.
func NewDetail(c cancellation.Cancellation, s *status.Standing, history []cancellation.Event) Detail {
	d := Detail{
		View:       NewView(s),
		LicenceRaw: c.LicenceRaw,
		ApprovedBy: c.ApprovedBy,
		CreatedAt:  c.CreatedAt.In(calendar.China),
		UpdatedAt:  c.UpdatedAt.In(calendar.China),
		Version:    c.Version,
		Checks:     Checks{Record: c.Record, Probes: c.Probes, ProbeHistory: c.ProbeHistory},
		History:    history,
	}
	if !c.ApprovedAt.IsZero() {
		t := c.ApprovedAt.In(calendar.China)
		d.ApprovedAt = &t
	}
	if d.Checks.Probes == nil {
		d.Checks.Probes = []cancellation.Probe{}
	}
	if d.Checks.ProbeHistory == nil {
		d.Checks.ProbeHistory = []cancellation.Probe{}
	}
	for i := range d.History {
		d.History[i].At = d.History[i].At.In(calendar.China)
	}
	return d
}

// Transition is the history event of d's move into status to: the
// operator's decision that the CLI reports as "ID: from -> to". An operator
// moves a cancellation into each status at most once, so it is unique.
func (d Detail) Transition(to cancellation.Status) (cancellation.Event, bool) {
	for i := len(d.History) - 1; i >= 0; i-- {
		if e := d.History[i]; e.To == to && e.Action == to.Verb() {
			return e, true
		}
	}
	return cancellation.Event{}, false
}

// WriteJSON writes v as the CLI's -o json and the API print it: indented,
// with the licences' characters as they are.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
