package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// slots is the number of hash slots of Redis Cluster.
const slots = 16384

// Cluster is a Redis Cluster of masters without replicas, every slot assigned.
type Cluster struct {
	Nodes []*Server
}

// StartCluster runs n redis-server nodes with --cluster-enabled, splits the
// slots between them in even ranges (CLUSTER ADDSLOTSRANGE), joins them
// (CLUSTER MEET) and waits until every node sees all n and the cluster is ok.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	ctx := context.Background()
	c := &Cluster{}
	buses := make([]int, n)
	for i := range n {
		node := &Server{Dir: t.TempDir()}
		node.start(t, "redis-server", func(port int) []string {
			// The bus port is chosen rather than port+10000, which may be taken or out of range.
			buses[i] = harness.FreePort(t)
			for buses[i] == port {
				buses[i] = harness.FreePort(t)
			}
			return node.plainArgs(port, []string{
				"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(buses[i]),
				"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
			})
		})
		c.Nodes = append(c.Nodes, node)
	}

	first := c.Nodes[0].Client(t)
	for i, node := range c.Nodes {
		nc := node.Client(t)
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if err := nc.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatalf("assign slots %d-%d to %s: %v", lo, hi, node, err)
		}
		if i == 0 {
			continue
		}
		host, port, _ := net.SplitHostPort(node.Addr)
		if err := first.Do(ctx, "CLUSTER", "MEET", host, port, buses[i]).Err(); err != nil {
			t.Fatalf("introduce %s to the cluster: %v", node, err)
		}
	}
	want := fmt.Sprintf("cluster_known_nodes:%d", n)
	for _, node := range c.Nodes {
		nc := node.Client(t)
		waitFor(t, 30*time.Second, fmt.Sprintf("%s sees a whole cluster of %d", node, n), func() bool {
			info, err := nc.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, want) && strings.Contains(info, fmt.Sprintf("cluster_slots_ok:%d", slots))
		})
	}
	return c
}

// Addrs are the nodes' addresses: the seeds of redis.addrs.
func (c *Cluster) Addrs() []string { return addrs(c.Nodes) }

func addrs(servers []*Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr
	}
	return out
}

// Client returns a cluster client closed at the end of the test.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// KeysBySlot lists every key in the cluster under its hash slot, asking each
// node for the keys it holds.
func (c *Cluster) KeysBySlot(t testing.TB) map[int64][]string {
	t.Helper()
	ctx := context.Background()
	out := map[int64][]string{}
	for _, node := range c.Nodes {
		nc := redis.NewClient(node.Options())
		var cursor uint64
		for {
			keys, next, err := nc.Scan(ctx, cursor, "*", 1000).Result()
			if err != nil {
				_ = nc.Close()
				t.Fatalf("scan %s: %v", node, err)
			}
			for _, k := range keys {
				slot, err := nc.ClusterKeySlot(ctx, k).Result()
				if err != nil {
					_ = nc.Close()
					t.Fatalf("CLUSTER KEYSLOT %q: %v", k, err)
				}
				out[slot] = append(out[slot], k)
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		_ = nc.Close()
	}
	return out
}
