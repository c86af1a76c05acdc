package lease

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// oneNodeCluster is a Redis Cluster of one node holding every slot: enough
// for Redis to refuse a script whose keys are in different slots.
func oneNodeCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	srv := redistest.Start(t, "--cluster-enabled", "yes")
	node := srv.Client(t)
	ctx := context.Background()
	if err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("assign the slots: %v", err)
	}
	harness.WaitUntil(t, slack, "the cluster is up", func() bool {
		info, err := node.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestCluster(t *testing.T) {
	c := oneNodeCluster(t)
	ctx := context.Background()
	const ttl = time.Second

	e := New(c, key, ttl)
	if ran, err := e.Run(ctx, tick(1), func(context.Context) error { return nil }); !ran || err != nil {
		t.Fatalf("Run on Cluster = %v, %v", ran, err)
	}
	ctxKeep, stop := context.WithCancel(ctx)
	kept := make(chan struct{})
	go func() { defer close(kept); e.Keep(ctxKeep) }()
	harness.WaitUntil(t, slack, "Keep obtains the lease on Cluster", e.Held)
	stop()
	<-kept
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("the lease is still there after Keep: %d, %v", n, err)
	}

	// Without a hash tag the lease and its mark land in different slots,
	// which Cluster refuses: the error says so rather than a tick running
	// unguarded.
	untagged := New(c, "test:lease:review", ttl)
	ran, err := untagged.Run(ctx, tick(1), func(context.Context) error {
		t.Error("ran without a claim")
		return nil
	})
	if ran || err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("Run with an untagged key on Cluster = %v, %v; want a CROSSSLOT error", ran, err)
	}
}
