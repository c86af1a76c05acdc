package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lease"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/sweep"
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
	cal    *calendar.Calendar
	store  *store.Store
	rdb    redis.UniversalClient // the store's client, for the job leases
	query  *metrics.Query        // the query job's metrics (a lookup.Recorder)
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
	providers, err := lookup.NewProviders(d.cfg.Query, d.log, lookup.Hooks{OnCaptcha: d.query.ObserveCaptcha})
	if err != nil {
		return nil, err
	}
	chain, err := lookup.NewChain(providers, d.cfg.Query.Canary, d.query, d.log)
	if err != nil {
		return nil, err
	}
	probes, err := newProber(d.cfg.Reach, d.log)
	if err != nil {
		return nil, err
	}
	// Every replica keeps its own view (review); the jobs that write to the
	// store run under a lease, once per tick across replicas.
	return schedule(d,
		on(d.cfg.Review.Schedule, &reviewJob{d: d}),
		onLeased(d.cfg.Query.Schedule, sweep.New(sweep.Options{
			Store: d.store, Chain: chain,
			Confirmations: d.cfg.Query.Confirmations, Budget: d.cfg.Query.SweepBudget, Now: d.now, Logger: d.log,
		})),
		onLeased(d.cfg.Reach.Schedule, reach.New(reach.Options{
			Store: d.store, Prober: probes, Recorder: d.probes, WatchAfterClear: d.cfg.Reach.WatchAfterClear, Now: d.now, Logger: d.log,
		})),
	)
}

// newProber builds the reach job's prober from its configuration section.
func newProber(r config.Reach, log *slog.Logger) (*prober.Prober, error) {
	sigs := make([]prober.Signature, len(r.Signatures))
	for i, s := range r.Signatures {
		sigs[i] = prober.Signature{Name: s.Name, Status: s.Status, Header: s.Header, HeaderContains: s.HeaderContains,
			BodyContains: s.BodyContains, RedirectHost: s.RedirectHost}
	}
	roots, err := r.RootCAs() // the system roots plus reach.ca_file's: a public site must still count as served
	if err != nil {
		return nil, err
	}
	p, err := prober.New(prober.Options{Timeout: r.Timeout, Resolve: r.Resolve, Signatures: sigs, Concurrency: r.Concurrency,
		RootCAs: roots, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("reach: %w", err)
	}
	return p, nil
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
