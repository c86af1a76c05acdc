// Package store keeps tracked cancellations in Redis: one JSON document per
// cancellation, indexes by status and kind, an index of the licences under
// active review, an append-only history per cancellation, and its probe
// history apart from its document, so that reading many never pays for it.
//
// Every key lives under one hash tag, "{prefix}:", so that the Lua scripts
// that write several keys at once stay legal on Redis Cluster (one slot holds
// everything; 100,000 cancellations fit in it easily):
//
//	{p}:c:<id>               the cancellation, JSON
//	{p}:h:<id>               its history, one JSON event per line; kept after removal
//	{p}:ph:<id>              its probe history, a JSON array; removed with the cancellation
//	{p}:i:<status>:<kind>    set of IDs
//	{p}:licences             hash: licence key -> ID, for pending and approved ones only
//	{p}:identity             the store's Identity, JSON, written at first use
//	{p}:identity:acknowledged when a daemon's reload last adopted the store
//	{p}:changes:seq          number of the last change notice
//	{p}:changes              stream of change notices: seq, and the IDs written
//	                         ("ids", newline-separated) or "resync"; trimmed to
//	                         about ChangeStreamCap notices
//
// The licence key is cancellation.LicenceKey, which folds the province
// aliases (云 to 滇, 贵 to 黔, 川 to 蜀, 甘 to 陇), so that one filing typed
// both ways is one licence. Versions before the folding wrote the number as
// typed; the scripts also look for that spelling and move it to the key.
//
// Writes go through Lua scripts that compare the stored Version with the one
// the writer read, so a write is never half-applied and a racing writer
// never loses an update: it reads again and retries. The same script
// leaves a change notice for every write that takes effect, so that a daemon
// can keep its view and read again only what changed (ChangeCursor, Changes).
//
// Documents written before the probe history had a key of its own carry it
// as "probe_history": Get and UpdateWithProbeHistory read it from there, and
// the next write of the document moves it to the key.
package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// ErrNotFound means no cancellation has the ID.
var ErrNotFound = errors.New("no such cancellation")

// RemovedError says a cancellation was tracked once and removed by an operator.
// It matches ErrNotFound.
type RemovedError struct {
	ID    string
	Event cancellation.Event // the removal
}

func (e *RemovedError) Error() string {
	return fmt.Sprintf("cancellation %s was removed on %s by %s", e.ID, e.Event.At.In(calendar.China).Format("2006-01-02 15:04 MST"), e.Event.Actor)
}

// Is makes a removed cancellation count as not found.
func (e *RemovedError) Is(target error) bool { return target == ErrNotFound }

// DuplicateError refuses a second cancellation with an ID already used, or a
// licence already under active review.
type DuplicateError struct {
	Field      string // "id" or "licence"
	Value      string
	ExistingID string // the cancellation that holds the licence
}

func (e *DuplicateError) Error() string {
	if e.Field == "licence" {
		return fmt.Sprintf("licence %s is already tracked by active cancellation %s", e.Value, e.ExistingID)
	}
	return fmt.Sprintf("ID %s is already in use (IDs of removed cancellations are kept with their history)", e.Value)
}

// ItemError places an error of AddMany at the index of the item that caused it.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index+1, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// ErrContention means writers kept racing on one cancellation for too long.
var ErrContention = errors.New("too many concurrent writers")

// Filter selects cancellations; an empty field selects everything.
type Filter struct {
	Statuses []cancellation.Status
	Kinds    []cancellation.Kind
}

// Store is the Redis store of cancellations.
type Store struct {
	rdb         redis.UniversalClient
	keys        keys
	now         func() time.Time
	put         *redis.Script
	addAll      *redis.Script
	acknowledge *redis.Script
	maxDomains  int
	changeCap   int
}

// Option changes a store's settings.
type Option func(*Store)

// MaxDomains sets how many domains one cancellation may list
// (track.max_domains); the default is cancellation.DefaultMaxDomains.
func MaxDomains(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxDomains = n
		}
	}
}

// ChangeStreamCap sets roughly how many change notices the stream keeps
// (Redis trims it by whole nodes of about 100); a follower further behind
// reloads everything. The default is 10,000.
func ChangeStreamCap(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.changeCap = n
		}
	}
}

