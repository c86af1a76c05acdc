package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/store"
)

// Following the store: the daemon loads every shown cancellation once, then
// reads only the documents the store's change notices name
// (store.Changes), and loads everything again whenever it cannot be sure it
// saw every change: a gap in the notices, a Redis error (a restart or a
// failover may have lost writes), a reload that brought another store, and
// every resync interval as a safety net.
const (
	// DefaultFollowWait is how long one read of the notices blocks (a
	// notice ends it at once): how soon the loop also sees a reload, an
	// acknowledgement, a lost store or China midnight. Each turn is four
	// round trips; idle, the turns are most of what the daemon costs.
	DefaultFollowWait = 10 * time.Second
	// followBatch bounds the notices read at once.
	followBatch = 1000
	// publishEvery spaces the re-encodings of the exposition under a
	// stream of changes (a reach run writes thousands): a change waits at
	// most this long before it is published.
	publishEvery = 500 * time.Millisecond
	// DefaultResyncInterval is how often the whole store is read again
	// although no notice was missed.
	DefaultResyncInterval = time.Hour
)

// live is the follower's state. The loop is its only writer, except for
// the review job's tick, which advances the view under its own lock.
type live struct {
	view *status.View
	// wait is how long a read of the notices blocks (Options.FollowWait).
	wait time.Duration
	// gen is the generation whose rules the view is computed with.
	gen *generation
	// from is the store the view was loaded from; nil when it must be
	// loaded (again) before any notice is followed.
	from   *store.Store
	cursor store.Cursor
	// loadedAt is when it was last loaded whole, by the monotonic clock.
	loadedAt time.Time

	// publishMu serialises publishing, so an older snapshot never replaces
	// a newer one; lastPublish is guarded by it.
	publishMu   sync.Mutex
	lastPublish time.Time
	// current is when the view was last known to be the store's (Unix
	// nanoseconds); failing is the follower's last error, nil when it works.
	current atomic.Int64
	failing atomic.Pointer[error]
	// firstTurn is closed when the follower's first turn ended, well or not:
	// the review job's first tick waits for it rather than fail at start,
	// and the jobs that read the store wait for it rather than read it at
	// the same time as the first load (the start-up's memory peak).
	firstTurn     chan struct{}
	firstTurnOnce sync.Once
}

// newLive returns a follower whose view gets its rules at the first turn.
func newLive() *live {
	return &live{view: status.NewView(status.Rules{}), firstTurn: make(chan struct{})}
}

// turned records the end of a turn.
func (l *live) turned() { l.firstTurnOnce.Do(func() { close(l.firstTurn) }) }

// errNotLoaded says the view has never been loaded.
var errNotLoaded = errors.New("the view of the store has not been loaded yet")

