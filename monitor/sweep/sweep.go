// Package sweep is the query job: it looks every active cancellation up on
// the public query system and turns definite answers into evidence and, when
// the evidence is strong enough, into status changes.
//
// The rules that keep it honest: an unknown lookup changes nothing but the
// note of why it was unknown; an absence counts only when the canary lookup
// of the same sweep came back present; and an absence changes a status only
// after it was seen in Confirmations separate sweeps.
package sweep

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/scraper"
)

// Store is what a sweep needs of the store.
type Store interface {
	Active(ctx context.Context) ([]cancellation.Cancellation, error)
	Update(ctx context.Context, id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error)
}

// Recorder counts lookups for the metrics of interface.md.
type Recorder interface {
	// ObserveLookup counts one lookup: result is "present", "absent" or a scraper.Reason.
	ObserveLookup(provider, result string)
	// SetCanary records whether the sweep's canary lookup came back present.
	SetCanary(ok bool)
}

// Options configure a sweep.
type Options struct {
	Store    Store
	Provider scraper.Provider
	Recorder Recorder
	// Canary is a licence known to be filed; it must come back present for
	// any absence of the same sweep to be trusted.
	Canary string
	// Confirmations is how many separate sweeps must see an absence before it changes a status.
	Confirmations int
	// Budget caps the lookups of one sweep (the canary excluded), most urgent first.
	Budget int
	Now    func() time.Time
	Logger *slog.Logger
}

// Sweep is the query job.
type Sweep struct{ o Options }

// New returns the query job.
func New(o Options) *Sweep {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sweep{o: o}
}

const actor = "job:query"

// Name names the job in metrics and logs.
func (s *Sweep) Name() string { return "query" }

