// Package track is what operators do to tracked cancellations: add, list,
// show, record decisions, remove. The CLI does it on Redis directly (Local)
// or through the daemon's HTTP API (monitor/api), which runs Local itself:
// one set of checks and one set of messages either way.
package track

import (
	"context"
	"fmt"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/store"
)

// Service is what can be done to tracked cancellations.
type Service interface {
	// Add starts tracking the cancellation s describes.
	Add(ctx context.Context, s Spec) (Detail, error)
	// List shows the cancellations f selects.
	List(ctx context.Context, f store.Filter) ([]View, error)
	// Show shows one cancellation in full.
	Show(ctx context.Context, id string) (Detail, error)
	// Approve records the administration's approval on the China date at
	// (YYYY-MM-DD; empty means today).
	Approve(ctx context.Context, id, at string) (Detail, error)
	// Transition moves a cancellation to status to now: a rejection or a
	// withdrawal (an approval dated today too).
	Transition(ctx context.Context, id string, to cancellation.Status) (Detail, error)
	// Remove stops tracking a cancellation; its history is kept.
	Remove(ctx context.Context, id string) error
}

// InvalidError is a request that is wrong whatever the store holds: a bad
// licence, a date in the future.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// RefusedError is a change that the cancellation as it stands does not
// allow: rejecting an approved one, approving before the submission.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Local is the Service on a store, with one configuration's limits and
// calendar.
type Local struct {
	Store    *store.Store
	Config   *config.Config
	Calendar *calendar.Calendar
	// Actor names who the writes are recorded as, e.g.
	// cancellation.OperatorActor(user).
	Actor string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (l *Local) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

func (l *Local) rules() status.Rules { return status.RulesOf(l.Config, l.Calendar) }

// Add checks s and starts tracking it. A licence under active review or an
// ID used before is refused with a *store.DuplicateError.
func (l *Local) Add(ctx context.Context, s Spec) (Detail, error) {
	want, err := s.Cancellation(calendar.DateOf(l.now()), l.Config.Track.MaxDomains)
	if err != nil {
		return Detail{}, &InvalidError{err}
	}
	added, err := l.Store.Add(ctx, want, l.Actor)
	if err != nil {
		return Detail{}, err
	}
	return l.Show(ctx, added.ID)
}

// List shows the cancellations f selects, in the store's order.
func (l *Local) List(ctx context.Context, f store.Filter) ([]View, error) {
	cs, err := l.Store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	now, rules := l.now(), l.rules()
	views := make([]View, len(cs))
	for i, c := range cs {
		views[i] = NewView(rules.Of(c, now))
	}
	return views, nil
}

// Show shows one cancellation with its history; an unknown or removed one
// is an error matching store.ErrNotFound.
func (l *Local) Show(ctx context.Context, id string) (Detail, error) {
	c, err := l.Store.Get(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	history, err := l.Store.History(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	return NewDetail(c, l.rules().Of(c, l.now()), history), nil
}

// Approve records an approval on the China date at, today when empty. A
// date in the future is refused; an earlier one is taken from its start,
// so that the reach grace ends no later than it really does.
func (l *Local) Approve(ctx context.Context, id, at string) (Detail, error) {
	now := l.now()
	when := now
	if at != "" {
		d, err := calendar.ParseDate(at)
		if err != nil {
			return Detail{}, &InvalidError{fmt.Errorf("at: %w", err)}
		}
		today := calendar.DateOf(now)
		if d > today {
			return Detail{}, &InvalidError{fmt.Errorf("cannot approve %s on %s: the date is in the future (today in China is %s)", id, d, today)}
		}
		if d < today {
			when = d.Start()
		}
	}
	return l.transition(ctx, id, cancellation.Approved, when)
}

// Transition moves a cancellation to status to now, as the lifecycle allows.
func (l *Local) Transition(ctx context.Context, id string, to cancellation.Status) (Detail, error) {
	return l.transition(ctx, id, to, l.now())
}

func (l *Local) transition(ctx context.Context, id string, to cancellation.Status, at time.Time) (Detail, error) {
	_, err := l.Store.Update(ctx, id, l.Actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		e, err := c.Transition(to, at, l.Actor, "")
		if err != nil {
			return e, &RefusedError{err}
		}
		return e, nil
	})
	if err != nil {
		return Detail{}, err
	}
	return l.Show(ctx, id)
}

// Remove stops tracking a cancellation; its history stays, recording the removal.
func (l *Local) Remove(ctx context.Context, id string) error {
	return l.Store.Remove(ctx, id, l.Actor)
}
