package track_test

import (
	"errors"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/monitor/track"
)

// now is the service's clock in these tests.
var now = time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.China)

func newLocal(t *testing.T) *track.Local {
	t.Helper()
	cfg := config.Default()
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &track.Local{
		Store: store.New(redistest.Start(t).Client(t), "test"), Config: &cfg, Calendar: cal,
		Actor: cancellation.OperatorActor("tester"), Now: func() time.Time { return now },
	}
}

func TestApprovalDates(t *testing.T) {
	l := newLocal(t)
	ctx := t.Context()
	for _, want := range []struct {
		id, licence, at string
		when            time.Time
	}{
		// An earlier day counts from its start: the grace ends no later than it really does.
		{"past", "京ICP备12345671号", "2026-02-20", calendar.NewDate(2026, 2, 20).Start()},
		{"today", "京ICP备12345672号", "2026-03-02", now},
		{"default", "京ICP备12345673号", "", now},
	} {
		id := want.id
		if _, err := l.Add(ctx, track.Spec{Kind: "subject", Licence: want.licence, Submitted: "2026-02-02", ID: id}); err != nil {
			t.Fatal(err)
		}
		d, err := l.Approve(ctx, id, want.at)
		if err != nil {
			t.Fatalf("approve %s: %v", id, err)
		}
		if d.ApprovedAt == nil || !d.ApprovedAt.Equal(want.when) || d.ApprovedBy != "operator" {
			t.Errorf("%s approved at %v, want %v", id, d.ApprovedAt, want.when)
		}
		if e, ok := d.Transition(cancellation.Approved); !ok || e.From != cancellation.Pending || e.Actor != l.Actor {
			t.Errorf("%s: approval event %+v %v", id, e, ok)
		}
	}
}

// Errors say what kind of wrong they are, for the API's status codes.
func TestErrorKinds(t *testing.T) {
	l := newLocal(t)
	ctx := t.Context()
	if _, err := l.Add(ctx, track.Spec{Kind: "website", Licence: "京ICP备12345678号-1", Submitted: "2026-02-02", ID: "a"}); err != nil {
		t.Fatal(err)
	}
	var (
		invalid   *track.InvalidError
		refused   *track.RefusedError
		duplicate *store.DuplicateError
	)
	_, err := l.Add(ctx, track.Spec{Kind: "website", Licence: "京ICP备12345678号", Submitted: "2026-02-02"})
	if !errors.As(err, &invalid) {
		t.Errorf("bad licence: %v", err)
	}
	if _, err := l.Approve(ctx, "a", "2026-03-03"); !errors.As(err, &invalid) || err.Error() != "cannot approve a on 2026-03-03: the date is in the future (today in China is 2026-03-02)" {
		t.Errorf("approval tomorrow: %v", err)
	}
	if _, err := l.Approve(ctx, "a", "2026-02-01"); !errors.As(err, &refused) || err.Error() != "cannot approve a on 2026-02-01: it was submitted on 2026-02-02" {
		t.Errorf("approval before the submission: %v", err)
	}
	if _, err := l.Add(ctx, track.Spec{Kind: "access", Licence: "京ICP备12345678号-1", Submitted: "2026-02-02"}); !errors.As(err, &duplicate) {
		t.Errorf("duplicate licence: %v", err)
	}
	if _, err := l.Transition(ctx, "a", cancellation.Withdrawn); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transition(ctx, "a", cancellation.Rejected); !errors.As(err, &refused) || err.Error() != "cannot reject a: it is withdrawn" {
		t.Errorf("rejecting a withdrawn one: %v", err)
	}
	if _, err := l.Transition(ctx, "nosuch", cancellation.Rejected); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown ID: %v", err)
	}
	if err := l.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Show(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removed: %v", err)
	}
}
