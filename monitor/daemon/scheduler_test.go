package daemon

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// built is a daemon with its configuration in force but nothing started,
// for tests of the scheduler on its own.
func built(t *testing.T) (*daemon, *harness.Log) {
	t.Helper()
	rs := redistest.Start(t)
	logs := &harness.Log{}
	d := &daemon{
		o: Options{
			ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", ""),
			Now:        func() time.Time { return fixedNow }, PingInterval: time.Second,
		},
		log:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		metrics: metrics.NewSet(),
		live:    newLive(),
	}
	d.live.turned() // no follower here: the jobs need not wait for one
	d.redis.window = time.Minute
	g, err := d.build(nil)
	if err != nil {
		t.Fatal(err)
	}
	d.install(g)
	t.Cleanup(g.conn.drop)
	return d, logs
}

// gate is a job that blocks until released and reports how it ended.
type gate struct {
	name     string
	started  chan struct{}
	release  chan struct{}
	finished atomic.Bool
	ctxErr   atomic.Value // the context's error when the run ended
	runs     atomic.Int32
}

func newGate(name string) *gate {
	return &gate{name: name, started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gate) Name() string { return g.name }

func (g *gate) Run(ctx context.Context) error {
	g.runs.Add(1)
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	g.ctxErr.Store(ctxErrString(ctx))
	g.finished.Store(true)
	return ctx.Err()
}

func ctxErrString(ctx context.Context) string {
	if ctx.Err() == nil {
		return "none"
	}
	return ctx.Err().Error()
}

func scheduled(d *daemon, j Job, spec string) []scheduledJob {
	s, err := config.ParseSchedule(spec)
	if err != nil {
		panic(err)
	}
	return []scheduledJob{{job: j, spec: spec, schedule: s, conn: d.gen.Load().conn}}
}

func TestStopLetsRunningJobFinish(t *testing.T) {
	d, _ := built(t)
	jobCtx, cancelJobs := context.WithCancel(context.Background())
	defer cancelJobs()
	d.sched = newScheduler(jobCtx, d.log, d.metrics.Jobs, d.o.Now)
	g := newGate("slow")
	d.sched.apply(scheduled(d, g, "@every 1h")) // runs once at start
	<-g.started

	stopped := make(chan bool)
	go func() { stopped <- d.sched.stop(time.Hour) }()
	eventually(t, "stop has begun", func() (bool, string) {
		d.sched.mu.Lock()
		defer d.sched.mu.Unlock()
		return d.sched.stopped, ""
	})
	if g.finished.Load() {
		t.Fatal("the job ended before it was released")
	}
	close(g.release)
	if !<-stopped {
		t.Fatal("stop gave up although the job finished")
	}
	if !g.finished.Load() || g.ctxErr.Load() != "none" {
		t.Errorf("job finished %v with context error %v; want it to finish undisturbed", g.finished.Load(), g.ctxErr.Load())
	}
}

func TestStopTimeoutThenCancel(t *testing.T) {
	d, _ := built(t)
	jobCtx, cancelJobs := context.WithCancel(context.Background())
	d.sched = newScheduler(jobCtx, d.log, d.metrics.Jobs, d.o.Now)
	g := newGate("stuck")
	d.sched.apply(scheduled(d, g, "@every 1h"))
	<-g.started
	if d.sched.stop(50 * time.Millisecond) {
		t.Fatal("stop reported success while the job was still blocked")
	}
	cancelJobs()
	if !d.sched.stop(time.Minute) {
		t.Fatal("the job did not end after its context was cancelled")
	}
	if g.ctxErr.Load() != context.Canceled.Error() {
		t.Errorf("job ended with %v, want its context cancelled", g.ctxErr.Load())
	}
}

// panicky panics on its first run and succeeds afterwards.
type panicky struct{ runs atomic.Int32 }

func (p *panicky) Name() string { return "panicky" }

func (p *panicky) Run(context.Context) error {
	if p.runs.Add(1) == 1 {
		panic("boom")
	}
	return nil
}

func TestPanickingJobIsRecoveredAndCountedAsFailure(t *testing.T) {
	d, logs := built(t)
	d.sched = newScheduler(context.Background(), d.log, d.metrics.Jobs, d.o.Now)
	p := &panicky{}
	d.sched.apply(scheduled(d, p, "@every 1s"))
	eventually(t, "a run after the panic succeeds", func() (bool, string) {
		n, _ := testutil.GatherAndCount(d.metrics.Registry, "icpmon_job_last_success_timestamp_seconds")
		return p.runs.Load() >= 2 && n == 1, logs.String()
	})
	if !d.sched.stop(time.Minute) {
		t.Fatal("stop")
	}
	if !strings.Contains(logs.String(), `"msg":"cron panic"`) || !strings.Contains(logs.String(), "boom") {
		t.Errorf("the panic is not logged:\n%s", logs)
	}
	st := d.sched.status()
	if len(st) != 1 || st[0].Name != "panicky" || !st[0].Ran {
		t.Errorf("status %+v", st)
	}
}

func TestUnlistedJobIsUnscheduledAndForgotten(t *testing.T) {
	d, _ := built(t)
	d.sched = newScheduler(context.Background(), d.log, d.metrics.Jobs, d.o.Now)
	defer d.sched.stop(time.Minute)
	g := newGate("gone")
	close(g.release)
	d.sched.apply(scheduled(d, g, "@every 1h"))
	eventually(t, "the start-up run is recorded", func() (bool, string) {
		n, _ := testutil.GatherAndCount(d.metrics.Registry, "icpmon_job_last_success_timestamp_seconds", "icpmon_job_interval_seconds")
		return n == 2, ""
	})
	d.sched.apply(nil)
	if n, _ := testutil.GatherAndCount(d.metrics.Registry, "icpmon_job_last_success_timestamp_seconds", "icpmon_job_interval_seconds", "icpmon_job_duration_seconds"); n != 0 {
		t.Errorf("%d series left of an unscheduled job", n)
	}
	if st := d.sched.status(); len(st) != 0 {
		t.Errorf("status still lists %+v", st)
	}
}

func TestNoOverlapAcrossReload(t *testing.T) {
	d, logs := built(t)
	d.sched = newScheduler(context.Background(), d.log, d.metrics.Jobs, d.o.Now)
	g := newGate("slow")
	d.sched.apply(scheduled(d, g, "@every 1s"))
	<-g.started
	// A reload gives the job a new schedule while its first run is going:
	// the slot and its guard stay, so the ticks are skipped, not doubled.
	d.sched.apply(scheduled(d, g, "@every 1s"))
	eventually(t, "a tick is skipped", func() (bool, string) {
		return strings.Contains(logs.String(), "tick skipped"), ""
	})
	if n := g.runs.Load(); n != 1 {
		t.Errorf("%d runs started while the first was going, want 1", n)
	}
	close(g.release)
	if !d.sched.stop(time.Minute) {
		t.Fatal("stop")
	}
}

func TestInterval(t *testing.T) {
	now := time.Date(2026, 3, 6, 12, 0, 0, 0, calendar.China) // a Friday
	for spec, want := range map[string]time.Duration{
		"@every 5m":    5 * time.Minute,
		"@hourly":      time.Hour,
		"*/10 * * * *": 10 * time.Minute,
		"0 9 * * 1-5":  24 * time.Hour,     // next runs Monday and Tuesday 09:00
		"0 9 * * 5":    7 * 24 * time.Hour, // Fridays
	} {
		s, err := config.ParseSchedule(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := interval(s, now); got != want {
			t.Errorf("interval(%q) = %v, want %v", spec, got, want)
		}
	}
}
