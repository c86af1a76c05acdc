package daemon

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// TestStoreLost empties the store under a running daemon: the daemon keeps
// serving what it tracked and says the store is lost, until a reload
// acknowledges the store as it is.
func TestStoreLost(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	st := store.New(rdb, "test")
	seed(t, st)
	cfg := newOutside(t).writeConfig(t, "", rs.URL(), "@every 1s", "")
	d := start(t, Options{ConfigFile: cfg}, "http", nil)

	tracked := func() (float64, bool) {
		_, mfs := d.scrape()
		return value(mfs, "icpmon_cancellation_review_deadline_timestamp_seconds", "id", "overdue")
	}
	storeState := func() (lost float64, created float64, acked bool) {
		_, mfs := d.scrape()
		lost, _ = value(mfs, "icpmon_store_lost")
		created, _ = value(mfs, "icpmon_store_created_timestamp_seconds")
		_, acked = value(mfs, "icpmon_store_acknowledged_timestamp_seconds")
		return lost, created, acked
	}
	eventually(t, "the cancellations are served", func() (bool, string) {
		_, ok := tracked()
		return ok, d.logs.String()
	})
	id, err := st.Identity(context.Background())
	if err != nil {
		t.Fatalf("the daemon left the store without an identity: %v", err)
	}
	if lost, created, acked := storeState(); lost != 0 || created != float64(id.Created.UnixNano())/1e9 || acked {
		t.Errorf("store lost %v, created %v, acknowledged %v; want 0, the identity's %v, no acknowledgement",
			lost, created, acked, id.Created)
	}
	deadline, _ := tracked()

	// The test's own Redis, emptied under the daemon.
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lost store shows", func() (bool, string) {
		lost, _, _ := storeState()
		return lost == 1, d.logs.String()
	})
	// Reviews keep failing, and nothing replaces what was tracked.
	const refused = `"job":"review","duration":`
	logged := strings.Count(d.logs.String(), refused)
	eventually(t, "another review of the emptied store", func() (bool, string) {
		return strings.Count(d.logs.String(), refused) > logged+1, ""
	})
	body, mfs := d.scrape()
	if got, ok := tracked(); !ok || got != deadline {
		t.Errorf("review deadline of overdue %v (present %v) after the store was lost, want the last one, %v", got, ok, deadline)
	}
	if n, _ := value(mfs, "icpmon_cancellations", "kind", "website", "status", "pending"); n != 1 {
		t.Errorf("icpmon_cancellations{kind=website,status=pending} = %v after the store was lost, want the last count, 1\n%s", n, body)
	}
	if _, created, _ := storeState(); created != float64(id.Created.UnixNano())/1e9 {
		t.Errorf("created %v while lost, want the adopted store's %v", created, id.Created)
	}
	if code, body := d.get("/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready while the store is lost: %d %s; Redis answers", code, body)
	}
	if _, page := d.get("/"); !strings.Contains(page, "The store was lost or replaced: shown is the last view of store "+id.ID) ||
		!strings.Contains(page, "京ICP备12345678号-1") {
		t.Errorf("the status page does not say the store is lost, or no longer shows what was tracked:\n%s", page)
	}

	// Re-imported: still lost, the new store is not the one adopted...
	seed(t, st)
	if _, err := st.EnsureIdentity(context.Background()); err != nil {
		t.Fatal(err)
	}
	logged = strings.Count(d.logs.String(), refused)
	eventually(t, "a review of the re-imported store", func() (bool, string) {
		return strings.Count(d.logs.String(), refused) > logged+1, ""
	})
	if lost, _, _ := storeState(); lost != 1 {
		t.Errorf("store lost %v before a reload acknowledged the re-imported one, want 1", lost)
	}
	// ...until a reload acknowledges it.
	if code, body := d.do("POST", "/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	now, err := st.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reload adopts the store as it is", func() (bool, string) {
		lost, created, acked := storeState()
		return lost == 0 && created == float64(now.Created.UnixNano())/1e9 && acked,
			fmt.Sprintf("lost %v, created %v, acknowledged %v", lost, created, acked)
	})
	if now, err = st.Identity(context.Background()); err != nil {
		t.Fatal(err)
	}
	if now.ID == id.ID || now.Acknowledged.IsZero() {
		t.Errorf("identity after the reload %+v, want a new one, acknowledged (was %+v)", now, id)
	}
	if _, ok := tracked(); !ok {
		t.Error("the re-imported cancellations are not served after the reload")
	}
	if _, page := d.get("/"); strings.Contains(page, "The store was lost") {
		t.Error("the status page still says the store is lost after the reload")
	}
}
