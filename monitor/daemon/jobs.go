package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/icpmon/icpmon/monitor/assemble"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lease"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/query"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/store"
)

// Job is one scheduled piece of work. Jobs talk to each other only through
// the store, whose change notices bring what they write to the view.
type Job interface {
	// Name labels the job in metrics and logs: review, query, reach.
	Name() string
	// Run does one run. It should return soon after ctx is cancelled.
	Run(ctx context.Context) error
}

// deps is what jobs are built from: one configuration and its resources.
type deps struct {
	cfg    *config.Config
	parts  *assemble.Parts // the calendar, the query chain and the prober
	store  *store.Store
	rdb    redis.UniversalClient // the store's client, for the job leases
	probes *metrics.Probes       // the reach job's probe errors (a reach.Recorder)
	log    *slog.Logger
	now    func() time.Time
	// tick brings the view to the day and reports whether it is current.
	tick func(ctx context.Context) error
	// ready is closed once the view's first load has ended: the jobs that
	// read the store wait for it.
	ready <-chan struct{}
}

// scheduledJob is a job with the schedule of its configuration section.
type scheduledJob struct {
	job      Job
	spec     string
	schedule cron.Schedule
	conn     *conn // the Redis connection of the job's generation
}

// jobs builds every job of one configuration. Adding a job is one line here.
func jobs(d deps) ([]scheduledJob, error) {
	// Every replica keeps its own view (review); the jobs that write to the
	// store run under a lease, once per tick across replicas.
	return schedule(d,
		on(d.cfg.Review.Schedule, &reviewJob{d: d}),
		onLeased(d.cfg.Query.Schedule, query.New(query.Options{
			Store: d.store, Chain: d.parts.Chain,
			Confirmations: d.cfg.Query.Confirmations, Budget: d.cfg.Query.SweepBudget, Now: d.now, Logger: d.log,
		})),
		onLeased(d.cfg.Reach.Schedule, reach.New(reach.Options{
			Store: d.store, Prober: d.parts.Prober, Recorder: d.probes, WatchAfterClear: d.cfg.Reach.WatchAfterClear, Now: d.now, Logger: d.log,
		})),
	)
}

type jobSpec struct {
	spec   string
	job    Job
	leased bool
}

func on(spec string, j Job) jobSpec       { return jobSpec{spec: spec, job: j} }
func onLeased(spec string, j Job) jobSpec { return jobSpec{spec: spec, job: j, leased: true} }

func schedule(d deps, specs ...jobSpec) ([]scheduledJob, error) {
	out := make([]scheduledJob, 0, len(specs))
	for _, s := range specs {
		sched, err := config.ParseSchedule(s.spec)
		if err != nil {
			return nil, fmt.Errorf("%s schedule %q: %w", s.job.Name(), s.spec, err)
		}
		j := s.job
		if s.leased {
			key := "{" + d.cfg.Redis.KeyPrefix + "}:lease:" + j.Name()
			j = &leased{Job: j, elector: lease.New(d.rdb, key, leaseTTL, lease.WithLogger(d.log)), period: interval(sched, d.now()), ready: d.ready}
		}
		out = append(out, scheduledJob{job: j, spec: s.spec, schedule: sched})
	}
	return out, nil
}

// reviewJob keeps the reviews measured: at China midnight every pending
// review's business days move, and a review falls overdue. It reads
// nothing from Redis; it fails while the view is not the store's.
type reviewJob struct{ d deps }

const reviewJobName = "review"

func (j *reviewJob) Name() string { return reviewJobName }

func (j *reviewJob) Run(ctx context.Context) error { return j.d.tick(ctx) }
