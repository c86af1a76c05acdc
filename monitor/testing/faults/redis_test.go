package faults_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/store"
)

// Shape of the Redis fault runs: 40 pending cancellations, every fourth one
// with its record already taken down (the sweeps infer approval, then
// clear it), and five withdrawn by an operator while Redis is away.
const tracked = 40

func removedIDs() (idx []int) {
	for i := 0; i < tracked; i += 4 {
		idx = append(idx, i)
	}
	return idx
}

var withdrawnIdx = []int{1, 6, 11, 17, 22}

// operator records withdrawals the way `icpmon track withdraw` does, and
// tries again while Redis does not answer, as a person would.
type operator struct {
	done     chan struct{}
	mu       sync.Mutex
	acked    []string // Redis confirmed the withdrawal
	replayed []string // a retry found it already done: an earlier try took effect unconfirmed
	failed   []string
}

func withdraw(st *store.Store, idx []int) *operator {
	op := &operator{done: make(chan struct{})}
	go func() {
		defer close(op.done)
		deadline := time.Now().Add(2 * time.Minute)
		for _, i := range idx {
			id := idOf(i)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := st.Transition(ctx, id, cancellation.Withdrawn, time.Now(), "operator:faults", "")
				cancel()
				op.mu.Lock()
				switch {
				case err == nil:
					op.acked = append(op.acked, id)
				case strings.Contains(err.Error(), "already withdrawn"):
					op.replayed = append(op.replayed, id)
				case time.Now().After(deadline):
					op.failed = append(op.failed, id+": "+err.Error())
				default:
					op.mu.Unlock()
					time.Sleep(100 * time.Millisecond)
					continue
				}
				op.mu.Unlock()
				break
			}
		}
	}()
	return op
}

// check waits for the operator and checks that every withdrawal stands.
func (op *operator) check(t *testing.T, cs map[string]cancellation.Cancellation) {
	t.Helper()
	await(t, "the operator's withdrawals", op.done)
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, f := range op.failed {
		t.Errorf("withdrawal never went through: %s", f)
	}
	for _, id := range append(append([]string{}, op.acked...), op.replayed...) {
		if cs[id].Status != cancellation.Withdrawn {
			t.Errorf("lost: the withdrawal of %s was confirmed but it is %s", id, cs[id].Status)
		}
	}
	t.Logf("operator withdrawals: %d confirmed at once, %d confirmed on a retry that found them done", len(op.acked), len(op.replayed))
}

// writers keep writing to a few cancellations, one goroutine each, so that
// some write is in flight whenever the fault strikes. Each write sets the
// note and records an event naming it, so the history shows how often each
// write was applied.
type writers struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked map[string]bool // tag -> Redis confirmed it
	errs  []string        // the first failures, for the log
	// resent counts scripts confirmed only after the first copy timed out
	// and go-redis sent it again: both copies reached Redis.
	resent atomic.Int64
	// strike, when set, runs once just before the next script is sent.
	strike atomic.Pointer[func()]
}

// strikeAtScript arms fault to run just before the next write script goes
// out, so that the fault catches a write in flight.
func (ws *writers) strikeAtScript(fault func()) { ws.strike.Store(&fault) }

// noteAction is the history action of the writers' events.
const noteAction = "note"

var writerIdx = []int{25, 26, 27, 29}

// startWriters writes through rdb, which it watches for resent scripts.
func startWriters(rdb redis.UniversalClient) *writers {
	ws := &writers{stop: make(chan struct{}), acked: map[string]bool{}}
	rdb.AddHook(&scriptHook{resent: &ws.resent, strike: &ws.strike})
	st := store.New(rdb, prefix)
	for _, i := range writerIdx {
		id := idOf(i)
		ws.wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-ws.stop:
					return
				default:
				}
				tag := fmt.Sprintf("%s-%d", id, k)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := st.Update(ctx, id, "operator:faults", func(c *cancellation.Cancellation) (cancellation.Event, error) {
					c.Note = tag
					return cancellation.Event{Action: noteAction, Detail: tag}, nil
				})
				cancel()
				ws.mu.Lock()
				ws.acked[tag] = err == nil
				if err != nil && len(ws.errs) < 3 {
					ws.errs = append(ws.errs, err.Error())
				}
				ws.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	return ws
}

