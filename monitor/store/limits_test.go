package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// yunnan returns a pending website cancellation of 云 or 滇 (prefix)
// ICP备12345681号-1, the pair once tracked twice.
func yunnan(prefix, id string) cancellation.Cancellation {
	return cancellation.Cancellation{
		ID: id, Kind: cancellation.KindWebsite, Licence: prefix + "ICP备12345681号-1", Province: prefix,
		Submitted: calendar.NewDate(2026, time.October, 9),
	}
}

// A regression: 云ICP备12345681号-1 and 滇ICP备12345681号-1 (both Yunnan) were
// tracked as two active cancellations.
func TestAliasDuplicateRefused(t *testing.T) {
	for _, order := range [][2]string{{"云", "滇"}, {"滇", "云"}} {
		t.Run(order[0]+"then"+order[1], func(t *testing.T) {
			s, rdb := newStore(t)
			first := add(t, s, yunnan(order[0], "first"))
			if first.Licence != order[0]+"ICP备12345681号-1" {
				t.Errorf("stored %s, not the number as typed", first.Licence)
			}
			_, err := s.Add(ctx(t), yunnan(order[1], "second"), operator)
			want := "licence " + order[1] + "ICP备12345681号-1 is already tracked by active cancellation first"
			var dup *DuplicateError
			if !errors.As(err, &dup) || err.Error() != want {
				t.Fatalf("Add: %v\nwant %s", err, want)
			}
			err = s.AddMany(ctx(t), []cancellation.Cancellation{website(1), yunnan(order[1], "third")}, operator)
			var item *ItemError
			if !errors.As(err, &item) || item.Index != 1 || item.Err.Error() != want {
				t.Fatalf("AddMany: %v", err)
			}
			if n := rdb.Exists(ctx(t), s.keys.blob("second"), s.keys.blob("third")).Val(); n != 0 {
				t.Errorf("%d refused documents written", n)
			}
			// once the first is rejected, the other spelling may be tracked
			if _, err := s.Transition(ctx(t), "first", cancellation.Rejected, time.Now(), operator, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(ctx(t), yunnan(order[1], "second"), operator); err != nil {
				t.Errorf("after rejection: %v", err)
			}
		})
	}
	t.Run("in one batch", func(t *testing.T) {
		s, _ := newStore(t)
		err := s.AddMany(ctx(t), []cancellation.Cancellation{yunnan("云", "a"), website(1), yunnan("滇", "b")}, operator)
		var item *ItemError
		if !errors.As(err, &item) || item.Index != 2 || item.Err.Error() != "licence 滇ICP备12345681号-1 is already tracked by active cancellation a" {
			t.Fatalf("AddMany: %v", err)
		}
	})
}

// An index written before keys were folded holds 云ICP备… as typed: it
// still refuses the other spelling, and moves to the folded key when its
// cancellation is next written.
func TestAliasDuplicateAgainstUnfoldedIndex(t *testing.T) {
	s, rdb := newStore(t)
	add(t, s, yunnan("云", "old"))
	// as the earlier version wrote it
	lk := s.keys.licences()
	rdb.HDel(ctx(t), lk, "滇ICP备12345681号-1")
	rdb.HSet(ctx(t), lk, "云ICP备12345681号-1", "old")

	want := "licence 滇ICP备12345681号-1 is already tracked by active cancellation old"
	if _, err := s.Add(ctx(t), yunnan("滇", "new"), operator); err == nil || err.Error() != want {
		t.Errorf("Add: %v", err)
	}
	var item *ItemError
	if err := s.AddMany(ctx(t), []cancellation.Cancellation{yunnan("滇", "new")}, operator); !errors.As(err, &item) || item.Err.Error() != want {
		t.Errorf("AddMany: %v", err)
	}
	if _, err := s.Transition(ctx(t), "old", cancellation.Approved, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGetAll(ctx(t), lk).Val(); len(got) != 1 || got["滇ICP备12345681号-1"] != "old" {
		t.Errorf("index after a write: %v", got)
	}
	if err := s.Remove(ctx(t), "old", operator); err != nil {
		t.Fatal(err)
	}
	if n := rdb.HLen(ctx(t), lk).Val(); n != 0 {
		t.Errorf("%d licences held after removal", n)
	}
}

// A regression: a 50 MB note and 20,000 domains were stored.
func TestLimitsRefusedAndNothingWritten(t *testing.T) {
	s, rdb := newStore(t)
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("d%d.example.com", i)
		}
		return out
	}
	long := website(1)
	long.ID, long.Note = "long", strings.Repeat("备注", cancellation.MaxNoteBytes)
	wide := website(2)
	wide.ID, wide.Domains = "wide", many(cancellation.DefaultMaxDomains+1)
	for _, tc := range []struct {
		c    cancellation.Cancellation
		want string
	}{
		{long, "cancellation long: the note is 24576 bytes, more than the 4096 (4 KiB) a cancellation keeps: link to longer text instead"},
		{wide, "cancellation wide: 101 domains is more than the 100 one cancellation may list (track.max_domains)"},
	} {
		if _, err := s.Add(ctx(t), tc.c, operator); err == nil || err.Error() != tc.want {
			t.Errorf("Add %s: %v", tc.c.ID, err)
		}
		if err := s.AddMany(ctx(t), []cancellation.Cancellation{website(3), tc.c}, operator); err == nil || err.Error() != "item 2: "+tc.want {
			t.Errorf("AddMany %s: %v", tc.c.ID, err)
		}
	}
	if n := rdb.DBSize(ctx(t)).Val(); n != 0 {
		t.Errorf("%d keys written", n)
	}

	// a configured limit
	if _, err := New(rdb, "test", MaxDomains(200)).Add(ctx(t), wide, operator); err != nil {
		t.Errorf("with track.max_domains 200: %v", err)
	}
	small := website(4)
	small.ID, small.Domains = "small", many(3)
	if _, err := New(rdb, "test", MaxDomains(2)).Add(ctx(t), small, operator); err == nil {
		t.Error("3 domains accepted with track.max_domains 2")
	}

	// an update may not grow past them
	c := add(t, s, website(5))
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note = long.Note
		return cancellation.Event{Action: "edit"}, nil
	}); err == nil || !strings.Contains(err.Error(), "the note is 24576 bytes") {
		t.Errorf("Update to a long note: %v", err)
	}
	// but a document stored before the limits stays writable by the jobs
	if _, err := s.Update(ctx(t), "wide", operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Record.UnknownReason = "canary_failed"
		return cancellation.Event{}, nil
	}); err != nil {
		t.Errorf("a job's write to a wide document: %v", err)
	}
}