// Run performs one sweep.
func (s *Sweep) Run(ctx context.Context) error {
	active, err := s.o.Store.Active(ctx)
	if err != nil {
		return fmt.Errorf("load active cancellations: %w", err)
	}
	groups := plan(active, s.o.Budget)
	if len(groups) == 0 {
		return nil
	}
	id := sweepID(s.o.Now())
	trusted, err := s.canary(ctx)
	if err != nil {
		// The provider proved nothing, not even about a filed licence: the
		// rest of the sweep would only knock on a closed door.
		s.o.Logger.Warn("canary lookup unknown; sweep skipped", "canary", s.o.Canary, "reason", scraper.ReasonOf(err), "err", err)
		return nil
	}
	var failed int
	for _, g := range groups {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ans, lerr := s.lookup(ctx, g.query)
		for _, c := range g.members {
			if err := s.apply(ctx, c.ID, id, ans, lerr, trusted); err != nil {
				failed++
				s.o.Logger.Error("record lookup evidence", "id", c.ID, "err", err)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d cancellations could not be updated", failed)
	}
	return nil
}

// canary looks the canary up. It returns whether absences may be trusted in
// this sweep; an error means the lookup itself was unknown.
func (s *Sweep) canary(ctx context.Context) (bool, error) {
	ans, err := s.lookup(ctx, s.o.Canary)
	ok := err == nil && ans.Present()
	s.o.Recorder.SetCanary(ok)
	if err == nil && !ok {
		// A filed licence came back absent: the silent empty answer of a
		// blacklisted client (domain.md §1.5). Presences still count.
		s.o.Logger.Warn("canary came back absent; absences in this sweep are not trusted", "canary", s.o.Canary)
	}
	return ok, err
}

func (s *Sweep) lookup(ctx context.Context, query string) (scraper.Answer, error) {
	ans, err := s.o.Provider.Lookup(ctx, query)
	result := "absent"
	switch {
	case err != nil:
		result = string(scraper.ReasonOf(err))
	case ans.Present():
		result = "present"
	}
	s.o.Recorder.ObserveLookup(s.o.Provider.Name(), result)
	return ans, err
}

// apply records one lookup's outcome on one cancellation.
func (s *Sweep) apply(ctx context.Context, id, sweep string, ans scraper.Answer, lerr error, trusted bool) error {
	now := s.o.Now()
	_, err := s.o.Store.Update(ctx, id, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		if !c.Status.Active() {
			return cancellation.Event{}, nil // changed under us (an operator acted): nothing to add
		}
		if lerr != nil {
			c.Record.UnknownAt, c.Record.UnknownReason = now, string(scraper.ReasonOf(lerr))
			return cancellation.Event{}, nil
		}
		matches := Matching(*c, ans.Records)
		if len(matches) > 0 {
			return present(c, matches, now), nil
		}
		if !trusted {
			c.Record.UnknownAt, c.Record.UnknownReason = now, "canary_failed"
			return cancellation.Event{}, nil
		}
		return s.absent(c, sweep, now), nil
	})
	return err
}

func present(c *cancellation.Cancellation, matches []string, now time.Time) cancellation.Event {
	was := c.Record.Present
	yes := true
	c.Record.Present, c.Record.CheckedAt, c.Record.Licences = &yes, now, matches
	c.Record.AbsentSweeps, c.Record.FirstAbsentAt = 0, time.Time{}
	if was != nil && *was {
		return cancellation.Event{}
	}
	return cancellation.Event{At: now, Action: "record", Detail: "public query returned " + strings.Join(matches, ", ")}
}

func (s *Sweep) absent(c *cancellation.Cancellation, sweep string, now time.Time) cancellation.Event {
	no := false
	was := c.Record.Present
	c.Record.Present, c.Record.CheckedAt, c.Record.Licences = &no, now, nil
	if c.Record.LastSweep != sweep {
		c.Record.AbsentSweeps++
		c.Record.LastSweep = sweep
	}
	if c.Record.FirstAbsentAt.IsZero() {
		c.Record.FirstAbsentAt = now
	}
	n, need := c.Record.AbsentSweeps, s.o.Confirmations
	detail := fmt.Sprintf("public query returned no record for %s (%d of %d confirmations, canary present)", c.Licence, min(n, need), need)
	if c.Kind == cancellation.KindAccess || n < need {
		// Cancelling access leaves the MIIT record in place, so its absence
		// proves nothing about this cancellation.
		if was != nil && !*was {
			return cancellation.Event{}
		}
		return cancellation.Event{At: now, Action: "record", Detail: detail}
	}
	switch c.Status {
	case cancellation.Pending:
		c.Status, c.ApprovedAt, c.ApprovedBy = cancellation.Approved, c.Record.FirstAbsentAt, "inferred"
		// Clearing needs its own confirmations, all seen after approval.
		c.Record.AbsentSweeps, c.Record.FirstAbsentAt = 0, time.Time{}
		return cancellation.Event{At: now, Action: "approve", From: cancellation.Pending, To: cancellation.Approved,
			Detail: "approval inferred: " + detail}
	case cancellation.Approved:
		c.Status, c.ClearedAt = cancellation.Cleared, now
		return cancellation.Event{At: now, Action: "clear", From: cancellation.Approved, To: cancellation.Cleared,
			Detail: "cleared, a new filing may be made: " + detail}
	}
	return cancellation.Event{}
}

// group is one lookup and the cancellations it answers for.
type group struct {
	query   string
	members []cancellation.Cancellation
}

// plan groups cancellations by subject licence, so that one lookup of the
// subject number serves every website under it, and orders the groups most
// urgent first: approved before pending, then oldest submitted first.
func plan(active []cancellation.Cancellation, budget int) []group {
	bySubject := map[string]*group{}
	var groups []*group
	for _, c := range active {
		q := cancellation.SubjectOf(c.Licence)
		g, ok := bySubject[q]
		if !ok {
			g = &group{query: q}
			bySubject[q] = g
			groups = append(groups, g)
		}
		g.members = append(g.members, c)
	}
	for _, g := range groups {
		slices.SortFunc(g.members, urgency)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		return cmp.Or(urgency(a.members[0], b.members[0]), cmp.Compare(a.query, b.query))
	})
	if budget > 0 && len(groups) > budget {
		groups = groups[:budget]
	}
	out := make([]group, len(groups))
	for i, g := range groups {
		out[i] = *g
	}
	return out
}

func urgency(a, b cancellation.Cancellation) int {
	rank := func(c cancellation.Cancellation) int {
		if c.Status == cancellation.Approved {
			return 0
		}
		return 1
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Submitted, b.Submitted), cmp.Compare(a.ID, b.ID))
}

// Matching returns the licences among records that keep c's filing alive: for
// a subject, any record of the subject; for a website or access, its own number.
func Matching(c cancellation.Cancellation, records []scraper.Record) []string {
	subject := cancellation.SubjectOf(c.Licence)
	var out []string
	for _, r := range records {
		lic := cancellation.NormaliseLicence(r.Licence)
		var hit bool
		if c.Kind == cancellation.KindSubject {
			hit = cancellation.SubjectOf(r.MainLicence) == subject || cancellation.SubjectOf(lic) == subject
		} else {
			hit = lic == c.Licence
		}
		if hit && !slices.Contains(out, lic) {
			out = append(out, lic)
		}
	}
	slices.Sort(out)
	return out
}

// sweepID names one sweep, so that one sweep never counts an absence twice.
func sweepID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d-%s", now.UnixNano(), hex.EncodeToString(b))
}
