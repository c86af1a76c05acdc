package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/cancellation"
)

// changeStreamCap is how many change notices the stream keeps by default
// (ChangeStreamCap); a follower further behind reloads everything.
const changeStreamCap = 10000

func (k keys) changeSeq() string { return k.p + "changes:seq" }
func (k keys) changes() string   { return k.p + "changes" }

// Cursor is where a follower stands in the change stream: the last notice it has read.
type Cursor struct {
	StreamID string // last stream entry read ("0-0" for none)
	Seq      int64  // its sequence number (0 for none)
	// Epoch is the run ID of the Redis server that holds the stream: a
	// restart or a failover changes it, and may have lost writes that no
	// sequence number shows (a restore that ends exactly at Seq). "" skips
	// the check.
	Epoch string
}

// epochScript returns the run ID of the server holding KEYS[1]: a script,
// so that Redis Cluster routes it to the stream's node.
var epochScript = redis.NewScript(`return string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')`)

// epoch reads the run ID of the server that holds the change stream.
func (s *Store) epoch(ctx context.Context) (string, error) {
	id, err := s.run(ctx, epochScript, []string{s.keys.changes()}).Text()
	if err != nil {
		return "", fmt.Errorf("read the Redis run ID: %w", err)
	}
	return id, nil
}

// ErrChangesMissed means the follower cannot be sure it saw every change
// since its cursor: a notice was trimmed before it was read (a gap in the
// sequence), the sequence went backwards or vanished (a Redis restarted
// from an older snapshot, a FLUSHDB, a failover that lost writes), or a bulk
// import asked for a reload. The follower must reload everything, from a
// new ChangeCursor taken BEFORE the reload.
var ErrChangesMissed = errors.New("change notices missed: reload everything")

// ChangeCursor returns the cursor at the current end of the change stream,
// read atomically. A follower takes it before a full load and follows from
// it, so that a change made during the load is read again, never lost.
func (s *Store) ChangeCursor(ctx context.Context) (Cursor, error) {
	epoch, err := s.epoch(ctx)
	if err != nil {
		return Cursor{}, err
	}
	var seq *redis.StringCmd
	var last *redis.XMessageSliceCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		seq = p.Get(ctx, s.keys.changeSeq())
		last = p.XRevRangeN(ctx, s.keys.changes(), "+", "-", 1)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Cursor{}, fmt.Errorf("read change cursor: %w", err)
	}
	if err := last.Err(); err != nil {
		return Cursor{}, fmt.Errorf("read change stream: %w", err)
	}
	cur := Cursor{StreamID: "0-0", Epoch: epoch}
	if cur.Seq, err = seq.Int64(); err != nil && !errors.Is(err, redis.Nil) {
		return Cursor{}, fmt.Errorf("read change sequence: %w", err)
	}
	if msgs := last.Val(); len(msgs) > 0 {
		cur.StreamID = msgs[0].ID
	}
	return cur, nil
}

