package scraper

import (
	"context"
	"time"
)

// Step is one step of a lookup (auth, captcha, a page, a canary), reported
// to a Tracer so that `icpmon query --debug` can show what a verdict rests on.
type Step struct {
	Provider string        // the provider that took the step, e.g. "miit"
	Name     string        // e.g. "auth", "captcha", "solve", "check", "page 2", "canary"
	Took     time.Duration // wall time of the step
	Detail   string        // what it found, in a few words
	Err      error         // why it failed; nil when it worked
}

// Tracer receives the steps of the lookups made with its context.
type Tracer func(Step)

type tracerKey struct{}

// WithTracer returns a context whose lookups report their steps to t.
func WithTracer(ctx context.Context, t Tracer) context.Context {
	return context.WithValue(ctx, tracerKey{}, t)
}

// Tracing reports whether ctx has a tracer: a provider formats a step's
// detail only then, so that lookups without one pay nothing.
func Tracing(ctx context.Context) bool {
	t, ok := ctx.Value(tracerKey{}).(Tracer)
	return ok && t != nil
}

// Trace reports a step to the context's tracer, if it has one.
func Trace(ctx context.Context, s Step) {
	if t, ok := ctx.Value(tracerKey{}).(Tracer); ok && t != nil {
		t(s)
	}
}
