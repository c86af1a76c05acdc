package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// notice is one entry of the change stream as a test reads it: "resync"
// stands for the IDs of a batch too large to list.
type notice struct {
	seq int64
	ids string
}

func (n notice) String() string {
	return fmt.Sprintf("%d:%s", n.seq, strings.ReplaceAll(n.ids, "\n", ","))
}

// notices reads the whole change stream of the store "test".
func notices(t *testing.T, rdb *redis.Client) []notice {
	t.Helper()
	msgs, err := rdb.XRange(ctx(t), "{test}:changes", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]notice, len(msgs))
	for i, m := range msgs {
		seq, err := strconv.ParseInt(fmt.Sprint(m.Values["seq"]), 10, 64)
		if err != nil {
			t.Fatalf("notice %s: %v", m.ID, err)
		}
		out[i] = notice{seq: seq, ids: fmt.Sprint(m.Values["ids"])}
		if m.Values["resync"] == "1" {
			out[i].ids = "resync"
		}
	}
	return out
}

// expectNotices checks the stream holds want past the first skip notices, numbered on from skip.
func expectNotices(t *testing.T, rdb *redis.Client, skip int, what string, want ...string) {
	t.Helper()
	got := notices(t, rdb)
	var gotS, wantS []string
	for _, n := range got[min(skip, len(got)):] {
		gotS = append(gotS, n.String())
	}
	for i, ids := range want {
		wantS = append(wantS, notice{seq: int64(skip + i + 1), ids: ids}.String())
	}
	if !slices.Equal(gotS, wantS) {
		t.Errorf("%s: notices %v, want %v", what, gotS, wantS)
	}
	if seq, _ := rdb.Get(ctx(t), "{test}:changes:seq").Int64(); seq != int64(skip+len(want)) {
		t.Errorf("%s: sequence at %d, want %d", what, seq, skip+len(want))
	}
}

func note(text string) func(c *cancellation.Cancellation) (cancellation.Event, error) {
	return func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note = text
		return cancellation.Event{Action: "note", Detail: text}, nil
	}
}

func TestEveryWriteNotifiesOnce(t *testing.T) {
	s, rdb := newStore(t)
	a := add(t, s, website(1))
	expectNotices(t, rdb, 0, "Add", a.ID)

	if _, err := s.Transition(ctx(t), a.ID, cancellation.Approved, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	expectNotices(t, rdb, 1, "Transition", a.ID)

	if _, err := s.UpdateWithProbeHistory(ctx(t), a.ID, "job:reach", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.ProbeHistory = append(c.ProbeHistory, cancellation.Probe{Domain: c.Domains[0], Scheme: "https", Result: "served", At: time.Now()})
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	expectNotices(t, rdb, 2, "UpdateWithProbeHistory", a.ID)

	// Refusals and writes of nothing leave no notice.
	if _, err := s.Add(ctx(t), website(1), operator); !errors.As(err, new(*DuplicateError)) {
		t.Errorf("duplicate licence: %v", err)
	}
	used := website(2)
	used.ID = a.ID
	if _, err := s.Add(ctx(t), used, operator); !errors.As(err, new(*DuplicateError)) {
		t.Errorf("used ID: %v", err)
	}
	if _, err := s.Update(ctx(t), a.ID, operator, func(*cancellation.Cancellation) (cancellation.Event, error) {
		return cancellation.Event{}, nil
	}); err != nil {
		t.Errorf("no-op update: %v", err)
	}
	if _, err := s.Update(ctx(t), a.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note = "never written"
		return cancellation.Event{}, errors.New("boom")
	}); err == nil {
		t.Error("fn's error ignored")
	}
	if _, err := s.Transition(ctx(t), a.ID, cancellation.Rejected, time.Now(), operator, ""); err == nil {
		t.Error("reject after approval accepted")
	}
	expectNotices(t, rdb, 3, "refused writes")

	// A write that loses a race is refused and retried: one notice for the
	// write that won, one for the retry that landed.
	raced := false
	if _, err := s.Update(ctx(t), a.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		if !raced {
			raced = true
			if _, err := s.Update(ctx(t), a.ID, "job:racer", note("racer")); err != nil {
				return cancellation.Event{}, err
			}
		}
		return note("after the race")(c)
	}); err != nil {
		t.Fatal(err)
	}
	if h := actions(t, s, a.ID); h != "add approve note note" {
		t.Fatalf("no race happened: history %s", h)
	}
	expectNotices(t, rdb, 3, "conflict retried", a.ID, a.ID)

	if err := s.Remove(ctx(t), a.ID, operator); err != nil {
		t.Fatal(err)
	}
	expectNotices(t, rdb, 5, "Remove", a.ID)

	small := []cancellation.Cancellation{website(10), website(11), website(12)}
	if err := s.AddMany(ctx(t), small, operator); err != nil {
		t.Fatal(err)
	}
	expectNotices(t, rdb, 6, "AddMany of 3", small[0].ID+"\n"+small[1].ID+"\n"+small[2].ID)

	if err := s.AddMany(ctx(t), []cancellation.Cancellation{website(13), website(10)}, operator); err == nil {
		t.Error("AddMany of a tracked licence accepted")
	}
	expectNotices(t, rdb, 7, "refused AddMany")

	exact := make([]cancellation.Cancellation, 1000)
	for i := range exact {
		exact[i] = website(100 + i)
	}
	if err := s.AddMany(ctx(t), exact, operator); err != nil {
		t.Fatal(err)
	}
	if n := notices(t, rdb)[7]; n.seq != 8 || strings.Count(n.ids, "\n") != 999 || !strings.HasPrefix(n.ids, exact[0].ID+"\n") {
		t.Errorf("AddMany of 1000: notice %d lists %d IDs", n.seq, strings.Count(n.ids, "\n")+1)
	}

	big := make([]cancellation.Cancellation, 1001)
	for i := range big {
		big[i] = website(2000 + i)
	}
	if err := s.AddMany(ctx(t), big, operator); err != nil {
		t.Fatal(err)
	}
	expectNotices(t, rdb, 8, "AddMany of 1001", "resync")
}

