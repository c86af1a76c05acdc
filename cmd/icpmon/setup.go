package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/store"
)

// loadConfig reads --config (the defaults when it is not given) and applies
// --redis-url, which kingpin has already taken from ICPMON_REDIS_URL when the
// flag is absent: flag over environment over file. A URL replaces the
// file's whole Redis topology (addrs, master_name, cluster).
func (c *cli) loadConfig() (*config.Config, error) {
	return config.LoadWithRedisURL(c.configFile, c.redisURL)
}

// calendar builds the business-day calendar: the embedded official
// schedules plus calendar.extra_files.
func (c *cli) calendar(cfg *config.Config) (*calendar.Calendar, error) {
	return calendar.Load(cfg.Calendar.ExtraFiles)
}

// configAndCalendar is loadConfig, then the calendar it configures.
func (c *cli) configAndCalendar() (*config.Config, *calendar.Calendar, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	cal, err := c.calendar(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, cal, nil
}

// storeTimeout bounds one Redis reply for the quick commands; an import runs
// one script for the whole file and gets longer.
const (
	storeTimeout  = 10 * time.Second
	importTimeout = 5 * time.Minute
)

// openStore connects to the configured Redis for a write, as
// openWritableStore does. The returned function closes the connection.
func (c *cli) openStore(ctx context.Context) (*store.Store, func(), error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	return openWritableStore(ctx, cfg, storeTimeout)
}

// openWritableStore is openStoreWith for a command that writes: the store
// gets its identity first if it has none, so that a store first filled by
// the CLI is one a daemon can tell from an emptied one.
func openWritableStore(ctx context.Context, cfg *config.Config, readTimeout time.Duration) (*store.Store, func(), error) {
	s, closeStore, err := openStoreWith(ctx, cfg, readTimeout)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.EnsureIdentity(ctx); err != nil {
		closeStore()
		return nil, nil, err
	}
	return s, closeStore, nil
}

func openStoreWith(ctx context.Context, cfg *config.Config, readTimeout time.Duration) (*store.Store, func(), error) {
	o, err := cfg.Redis.ClientOptions()
	if err != nil {
		return nil, nil, err
	}
	o.ReadTimeout, o.WriteTimeout = readTimeout, readTimeout
	rdb := redis.NewUniversalClient(o)
	s := store.New(rdb, cfg.Redis.KeyPrefix, store.MaxDomains(cfg.Track.MaxDomains))
	if err := s.Ping(ctx); err != nil {
		_ = rdb.Close()
		return nil, nil, fmt.Errorf("cannot reach Redis at %s: %w", strings.Join(o.Addrs, ", "), errors.Unwrap(err))
	}
	return s, func() { _ = rdb.Close() }, nil
}

// operator names the person at the keyboard for the history: operator:<OS user>.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return cancellation.OperatorActor(u.Username)
	}
	if name := os.Getenv("USER"); name != "" {
		return cancellation.OperatorActor(name)
	}
	return cancellation.OperatorActor(fmt.Sprintf("uid%d", os.Getuid()))
}
