// Package daemon is `icpmon serve`: it runs the jobs on their schedules,
// keeps the snapshot that /metrics and the status page serve, and reloads
// its configuration on SIGHUP or POST /-/reload. Redis being down never stops
// it: the jobs fail and retry at their next tick, and the last snapshot keeps
// being served.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
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
	// Now is the clock of the snapshot and the metrics' timestamps.
	Now func() time.Time
	// ShutdownTimeout bounds how long running jobs may finish after Run's
	// context is cancelled, and again how long HTTP requests may drain.
	ShutdownTimeout time.Duration
	// PingInterval is the period of the background Redis health check.
	PingInterval time.Duration
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

	gen      atomic.Pointer[generation] // the configuration in force
	reloadMu sync.Mutex                 // one reload at a time
	// snapshotMu serialises snapshots, so an older one never replaces a newer.
	snapshotMu sync.Mutex
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
	d := &daemon{o: o, log: o.Logger, metrics: metrics.NewSet()}
	d.redis.window = 3 * o.PingInterval

	g, err := d.build(nil)
	if err != nil {
		return err
	}
	d.install(g)
	defer func() { d.gen.Load().conn.drop() }()
	d.log.Info("configuration loaded", "file", o.ConfigFile, "redis", g.conn.describe, "key_prefix", g.cfg.Redis.KeyPrefix)

	flags, err := webFlags(o.Web, g.cfg)
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           d.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	// Jobs get their own context: a shutdown lets them finish, and only
	// cancels them once the timeout has run out.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	d.sched = newScheduler(jobCtx, d)
	// Redis checked and jobs scheduled before serving: the first scrape
	// already has icpmon_redis_up and the job intervals.
	d.ping(ctx)
	d.sched.apply(g.jobs)

	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(server, flags, d.log) }()

	pingCtx, stopPing := context.WithCancel(ctx)
	var pinging sync.WaitGroup
	pinging.Go(func() { d.pingLoop(pingCtx) })

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			_ = d.reload() // logged and counted inside
		case err := <-served:
			serveErr = fmt.Errorf("web server: %w", err)
			break loop
		}
	}
	d.log.Info("shutting down", "timeout", o.ShutdownTimeout)
	stopPing()
	pinging.Wait()
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

// reload is the one reload path of SIGHUP and POST /-/reload: the whole new
// configuration is built first and swapped in one step; on any error the old
// one keeps running.
func (d *daemon) reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	old := d.gen.Load()
	g, err := d.build(old)
	if err != nil {
		d.metrics.ConfigReloadFailed()
		d.log.Error("configuration reload failed; the previous configuration keeps running", "file", d.o.ConfigFile, "err", err)
		return err
	}
	if g.cfg.Web.ListenAddress != old.cfg.Web.ListenAddress {
		d.log.Warn("web.listen_address changed; it takes effect at the next restart", "listen_address", old.cfg.Web.ListenAddress)
	}
	d.install(g)
	d.sched.apply(g.jobs)
	// The review is a function of the configuration (limits, retention,
	// grace): show the new one at the next scrape, not the next tick.
	d.sched.runNow(reviewJobName)
	if g.conn != old.conn {
		d.log.Info("Redis connection replaced", "redis", g.conn.describe)
	}
	old.conn.drop()
	d.log.Info("configuration reloaded", "file", d.o.ConfigFile)
	return nil
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
