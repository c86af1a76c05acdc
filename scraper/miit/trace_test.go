package miit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// stepLog collects the steps a lookup reports.
type stepLog struct{ harness.List[scraper.Step] }

func (l *stepLog) context() context.Context {
	return scraper.WithTracer(context.Background(), l.Add)
}

// outcomes collects what OnCaptcha is told.
type outcomes = harness.List[string]

// want is one expected step: its name, a substring of its detail, and
// whether it failed. Steps that made a request must have taken some time.
type want struct {
	name, detail string
	failed       bool
}

func checkSteps(t *testing.T, got []scraper.Step, wants ...want) {
	t.Helper()
	var b strings.Builder
	for _, s := range got {
		fmt.Fprintf(&b, "\n  %s %q err=%v took=%v", s.Name, s.Detail, s.Err, s.Took)
	}
	if len(got) != len(wants) {
		t.Fatalf("%d steps, want %d:%s", len(got), len(wants), b.String())
	}
	for i, w := range wants {
		s := got[i]
		if s.Provider != "miit" || s.Name != w.name || !strings.Contains(s.Detail, w.detail) ||
			(s.Err != nil) != w.failed || s.Took < 0 || (s.Took == 0 && w.name != "solve" && w.name != "auth") {
			t.Fatalf("step %d = %+v, want %+v; all:%s", i, s, w, b.String())
		}
	}
}

func TestTraceReportsEveryStep(t *testing.T) {
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	addSubject(sim, subject, 30)
	var results outcomes
	c := newClient(t, sim.URL, Options{OnCaptcha: results.Add})
	var log stepLog

	if ans, err := c.Lookup(log.context(), subject); err != nil || len(ans.Records) != 30 {
		t.Fatalf("lookup: %d records, %v", len(ans.Records), err)
	}
	checkSteps(t, log.Take(),
		want{"auth", "token obtained, in use until ", false},
		want{"captcha", "background 240×120", false},
		want{"solve", "x=", false},
		want{"check", "accepted", false},
		want{"page 1", "26 records, total 30", false},
		want{"page 2", "4 records, total 30", false},
	)
	if got := results.Take(); !slices.Equal(got, []string{CaptchaSolved}) {
		t.Fatalf("OnCaptcha told %v, want [solved]", got)
	}

	// The token is cached now; an unfiled licence is MIIT's explicit no-record.
	if _, err := c.Lookup(log.context(), absent); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, log.Take(),
		want{"auth", "cached token", false},
		want{"captcha", "height", false},
		want{"solve", "x=", false},
		want{"check", "accepted", false},
		want{"page 1", "0 records, total 0: the explicit no-record answer", false},
	)
}

func TestTraceRefusedCaptcha(t *testing.T) {
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	addSubject(sim, subject, 1)
	var results outcomes
	c := newClient(t, sim.URL, Options{OnCaptcha: results.Add})
	var log stepLog

	sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused})
	_, err := c.Lookup(log.context(), subject)
	if scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("err = %v, want captcha_failed", err)
	}
	steps := log.Take()
	checkSteps(t, steps,
		want{"auth", "token obtained", false},
		want{"captcha", "piece", false},
		want{"solve", "x=", false},
		want{"check", "refused", true},
	)
	if r := scraper.ReasonOf(steps[3].Err); r != scraper.CaptchaFailed {
		t.Fatalf("check step error %v, want captcha_failed", steps[3].Err)
	}
	if got := results.Take(); !slices.Equal(got, []string{CaptchaRefused}) {
		t.Fatalf("OnCaptcha told %v, want [refused]", got)
	}

	lookup(t, c, subject)
	if got := results.Take(); !slices.Equal(got, []string{CaptchaSolved}) {
		t.Fatalf("OnCaptcha told %v after the refusal, want [solved]", got)
	}
}

func TestTraceTokenRefresh(t *testing.T) {
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	addSubject(sim, subject, 1)
	var results outcomes
	c := newClient(t, sim.URL, Options{OnCaptcha: results.Add})
	lookup(t, c, subject) // caches a token
	var log stepLog

	sim.Inject(miittest.Fault{Kind: miittest.FaultTokenExpired, Endpoint: miittest.Query})
	if ans, err := c.Lookup(log.context(), subject); err != nil || !ans.Present() {
		t.Fatalf("lookup: %+v, %v", ans, err)
	}
	checkSteps(t, log.Take(),
		want{"auth", "cached token", false},
		want{"captcha", "", false},
		want{"solve", "", false},
		want{"check", "accepted", false},
		want{"page 1", "", true},
		want{"auth", "new token, the last one rejected, in use until", false},
		want{"captcha", "", false},
		want{"solve", "", false},
		want{"check", "accepted", false},
		want{"page 1", "1 records, total 1", false},
	)
	if got := results.Take(); !slices.Equal(got, []string{CaptchaSolved, CaptchaSolved, CaptchaSolved}) {
		t.Fatalf("OnCaptcha told %v, want three solved", got)
	}
}

