package faults_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/monitor/query"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// changedCaptcha is a fault of this suite rather than of the simulator: the
// captcha endpoint answers a captcha of another type (the 2023 click-the-words
// one), as the real API does every few months (scraper/miit/PROTOCOL.md §4).
const changedCaptcha miittest.FaultKind = "changed_captcha"

// chaos stands in front of the simulator and spoils a share of its requests
// with a fault drawn from a seeded RNG, so a run is reproducible.
type chaos struct {
	sim  *miittest.Server
	rate float64 // share of requests spoiled

	mu       sync.Mutex
	rng      *rand.Rand
	injected map[miittest.FaultKind]int
}

// everywhere are the faults that any endpoint may answer.
var everywhere = []miittest.FaultKind{
	miittest.FaultWAF, miittest.FaultJSChallenge, miittest.FaultRateLimit, miittest.FaultServerError,
	miittest.FaultUnsupportedMedia, miittest.FaultTokenExpired, miittest.FaultEmptyBody,
	miittest.FaultTruncated, miittest.FaultGarbage, miittest.FaultSlow,
}

func endpointOf(path string) string {
	rest := strings.TrimPrefix(path, miittest.APIPath)
	switch rest {
	case "/auth":
		return miittest.Auth
	case "/image/getCheckImagePoint":
		return miittest.CaptchaImage
	case "/image/checkImage":
		return miittest.CheckImage
	case "/icpAbbreviateInfo/queryByCondition":
		return miittest.Query
	}
	return ""
}

// draw picks the fault for one request of endpoint, or "" for none.
func (c *chaos) draw(endpoint string) (miittest.FaultKind, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if endpoint == "" || c.rng.Float64() >= c.rate {
		return "", 0
	}
	kinds := slices.Clone(everywhere)
	switch endpoint {
	case miittest.CaptchaImage:
		kinds = append(kinds, changedCaptcha)
	case miittest.CheckImage:
		kinds = append(kinds, miittest.FaultCaptchaRefused)
	}
	// A kind not injected yet goes first, so that the run covers every kind
	// whatever its draws; after that the choice is uniform.
	if missing := slices.DeleteFunc(slices.Clone(kinds), func(k miittest.FaultKind) bool { return c.injected[k] > 0 }); len(missing) > 0 {
		kinds = missing
	}
	k := kinds[c.rng.IntN(len(kinds))]
	c.injected[k]++
	// Most slow answers come within the lookup timeout, one in four far beyond it.
	delay := 50 * time.Millisecond
	if c.rng.IntN(4) == 0 {
		delay = time.Minute
	}
	return k, delay
}

func (c *chaos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := endpointOf(r.URL.Path)
	kind, delay := c.draw(endpoint)
	switch kind {
	case "":
	case changedCaptcha:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		fmt.Fprint(w, `{"code":200,"msg":"操作成功","success":true,"params":{"uuid":"5f1c9a3e-click","captchaType":"clickWord",`+
			`"originalImageBase64":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",`+
			`"wordList":["备","案","查","询"],"secretKey":"q7Jz2kLm9Xc4Vb1N"}}`)
		return
	default:
		// The sweep looks up one query at a time, so the fault queued here is
		// the one this very request takes.
		c.sim.Inject(miittest.Fault{Kind: kind, Endpoint: endpoint, Count: 1, Delay: delay})
	}
	c.sim.ServeHTTP(w, r)
}

func (c *chaos) counts() map[miittest.FaultKind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[miittest.FaultKind]int{}
	for k, v := range c.injected {
		out[k] = v
	}
	return out
}

// tally is the sweep's Recorder: every lookup's result, as the metrics count them.
type tally struct {
	mu      sync.Mutex
	results map[string]int
	canary  map[bool]int
}

func newTally() *tally { return &tally{results: map[string]int{}, canary: map[bool]int{}} }

func (r *tally) ObserveLookup(_, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results[result]++
}

func (r *tally) SetCanary(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.canary[ok]++
}

func (r *tally) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.results {
		n += v
	}
	return n
}

func (r *tally) get(result string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results[result]
}

func (r *tally) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%v, canary present/not %d/%d", sortedCounts(r.results), r.canary[true], r.canary[false])
}

