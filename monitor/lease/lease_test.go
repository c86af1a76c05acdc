package lease

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

const (
	key = "{test}:lease:review"
	// slack bounds every wait on something that must happen, generously:
	// tests check what happens, never how fast.
	slack = 20 * time.Second
)

// tick0 is an arbitrary scheduled time; tick(i) the i-th after it.
var tick0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func tick(i int) time.Time { return tick0.Add(time.Duration(i) * time.Minute) }

// replica is one icpmon process's side of the lease: its own client and
// Elector.
type replica struct {
	e   *Elector
	rdb *redis.Client

	stopKeep context.CancelFunc
	kept     chan struct{}
}

func newReplica(t *testing.T, srv *redistest.Server, ttl time.Duration, opts ...Option) *replica {
	t.Helper()
	rdb := srv.Client(t)
	return &replica{e: New(rdb, key, ttl, opts...), rdb: rdb}
}

// leaderAndStandby are two replicas on a Redis of their own whose leases
// last ttl: the leader keeping the lease it has obtained, the standby not
// yet keeping.
func leaderAndStandby(t *testing.T, ttl time.Duration) (leader, standby *replica) {
	t.Helper()
	srv := redistest.Start(t)
	leader, standby = newReplica(t, srv, ttl), newReplica(t, srv, ttl)
	leader.keep(t)
	harness.WaitUntil(t, slack, "the leader obtains the lease", leader.e.Held)
	return leader, standby
}

// keep runs Keep until stopKeeping or the end of the test.
func (r *replica) keep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r.stopKeep, r.kept = cancel, make(chan struct{})
	go func() {
		defer close(r.kept)
		r.e.Keep(ctx)
	}()
	t.Cleanup(r.stopKeeping)
}

// stopKeeping cancels Keep and waits for it to return.
func (r *replica) stopKeeping() {
	r.stopKeep()
	<-r.kept
}

// token is the lease's value in Redis, "" when there is none.
func token(t *testing.T, rdb redis.Cmdable) string {
	t.Helper()
	v, err := rdb.Get(context.Background(), key).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v
}

// blocking is a run that starts, then waits for its context or for done.
type blocking struct {
	started chan struct{}
	done    chan struct{}
	cause   chan error // why its context ended, if it did
}

func newBlocking() *blocking {
	return &blocking{started: make(chan struct{}), done: make(chan struct{}), cause: make(chan error, 1)}
}

func (b *blocking) run(ctx context.Context) error {
	close(b.started)
	select {
	case <-ctx.Done():
		b.cause <- context.Cause(ctx)
		return context.Cause(ctx)
	case <-b.done:
		return nil
	}
}

// result is how a Run in a goroutine ended.
type result struct {
	ran bool
	err error
}

func goRun(e *Elector, at time.Time, fn func(context.Context) error) chan result {
	out := make(chan result, 1)
	go func() {
		ran, err := e.Run(context.Background(), at, fn)
		out <- result{ran, err}
	}()
	return out
}

// runTickOnce runs tick i on every elector at once, with fn as the run, and
// fails the test unless exactly one of them ran it, once; it returns the
// index of that one.
func runTickOnce(t *testing.T, electors []*Elector, i int, fn func(context.Context) error) int {
	t.Helper()
	var runs atomic.Int32
	counted := func(ctx context.Context) error {
		runs.Add(1)
		return fn(ctx)
	}
	start := make(chan struct{})
	results := make([]chan result, len(electors))
	for j, e := range electors {
		results[j] = make(chan result, 1)
		go func() {
			<-start
			ran, err := e.Run(context.Background(), tick(i), counted)
			results[j] <- result{ran, err}
		}()
	}
	close(start)
	ran, by := 0, -1
	for j := range electors {
		r := wait(t, "Run", results[j])
		if r.err != nil {
			t.Fatalf("tick %d, replica %d: %v", i, j, r.err)
		}
		if r.ran {
			ran, by = ran+1, j
		}
	}
	if ran != 1 || runs.Load() != 1 {
		t.Fatalf("tick %d: %d Runs reported running, fn ran %d times; want exactly once", i, ran, runs.Load())
	}
	return by
}

func wait[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(slack):
		t.Fatalf("%s: not within %v", what, slack)
		panic("unreachable")
	}
}

