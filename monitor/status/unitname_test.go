package status_test

import (
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

// The unit name is a label /metrics exposes: learning it, or a new one, is a
// change of state, which a lookup with the same name is not.
func TestViewUnitNameIsState(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, calendar.China)
	yes := true
	c := pending("a", calendar.NewDate(2026, 3, 2))
	c.Record = cancellation.Record{Present: &yes, CheckedAt: now.Add(-time.Hour)}
	v := status.NewView(rules(t))
	v.Load([]cancellation.Cancellation{c}, nil, now)
	v.Snapshot(now)

	for _, step := range []struct {
		unit  string
		state bool
	}{{"小米科技有限责任公司", true}, {"小米科技有限责任公司", false}, {"北京小米科技有限责任公司", true}} {
		c.Version++
		c.Record.UnitName = step.unit
		v.Apply([]cancellation.Cancellation{c}, nil, nil, now)
		s, changed := v.Snapshot(now)
		if !changed.Changed || changed.State != step.state || s.Tracked[0].Record.UnitName != step.unit {
			t.Errorf("unit name %q: changed %+v, standing shows %q; want a change of state %v",
				step.unit, changed, s.Tracked[0].Record.UnitName, step.state)
		}
	}
}
