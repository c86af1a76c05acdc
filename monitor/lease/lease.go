package lease

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed hold.lua
	holdSource string
	//go:embed claim.lua
	claimSource string
	//go:embed release.lua
	releaseSource string
)

// ErrLost is the cause of a run's context being cancelled when the lease was
// lost under it; Run's error wraps it when the run then failed.
var ErrLost = errors.New("lease lost")

// errIdle ends a term that no Keep or Run wants any more.
var errIdle = errors.New("lease given up")

// MinTTL is the shortest TTL New accepts: renewals every third of it must
// still be whole milliseconds apart.
const MinTTL = 30 * time.Millisecond

// Elector is one replica's side of one job's lease. Its methods are safe for
// concurrent use.
type Elector struct {
	rdb    redis.UniversalClient
	key    string // the lease: the holder's token
	mark   string // "<latest tick claimed, Unix ms> <run nonce>"
	ttl    time.Duration
	every  time.Duration // renewals and retries
	margin time.Duration // stop this much before the lease could expire
	log    *slog.Logger

	hold, claim, release *redis.Script

	// obtaining lets one obtain at a time, so Keep and Run of one replica
	// never race each other with two tokens.
	obtaining sync.Mutex

	mu    sync.Mutex
	cur   *term // the lease as this replica holds it; nil when not held
	users int   // Keep and Run calls in progress
}

// Option configures an Elector.
type Option func(*Elector)

// WithLogger logs obtaining, losing and giving up the lease, and failed
// renewals. The default logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(e *Elector) { e.log = l.With("lease", e.key) }
}

