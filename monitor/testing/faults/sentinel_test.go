package faults_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// TestSentinelFailover kills the master under Sentinel while a sweep is
// halfway; Sentinel promotes the replica and the daemon, which knows Redis
// only through Sentinel, must follow it with nothing lost.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t, "--appendonly", "yes")
	replica := redistest.StartReplica(t, master, "--appendonly", "yes")
	// One sentinel (quorum 1): it fails the killed master over on its own.
	sen := redistest.StartSentinel(t, master, 1)
	sc := redis.NewSentinelClient(&redis.Options{Addr: sen.Nodes[0].Addr})
	t.Cleanup(func() { _ = sc.Close() })
	eventually(t, "Sentinel knows the replica", func() (bool, string) {
		reps, err := sc.Replicas(context.Background(), redistest.MasterName).Result()
		if err != nil || len(reps) != 1 {
			return false, fmt.Sprint(reps, err)
		}
		flags := reps[0]["flags"]
		return flags == "slave" && reps[0]["master-link-status"] == "ok", fmt.Sprint(reps[0])
	})

	failover := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.MasterName, SentinelAddrs: []string{sen.Nodes[0].Addr}})
	w := newWorldOn(t, master, failover)
	ids := w.track(tracked, removedIDs()...)
	// The replica has everything tracked before the fault.
	if err := failover.Do(context.Background(), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatal(err)
	}
	held := w.gate.hold(15)
	d := startDaemon(t, daemon.Options{ConfigFile: w.config(fmt.Sprintf("  addrs: [%q]\n  master_name: %s", sen.Nodes[0].Addr, redistest.MasterName), "")})
	await(t, "the first sweep's 15th lookup", held)

	master.Stop() // SIGKILL: Sentinel sees it down and promotes the replica
	failedAt := time.Now()
	op := withdraw(w.store, withdrawnIdx)
	w.gate.open()
	eventually(t, "Sentinel promotes the replica", func() (bool, string) {
		addr, err := sc.GetMasterAddrByName(context.Background(), redistest.MasterName).Result()
		return err == nil && net.JoinHostPort(addr[0], addr[1]) == replica.Addr, fmt.Sprint(addr, err)
	})
	// The outage lasts as long as Sentinel takes, so the daemon's own log is
	// the record that it noticed, whatever the moment of the next scrape.
	eventually(t, "the daemon logs Redis unreachable", func() (bool, string) {
		return strings.Contains(d.logs.String(), `"msg":"Redis unreachable"`), "not yet"
	})
	d.redisState(true)
	t.Logf("sweep writes refused during the failover: %d", w.recovered(d, failedAt, op, nil, ids))
	if !strings.Contains(sen.Nodes[0].Log(), "+switch-master") {
		t.Errorf("Sentinel's log shows no switch of master:\n%s", sen.Nodes[0].Log())
	}
}