// followLoop keeps the view current until ctx ends. Redis being down never
// ends it: it retries, a little later each time.
func (d *daemon) followLoop(ctx context.Context) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		err := d.follow(ctx)
		d.live.turned()
		if err == nil {
			backoff = 0
			d.live.failing.Store(nil)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if prev := d.live.failing.Swap(&err); prev == nil {
			d.log.Warn("following the store failed; the view stays as it was and is reloaded once Redis answers", "err", err)
		}
		d.redisOutcome(err)
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// follow is one turn of the loop: adopt the configuration and the store,
// load everything when needed, else wait for notices and read what they
// name; then publish what changed.
func (d *daemon) follow(ctx context.Context) error {
	g, release := d.acquire()
	defer release()
	st := g.conn.store
	l := d.live
	if l.gen != g { // a reload: the limits, grace or retention may have changed
		l.view.SetRules(status.RulesOf(g.cfg, g.cal), d.o.Now())
		l.gen = g
	}
	if err := d.adopt(ctx, st); err != nil {
		l.from = nil
		return err
	}
	if d.held.lost {
		return d.waitLost(ctx, st)
	}
	if l.from != st || time.Since(l.loadedAt) >= d.o.ResyncInterval {
		if err := d.load(ctx, st); err != nil {
			l.from = nil
			return err
		}
	} else if err := d.followChanges(ctx, st); err != nil {
		l.from = nil // after an error nothing says no notice was lost
		if errors.Is(err, store.ErrChangesMissed) {
			d.log.Info("store changes missed; loading everything again", "err", err)
			return nil
		}
		return err
	}
	d.redisOutcome(nil)
	l.current.Store(d.o.Now().UnixNano())
	d.publish(false)
	return nil
}

// loadBatch bounds the documents a full load holds decoded at once.
const loadBatch = 5000

// load reads every cancellation the view may show, a batch at a time, from
// a cursor taken first: a change made during the load is followed
// afterwards, never lost.
func (d *daemon) load(ctx context.Context, st *store.Store) error {
	start := time.Now()
	cur, err := st.ChangeCursor(ctx)
	if err != nil {
		return err
	}
	shown := []cancellation.Status{cancellation.Pending, cancellation.Approved, cancellation.Cleared}
	ids, err := st.IDs(ctx, store.Filter{Statuses: shown})
	if err != nil {
		return fmt.Errorf("load cancellations: %w", err)
	}
	reload := d.live.view.Reload(d.o.Now())
	for batch := range slices.Chunk(ids, loadBatch) {
		// Load leaves the probe history, which the view never shows, in the store.
		cs, _, err := st.Load(ctx, batch)
		if err != nil {
			return fmt.Errorf("load cancellations: %w", err)
		}
		reload.Add(cs)
	}
	counts, err := st.Counts(ctx)
	if err != nil {
		return err
	}
	if lost, err := d.checkIdentity(ctx, st); err != nil || lost {
		return err
	}
	reload.Done(status.CountsOf(counts))
	d.live.from, d.live.cursor, d.live.loadedAt = st, cur, time.Now()
	d.log.Debug("store loaded", "cancellations", len(ids), "shown", d.live.view.Len(), "took", time.Since(start))
	return nil
}

// followChanges waits for notices and applies the documents they name.
func (d *daemon) followChanges(ctx context.Context, st *store.Store) error {
	wait := d.live.wait
	if d.live.view.Pending() {
		wait = max(publishEvery-time.Since(d.lastPublished()), 10*time.Millisecond)
	}
	ids, next, err := st.Changes(ctx, d.live.cursor, wait, followBatch)
	if err != nil {
		return err
	}
	var found []cancellation.Cancellation
	var gone []string
	var counts map[cancellation.Kind]map[cancellation.Status]int
	if len(ids) > 0 {
		if found, gone, err = st.Load(ctx, ids); err != nil {
			return err
		}
		if counts, err = st.Counts(ctx); err != nil {
			return err
		}
	}
	// Read after the data: the adopted identity still there proves the data
	// came from the adopted store (a FLUSHDB takes everything at once).
	if lost, err := d.checkIdentity(ctx, st); err != nil || lost {
		return err
	}
	if len(ids) > 0 {
		d.live.view.Apply(found, gone, status.CountsOf(counts), d.o.Now())
	} else {
		d.live.view.Advance(d.o.Now())
	}
	d.live.cursor = next
	return nil
}

// checkIdentity reads the store's identity and reports whether the held
// store is lost: its identity vanished or changed.
func (d *daemon) checkIdentity(ctx context.Context, st *store.Store) (lost bool, err error) {
	id, err := st.Identity(ctx)
	if err != nil && !errors.Is(err, store.ErrNoIdentity) {
		return false, err
	}
	if err == nil && id.ID == d.held.identity.ID {
		d.metrics.StoreAdopted(id.Created, id.Acknowledged) // another replica's reload may have acknowledged it
		return false, nil
	}
	d.held.lost = true
	d.live.from = nil
	d.metrics.StoreLost()
	found := "no identity: emptied (FLUSHDB, Redis restarted without persistence)"
	if err == nil {
		found = fmt.Sprintf("store %s created %s", id.ID, id.Created.Format(time.RFC3339))
	}
	d.log.Error("the store was lost or replaced; serving the last view of the adopted one until a reload acknowledges (alerts/RUNBOOKS.md#icpmonitorstorelost)",
		"adopted", d.held.identity.ID, "adopted_created", d.held.identity.Created, "found", found)
	note := fmt.Sprintf("The store was lost or replaced: shown is the last view of store %s (created %s); Redis now holds %s. Restore or re-import, then reload icpmon to acknowledge.",
		d.held.identity.ID, d.held.identity.Created.Format(time.RFC3339), found)
	d.storeLost.Store(&note)
	return true, nil
}

// waitLost keeps a lost store's last view published, checking Redis now
// and then, until a reload acknowledges the store as it is.
func (d *daemon) waitLost(ctx context.Context, st *store.Store) error {
	if err := st.Ping(ctx); err != nil {
		return err
	}
	d.redisOutcome(nil)
	t := time.NewTimer(d.live.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return nil
}

// tick is the review job's run: it brings the view to the day (a new China
// date moves every pending review's business days), publishes what that
// changed, and fails while the view is not the store's.
func (d *daemon) tick(ctx context.Context) error {
	select {
	case <-d.live.firstTurn:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.live.view.Advance(d.o.Now())
	d.publish(true)
	if err := d.live.failing.Load(); err != nil {
		return *err
	}
	if d.live.current.Load() == 0 {
		return errNotLoaded
	}
	if d.storeLost.Load() != nil {
		return errors.New("the store was lost or replaced; a reload must acknowledge it")
	}
	return nil
}

// publish makes the view what /metrics and / serve, if it changed. Unless
// now, it waits publishEvery after the previous publication: the loop comes
// back sooner when a change is pending (View.Pending).
func (d *daemon) publish(now bool) {
	l := d.live
	l.publishMu.Lock()
	defer l.publishMu.Unlock()
	if !now && time.Since(l.lastPublish) < publishEvery {
		return
	}
	s, change := l.view.Snapshot(d.o.Now())
	mode := metrics.PerCancellation(d.gen.Load().cfg.Metrics.PerCancellation)
	switch {
	case change.State:
		d.expo.Publish(s, mode)
		l.lastPublish = time.Now()
	case change.Changed: // probe times only: the status page shows them, the series are the same
		d.expo.Refresh(s, mode)
	}
}

func (d *daemon) lastPublished() time.Time {
	d.live.publishMu.Lock()
	defer d.live.publishMu.Unlock()
	return d.live.lastPublish
}
