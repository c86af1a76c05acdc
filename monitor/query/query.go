// Package query is the query job: each run (a sweep) looks every active cancellation up on
// the public query system and turns definite answers into evidence and, when
// the evidence is strong enough, into status changes.
//
// The rules that keep it honest: what an answer proves is package evidence's
// to say, and an absence counts only once package lookup's canary bracket
// vouched for it (a canary lookup after it, on the same provider, came back
// present); an unknown lookup changes nothing but the note of why it was
// unknown; and an absence changes a status only after it was seen in
// Confirmations separate sweeps.
package query

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/evidence"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/scraper"
)

// Store is what a sweep needs of the store.
type Store interface {
	Active(ctx context.Context) ([]cancellation.Cancellation, error)
	Update(ctx context.Context, id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error)
}

// Options configure a sweep.
type Options struct {
	Store Store
	// Chain is the providers, in order, and the canary that brackets their absences.
	Chain *lookup.Chain
	// Confirmations is how many separate sweeps must see an absence before it changes a status.
	Confirmations int
	// Budget caps the lookups of one sweep (canaries excluded), most urgent first.
	Budget int
	// Batch is how many absences a provider may give before the canary is
	// looked up again to vouch for them [8]. Absences are rare; a smaller
	// batch costs lookups, a larger one discards more when a ban starts.
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Job is the query job; each run is a sweep.
type Job struct{ o Options }

// New returns the query job.
func New(o Options) *Job {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Batch <= 0 {
		o.Batch = 8
	}
	return &Job{o: o}
}

var actor = cancellation.JobActor("query")

// Name names the job in metrics and logs.
func (s *Job) Name() string { return "query" }

// Run performs one sweep.
func (s *Job) Run(ctx context.Context) error {
	active, err := s.o.Store.Active(ctx)
	if err != nil {
		return fmt.Errorf("load active cancellations: %w", err)
	}
	groups := plan(active, s.o.Budget)
	if len(groups) == 0 {
		return nil
	}
	id := sweepID(s.o.Now())
	session := s.o.Chain.Session(s.o.Batch)
	if err := session.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// No provider proved even a filed licence present: the rest of the
		// sweep would only knock on closed doors.
		s.o.Logger.Warn("canary lookup failed on every provider; sweep skipped", "err", err)
		return nil
	}
	var failed int
	for _, g := range groups {
		q, err := question(g)
		if err != nil {
			failed++
			s.o.Logger.Error("plan lookup", "query", g.query, "err", err)
			continue
		}
		q.Done = func(o lookup.Outcome) {
			for i, c := range g.members {
				if err := s.apply(ctx, c.ID, id, o, o.Verdicts[i]); err != nil {
					failed++
					s.o.Logger.Error("record lookup evidence", "id", c.ID, "err", err)
				}
			}
		}
		session.Ask(ctx, q)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	session.Finish(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d cancellations could not be updated", failed)
	}
	return nil
}

// question asks for a group's subject, judged for each member: the subject
// itself for a subject cancellation, its own number for the others.
func question(g group) (lookup.Question, error) {
	asked, err := evidence.SubjectKey(g.query)
	if err != nil {
		return lookup.Question{}, err
	}
	q := lookup.Question{Asked: asked}
	for _, c := range g.members {
		want, err := evidence.LicenceKey(c.Licence)
		if err != nil {
			return lookup.Question{}, fmt.Errorf("%s: %w", c.ID, err)
		}
		q.Wants = append(q.Wants, want)
	}
	return q, nil
}

// apply records one verdict on one cancellation.
func (s *Job) apply(ctx context.Context, id, sweep string, o lookup.Outcome, v evidence.Verdict) error {
	now := s.o.Now()
	_, err := s.o.Store.Update(ctx, id, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		if !c.Status.Active() {
			return cancellation.Event{}, nil // changed under us (an operator acted): nothing to add
		}
		switch v.Result {
		case evidence.Present:
			return present(c, o.Provider, v, now), nil
		case evidence.Absent:
			return s.absent(c, sweep, o, v, now)
		}
		was := c.Record.UnknownReason
		c.Record.UnknownAt, c.Record.UnknownReason = now, string(v.Reason)
		if v.Reason == scraper.SilentBanSuspected && was != c.Record.UnknownReason {
			// The one unknown worth a line of history: an absence that was
			// reported and then thrown out.
			return cancellation.Event{At: now, Action: "record", Detail: "absence discarded: " + v.Why}, nil
		}
		return cancellation.Event{}, nil
	})
	return err
}

func present(c *cancellation.Cancellation, provider string, v evidence.Verdict, now time.Time) cancellation.Event {
	was := c.Record.Present
	yes := true
	c.Record.Present, c.Record.CheckedAt, c.Record.Licences, c.Record.Provider = &yes, now, v.Matches, provider
	if v.UnitName != "" {
		// A source that does not show the unit leaves the one seen before.
		c.Record.UnitName = v.UnitName
	}
	c.Record.AbsentSweeps, c.Record.FirstAbsentAt = 0, time.Time{}
	if was != nil && *was {
		return cancellation.Event{}
	}
	return cancellation.Event{At: now, Action: "record", Detail: fmt.Sprintf("public query (%s) returned %s", provider, strings.Join(v.Matches, ", "))}
}

func (s *Job) absent(c *cancellation.Cancellation, sweep string, o lookup.Outcome, v evidence.Verdict, now time.Time) (cancellation.Event, error) {
	no := false
	was := c.Record.Present
	c.Record.Present, c.Record.CheckedAt, c.Record.Licences, c.Record.Provider = &no, now, nil, o.Provider
	if c.Record.LastSweep != sweep {
		c.Record.AbsentSweeps++
		c.Record.LastSweep = sweep
	}
	if c.Record.FirstAbsentAt.IsZero() {
		c.Record.FirstAbsentAt = now
	}
	n, need := c.Record.AbsentSweeps, s.o.Confirmations
	detail := fmt.Sprintf("public query (%s) proved no record for %s (%d of %d confirmations): %s; %s",
		o.Provider, c.Licence, min(n, need), need, v.Why, o.Bracket)
	if c.Kind == cancellation.KindAccess || n < need {
		// Cancelling access leaves the MIIT record in place, so its absence
		// proves nothing about this cancellation.
		if was != nil && !*was {
			return cancellation.Event{}, nil
		}
		return cancellation.Event{At: now, Action: "record", Detail: detail}, nil
	}
	var (
		ev  cancellation.Event
		err error
	)
	switch c.Status {
	case cancellation.Pending:
		ev, err = c.Transition(cancellation.Approved, c.Record.FirstAbsentAt, actor, "approval inferred: "+detail)
		// Clearing needs its own confirmations, all seen after approval.
		c.Record.AbsentSweeps, c.Record.FirstAbsentAt = 0, time.Time{}
	case cancellation.Approved:
		ev, err = c.Transition(cancellation.Cleared, now, actor, "cleared, a new filing may be made: "+detail)
	default:
		return cancellation.Event{}, errors.New("absent applied to an inactive cancellation")
	}
	if err != nil {
		return cancellation.Event{}, err
	}
	ev.At = now
	return ev, nil
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

// sweepID names one sweep, so that one sweep never counts an absence twice.
func sweepID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d-%s", now.UnixNano(), hex.EncodeToString(b))
}
