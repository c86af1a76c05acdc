package cancellation

import (
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
)

func TestCanTransition(t *testing.T) {
	allowed := map[[2]Status]bool{
		{Pending, Approved}:  true,
		{Pending, Rejected}:  true,
		{Pending, Withdrawn}: true,
		{Approved, Cleared}:  true,
	}
	for _, from := range Statuses() {
		for _, to := range Statuses() {
			if got := CanTransition(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
	}
}

func sample(status Status) Cancellation {
	return Cancellation{
		ID: "abc123", Kind: KindWebsite, Licence: "京ICP备12345678号-1", Province: "京",
		Domains: []string{"example.com"}, Submitted: calendar.NewDate(2026, time.October, 9), Status: status,
	}
}

func TestTransition(t *testing.T) {
	at := time.Date(2026, time.October, 20, 10, 0, 0, 0, calendar.China)

	c := sample(Pending)
	ev, err := c.Transition(Approved, at, OperatorActor("alice"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != Approved || !c.ApprovedAt.Equal(at) || c.ApprovedBy != "operator" {
		t.Errorf("after approve: %+v", c)
	}
	want := Event{Actor: "operator:alice", Action: ActionApprove, From: Pending, To: Approved, Detail: "approved on 2026-10-20"}
	if ev != want {
		t.Errorf("event %+v, want %+v", ev, want)
	}

	c = sample(Pending)
	ev, err = c.Transition(Approved, at, JobActor("query"), "absent in 2 sweeps")
	if err != nil || c.ApprovedBy != "inferred" || ev.Detail != "approved on 2026-10-20; absent in 2 sweeps" {
		t.Errorf("inferred approval: %+v %+v %v", c, ev, err)
	}
	if _, err := c.Transition(Cleared, at, JobActor("query"), "absent twice"); err != nil || c.Status != Cleared {
		t.Errorf("clear by job: %v", err)
	}

	refusals := []struct {
		from  Status
		to    Status
		actor string
		at    time.Time
		want  string
	}{
		{Rejected, Approved, "operator:a", at, "cannot approve abc123: it is rejected"},
		{Approved, Approved, "operator:a", at, "cannot approve abc123: it is already approved"},
		{Approved, Withdrawn, "operator:a", at, "cannot withdraw abc123: it is approved"},
		{Cleared, Pending, "operator:a", at, "cannot reopen abc123: it is cleared"},
		{Pending, Cleared, "job:query", at, "cannot clear abc123: it is pending"},
		{Approved, Cleared, "operator:a", at, "cannot clear abc123: only public-query evidence clears a cancellation"},
		{Pending, Approved, "operator:a", calendar.NewDate(2026, time.October, 8).Start(), "cannot approve abc123 on 2026-10-08: it was submitted on 2026-10-09"},
		{Pending, Rejected, "operator:a", time.Time{}, "cannot reject abc123: no time given"},
	}
	for _, r := range refusals {
		c := sample(r.from)
		if r.from == Approved || r.from == Cleared {
			c.ApprovedAt = at
		}
		before := c.Clone()
		_, err := c.Transition(r.to, r.at, r.actor, "")
		if err == nil || err.Error() != r.want {
			t.Errorf("%s -> %s by %s: %v, want %q", r.from, r.to, r.actor, err, r.want)
		}
		if c.Status != before.Status || !c.ApprovedAt.Equal(before.ApprovedAt) {
			t.Errorf("refused transition changed the cancellation: %+v", c)
		}
	}
}

func TestApprovalOnTheSubmittedDay(t *testing.T) {
	c := sample(Pending)
	if _, err := c.Transition(Approved, c.Submitted.Start(), "operator:a", ""); err != nil {
		t.Errorf("approval on the submitted day refused: %v", err)
	}
}
