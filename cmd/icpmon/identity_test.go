package main

import (
	"errors"
	"testing"

	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// A store first filled by the CLI gets its identity then, so that a daemon
// can tell it from an emptied one; reading it leaves it as it is.
func TestWritesGiveTheStoreAnIdentity(t *testing.T) {
	srv := redistest.Start(t)
	st := store.New(srv.Client(t), "icpmon")
	listJSON(t, "--redis-url", srv.URL())
	if _, err := st.Identity(t.Context()); !errors.Is(err, store.ErrNoIdentity) {
		t.Fatalf("identity after a list: %v, want none", err)
	}
	ok(t, "track", "import", "testdata/import/good.yml", "--redis-url", srv.URL())
	first, err := st.Identity(t.Context())
	if err != nil {
		t.Fatalf("identity after an import: %v", err)
	}
	ok(t, "track", "remove", "imp-1", "--redis-url", srv.URL())
	if again, err := st.Identity(t.Context()); err != nil || again != first {
		t.Errorf("identity after a second write %+v, %v; want the first, %+v", again, err, first)
	}
}
