package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

const operator = "operator:alice"

func newStore(t testing.TB) (*Store, *redis.Client) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	return New(rdb, "test"), rdb
}

// website returns a valid pending website cancellation of licence number n.
func website(n int) cancellation.Cancellation {
	return cancellation.Cancellation{
		Kind:      cancellation.KindWebsite,
		Licence:   fmt.Sprintf("京ICP备%08d号-1", 10000000+n),
		Province:  "京",
		Domains:   []string{fmt.Sprintf("site%d.example.com", n)},
		Submitted: calendar.NewDate(2026, time.October, 9).AddDays(n % 30),
	}
}

func ctx(t testing.TB) context.Context { return t.Context() }

// add tracks c as the operator, for a test that needs it stored.
func add(t testing.TB, s *Store, c cancellation.Cancellation) cancellation.Cancellation {
	t.Helper()
	added, err := s.Add(ctx(t), c, operator)
	if err != nil {
		t.Fatal(err)
	}
	return added
}

func TestAddAndGet(t *testing.T) {
	s, _ := newStore(t)
	in := website(1)
	in.Note = "first"
	got := add(t, s, in)
	if err := cancellation.CheckID(got.ID); err != nil || len(got.ID) != 10 {
		t.Errorf("assigned ID %q: %v", got.ID, err)
	}
	if got.Status != cancellation.Pending || got.Version != 1 || got.CreatedAt.IsZero() || got.Note != "first" {
		t.Errorf("added %+v", got)
	}
	back, err := s.Get(ctx(t), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != got.ID || back.Licence != in.Licence || back.Submitted != in.Submitted || back.Version != 1 || !back.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("read back %+v", back)
	}
	h, err := s.History(ctx(t), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Action != cancellation.ActionAdd || h[0].Actor != operator || h[0].To != cancellation.Pending || h[0].At.IsZero() {
		t.Errorf("history %+v", h)
	}

	chosen := website(2)
	chosen.ID = "ali-2026-001"
	if got, err := s.Add(ctx(t), chosen, operator); err != nil || got.ID != "ali-2026-001" {
		t.Errorf("chosen ID: %+v %v", got, err)
	}
}

func TestGetUnknown(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.Get(ctx(t), "nosuch")
	if !errors.Is(err, ErrNotFound) || err.Error() != "no such cancellation: nosuch" {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.History(ctx(t), "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History: %v", err)
	}
	if _, err := s.Update(ctx(t), "nosuch", operator, func(*cancellation.Cancellation) (cancellation.Event, error) {
		t.Error("fn called for a missing cancellation")
		return cancellation.Event{}, nil
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update: %v", err)
	}
	if err := s.Remove(ctx(t), "nosuch", operator); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove: %v", err)
	}
}

func TestAddRefusesInvalidAndWritesNothing(t *testing.T) {
	s, rdb := newStore(t)
	bad := website(1)
	bad.Licence = "京ICP备10000001号" // a website needs a site number
	if _, err := s.Add(ctx(t), bad, operator); err == nil || !strings.Contains(err.Error(), "needs a site number") {
		t.Errorf("Add: %v", err)
	}
	if n := rdb.DBSize(ctx(t)).Val(); n != 0 {
		t.Errorf("%d keys written", n)
	}
}

func TestAddRefusesDuplicateActiveLicence(t *testing.T) {
	s, _ := newStore(t)
	first := add(t, s, website(1))
	again := website(1)
	again.Kind = cancellation.KindAccess
	_, err := s.Add(ctx(t), again, operator)
	var dup *DuplicateError
	if !errors.As(err, &dup) || dup.Field != "licence" || dup.ExistingID != first.ID {
		t.Fatalf("duplicate licence: %v", err)
	}
	if err.Error() != "licence 京ICP备10000001号-1 is already tracked by active cancellation "+first.ID {
		t.Errorf("message: %v", err)
	}
	// once the first leaves the active set, the licence may be tracked again
	if _, err := s.Transition(ctx(t), first.ID, cancellation.Rejected, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx(t), again, operator); err != nil {
		t.Errorf("licence of a rejected cancellation refused: %v", err)
	}
}

func TestAddRefusesUsedID(t *testing.T) {
	s, _ := newStore(t)
	c := website(1)
	c.ID = "same"
	add(t, s, c)
	other := website(2)
	other.ID = "same"
	var dup *DuplicateError
	if _, err := s.Add(ctx(t), other, operator); !errors.As(err, &dup) || dup.Field != "id" {
		t.Errorf("live ID reused: %v", err)
	}
	if err := s.Remove(ctx(t), "same", operator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx(t), other, operator); !errors.As(err, &dup) || dup.Field != "id" {
		t.Errorf("removed ID reused: %v", err)
	}
}

func TestTransitions(t *testing.T) {
	s, _ := newStore(t)
	c := add(t, s, website(1))
	at := time.Date(2026, time.October, 20, 9, 0, 0, 0, calendar.China)
	approved, err := s.Transition(ctx(t), c.ID, cancellation.Approved, at, operator, "SMS from the administration")
	if err != nil {
		t.Fatal(err)
	}
	if approved.Status != cancellation.Approved || !approved.ApprovedAt.Equal(at) || approved.Version != 2 {
		t.Errorf("approved %+v", approved)
	}
	pending, _ := s.List(ctx(t), Filter{Statuses: []cancellation.Status{cancellation.Pending}})
	appr, _ := s.List(ctx(t), Filter{Statuses: []cancellation.Status{cancellation.Approved}})
	if len(pending) != 0 || len(appr) != 1 || appr[0].ID != c.ID {
		t.Errorf("index not moved: pending %v approved %v", pending, appr)
	}

	_, err = s.Transition(ctx(t), c.ID, cancellation.Rejected, at, operator, "")
	if err == nil || err.Error() != "cannot reject "+c.ID+": it is approved" {
		t.Errorf("reject after approval: %v", err)
	}
	_, err = s.Transition(ctx(t), c.ID, cancellation.Cleared, at, operator, "")
	if err == nil || !strings.Contains(err.Error(), "only public-query evidence clears") {
		t.Errorf("operator clear: %v", err)
	}
	if got, _ := s.Get(ctx(t), c.ID); got.Version != 2 || got.Status != cancellation.Approved {
		t.Errorf("refused transitions wrote: %+v", got)
	}
	cleared, err := s.Transition(ctx(t), c.ID, cancellation.Cleared, at.Add(72*time.Hour), cancellation.JobActor("query"), "absent in 2 sweeps")
	if err != nil || cleared.Status != cancellation.Cleared {
		t.Fatalf("clear by the query job: %+v %v", cleared, err)
	}
	h, _ := s.History(ctx(t), c.ID)
	var actions []string
	for _, e := range h {
		actions = append(actions, e.Action+":"+string(e.From)+">"+string(e.To))
	}
	if strings.Join(actions, " ") != "add:>pending approve:pending>approved clear:approved>cleared" {
		t.Errorf("history %v", actions)
	}
	if h[1].Detail != "approved on 2026-10-20; SMS from the administration" || h[2].Actor != "job:query" {
		t.Errorf("history details %+v", h)
	}
}

// Fifty writers race to increment one counter: every increment must land.
// raceNotes has writers update the note of id at once, each adding one to
// the count in it, and checks that every update landed once.
func raceNotes(t *testing.T, s *Store, id string, writers int) {
	t.Helper()
	harness.Concurrently(t, writers, func(w int) error {
		_, err := s.Update(ctx(t), id, fmt.Sprintf("job:w%d", w), func(c *cancellation.Cancellation) (cancellation.Event, error) {
			n, _ := strconv.Atoi(c.Note)
			c.Note = strconv.Itoa(n + 1)
			return cancellation.Event{Action: "note", Detail: c.Note}, nil
		})
		return err
	})
	got, err := s.Get(ctx(t), id)
	if err != nil || got.Note != strconv.Itoa(writers) || got.Version != int64(writers)+1 {
		t.Errorf("after %d racing writers: note %q version %d, %v", writers, got.Note, got.Version, err)
	}
}

func TestUpdateRaceLosesNothing(t *testing.T) {
	s, _ := newStore(t)
	c := add(t, s, website(1))
	const writers = 50
	raceNotes(t, s, c.ID, writers)
	h, _ := s.History(ctx(t), c.ID)
	details := map[string]bool{}
	for _, e := range h[1:] {
		details[e.Detail] = true
	}
	if len(h) != writers+1 || len(details) != writers {
		t.Errorf("history has %d events, %d distinct counts", len(h), len(details))
	}
}

func TestUpdate(t *testing.T) {
	s, rdb := newStore(t)
	c := add(t, s, website(1))
	historyLen := func() int64 { return rdb.StrLen(ctx(t), "{test}:h:"+c.ID).Val() }
	before := historyLen()

	// fn's error aborts with nothing written
	boom := errors.New("boom")
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note = "changed"
		return cancellation.Event{Action: "note"}, boom
	}); !errors.Is(err, boom) {
		t.Errorf("Update: %v", err)
	}
	// no change and no event: nothing written
	if got, err := s.Update(ctx(t), c.ID, operator, func(*cancellation.Cancellation) (cancellation.Event, error) {
		return cancellation.Event{}, nil
	}); err != nil || got.Version != 1 {
		t.Errorf("no-op update: %+v %v", got, err)
	}
	// a change without an event: written, no history
	yes := true
	got, err := s.Update(ctx(t), c.ID, "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Record.Present = &yes
		return cancellation.Event{}, nil
	})
	if err != nil || got.Version != 2 || got.Record.State() != "present" {
		t.Errorf("silent update: %+v %v", got, err)
	}
	if historyLen() != before {
		t.Error("an update without an event grew the history")
	}
	// a status change is always recorded
	got, err = s.Update(ctx(t), c.ID, "job:query", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Status = cancellation.Withdrawn
		return cancellation.Event{}, nil
	})
	if err != nil || got.Status != cancellation.Withdrawn {
		t.Fatalf("status update: %+v %v", got, err)
	}
	h, _ := s.History(ctx(t), c.ID)
	if last := h[len(h)-1]; last.Action != cancellation.ActionWithdraw || last.From != cancellation.Pending || last.To != cancellation.Withdrawn || last.Actor != "job:query" {
		t.Errorf("status change event %+v", last)
	}
	// and must be allowed
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Status = cancellation.Pending
		return cancellation.Event{}, nil
	}); err == nil || err.Error() != "cannot reopen "+c.ID+": it is withdrawn" {
		t.Errorf("withdrawn -> pending: %v", err)
	}
	// the ID and validity are kept
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.ID = "other"
		return cancellation.Event{}, nil
	}); err == nil {
		t.Error("ID change accepted")
	}
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Domains = []string{"Not Valid"}
		return cancellation.Event{}, nil
	}); err == nil {
		t.Error("invalid domain accepted")
	}
}