func TestHoldScriptChecksToken(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	e := New(rdb, key, time.Second)
	ctx := context.Background()
	hold := func(token string, ttl time.Duration, mayObtain string) bool {
		t.Helper()
		ok, err := e.hold.Run(ctx, rdb, []string{key}, token, ttl.Milliseconds(), mayObtain).Bool()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	release := func(token string) bool {
		t.Helper()
		ok, err := e.release.Run(ctx, rdb, []string{key}, token).Bool()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	pttl := func() time.Duration {
		t.Helper()
		d, err := rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	if hold("a", time.Minute, "0") {
		t.Fatal("a renewal took a free lease")
	}
	if token(t, rdb) != "" {
		t.Fatal("a renewal created the key")
	}
	if !hold("a", 10*time.Second, "1") || token(t, rdb) != "a" {
		t.Fatal("a could not take the free lease")
	}
	if !hold("a", 10*time.Second, "1") {
		t.Fatal("a retried obtain of a's own lease failed")
	}
	for _, may := range []string{"0", "1"} {
		if hold("b", time.Hour, may) {
			t.Fatalf("b renewed or took a's lease (mayObtain %s)", may)
		}
	}
	if token(t, rdb) != "a" || pttl() > 10*time.Second {
		t.Fatalf("b's attempts changed a's lease: %q, PTTL %v", token(t, rdb), pttl())
	}
	if release("b") || token(t, rdb) != "a" {
		t.Fatal("b released a's lease")
	}
	if !hold("a", time.Hour, "0") || pttl() <= 10*time.Second {
		t.Fatalf("a could not renew its lease: PTTL %v", pttl())
	}
	if !release("a") || token(t, rdb) != "" {
		t.Fatal("a could not release its lease")
	}
	if release("a") {
		t.Fatal("a released a lease that no longer exists")
	}
}

func TestClaimScript(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	e := New(rdb, key, time.Second)
	ctx := context.Background()
	claim := func(token string, at int, nonce, mayObtain string) int {
		t.Helper()
		n, err := e.claim.Run(ctx, rdb, []string{key, e.mark}, token, at, nonce, time.Minute.Milliseconds(), mayObtain).Int()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		token string
		at    int
		nonce string
		may   string
		want  int
		why   string
	}{
		{"a", 1000, "n1", "0", -1, "a free lease is not taken without mayObtain"},
		{"a", 1000, "n1", "1", 1, "a takes the free lease and claims 1000"},
		{"a", 1000, "n2", "1", 0, "another run of 1000 is refused"},
		{"a", 1000, "n1", "0", 1, "a retry of the same run gets its claim back"},
		{"a", 999, "n3", "0", 0, "an older tick is refused"},
		{"b", 2000, "n4", "1", -1, "b cannot claim under a's lease"},
		{"a", 2000, "n5", "0", 1, "a claims 2000"},
		{"b", 3000, "n6", "1", -1, "b still cannot"},
	}
	for _, s := range steps {
		if got := claim(s.token, s.at, s.nonce, s.may); got != s.want {
			t.Fatalf("%s: claim(%s, %d, %s) = %d, want %d", s.why, s.token, s.at, s.nonce, got, s.want)
		}
	}
	if mark, _ := rdb.Get(ctx, e.mark).Result(); mark != "2000 n5" {
		t.Fatalf("mark %q, want the last claim %q", mark, "2000 n5")
	}
	rdb.Del(ctx, key) // a's lease expires
	if got := claim("a", 2000, "n5", "0"); got != 0 {
		t.Fatalf("a retry without the lease got %d, want 0", got)
	}
	if got := claim("b", 2000, "n7", "1"); got != 0 {
		t.Fatalf("b claimed 2000 again after the handover: %d", got)
	}
	if got := claim("b", 3000, "n7", "1"); got != 1 || token(t, rdb) != "b" {
		t.Fatalf("b could not take the free lease for 3000: %d, holder %q", got, token(t, rdb))
	}
}

func TestKeepHoldsPastTTL(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = time.Second
	a := newReplica(t, srv, ttl)
	a.keep(t)
	harness.WaitUntil(t, slack, "Keep obtains the free lease", a.e.Held)
	held := token(t, a.rdb)
	if held == "" {
		t.Fatal("Held, but no lease in Redis")
	}
	// Outlive the TTL three times over: only renewals keep the key.
	renewals := 0
	last := time.Duration(0)
	for start := time.Now(); time.Since(start) < 3*ttl; time.Sleep(20 * time.Millisecond) {
		d := a.rdb.PTTL(context.Background(), key).Val()
		if d > last {
			renewals++
		}
		last = d
	}
	if got := token(t, a.rdb); got != held || !a.e.Held() {
		t.Fatalf("after 3 TTLs the lease is %q (held here: %v), want the same token %q", got, a.e.Held(), held)
	}
	if renewals < 2 {
		t.Fatalf("saw the TTL restart %d times", renewals)
	}
}

func TestRunAloneClaimsAndGivesUp(t *testing.T) {
	srv := redistest.Start(t)
	a := newReplica(t, srv, time.Second)
	ctx := context.Background()
	var runs atomic.Int32
	count := func(ctx context.Context) error {
		if ctx.Err() != nil {
			t.Error("the run started cancelled")
		}
		if !a.e.Held() {
			t.Error("the run started without the lease")
		}
		runs.Add(1)
		return nil
	}
	steps := []struct {
		at   int
		want bool
	}{{1, true}, {1, false}, {0, false}, {2, true}, {5, true}, {3, false}}
	for _, s := range steps {
		ran, err := a.e.Run(ctx, tick(s.at), count)
		if err != nil || ran != s.want {
			t.Fatalf("Run(tick %d) = %v, %v; want %v", s.at, ran, err, s.want)
		}
		if a.e.Held() || token(t, a.rdb) != "" {
			t.Fatalf("a Run without Keep kept the lease after tick %d", s.at)
		}
	}
	if runs.Load() != 3 {
		t.Fatalf("%d runs, want 3", runs.Load())
	}
	fail := errors.New("boom")
	if ran, err := a.e.Run(ctx, tick(6), func(context.Context) error { return fail }); !ran || err != fail {
		t.Fatalf("a failing run: %v, %v; want true and its error as is", ran, err)
	}
	if ran, err := a.e.Run(ctx, tick(6), count); ran || err != nil {
		t.Fatalf("a failed tick ran again: %v, %v", ran, err)
	}
}

func TestRunLeavesTheTickToTheLeader(t *testing.T) {
	const ttl = 300 * time.Millisecond
	leader, standby := leaderAndStandby(t, ttl)

	// The leader renews but does not run tick 1 (its previous run is still
	// going, say): the standby waits, then leaves the tick alone.
	ran, err := standby.e.Run(context.Background(), tick(1), func(context.Context) error {
		t.Error("the standby ran under the leader's lease")
		return nil
	})
	if ran || err != nil {
		t.Fatalf("standby Run = %v, %v; want false, nil", ran, err)
	}
	if !leader.e.Held() || standby.e.Held() {
		t.Fatal("the standby's Run moved the lease")
	}

	// The leader runs tick 2 while the standby waits for it: the standby
	// sees it claimed.
	b := newBlocking()
	standbyDone := goRun(standby.e, tick(2), func(context.Context) error {
		t.Error("the standby ran tick 2 too")
		return nil
	})
	leaderDone := goRun(leader.e, tick(2), b.run)
	<-b.started
	if r := wait(t, "the standby's Run", standbyDone); r.ran || r.err != nil {
		t.Fatalf("standby Run = %+v; want false, nil", r)
	}
	close(b.done)
	if r := wait(t, "the leader's Run", leaderDone); !r.ran || r.err != nil {
		t.Fatalf("leader Run = %+v; want true, nil", r)
	}
}

func TestRunWaitsOutADeadHolder(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 300 * time.Millisecond
	a := newReplica(t, srv, ttl)
	// A replica that died right after renewing: its token stays one TTL.
	if err := a.rdb.Set(context.Background(), key, "dead", ttl).Err(); err != nil {
		t.Fatal(err)
	}
	var holder string
	ran, err := a.e.Run(context.Background(), tick(1), func(context.Context) error {
		holder = token(t, a.rdb)
		return nil
	})
	if !ran || err != nil {
		t.Fatalf("Run = %v, %v; want the tick run once the dead lease expired", ran, err)
	}
	if holder == "" || holder == "dead" {
		t.Fatalf("ran while the lease was %q", holder)
	}
}

func TestLostLeaseCancelsTheRun(t *testing.T) {
	const ttl = 400 * time.Millisecond
	cases := []struct {
		name string
		lose func(t *testing.T, srv *redistest.Server, ops *redis.Client)
		why  string // in the cause
	}{
		{"deleted", func(t *testing.T, _ *redistest.Server, ops *redis.Client) {
			if err := ops.Del(context.Background(), key).Err(); err != nil {
				t.Fatal(err)
			}
		}, "another replica holds it"},
		{"taken", func(t *testing.T, _ *redistest.Server, ops *redis.Client) {
			if err := ops.Set(context.Background(), key, "other", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}, "another replica holds it"},
		{"redis stopped", func(t *testing.T, srv *redistest.Server, _ *redis.Client) {
			srv.Stop()
		}, "not renewed before it could expire"},
		{"redis frozen", func(t *testing.T, srv *redistest.Server, _ *redis.Client) {
			// Renewals hang rather than fail: the expiry timer still ends the run.
			if err := srv.Process().Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Process().Signal(syscall.SIGCONT) })
		}, "not renewed before it could expire"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t)
			ops := srv.Client(t)
			var logs harness.Log
			a := newReplica(t, srv, ttl, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			b := newBlocking()
			done := goRun(a.e, tick(1), b.run)
			wait(t, "the run starts", b.started)
			c.lose(t, srv, ops)

			cause := wait(t, "the run's context is cancelled", b.cause)
			if !errors.Is(cause, ErrLost) || !strings.Contains(cause.Error(), c.why) {
				t.Fatalf("cause %q, want ErrLost saying %q", cause, c.why)
			}
			r := wait(t, "Run returns", done)
			if !r.ran || !errors.Is(r.err, ErrLost) {
				t.Fatalf("Run = %+v; want true and an error wrapping ErrLost", r)
			}
			if a.e.Held() {
				t.Fatal("still Held after the loss")
			}
			if !strings.Contains(logs.String(), "lease lost") {
				t.Fatalf("the loss was not logged:\n%s", logs.String())
			}
		})
	}
}

func TestTwoReplicasRunEachTickOnce(t *testing.T) {
	for _, leader := range []bool{true, false} {
		name := "per tick"
		if leader {
			name = "leader"
		}
		t.Run(name, func(t *testing.T) {
			srv := redistest.Start(t)
			const ttl = 300 * time.Millisecond
			replicas := []*replica{newReplica(t, srv, ttl), newReplica(t, srv, ttl)}
			if leader {
				for _, r := range replicas {
					r.keep(t)
				}
			}
			electors := []*Elector{replicas[0].e, replicas[1].e}
			ranBy := [2]int{}
			for i := range 50 {
				ranBy[runTickOnce(t, electors, i, func(context.Context) error {
					time.Sleep(time.Millisecond) // a run takes a while
					return nil
				})]++
			}
			t.Logf("runs by replica: %v", ranBy)
		})
	}
}

func TestKillTheLeader(t *testing.T) {
	const ttl = 500 * time.Millisecond
	leader, standby := leaderAndStandby(t, ttl)
	standby.keep(t)
	old := token(t, standby.rdb)

	b := newBlocking()
	leaderDone := goRun(leader.e, tick(1), b.run)
	wait(t, "the leader's run starts", b.started)

	// The leader vanishes as a crashed process does: no renewal, no release.
	killed := time.Now()
	if err := leader.rdb.Close(); err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, 2*ttl+slack, "the standby takes over", standby.e.Held)
	t.Logf("takeover %v after the kill (TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)
	if got := token(t, standby.rdb); got == old || got == "" {
		t.Fatalf("the standby holds, but the lease is %q (old %q)", got, old)
	}
	if cause := wait(t, "the old leader's run is cancelled", b.cause); !errors.Is(cause, ErrLost) {
		t.Fatalf("the old leader's run ended by %v, want ErrLost", cause)
	}
	if r := wait(t, "the old leader's Run", leaderDone); !r.ran || !errors.Is(r.err, ErrLost) {
		t.Fatalf("old leader's Run = %+v", r)
	}

	// Tick 1 was claimed by the old leader: not run again.
	var again atomic.Bool
	if ran, err := standby.e.Run(context.Background(), tick(1), func(context.Context) error { again.Store(true); return nil }); ran || err != nil || again.Load() {
		t.Fatalf("the new leader ran tick 1 again: %v, %v", ran, err)
	}
	if ran, err := standby.e.Run(context.Background(), tick(2), func(context.Context) error { return nil }); !ran || err != nil {
		t.Fatalf("the new leader did not run tick 2: %v, %v", ran, err)
	}
}

func TestShutdownHandsOverAtOnce(t *testing.T) {
	// Long enough that a handover by expiry would outlast the test's waits.
	const ttl = time.Hour
	leader, standby := leaderAndStandby(t, ttl)
	old := token(t, leader.rdb)

	// Keep ends while a run holds the lease: the run keeps it.
	b := newBlocking()
	done := goRun(leader.e, tick(1), b.run)
	wait(t, "the run starts", b.started)
	leader.stopKeeping()
	if !leader.e.Held() || token(t, leader.rdb) != old {
		t.Fatal("the lease was given up under a run")
	}
	close(b.done)
	if r := wait(t, "Run", done); !r.ran || r.err != nil {
		t.Fatalf("Run = %+v", r)
	}
	// The run was the last user: the lease is deleted, not left to expire.
	if leader.e.Held() || token(t, leader.rdb) != "" {
		t.Fatalf("lease %q after shutdown, want none", token(t, leader.rdb))
	}
	ran, err := standby.e.Run(context.Background(), tick(2), func(context.Context) error { return nil })
	if !ran || err != nil {
		t.Fatalf("the standby's Run = %v, %v; want it to take over at once", ran, err)
	}
	standby.keep(t)
	harness.WaitUntil(t, slack, "the standby's Keep obtains the free lease", standby.e.Held)
}
