package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// A regression: a change is served as soon as the store notices it, not at the
// next review tick (an hour away here).
func TestChangesAreServedAtOnce(t *testing.T) {
	rs := redistest.Start(t)
	st := seededStore(t, rs)
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", "")}, "http", nil)
	eventually(t, "the seeded cancellations are served", func() (bool, string) {
		return d.has("icpmon_cancellation_info", "id", "overdue"), ""
	})
	ctx := context.Background()

	if _, err := st.Add(ctx, cancellation.Cancellation{ID: "new", Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-7",
		Province: "京", Domains: []string{"new.example"}, Submitted: calendar.NewDate(2026, 2, 25)}, "operator:test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the added cancellation is served", func() (bool, string) {
		_, mfs := d.scrape()
		n, _ := value(mfs, "icpmon_cancellations", "kind", "website", "status", "pending")
		return d.has("icpmon_cancellation_review_deadline_timestamp_seconds", "id", "new") && n == 2, fmt.Sprint("pending websites ", n)
	})
	if _, err := st.Transition(ctx, "new", cancellation.Approved, time.Now(), "operator:test", "approved"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the approval is served", func() (bool, string) {
		return d.has("icpmon_cancellation_info", "id", "new", "status", "approved") &&
			!d.has("icpmon_cancellation_review_deadline_timestamp_seconds", "id", "new"), ""
	})
	if err := st.Remove(ctx, "new", "operator:test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removal is served", func() (bool, string) {
		return !d.has("icpmon_cancellation_info", "id", "new"), ""
	})
	if runs := strings.Count(d.logs.String(), `"msg":"store loaded"`); runs != 1 {
		t.Errorf("the store was loaded whole %d times; the changes should have been followed one by one", runs)
	}
}

// editBehindTheStream rewrites a document's domains directly in Redis, as a
// write whose notice was lost would: a new version, no notice. Only a full
// load can see it.
func editBehindTheStream(t *testing.T, rdb *redis.Client, id, domain string) {
	t.Helper()
	ctx := context.Background()
	key := "{test}:c:" + id
	raw, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["domains"] = []string{domain}
	doc["version"] = doc["version"].(float64) + 1
	edited, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, key, edited, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// touch writes a change to another cancellation, which the daemon follows.
func touch(t *testing.T, st *store.Store, note string) {
	t.Helper()
	if _, err := st.Update(context.Background(), "zhejiang", "operator:test", func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Domains = []string{note + ".example"}
		return cancellation.Event{}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (r *running) domainsOf(id string) string {
	_, mfs := r.scrape()
	mf, ok := mfs["icpmon_cancellation_info"]
	if !ok {
		return ""
	}
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["id"] == id {
			return labels["domains"]
		}
	}
	return ""
}

// A Redis restart (with its data) may have lost notices: the daemon loads
// the store whole again, and so sees a change no notice named.
func TestRedisRestartReloadsTheStore(t *testing.T) {
	rs, rdb, st, d := following(t, Options{}, "--appendonly", "yes", "--appendfsync", "always")
	editBehindTheStream(t, rdb, "overdue", "behind.example")
	// A followed change shows, the edit without a notice does not.
	touch(t, st, "followed")
	eventually(t, "the followed change is served", func() (bool, string) {
		return d.domainsOf("zhejiang") == "followed.example", ""
	})
	if got := d.domainsOf("overdue"); got != "example.com" {
		t.Fatalf("an edit without a notice is served (%q) before any reload: the follower reads more than it is told", got)
	}

	rs.Restart(t)
	eventually(t, "the store is loaded again after the restart", func() (bool, string) {
		return d.domainsOf("overdue") == "behind.example", d.domainsOf("overdue")
	})
	if _, mfs := d.scrape(); mfs["icpmon_store_lost"].GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Error("a restart that kept the data counts as a lost store")
	}
}

// A gap in the notices (one trimmed before it was read) makes the daemon
// load the store whole.
func TestNoticeGapReloadsTheStore(t *testing.T) {
	_, rdb, st, d := following(t, Options{})
	// The edit's notice, lost: the sequence moves on without it.
	editBehindTheStream(t, rdb, "overdue", "gap.example")
	if err := rdb.Incr(context.Background(), "{test}:changes:seq").Err(); err != nil {
		t.Fatal(err)
	}
	touch(t, st, "after-gap")
	eventually(t, "both changes are served", func() (bool, string) {
		return d.domainsOf("overdue") == "gap.example" && d.domainsOf("zhejiang") == "after-gap.example",
			d.domainsOf("overdue") + " " + d.domainsOf("zhejiang")
	})
	if !strings.Contains(d.logs.String(), "store changes missed; loading everything again") {
		t.Error("the gap was not noticed as one")
	}
}

// The resync interval is a safety net: an edit no notice names is served
// after it, with nothing else happening.
func TestResyncIntervalReloadsTheStore(t *testing.T) {
	_, rdb, _, d := following(t, Options{ResyncInterval: time.Second})
	editBehindTheStream(t, rdb, "overdue", "resync.example")
	eventually(t, "the edit is served after a resync", func() (bool, string) {
		return d.domainsOf("overdue") == "resync.example", ""
	})
}

// Replicas follow the same store, each its own view.
func TestReplicasFollowTheStore(t *testing.T) {
	rs := redistest.Start(t)
	st := seededStore(t, rs)
	out := newOutside(t)
	a := start(t, Options{ConfigFile: out.writeConfig(t, "", rs.URL(), "@every 1h", "")}, "http", nil)
	b := start(t, Options{ConfigFile: out.writeConfig(t, "", rs.URL(), "@every 1h", "")}, "http", nil)
	for _, d := range []*running{a, b} {
		eventually(t, "a replica serves the store", func() (bool, string) {
			return d.domainsOf("overdue") == "example.com", ""
		})
	}
	touch(t, st, "both")
	for _, d := range []*running{a, b} {
		eventually(t, "a replica serves the change", func() (bool, string) {
			return d.domainsOf("zhejiang") == "both.example", d.domainsOf("zhejiang")
		})
	}
}

// has reports whether the daemon serves a sample of name with the labels.
func (r *running) has(name string, labels ...string) bool {
	_, mfs := r.scrape()
	_, ok := value(mfs, name, labels...)
	return ok
}

// following starts a Redis with redisArgs holding the seeded cancellations,
// and a daemon with o over it whose review ticks are an hour apart; it
// returns once the daemon has settled.
func following(t *testing.T, o Options, redisArgs ...string) (*redistest.Server, *redis.Client, *store.Store, *running) {
	t.Helper()
	rs := redistest.Start(t, redisArgs...)
	rdb := rs.Client(t)
	st := store.New(rdb, "test")
	seed(t, st)
	o.ConfigFile = newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", "")
	d := start(t, o, "http", nil)
	d.settled()
	return rs, rdb, st, d
}

// settled waits until the seeded cancellations are served and the query and
// reach jobs' first runs, which write to them, are done.
func (r *running) settled() {
	r.t.Helper()
	eventually(r.t, "the seeded cancellations are served and the jobs' first runs done", func() (bool, string) {
		logs := r.logs.String()
		return r.domainsOf("overdue") == "example.com" &&
			strings.Contains(logs, `"msg":"job done","job":"query"`) && strings.Contains(logs, `"msg":"job done","job":"reach"`), ""
	})
}
