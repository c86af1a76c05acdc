package lease

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// Two replicas share a real three-master cluster, each with its own client
// built from the configuration as icpmon builds it: each tick runs once,
// the standby takes over when the leader goes, and the lease and its mark
// stay in the slot of their hash tag.
func TestClusterThreeNodes(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	const ttl = 500 * time.Millisecond
	client := func() redis.UniversalClient {
		o, err := config.Redis{Addrs: cluster.Addrs(), Cluster: true}.ClientOptions()
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewUniversalClient(o)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	electors := []*Elector{New(client(), key, ttl), New(client(), key, ttl)}
	stops := make([]context.CancelFunc, len(electors))
	kept := make([]chan struct{}, len(electors))
	for i, e := range electors {
		ctx, cancel := context.WithCancel(context.Background())
		stops[i], kept[i] = cancel, make(chan struct{})
		go func() { defer close(kept[i]); e.Keep(ctx) }()
		t.Cleanup(func() { cancel(); <-kept[i] })
	}
	harness.WaitUntil(t, slack, "one replica holds the lease", func() bool {
		return electors[0].Held() || electors[1].Held()
	})

	const ticks = 10
	for i := range ticks {
		runTickOnce(t, electors, i, func(context.Context) error { return nil })
	}

	bySlot := cluster.KeysBySlot(t)
	if len(bySlot) != 1 {
		t.Fatalf("lease keys in %d slots: %v", len(bySlot), bySlot)
	}
	for _, keys := range bySlot {
		for _, k := range keys {
			if !strings.HasPrefix(k, "{test}:") {
				t.Errorf("key %q outside the hash tag", k)
			}
		}
	}

	leader, standby := 0, 1
	if !electors[0].Held() {
		leader, standby = 1, 0
	}
	stops[leader]()
	<-kept[leader]
	harness.WaitUntil(t, slack, "the standby takes over", electors[standby].Held)
	if ran, err := electors[standby].Run(context.Background(), tick(ticks), func(context.Context) error { return nil }); !ran || err != nil {
		t.Fatalf("the new leader's Run of tick %d = %v, %v", ticks, ran, err)
	}
}
