package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/assemble"
	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/store"
)

// generation is one loaded configuration with everything built from it.
// It is immutable; a reload builds a new one.
type generation struct {
	cfg  *config.Config
	cal  *calendar.Calendar
	conn *conn
	jobs []scheduledJob
}

// build loads the configuration and builds everything from it, reusing old's
// Redis connection when the Redis settings did not change. Nothing is
// started: a failure leaves no trace.
func (d *daemon) build(old *generation) (*generation, error) {
	cfg, err := config.Load(d.o.ConfigFile, d.o.RedisURL)
	if err != nil {
		return nil, err
	}
	parts, problems := assemble.Build(cfg, assemble.Options{Logger: d.log, Observer: d.metrics.Query})
	if len(problems) > 0 {
		return nil, problems
	}
	g := &generation{cfg: cfg, cal: parts.Calendar}
	fp, err := fingerprint(cfg.Redis, parts.Redis)
	if err != nil {
		return nil, err
	}
	if old != nil && old.conn.fingerprint == fp && old.conn.hold() {
		g.conn = old.conn
	} else {
		g.conn = newConn(parts.Redis, cfg.Redis.KeyPrefix, fp)
	}
	g.jobs, err = jobs(deps{
		cfg: cfg, parts: parts, store: g.conn.store, rdb: g.conn.client,
		probes: d.metrics.Probes, log: d.log, now: d.o.Now, tick: d.tick, ready: d.live.firstTurn,
	})
	if err != nil {
		g.conn.drop()
		return nil, err
	}
	for i := range g.jobs {
		g.jobs[i].conn = g.conn
	}
	return g, nil
}

// fingerprint identifies a Redis setup, secrets and CA included (hashed),
// so that a reload replaces the client only when something changed, a
// rotated password_file included.
func fingerprint(r config.Redis, o *redis.UniversalOptions) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%#v\x00%s\x00%s\x00", r, o.Username, o.Password)
	if r.TLS.CAFile != "" {
		ca, err := config.ReadCAFile(r.TLS.CAFile)
		if err != nil {
			return "", fmt.Errorf("redis.tls.ca_file: %w", err)
		}
		h.Write(ca)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// conn is a Redis client shared by the generations and job runs that hold
// it; the last one to drop it closes the client.
type conn struct {
	client      redis.UniversalClient
	store       *store.Store
	fingerprint string
	describe    string // addresses only: never a password

	mu     sync.Mutex
	refs   int
	closed bool
}

func newConn(o *redis.UniversalOptions, prefix, fp string) *conn {
	client, st := assemble.Connect(o, prefix)
	return &conn{
		client:      client,
		store:       st,
		fingerprint: fp,
		describe:    strings.Join(o.Addrs, ","),
		refs:        1,
	}
}

// hold takes a reference; false when the client is already closed.
func (c *conn) hold() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.refs++
	return true
}

// drop releases a reference and closes the client with the last one.
func (c *conn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs--
	if c.refs == 0 && !c.closed {
		c.closed = true
		_ = c.client.Close()
	}
}
