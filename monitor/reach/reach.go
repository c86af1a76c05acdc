// Package reach is the reachability job: after approval the website must
// become inaccessible, so it probes every domain of approved and cleared
// cancellations and records what answered.
//
// Clearing does not end the watch: the MIIT record usually disappears within
// a day of approval, before reach.grace ends, and a site served once its
// filing is gone is the very breach icpmon exists to catch. A cleared
// cancellation stays watched until reach.watch_after_clear has passed since
// the later of its clearing and the last probe that found one of its websites
// served (WatchedUntil), so a site that keeps answering keeps paging. When the
// watch ends the job drops the cancellation's latest probes (its history keeps
// them): the snapshot exports the sites of a cleared cancellation only while
// it has latest probes, so the job alone decides what is watched.
package reach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/store"
)

// Store is what the job needs of the store.
type Store interface {
	List(ctx context.Context, f store.Filter) ([]cancellation.Cancellation, error)
	Update(ctx context.Context, id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error)
}

// Options configure the job.
type Options struct {
	Store  Store
	Prober *prober.Prober
	// WatchAfterClear is reach.watch_after_clear: how long a cleared
	// cancellation's websites stay watched after its clearing and after the
	// last probe that found one of them served.
	WatchAfterClear time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
}

// Job is the reach job.
type Job struct{ o Options }

// New returns the reach job.
func New(o Options) *Job {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Job{o: o}
}

const actor = "job:reach"

// HistoryPerTarget bounds the probes kept per domain and scheme.
const HistoryPerTarget = 12

// Name names the job in metrics and logs.
func (j *Job) Name() string { return "reach" }

