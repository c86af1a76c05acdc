package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
)

var (
	//go:embed put.lua
	putScript string
	//go:embed addmany.lua
	addManyScript string
)

// Retry bounds for a compare-and-set that lost a race.
const (
	maxAttempts = 500
	maxBackoff  = 50 * time.Millisecond
	// idAttempts is how often a random ID that happened to be taken is drawn again.
	idAttempts = 3
)

// write is one run of put.lua.
type write struct {
	id           string
	expected     int64  // version read; 0 creates
	blob         []byte // nil removes
	leave, enter string // status index keys
	held, holds  string // active licence key before and after ("" when not active)
	event        []byte // history line, or nil
	probes       []byte // probe history, JSON, or nil to leave it
}

// run runs a script by its digest and loads it only when Redis lacks it:
// go-redis's Script.Run would send a whole import's arguments a second time.
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	cmd := script.EvalSha(ctx, s.rdb, keys, args...)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		if err := script.Load(ctx, s.rdb).Err(); err != nil {
			return cmd
		}
		cmd = script.EvalSha(ctx, s.rdb, keys, args...)
	}
	return cmd
}

// apply runs put.lua and returns its verdict and, for a duplicate licence, its holder.
func (s *Store) apply(ctx context.Context, w write) (string, string, error) {
	res, err := s.run(ctx, s.put,
		[]string{s.keys.blob(w.id), s.keys.history(w.id), s.keys.licences(), w.leave, w.enter, s.keys.probes(w.id),
			s.keys.changeSeq(), s.keys.changes()},
		w.id, w.expected, w.blob, w.held, w.holds, w.event, otherSpellings(w.held), otherSpellings(w.holds), w.probes,
		s.changeCap,
	).StringSlice()
	if err != nil {
		return "", "", fmt.Errorf("write cancellation %s: %w", w.id, err)
	}
	owner := ""
	if len(res) > 1 {
		owner = res[1]
	}
	return res[0], owner, nil
}

// activeLicence is the key c holds in the active-licence index, if any:
// folded, so that 云ICP备… and 滇ICP备… are one licence.
func activeLicence(c cancellation.Cancellation) string {
	if c.Status.Active() {
		return cancellation.LicenceKey(c.Licence)
	}
	return ""
}

// otherSpellings are the fields under which an index written before keys
// were folded may hold key: the number with the province's other prefix.
// Joined by newlines, which no licence contains, for the scripts.
func otherSpellings(key string) string {
	if key == "" {
		return ""
	}
	return strings.Join(cancellation.Spellings(key)[1:], "\n")
}

// historyLine is how an event is kept: with a random token that makes
// each write's line unique, so that put.lua can recognise a write of its own
// that the client sent twice.
type historyLine struct {
	cancellation.Event
	Write string `json:"write"`
}

func eventLine(e cancellation.Event) ([]byte, error) {
	b, err := json.Marshal(historyLine{Event: e, Write: strconv.FormatUint(rand.Uint64(), 36)}) // #nosec G404 -- a token that tells a write's own resend apart, not a secret
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return append(b, '\n'), nil
}

// encode returns c's document, which leaves out the probe history, and the
// probe history apart (nil when c has none).
func encode(c cancellation.Cancellation) (blob, probes []byte, err error) {
	if probes, err = encodeProbes(c); err != nil {
		return nil, nil, err
	}
	blob, err = encodeDocument(c)
	return blob, probes, err
}

// encodeProbes returns c's probe history, or nil when it has none.
func encodeProbes(c cancellation.Cancellation) ([]byte, error) {
	if c.ProbeHistory == nil {
		return nil, nil
	}
	b, err := json.Marshal(c.ProbeHistory)
	if err != nil {
		return nil, fmt.Errorf("encode probe history of %s: %w", c.ID, err)
	}
	return b, nil
}

// encodeDocument returns c's document, without its probe history.
func encodeDocument(c cancellation.Cancellation) ([]byte, error) {
	c.ProbeHistory = nil
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode cancellation %s: %w", c.ID, err)
	}
	return b, nil
}

