package track

import (
	"errors"
	"fmt"
	"strings"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// Spec is one cancellation as an operator gives it: the flags of
// `track add`, one row of an import, or the body of POST /api/v1/cancellations.
type Spec struct {
	Kind      string   `json:"kind"`
	Licence   string   `json:"licence"`
	Domains   []string `json:"domains"`
	Submitted string   `json:"submitted"`
	ID        string   `json:"id,omitempty"`
	Province  string   `json:"province,omitempty"`
	Note      string   `json:"note,omitempty"`
}

// Cancellation checks the spec and builds the cancellation it describes.
// today is the current China date: a submission cannot be later.
// maxDomains is track.max_domains.
func (s Spec) Cancellation(today calendar.Date, maxDomains int) (cancellation.Cancellation, error) {
	if strings.TrimSpace(s.Kind) == "" {
		return cancellation.Cancellation{}, errors.New("kind is missing (want subject, website or access)")
	}
	if strings.TrimSpace(s.Submitted) == "" {
		return cancellation.Cancellation{}, errors.New("submitted date is missing (want YYYY-MM-DD)")
	}
	kind, err := cancellation.ParseKind(strings.TrimSpace(s.Kind))
	if err != nil {
		return cancellation.Cancellation{}, err
	}
	l, err := cancellation.ParseLicence(s.Licence)
	if err != nil {
		return cancellation.Cancellation{}, err
	}
	if err := kind.CheckLicence(l); err != nil {
		return cancellation.Cancellation{}, err
	}
	domains, err := cancellation.NormaliseDomains(s.Domains)
	if err != nil {
		return cancellation.Cancellation{}, err
	}
	if err := cancellation.CheckDomainCount(len(domains), maxDomains); err != nil {
		return cancellation.Cancellation{}, err
	}
	submitted, err := calendar.ParseDate(strings.TrimSpace(s.Submitted))
	if err != nil {
		return cancellation.Cancellation{}, fmt.Errorf("submitted: %w", err)
	}
	if err := cancellation.CheckSubmitted(submitted, today); err != nil {
		return cancellation.Cancellation{}, err
	}
	id := strings.TrimSpace(s.ID)
	if id != "" {
		if err := cancellation.CheckID(id); err != nil {
			return cancellation.Cancellation{}, err
		}
	}
	province := l.Province
	if p := strings.TrimSpace(s.Province); p != "" {
		if !cancellation.IsProvince(p) {
			return cancellation.Cancellation{}, fmt.Errorf("province %q: want a one-character licence prefix, one of %s", p, strings.Join(cancellation.Provinces(), ""))
		}
		province = p
	}
	note := strings.TrimSpace(s.Note)
	if err := cancellation.CheckNote(note); err != nil {
		return cancellation.Cancellation{}, err
	}
	return cancellation.Cancellation{
		ID: id, Kind: kind, Licence: l.Number, LicenceRaw: l.Raw, Domains: domains,
		Province: province, Submitted: submitted, Status: cancellation.Pending, Note: note,
	}, nil
}
