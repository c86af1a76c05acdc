package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// The store as icpmon builds it for each Redis topology: from the redis
// section of the configuration, through redis.UniversalClient.

func configured(t *testing.T, r config.Redis) *Store {
	t.Helper()
	o, err := r.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewUniversalClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	return New(rdb, "test")
}

// addThree adds website(1) on its own and websites 2 and 3 in one batch,
// then approves the first, which it returns.
func addThree(t *testing.T, s *Store) cancellation.Cancellation {
	t.Helper()
	c := add(t, s, website(1))
	if err := s.AddMany(ctx(t), []cancellation.Cancellation{website(2), website(3)}, operator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx(t), c.ID, cancellation.Approved, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	return c
}

// passwordFile writes the password the way an operator's editor would:
// with a trailing newline.
func passwordFile(t *testing.T, password string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(f, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func ids(cs []cancellation.Cancellation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.Sort(out)
	return out
}

func actions(t *testing.T, s *Store, id string) string {
	t.Helper()
	h, err := s.History(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h {
		out = append(out, e.Action)
	}
	return strings.Join(out, " ")
}

// A Sentinel-managed master with a replica and three sentinels: the store
// reaches the master through the sentinels, keeps working after a failover,
// and finds what it wrote before.
func TestSentinelFailover(t *testing.T) {
	const password = "sentinel-Pa55"
	master := redistest.StartPassword(t, password)
	replica := redistest.StartReplica(t, master)
	sentinel := redistest.StartSentinel(t, master, 3)
	s := configured(t, config.Redis{
		Addrs: sentinel.Addrs(), MasterName: redistest.MasterName, PasswordFile: passwordFile(t, password),
	})

	a := add(t, s, website(1))
	if _, err := s.Transition(ctx(t), a.ID, cancellation.Approved, time.Now(), operator, "SMS"); err != nil {
		t.Fatal(err)
	}
	b := add(t, s, website(2))
	if got := actions(t, s, a.ID); got != "add approve" {
		t.Errorf("history of %s: %s", a.ID, got)
	}
	if n, err := master.Client(t).Exists(ctx(t), "{test}:c:"+a.ID).Result(); err != nil || n != 1 {
		t.Fatalf("the write is not on the master %s: %d, %v", master.Addr, n, err)
	}
	// Replication is asynchronous: make sure the replica has everything.
	if n, err := master.Client(t).Do(ctx(t), "WAIT", 1, 10000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}

	if promoted := sentinel.Failover(t); promoted != replica.Addr {
		t.Fatalf("sentinel promoted %s, want the replica %s", promoted, replica.Addr)
	}
	// The first writes after the switch may meet the demoted master (READONLY)
	// until the client hears of it. A transition cannot apply twice, so
	// asking again until it has taken effect is safe.
	harness.WaitUntil(t, 20*time.Second, "the store writes to the new master", func() bool {
		_, err := s.Transition(ctx(t), b.ID, cancellation.Withdrawn, time.Now(), operator, "")
		if err != nil {
			got, gerr := s.Get(ctx(t), b.ID)
			return gerr == nil && got.Status == cancellation.Withdrawn
		}
		return true
	})
	c, err := s.Add(ctx(t), website(3), operator)
	if err != nil {
		t.Fatalf("Add after the failover: %v", err)
	}
	if _, err := s.Update(ctx(t), a.ID, operator, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		c.Note = "after failover"
		return cancellation.Event{Action: "note", Detail: c.Note}, nil
	}); err != nil {
		t.Fatalf("Update after the failover: %v", err)
	}
	active, err := s.Active(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(active), ids([]cancellation.Cancellation{a, c}); !slices.Equal(got, want) {
		t.Errorf("active after the failover %v, want %v", got, want)
	}
	if got := actions(t, s, a.ID); got != "add approve note" {
		t.Errorf("history of %s after the failover: %s", a.ID, got)
	}
	if got := actions(t, s, b.ID); got != "add withdraw" {
		t.Errorf("history of %s after the failover: %s", b.ID, got)
	}
	if n, err := replica.Client(t).Exists(ctx(t), "{test}:c:"+c.ID).Result(); err != nil || n != 1 {
		t.Errorf("the write after the failover is not on the promoted replica: %d, %v", n, err)
	}
}

// Three masters sharing the slots: every operation of the store works, and
// all its keys sit in the one slot of its hash tag.
func TestClusterThreeNodes(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	s := configured(t, config.Redis{Addrs: cluster.Addrs(), Cluster: true})

	first := add(t, s, website(0))
	// The identity and its acknowledgement: one MGET, one script, one slot.
	id, err := s.EnsureIdentity(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if acked, err := s.Acknowledge(ctx(t), id.ID); err != nil || acked.ID != id.ID || acked.Acknowledged.IsZero() {
		t.Errorf("acknowledge on Cluster: %+v, %v", acked, err)
	}
	const batch = 3000
	many := make([]cancellation.Cancellation, batch)
	for i := range many {
		many[i] = website(i + 1)
	}
	if err := s.AddMany(ctx(t), many, operator); err != nil {
		t.Fatalf("AddMany of %d: %v", batch, err)
	}
	// all or nothing holds on Cluster too: a repeated licence refuses the batch
	dup := []cancellation.Cancellation{website(batch + 1), website(5)}
	var item *ItemError
	if err := s.AddMany(ctx(t), dup, operator); !errors.As(err, &item) || item.Index != 1 {
		t.Errorf("AddMany with a tracked licence: %v", err)
	}
	if _, err := s.Get(ctx(t), dup[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused batch wrote its first item: %v", err)
	}

	// writers race on one cancellation: every update lands once
	raceNotes(t, s, first.ID, 20)

	if _, err := s.Transition(ctx(t), many[0].ID, cancellation.Approved, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx(t), many[1].ID, cancellation.Rejected, time.Now(), operator, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx(t), many[2].ID, operator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx(t), many[2].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a removed cancellation: %v", err)
	}
	if got := actions(t, s, many[2].ID); got != "add remove" {
		t.Errorf("history of the removed one: %s", got)
	}
	if got := actions(t, s, many[0].ID); got != "add approve" {
		t.Errorf("history of the approved one: %s", got)
	}

	active, err := s.Active(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != batch+1-2 {
		t.Errorf("%d active, want %d", len(active), batch+1-2)
	}
	counts, err := s.Counts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	w := counts[cancellation.KindWebsite]
	if w[cancellation.Pending] != batch-2 || w[cancellation.Approved] != 1 || w[cancellation.Rejected] != 1 {
		t.Errorf("counts %v", w)
	}

	bySlot := cluster.KeysBySlot(t)
	if len(bySlot) != 1 {
		slots := make([]int64, 0, len(bySlot))
		for slot := range bySlot {
			slots = append(slots, slot)
		}
		t.Fatalf("the store's keys are spread over slots %v", slots)
	}
	for _, keys := range bySlot {
		// documents and histories of batch+1 cancellations, the licences and the indexes
		if len(keys) < 2*(batch+1)+1 {
			t.Errorf("%d keys in the slot, want at least %d", len(keys), 2*(batch+1)+1)
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, "{test}:") {
				t.Errorf("key %q outside the hash tag", k)
			}
		}
	}
}

// requirepass with the password from redis.password_file (trailing newline
// and all); a wrong password is refused with an error that does not repeat it.
func TestPasswordFile(t *testing.T) {
	const password = "correct horse battery staple"
	srv := redistest.StartPassword(t, password)
	url := "redis://" + srv.Addr + "/0"

	s := configured(t, config.Redis{URL: url, PasswordFile: passwordFile(t, password)})
	c := add(t, s, website(1))
	if active, err := s.Active(ctx(t)); err != nil || len(active) != 1 || active[0].ID != c.ID {
		t.Errorf("Active: %v, %v", active, err)
	}

	const wrong = "incorrect donkey"
	bad := configured(t, config.Redis{URL: url, PasswordFile: passwordFile(t, wrong)})
	err := bad.Ping(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "WRONGPASS") || strings.Contains(err.Error(), wrong) {
		t.Errorf("wrong password: %v; want WRONGPASS without the password", err)
	}
	if _, err := bad.Active(ctx(t)); err == nil || strings.Contains(err.Error(), wrong) {
		t.Errorf("Active with the wrong password: %v", err)
	}
	none := configured(t, config.Redis{URL: url})
	if err := none.Ping(ctx(t)); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("no password: %v; want NOAUTH", err)
	}
}

// rediss:// with the CA in redis.tls.ca_file; a server signed by another CA
// is refused.
func TestTLS(t *testing.T) {
	srv := redistest.StartTLS(t)
	s := configured(t, config.Redis{URL: srv.URL(), TLS: config.RedisTLS{CAFile: srv.CA.CertFile}})
	c := addThree(t, s)
	if active, err := s.Active(ctx(t)); err != nil || len(active) != 3 {
		t.Errorf("Active over TLS: %d, %v", len(active), err)
	}
	if got := actions(t, s, c.ID); got != "add approve" {
		t.Errorf("history over TLS: %s", got)
	}

	stranger := configured(t, config.Redis{URL: srv.URL(), TLS: config.RedisTLS{CAFile: redistest.NewCA(t).CertFile}})
	if err := stranger.Ping(ctx(t)); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("a server signed by another CA: %v", err)
	}
}