// prepareNew completes a new cancellation (status, times, version) and
// checks it; it returns it ready to write.
func (s *Store) prepareNew(c *cancellation.Cancellation, actor string, now time.Time) (document, error) {
	if c.Status == "" {
		c.Status = cancellation.Pending
	}
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	if err := c.Validate(); err != nil {
		return document{}, err
	}
	if err := c.CheckLimits(s.maxDomains); err != nil {
		return document{}, err
	}
	var d document
	var err error
	if d.blob, d.probes, err = encode(*c); err != nil {
		return document{}, err
	}
	d.event, err = eventLine(cancellation.Event{
		At: now, Actor: actor, Action: cancellation.ActionAdd, To: c.Status,
		Detail: fmt.Sprintf("%s cancellation of %s, submitted %s", c.Kind, c.Licence, c.Submitted),
	})
	return d, err
}

// document is a new cancellation ready to write, with its probe history
// (nil for none) and the key it holds in the active-licence index ("" when
// not active).
type document struct {
	blob, event, probes []byte
	licence             string
}

// prepareAll runs prepareNew over cs on every core: validating and encoding
// is most of an import's time on the client. The error is the first item's.
func (s *Store) prepareAll(cs []cancellation.Cancellation, actor string, now time.Time) ([]document, error) {
	docs := make([]document, len(cs))
	errs := make([]error, len(cs))
	parallel(len(cs), func(i int) {
		docs[i], errs[i] = s.prepareNew(&cs[i], actor, now)
		docs[i].licence = activeLicence(cs[i]) // parses the licence: spread over the cores too
	})
	for i, err := range errs {
		if err != nil {
			return nil, &ItemError{Index: i, Err: err}
		}
	}
	return docs, nil
}

// Add starts tracking c and returns it as stored. An empty ID gets a random
// one. A licence already under active review, or an ID used before (even by
// a removed cancellation), is refused with a *DuplicateError.
func (s *Store) Add(ctx context.Context, c cancellation.Cancellation, actor string) (cancellation.Cancellation, error) {
	c = c.Clone()
	auto := c.ID == ""
	for attempt := 1; ; attempt++ {
		if auto {
			c.ID = cancellation.NewID()
		}
		d, err := s.prepareNew(&c, actor, s.now())
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		index := s.keys.index(c.Status, c.Kind)
		verdict, owner, err := s.apply(ctx, write{
			id: c.ID, blob: d.blob,
			leave: index, enter: index, holds: activeLicence(c), event: d.event, probes: d.probes,
		})
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		switch verdict {
		case "ok":
			return c, nil
		case "duplicate-licence":
			return cancellation.Cancellation{}, &DuplicateError{Field: "licence", Value: c.Licence, ExistingID: owner}
		case "duplicate-id":
			if auto && attempt < idAttempts {
				continue
			}
			return cancellation.Cancellation{}, &DuplicateError{Field: "id", Value: c.ID}
		default:
			return cancellation.Cancellation{}, fmt.Errorf("add cancellation %s: unexpected answer %q", c.ID, verdict)
		}
	}
}

