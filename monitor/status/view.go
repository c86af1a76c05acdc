package status

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// Count keys Snapshot.Counts.
type Count struct {
	Kind   cancellation.Kind
	Status cancellation.Status
}

// CountsOf turns the store's counts by kind and status into Snapshot.Counts.
func CountsOf(byKind map[cancellation.Kind]map[cancellation.Status]int) map[Count]int {
	out := make(map[Count]int, len(cancellation.Kinds())*len(cancellation.Statuses()))
	for k, byStatus := range byKind {
		for st, n := range byStatus {
			out[Count{k, st}] = n
		}
	}
	return out
}

// Snapshot is the view at one moment. It is immutable: scrapes and the
// status page read it concurrently without locks.
type Snapshot struct {
	// Taken is when the view was last known to be the store's.
	Taken time.Time
	// Counts is how many cancellations the store holds, by kind and status,
	// over all of them, not only the shown ones.
	Counts map[Count]int
	// Tracked are the active cancellations, then the cleared ones still
	// shown (Rules.Shown); each group sorted by ID.
	Tracked []*Standing
}

// View is where every shown cancellation stands, kept by the daemon: loaded
// whole, then told only what changed. It is safe for concurrent use.
type View struct {
	mu     sync.Mutex
	rules  Rules
	byID   map[string]*Standing
	counts map[Count]int
	day    calendar.Date
	// cleared are the IDs of the cleared standings: the retention drops
	// them, and there are few.
	cleared map[string]struct{}
	// order is the last snapshot's Tracked; membershipChanged says it no
	// longer holds the same IDs, changed that some standing was replaced.
	order             []*Standing
	changed           bool
	membershipChanged bool
	// stateChanged says some standing shows something new (SameState);
	// changed alone, only probe times moved.
	stateChanged bool
	last         *Snapshot
	// loaded: nothing is shown before the first Load, not even counts of 0.
	loaded bool
}

// NewView returns an empty view computed with r.
func NewView(r Rules) *View {
	return &View{rules: r, byID: map[string]*Standing{}, cleared: map[string]struct{}{}, counts: map[Count]int{}}
}

// Len is how many cancellations the view shows.
func (v *View) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.byID)
}

// Load replaces the whole view with cs, every cancellation the store has
// that may be shown, and the store's counts.
func (v *View) Load(cs []cancellation.Cancellation, counts map[Count]int, now time.Time) {
	r := v.Reload(now)
	r.Add(cs)
	r.Done(counts)
}

// Reload loads the view whole again, a batch at a time, so that a full
// load never holds every document at once: the view goes on showing what
// it did until Done swaps the new one in. A cancellation whose document has
// the version the view holds keeps its standing: a resync of an unchanged
// store changes nothing and publishes nothing.
func (v *View) Reload(now time.Time) *Reload {
	return &Reload{v: v, now: now, day: calendar.DateOf(now), byID: map[string]*Standing{}, cleared: map[string]struct{}{}}
}

// Reload is a full load under way.
type Reload struct {
	v        *View
	now      time.Time
	day      calendar.Date
	byID     map[string]*Standing
	cleared  map[string]struct{}
	kept     int // standings kept as they were
	familiar int // IDs the view held before
}

// Add takes the next documents.
func (r *Reload) Add(cs []cancellation.Cancellation) {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	old, rules, day := r.v.byID, r.v.rules, r.v.day
	for i := range cs {
		c := &cs[i]
		if !rules.Shown(c, r.now) {
			continue
		}
		s, had := old[c.ID]
		if had {
			r.familiar++
		}
		if had && s.Version == c.Version && s.Day == r.day && day == r.day {
			r.kept++
		} else {
			s = rules.Of(*c, r.now)
		}
		r.byID[s.ID] = s
		if s.Status == cancellation.Cleared {
			r.cleared[s.ID] = struct{}{}
		}
	}
}

// Done makes what was added the view, with the store's counts.
func (r *Reload) Done(counts map[Count]int) {
	v := r.v
	v.mu.Lock()
	defer v.mu.Unlock()
	same := v.loaded && r.familiar == len(v.byID) && len(r.byID) == len(v.byID)
	if !same || r.kept != len(r.byID) {
		v.byID, v.cleared = r.byID, r.cleared
		v.changed, v.membershipChanged, v.stateChanged = true, true, true
	}
	v.day = r.day
	if counts == nil {
		counts = map[Count]int{}
	}
	if !maps.Equal(counts, v.counts) {
		v.counts = counts
		v.changed, v.stateChanged = true, true
	}
	v.loaded = true
}

