package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/icpmon/icpmon/monitor/lease"
)

// leaseTTL bounds how long a crashed replica's lease outlives it: another
// replica takes over within two TTLs.
const leaseTTL = 30 * time.Second

// errStandby says another replica ran this tick: neither a success nor a
// failure of this replica, so it leaves the job's metrics alone.
var errStandby = errors.New("another replica ran this tick")

// leased runs a job that writes to the store under a Redis lease, so that of
// several replicas sharing one store exactly one runs each tick. Ticks are
// named by the start of their period, which every replica computes alike
// whenever within the period its own schedule fires.
type leased struct {
	Job
	elector *lease.Elector
	period  time.Duration
	// ready, when set, holds the run until the view's first load has ended
	// (deps.ready).
	ready <-chan struct{}
}

func (l *leased) Run(ctx context.Context) error {
	if l.ready != nil {
		select {
		case <-l.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tick := time.Now().Truncate(l.period)
	ran, err := l.elector.Run(ctx, tick, l.Job.Run)
	if err == nil && !ran {
		return errStandby
	}
	return err
}
