package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/review"
	"github.com/icpmon/icpmon/monitor/store"
)

// source is what a snapshot is taken from: one configuration's store,
// calendar and settings.
type source struct {
	store *store.Store
	cal   *calendar.Calendar
	cfg   *config.Config
}

// heldStore is the store whose snapshots are served: adopted at the first
// snapshot and again after each reload, and lost when its identity vanishes
// or changes under the daemon.
type heldStore struct {
	from     *store.Store // what it was adopted through; nil before the first adoption
	identity store.Identity
	lost     bool
}

// snapshot takes a snapshot of src and publishes it. Snapshots are taken one
// at a time, so a slow older one never replaces a newer one. Once the held
// store is lost, the last snapshot of it stays published (its firing alerts
// keep firing) until a reload acknowledges the store as it is.
func (d *daemon) snapshot(ctx context.Context, src source) error {
	d.snapshotMu.Lock()
	defer d.snapshotMu.Unlock()
	if g := d.gen.Load(); g != nil && g.conn.store != src.store {
		return nil // a job of a replaced configuration: the reload runs a review of the new one
	}
	if err := d.adopt(ctx, src.store); err != nil {
		d.redisOutcome(err)
		return err
	}
	var s *metrics.Snapshot
	if !d.held.lost { // what a lost store holds now is not shown: do not read it
		var err error
		if s, err = take(ctx, src, d.o.Now()); err != nil {
			d.redisOutcome(err)
			return err
		}
	}
	// Read after the data: the adopted identity still there proves the data
	// came from the adopted store (a FLUSHDB takes everything at once).
	id, err := src.store.Identity(ctx)
	if err != nil && !errors.Is(err, store.ErrNoIdentity) {
		d.redisOutcome(err)
		return err
	}
	d.redisOutcome(nil)
	if err != nil || id.ID != d.held.identity.ID {
		d.held.lost = true
		d.metrics.StoreLost()
	}
	if d.held.lost {
		found := "no identity: emptied (FLUSHDB, Redis restarted without persistence)"
		if err == nil {
			found = fmt.Sprintf("store %s created %s", id.ID, id.Created.Format(time.RFC3339))
		}
		d.log.Error("the store was lost or replaced; serving the last snapshot of the adopted one until a reload acknowledges (alerts/RUNBOOKS.md#icpmonitorstorelost)",
			"adopted", d.held.identity.ID, "adopted_created", d.held.identity.Created, "found", found)
		note := fmt.Sprintf("The store was lost or replaced: shown is the last snapshot of store %s (created %s); Redis now holds %s. Restore or re-import, then reload icpmon to acknowledge.",
			d.held.identity.ID, d.held.identity.Created.Format(time.RFC3339), found)
		d.storeLost.Store(&note)
		return nil
	}
	d.metrics.StoreAdopted(id.Created, id.Acknowledged) // another replica's reload may have acknowledged it
	d.expo.Publish(s)
	return nil
}

// adopt makes the store behind st the held one when there is none yet, when
// the configuration brought another store, or when a reload asked for it;
// the store gets an identity if it has none.
func (d *daemon) adopt(ctx context.Context, st *store.Store) error {
	ack := d.acknowledge.Load()
	if d.held.from == st && !ack {
		return nil
	}
	id, err := st.EnsureIdentity(ctx)
	if err != nil {
		return err
	}
	if ack {
		if id, err = st.Acknowledge(ctx, id.ID); err != nil {
			return err
		}
	}
	if was := d.held; was.from != nil && (was.lost || was.identity.ID != id.ID) {
		d.log.Warn("adopting the store as it is now; snapshots of it are served again",
			"was", was.identity.ID, "was_created", was.identity.Created, "was_lost", was.lost,
			"store", id.ID, "created", id.Created)
	} else {
		d.log.Info("store adopted", "store", id.ID, "created", id.Created)
	}
	d.held = heldStore{from: st, identity: id}
	d.storeLost.Store(nil)
	d.acknowledge.Store(false)
	d.metrics.StoreAdopted(id.Created, id.Acknowledged)
	return nil
}

// afterJob republishes the snapshot after a job other than review (whose run
// is the snapshot), so that its evidence shows at the next scrape. A job
// that succeeded talked to Redis: that counts as a round trip.
func (d *daemon) afterJob(ctx context.Context, j Job, err error) {
	if _, isReview := j.(*reviewJob); isReview {
		return
	}
	if err == nil {
		d.setRedis(true, nil)
	}
	g, release := d.acquire()
	defer release()
	if err := d.snapshot(ctx, source{store: g.conn.store, cal: g.cal, cfg: g.cfg}); err != nil {
		d.log.Warn("snapshot after job failed; the previous one stays", "job", j.Name(), "err", err)
	}
}