// New returns a store keeping its keys under prefix.
func New(rdb redis.UniversalClient, prefix string, opts ...Option) *Store {
	s := &Store{
		rdb:         rdb,
		keys:        keys{p: "{" + prefix + "}:"},
		now:         time.Now,
		put:         redis.NewScript(putScript),
		addAll:      redis.NewScript(addManyScript),
		acknowledge: redis.NewScript(acknowledgeScript),
		maxDomains:  cancellation.DefaultMaxDomains,
		changeCap:   changeStreamCap,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

type keys struct{ p string }

func (k keys) blob(id string) string    { return k.p + "c:" + id }
func (k keys) history(id string) string { return k.p + "h:" + id }
func (k keys) probes(id string) string  { return k.p + "ph:" + id }
func (k keys) licences() string         { return k.p + "licences" }
func (k keys) index(s cancellation.Status, kind cancellation.Kind) string {
	return k.p + "i:" + string(s) + ":" + string(kind)
}

// indexes lists every status index in a fixed order; addmany.lua refers to them by position.
func (k keys) indexes() []string {
	var out []string
	for _, s := range cancellation.Statuses() {
		for _, kind := range cancellation.Kinds() {
			out = append(out, k.index(s, kind))
		}
	}
	return out
}

func indexPosition(s cancellation.Status, kind cancellation.Kind) int {
	return slices.Index(cancellation.Statuses(), s)*len(cancellation.Kinds()) + slices.Index(cancellation.Kinds(), kind)
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Get returns one cancellation with its probe history. A removed one gives
// a *RemovedError, an unknown ID ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (cancellation.Cancellation, error) {
	r, err := s.get(ctx, id, true)
	return r.c, err
}

// stored is a cancellation as read, with what a write needs to know of it.
type stored struct {
	c   cancellation.Cancellation
	raw []byte // the document
	// probes is the probe history key's value, nil when it has none or was not read.
	probes []byte
	// legacy: the document still carries its probe history (c.ProbeHistory).
	legacy bool
}

// get reads the cancellation, and its probe history when withProbes. A
// document that still carries the history wins over the key: only a version
// before the key writes it there, so it is the newer.
func (s *Store) get(ctx context.Context, id string, withProbes bool) (stored, error) {
	var doc, probes *redis.StringCmd
	var err error
	if withProbes {
		// One transaction: the document and its history from the same write.
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			doc, probes = p.Get(ctx, s.keys.blob(id)), p.Get(ctx, s.keys.probes(id))
			return nil
		})
	} else {
		doc = s.rdb.Get(ctx, s.keys.blob(id))
		err = doc.Err()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return stored{}, fmt.Errorf("read cancellation %s: %w", id, err)
	}
	b, err := doc.Bytes()
	if errors.Is(err, redis.Nil) {
		return stored{}, s.missing(ctx, id)
	}
	if err != nil {
		return stored{}, fmt.Errorf("read cancellation %s: %w", id, err)
	}
	r := stored{raw: b}
	if err := json.Unmarshal(b, &r.c); err != nil {
		return stored{}, fmt.Errorf("decode cancellation %s: %w", id, err)
	}
	r.legacy = r.c.ProbeHistory != nil
	if probes == nil {
		return r, nil
	}
	if r.probes, err = probes.Bytes(); err != nil && !errors.Is(err, redis.Nil) {
		return stored{}, fmt.Errorf("read probe history of %s: %w", id, err)
	}
	if r.probes != nil && !r.legacy {
		if err := json.Unmarshal(r.probes, &r.c.ProbeHistory); err != nil {
			return stored{}, fmt.Errorf("decode probe history of %s: %w", id, err)
		}
	}
	return r, nil
}

// missing explains why id has no document: removed, or never tracked.
func (s *Store) missing(ctx context.Context, id string) error {
	events, err := s.History(ctx, id)
	if err != nil {
		return err
	}
	if last := events[len(events)-1]; last.Action == cancellation.ActionRemove {
		return &RemovedError{ID: id, Event: last}
	}
	return fmt.Errorf("%w: %s", ErrNotFound, id)
}

