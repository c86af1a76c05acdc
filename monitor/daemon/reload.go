package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Bounds of a reload.
const (
	// DefaultReloadTimeout bounds the building of a new configuration:
	// reading its files and checking a new Redis connection.
	DefaultReloadTimeout = 30 * time.Second
	// maxStuckBuilds is how many abandoned builds may still be blocked (each
	// holds a thread in a read that cannot be interrupted) before reloads are
	// refused instead of adding more.
	maxStuckBuilds = 3
	// redisCheckTimeout bounds the round trip that proves a new Redis
	// connection works before it replaces the old one.
	redisCheckTimeout = 10 * time.Second
)

// errShuttingDown ends a reload that the shutdown overtook.
var errShuttingDown = errors.New("shutting down")

// buildFunc builds the next generation from the one in force. ctx ends when
// the reload gives up on it.
type buildFunc func(ctx context.Context, old *generation) (*generation, error)

// reload is the one reload path of Options.Reloads (SIGHUP) and POST /-/reload: the whole new
// configuration is built first and swapped in one step; on any error the old
// one keeps running.
func (d *daemon) reload() error { return d.reloadWith(d.prepare) }

// reloadWith runs one reload with build. Reloads take turns, but neither a
// turn nor the shutdown waits on a build longer than the reload timeout: a
// build stuck in a read (a FIFO, /dev/zero, a hung mount) is abandoned and
// its result thrown away whenever it comes.
func (d *daemon) reloadWith(build buildFunc) error {
	select {
	case d.reloadTurn <- struct{}{}:
	case <-d.stopping:
		return errShuttingDown
	}
	defer func() { <-d.reloadTurn }()
	select { // both may have been ready: the shutdown wins
	case <-d.stopping:
		return errShuttingDown
	default:
	}
	d.log.Info("reloading the configuration", "file", d.o.ConfigFile)
	g, err := d.buildBounded(build)
	if errors.Is(err, errShuttingDown) {
		return err
	}
	if err != nil {
		d.metrics.ConfigReloadFailed()
		d.log.Error("configuration reload failed; the previous configuration keeps running", "file", d.o.ConfigFile, "err", err)
		return err
	}
	old := d.gen.Load()
	if g.cfg.Web.ListenAddress != old.cfg.Web.ListenAddress {
		d.log.Warn("web.listen_address changed; it takes effect at the next restart", "listen_address", old.cfg.Web.ListenAddress)
	}
	d.install(g)
	// The follower adopts the store as it is and recomputes the view under
	// the new limits, grace and retention within a turn (Options.FollowWait).
	d.acknowledge.Store(true)
	d.sched.apply(g.jobs)
	if g.conn != old.conn {
		d.log.Info("Redis connection replaced", "redis", g.conn.describe)
	}
	old.conn.drop()
	d.log.Info("configuration reloaded", "file", d.o.ConfigFile)
	return nil
}

// buildBounded runs build in its own goroutine and waits for it at most the
// reload timeout, and not at all once the daemon is stopping.
func (d *daemon) buildBounded(build buildFunc) (*generation, error) {
	if n := d.stuckBuilds.Load(); n >= maxStuckBuilds {
		return nil, fmt.Errorf("%d earlier reloads are still blocked reading their files; not starting another", n)
	}
	type result struct {
		g   *generation
		err error
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result) // unbuffered: a send succeeds only while someone waits
	gaveUp := make(chan struct{})
	old := d.gen.Load()
	go func() {
		g, err := build(ctx, old)
		select {
		case done <- result{g, err}:
		case <-gaveUp:
			if g != nil {
				g.conn.drop()
			}
			d.stuckBuilds.Add(-1)
			d.log.Info("an abandoned configuration build has ended; its result is discarded", "file", d.o.ConfigFile, "err", err)
		}
	}()
	abandon := func() {
		d.stuckBuilds.Add(1)
		close(gaveUp)
	}
	t := time.NewTimer(d.o.ReloadTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.g, r.err
	case <-t.C:
		abandon()
		return nil, fmt.Errorf("building the configuration did not finish within %s; its files may block (a FIFO, a device, a hung mount)", d.o.ReloadTimeout)
	case <-d.stopping:
		abandon()
		return nil, errShuttingDown
	}
}

// prepare builds the next generation and, when it brings a new Redis
// connection, checks that the connection answers: a reload never trades a
// working Redis for one that refuses it (a wrong password, a wrong address).
func (d *daemon) prepare(ctx context.Context, old *generation) (*generation, error) {
	g, err := d.build(old)
	if err != nil {
		return nil, err
	}
	if g.conn == old.conn {
		return g, nil
	}
	ctx, cancel := context.WithTimeout(ctx, redisCheckTimeout)
	defer cancel()
	if err := g.conn.store.Ping(ctx); err != nil {
		g.conn.drop()
		return nil, fmt.Errorf("the new Redis settings (%s) do not work, keeping the connection in force: %w", g.conn.describe, err)
	}
	return g, nil
}

// reloadLoop reloads on each request until ctx ends.
func (d *daemon) reloadLoop(ctx context.Context, requests <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-requests:
			_ = d.reload() // logged and counted inside
		}
	}
}

// serveReload reloads the configuration, answering the error if it fails.
func (d *daemon) serveReload(w http.ResponseWriter, _ *http.Request) {
	// A reload may wait for the one before it and then for its own build:
	// this answer may take longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(2*d.o.ReloadTimeout + redisCheckTimeout))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	err := d.reload()
	switch {
	case errors.Is(err, errShuttingDown):
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not reloaded: shutting down")
	case err != nil:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "failed to reload config: %v\n", err)
	default:
		fmt.Fprintln(w, "Configuration reloaded.")
	}
}
