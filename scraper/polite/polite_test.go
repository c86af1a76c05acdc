package polite

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
)

// clock is a fake clock whose Sleep advances it and remembers the waits.
type clock struct {
	*harness.Clock
	sleeps harness.List[time.Duration]
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.sleeps.Add(d)
	c.Advance(d)
	return nil
}

// scripted answers lookups with the next error of its script (nil = present).
type scripted struct {
	mu     sync.Mutex
	script []error
	calls  int
}

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Lookup(context.Context, string) (scraper.Answer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	var err error
	if len(s.script) > 0 {
		err, s.script = s.script[0], s.script[1:]
	}
	if err != nil {
		return scraper.Answer{}, err
	}
	return scraper.Answer{Records: []scraper.Record{{Licence: "京ICP备10046444号-1"}}}, nil
}

func newClock() *clock {
	return &clock{Clock: harness.NewClock(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))}
}

func wrap(inner scraper.Provider, clk *clock, opts Options) *Provider {
	opts.Now, opts.Sleep = clk.Now, clk.Sleep
	if opts.Rand == nil {
		opts.Rand = func() float64 { return 0.5 }
	}
	return Wrap(inner, opts)
}

var (
	waf     = scraper.Unknown(scraper.WAFBlocked, errors.New("创宇盾"))
	limited = scraper.Unknown(scraper.RateLimited, errors.New("code 429"))
	captcha = scraper.Unknown(scraper.CaptchaFailed, errors.New("refused"))
)

func TestMinInterval(t *testing.T) {
	clk := newClock()
	inner := &scripted{}
	p := wrap(inner, clk, Options{MinInterval: 6 * time.Second})
	for range 3 {
		if _, err := p.Lookup(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if waits := clk.sleeps.All(); !slices.Equal(waits, []time.Duration{6 * time.Second, 6 * time.Second}) {
		t.Fatalf("waits %v, want two of 6s", waits)
	}
	clk.Advance(time.Minute) // an idle minute earns one lookup at once, not ten
	for range 2 {
		if _, err := p.Lookup(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if waits := clk.sleeps.All(); len(waits) != 3 || waits[2] != 6*time.Second {
		t.Fatalf("waits %v after an idle minute, want one more of 6s", waits)
	}
	if inner.calls != 5 || p.Name() != "scripted" {
		t.Fatalf("calls %d, name %s", inner.calls, p.Name())
	}
}

func TestWaitRespectsContext(t *testing.T) {
	clk := newClock()
	inner := &scripted{}
	p := wrap(inner, clk, Options{MinInterval: time.Hour})
	if _, err := p.Lookup(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Lookup(ctx, "x")
	if scraper.ReasonOf(err) != scraper.RateLimited || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Lookup(ctx, "x"); scraper.ReasonOf(err) != scraper.RateLimited {
		t.Fatalf("slot after the deadline: err = %v", err)
	}
	if inner.calls != 1 {
		t.Fatalf("%d calls reached the source, want 1", inner.calls)
	}
	// The cancelled reservations were given back: the next slot is one interval on.
	clk.Advance(time.Hour)
	if _, err := p.Lookup(context.Background(), "x"); err != nil || len(clk.sleeps.All()) != 0 {
		t.Fatalf("after an hour: %v, waits %v", err, clk.sleeps.All())
	}
}

func TestRealClockWait(t *testing.T) {
	p := Wrap(&scripted{}, Options{MinInterval: 50 * time.Millisecond})
	for range 2 {
		if _, err := p.Lookup(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	for {
		// Either the slot came or the cancellation cut the wait short; both end.
		if _, err := p.Lookup(ctx, "x"); err != nil {
			if scraper.ReasonOf(err) != scraper.RateLimited {
				t.Fatalf("err = %v", err)
			}
			return
		}
	}
}

func TestParkingAndBackoff(t *testing.T) {
	clk := newClock()
	inner := &scripted{script: []error{waf, nil, limited, limited, nil, waf}}
	p := wrap(inner, clk, Options{Rand: func() float64 { return 0.5 }}) // jitter +10%
	ctx := context.Background()

	step := func(wantErr bool, wantCalls int) {
		t.Helper()
		_, err := p.Lookup(ctx, "x")
		if (err != nil) != wantErr || inner.calls != wantCalls {
			t.Fatalf("err %v, calls %d; want error %v, calls %d", err, inner.calls, wantErr, wantCalls)
		}
	}
	parkedFor := func(want time.Duration) {
		t.Helper()
		if got := p.ParkedUntil().Sub(clk.Now()); got != want {
			t.Fatalf("parked for %s, want %s", got, want)
		}
		_, err := p.Lookup(ctx, "x")
		if scraper.ReasonOf(err) != scraper.RateLimited || !errors.Is(err, ErrParked) {
			t.Fatalf("parked lookup: %v", err)
		}
	}

	step(true, 1) // WAF
	parkedFor(5*time.Minute + 30*time.Second)
	clk.Advance(4 * time.Minute)
	parkedFor(time.Minute + 30*time.Second)
	if inner.calls != 1 {
		t.Fatal("a parked lookup reached the source")
	}
	clk.Advance(2 * time.Minute)
	step(false, 2) // definite: backoff cleared
	if !p.ParkedUntil().IsZero() {
		t.Fatal("still parked after a definite answer")
	}
	step(true, 3) // 429: first block in a row again → 5m
	parkedFor(5*time.Minute + 30*time.Second)
	clk.Advance(6 * time.Minute)
	step(true, 4) // 429 again → 10m
	parkedFor(11 * time.Minute)
	clk.Advance(12 * time.Minute)
	step(false, 5)
	step(true, 6) // after a definite answer, 5m again
	parkedFor(5*time.Minute + 30*time.Second)
}

func TestParkCap(t *testing.T) {
	clk := newClock()
	script := make([]error, 30)
	for i := range script {
		script[i] = limited
	}
	p := wrap(&scripted{script: script}, clk, Options{ParkMax: time.Hour, Jitter: -1})
	for range 30 {
		_, _ = p.Lookup(context.Background(), "x")
		if d := p.ParkedUntil().Sub(clk.Now()); d > time.Hour || d < 5*time.Minute {
			t.Fatalf("parked for %s", d)
		}
		clk.Advance(2 * time.Hour)
	}
}

func TestOtherFailuresDoNotPark(t *testing.T) {
	clk := newClock()
	inner := &scripted{script: []error{captcha, scraper.Unknown(scraper.ServerError, errors.New("500")), errors.New("bug")}}
	p := wrap(inner, clk, Options{})
	for range 4 {
		_, _ = p.Lookup(context.Background(), "x")
	}
	if inner.calls != 4 || !p.ParkedUntil().IsZero() {
		t.Fatalf("calls %d, parked until %v", inner.calls, p.ParkedUntil())
	}
}

func TestConcurrentLookups(t *testing.T) {
	clk := newClock()
	inner := &scripted{script: []error{nil, waf}}
	p := wrap(inner, clk, Options{MinInterval: time.Second})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { _, _ = p.Lookup(context.Background(), "x") })
	}
	wg.Wait()
	// Once blocked, every later lookup is refused without reaching the source.
	if inner.calls > 2 || p.ParkedUntil().IsZero() {
		t.Fatalf("calls %d, parked until %v", inner.calls, p.ParkedUntil())
	}
}
