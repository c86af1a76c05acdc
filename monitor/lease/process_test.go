package lease

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// The replica processes of TestReplicaProcesses are this test binary run
// again with these variables set.
const (
	envReplica = "ICPMON_LEASE_TEST_REPLICA" // its name
	envRedis   = "ICPMON_LEASE_TEST_REDIS"   // host:port
)

// The replicas' schedule: a tick every step, named by its scheduled time as
// both compute it, and the lease's TTL.
const (
	step       = 100 * time.Millisecond
	processTTL = time.Second
	runsKey    = "{test}:runs" // hash: tick (Unix ms) -> runs
	whoKey     = "{test}:who"  // hash: tick -> replica that ran it
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envReplica); name != "" {
		os.Exit(replicaMain(name, os.Getenv(envRedis)))
	}
	os.Exit(m.Run())
}

// replicaMain is a stand-in for `icpmon serve` with one job: it stands for
// the lease and runs each tick it may, until SIGTERM.
func replicaMain(name, addr string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("replica", name)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	e := New(rdb, key, processTTL, WithLogger(log))
	kept := make(chan struct{})
	go func() { defer close(kept); e.Keep(ctx) }()
	defer func() { <-kept }()
	for {
		next := time.Now().Truncate(step).Add(step)
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Until(next)):
		}
		at := strconv.FormatInt(next.UnixMilli(), 10)
		_, err := e.Run(ctx, next, func(ctx context.Context) error {
			if err := rdb.HIncrBy(ctx, runsKey, at, 1).Err(); err != nil {
				return err
			}
			return rdb.HSet(ctx, whoKey, at, name).Err()
		})
		if err != nil && ctx.Err() == nil {
			log.Error("run failed", "tick", at, "err", err)
		}
	}
}

// TestReplicaProcesses runs two replicas as processes against one Redis,
// kills the leader with SIGKILL, and checks that the other takes over and
// that no tick ever ran twice.
func TestReplicaProcesses(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	procs := map[string]*exec.Cmd{}
	for _, name := range []string{"a", "b"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envReplica+"="+name, envRedis+"="+srv.Addr)
		out := &harness.Log{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("replica %s:\n%s", name, out.String())
			}
		})
	}

	// latest is the latest tick run and who ran it.
	latest := func() (int64, string) {
		who, err := rdb.HGetAll(ctx, whoKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		var at int64
		var by string
		for k, v := range who {
			if n, _ := strconv.ParseInt(k, 10, 64); n > at {
				at, by = n, v
			}
		}
		return at, by
	}
	harness.WaitUntil(t, slack, "ten ticks run", func() bool { return rdb.HLen(ctx, runsKey).Val() >= 10 })
	lastByLeader, leader := latest()
	other := map[string]string{"a": "b", "b": "a"}[leader]
	killed := time.Now()
	if err := procs[leader].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = procs[leader].Wait()
	// A tick in flight when it died may still have been recorded.
	var takeover int64
	harness.WaitUntil(t, 2*processTTL+slack, "the other replica takes over", func() bool {
		at, by := latest()
		if by == other && at > lastByLeader {
			takeover = at
			return true
		}
		return false
	})
	t.Logf("replica %s killed; %s ran tick %d %v later (TTL %v)", leader, other,
		takeover, time.Since(killed).Round(time.Millisecond), processTTL)
	harness.WaitUntil(t, slack, "the new leader runs five more ticks", func() bool {
		who, err := rdb.HGetAll(ctx, whoKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for k, v := range who {
			if at, _ := strconv.ParseInt(k, 10, 64); at > takeover && v == other {
				n++
			}
		}
		return n >= 5
	})

	if err := procs[other].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := procs[other].Wait(); err != nil {
		t.Fatalf("replica %s did not stop cleanly: %v", other, err)
	}
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("the lease outlived the replica's shutdown")
	}
	runs, err := rdb.HGetAll(ctx, runsKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	for at, n := range runs {
		if n != "1" {
			t.Errorf("tick %s ran %s times", at, n)
		}
	}
	t.Logf("%d ticks, each run once", len(runs))
}
