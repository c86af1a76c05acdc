package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisHealth remembers how the last Redis round trip went.
type redisHealth struct {
	window time.Duration // how recent a success must be for readiness

	mu     sync.Mutex
	up     bool
	lastOK time.Time // monotonic clock: readiness is about real elapsed time
	lastEr error
}

func (h *redisHealth) record(ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up = ok
	if ok {
		h.lastOK, h.lastEr = time.Now(), nil
	} else {
		h.lastEr = err
	}
}

// ready reports whether Redis answered within the window, and why not.
func (h *redisHealth) ready() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.lastOK.IsZero() && h.lastEr == nil:
		return false, "Redis not checked yet"
	case !h.up:
		return false, "Redis unreachable: " + h.lastEr.Error()
	case time.Since(h.lastOK) > h.window:
		return false, "Redis not answered for " + time.Since(h.lastOK).Round(time.Second).String()
	}
	return true, ""
}

// ping checks Redis once and records the outcome.
func (d *daemon) ping(ctx context.Context) {
	g, release := d.acquire()
	defer release()
	ctx, cancel := context.WithTimeout(ctx, min(d.o.PingInterval, 2*time.Second))
	defer cancel()
	err := g.conn.store.Ping(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return // shutting down: that proves nothing about Redis
	}
	d.setRedis(err == nil, err)
}

func (d *daemon) pingLoop(ctx context.Context) {
	t := time.NewTicker(d.o.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.ping(ctx)
		}
	}
}

// redisOutcome records what a snapshot's reads say about Redis: success is
// a round trip; a failure counts only when it is one of the connection
// (a corrupt record is not Redis being down).
func (d *daemon) redisOutcome(err error) {
	switch {
	case err == nil:
		d.setRedis(true, nil)
	case connectionFailure(err):
		d.setRedis(false, err)
	}
}

func (d *daemon) setRedis(ok bool, err error) {
	was, _ := d.redis.ready()
	d.redis.record(ok, err)
	d.metrics.SetRedisUp(ok)
	if now, _ := d.redis.ready(); now != was {
		if ok {
			d.log.Info("Redis reachable")
		} else {
			d.log.Warn("Redis unreachable", "err", err)
		}
	}
}

// connectionFailure tells a failed round trip (network, timeout, closed
// connection) from an error that Redis or the decoding answered.
func connectionFailure(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, context.DeadlineExceeded)
}