// AddMany starts tracking every cancellation of cs, or none of them: all the
// checks of Add, and no ID or active licence repeated within cs, run before
// anything is written, in one Lua script and one round trip. It completes
// the elements of cs in place (ID, status, times, version). An error about
// one element is an *ItemError with its index.
//
// The script holds Redis for the whole batch (about a second per 100,000
// cancellations on a shared 2-core machine): the price of all-or-nothing.
// A client that sends it again after a timeout finds it done, not refused.
// The batch leaves one change notice: its IDs, or past 1,000 a resync.
func (s *Store) AddMany(ctx context.Context, cs []cancellation.Cancellation, actor string) error {
	if len(cs) == 0 {
		return nil
	}
	auto := make([]bool, len(cs))
	for i := range cs {
		auto[i] = cs[i].ID == ""
		if auto[i] {
			cs[i].ID = cancellation.NewID()
		}
	}
	now := s.now()
	docs, err := s.prepareAll(cs, actor, now)
	if err != nil {
		return err
	}
	// Load the script first, a round trip of a few bytes: on a Redis that
	// lacks it (restarted, flushed, a new replica) EVALSHA would be refused
	// only after the whole batch had been sent and parsed, and sent again.
	if err := s.addAll.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("add %d cancellations: load script: %w", len(cs), err)
	}
	indexes := s.keys.indexes()
	for attempt := 1; ; attempt++ {
		keys := make([]string, 0, 3+len(indexes)+3*len(cs))
		keys = append(keys, s.keys.licences())
		keys = append(keys, indexes...)
		keys = append(keys, s.keys.changeSeq(), s.keys.changes())
		args := make([]any, 0, 3+7*len(cs))
		args = append(args, len(indexes), len(cs), s.changeCap)
		for i := range cs {
			c := &cs[i]
			keys = append(keys, s.keys.blob(c.ID), s.keys.history(c.ID), s.keys.probes(c.ID))
			held := docs[i].licence
			args = append(args, c.ID, docs[i].blob, docs[i].event, held, indexPosition(c.Status, c.Kind)+1, otherSpellings(held), docs[i].probes)
		}
		res, err := s.run(ctx, s.addAll, keys, args...).Slice()
		if err != nil {
			return fmt.Errorf("add %d cancellations: %w", len(cs), err)
		}
		verdict, _ := res[0].(string)
		if verdict == "ok" {
			return nil
		}
		if len(res) < 2 {
			return fmt.Errorf("add %d cancellations: unexpected answer %v", len(cs), res)
		}
		pos, _ := res[1].(int64)
		i := int(pos) - 1
		if i < 0 || i >= len(cs) {
			return fmt.Errorf("add %d cancellations: unexpected answer %v", len(cs), res)
		}
		switch verdict {
		case "duplicate-id":
			if auto[i] && attempt < idAttempts {
				cs[i].ID = cancellation.NewID()
				d, err := s.prepareNew(&cs[i], actor, now)
				if err != nil {
					return &ItemError{Index: i, Err: err}
				}
				d.licence = docs[i].licence
				docs[i] = d
				continue
			}
			return &ItemError{Index: i, Err: &DuplicateError{Field: "id", Value: cs[i].ID}}
		case "duplicate-licence":
			owner := ""
			if len(res) > 2 {
				owner, _ = res[2].(string)
			}
			return &ItemError{Index: i, Err: &DuplicateError{Field: "licence", Value: cs[i].Licence, ExistingID: owner}}
		default:
			return fmt.Errorf("add %d cancellations: unexpected answer %v", len(cs), res)
		}
	}
}

// Update changes one cancellation by a read-modify-write that never loses a
// racing update: fn gets a copy of the stored cancellation, and if another
// writer got there first, fn runs again on the newer one. An error from fn
// aborts with nothing written. The event fn returns goes into the history
// (the zero Event adds none, and a call that changes nothing writes
// nothing); a status change is recorded even when fn returns no event, and
// must be one the lifecycle allows.
//
// fn does not see the probe history (UpdateWithProbeHistory does), and a
// change it makes to it is not written; except for a history still in a
// document written before it had a key of its own, which this write moves
// there.
func (s *Store) Update(ctx context.Context, id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error) {
	return s.update(ctx, id, actor, false, fn)
}

// UpdateWithProbeHistory is Update with c.ProbeHistory read for fn and
// written with the document, in the same script: the reach job's write.
func (s *Store) UpdateWithProbeHistory(ctx context.Context, id, actor string, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error) {
	return s.update(ctx, id, actor, true, fn)
}

