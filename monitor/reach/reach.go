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
// them, and Cancellation.LastServedAt the last time one was served, which is
// all the watch needs of the history): the snapshot exports the sites of a
// cleared cancellation only while it has latest probes, so the job alone
// decides what is watched.
//
// A probe_error (this host failed: no descriptor left, say) proves nothing
// about the site, so it never replaces a definite probe as the latest: it is
// noted on it (Probe.LocalError), kept in the history and counted. The
// history is bounded per target and collapses repeats, and a flapping site
// logs its changes once, so neither a steady nor a flapping site grows a
// cancellation without bound.
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
	// UpdateWithProbeHistory is the store's Update, with the probe history
	// read for fn and written with the latest probes.
	UpdateWithProbeHistory(ctx context.Context, id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error)
}

// Options configure the job.
type Options struct {
	Store  Store
	Prober *prober.Prober
	// WatchAfterClear is reach.watch_after_clear: how long a cleared
	// cancellation's websites stay watched after its clearing and after the
	// last probe that found one of them served.
	WatchAfterClear time.Duration
	// Recorder counts probes that proved nothing; nil counts nothing.
	Recorder Recorder
	Now      func() time.Time
	Logger   *slog.Logger
}

// Recorder counts the probe errors of each run, by one of
// prober.ProbeErrorReasons; the metrics package's Probes implements it.
type Recorder interface {
	ObserveProbeError(reason string)
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

var actor = cancellation.JobActor("reach")

// probeOf records a prober's outcome as a cancellation's probe.
func probeOf(o prober.Outcome) cancellation.Probe {
	return cancellation.Probe{Domain: o.Domain, Scheme: o.Scheme, Result: probeResults[o.Result], StatusCode: o.StatusCode,
		Location: o.Location, Detail: o.Detail, At: o.At, Duration: o.Duration}
}

// probeResults names each of the prober's results as a cancellation's
// probe records it.
var probeResults = map[string]cancellation.ProbeResult{
	prober.Served: cancellation.ProbeServed, prober.ProviderBlock: cancellation.ProbeProviderBlock,
	prober.DNSError: cancellation.ProbeDNSError, prober.Refused: cancellation.ProbeRefused, prober.Reset: cancellation.ProbeReset,
	prober.TLSError: cancellation.ProbeTLSError, prober.Timeout: cancellation.ProbeTimeout,
	prober.HTTPError: cancellation.ProbeHTTPError, prober.ProbeError: cancellation.ProbeLocalError,
}

// HistoryPerTarget bounds the history entries kept per domain and scheme;
// each entry is a run of consecutive probes with the same outcome.
const HistoryPerTarget = 12

// stableRuns is how many probes in a row with one result make a site
// steady: a change between results held for fewer runs is flapping.
const stableRuns = 3

// Name names the job in metrics and logs.
func (j *Job) Name() string { return "reach" }

// Run ends the watches that are over, then probes every watched target once.
func (j *Job) Run(ctx context.Context) error {
	watched, over, err := j.watched(ctx)
	if err != nil {
		return err
	}
	failed, still := j.endWatches(ctx, over)
	watched = append(watched, still...)
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
	local := 0
	for _, m := range j.o.Prober.MeasureAll(ctx, targets) {
		p := probeOf(m.Probe)
		if p.Result == cancellation.ProbeLocalError {
			if j.o.Recorder != nil {
				j.o.Recorder.ObserveProbeError(m.Reason)
			}
			if m.Reason == prober.ReasonCancelled {
				continue // cut short by shutdown
			}
			if local++; local == 1 {
				j.o.Logger.Warn("a probe failed on this host, not at the site: recorded as probe_error, proving nothing",
					"domain", p.Domain, "scheme", p.Scheme, "reason", m.Reason, "detail", p.Detail)
			}
		}
		t := prober.Target{Domain: p.Domain, Scheme: p.Scheme}
		for _, id := range owner[t] {
			byID[id] = append(byID[id], p)
		}
	}
	if local > 1 {
		j.o.Logger.Warn("probes failed on this host this run", "probe_errors", local)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probes interrupted: %w", err)
	}
	for _, c := range watched {
		probes := byID[c.ID]
		if len(probes) == 0 {
			continue
		}
		_, err := j.o.Store.UpdateWithProbeHistory(ctx, c.ID, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
			return AddProbes(c, probes), nil
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
// have latest probes. The list has no probe history: LastServedAt stands for it.
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
// so that their sites leave the metrics, and returns how many writes failed
// and those found watched after all.
func (j *Job) endWatches(ctx context.Context, over []cancellation.Cancellation) (failed int, still []cancellation.Cancellation) {
	now := j.o.Now()
	for _, c := range over {
		if ctx.Err() != nil {
			return failed, still // shutting down: the next run ends them
		}
		ended := false
		after, err := j.o.Store.UpdateWithProbeHistory(ctx, c.ID, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
			// A document from before LastServedAt has the time only in its
			// history, which the list leaves out: this write moves it.
			c.LastServedAt = LastServed(*c)
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
		case Watched(after, j.o.WatchAfterClear, now):
			still = append(still, after)
		}
	}
	return failed, still
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
// c's websites served; zero if none did. AddProbes and EndWatch keep it in
// c.LastServedAt, which it starts from, so a c without its ProbeHistory
// gives the same time.
func LastServed(c cancellation.Cancellation) time.Time {
	last := c.LastServedAt
	for _, probes := range [][]cancellation.Probe{c.Probes, c.ProbeHistory} {
		for _, p := range probes {
			if p.Result == cancellation.ProbeServed && lastAt(p).After(last) {
				last = lastAt(p)
			}
		}
	}
	return last
}

// EndWatch drops c's latest probes, which ends the export of its sites (its
// history keeps them), and returns the event that says why.
func EndWatch(c *cancellation.Cancellation, watchAfterClear time.Duration, now time.Time) cancellation.Event {
	c.LastServedAt = LastServed(*c)
	c.Probes = nil
	served := "no website served since approval"
	if at := LastServed(*c); !at.IsZero() {
		served = "a website last served " + chinaTime(at)
	}
	return cancellation.Event{At: now, Action: "probe", Detail: fmt.Sprintf(
		"watch ended: cleared %s, %s, reach.watch_after_clear %s", chinaTime(c.ClearedAt), served, watchAfterClear)}
}

func chinaTime(t time.Time) string { return t.In(calendar.China).Format("2006-01-02 15:04 MST") }

// lastAt is when the last probe of a history entry was made.
func lastAt(p cancellation.Probe) time.Time {
	if p.LastAt.After(p.At) {
		return p.LastAt
	}
	return p.At
}

// AddProbes stores probes as c's latest per target, adds them to its bounded
// history, and returns an event when a target's result changed. A
// probe_error proves nothing: it is noted on the latest definite probe of
// its target, which stands, and is the latest only while nothing definite
// is known. A flapping target's changes are logged when it starts flapping
// and when it settles, not at every flip.
func AddProbes(c *cancellation.Cancellation, probes []cancellation.Probe) cancellation.Event {
	var changes []string
	for _, p := range probes {
		target := fmt.Sprintf("%s://%s", p.Scheme, p.Domain)
		i := slices.IndexFunc(c.Probes, func(q cancellation.Probe) bool { return q.Domain == p.Domain && q.Scheme == p.Scheme })
		before := runs(c.ProbeHistory, p)
		c.ProbeHistory = appendHistory(c.ProbeHistory, p)
		switch {
		case p.Result == cancellation.ProbeLocalError && i >= 0 && c.Probes[i].Result != cancellation.ProbeLocalError:
			c.Probes[i].LocalError, c.Probes[i].LocalErrorAt = p.Detail, p.At
		case p.Result == cancellation.ProbeLocalError && i >= 0:
			c.Probes[i] = p
		case p.Result == cancellation.ProbeLocalError:
			c.Probes = append(c.Probes, p)
		case i < 0 || c.Probes[i].Result == cancellation.ProbeLocalError:
			c.Probes = appendOrSet(c.Probes, i, p)
			changes = append(changes, fmt.Sprintf("%s %s", target, p.Result))
		case c.Probes[i].Result != p.Result:
			if change := changeNote(before); change != "-" {
				changes = append(changes, fmt.Sprintf("%s %s → %s%s", target, c.Probes[i].Result, p.Result, change))
			}
			c.Probes[i] = p
		default:
			c.Probes[i] = p
			if settled(runs(c.ProbeHistory, p)) {
				changes = append(changes, fmt.Sprintf("%s settled on %s after flapping", target, p.Result))
			}
		}
	}
	c.LastServedAt = LastServed(*c)
	if len(changes) == 0 {
		return cancellation.Event{}
	}
	at := probes[0].At
	return cancellation.Event{At: at, Action: "probe", Detail: strings.Join(changes, "; ")}
}

func appendOrSet(ps []cancellation.Probe, i int, p cancellation.Probe) []cancellation.Probe {
	if i < 0 {
		return append(ps, p)
	}
	ps[i] = p
	return ps
}

// run is consecutive definite probes of one target with one result.
type run struct {
	result cancellation.ProbeResult
	count  int
}

// runs are the runs of p's target in history h, oldest first; probe errors
// are left out: they prove nothing, so they neither break nor make a run.
func runs(h []cancellation.Probe, p cancellation.Probe) []run {
	var out []run
	for _, q := range h {
		if q.Domain != p.Domain || q.Scheme != p.Scheme || q.Result == cancellation.ProbeLocalError {
			continue
		}
		if n := len(out); n > 0 && out[n-1].result == q.Result {
			out[n-1].count += max(q.Count, 1)
			continue
		}
		out = append(out, run{q.Result, max(q.Count, 1)})
	}
	return out
}

// changeNote says how a change that ends the last of before is logged: ""
// plainly, a note when the target starts flapping (its last two results
// were each held for fewer than stableRuns probes), "-" not at all while it
// goes on flapping.
func changeNote(before []run) string {
	n := len(before)
	switch {
	case n < 2 || before[n-1].count >= stableRuns || before[n-2].count >= stableRuns:
		return ""
	case n == 2 || before[n-3].count >= stableRuns:
		return fmt.Sprintf(" (flapping: further changes are logged once a result holds for %d probes)", stableRuns)
	}
	return "-"
}

// settled reports whether the last run just reached stableRuns after a
// change that changeNote left out of the log.
func settled(after []run) bool {
	n := len(after)
	return n >= 3 && after[n-1].count == stableRuns && after[n-2].count < stableRuns && after[n-3].count < stableRuns
}

// sameOutcome reports whether two probes of a target collapse into one
// history entry.
func sameOutcome(a, b cancellation.Probe) bool {
	return a.Result == b.Result && a.StatusCode == b.StatusCode && a.Location == b.Location
}

// appendHistory adds p to h, into its target's newest entry when p repeats
// its outcome (Count, LastAt), and trims the target to HistoryPerTarget
// entries: probe errors go first, then answers before failures (a run of
// timeouts or resets is what someone investigating wants to see, long after
// the site answered again), oldest first. Kept always: the target's newest
// entry, enough of its last four runs to tell whether each held for
// stableRuns probes (how Record tells flapping), and
// its last "served", which is when the site was last served and extends the
// watch of a cleared cancellation (WatchedUntil).
func appendHistory(h []cancellation.Probe, p cancellation.Probe) []cancellation.Probe {
	same := func(q cancellation.Probe) bool { return q.Domain == p.Domain && q.Scheme == p.Scheme }
	newest := -1
	for i, q := range h {
		if same(q) {
			newest = i
		}
	}
	if newest >= 0 && sameOutcome(h[newest], p) {
		e := &h[newest]
		e.Count, e.LastAt = max(e.Count, 1)+1, p.At
		e.Detail, e.Duration = p.Detail, p.Duration
		return h
	}
	p.Count, p.LastAt = 1, p.At
	h = append(h, p)
	for {
		var mine []int
		for i, q := range h {
			if same(q) {
				mine = append(mine, i)
			}
		}
		if len(mine) <= HistoryPerTarget {
			return h
		}
		kept := keptEntries(h, mine)
		victim := -1
		for _, pass := range []func(cancellation.Probe) bool{
			func(q cancellation.Probe) bool { return q.Result == cancellation.ProbeLocalError },
			func(q cancellation.Probe) bool { return !failure(q) },
			func(cancellation.Probe) bool { return true },
		} {
			for _, i := range mine {
				if !kept[i] && pass(h[i]) {
					victim = i
					break
				}
			}
			if victim >= 0 {
				break
			}
		}
		if victim < 0 {
			victim = mine[0] // everything is kept: the oldest goes all the same
		}
		h = slices.Delete(h, victim, victim+1)
	}
}

// keptEntries marks, among a target's entries mine (indexes into h, oldest
// first), those appendHistory never drops.
func keptEntries(h []cancellation.Probe, mine []int) map[int]bool {
	kept := map[int]bool{mine[len(mine)-1]: true}
	lastServed, results, held := -1, 0, 0
	var result cancellation.ProbeResult
	for k := len(mine) - 1; k >= 0; k-- {
		q := h[mine[k]]
		if q.Result == cancellation.ProbeLocalError {
			continue
		}
		if q.Result != result {
			result, results, held = q.Result, results+1, 0
		}
		// Four runs: the third from last must not merge with an older one
		// of its result when the run between them is trimmed.
		if results <= 4 && held < stableRuns {
			kept[mine[k]] = true
		}
		held += max(q.Count, 1)
		if lastServed < 0 && q.Result == cancellation.ProbeServed {
			lastServed = mine[k]
		}
	}
	if lastServed >= 0 {
		kept[lastServed] = true
	}
	return kept
}

// failure reports whether a probe got no answer at all from anyone.
func failure(p cancellation.Probe) bool {
	return p.Result != cancellation.ProbeServed && p.Result != cancellation.ProbeProviderBlock
}