// Apply takes the documents that changed, the IDs that have none any more,
// and the store's counts after them. Only those standings are recomputed.
func (v *View) Apply(changed []cancellation.Cancellation, gone []string, counts map[Count]int, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.advance(now)
	for i := range changed {
		v.put(&changed[i], now)
	}
	for _, id := range gone {
		v.drop(id)
	}
	if counts != nil && !maps.Equal(counts, v.counts) {
		v.counts = counts
		v.changed, v.stateChanged = true, true
	}
}

// put computes c's standing, or drops it when c is not shown.
func (v *View) put(c *cancellation.Cancellation, now time.Time) {
	if !v.rules.Shown(c, now) {
		v.drop(c.ID)
		return
	}
	s := v.rules.Of(*c, now)
	if old, had := v.byID[s.ID]; !had {
		v.membershipChanged, v.stateChanged = true, true
	} else {
		if old.Status != s.Status {
			v.membershipChanged = true // it may move between the active and cleared groups
		}
		v.stateChanged = v.stateChanged || !s.SameState(old)
	}
	v.byID[s.ID] = s
	if s.Status == cancellation.Cleared {
		v.cleared[s.ID] = struct{}{}
	} else {
		delete(v.cleared, s.ID)
	}
	v.changed = true
}

func (v *View) drop(id string) {
	if _, ok := v.byID[id]; !ok {
		return
	}
	delete(v.byID, id)
	delete(v.cleared, id)
	v.changed, v.membershipChanged, v.stateChanged = true, true, true
}

// Advance brings the view to now: on a new China date every pending review
// is measured again (business days, overdue); cleared cancellations past
// their retention leave. Between midnights it costs a look at the cleared
// ones, nothing more.
func (v *View) Advance(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.advance(now)
}

func (v *View) advance(now time.Time) {
	if today := calendar.DateOf(now); today != v.day {
		v.day = today
		for id, s := range v.byID {
			if s.Status == cancellation.Pending {
				v.byID[id] = v.rules.Of(s.document(), now)
				v.changed, v.stateChanged = true, true
			}
		}
	}
	for id := range v.cleared {
		if c := v.byID[id].document(); !v.rules.Shown(&c, now) {
			v.drop(id)
		}
	}
}

// SetRules recomputes every standing under r (a reload changed the limits,
// the calendar, the grace or the retention).
func (v *View) SetRules(r Rules, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rules = r
	v.day = calendar.DateOf(now)
	for id, s := range v.byID {
		c := s.document()
		if !r.Shown(&c, now) {
			v.drop(id)
			continue
		}
		v.byID[id] = r.Of(c, now)
	}
	v.changed, v.stateChanged = true, true
}

// document gives back the cancellation s was computed from, as far as a
// standing keeps it: its latest probes from Sites. Rules.Of and Rules.Shown
// take it again when the day or the rules change.
func (s *Standing) document() cancellation.Cancellation {
	c := s.Cancellation
	if len(s.Sites) > 0 {
		c.Probes = make([]cancellation.Probe, len(s.Sites))
		for i, site := range s.Sites {
			c.Probes[i] = site.Probe
		}
	}
	return c
}

// Pending reports a change not yet in a snapshot.
func (v *View) Pending() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

// Snapshot returns the view as it stands, taken at taken, and what changed
// since the previous snapshot, which it returns when nothing did: Changed
// for anything, State for more than probe times (Standing.SameState). nil
// before the first Load.
func (v *View) Snapshot(taken time.Time) (*Snapshot, Change) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.loaded || !v.changed {
		return v.last, Change{}
	}
	var order []*Standing
	if v.membershipChanged || v.order == nil {
		order = make([]*Standing, 0, len(v.byID))
		for _, s := range v.byID {
			order = append(order, s)
		}
		slices.SortFunc(order, byGroupThenID)
	} else {
		// The same IDs: the previous order with each standing as it is now.
		order = make([]*Standing, len(v.order))
		for i, s := range v.order {
			order[i] = v.byID[s.ID]
		}
	}
	change := Change{Changed: true, State: v.stateChanged}
	v.order, v.changed, v.membershipChanged, v.stateChanged = order, false, false, false
	v.last = &Snapshot{Taken: taken, Counts: v.counts, Tracked: order}
	return v.last, change
}

// Change is what changed between two snapshots.
type Change struct {
	Changed bool // anything
	State   bool // more than probe times
}

// byGroupThenID orders the active cancellations before the cleared ones,
// each group by ID.
func byGroupThenID(a, b *Standing) int {
	group := func(s *Standing) int {
		if s.Status == cancellation.Cleared {
			return 1
		}
		return 0
	}
	return cmp.Or(cmp.Compare(group(a), group(b)), strings.Compare(a.ID, b.ID))
}