func (s *Store) update(ctx context.Context, id, actor string, withProbes bool, fn func(c *cancellation.Cancellation) (cancellation.Event, error)) (cancellation.Cancellation, error) {
	for attempt := 1; ; attempt++ {
		r, err := s.get(ctx, id, withProbes)
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		cur, raw := r.c, r.raw
		next := cur.Clone()
		ev, err := fn(&next)
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		if next.ID != cur.ID {
			return cancellation.Cancellation{}, fmt.Errorf("update %s: the ID cannot change (to %s)", id, next.ID)
		}
		next.CreatedAt, next.UpdatedAt, next.Version = cur.CreatedAt, cur.UpdatedAt, cur.Version
		if next.Status != cur.Status {
			if !cancellation.CanTransition(cur.Status, next.Status) {
				return cancellation.Cancellation{}, fmt.Errorf("cannot %s %s: it is %s", next.Status.Verb(), id, cur.Status)
			}
			if ev == (cancellation.Event{}) {
				ev.Action = next.Status.Verb()
			}
			ev.From, ev.To = cur.Status, next.Status
		}
		if err := next.Validate(); err != nil {
			return cancellation.Cancellation{}, err
		}
		// Only a change is held to the limits: a document stored before
		// them must stay writable by the jobs.
		if next.Note != cur.Note || !slices.Equal(next.Domains, cur.Domains) {
			if err := next.CheckLimits(s.maxDomains); err != nil {
				return cancellation.Cancellation{}, err
			}
		}
		probes, err := encodeProbes(next)
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		// The key is written when the history moves out of the document, or
		// when fn saw the key and changed it; nil leaves it.
		switch {
		case r.legacy && probes == nil, withProbes && !r.legacy && probes == nil && r.probes != nil:
			probes = []byte("[]") // emptied
		case r.legacy:
		case !withProbes, string(probes) == string(r.probes):
			probes = nil
		}
		if ev == (cancellation.Event{}) && probes == nil {
			same, err := encodeDocument(next)
			if err != nil {
				return cancellation.Cancellation{}, err
			}
			if string(same) == string(raw) {
				return cur, nil
			}
		}

		now := s.now()
		next.UpdatedAt, next.Version = now, cur.Version+1
		blob, err := encodeDocument(next)
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		var line []byte
		if ev != (cancellation.Event{}) {
			if ev.At.IsZero() {
				ev.At = now
			}
			if ev.Actor == "" {
				ev.Actor = actor
			}
			if line, err = eventLine(ev); err != nil {
				return cancellation.Cancellation{}, err
			}
		}
		verdict, owner, err := s.apply(ctx, write{
			id: id, expected: cur.Version, blob: blob,
			leave: s.keys.index(cur.Status, cur.Kind), enter: s.keys.index(next.Status, next.Kind),
			held: activeLicence(cur), holds: activeLicence(next), event: line, probes: probes,
		})
		if err != nil {
			return cancellation.Cancellation{}, err
		}
		switch verdict {
		case "ok":
			return next, nil
		case "conflict":
			if err := s.backoff(ctx, id, attempt); err != nil {
				return cancellation.Cancellation{}, err
			}
		case "duplicate-licence":
			return cancellation.Cancellation{}, &DuplicateError{Field: "licence", Value: next.Licence, ExistingID: owner}
		case "not-found", "removed":
			return cancellation.Cancellation{}, s.missing(ctx, id)
		default:
			return cancellation.Cancellation{}, fmt.Errorf("update %s: unexpected answer %q", id, verdict)
		}
	}
}

// Transition moves a cancellation to status to, effective at at, checking
// the lifecycle's rules (cancellation.Cancellation.Transition).
func (s *Store) Transition(ctx context.Context, id string, to cancellation.Status, at time.Time, actor, detail string) (cancellation.Cancellation, error) {
	return s.Update(ctx, id, actor, func(c *cancellation.Cancellation) (cancellation.Event, error) {
		return c.Transition(to, at, actor, detail)
	})
}

// Remove stops tracking a cancellation: it leaves every index, its probe
// history goes with its document, and its history, which records the
// removal, stays.
func (s *Store) Remove(ctx context.Context, id, actor string) error {
	for attempt := 1; ; attempt++ {
		r, err := s.get(ctx, id, false)
		if err != nil {
			return err
		}
		cur := r.c
		line, err := eventLine(cancellation.Event{
			At: s.now(), Actor: actor, Action: cancellation.ActionRemove, From: cur.Status,
			Detail: fmt.Sprintf("%s cancellation of %s no longer tracked", cur.Kind, cur.Licence),
		})
		if err != nil {
			return err
		}
		index := s.keys.index(cur.Status, cur.Kind)
		verdict, _, err := s.apply(ctx, write{
			id: id, expected: cur.Version, leave: index, enter: index,
			held: activeLicence(cur), event: line,
		})
		if err != nil {
			return err
		}
		switch verdict {
		case "ok":
			return nil
		case "conflict":
			if err := s.backoff(ctx, id, attempt); err != nil {
				return err
			}
		case "not-found", "removed":
			return s.missing(ctx, id)
		default:
			return fmt.Errorf("remove %s: unexpected answer %q", id, verdict)
		}
	}
}

// backoff waits a random while, longer after each lost race, so that racing
// writers spread out instead of colliding again.
func (s *Store) backoff(ctx context.Context, id string, attempt int) error {
	if attempt >= maxAttempts {
		return fmt.Errorf("write %s: %w (gave up after %d attempts)", id, ErrContention, attempt)
	}
	limit := min(time.Duration(attempt)*time.Millisecond, maxBackoff)
	t := time.NewTimer(rand.N(limit) + time.Microsecond) // #nosec G404 -- backoff jitter, not a secret
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("write %s: %w", id, ctx.Err())
	case <-t.C:
		return nil
	}
}