func TestTraceFailedRequest(t *testing.T) {
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	var results outcomes
	c := newClient(t, sim.URL, Options{OnCaptcha: results.Add})
	var log stepLog

	sim.Inject(miittest.Fault{Kind: miittest.FaultWAF, Endpoint: miittest.CaptchaImage})
	_, err := c.Lookup(log.context(), absent)
	steps := log.Take()
	checkSteps(t, steps, want{"auth", "", false}, want{"captcha", "", true})
	if scraper.ReasonOf(err) != scraper.WAFBlocked || scraper.ReasonOf(steps[1].Err) != scraper.WAFBlocked {
		t.Fatalf("lookup err %v, step err %v, want waf_blocked", err, steps[1].Err)
	}

	sim.Inject(miittest.Fault{Kind: miittest.FaultServerError, Endpoint: miittest.CheckImage})
	_, err = c.Lookup(log.context(), absent)
	checkSteps(t, log.Take(), want{"auth", "", false}, want{"captcha", "", false}, want{"solve", "", false}, want{"check", "", true})
	if scraper.ReasonOf(err) != scraper.ServerError {
		t.Fatalf("err = %v, want server_error", err)
	}
	if got := results.Take(); len(got) != 0 {
		t.Fatalf("OnCaptcha told %v for failed requests, want nothing", got)
	}
}

// noGuessSolver declines, as the built-in solver does when unsure.
type noGuessSolver struct{}

func (noGuessSolver) Solve(context.Context, captcha.Puzzle) (int, error) {
	return 0, scraper.Unknown(scraper.CaptchaFailed, fmt.Errorf("slider: %w", captcha.ErrNoGuess))
}

// brokenSolver fails for another reason than having no guess.
type brokenSolver struct{}

func (brokenSolver) Solve(context.Context, captcha.Puzzle) (int, error) {
	return 0, scraper.Unknown(scraper.CaptchaFailed, errors.New("solver crashed"))
}

func TestTraceSolverDeclines(t *testing.T) {
	for _, tc := range []struct {
		solver  captcha.Solver
		detail  string
		results []string
	}{
		{noGuessSolver{}, "no guess", []string{CaptchaNoGuess}},
		{brokenSolver{}, "failed", nil}, // no solver outcome
	} {
		t.Run(tc.detail, func(t *testing.T) {
			sim := newSim(t, smallCaptcha(miittest.Options{}))
			var results outcomes
			c := newClient(t, sim.URL, Options{Solver: tc.solver, OnCaptcha: results.Add})
			var log stepLog
			_, err := c.Lookup(log.context(), absent)
			if scraper.ReasonOf(err) != scraper.CaptchaFailed {
				t.Fatalf("err = %v, want captcha_failed", err)
			}
			checkSteps(t, log.Take(), want{"auth", "", false}, want{"captcha", "", false}, want{"solve", tc.detail, true})
			if got := results.Take(); !slices.Equal(got, tc.results) {
				t.Fatalf("OnCaptcha told %v, want %v", got, tc.results)
			}
			if n := sim.Requests()[miittest.CheckImage]; n != 0 {
				t.Fatalf("%d checkImage requests without a guess", n)
			}
		})
	}
}

func TestCaptchaResults(t *testing.T) {
	if got := CaptchaResults(); !slices.Equal(got, []string{"solved", "refused", "no_guess"}) {
		t.Fatalf("CaptchaResults() = %v", got)
	}
}

func TestPNGSize(t *testing.T) {
	big := fixturePNG(t, 480, 240)
	if w, h := pngSize(big); w != 480 || h != 240 {
		t.Fatalf("pngSize = %d×%d, want 480×240", w, h)
	}
	for _, bad := range [][]byte{nil, []byte("GIF89a"), big[:20]} {
		if w, h := pngSize(bad); w != 0 || h != 0 {
			t.Errorf("pngSize(%q) = %d×%d, want 0×0", bad, w, h)
		}
	}
}

// BenchmarkLookupTraced is BenchmarkLookup with a tracer that drops the
// steps: what --debug costs beyond the lookup.
func BenchmarkLookupTraced(b *testing.B) {
	sim := newSim(b, miittest.Options{})
	const subjects = 50
	for i := range subjects {
		sim.AddRecord(scraper.Record{Licence: fmt.Sprintf("京ICP备%08d号-1", i), Domain: fmt.Sprintf("s%d.example.cn", i), UnitName: "某公司"})
	}
	c := newClient(b, sim.URL, Options{})
	ctx := scraper.WithTracer(context.Background(), func(scraper.Step) {})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := c.Lookup(ctx, fmt.Sprintf("京ICP备%08d号", n%subjects)); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
