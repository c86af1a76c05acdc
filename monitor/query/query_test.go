package query_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/monitor/query"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
	"github.com/icpmon/icpmon/scraper/miit"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

const canary = "京ICP备10046444号"

// counter is a Recorder that remembers what it was told.
type counter struct {
	mu      sync.Mutex
	lookups map[string]int
	canary  []bool
}

func (r *counter) ObserveLookup(_, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups[result]++
}

func (r *counter) SetCanary(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.canary = append(r.canary, ok)
}

type world struct {
	t     *testing.T
	sim   *miittest.Server
	store *store.Store
	rec   *counter
	sweep *query.Job
	now   time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, miittest.Options{Seed: 7})
}

// newWorldWith is newWorld with a simulator configured by opts.
func newWorldWith(t *testing.T, opts miittest.Options) *world {
	t.Helper()
	rs := redistest.Start(t)
	sim := miittest.New(opts)
	t.Cleanup(sim.Close)
	w := &world{t: t, sim: sim, store: store.New(rs.Client(t), "sweeptest"), rec: &counter{lookups: map[string]int{}},
		now: time.Date(2026, 11, 20, 10, 0, 0, 0, calendar.China)}
	w.use(100, mustMIIT(t, sim))
	w.file(canary+"-9", "mi.cn")
	return w
}

