package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule limits: a schedule must fire, and an @every interval must be at
// least MinInterval; shorter than VisibleInterval is only a warning
// (check-config prints it and exits 0).
const (
	// MinInterval is the shortest @every: tests and demos run jobs every
	// few seconds, and cron cannot run anything faster than a second.
	MinInterval = time.Second
	// VisibleInterval is the shortest period Prometheus can tell apart:
	// three scrapes at prometheus.yml's 30 s. ICPMonitorJobStale counts a
	// shorter period as this long (alerts/icpmon.rules.yml).
	VisibleInterval = 90 * time.Second
	// fireHorizon is how far ahead a cron spec must fire at least twice;
	// robfig/cron itself gives up after five years.
	fireHorizon = 5 * 366 * 24 * time.Hour
)

// scheduleParser accepts the schedules deploy/icpmon.yml shows: 5 cron fields
// or descriptors such as @every.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a job schedule; the daemon schedules its jobs with it
// and check-config checks with it. It refuses what cron would run otherwise
// than written: cron.Every turns any @every under a second, negative ones
// included, into every second, and a spec that never fires (0 0 31 2 *) would
// stop its job for good.
func ParseSchedule(spec string) (cron.Schedule, error) {
	return parseSchedule(spec, time.Now())
}

func parseSchedule(spec string, now time.Time) (cron.Schedule, error) {
	s, err := scheduleParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	if _, ok := s.(cron.ConstantDelaySchedule); ok {
		d, err := everyInterval(spec)
		if err != nil {
			return nil, err
		}
		return cron.ConstantDelaySchedule{Delay: d}, nil
	}
	first := s.Next(now)
	if first.IsZero() || first.Sub(now) > fireHorizon {
		return nil, fmt.Errorf("never fires (no time matches it in the next five years)")
	}
	if second := s.Next(first); second.IsZero() || second.Sub(first) > fireHorizon {
		return nil, fmt.Errorf("fires only once (at %s)", first.Format(time.RFC3339))
	}
	return s, nil
}

// everyInterval reads the duration of an @every spec itself: cron.Every has
// already rounded it up to a second, negative or zero ones included.
func everyInterval(spec string) (time.Duration, error) {
	rest := strings.TrimSpace(spec)
	if strings.HasPrefix(rest, "TZ=") || strings.HasPrefix(rest, "CRON_TZ=") {
		_, rest, _ = strings.Cut(rest, " ") // a zone means nothing to an interval
		rest = strings.TrimSpace(rest)
	}
	d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(rest, "@every")))
	if err != nil {
		return 0, fmt.Errorf("@every: %w", err)
	}
	if d < MinInterval {
		return 0, fmt.Errorf("@every %s: want an interval of at least %s", d, MinInterval)
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("@every %s: want whole seconds (cron would run it every %s)", d, d.Truncate(time.Second))
	}
	return d, nil
}

// ScheduleInterval is a schedule's period: the @every duration, or the gap
// between its next two runs after now. It is the daemon's
// icpmon_job_interval_seconds, which ICPMonitorJobStale reads.
func ScheduleInterval(s cron.Schedule, now time.Time) time.Duration {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return c.Delay
	}
	next := s.Next(now)
	return s.Next(next).Sub(next)
}

// Warnings lists what is legal but will not work as the operator likely
// expects: a job that runs more often than Prometheus can see.
func (c *Config) Warnings() Problems {
	now := time.Now()
	var out Problems
	for _, j := range []struct{ key, spec string }{
		{"review.schedule", c.Review.Schedule},
		{"query.schedule", c.Query.Schedule},
		{"reach.schedule", c.Reach.Schedule},
	} {
		s, err := ParseSchedule(j.spec)
		if err != nil {
			continue // a problem, reported by Validate
		}
		if d := ScheduleInterval(s, now); d < VisibleInterval {
			out = append(out, Problem{Key: j.key, Message: fmt.Sprintf(
				"runs every %s, more often than Prometheus sees (three 30 s scrapes, %s): ICPMonitorJobStale counts it as %s",
				d, VisibleInterval, VisibleInterval)})
		}
	}
	return out
}
