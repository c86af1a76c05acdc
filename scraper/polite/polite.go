// Package polite keeps lookups within what a public query tolerates: at most
// one lookup per interval to the provider's host, and after a rate limit, a
// WAF block or a ban signal, exponential backoff that parks the provider for
// at least five minutes (HG-ha/ICP_Query parks a blocked IP for 300 s;
// scraper/miit/PROTOCOL.md §7.5). While parked, lookups are unknown at once
// and the source is left alone.
package polite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/icpmon/icpmon/scraper"
)

// ErrParked is inside the error of a lookup refused because the provider is
// parked; such a lookup never reached the source.
var ErrParked = errors.New("provider parked after being blocked")

// Options configures Wrap. Zero values take the defaults in brackets.
type Options struct {
	// MinInterval is the least time between two lookups (query.min_interval);
	// 0 means no limit.
	MinInterval time.Duration
	// ParkMin is the first park after a block [5m]; each further block in a
	// row doubles it, up to ParkMax [6h] before jitter.
	ParkMin, ParkMax time.Duration
	// Jitter is the largest random fraction added to a park [0.2]; negative
	// means none.
	Jitter float64
	// Now and Sleep are the clock [time.Now, a timer that ctx can cut short].
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter [math/rand/v2.Float64].
	Rand   func() float64
	Logger *slog.Logger
}

// Provider is a scraper.Provider with manners. Wrap each provider once: the
// wrapper is the single limiter and backoff state of the host it talks to.
type Provider struct {
	inner   scraper.Provider
	limiter *rate.Limiter // nil: no limit
	opts    Options

	mu          sync.Mutex
	strikes     int // blocks in a row
	parkedUntil time.Time
}

// Wrap returns p with a rate limit and backoff.
func Wrap(p scraper.Provider, opts Options) *Provider {
	if opts.ParkMin <= 0 {
		opts.ParkMin = 5 * time.Minute
	}
	if opts.ParkMax == 0 {
		opts.ParkMax = 6 * time.Hour
	}
	opts.ParkMax = max(opts.ParkMax, opts.ParkMin)
	if opts.Jitter == 0 {
		opts.Jitter = 0.2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Provider{inner: p, opts: opts}
	if opts.MinInterval > 0 {
		w.limiter = rate.NewLimiter(rate.Every(opts.MinInterval), 1)
	}
	return w
}

// Name implements scraper.Provider: the wrapped provider's name.
func (p *Provider) Name() string { return p.inner.Name() }

// ParkedUntil is when the provider may be asked again; zero when it is not parked.
func (p *Provider) ParkedUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.Now().Before(p.parkedUntil) {
		return p.parkedUntil
	}
	return time.Time{}
}

// Lookup implements scraper.Provider.
func (p *Provider) Lookup(ctx context.Context, query string) (scraper.Answer, error) {
	if err := p.parked(); err != nil {
		return scraper.Answer{}, err
	}
	if err := p.wait(ctx); err != nil {
		return scraper.Answer{}, err
	}
	// Another lookup may have been blocked while this one waited.
	if err := p.parked(); err != nil {
		return scraper.Answer{}, err
	}
	ans, err := p.inner.Lookup(ctx, query)
	p.record(err)
	return ans, err
}

// Suspect parks the provider as a block would, for what only its caller can
// see: a normal-looking answer that a canary lookup exposed as a ban's.
func (p *Provider) Suspect(reason scraper.Reason) {
	p.record(scraper.Unknown(reason, errors.New("reported by the query job")))
}

func (p *Provider) parked() error {
	if until := p.ParkedUntil(); !until.IsZero() {
		return scraper.Unknown(scraper.RateLimited, fmt.Errorf("%s: %w until %s", p.Name(), ErrParked, until.Format(time.RFC3339)))
	}
	return nil
}

// wait takes the next slot of the limiter, sleeping until it comes.
func (p *Provider) wait(ctx context.Context) error {
	if p.limiter == nil {
		return nil
	}
	now := p.opts.Now()
	r := p.limiter.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	// A context's deadline is wall-clock time, whatever clock Now injects.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		r.CancelAt(now)
		return scraper.Unknown(scraper.RateLimited, fmt.Errorf("%s: next lookup slot in %s, after the deadline", p.Name(), d))
	}
	if err := p.opts.Sleep(ctx, d); err != nil {
		r.CancelAt(p.opts.Now())
		return scraper.Unknown(scraper.RateLimited, fmt.Errorf("%s: waiting for the next lookup slot: %w", p.Name(), err))
	}
	return nil
}

// record updates the backoff: a definite answer clears it, a block parks the
// provider for twice as long as the block before.
func (p *Provider) record(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.strikes = 0
		return
	}
	switch scraper.ReasonOf(err) {
	case scraper.RateLimited, scraper.WAFBlocked, scraper.SilentBanSuspected:
	default:
		return
	}
	p.strikes++
	d := p.opts.ParkMin << min(p.strikes-1, 20)
	if d <= 0 || d > p.opts.ParkMax { // <= 0: the shift overflowed
		d = p.opts.ParkMax
	}
	if p.opts.Jitter > 0 {
		d += time.Duration(float64(d) * p.opts.Jitter * p.opts.Rand())
	}
	p.parkedUntil = p.opts.Now().Add(d)
	p.opts.Logger.Warn("query provider parked", "provider", p.Name(), "for", d, "blocks_in_a_row", p.strikes, "reason", scraper.ReasonOf(err))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
