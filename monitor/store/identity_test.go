package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestIdentity(t *testing.T) {
	s, rdb := newStore(t)
	if _, err := s.Identity(ctx(t)); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("identity of a new store: %v, want ErrNoIdentity", err)
	}

	// Writers starting at once all end up with the one identity written.
	ids := make([]Identity, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := s.EnsureIdentity(ctx(t))
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	first := ids[0]
	if first.ID == "" || first.Created.IsZero() || !first.Acknowledged.IsZero() {
		t.Fatalf("identity %+v, want an ID, a creation time and no acknowledgement", first)
	}
	for _, id := range ids[1:] {
		if id != first {
			t.Errorf("concurrent writers saw %+v and %+v", first, id)
		}
	}
	if got, err := s.Identity(ctx(t)); err != nil || got != first {
		t.Errorf("Identity = %+v, %v; want %+v", got, err, first)
	}

	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return at }
	acked, err := s.Acknowledge(ctx(t), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Identity(ctx(t)); !got.Acknowledged.Equal(at) || got != acked || got.ID != first.ID {
		t.Errorf("acknowledged %+v (returned %+v), want %+v at %v", got, acked, first, at)
	}
	if _, err := s.Acknowledge(ctx(t), "another-store"); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("acknowledging another store's identity: %v, want ErrNoIdentity", err)
	}

	// Emptied: no identity, then a new one with nothing acknowledged.
	if err := rdb.FlushDB(ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identity(ctx(t)); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("identity after FLUSHDB: %v, want ErrNoIdentity", err)
	}
	if _, err := s.Acknowledge(ctx(t), first.ID); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("acknowledging an emptied store: %v, want ErrNoIdentity", err)
	}
	again, err := s.EnsureIdentity(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == first.ID || !again.Acknowledged.IsZero() {
		t.Errorf("identity after FLUSHDB %+v, want a new one, unacknowledged (was %+v)", again, first)
	}

	// A store under another prefix is another store.
	other := New(rdb, "other")
	if _, err := other.Identity(ctx(t)); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("identity under another prefix: %v, want ErrNoIdentity", err)
	}
}

func TestIdentityUnreadable(t *testing.T) {
	s, rdb := newStore(t)
	if err := rdb.Set(ctx(t), s.keys.identity(), "not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identity(ctx(t)); err == nil || errors.Is(err, ErrNoIdentity) {
		t.Errorf("a corrupt identity: %v, want a decoding error, not ErrNoIdentity", err)
	}
}
