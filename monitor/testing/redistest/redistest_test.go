package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestPassword(t *testing.T) {
	s := StartPassword(t, "pa55 word")
	ctx := context.Background()
	if err := s.Client(t).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("with the password: %v", err)
	}
	anonymous := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer anonymous.Close()
	if err := anonymous.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Errorf("without the password: %v, want NOAUTH", err)
	}
	o, err := redis.ParseURL(s.URL())
	if err != nil || o.Password != "pa55 word" || o.Addr != s.Addr {
		t.Errorf("URL %s parses to %+v, %v", s.URL(), o, err)
	}
}

func TestTLS(t *testing.T) {
	s := StartTLS(t)
	ctx := context.Background()
	if !strings.HasPrefix(s.URL(), "rediss://") {
		t.Errorf("URL %s", s.URL())
	}
	if err := s.Client(t).Ping(ctx).Err(); err != nil {
		t.Fatalf("TLS with the CA: %v", err)
	}
	plain := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("a plain-TCP client got an answer from the TLS-only server")
	}
	stranger := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: NewCA(t).Pool}})
	defer stranger.Close()
	if err := stranger.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS trusting another CA: %v, want a certificate error", err)
	}
	// The certificate also names localhost.
	byName := redis.NewClient(&redis.Options{Addr: strings.Replace(s.Addr, "127.0.0.1", "localhost", 1),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: s.CA.Pool}})
	defer byName.Close()
	if err := byName.Ping(ctx).Err(); err != nil {
		t.Errorf("TLS to localhost: %v", err)
	}
}

func TestSentinel(t *testing.T) {
	master := StartPassword(t, "s3cret")
	replica := StartReplica(t, master)
	sentinel := StartSentinel(t, master, 3)
	if len(sentinel.Addrs()) != 3 {
		t.Fatalf("addrs %v", sentinel.Addrs())
	}
	if got := sentinel.Master(t); got != master.Addr {
		t.Fatalf("sentinel names master %s, want %s", got, master.Addr)
	}
	// A client that knows only the sentinels writes to the master, and the
	// replica follows.
	fc := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: MasterName, SentinelAddrs: sentinel.Addrs(), Password: master.Password,
	})
	defer fc.Close()
	ctx := context.Background()
	if err := fc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := master.Client(t).Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("master holds k = %q, %v", v, err)
	}
	rc := replica.Client(t)
	waitFor(t, 10*time.Second, "the replica has k", func() bool { return rc.Get(ctx, "k").Val() == "v" })
}

func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	cc := c.Client(t)
	ctx := context.Background()
	for i := range 30 {
		if err := cc.Set(ctx, fmt.Sprintf("key%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	holders := 0
	for _, n := range c.Nodes {
		if n.Client(t).DBSize(ctx).Val() > 0 {
			holders++
		}
	}
	if holders != 3 {
		t.Errorf("keys spread over %d nodes, want 3", holders)
	}
	bySlot := c.KeysBySlot(t)
	total := 0
	for _, keys := range bySlot {
		total += len(keys)
	}
	if total != 30 || len(bySlot) < 2 {
		t.Errorf("KeysBySlot found %d keys in %d slots", total, len(bySlot))
	}
}
