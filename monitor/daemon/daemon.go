// Package daemon is `icpmon serve`: it runs the jobs on their schedules,
// follows the store's changes into the view that /metrics and the status
// page serve (live.go), and reloads its configuration when asked through
// Options.Reloads (main sends SIGHUP there) or POST /-/reload. Redis being down never stops it: the jobs fail and retry at
// their next tick, the follower retries, and the last view keeps being
// served.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
)

// Options configure Run. The zero value of each field is usable.
type Options struct {
	// ConfigFile is the YAML configuration; empty means the defaults.
	ConfigFile string
	// RedisURL, when set, wins over the file's redis section.
	RedisURL string
	// Web holds the exporter-toolkit flags. Listen addresses given there win
	// over web.listen_address; WebConfigFile turns on TLS and basic auth for
	// every endpoint.
	Web    web.FlagConfig
	Logger *slog.Logger // nil discards
	// Now is the clock of the view and the metrics' timestamps.
	Now func() time.Time
	// ShutdownTimeout bounds how long running jobs may finish after Run's
	// context is cancelled, and again how long HTTP requests may drain.
	ShutdownTimeout time.Duration
	// PingInterval is the period of the background Redis health check.
	PingInterval time.Duration
	// ReloadTimeout bounds how long a reload may build its configuration
	// before it is given up as failed.
	ReloadTimeout time.Duration
	// ResyncInterval is how often the whole store is read again although
	// no change notice was missed: a safety net.
	ResyncInterval time.Duration
	// FollowWait bounds how long a read of the store's change notices
	// blocks when none comes (DefaultFollowWait).
	FollowWait time.Duration
	// Reloads asks for a reload with every value (main sends one per
	// SIGHUP: signals stay with main). Requests made during a reload
	// collapse into one more. nil: only POST /-/reload reloads.
	Reloads <-chan struct{}

	// MaxConnections caps the web server's open connections; it is lowered
	// further to half the descriptor limit, the other half kept for the jobs.
	MaxConnections int
	// ReadHeaderTimeout bounds reading a request's headers, IdleTimeout how
	// long a keep-alive connection may wait for its next request.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
}

// Defaults for unset Options.
const (
	DefaultShutdownTimeout = 30 * time.Second
	DefaultPingInterval    = 5 * time.Second
)

// daemon is one running `icpmon serve`.
type daemon struct {
	o       Options
	log     *slog.Logger
	metrics *metrics.Set
	expo    metrics.Exposition
	sched   *scheduler
	redis   redisHealth

	gen atomic.Pointer[generation] // the configuration in force
	// reloadTurn holds a token while a reload runs: one at a time.
	reloadTurn chan struct{}
	// stuckBuilds counts reload builds given up on and still blocked.
	stuckBuilds atomic.Int32
	// stopping is closed when the shutdown begins; reloads stop waiting.
	stopping <-chan struct{}
	// live follows the store into the view that is served.
	live *live
	// held is the store the view comes from; only the follower touches it.
	held heldStore
	// storeLost says, for the status page and the review job, why the held
	// store is lost; nil while it is not.
	storeLost atomic.Pointer[string]
	// acknowledge asks the follower to adopt the store as it is now: a
	// reload is the operator's acknowledgement of a lost store.
	acknowledge atomic.Bool
}

