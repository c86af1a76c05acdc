package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the sentinels of StartSentinel know the master by.
const MasterName = "mymaster"

// Sentinel is a set of redis-sentinel processes watching one master.
type Sentinel struct {
	Nodes []*Server
	// master is the master the sentinels were started on: after Failover it
	// is a replica.
	master *Server
}

// connectedReplicas reads "connected_slaves:N" from INFO replication.
var connectedReplicas = regexp.MustCompile(`connected_slaves:(\d+)`)

// StartSentinel runs n sentinels (Debian's redis-sentinel) watching master
// under MasterName, with a quorum of a majority, and waits until every one
// of them knows the master, its replicas and the other sentinels. Start the
// replicas (StartReplica) first. Failure detection is slow (a master that
// dies is failed over some five seconds on), so that a loaded machine does
// not cause a failover: tests fail over with Failover, or by stopping the
// master.
func StartSentinel(t testing.TB, master *Server, n int) *Sentinel {
	t.Helper()
	ctx := context.Background()
	info, err := master.Client(t).Info(ctx, "replication").Result()
	if err != nil {
		t.Fatalf("read the replication state of %s: %v", master, err)
	}
	replicas := 0
	if m := connectedReplicas.FindStringSubmatch(info); m != nil {
		replicas, _ = strconv.Atoi(m[1])
	}

	host, port, _ := net.SplitHostPort(master.Addr)
	s := &Sentinel{master: master}
	for range n {
		node := &Server{Dir: t.TempDir()}
		conf := filepath.Join(node.Dir, "sentinel.conf")
		node.start(t, "redis-sentinel", func(p int) []string {
			// Sentinel insists on a config file of its own that it may rewrite.
			lines := []string{
				fmt.Sprintf("sentinel monitor %s %s %s %d", MasterName, host, port, n/2+1),
				fmt.Sprintf("sentinel down-after-milliseconds %s 5000", MasterName),
				fmt.Sprintf("sentinel failover-timeout %s 30000", MasterName),
			}
			if master.Password != "" {
				lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", MasterName, master.Password))
			}
			if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatalf("write %s: %v", conf, err)
			}
			return []string{conf, "--bind", "127.0.0.1", "--port", strconv.Itoa(p), "--dir", node.Dir,
				"--logfile", filepath.Join(node.Dir, "redis.log")}
		})
		s.Nodes = append(s.Nodes, node)
	}

	for _, node := range s.Nodes {
		c := redis.NewSentinelClient(&redis.Options{Addr: node.Addr})
		waitFor(t, 30*time.Second, fmt.Sprintf("sentinel %s sees %s, %d replicas and %d other sentinels", node.Addr, master.Addr, replicas, n-1), func() bool {
			addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
			if err != nil || net.JoinHostPort(addr[0], addr[1]) != master.Addr {
				return false
			}
			rs, err := c.Replicas(ctx, MasterName).Result()
			if err != nil || len(healthy(rs)) != replicas {
				return false
			}
			others, err := c.Sentinels(ctx, MasterName).Result()
			return err == nil && len(others) == n-1
		})
		_ = c.Close()
	}
	return s
}

// healthy keeps the replicas whose flags say nothing is wrong.
func healthy(replicas []map[string]string) []map[string]string {
	var out []map[string]string
	for _, r := range replicas {
		if r["flags"] == "slave" && r["master-link-status"] == "ok" {
			out = append(out, r)
		}
	}
	return out
}

// Addrs are the sentinels' addresses, as redis.addrs lists them.
func (s *Sentinel) Addrs() []string { return addrs(s.Nodes) }

// Master is the address of the master as the first sentinel knows it.
func (s *Sentinel) Master(t testing.TB) string {
	t.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Nodes[0].Addr})
	defer c.Close()
	addr, err := c.GetMasterAddrByName(context.Background(), MasterName).Result()
	if err != nil {
		t.Fatalf("ask sentinel %s for the master: %v", s.Nodes[0].Addr, err)
	}
	return net.JoinHostPort(addr[0], addr[1])
}

// Failover has the first sentinel promote a replica (SENTINEL FAILOVER) and
// waits until every sentinel names the new master, it has taken the role and
// the old master has become its replica. It returns the new master's address.
func (s *Sentinel) Failover(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	old := s.Master(t)
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Nodes[0].Addr})
	defer c.Close()
	// A failover refused because one is still settling is asked again.
	waitFor(t, 30*time.Second, "SENTINEL FAILOVER accepted", func() bool {
		return c.Failover(ctx, MasterName).Err() == nil
	})
	var promoted string
	for _, node := range s.Nodes {
		sc := redis.NewSentinelClient(&redis.Options{Addr: node.Addr})
		waitFor(t, 30*time.Second, fmt.Sprintf("sentinel %s names a new master", node.Addr), func() bool {
			addr, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
			if err != nil {
				return false
			}
			now := net.JoinHostPort(addr[0], addr[1])
			if now == old || (promoted != "" && now != promoted) {
				return false
			}
			promoted = now
			return true
		})
		_ = sc.Close()
	}
	waitRole(t, promoted, s.master.Password, "role:master")
	// Until the old master is demoted, a client that has not heard of the
	// failover may still write to it, and lose the write.
	waitRole(t, old, s.master.Password, "role:slave")
	return promoted
}

// waitRole waits until the server at addr reports role (e.g. "role:master")
// in INFO replication.
func waitRole(t testing.TB, addr, password, role string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password})
	defer c.Close()
	waitFor(t, 30*time.Second, addr+" has "+role, func() bool {
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, role)
	})
}