func TestUpdateMovesTheActiveLicence(t *testing.T) {
	s, _ := newStore(t)
	a, _ := s.Add(ctx(t), website(1), operator)
	b, _ := s.Add(ctx(t), website(2), operator)
	// b cannot take a's licence while a is active
	var dup *DuplicateError
	if _, err := s.Update(ctx(t), b.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Licence = a.Licence
		return cancellation.Event{Action: "edit"}, nil
	}); !errors.As(err, &dup) || dup.ExistingID != a.ID {
		t.Fatalf("licence taken: %v", err)
	}
	// a moves to a new licence: its old one is free
	if _, err := s.Update(ctx(t), a.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Licence = "京ICP备10000001号-2"
		return cancellation.Event{Action: "edit"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx(t), website(1), operator); err != nil {
		t.Errorf("released licence refused: %v", err)
	}
}

func TestRemove(t *testing.T) {
	s, _ := newStore(t)
	c, _ := s.Add(ctx(t), website(1), operator)
	if err := s.Remove(ctx(t), c.ID, "operator:bob"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx(t), c.ID)
	var removed *RemovedError
	if !errors.As(err, &removed) || !errors.Is(err, ErrNotFound) || removed.Event.Actor != "operator:bob" {
		t.Fatalf("Get after removal: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "cancellation "+c.ID+" was removed on ") || !strings.HasSuffix(err.Error(), " CST by operator:bob") {
		t.Errorf("message: %v", err)
	}
	if err := s.Remove(ctx(t), c.ID, operator); !errors.As(err, &removed) {
		t.Errorf("second removal: %v", err)
	}
	all, _ := s.List(ctx(t), Filter{})
	counts, _ := s.Counts(ctx(t))
	if len(all) != 0 || counts[cancellation.KindWebsite][cancellation.Pending] != 0 {
		t.Errorf("removed cancellation still indexed: %v %v", all, counts)
	}
	h, err := s.History(ctx(t), c.ID)
	if err != nil || len(h) != 2 || h[1].Action != cancellation.ActionRemove || h[1].From != cancellation.Pending {
		t.Errorf("history after removal: %+v %v", h, err)
	}
	if _, err := s.Add(ctx(t), website(1), operator); err != nil {
		t.Errorf("licence of a removed cancellation refused: %v", err)
	}
}

func TestListCountsActive(t *testing.T) {
	s, _ := newStore(t)
	var ids []string
	for i := range 6 {
		c := website(10 - i) // submitted dates descending in insertion order
		if i == 5 {
			c.Kind, c.Licence = cancellation.KindSubject, "粤B2-20090059"
			c.Province = "粤"
		}
		got := add(t, s, c)
		ids = append(ids, got.ID)
	}
	now := time.Now()
	if _, err := s.Transition(ctx(t), ids[0], cancellation.Approved, now, operator, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx(t), ids[1], cancellation.Rejected, now, operator, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx(t), ids[2], cancellation.Withdrawn, now, operator, ""); err != nil {
		t.Fatal(err)
	}

	active, err := s.Active(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range active {
		got = append(got, c.ID)
	}
	// ordered by submitted date: the last added was submitted first
	want := []string{ids[5], ids[4], ids[3], ids[0]}
	if !slices.Equal(got, want) {
		t.Errorf("Active = %v, want %v", got, want)
	}
	subjects, _ := s.List(ctx(t), Filter{Kinds: []cancellation.Kind{cancellation.KindSubject}})
	if len(subjects) != 1 || subjects[0].ID != ids[5] {
		t.Errorf("subjects %v", subjects)
	}
	ended, _ := s.List(ctx(t), Filter{Statuses: []cancellation.Status{cancellation.Rejected, cancellation.Withdrawn}, Kinds: []cancellation.Kind{cancellation.KindWebsite}})
	if len(ended) != 2 {
		t.Errorf("rejected+withdrawn websites: %v", ended)
	}

	counts, err := s.Counts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cancellation.Kinds() {
		for _, st := range cancellation.Statuses() {
			if _, ok := counts[k][st]; !ok {
				t.Errorf("no count for %s/%s", k, st)
			}
		}
	}
	w := counts[cancellation.KindWebsite]
	if w[cancellation.Pending] != 2 || w[cancellation.Approved] != 1 || w[cancellation.Rejected] != 1 || w[cancellation.Withdrawn] != 1 || counts[cancellation.KindSubject][cancellation.Pending] != 1 {
		t.Errorf("counts %v", counts)
	}
}

func TestAddMany(t *testing.T) {
	s, rdb := newStore(t)
	existing, _ := s.Add(ctx(t), website(0), operator)
	removed := website(99)
	removed.ID = "gone"
	add(t, s, removed)
	if err := s.Remove(ctx(t), "gone", operator); err != nil {
		t.Fatal(err)
	}
	keysBefore := rdb.DBSize(ctx(t)).Val()

	batch := func() []cancellation.Cancellation {
		var cs []cancellation.Cancellation
		for i := 1; i <= 2500; i++ { // more than one chunk of the script
			cs = append(cs, website(i))
		}
		return cs
	}
	refusals := []struct {
		name   string
		change func(cs []cancellation.Cancellation)
		index  int
		want   string
	}{
		{"active licence in the store", func(cs []cancellation.Cancellation) { cs[1700].Licence = existing.Licence }, 1700,
			"licence 京ICP备10000000号-1 is already tracked by active cancellation " + existing.ID},
		{"licence twice in the batch", func(cs []cancellation.Cancellation) { cs[2100].Licence = cs[3].Licence }, 2100,
			"licence 京ICP备10000004号-1 is already tracked by active cancellation x3"},
		{"ID twice in the batch", func(cs []cancellation.Cancellation) { cs[5].ID, cs[1200].ID = "dup", "dup" }, 1200,
			"ID dup is already in use (IDs of removed cancellations are kept with their history)"},
		{"removed ID", func(cs []cancellation.Cancellation) { cs[2499].ID = "gone" }, 2499,
			"ID gone is already in use (IDs of removed cancellations are kept with their history)"},
		{"invalid item", func(cs []cancellation.Cancellation) { cs[42].Province = "台" }, 42, ""},
		{"the first of several", func(cs []cancellation.Cancellation) {
			cs[2000].ID = "gone"
			cs[10].Licence = existing.Licence
		}, 10, "licence 京ICP备10000000号-1 is already tracked by active cancellation " + existing.ID},
	}
	for _, r := range refusals {
		cs := batch()
		cs[3].ID = "x3"
		r.change(cs)
		err := s.AddMany(ctx(t), cs, operator)
		var item *ItemError
		if !errors.As(err, &item) || item.Index != r.index {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		if r.want != "" && item.Err.Error() != r.want {
			t.Errorf("%s:\n got %v\nwant %s", r.name, item.Err, r.want)
		}
		if n := rdb.DBSize(ctx(t)).Val(); n != keysBefore {
			t.Errorf("%s: %d keys written", r.name, n-keysBefore)
		}
	}

	cs := batch()
	if err := s.AddMany(ctx(t), cs, "operator:importer"); err != nil {
		t.Fatal(err)
	}
	active, err := s.Active(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 2501 {
		t.Fatalf("%d active after import", len(active))
	}
	for _, c := range cs[:3] {
		got, err := s.Get(ctx(t), c.ID)
		if err != nil || got.Licence != c.Licence || got.Version != 1 || got.Status != cancellation.Pending {
			t.Errorf("imported %+v: %v", got, err)
		}
		h, _ := s.History(ctx(t), c.ID)
		if len(h) != 1 || h[0].Actor != "operator:importer" {
			t.Errorf("history %+v", h)
		}
	}
	counts, _ := s.Counts(ctx(t))
	if counts[cancellation.KindWebsite][cancellation.Pending] != 2501 {
		t.Errorf("counts %v", counts)
	}
	// the licences are now active: a second import of them is refused whole
	if err := s.AddMany(ctx(t), batch(), operator); err == nil {
		t.Error("second import of the same licences accepted")
	}
	if err := s.AddMany(ctx(t), nil, operator); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func TestKeysShareOneHashTag(t *testing.T) {
	s, rdb := newStore(t)
	c, _ := s.Add(ctx(t), website(1), operator)
	if _, err := s.Transition(ctx(t), c.ID, cancellation.Approved, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMany(ctx(t), []cancellation.Cancellation{website(2)}, operator); err != nil {
		t.Fatal(err)
	}
	keys := rdb.Keys(ctx(t), "*").Val() // fine in a test of a private server
	if len(keys) < 5 {
		t.Fatalf("keys %v", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{test}:") {
			t.Errorf("key %q outside the hash tag", k)
		}
	}
}

// The scripts touch several keys; on Cluster that is legal only within one
// slot. A one-node cluster holding every slot runs them through a ClusterClient.
func TestOnCluster(t *testing.T) {
	srv := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	direct := srv.Client(t)
	if err := direct.Do(ctx(t), "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, 10*time.Second, "the cluster is ok", func() bool {
		return strings.Contains(direct.ClusterInfo(ctx(t)).Val(), "cluster_state:ok")
	})
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { _ = cc.Close() })
	s := New(cc, "icpmon")
	start, err := s.ChangeCursor(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	c := addThree(t, s)
	if err := s.Remove(ctx(t), c.ID, operator); err != nil {
		t.Fatal(err)
	}
	active, err := s.Active(ctx(t))
	if err != nil || len(active) != 2 {
		t.Errorf("active on cluster: %d %v", len(active), err)
	}
	// the change notices: same slot, and followed through the cluster client
	changed, next, err := s.Changes(ctx(t), start, time.Second, 100)
	if err != nil || len(changed) != 3 || changed[0] != c.ID || next.Seq != 4 {
		t.Errorf("changes on cluster: %v %+v %v", changed, next, err)
	}
	if end, err := s.ChangeCursor(ctx(t)); err != nil || end != next {
		t.Errorf("change cursor on cluster: %+v %v, want %+v", end, err, next)
	}
}

// With Redis gone, reads fail as errors: never as "not found" or an empty list.
func TestRedisDownIsAnError(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, "test")
	c := add(t, s, website(1))
	srv.Stop()
	if err := s.Ping(ctx(t)); err == nil {
		t.Error("Ping succeeded")
	}
	if _, err := s.Get(ctx(t), c.ID); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get: %v", err)
	}
	if got, err := s.Active(ctx(t)); err == nil {
		t.Errorf("Active: %v with no error", got)
	}
	if _, err := s.Counts(ctx(t)); err == nil {
		t.Error("Counts: no error")
	}
}

// sendTwice runs every script twice, as go-redis does when a reply times out
// or the connection breaks after Redis has already run it.
type sendTwice struct{}

func (sendTwice) DialHook(next redis.DialHook) redis.DialHook { return next }
func (sendTwice) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (sendTwice) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			if err := next(ctx, cmd); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	}
}

func TestRepeatedScriptsTakeEffectOnce(t *testing.T) {
	s, rdb := newStore(t)
	rdb.AddHook(sendTwice{})
	c := add(t, s, website(1))
	got, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		n, _ := strconv.Atoi(c.Note)
		c.Note = strconv.Itoa(n + 1)
		return cancellation.Event{Action: "note"}, nil
	})
	if err != nil || got.Note != "1" || got.Version != 2 {
		t.Fatalf("update: %+v %v", got, err)
	}
	if _, err := s.Update(ctx(t), c.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note += "x" // no event: the document itself tells the repeat apart
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx(t), c.ID, cancellation.Approved, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx(t), c.ID, operator); err != nil {
		t.Fatal(err)
	}
	h, _ := s.History(ctx(t), c.ID)
	var actions []string
	for _, e := range h {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "add note approve remove" {
		t.Errorf("history %v", actions)
	}
	if err := s.AddMany(ctx(t), many(3), operator); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.Counts(ctx(t)); counts[cancellation.KindWebsite][cancellation.Pending]+counts[cancellation.KindAccess][cancellation.Pending] != 3 {
		t.Errorf("counts %v", counts)
	}
}