// Run serves until ctx is cancelled, then stops scheduling, lets running jobs
// finish within the shutdown timeout and drains HTTP. It returns an error
// only when it cannot start (a bad configuration, a busy port) or the HTTP
// server fails; never because Redis is down.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.ReloadTimeout <= 0 {
		o.ReloadTimeout = DefaultReloadTimeout
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	if o.FollowWait <= 0 {
		o.FollowWait = DefaultFollowWait
	}
	// life ends when the shutdown begins, whatever begins it.
	life, endLife := context.WithCancel(ctx)
	defer endLife()
	d := &daemon{o: o, log: o.Logger, metrics: metrics.NewSet(), reloadTurn: make(chan struct{}, 1), stopping: life.Done(), live: newLive()}
	d.redis.window = 3 * o.PingInterval

	g, err := d.build(nil)
	if err != nil {
		return err
	}
	d.install(g)
	d.live.wait = o.FollowWait
	defer func() {
		// Take the last turn for good: no reload swaps a generation in
		// after this drop. Reloads give up their turns once stopping.
		d.reloadTurn <- struct{}{}
		d.gen.Load().conn.drop()
	}()
	d.log.Info("configuration loaded", "file", o.ConfigFile, "redis", g.conn.describe, "key_prefix", g.cfg.Redis.KeyPrefix)

	flags, err := webFlags(o.Web, g.cfg)
	if err != nil {
		return err
	}
	server := d.newServer()
	listeners, err := d.listen(flags)
	if err != nil {
		return err
	}
	// Jobs get their own context: a shutdown lets them finish, and only
	// cancels them once the timeout has run out.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	d.sched = newScheduler(jobCtx, d.log, d.metrics.Jobs, d.o.Now)
	// Redis checked and jobs scheduled before serving: the first scrape
	// already has icpmon_redis_up and the job intervals.
	d.ping(ctx)
	d.sched.apply(g.jobs)

	served := make(chan error, 1)
	go func() { served <- web.ServeMultiple(listeners, server, flags, d.log) }()

	var loops sync.WaitGroup
	loops.Go(func() { d.pingLoop(life) })
	loops.Go(func() { d.followLoop(life) })
	// Reloads run off the main loop: a reload that blocks must not keep the
	// shutdown from being seen.
	loops.Go(func() { d.reloadLoop(life, o.Reloads) })

	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-served:
		serveErr = fmt.Errorf("web server: %w", err)
	}
	d.log.Info("shutting down", "timeout", o.ShutdownTimeout)
	endLife()
	loops.Wait()
	if !d.sched.stop(o.ShutdownTimeout) {
		d.log.Warn("jobs still running after the shutdown timeout; cancelling them")
		cancelJobs()
		d.sched.stop(o.ShutdownTimeout)
	}
	drainCtx, cancelDrain := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	defer cancelDrain()
	if err := server.Shutdown(drainCtx); err != nil {
		d.log.Warn("HTTP connections did not drain", "err", err)
	}
	if serveErr == nil {
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("web server: %w", err)
		}
	}
	return serveErr
}

// webFlags completes the exporter-toolkit flags: the listen addresses of the
// command line, else web.listen_address; a web config file checked now, so
// that a mistake stops the start rather than the first request.
func webFlags(f web.FlagConfig, cfg *config.Config) (*web.FlagConfig, error) {
	if f.WebListenAddresses == nil || len(*f.WebListenAddresses) == 0 {
		f.WebListenAddresses = &[]string{cfg.Web.ListenAddress}
	}
	if f.WebConfigFile == nil {
		f.WebConfigFile = new(string)
	}
	if *f.WebConfigFile != "" {
		if err := web.Validate(*f.WebConfigFile); err != nil {
			return nil, fmt.Errorf("web config file %s: %w", *f.WebConfigFile, err)
		}
	}
	return &f, nil
}

// install makes g the configuration in force and updates the metrics that
// describe it.
func (d *daemon) install(g *generation) {
	d.gen.Store(g)
	d.metrics.ConfigLoaded(d.o.Now())
	d.metrics.SetCalendarCoveredUntil(g.cal.CoveredUntil())
	for _, p := range g.cfg.Query.ProviderList() {
		d.metrics.Query.Preset(p)
	}
}

// acquire returns the generation in force with its Redis connection held
// until release is called, so a reload never closes a client under a job.
func (d *daemon) acquire() (g *generation, release func()) {
	for {
		g := d.gen.Load()
		if g.conn.hold() {
			return g, g.conn.drop
		}
		// g was replaced and its connection closed in between: take the new one.
	}
}