// take reads the active cancellations, the cleared ones (some stay shown for
// metrics.cleared_retention, or while their websites are watched) and the
// counts, and measures the pending ones.
func take(ctx context.Context, src source, now time.Time) (*metrics.Snapshot, error) {
	counts, err := src.store.Counts(ctx)
	if err != nil {
		return nil, err
	}
	// List leaves the probe history, which the snapshot never shows, in the store.
	active, err := src.store.List(ctx, store.Filter{Statuses: []cancellation.Status{cancellation.Pending, cancellation.Approved}})
	if err != nil {
		return nil, fmt.Errorf("load active cancellations: %w", err)
	}
	cleared, err := src.store.List(ctx, store.Filter{Statuses: []cancellation.Status{cancellation.Cleared}})
	if err != nil {
		return nil, fmt.Errorf("load cleared cancellations: %w", err)
	}
	s := &metrics.Snapshot{
		Taken: now, Counts: map[metrics.Count]int{}, Tracked: make([]metrics.Tracked, 0, len(active)),
		PerCancellation: metrics.PerCancellation(src.cfg.Metrics.PerCancellation),
	}
	for k, byStatus := range counts {
		for st, n := range byStatus {
			s.Counts[metrics.Count{Kind: k, Status: st}] = n
		}
	}
	limits := review.Limits{Default: src.cfg.Review.LimitBusinessDays, Province: src.cfg.Review.ProvinceLimits}
	for _, c := range active {
		t := metrics.Tracked{Cancellation: c}
		switch c.Status {
		case cancellation.Pending:
			p := review.Assess(src.cal, limits, c.Submitted, c.Province, now)
			t.Review = &p
		case cancellation.Approved:
			if c.Kind != cancellation.KindAccess && !c.ApprovedAt.IsZero() {
				t.LingerDeadline = src.cal.Deadline(calendar.DateOf(c.ApprovedAt), src.cfg.Query.LingerBusinessDays)
			}
			t.Sites = sites(c, src.cfg.Reach.Grace)
		}
		dropProbes(&t)
		s.Tracked = append(s.Tracked, t)
	}
	byID := func(a, b metrics.Tracked) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(s.Tracked, byID)
	n := len(s.Tracked)
	keepSince := now.Add(-src.cfg.Metrics.ClearedRetention)
	for _, c := range cleared {
		// The reach job drops a cleared cancellation's latest probes when its
		// watch ends (monitor/reach.WatchedUntil): until then its sites, and
		// the info series their alert joins, stay whatever the retention.
		watched := len(c.Probes) > 0
		if !watched && c.ClearedAt.Before(keepSince) {
			continue
		}
		t := metrics.Tracked{Cancellation: c}
		if watched {
			t.Sites = sites(c, src.cfg.Reach.Grace)
		}
		dropProbes(&t)
		s.Tracked = append(s.Tracked, t)
	}
	slices.SortFunc(s.Tracked[n:], byID)
	return s, nil
}

// dropProbes leaves the raw probes in the store: the snapshot's readers use
// Sites. (List never reads the probe history at all.)
func dropProbes(t *metrics.Tracked) { t.Probes = nil }

// sites keeps the latest probe per domain and scheme. A site counts as
// reachable only on a probe made after the grace following approval: a
// website served before then, or known only from an older probe, proves no
// violation.
func sites(c cancellation.Cancellation, grace time.Duration) []metrics.Site {
	if len(c.Probes) == 0 {
		return nil
	}
	type key struct{ domain, scheme string }
	latest := make(map[key]cancellation.Probe, len(c.Probes))
	for _, p := range c.Probes {
		k := key{p.Domain, p.Scheme}
		if q, ok := latest[k]; !ok || p.At.After(q.At) {
			latest[k] = p
		}
	}
	graceEnd := c.ApprovedAt.Add(grace)
	out := make([]metrics.Site, 0, len(latest))
	for _, p := range latest {
		out = append(out, metrics.Site{
			Probe:     p,
			Reachable: p.Result == prober.Served && !c.ApprovedAt.IsZero() && p.At.After(graceEnd),
		})
	}
	slices.SortFunc(out, func(a, b metrics.Site) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Scheme, b.Scheme))
	})
	return out
}
