package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ErrNoIdentity means the store carries no identity: it was never used, or
// it was emptied (FLUSHDB, a Redis restarted without persistence).
var ErrNoIdentity = errors.New("the store has no identity")

// Identity names one store. It is written once, at first use, and never
// changes: a store emptied or replaced under a running daemon shows as a
// missing or different identity rather than as nothing tracked.
type Identity struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Acknowledged is when a daemon's reload last adopted this store, the
	// operator's acknowledgement that it is the right one; zero before.
	Acknowledged time.Time `json:"-"`
}

// The identity and its acknowledgement live under the store's hash tag, so
// that one MGET reads both on Cluster too, and a FLUSHDB takes both away.
func (k keys) identity() string     { return k.p + "identity" }
func (k keys) acknowledged() string { return k.p + "identity:acknowledged" }

// Identity reads the store's identity; ErrNoIdentity when there is none.
func (s *Store) Identity(ctx context.Context) (Identity, error) {
	vals, err := s.rdb.MGet(ctx, s.keys.identity(), s.keys.acknowledged()).Result()
	if err != nil {
		return Identity{}, fmt.Errorf("read store identity: %w", err)
	}
	doc, ok := vals[0].(string)
	if !ok {
		return Identity{}, ErrNoIdentity
	}
	var id Identity
	if err := json.Unmarshal([]byte(doc), &id); err != nil {
		return Identity{}, fmt.Errorf("decode store identity: %w", err)
	}
	if ack, ok := vals[1].(string); ok {
		if id.Acknowledged, err = time.Parse(time.RFC3339Nano, ack); err != nil {
			return Identity{}, fmt.Errorf("decode store acknowledgement: %w", err)
		}
	}
	return id, nil
}

// EnsureIdentity gives the store an identity if it has none (SET NX: of
// several writers starting at once, one wins) and returns the one it has.
func (s *Store) EnsureIdentity(ctx context.Context) (Identity, error) {
	// A FLUSHDB between the write and the read empties it again: try anew.
	for range 3 {
		doc, err := json.Marshal(Identity{ID: uuid.NewString(), Created: s.now().UTC()})
		if err != nil {
			return Identity{}, fmt.Errorf("encode store identity: %w", err)
		}
		if err := s.rdb.SetNX(ctx, s.keys.identity(), doc, 0).Err(); err != nil {
			return Identity{}, fmt.Errorf("write store identity: %w", err)
		}
		id, err := s.Identity(ctx)
		if !errors.Is(err, ErrNoIdentity) {
			return id, err
		}
	}
	return Identity{}, fmt.Errorf("store identity vanished as it was written: %w", ErrNoIdentity)
}

// Acknowledge records that an operator adopted the store whose identity is
// id, now, and returns the identity with it. It fails with ErrNoIdentity
// when the store's identity is not id any more, so that an acknowledgement
// never lands on a store nobody looked at.
func (s *Store) Acknowledge(ctx context.Context, id string) (Identity, error) {
	at := s.now().UTC()
	ok, err := s.acknowledge.Run(ctx, s.rdb, []string{s.keys.identity(), s.keys.acknowledged()},
		id, at.Format(time.RFC3339Nano)).Bool()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Identity{}, fmt.Errorf("acknowledge store %s: %w", id, err)
	}
	if !ok {
		return Identity{}, fmt.Errorf("acknowledge store %s: %w", id, ErrNoIdentity)
	}
	return s.Identity(ctx)
}

// acknowledgeScript writes the acknowledgement only while KEYS[1] still holds
// the identity ARGV[1].
const acknowledgeScript = `
local doc = redis.call('GET', KEYS[1])
if not doc or cjson.decode(doc).id ~= ARGV[1] then return false end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`
