package lease

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// term is one unbroken holding of the lease under one token. It ends when
// the lease is lost or given up, and is never resumed: a replica that gets
// the lease back starts a new term with a new token, so work begun in a
// lost term cannot carry on as if nothing had happened.
type term struct {
	token  string
	ctx    context.Context // cancelled, with the reason, when the term ends
	cancel context.CancelCauseFunc
	// expiry ends the term when the lease could have expired unrenewed; it
	// runs apart from the renewals, which a hung Redis can block.
	expiry *time.Timer

	// Guarded by Elector.mu.
	deadline time.Time // the lease's TTL from before the last confirmed renewal, less the margin
	lastErr  error     // the last failed renewal, for the cause of an expiry
	over     bool
}

// begin starts a term for token, whose lease was set by a command sent at
// sent, and its renewals.
func (e *Elector) begin(token string, sent time.Time) *term {
	ctx, cancel := context.WithCancelCause(context.Background())
	t := &term{token: token, ctx: ctx, cancel: cancel}
	e.mu.Lock()
	t.deadline = sent.Add(e.ttl - e.margin)
	t.expiry = time.AfterFunc(time.Until(t.deadline), func() { e.expire(t) })
	e.cur = t
	e.mu.Unlock()
	e.log.Debug("lease obtained", "ttl", e.ttl)
	go e.renew(t)
	return t
}

// renew restarts the lease's TTL every third of it while the term lasts. A
// failed renewal is retried at the next beat; the expiry timer ends the term
// if none succeeds in time.
func (e *Elector) renew(t *term) {
	beat := time.NewTicker(e.every)
	defer beat.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-beat.C:
		}
		sent := time.Now()
		ok, err := e.hold.Run(t.ctx, e.rdb, []string{e.key}, t.token, e.ttl.Milliseconds(), "0").Bool()
		switch {
		case t.ctx.Err() != nil:
			return
		case err != nil:
			e.mu.Lock()
			t.lastErr = err
			e.mu.Unlock()
			e.log.Warn("lease renewal failed; retrying", "err", err)
		case !ok:
			e.end(t, fmt.Errorf("%w: another replica holds it, or it expired", ErrLost))
			return
		default:
			e.extend(t, sent)
		}
	}
}

// extend moves the term's deadline after a confirmed renewal sent at sent.
func (e *Elector) extend(t *term, sent time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := sent.Add(e.ttl - e.margin)
	if t.over || !d.After(t.deadline) {
		return
	}
	t.deadline, t.lastErr = d, nil
	t.expiry.Reset(time.Until(d))
}

// expire ends the term when its deadline has passed unrenewed.
func (e *Elector) expire(t *term) {
	e.mu.Lock()
	moved := time.Now().Before(t.deadline) // a renewal won the race and re-armed the timer
	last := t.lastErr
	e.mu.Unlock()
	if moved {
		return
	}
	cause := fmt.Errorf("%w: not renewed before it could expire", ErrLost)
	if last != nil {
		cause = fmt.Errorf("%w: not renewed before it could expire: %w", ErrLost, last)
	}
	e.end(t, cause)
}

// end ends the term with cause, once; it reports whether this call did.
func (e *Elector) end(t *term, cause error) bool {
	e.mu.Lock()
	if t.over {
		e.mu.Unlock()
		return false
	}
	t.over = true
	if e.cur == t {
		e.cur = nil
	}
	e.mu.Unlock()
	t.expiry.Stop()
	if errors.Is(cause, ErrLost) {
		e.log.Warn("lease lost; its work is cancelled", "err", cause)
	}
	t.cancel(cause)
	return true
}
