package faults_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// masterName is the Sentinel name of the suite's master.
const masterName = "faults"

// sentinel is a redis-sentinel watching one master, alone (quorum 1), with
// short timers so that a failover takes seconds.
type sentinel struct {
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startSentinel(t *testing.T, master string) *sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		t.Fatalf("redis-sentinel not installed (`make test` installs it): %v", err)
	}
	host, port, err := net.SplitHostPort(master)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	own := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &sentinel{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(own)), dir: t.TempDir()}
	conf := filepath.Join(s.dir, "sentinel.conf") // Sentinel rewrites it: it must be its own
	body := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor %s %s %s 1
sentinel down-after-milliseconds %s 500
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 1
`, own, s.dir, filepath.Join(s.dir, "sentinel.log"), masterName, host, port, masterName, masterName, masterName)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, conf)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-sentinel: %v", err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
	return s
}

// client is a client of the Sentinel itself.
func (s *sentinel) client(t *testing.T) *redis.SentinelClient {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *sentinel) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
	return string(b)
}

// TestSentinelFailover kills the master under Sentinel while a sweep is
// halfway; Sentinel promotes the replica and the daemon, which knows Redis
// only through Sentinel, must follow it with nothing lost.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t, "--appendonly", "yes")
	_, masterPort, _ := net.SplitHostPort(master.Addr)
	replica := redistest.Start(t, "--appendonly", "yes", "--replicaof", "127.0.0.1", masterPort)
	sen := startSentinel(t, master.Addr)
	sc := sen.client(t)
	eventually(t, "Sentinel knows the replica", func() (bool, string) {
		reps, err := sc.Replicas(context.Background(), masterName).Result()
		if err != nil || len(reps) != 1 {
			return false, fmt.Sprint(reps, err)
		}
		flags := reps[0]["flags"]
		return flags == "slave" && reps[0]["master-link-status"] == "ok", fmt.Sprint(reps[0])
	})

	failover := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: masterName, SentinelAddrs: []string{sen.addr}})
	w := newWorldOn(t, master, failover)
	ids := w.track(tracked, removedIDs()...)
	// The replica has everything tracked before the fault.
	if err := failover.Do(context.Background(), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatal(err)
	}
	held := w.gate.hold(15)
	d := startDaemon(t, daemon.Options{ConfigFile: w.config(fmt.Sprintf("  addrs: [%q]\n  master_name: %s", sen.addr, masterName), "")})
	await(t, "the first sweep's 15th lookup", held)

	master.Stop() // SIGKILL: Sentinel sees it down and promotes the replica
	failedAt := time.Now()
	op := withdraw(w.store, withdrawnIdx)
	w.gate.open()
	eventually(t, "Sentinel promotes the replica", func() (bool, string) {
		addr, err := sc.GetMasterAddrByName(context.Background(), masterName).Result()
		return err == nil && net.JoinHostPort(addr[0], addr[1]) == replica.Addr, fmt.Sprint(addr, err)
	})
	// The outage lasts as long as Sentinel takes, so the daemon's own log is
	// the record that it noticed, whatever the moment of the next scrape.
	eventually(t, "the daemon logs Redis unreachable", func() (bool, string) {
		return strings.Contains(d.logs.String(), `"msg":"Redis unreachable"`), "not yet"
	})
	d.redisState(true)
	settled(t, w, d, failedAt)
	await(t, "the operator", op.done)
	d.stop()

	res := audit(t, failover, ids)
	op.check(t, res.cs)
	checkOutcome(t, res.cs)
	t.Logf("sweep writes refused during the failover: %d", failedWrites(d))
	if !strings.Contains(sen.log(), "+switch-master") {
		t.Errorf("Sentinel's log shows no switch of master:\n%s", sen.log())
	}
}
