package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/version"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/statuspage"
)

// pageSource is what the status pages (monitor/statuspage) read of the
// daemon: its state, its view, and the store in force.
type pageSource struct{ d *daemon }

func (s pageSource) Overview() statuspage.Overview {
	d := s.d
	g := d.gen.Load()
	o := statuspage.Overview{
		Version:   version.Info(),
		Redis:     g.conn.describe,
		KeyPrefix: g.cfg.Redis.KeyPrefix,
		Settings: []statuspage.Setting{
			{Key: "review.schedule", Value: g.cfg.Review.Schedule},
			{Key: "review.limit_business_days", Value: fmt.Sprint(g.cfg.Review.LimitBusinessDays)},
			{Key: "query.providers", Value: strings.Join(g.cfg.Query.ProviderList(), ", ")},
			{Key: "reach.grace", Value: statuspage.Duration(g.cfg.Reach.Grace)},
			{Key: "reach.watch_after_clear", Value: statuspage.Duration(g.cfg.Reach.WatchAfterClear)},
			{Key: "calendar covered until", Value: g.cal.CoveredUntil().String()},
			{Key: "calendar sources", Value: calendarSources(g.cal)},
		},
		Jobs: d.sched.status(),
	}
	o.Ready, o.NotReady = d.redis.ready()
	if lost := d.storeLost.Load(); lost != nil {
		o.StoreLost = *lost
	}
	if at := d.live.current.Load(); at != 0 {
		o.AsOf = time.Unix(0, at)
	}
	return o
}

func (s pageSource) Snapshot() *status.Snapshot { return s.d.expo.Snapshot() }

// Read reads one cancellation, its probe history and its history from the
// store in force, with the rules of the configuration in force.
func (s pageSource) Read(ctx context.Context, id string) (statuspage.Full, error) {
	g, release := s.d.acquire()
	defer release()
	c, err := g.conn.store.Get(ctx, id)
	if err != nil {
		return statuspage.Full{}, fmt.Errorf("read cancellation %s: %w", id, err)
	}
	history, err := g.conn.store.History(ctx, id)
	if err != nil {
		return statuspage.Full{}, fmt.Errorf("read the history of %s: %w", id, err)
	}
	return statuspage.Full{Cancellation: c, History: history, Rules: status.RulesOf(g.cfg, g.cal)}, nil
}

// calendarSources says where each year's holidays come from, e.g.
// "2019-2026 holiday-cn (embedded); 2027 lunar-go v1.4.7; other years provisional".
func calendarSources(cal *calendar.Calendar) string {
	var parts []string
	for _, r := range cal.Runs() {
		parts = append(parts, r.String())
	}
	return strings.Join(append(parts, "other years provisional (statutory holidays only)"), "; ")
}