// check stops the writers and checks that each confirmed write was applied
// exactly once and each failed one at most once.
func (ws *writers) check(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	close(ws.stop)
	ws.wg.Wait()
	st := store.New(rdb, prefix)
	applied := map[string]int{}
	for _, i := range writerIdx {
		events, err := st.History(context.Background(), idOf(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Action == noteAction {
				applied[e.Detail]++
			}
		}
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var confirmed, failed, failedApplied int
	for tag, ok := range ws.acked {
		switch n := applied[tag]; {
		case ok && n != 1:
			t.Errorf("write %s was confirmed and applied %d times, want once", tag, n)
		case !ok && n > 1:
			t.Errorf("write %s failed and was applied %d times, want at most once", tag, n)
		}
		if ok {
			confirmed++
		} else {
			failed++
			failedApplied += applied[tag]
		}
	}
	for tag := range applied {
		if _, ok := ws.acked[tag]; !ok {
			t.Errorf("write %s is in the history but was never made", tag)
		}
	}
	t.Logf("writes: %d confirmed (%d scripts confirmed only after a timeout and a resend), %d failed (%d of them applied, unconfirmed)",
		confirmed, ws.resent.Load(), failed, failedApplied)
	if len(ws.errs) > 0 {
		t.Logf("first failures: %s", strings.Join(ws.errs, "; "))
	}
}

// client returns a client of its own for addr, closed when the test ends.
func client(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// scriptHook counts scripts that succeeded only after a read timeout
// (go-redis retries inside Process, so one that took longer than the
// timeout was sent at least twice) and runs an armed fault before a script.
type scriptHook struct {
	resent *atomic.Int64
	strike *atomic.Pointer[func()]
}

func (*scriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (*scriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *scriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "evalsha" {
			return next(ctx, cmd)
		}
		if fault := h.strike.Swap(nil); fault != nil {
			(*fault)()
		}
		start := time.Now()
		err := next(ctx, cmd)
		if err == nil && time.Since(start) > clientReadTimeout {
			h.resent.Add(1)
		}
		return err
	}
}

// settled waits until the sweeps have cleared every cancellation whose
// record is gone, and a query run and a review run have succeeded since.
func settled(t *testing.T, w *world, d *running, since time.Time) {
	t.Helper()
	d.jobSucceededSince("review", since)
	d.jobSucceededSince("query", since)
	eventually(t, "every cancellation whose record is gone is cleared", func() (bool, string) {
		var left []string
		for _, i := range removedIDs() {
			c, err := w.store.Get(context.Background(), idOf(i))
			if err != nil || c.Status != cancellation.Cleared {
				left = append(left, fmt.Sprintf("%s %s %v", idOf(i), c.Status, err))
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
}

// checkOutcome checks the figures a run must end with: the removed records
// cleared, the withdrawals standing, every other cancellation still pending
// with its record present (no false absence).
func checkOutcome(t *testing.T, cs map[string]cancellation.Cancellation) {
	t.Helper()
	want := map[string]cancellation.Status{}
	for i := range tracked {
		want[idOf(i)] = cancellation.Pending
	}
	for _, i := range removedIDs() {
		want[idOf(i)] = cancellation.Cleared
	}
	for _, i := range withdrawnIdx {
		want[idOf(i)] = cancellation.Withdrawn
	}
	for id, s := range want {
		c := cs[id]
		if c.Status != s {
			t.Errorf("%s is %s, want %s", id, c.Status, s)
		}
		if s == cancellation.Pending && c.Record.State() == "absent" {
			t.Errorf("%s: false absence recorded", id)
		}
	}
	t.Logf("statuses: %v", statuses(cs))
}

// recovered checks the end of a Redis fault, Redis being back: the sweeps
// settle after since; the operator's withdrawals and the writers' work (ws,
// nil for none) stand; and, the daemon stopped, every tracked cancellation
// of ids is in the state a run must end in. It returns how many of the
// sweep's writes Redis did not take.
func (w *world) recovered(d *running, since time.Time, op *operator, ws *writers, ids []string) int {
	t := w.t
	t.Helper()
	settled(t, w, d, since)
	await(t, "the operator", op.done)
	if ws != nil {
		ws.check(t, w.rdb)
	}
	d.stop()
	res := audit(t, w.rdb, ids)
	op.check(t, res.cs)
	checkOutcome(t, res.cs)
	return failedWrites(d)
}

// failedWrites counts the sweep's writes that Redis did not take.
func failedWrites(d *running) int {
	return strings.Count(d.logs.String(), `"msg":"record lookup evidence"`)
}

// TestRedisKilledMidSweep kills an AOF-persisted Redis with SIGKILL while a
// sweep is halfway, lets the sweep go on against the dead server, restarts
// Redis and checks that nothing was lost, doubled or half-written.
func TestRedisKilledMidSweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "--appendonly", "yes")
	ids := w.track(tracked, removedIDs()...)
	held := w.gate.hold(15) // the canary and 13 cancellations into the first sweep
	d := startDaemon(t, daemon.Options{ConfigFile: w.config("  url: "+w.redis.URL(), "")})
	await(t, "the first sweep's 15th lookup", held)
	ws := startWriters(client(t, w.redis.Addr))
	time.Sleep(100 * time.Millisecond) // let the writers get going: a write is in flight at the kill

	w.redis.Stop() // SIGKILL
	op := withdraw(w.store, withdrawnIdx)
	held = w.gate.hold(10) // ten lookups whose evidence has nowhere to go
	await(t, "ten lookups with Redis dead", held)
	d.redisState(false)

	w.redis.Restart(t) // replays the AOF
	restarted := time.Now()
	w.gate.open()
	d.redisState(true)
	t.Logf("sweep writes refused while Redis was dead: %d", w.recovered(d, restarted, op, ws, ids))
}

// TestRedisPausedBeyondClientTimeout freezes Redis with SIGSTOP while a
// sweep is halfway and writers are busy, for longer than the clients' 3 s
// read timeout: commands in flight time out and go-redis sends them again,
// and when Redis wakes (SIGCONT) it runs the first copies as well as the
// resends. Every write must be applied once, not twice.
func TestRedisPausedBeyondClientTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ids := w.track(tracked, removedIDs()...)
	held := w.gate.hold(15)
	d := startDaemon(t, daemon.Options{ConfigFile: w.config("  url: "+w.redis.URL(), "")})
	await(t, "the first sweep's 15th lookup", held)
	ws := startWriters(client(t, w.redis.Addr))
	frozen := make(chan struct{})
	ws.strikeAtScript(func() {
		if err := w.redis.Process().Signal(syscall.SIGSTOP); err != nil {
			t.Error(err)
		}
		close(frozen)
	})
	await(t, "Redis frozen as a write script goes out", frozen)
	t.Cleanup(func() { _ = w.redis.Process().Signal(syscall.SIGCONT) })
	op := withdraw(w.store, withdrawnIdx)
	w.gate.open()
	d.redisState(false)
	// The length of the fault, not an assertion: beyond the read timeout.
	time.Sleep(clientReadTimeout + time.Second)

	if err := w.redis.Process().Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	woke := time.Now()
	d.redisState(true)
	t.Logf("sweep writes that failed during the pause: %d", w.recovered(d, woke, op, ws, ids))
}

// clientReadTimeout is go-redis's default read timeout, which the daemon
// and the CLI keep.
const clientReadTimeout = 3 * time.Second