// New returns the Elector of the lease key (the mark is key+":tick"; on
// Cluster, key needs a hash tag) with the given TTL. It panics when ttl is
// below MinTTL, as time.NewTicker does for a bad period.
func New(rdb redis.UniversalClient, key string, ttl time.Duration, opts ...Option) *Elector {
	if ttl < MinTTL {
		panic(fmt.Sprintf("lease: TTL %v below %v", ttl, MinTTL))
	}
	e := &Elector{
		rdb:     rdb,
		key:     key,
		mark:    key + ":tick",
		ttl:     ttl,
		every:   ttl / 3,
		margin:  ttl/100 + 2*time.Millisecond,
		log:     slog.New(slog.DiscardHandler),
		hold:    redis.NewScript(holdSource),
		claim:   redis.NewScript(claimSource),
		release: redis.NewScript(releaseSource),
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Held reports whether this replica holds the lease, as far as it knows: it
// turns false when a renewal finds another token, or once the lease could
// have expired unconfirmed.
func (e *Elector) Held() bool {
	return e.current() != nil
}

// Keep stands for the lease until ctx is done: it obtains the lease whenever
// it is free, and while held the lease is renewed every third of its TTL.
// Errors are logged and retried. When Keep returns, the lease is given up
// unless a Run still holds it (then that Run gives it up when it ends).
func (e *Elector) Keep(ctx context.Context) {
	e.join()
	defer e.leave(ctx)
	retry := time.NewTicker(e.every)
	defer retry.Stop()
	for {
		if err := e.obtain(ctx); err != nil && ctx.Err() == nil {
			e.log.Debug("lease not obtained", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
		}
	}
}

// Run runs fn for the tick scheduled at tick if this replica may: it holds
// the lease, or obtains it, and no replica has claimed this tick or a later
// one. ran is false with a nil error when another replica runs the tick or
// already did, or holds the lease and keeps renewing it without claiming the
// tick for a TTL (as a leader busy with its previous run does). fn's context
// is cancelled, with cause ErrLost, when the lease is lost; fn's error is
// returned as is, wrapped with the loss when there was one. A Redis error
// before fn starts is returned with ran false: whether the tick runs
// elsewhere is then unknown.
//
// Every replica must name a tick by the same instant (see the package doc).
func (e *Elector) Run(ctx context.Context, tick time.Time, fn func(ctx context.Context) error) (ran bool, err error) {
	e.join()
	defer e.leave(ctx)
	t, err := e.claimTick(ctx, tick)
	if t == nil || err != nil {
		return false, err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	defer stop()
	err = fn(runCtx)
	if lost := context.Cause(runCtx); err != nil && errors.Is(lost, ErrLost) && !errors.Is(err, ErrLost) {
		err = fmt.Errorf("%w: %w", lost, err)
	}
	return true, err
}

// claimTick waits until this replica may run the tick (the term to run it
// in), another has claimed it (nil), or the holder has neither claimed it nor
// let the lease go for a TTL (nil).
func (e *Elector) claimTick(ctx context.Context, tick time.Time) (*term, error) {
	at := strconv.FormatInt(tick.UnixMilli(), 10)
	nonce := rand.Text() // names this run, so a retried claim is recognised
	giveUp := time.Now().Add(e.ttl + e.every)
	for {
		t, res, err := e.tryClaim(ctx, at, nonce)
		switch {
		case err != nil:
			return nil, err
		case res == 1:
			return t, nil
		case res == 0:
			return nil, nil
		case t != nil:
			// The lease we thought ours is another's, or expired: start over.
			e.end(t, fmt.Errorf("%w: another replica holds it", ErrLost))
			continue
		case !time.Now().Before(giveUp):
			return nil, nil
		}
		wait := time.NewTimer(e.every)
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil, fmt.Errorf("wait for lease %s: %w", e.key, context.Cause(ctx))
		case <-wait.C:
		}
	}
}

// tryClaim runs the claim script once: with the token of the term held, or
// with a new token allowed to take a free lease. t is the term it used.
func (e *Elector) tryClaim(ctx context.Context, tick, nonce string) (t *term, res int, err error) {
	if t = e.current(); t != nil {
		sent := time.Now()
		res, err = e.claim.Run(ctx, e.rdb, []string{e.key, e.mark}, t.token, tick, nonce, e.ttl.Milliseconds(), "0").Int()
		if err != nil {
			return nil, 0, fmt.Errorf("claim tick %s of lease %s: %w", tick, e.key, err)
		}
		if res == 1 {
			e.extend(t, sent)
		}
		return t, res, nil
	}
	e.obtaining.Lock()
	if e.current() != nil { // Keep obtained it meanwhile
		e.obtaining.Unlock()
		return e.tryClaim(ctx, tick, nonce)
	}
	defer e.obtaining.Unlock()
	token := rand.Text()
	sent := time.Now()
	res, err = e.claim.Run(ctx, e.rdb, []string{e.key, e.mark}, token, tick, nonce, e.ttl.Milliseconds(), "1").Int()
	if err != nil {
		return nil, 0, fmt.Errorf("claim tick %s of lease %s: %w", tick, e.key, err)
	}
	if res != 1 {
		return nil, res, nil
	}
	return e.begin(token, sent), 1, nil
}

// obtain takes the lease if it is free and not already held here.
func (e *Elector) obtain(ctx context.Context) error {
	e.obtaining.Lock()
	defer e.obtaining.Unlock()
	if e.current() != nil {
		return nil
	}
	token := rand.Text()
	sent := time.Now()
	ok, err := e.hold.Run(ctx, e.rdb, []string{e.key}, token, e.ttl.Milliseconds(), "1").Bool()
	if err != nil {
		return fmt.Errorf("obtain lease %s: %w", e.key, err)
	}
	if ok {
		e.begin(token, sent)
	}
	return nil
}

// join counts a Keep or Run that wants the lease held.
func (e *Elector) join() {
	e.mu.Lock()
	e.users++
	e.mu.Unlock()
}

// leave uncounts one; the last one out gives the lease up, so a replica that
// stops standing hands over at once instead of after its TTL.
func (e *Elector) leave(ctx context.Context) {
	e.mu.Lock()
	e.users--
	t := e.cur
	if e.users > 0 {
		t = nil
	}
	e.mu.Unlock()
	if t == nil || !e.end(t, errIdle) {
		return
	}
	// Even on shutdown: past one TTL the lease expires by itself.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.ttl)
	defer cancel()
	if err := e.release.Run(ctx, e.rdb, []string{e.key}, t.token).Err(); err != nil {
		e.log.Warn("lease not released; it expires by itself", "ttl", e.ttl, "err", err)
		return
	}
	e.log.Debug("lease released")
}

func (e *Elector) current() *term {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur
}
