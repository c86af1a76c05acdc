package daemon

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/statuspage"
)

// errPanicked marks a run that panicked; cron.Recover logs the panic itself.
var errPanicked = errors.New("job panicked")

// scheduler runs the jobs on one cron for the daemon's lifetime. A reload
// swaps each job's implementation and schedule, but keeps its slot, so the
// no-overlap guard holds across reloads too.
type scheduler struct {
	ctx     context.Context // the jobs' context
	log     *slog.Logger
	metrics *metrics.Jobs
	now     func() time.Time
	cron    *cron.Cron
	runs    sync.WaitGroup // runs started outside cron: at start and at reload

	mu      sync.Mutex
	slots   map[string]*slot
	stopped bool // no run starts outside cron once stop has begun
}

// slot is one named job: what it runs now, and how its last run went.
type slot struct {
	name    string
	job     atomic.Pointer[scheduledJob]
	wrapped cron.Job // SkipIfStillRunning + Recover, applied once
	entry   cron.EntryID

	mu        sync.Mutex
	lastStart time.Time
	lastTook  time.Duration
	lastErr   error
	lastOK    time.Time
	ran       bool
}

// newScheduler starts a scheduler whose jobs run under ctx, log to log, are
// measured in m, and read the time from now.
func newScheduler(ctx context.Context, log *slog.Logger, m *metrics.Jobs, now func() time.Time) *scheduler {
	// Five-field schedules are read in China time, like every date icpmon
	// handles; "CRON_TZ=..." in a schedule still picks another zone.
	c := cron.New(cron.WithLocation(calendar.China), cron.WithLogger(cronLogger{log}))
	c.Start()
	return &scheduler{ctx: ctx, log: log, metrics: m, now: now, cron: c, slots: map[string]*slot{}}
}

// apply puts jobs in force: a new job is scheduled and also run once now; a
// known one gets its new implementation and schedule; one no longer listed
// is unscheduled.
func (s *scheduler) apply(jobs []scheduledJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	listed := map[string]bool{}
	for i := range jobs {
		j := &jobs[i]
		name := j.job.Name()
		listed[name] = true
		sl, known := s.slots[name]
		if !known {
			sl = &slot{name: name}
			l := cronLogger{s.log.With("job", name)}
			// Recover inside the guard: a panic through SkipIfStillRunning
			// would keep its token and skip every later tick.
			sl.wrapped = cron.NewChain(cron.SkipIfStillRunning(l), cron.Recover(l)).Then(cron.FuncJob(func() { s.run(sl) }))
			s.slots[name] = sl
		} else {
			s.cron.Remove(sl.entry)
		}
		sl.job.Store(j)
		sl.entry = s.cron.Schedule(j.schedule, sl.wrapped)
		s.metrics.SetInterval(name, interval(j.schedule, time.Now().In(calendar.China)))
		if !known {
			s.runs.Go(sl.wrapped.Run)
		}
	}
	for name, sl := range s.slots {
		if !listed[name] {
			s.cron.Remove(sl.entry)
			delete(s.slots, name)
			s.metrics.Forget(name)
		}
	}
}

// run is one run of a slot's job, inside the cron wrappers.
func (s *scheduler) run(sl *slot) {
	// Hold the job's Redis connection for the run. A reload may have closed
	// it since the slot was read; the slot then already has the new job.
	j := sl.job.Load()
	for !j.conn.hold() {
		j = sl.job.Load()
	}
	defer j.conn.drop()
	s.log.Debug("job started", "job", sl.name)
	start := time.Now()
	err := errPanicked
	defer func() {
		took := time.Since(start)
		if errors.Is(err, errStandby) {
			s.log.Debug("job left to another replica", "job", sl.name)
			return
		}
		end := s.now()
		s.metrics.Observe(sl.name, end, took, err)
		sl.mu.Lock()
		sl.lastStart, sl.lastTook, sl.lastErr, sl.ran = start, took, err, true
		if err == nil {
			sl.lastOK = end
		}
		sl.mu.Unlock()
		if err != nil {
			s.log.Error("job failed", "job", sl.name, "duration", took, "err", err)
		} else {
			s.log.Debug("job done", "job", sl.name, "duration", took)
		}
	}()
	err = j.job.Run(s.ctx)
}

// stop ends scheduling and waits up to timeout for running jobs; it reports
// whether they all finished.
func (s *scheduler) stop(timeout time.Duration) bool {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	cronDone := s.cron.Stop()
	done := make(chan struct{})
	go func() {
		<-cronDone.Done()
		s.runs.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// jobStatus is how one job's last run went, as the status page shows it.
type jobStatus = statuspage.Job

// status lists the jobs in force, in name order.
func (s *scheduler) status() []jobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]jobStatus, 0, len(s.slots))
	for name, sl := range s.slots {
		st := jobStatus{Name: name, Schedule: sl.job.Load().spec, Next: s.cron.Entry(sl.entry).Next}
		sl.mu.Lock()
		st.LastStart, st.LastTook, st.LastOK, st.Ran = sl.lastStart, sl.lastTook, sl.lastOK, sl.ran
		if sl.lastErr != nil {
			st.LastErr = sl.lastErr.Error()
		}
		sl.mu.Unlock()
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b jobStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// interval is a schedule's period, as check-config computes it for its
// warnings: the schedules come from config.ParseSchedule (jobs.go), which
// refuses an @every under a second and a spec that never fires.
func interval(s cron.Schedule, now time.Time) time.Duration { return config.ScheduleInterval(s, now) }

// cronLogger adapts slog to cron's logger: its chatter (start, wake, run) is
// debug; a skipped tick is worth an info line; panics are errors.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.l.Info("previous run still going; tick skipped", kv...)
		return
	}
	c.l.Debug("cron "+msg, kv...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron "+msg, append(kv, "err", err)...)
}
