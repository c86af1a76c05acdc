package cancellation

import (
	"fmt"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
)

// History actions. A status change uses the verb of its target status.
const (
	ActionAdd      = "add"
	ActionApprove  = "approve"
	ActionReject   = "reject"
	ActionWithdraw = "withdraw"
	ActionClear    = "clear"
	ActionRemove   = "remove"
)

// transitions is the whole lifecycle: nothing else is ever allowed.
var transitions = map[Status][]Status{
	Pending:  {Approved, Rejected, Withdrawn},
	Approved: {Cleared},
}

// CanTransition reports whether a cancellation may move from one status to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Verb is the history action that moves a cancellation into s.
func (s Status) Verb() string {
	switch s {
	case Approved:
		return ActionApprove
	case Rejected:
		return ActionReject
	case Withdrawn:
		return ActionWithdraw
	case Cleared:
		return ActionClear
	default:
		return "reopen"
	}
}

// OperatorActor names a person recorded through the CLI.
func OperatorActor(user string) string { return "operator:" + user }

// JobActor names a daemon job that recorded evidence.
func JobActor(job string) string { return "job:" + job }

// IsJob reports whether actor is a job rather than a person.
func IsJob(actor string) bool { return strings.HasPrefix(actor, "job:") }

// Transition moves c to status to, effective at at, as recorded by actor,
// and returns the history event, which the store stamps when it records it.
// It refuses every move the lifecycle does
// not allow, a cleared status that does not come from a job's query
// evidence, and an approval dated before the submission.
func (c *Cancellation) Transition(to Status, at time.Time, actor, detail string) (Event, error) {
	from := c.Status
	if from == to {
		return Event{}, fmt.Errorf("cannot %s %s: it is already %s", to.Verb(), c.ID, from)
	}
	if !CanTransition(from, to) {
		return Event{}, fmt.Errorf("cannot %s %s: it is %s", to.Verb(), c.ID, from)
	}
	if to == Cleared && !IsJob(actor) {
		return Event{}, fmt.Errorf("cannot %s %s: only public-query evidence clears a cancellation", to.Verb(), c.ID)
	}
	if at.IsZero() {
		return Event{}, fmt.Errorf("cannot %s %s: no time given", to.Verb(), c.ID)
	}
	if to == Approved {
		if calendar.DateOf(at) < c.Submitted {
			return Event{}, fmt.Errorf("cannot approve %s on %s: it was submitted on %s", c.ID, calendar.DateOf(at), c.Submitted)
		}
		c.ApprovedAt = at
		c.ApprovedBy = "operator"
		if IsJob(actor) {
			c.ApprovedBy = "inferred"
		}
		// The event is stamped when it is recorded; the approval date it
		// names may be earlier, so the history keeps both.
		detail = strings.TrimSuffix("approved on "+calendar.DateOf(at).String()+"; "+detail, "; ")
	}
	if to == Cleared {
		c.ClearedAt = at
	}
	c.Status = to
	return Event{Actor: actor, Action: to.Verb(), From: from, To: to, Detail: detail}, nil
}
