// Package reach is the reachability job: after approval the website must
// become inaccessible, so it probes every domain of approved (and recently
// cleared) cancellations and records what answered.
package reach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

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
	// ClearedRetention is how long after its clearing a cancellation's sites are still probed.
	ClearedRetention time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
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

// Run probes every target once.
func (j *Job) Run(ctx context.Context) error {
	watched, err := j.watched(ctx)
	if err != nil {
		return err
	}
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
		return nil
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
	var failed int
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
	if failed > 0 {
		return fmt.Errorf("%d cancellations could not be updated", failed)
	}
	return nil
}

// watched returns the approved cancellations and the recently cleared ones.
func (j *Job) watched(ctx context.Context) ([]cancellation.Cancellation, error) {
	list, err := j.o.Store.List(ctx, store.Filter{Statuses: []cancellation.Status{cancellation.Approved, cancellation.Cleared}})
	if err != nil {
		return nil, fmt.Errorf("load approved cancellations: %w", err)
	}
	since := j.o.Now().Add(-j.o.ClearedRetention)
	return slices.DeleteFunc(list, func(c cancellation.Cancellation) bool {
		return c.Status == cancellation.Cleared && c.ClearedAt.Before(since)
	}), nil
}

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
func appendHistory(h []cancellation.Probe, p cancellation.Probe) []cancellation.Probe {
	h = append(h, p)
	same := func(q cancellation.Probe) bool { return q.Domain == p.Domain && q.Scheme == p.Scheme }
	n := 0
	for _, q := range h {
		if same(q) {
			n++
		}
	}
	for ; n > HistoryPerTarget; n-- {
		older := h[:len(h)-1] // the probe just taken always stays
		victim := slices.IndexFunc(older, func(q cancellation.Probe) bool { return same(q) && !failure(q) })
		if victim < 0 {
			victim = slices.IndexFunc(h, same)
		}
		h = slices.Delete(h, victim, victim+1)
	}
	return h
}

// failure reports whether a probe got no answer at all from anyone.
func failure(p cancellation.Probe) bool {
	return p.Result != prober.Served && p.Result != prober.ProviderBlock
}