func sortedCounts[K ~string](m map[K]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, m[K(k)])
	}
	return b.String()
}

// chaosSweep builds the configured miit provider and the query job, as the
// daemon does (rate limit, backoff, canary brackets included), against base.
func chaosSweep(t *testing.T, st query.Store, base string, rec lookup.Recorder) *query.Job {
	t.Helper()
	q := config.Default().Query
	q.MIIT.BaseURL = base
	q.MinInterval = 0
	q.Timeout = time.Second
	q.Park = time.Millisecond // a ban parks the provider; here only for a moment, so lookups keep coming
	providers, err := lookup.NewProviders(q, nil, lookup.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := lookup.NewChain(providers, canary, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return query.New(query.Options{Store: st, Chain: chain, Confirmations: 1, Budget: 1000})
}

// lookups is how many lookups the provider chaos run makes.
const lookups = 1000

// TestProviderChaos runs real sweeps (miit client, captcha solver, rate
// limit, store on Redis) while the simulator answers a seeded random share of
// requests with every fault it knows. No record is deleted, so any absence
// or status change would be caused by a failure: there must be none, even
// with a single confirmation needed to act on an absence.
func TestProviderChaos(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ids := w.track(40)
	c := &chaos{sim: w.sim, rate: 0.12, rng: rand.New(rand.NewPCG(2026, 9)), injected: map[miittest.FaultKind]int{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	rec := newTally()
	sw := chaosSweep(t, w.store, srv.URL+miittest.APIPath, rec)
	ctx := context.Background()
	sweeps := 0
	for rec.total() < lookups {
		if err := sw.Run(ctx); err != nil {
			t.Fatalf("sweep %d: %v", sweeps+1, err)
		}
		sweeps++
	}
	injected := c.counts()
	t.Logf("%d lookups in %d sweeps: %s", rec.total(), sweeps, rec)
	t.Logf("faults injected: %s", sortedCounts(injected))

	if n := rec.get("absent"); n != 0 {
		t.Errorf("%d lookups reported absent; every record is filed", n)
	}
	for _, k := range append(everywhere, changedCaptcha, miittest.FaultCaptchaRefused) {
		if injected[k] == 0 {
			t.Errorf("fault %s was never injected: the run proves nothing about it", k)
		}
	}
	if rec.get("present") == 0 {
		t.Error("no lookup came back present: the run never got through")
	}
	cs, err := w.store.List(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	present := 0
	for _, x := range cs {
		if x.Status != cancellation.Pending {
			t.Errorf("%s: status %s after lookups that all failed or found the record", x.ID, x.Status)
		}
		if x.Record.Present != nil && !*x.Record.Present || x.Record.AbsentSweeps != 0 {
			t.Errorf("%s: record %s, %d absent sweeps: an absence was reported", x.ID, x.Record.State(), x.Record.AbsentSweeps)
		}
		if x.Record.State() == "present" {
			present++
		}
	}
	t.Logf("cancellations with the record proved present: %d of %d", present, len(cs))
	res := audit(t, w.rdb, ids)
	if res.transitions != 0 {
		t.Errorf("%d status changes in the history; want none", res.transitions)
	}
}

// TestSilentBanCaughtByCanary: a blacklisted client gets a normal-looking
// empty list for every query (miittest's silent_empty). The canary comes
// back absent too, so no absence of the sweep may be trusted.
func TestSilentBanCaughtByCanary(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ids := w.track(10)
	rec := newTally()
	sw := chaosSweep(t, w.store, w.api, rec)
	w.sim.Inject(miittest.Fault{Kind: miittest.FaultSilentEmpty, Count: 1 << 20})
	for range 3 {
		if err := sw.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d lookups: %s", rec.total(), rec)
	if rec.canary[true] != 0 || rec.canary[false] != 3 {
		t.Errorf("canary present/absent %d/%d, want 0/3", rec.canary[true], rec.canary[false])
	}
	res := audit(t, w.rdb, ids)
	for id, c := range res.cs {
		if c.Status != cancellation.Pending || c.Record.State() != "unknown" {
			t.Errorf("%s: %s, record %s (%q); want pending and unknown: no sweep may run past a failed canary", id, c.Status, c.Record.State(), c.Record.UnknownReason)
		}
	}
}