// A script the client sent twice writes once, and notifies once.
func TestRepeatedWritesNotifyOnce(t *testing.T) {
	s, rdb := newStore(t)
	rdb.AddHook(sendTwice{})
	c := add(t, s, website(1))
	if _, err := s.Update(ctx(t), c.ID, operator, note("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note += "x" // no event: the document tells the repeat apart
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx(t), c.ID, operator); err != nil {
		t.Fatal(err)
	}
	batch := many(2)
	if err := s.AddMany(ctx(t), batch, operator); err != nil {
		t.Fatal(err)
	}
	expectNotices(t, rdb, 0, "every write sent twice", c.ID, c.ID, c.ID, c.ID, batch[0].ID+"\n"+batch[1].ID)
}

func TestChangesFollowsWrites(t *testing.T) {
	s, _ := newStore(t)
	fresh, err := s.ChangeCursor(ctx(t))
	if err != nil || fresh.StreamID != "0-0" || fresh.Seq != 0 || fresh.Epoch == "" {
		t.Fatalf("cursor of a fresh store: %+v, %v", fresh, err)
	}
	const wait = 50 * time.Millisecond
	start := time.Now()
	ids, next, err := s.Changes(ctx(t), fresh, wait, 100)
	if err != nil || len(ids) != 0 || next != fresh {
		t.Errorf("fresh store: %v %+v %v", ids, next, err)
	}
	if waited := time.Since(start); waited < wait {
		t.Errorf("returned after %v, before the %v wait", waited, wait)
	}
	if ids, next, err := s.Changes(ctx(t), Cursor{}, 0, 100); err != nil || len(ids) != 0 || next != (Cursor{}) {
		t.Errorf("zero cursor, no wait: %v %+v %v", ids, next, err)
	}

	a := add(t, s, website(1))
	before, err := s.ChangeCursor(ctx(t))
	if err != nil || before.Seq != 1 {
		t.Fatalf("cursor: %+v, %v", before, err)
	}
	b := add(t, s, website(2))
	if _, err := s.Update(ctx(t), a.ID, operator, note("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx(t), b.ID, operator, note("y")); err != nil {
		t.Fatal(err)
	}
	after, err := s.ChangeCursor(ctx(t))
	if err != nil || after.Seq != 4 {
		t.Fatalf("cursor: %+v, %v", after, err)
	}

	// From a cursor taken before the writes: each ID once, first seen first.
	ids, next, err = s.Changes(ctx(t), before, wait, 100)
	if err != nil || !slices.Equal(ids, []string{b.ID, a.ID}) || next != after {
		t.Errorf("from before the writes: %v %+v %v; want [%s %s] %+v", ids, next, err, b.ID, a.ID, after)
	}
	// At most about limit notices a call: the rest on the next.
	ids, next, err = s.Changes(ctx(t), fresh, wait, 2)
	if err != nil || !slices.Equal(ids, []string{a.ID, b.ID}) || next.Seq != 2 {
		t.Errorf("first 2 notices: %v %+v %v", ids, next, err)
	}
	ids, next, err = s.Changes(ctx(t), next, wait, 2)
	if err != nil || !slices.Equal(ids, []string{a.ID, b.ID}) || next != after {
		t.Errorf("next 2 notices: %v %+v %v", ids, next, err)
	}
	// From a cursor taken after them: nothing.
	ids, next, err = s.Changes(ctx(t), after, wait, 100)
	if err != nil || len(ids) != 0 || next != after {
		t.Errorf("from after the writes: %v %+v %v", ids, next, err)
	}

	// A write during the wait ends it.
	written := make(chan error)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, err := s.Update(ctx(t), a.ID, operator, note("z"))
		written <- err
	}()
	ids, next, err = s.Changes(ctx(t), after, 10*time.Second, 100)
	if err != nil || !slices.Equal(ids, []string{a.ID}) || next.Seq != 5 {
		t.Errorf("write during the wait: %v %+v %v", ids, next, err)
	}
	if err := <-written; err != nil {
		t.Error(err)
	}
}

func TestChangesMissed(t *testing.T) {
	// Three writes, the cursor, then after breaks the stream; Changes from
	// the cursor must say so, and why, before and after one more write.
	cases := []struct {
		name  string
		cap   int
		after func(t *testing.T, s *Store, rdb *redis.Client, c cancellation.Cancellation)
		why   string
	}{
		{"trimmed past the cursor", 5, func(t *testing.T, s *Store, rdb *redis.Client, c cancellation.Cancellation) {
			for i := range 250 {
				if _, err := s.Update(ctx(t), c.ID, operator, note(strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
			}
			if first := notices(t, rdb)[0]; first.seq <= 3 {
				t.Fatalf("the stream still starts at notice %d", first.seq)
			}
		}, "after 3"},
		{"sequence deleted", 0, func(t *testing.T, _ *Store, rdb *redis.Client, _ cancellation.Cancellation) {
			rdb.Del(ctx(t), "{test}:changes:seq")
		}, "sequence is gone"},
		{"sequence went back", 0, func(t *testing.T, _ *Store, rdb *redis.Client, _ cancellation.Cancellation) {
			rdb.Set(ctx(t), "{test}:changes:seq", 1, 0)
		}, "sequence is at 1"},
		{"sequence ahead of the stream", 0, func(t *testing.T, _ *Store, rdb *redis.Client, _ cancellation.Cancellation) {
			rdb.Set(ctx(t), "{test}:changes:seq", 10, 0)
		}, "sequence is at 10"},
		{"FLUSHDB", 0, func(t *testing.T, _ *Store, rdb *redis.Client, _ cancellation.Cancellation) {
			rdb.FlushDB(ctx(t))
		}, "sequence is gone"},
		{"bulk import", 0, func(t *testing.T, s *Store, _ *redis.Client, _ cancellation.Cancellation) {
			big := make([]cancellation.Cancellation, 1001)
			for i := range big {
				big[i] = website(100 + i)
			}
			if err := s.AddMany(ctx(t), big, operator); err != nil {
				t.Fatal(err)
			}
		}, "asks for a reload"},
		{"notice without a sequence number", 0, func(t *testing.T, _ *Store, rdb *redis.Client, c cancellation.Cancellation) {
			rdb.XAdd(ctx(t), &redis.XAddArgs{Stream: "{test}:changes", Values: []string{"ids", c.ID}})
		}, "no sequence number"},
		{"notice without IDs", 0, func(t *testing.T, _ *Store, rdb *redis.Client, _ cancellation.Cancellation) {
			rdb.Incr(ctx(t), "{test}:changes:seq")
			rdb.XAdd(ctx(t), &redis.XAddArgs{Stream: "{test}:changes", Values: []string{"seq", "4"}})
		}, "names no cancellation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb := redistest.Start(t).Client(t)
			s := New(rdb, "test", ChangeStreamCap(tc.cap))
			var c cancellation.Cancellation
			for i := range 3 {
				var err error
				if c, err = s.Add(ctx(t), website(i), operator); err != nil {
					t.Fatal(err)
				}
			}
			cur, err := s.ChangeCursor(ctx(t))
			if err != nil || cur.Seq != 3 {
				t.Fatalf("cursor: %+v, %v", cur, err)
			}
			tc.after(t, s, rdb, c)
			ids, next, err := s.Changes(ctx(t), cur, 20*time.Millisecond, 100)
			if !errors.Is(err, ErrChangesMissed) || !strings.Contains(err.Error(), tc.why) || ids != nil || next != cur {
				t.Errorf("Changes: %v %+v %v; want ErrChangesMissed: ...%s...", ids, next, err, tc.why)
			}
			add(t, s, website(5000))
			if _, _, err := s.Changes(ctx(t), cur, 20*time.Millisecond, 100); !errors.Is(err, ErrChangesMissed) {
				t.Errorf("Changes after one more write: %v; want ErrChangesMissed", err)
			}
			// A cursor taken after the reload the follower then does is good.
			cur, err = s.ChangeCursor(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if ids, next, err := s.Changes(ctx(t), cur, 20*time.Millisecond, 100); err != nil || len(ids) != 0 || next != cur {
				t.Errorf("from a new cursor: %v %+v %v", ids, next, err)
			}
		})
	}
}

// writeAfterTimeout lets write land just after an XREAD that found nothing
// returns, before Changes checks the sequence.
type writeAfterTimeout struct {
	write func()
}

func (writeAfterTimeout) DialHook(next redis.DialHook) redis.DialHook { return next }
func (writeAfterTimeout) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *writeAfterTimeout) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "xread" && errors.Is(err, redis.Nil) && h.write != nil {
			h.write()
			h.write = nil
		}
		return err
	}
}