// Changes waits up to wait for notices after cur and returns the IDs they
// name (each once, in first-seen order; about limit notices a call, all
// when limit <= 0) and the cursor after them. When none come within wait it
// returns no IDs and cur; wait <= 0 does not wait. It returns
// ErrChangesMissed when the notices do not follow cur without a gap, when
// one asks for a resync or is malformed, and when the sequence no longer
// ends at cur. Other errors (Redis, the context) are wrapped as they are:
// the follower cannot know what it missed while Redis was unreachable.
func (s *Store) Changes(ctx context.Context, cur Cursor, wait time.Duration, limit int) ([]string, Cursor, error) {
	from := cmp.Or(cur.StreamID, "0-0") // the zero Cursor is a fresh store's
	args := &redis.XReadArgs{Streams: []string{s.keys.changes(), from}, Count: int64(limit), Block: -1}
	if wait > 0 {
		args.Block = max(wait, time.Millisecond) // BLOCK 0 would wait forever
	}
	streams, err := s.rdb.XRead(ctx, args).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, cur, fmt.Errorf("read change stream: %w", err)
	}
	var msgs []redis.XMessage
	if len(streams) > 0 {
		msgs = streams[0].Messages
	}
	// go-redis retries a read that a restart broke off: the server may have
	// changed under the same connection settings without an error.
	epoch, err := s.epoch(ctx)
	if err != nil {
		return nil, cur, err
	}
	if cur.Epoch != "" && epoch != cur.Epoch {
		return nil, cur, fmt.Errorf("%w: Redis restarted or failed over (run ID %s, was %s)", ErrChangesMissed, epoch, cur.Epoch)
	}
	if len(msgs) == 0 {
		// Nothing after cur: the sequence must still end there, read with
		// the stream in one transaction so that a write since XREAD returned
		// is read now rather than taken for a gap.
		if msgs, err = s.settle(ctx, from, cur.Seq, limit); err != nil || len(msgs) == 0 {
			return nil, cur, err
		}
	}
	ids, next, err := follow(cur, msgs)
	next.Epoch = epoch
	return ids, next, err
}

// settle reads the notices after stream entry from and the sequence
// atomically. It returns the notices, if any, and ErrChangesMissed when
// there are none and the sequence does not end at seq.
func (s *Store) settle(ctx context.Context, from string, seq int64, limit int) ([]redis.XMessage, error) {
	var last *redis.StringCmd
	var after *redis.XMessageSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		last = p.Get(ctx, s.keys.changeSeq())
		if limit > 0 {
			after = p.XRangeN(ctx, s.keys.changes(), "("+from, "+", int64(limit))
		} else {
			after = p.XRange(ctx, s.keys.changes(), "("+from, "+")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read change stream: %w", err)
	}
	if err := after.Err(); err != nil {
		return nil, fmt.Errorf("read change stream: %w", err)
	}
	if msgs := after.Val(); len(msgs) > 0 {
		return msgs, nil
	}
	n, err := last.Int64()
	switch {
	case errors.Is(err, redis.Nil):
		if seq != 0 {
			return nil, fmt.Errorf("%w: the change sequence is gone (was %d)", ErrChangesMissed, seq)
		}
	case err != nil:
		return nil, fmt.Errorf("read change sequence: %w", err)
	case n != seq:
		return nil, fmt.Errorf("%w: the change sequence is at %d, the last notice read %d", ErrChangesMissed, n, seq)
	}
	return nil, nil
}

// follow checks that msgs continue cur without a gap and returns the IDs
// they name and the cursor after them.
func follow(cur Cursor, msgs []redis.XMessage) ([]string, Cursor, error) {
	var ids []string
	seen := map[string]bool{}
	next := cur
	for _, m := range msgs {
		raw, _ := m.Values["seq"].(string)
		seq, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, cur, fmt.Errorf("%w: notice %s has no sequence number", ErrChangesMissed, m.ID)
		}
		if seq != next.Seq+1 {
			return nil, cur, fmt.Errorf("%w: notice %s has number %d after %d", ErrChangesMissed, m.ID, seq, next.Seq)
		}
		if _, ok := m.Values["resync"]; ok {
			return nil, cur, fmt.Errorf("%w: notice %d asks for a reload", ErrChangesMissed, seq)
		}
		list, ok := m.Values["ids"].(string)
		if !ok || list == "" {
			return nil, cur, fmt.Errorf("%w: notice %d names no cancellation", ErrChangesMissed, seq)
		}
		for id := range strings.SplitSeq(list, "\n") {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		next = Cursor{StreamID: m.ID, Seq: seq}
	}
	return ids, next, nil
}

// Load returns the current documents of ids, in their order and without
// their probe history (like List), and the IDs among them that have no
// document any more: removed.
func (s *Store) Load(ctx context.Context, ids []string) (found []cancellation.Cancellation, gone []string, err error) {
	return s.load(ctx, ids)
}
