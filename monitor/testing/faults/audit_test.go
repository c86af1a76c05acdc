package faults_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
)

// audited is what the audit found in a store that passed it.
type audited struct {
	cs          map[string]cancellation.Cancellation
	transitions int // status changes recorded in the histories
}

// audit checks every invariant of the store that a fault could break, and
// fails the test for each breach:
//   - lost or duplicated: the documents are exactly the IDs in want, and no
//     active licence is held twice;
//   - half-applied: each document sits in exactly the status index of its
//     status and kind (read raw, by the key layout the store documents),
//     store.List by status agrees with Get, and the active-licence index
//     agrees with the documents;
//   - history incomplete: each history starts with the addition and its
//     status changes chain, one event each, to the document's status.
func audit(t *testing.T, rdb redis.UniversalClient, want []string) audited {
	t.Helper()
	ctx := context.Background()
	st := store.New(rdb, prefix)
	p := "{" + prefix + "}:"
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var docIDs []string
	iter := rdb.Scan(ctx, 0, p+"c:*", 1000).Iterator()
	for iter.Next(ctx) {
		docIDs = append(docIDs, strings.TrimPrefix(iter.Val(), p+"c:"))
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("audit: scan documents: %v", err)
	}
	cs := map[string]cancellation.Cancellation{}
	for _, id := range docIDs {
		c, err := st.Get(ctx, id)
		if err != nil {
			t.Fatalf("audit: get %s: %v", id, err)
		}
		cs[id] = c
	}
	for _, id := range want {
		if _, ok := cs[id]; !ok {
			bad("lost: %s has no document", id)
		}
	}
	for _, id := range docIDs {
		if !slices.Contains(want, id) {
			bad("duplicated: %s was never tracked by the test", id)
		}
	}

	// Status indexes, raw.
	indexed := map[string][]string{}
	for _, s := range cancellation.Statuses() {
		for _, k := range cancellation.Kinds() {
			members, err := rdb.SMembers(ctx, p+"i:"+string(s)+":"+string(k)).Result()
			if err != nil {
				t.Fatalf("audit: read index: %v", err)
			}
			for _, id := range members {
				indexed[id] = append(indexed[id], string(s)+":"+string(k))
			}
		}
	}
	for id, in := range indexed {
		c, ok := cs[id]
		if !ok {
			bad("half-applied: index %v names %s, which has no document", in, id)
			continue
		}
		if want := string(c.Status) + ":" + string(c.Kind); len(in) != 1 || in[0] != want {
			bad("half-applied: %s is %s but indexed as %v", id, want, in)
		}
	}
	for id := range cs {
		if len(indexed[id]) == 0 {
			bad("half-applied: %s is in no status index", id)
		}
	}

	// store.List by status must agree with Get, each ID exactly once.
	listed := map[string]int{}
	for _, s := range cancellation.Statuses() {
		l, err := st.List(ctx, store.Filter{Statuses: []cancellation.Status{s}})
		if err != nil {
			t.Fatalf("audit: list %s: %v", s, err)
		}
		for _, c := range l {
			listed[c.ID]++
			if got := cs[c.ID]; got.Status != s || got.Version != c.Version {
				bad("half-applied: List(%s) gives %s v%d, Get gives %s v%d", s, c.ID, c.Version, got.Status, got.Version)
			}
		}
	}
	for id := range cs {
		if listed[id] != 1 {
			bad("List by status shows %s %d times", id, listed[id])
		}
	}

	// The active-licence index.
	held, err := rdb.HGetAll(ctx, p+"licences").Result()
	if err != nil {
		t.Fatalf("audit: read licences: %v", err)
	}
	active := map[string]string{}
	for id, c := range cs {
		if !c.Status.Active() {
			continue
		}
		key := cancellation.LicenceKey(c.Licence) // the index folds province aliases
		if other, dup := active[key]; dup {
			bad("duplicated: licence %s is active in %s and %s", c.Licence, other, id)
		}
		active[key] = id
		if held[key] != id {
			bad("half-applied: %s is %s but the licence index gives %s to %q", id, c.Status, key, held[key])
		}
	}
	for lic, id := range held {
		if active[lic] != id {
			bad("half-applied: the licence index gives %s to %s, which is not active with it", lic, id)
		}
	}

	// Histories.
	res := audited{cs: cs}
	for id, c := range cs {
		events, err := st.History(ctx, id)
		if err != nil {
			t.Fatalf("audit: history of %s: %v", id, err)
		}
		if events[0].Action != cancellation.ActionAdd {
			bad("history of %s starts with %q, not the addition", id, events[0].Action)
			continue
		}
		status := events[0].To
		for _, e := range events[1:] {
			if e.From == "" && e.To == "" {
				continue // evidence, not a status change
			}
			if e.From != status || !cancellation.CanTransition(e.From, e.To) || e.Action != e.To.Verb() {
				bad("history of %s: %s %s→%s after it was %s", id, e.Action, e.From, e.To, status)
			}
			status = e.To
			res.transitions++
		}
		if status != c.Status {
			bad("history incomplete: %s's history ends at %s but it is %s", id, status, c.Status)
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("audit: %d cancellations, %d status changes, %d problems", len(cs), res.transitions, len(problems))
	return res
}

// statuses counts cancellations by status.
func statuses(cs map[string]cancellation.Cancellation) map[cancellation.Status]int {
	out := map[cancellation.Status]int{}
	for _, c := range cs {
		out[c.Status]++
	}
	return out
}