// A write between the wait's end and the check of the sequence is read, not
// taken for a lost notice.
func TestChangesWriteAfterWait(t *testing.T) {
	srv := redistest.Start(t)
	s := New(srv.Client(t), "test")
	c := add(t, s, website(1))
	cur, err := s.ChangeCursor(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	follower := srv.Client(t)
	hook := &writeAfterTimeout{write: func() {
		if _, err := s.Update(ctx(t), c.ID, operator, note("late")); err != nil {
			t.Error(err)
		}
	}}
	follower.AddHook(hook)
	ids, next, err := New(follower, "test").Changes(ctx(t), cur, 20*time.Millisecond, 100)
	if hook.write != nil {
		t.Fatal("no write after the wait")
	}
	if err != nil || !slices.Equal(ids, []string{c.ID}) || next.Seq != cur.Seq+1 {
		t.Errorf("Changes: %v %+v %v; want [%s] at %d", ids, next, err, c.ID, cur.Seq+1)
	}
}

// Writers race while a follower follows: it sees every ID written, and the
// sequence has no gap (a gap is ErrChangesMissed).
func TestFollowerSeesConcurrentWrites(t *testing.T) {
	s, rdb := newStore(t)
	const writers, updates, targets = 8, 50, 12
	var all []string
	for i := range targets {
		c := add(t, s, website(i))
		all = append(all, c.ID)
	}
	cur, err := s.ChangeCursor(ctx(t))
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	defer wg.Wait() // a failing follower leaves no writer behind the test
	for w := range writers {
		wg.Go(func() {
			for j := range updates {
				// Writers share targets: some writes race and retry.
				if _, err := s.Update(ctx(t), all[(w+j)%targets], fmt.Sprintf("job:w%d", w), note(fmt.Sprintf("%d/%d", w, j))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}

	seen := map[string]bool{}
	deadline, cancel := context.WithTimeout(ctx(t), 60*time.Second)
	defer cancel()
	for cur.Seq < targets+writers*updates {
		ids, next, err := s.Changes(deadline, cur, 50*time.Millisecond, 7)
		if err != nil {
			t.Fatalf("at %+v: %v", cur, err)
		}
		if next.Seq < cur.Seq || (len(ids) == 0) != (next == cur) {
			t.Fatalf("from %+v to %+v with %v", cur, next, ids)
		}
		for _, id := range ids {
			seen[id] = true
		}
		cur = next
	}
	wg.Wait()
	if len(seen) != targets {
		t.Errorf("saw %d of the %d IDs written", len(seen), targets)
	}
	if seq, _ := rdb.Get(ctx(t), "{test}:changes:seq").Int64(); seq != cur.Seq {
		t.Errorf("follower at %d, sequence at %d", cur.Seq, seq)
	}
	if ids, _, err := s.Changes(ctx(t), cur, 20*time.Millisecond, 100); err != nil || len(ids) != 0 {
		t.Errorf("after the last notice: %v %v", ids, err)
	}
}

// A Redis restarted without persistence comes back empty: a follower from
// before gets an error, never "nothing changed".
func TestChangesAfterRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	s := New(srv.Client(t), "test")
	add(t, s, website(1))
	cur, err := s.ChangeCursor(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	if ids, _, err := s.Changes(ctx(t), cur, 20*time.Millisecond, 100); err == nil {
		t.Errorf("Changes after the restart: %v, no error", ids)
	}
	// A restart that kept every write (AOF) may still have lost some, as far
	// as the sequence can tell: the server's run ID says it restarted, even
	// though go-redis retried the broken read without an error.
	kept := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	k := New(kept.Client(t), "test")
	add(t, k, website(3))
	at, err := k.ChangeCursor(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ids, _, err := k.Changes(ctx(t), at, 20*time.Millisecond, 100); err != nil || len(ids) != 0 {
		t.Fatalf("Changes before the restart: %v, %v", ids, err)
	}
	kept.Restart(t)
	if ids, _, err := k.Changes(ctx(t), at, 20*time.Millisecond, 100); !errors.Is(err, ErrChangesMissed) {
		t.Errorf("Changes after a restart that kept the data: %v, %v; want ErrChangesMissed", ids, err)
	}
	add(t, s, website(2))
	if ids, _, err := s.Changes(ctx(t), cur, 20*time.Millisecond, 100); !errors.Is(err, ErrChangesMissed) {
		t.Errorf("Changes after the restart and a write: %v, %v; want ErrChangesMissed", ids, err)
	}
}

// Redis errors and a cancelled context are errors of their own, not ErrChangesMissed.
func TestChangesErrors(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, "test")
	cancelled, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, _, err := s.Changes(cancelled, Cursor{}, time.Second, 100); !errors.Is(err, context.Canceled) || errors.Is(err, ErrChangesMissed) {
		t.Errorf("cancelled: %v", err)
	}
	srv.Stop()
	if _, _, err := s.Changes(ctx(t), Cursor{}, time.Second, 100); err == nil || errors.Is(err, ErrChangesMissed) || !strings.HasPrefix(err.Error(), "read change stream: ") {
		t.Errorf("Redis down: %v", err)
	}
	if _, err := s.ChangeCursor(ctx(t)); err == nil {
		t.Error("ChangeCursor with Redis down: no error")
	}
}

func TestLoad(t *testing.T) {
	s, _ := newStore(t)
	cs := make([]cancellation.Cancellation, mgetBatch+200) // more than one MGET
	for i := range cs {
		cs[i] = website(i)
	}
	if err := s.AddMany(ctx(t), cs, operator); err != nil {
		t.Fatal(err)
	}
	removed := []string{cs[3].ID, cs[mgetBatch+7].ID}
	for _, id := range removed {
		if err := s.Remove(ctx(t), id, operator); err != nil {
			t.Fatal(err)
		}
	}
	// Reversed, so that the order is the caller's, not the store's.
	want := []string{"never-tracked"}
	for i := len(cs) - 1; i >= 0; i-- {
		want = append(want, cs[i].ID)
	}
	found, gone, err := s.Load(ctx(t), want)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range found {
		got = append(got, c.ID)
		if c.Version != 1 || c.Licence == "" {
			t.Errorf("loaded %+v", c)
		}
	}
	wantFound := slices.DeleteFunc(slices.Clone(want[1:]), func(id string) bool { return slices.Contains(removed, id) })
	if !slices.Equal(got, wantFound) {
		t.Errorf("found %d, want %d in order", len(got), len(wantFound))
	}
	if wantGone := []string{"never-tracked", removed[1], removed[0]}; !slices.Equal(gone, wantGone) {
		t.Errorf("gone %v, want %v", gone, wantGone)
	}
	if found, gone, err := s.Load(ctx(t), nil); err != nil || found != nil || gone != nil {
		t.Errorf("Load of none: %v %v %v", found, gone, err)
	}
}