// History returns the events of a cancellation, oldest first; it outlives removal.
func (s *Store) History(ctx context.Context, id string) ([]cancellation.Event, error) {
	b, err := s.rdb.Get(ctx, s.keys.history(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", id, err)
	}
	var events []cancellation.Event
	for line := range bytes.Lines(b) {
		var e cancellation.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("decode history of %s: %w", id, err)
		}
		events = append(events, e)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return events, nil
}

// List returns the cancellations the filter selects, ordered by submitted
// date then ID, without their probe history (Get has it). It costs two
// pipelined round trips however many there are.
func (s *Store) List(ctx context.Context, f Filter) ([]cancellation.Cancellation, error) {
	ids, err := s.IDs(ctx, f)
	if err != nil {
		return nil, err
	}
	all, _, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	// A cancellation may have moved between the two round trips.
	statuses, kinds := f.selected()
	out := all[:0]
	for _, c := range all {
		if slices.Contains(statuses, c.Status) && slices.Contains(kinds, c.Kind) {
			out = append(out, c)
		}
	}
	return sorted(out), nil
}

// IDs returns the IDs of the cancellations the filter selects, from the
// status indexes in one round trip; Load reads them, a batch at a time if
// need be. A cancellation may move between indexes in the meantime: check
// the status and kind of what Load returns.
func (s *Store) IDs(ctx context.Context, f Filter) ([]string, error) {
	statuses, kinds := f.selected()
	pipe := s.rdb.Pipeline()
	var ranges []*redis.StringSliceCmd
	for _, st := range statuses {
		for _, k := range kinds {
			ranges = append(ranges, pipe.SMembers(ctx, s.keys.index(st, k)))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read status indexes: %w", err)
	}
	var ids []string
	for _, r := range ranges {
		ids = append(ids, r.Val()...)
	}
	return ids, nil
}

// selected are the statuses and kinds f selects, every one for an empty field.
func (f Filter) selected() ([]cancellation.Status, []cancellation.Kind) {
	statuses, kinds := f.Statuses, f.Kinds
	if len(statuses) == 0 {
		statuses = cancellation.Statuses()
	}
	if len(kinds) == 0 {
		kinds = cancellation.Kinds()
	}
	return statuses, kinds
}

// sorted orders cs in place by submitted date then ID. It sorts positions
// rather than the cancellations themselves, which are large to swap, then
// moves each cancellation once, a cycle of the permutation at a time,
// without a second slice of them (45 MB at 100,000).
func sorted(cs []cancellation.Cancellation) []cancellation.Cancellation {
	order := make([]int32, len(cs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &cs[i], &cs[j]
		return cmp.Or(cmp.Compare(a.Submitted, b.Submitted), strings.Compare(a.ID, b.ID))
	})
	// Position i takes cs[order[i]]; a done position is marked -1.
	for start := range order {
		if order[start] < 0 {
			continue
		}
		first := cs[start]
		for i := start; ; {
			from := int(order[i])
			order[i] = -1
			if from == start {
				cs[i] = first
				break
			}
			cs[i] = cs[from]
			i = from
		}
	}
	return cs
}

// Active returns every pending and approved cancellation: what the jobs watch.
func (s *Store) Active(ctx context.Context) ([]cancellation.Cancellation, error) {
	return s.List(ctx, Filter{Statuses: []cancellation.Status{cancellation.Pending, cancellation.Approved}})
}

// mgetBatch bounds one MGET so that no single reply holds up Redis.
const mgetBatch = 1000

// load reads the documents of ids in one pipeline of MGETs, in the order of
// ids; gone lists the IDs without one (removed in the meantime).
func (s *Store) load(ctx context.Context, ids []string) (found []cancellation.Cancellation, gone []string, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	pipe := s.rdb.Pipeline()
	var gets []*redis.SliceCmd
	for start := 0; start < len(ids); start += mgetBatch {
		batch := ids[start:min(start+mgetBatch, len(ids))]
		keys := make([]string, len(batch))
		for i, id := range batch {
			keys[i] = s.keys.blob(id)
		}
		gets = append(gets, pipe.MGet(ctx, keys...))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("read cancellations: %w", err)
	}
	docs := make([]string, 0, len(ids))
	for b, g := range gets {
		for i, v := range g.Val() {
			if doc, ok := v.(string); ok {
				docs = append(docs, doc)
			} else {
				gone = append(gone, ids[b*mgetBatch+i])
			}
		}
	}
	out := make([]cancellation.Cancellation, len(docs))
	errs := make([]error, len(docs))
	parallel(len(docs), func(i int) {
		errs[i] = decodeCurrent([]byte(docs[i]), &out[i])
		docs[i] = "" // the replies are no longer referenced elsewhere: free each once decoded
	})
	for i, err := range errs {
		if err != nil {
			return nil, nil, fmt.Errorf("decode cancellation %s: %w", out[i].ID, err)
		}
	}
	return out, gone, nil
}

// decodeCurrent decodes a document but the probe history one written before
// it had a key of its own may carry, which the decoder only steps over: the
// outer field hides the embedded one of the same name.
func decodeCurrent(b []byte, c *cancellation.Cancellation) error {
	doc := struct {
		*cancellation.Cancellation
		ProbeHistory skipped `json:"probe_history"`
	}{Cancellation: c}
	return json.Unmarshal(b, &doc)
}

// skipped is a JSON value left undecoded.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// parallel calls fn for every index below n, spread over every core: JSON
// encoding and decoding is most of the client's work at 100,000 cancellations.
func parallel(n int, fn func(i int)) {
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk) {
		wg.Go(func() {
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}

// Counts returns how many cancellations there are of each kind and status,
// every pair present, from the index sizes in one round trip.
func (s *Store) Counts(ctx context.Context) (map[cancellation.Kind]map[cancellation.Status]int, error) {
	pipe := s.rdb.Pipeline()
	cards := map[cancellation.Kind]map[cancellation.Status]*redis.IntCmd{}
	for _, k := range cancellation.Kinds() {
		cards[k] = map[cancellation.Status]*redis.IntCmd{}
		for _, st := range cancellation.Statuses() {
			cards[k][st] = pipe.SCard(ctx, s.keys.index(st, k))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("count cancellations: %w", err)
	}
	out := map[cancellation.Kind]map[cancellation.Status]int{}
	for k, byStatus := range cards {
		out[k] = map[cancellation.Status]int{}
		for st, cmd := range byStatus {
			out[k][st] = int(cmd.Val())
		}
	}
	return out, nil
}