// Run ends the watches that are over, then probes every watched target once.
func (j *Job) Run(ctx context.Context) error {
	watched, over, err := j.watched(ctx)
	if err != nil {
		return err
	}
	failed := j.endWatches(ctx, over)
	var targets []prober.Target
	owner := map[prober.Target][]string{} // a domain may belong to several cancellations
	for _, c := range watched {
		for _, d := range c.Domains {
			for _, scheme := range []string{"http", "https"} {
				t := prober.Target{Domain: d, Scheme: scheme}
				if _, seen := owner[t]; !seen {
					targets = append(targets, t)
				}
				owner[t] = append(owner[t], c.ID)
			}
		}
	}
	if len(targets) == 0 {
		return failures(failed)
	}
	byID := map[string][]cancellation.Probe{}
	for _, p := range j.o.Prober.ProbeAll(ctx, targets) {
		if p.Result == "" {
			continue // cut short by shutdown: proved nothing
		}
		t := prober.Target{Domain: p.Domain, Scheme: p.Scheme}
		for _, id := range owner[t] {
			byID[id] = append(byID[id], p)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probes interrupted: %w", err)
	}
	for _, c := range watched {
		probes := byID[c.ID]
		if len(probes) == 0 {
			continue
		}
		_, err := j.o.Store.Update(ctx, c.ID, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
			return Record(c, probes), nil
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			j.o.Logger.Info("cancellation removed while its sites were probed; probes dropped", "id", c.ID)
		case err != nil:
			failed++
			j.o.Logger.Error("record probes", "id", c.ID, "err", err)
		}
	}
	return failures(failed)
}

func failures(n int) error {
	if n > 0 {
		return fmt.Errorf("%d cancellations could not be updated", n)
	}
	return nil
}

// watched returns the approved cancellations and the cleared ones still
// watched, and apart the cleared ones whose watch is over but which still
// have latest probes. It reads the whole documents: the probe history holds
// the last time each site was served.
func (j *Job) watched(ctx context.Context) (watched, over []cancellation.Cancellation, err error) {
	list, err := j.o.Store.List(ctx, store.Filter{Statuses: []cancellation.Status{cancellation.Approved, cancellation.Cleared}})
	if err != nil {
		return nil, nil, fmt.Errorf("load approved and cleared cancellations: %w", err)
	}
	now := j.o.Now()
	for _, c := range list {
		switch {
		case Watched(c, j.o.WatchAfterClear, now):
			watched = append(watched, c)
		case len(c.Probes) > 0:
			over = append(over, c)
		}
	}
	return watched, over, nil
}

// endWatches drops the latest probes of cancellations whose watch is over,
// so that their sites leave the metrics, and returns how many writes failed.
func (j *Job) endWatches(ctx context.Context, over []cancellation.Cancellation) (failed int) {
	now := j.o.Now()
	for _, c := range over {
		if ctx.Err() != nil {
			return failed // shutting down: the next run ends them
		}
		ended := false
		_, err := j.o.Store.Update(ctx, c.ID, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
			if ended = len(c.Probes) > 0 && c.Status == cancellation.Cleared && !Watched(*c, j.o.WatchAfterClear, now); !ended {
				return cancellation.Event{}, nil // changed meanwhile
			}
			return EndWatch(c, j.o.WatchAfterClear, now), nil
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			failed++
			j.o.Logger.Error("end the watch of a cleared cancellation", "id", c.ID, "err", err)
		case ended:
			j.o.Logger.Info("the watch of a cleared cancellation's websites ended", "id", c.ID, "cleared", c.ClearedAt)
		}
	}
	return failed
}

// Watched reports whether c's websites are probed at now: always once
// approved, and once cleared until WatchedUntil.
func Watched(c cancellation.Cancellation, watchAfterClear time.Duration, now time.Time) bool {
	switch c.Status {
	case cancellation.Approved:
		return true
	case cancellation.Cleared:
		return now.Before(WatchedUntil(c, watchAfterClear))
	}
	return false
}

// WatchedUntil is when the watch of a cleared cancellation's websites ends:
// watchAfterClear after its clearing or after the last probe that found one
// of its websites served, whichever is later. A site still served keeps its
// cancellation watched, however long ago the filing was cleared.
func WatchedUntil(c cancellation.Cancellation, watchAfterClear time.Duration) time.Time {
	from := c.ClearedAt
	if served := LastServed(c); served.After(from) {
		from = served
	}
	return from.Add(watchAfterClear)
}

// LastServed is the time of the last probe, kept or latest, that found one of
// c's websites served; zero if none did. appendHistory never drops it.
func LastServed(c cancellation.Cancellation) time.Time {
	var last time.Time
	for _, probes := range [][]cancellation.Probe{c.Probes, c.ProbeHistory} {
		for _, p := range probes {
			if p.Result == prober.Served && p.At.After(last) {
				last = p.At
			}
		}
	}
	return last
}

// EndWatch drops c's latest probes, which ends the export of its sites (its
// history keeps them), and returns the event that says why.
func EndWatch(c *cancellation.Cancellation, watchAfterClear time.Duration, now time.Time) cancellation.Event {
	c.Probes = nil
	served := "no website served since approval"
	if at := LastServed(*c); !at.IsZero() {
		served = "a website last served " + chinaTime(at)
	}
	return cancellation.Event{At: now, Action: "probe", Detail: fmt.Sprintf(
		"watch ended: cleared %s, %s, reach.watch_after_clear %s", chinaTime(c.ClearedAt), served, watchAfterClear)}
}

func chinaTime(t time.Time) string { return t.In(calendar.China).Format("2006-01-02 15:04 MST") }

// Record stores probes as c's latest per target, adds them to its bounded
// history, and returns an event when a target's result changed.
func Record(c *cancellation.Cancellation, probes []cancellation.Probe) cancellation.Event {
	var changes []string
	for _, p := range probes {
		i := slices.IndexFunc(c.Probes, func(q cancellation.Probe) bool { return q.Domain == p.Domain && q.Scheme == p.Scheme })
		switch {
		case i < 0:
			c.Probes = append(c.Probes, p)
			changes = append(changes, fmt.Sprintf("%s://%s %s", p.Scheme, p.Domain, p.Result))
		default:
			if c.Probes[i].Result != p.Result {
				changes = append(changes, fmt.Sprintf("%s://%s %s → %s", p.Scheme, p.Domain, c.Probes[i].Result, p.Result))
			}
			c.Probes[i] = p
		}
		c.ProbeHistory = appendHistory(c.ProbeHistory, p)
	}
	if len(changes) == 0 {
		return cancellation.Event{}
	}
	at := probes[0].At
	return cancellation.Event{At: at, Action: "probe", Detail: strings.Join(changes, "; ")}
}

// appendHistory adds p and trims the probes of its target to HistoryPerTarget,
// dropping answers before failures: a run of timeouts or resets is what
// someone investigating wants to see, long after the site answered again.
// The probe just taken and the target's last "served" always stay: the
// latter is when the site was last served, which extends the watch of a
// cleared cancellation (WatchedUntil).
func appendHistory(h []cancellation.Probe, p cancellation.Probe) []cancellation.Probe {
	h = append(h, p)
	same := func(q cancellation.Probe) bool { return q.Domain == p.Domain && q.Scheme == p.Scheme }
	n, lastServed := 0, -1
	for i, q := range h {
		if same(q) {
			n++
			if q.Result == prober.Served {
				lastServed = i
			}
		}
	}
	for ; n > HistoryPerTarget; n-- {
		droppable := func(failures bool) func(int, cancellation.Probe) bool {
			return func(i int, q cancellation.Probe) bool {
				return same(q) && i != len(h)-1 && i != lastServed && (failures || !failure(q))
			}
		}
		victim := indexFunc(h, droppable(false))
		if victim < 0 {
			victim = indexFunc(h, droppable(true))
		}
		h = slices.Delete(h, victim, victim+1)
		if lastServed > victim {
			lastServed--
		}
	}
	return h
}

// indexFunc is slices.IndexFunc with the index passed along.
func indexFunc(h []cancellation.Probe, f func(int, cancellation.Probe) bool) int {
	for i, q := range h {
		if f(i, q) {
			return i
		}
	}
	return -1
}

// failure reports whether a probe got no answer at all from anyone.
func failure(p cancellation.Probe) bool {
	return p.Result != prober.Served && p.Result != prober.ProviderBlock
}