// use makes the world's sweep ask providers, in order, within budget.
func (w *world) use(budget int, providers ...scraper.Provider) {
	w.t.Helper()
	chain, err := lookup.NewChain(providers, canary, w.rec, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sweep = query.New(query.Options{
		Store: w.store, Chain: chain, Confirmations: 2, Budget: budget, Now: func() time.Time { return w.now },
	})
}

// file puts a filing record into the simulated public query.
func (w *world) file(licence, domain string) {
	l, err := cancellation.ParseLicence(licence)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sim.AddRecord(scraper.Record{Licence: l.Number, MainLicence: l.Subject, Domain: domain, UnitName: "测试单位", ServiceType: 1})
}

func (w *world) track(kind cancellation.Kind, licence string) string {
	w.t.Helper()
	l, err := cancellation.ParseLicence(licence)
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := w.store.Add(context.Background(), cancellation.Cancellation{
		Kind: kind, Licence: l.Number, LicenceRaw: licence, Province: l.Province,
		Submitted: calendar.NewDate(2026, 11, 2), Status: cancellation.Pending,
	}, "test")
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ID
}

func (w *world) run() {
	w.t.Helper()
	w.now = w.now.Add(6 * time.Hour)
	if err := w.sweep.Run(context.Background()); err != nil {
		w.t.Fatalf("sweep: %v", err)
	}
}

func (w *world) get(id string) cancellation.Cancellation {
	w.t.Helper()
	c, err := w.store.Get(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func TestDeletedRecordIsApprovedThenCleared(t *testing.T) {
	w := newWorld(t)
	w.file("京ICP备12345678号-1", "a.example.com")
	id := w.track(cancellation.KindWebsite, "京ICP备12345678号-1")

	w.run()
	if c := w.get(id); c.Status != cancellation.Pending || c.Record.State() != "present" {
		t.Fatalf("after a present lookup: %s, record %s", c.Status, c.Record.State())
	}
	w.sim.DeleteLicence("京ICP备12345678号-1")
	w.run()
	first := w.now
	if c := w.get(id); c.Status != cancellation.Pending || c.Record.State() != "absent" || c.Record.AbsentSweeps != 1 {
		t.Fatalf("after one absence: %s, %s, %d sweeps", c.Status, c.Record.State(), c.Record.AbsentSweeps)
	}
	w.run()
	c := w.get(id)
	if c.Status != cancellation.Approved || c.ApprovedBy != "inferred" || !c.ApprovedAt.Equal(first) {
		t.Fatalf("after two absences: %s by %q at %v (want approved, inferred, %v)", c.Status, c.ApprovedBy, c.ApprovedAt, first)
	}
	w.run()
	if c := w.get(id); c.Status != cancellation.Approved {
		t.Fatalf("cleared on the first absence after approval: %s", c.Status)
	}
	w.run()
	if c := w.get(id); c.Status != cancellation.Cleared {
		t.Fatalf("after two absences since approval: %s", c.Status)
	}
	h, err := w.store.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range h {
		actions = append(actions, e.Action)
	}
	if fmt.Sprint(actions) != "[add record record approve clear]" {
		t.Errorf("history actions %v", actions)
	}
}

func TestOneSweepCountsOneAbsence(t *testing.T) {
	w := newWorld(t)
	// Two websites of one subject: one lookup of the subject serves both.
	a := w.track(cancellation.KindWebsite, "沪ICP备2024000001号-1")
	b := w.track(cancellation.KindWebsite, "沪ICP备2024000001号-2")
	w.run()
	if got := w.sim.Requests()[miittest.Query]; got != 3 {
		t.Errorf("query requests = %d, want 3 (canary, one subject, the canary that vouches for its absence)", got)
	}
	for _, id := range []string{a, b} {
		if c := w.get(id); c.Record.AbsentSweeps != 1 || c.Status != cancellation.Pending {
			t.Errorf("%s: %d absences, %s", id, c.Record.AbsentSweeps, c.Status)
		}
	}
}

func TestSubjectAbsentOnlyWhenNoSiteIsLeft(t *testing.T) {
	w := newWorld(t)
	w.file("苏ICP备2025000002号-1", "one.example.cn")
	w.file("苏ICP备2025000002号-2", "two.example.cn")
	subject := w.track(cancellation.KindSubject, "苏ICP备2025000002号")
	w.sim.DeleteLicence("苏ICP备2025000002号-1")
	w.run()
	if c := w.get(subject); c.Record.State() != "present" || fmt.Sprint(c.Record.Licences) != "[苏ICP备2025000002号-2]" {
		t.Fatalf("subject with one site left: %s %v", c.Record.State(), c.Record.Licences)
	}
	w.sim.DeleteLicence("苏ICP备2025000002号")
	w.run()
	w.run()
	if c := w.get(subject); c.Status != cancellation.Approved {
		t.Fatalf("subject with no site left: %s", c.Status)
	}
}

func TestAccessCancellationIsNotClearedByAbsence(t *testing.T) {
	w := newWorld(t)
	id := w.track(cancellation.KindAccess, "粤ICP备87654321号-1")
	for range 4 {
		w.run()
	}
	if c := w.get(id); c.Status != cancellation.Pending || c.Record.State() != "absent" {
		t.Fatalf("access cancellation after 4 absences: %s, %s", c.Status, c.Record.State())
	}
}

// Every failure the simulator can produce, on every sweep, must leave every
// status as it was and record no absence.
func TestFailuresNeverChangeAStatus(t *testing.T) {
	faults := []miittest.FaultKind{
		miittest.FaultWAF, miittest.FaultJSChallenge, miittest.FaultRateLimit, miittest.FaultServerError,
		miittest.FaultUnsupportedMedia, miittest.FaultTokenExpired, miittest.FaultCaptchaRefused,
		miittest.FaultEmptyBody, miittest.FaultTruncated, miittest.FaultGarbage, miittest.FaultSilentEmpty,
	}
	for _, f := range faults {
		t.Run(string(f), func(t *testing.T) {
			w := newWorld(t)
			w.file("京ICP备12345678号-1", "a.example.com")
			present := w.track(cancellation.KindWebsite, "京ICP备12345678号-1")
			w.run() // a definite present first
			w.sim.DeleteLicence("京ICP备12345678号-1")
			gone := w.track(cancellation.KindWebsite, "浙ICP备23456789号-1")
			w.sim.Inject(miittest.Fault{Kind: f, Count: 1000})
			for range 3 {
				w.run()
			}
			for _, id := range []string{present, gone} {
				c := w.get(id)
				if c.Status != cancellation.Pending || c.Record.AbsentSweeps != 0 {
					t.Errorf("%s: status %s after %s, %d absences counted", c.Licence, c.Status, f, c.Record.AbsentSweeps)
				}
			}
			if c := w.get(present); c.Record.State() != "present" {
				t.Errorf("the last definite answer was lost: %s", c.Record.State())
			}
			if c := w.get(gone); c.Record.State() == "absent" {
				t.Errorf("an unproved absence was recorded")
			}
			if last := w.rec.canary[len(w.rec.canary)-1]; last {
				t.Errorf("canary reported ok under %s", f)
			}
		})
	}
}

func TestBudgetLooksUpTheMostUrgentFirst(t *testing.T) {
	w := newWorld(t)
	older := w.track(cancellation.KindWebsite, "京ICP备11111111号-1")
	approved := w.track(cancellation.KindWebsite, "京ICP备22222222号-1")
	if _, err := w.store.Transition(context.Background(), approved, cancellation.Approved, w.now, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	w.use(1, mustMIIT(t, w.sim))
	w.run()
	if c := w.get(approved); c.Record.State() != "absent" {
		t.Errorf("approved cancellation not looked up first: %s", c.Record.State())
	}
	if c := w.get(older); c.Record.State() != "unknown" {
		t.Errorf("budget exceeded: pending one looked up too (%s)", c.Record.State())
	}
}

func mustMIIT(t *testing.T, sim *miittest.Server) scraper.Provider {
	t.Helper()
	p, err := miit.New(miit.Options{BaseURL: sim.URL, Timeout: 20 * time.Second, Solver: captcha.Slider{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
