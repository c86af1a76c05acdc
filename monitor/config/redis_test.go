package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// ping connects with the options r builds and returns the outcome of a PING.
func ping(t *testing.T, r Redis) error {
	t.Helper()
	o, err := r.ClientOptions()
	if err != nil {
		return err
	}
	o.MaxRetries, o.DialTimeout = -1, 5*time.Second
	c := redis.NewUniversalClient(o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Every way of asking for TLS with a private CA reaches a real TLS-only
// Redis; every way of trusting the wrong party fails with a certificate error.
func TestRedisTLS(t *testing.T) {
	srv := redistest.StartTLS(t)
	ca := srv.CA.CertFile
	other := redistest.NewCA(t).CertFile
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rediss := "rediss://" + srv.Addr + "/0"
	localhost := "rediss://" + strings.Replace(srv.Addr, "127.0.0.1", "localhost", 1) + "/0"

	works := []struct {
		name  string
		redis Redis
	}{
		{"rediss URL with ca_file", Redis{URL: rediss, TLS: RedisTLS{CAFile: ca}}},
		{"rediss URL with enabled and ca_file", Redis{URL: rediss, TLS: RedisTLS{Enabled: true, CAFile: ca}}},
		{"rediss URL by host name", Redis{URL: localhost, TLS: RedisTLS{CAFile: ca}}},
		{"redis URL with enabled", Redis{URL: "redis://" + srv.Addr + "/0", TLS: RedisTLS{Enabled: true, CAFile: ca}}},
		{"addrs with enabled", Redis{Addrs: []string{srv.Addr}, TLS: RedisTLS{Enabled: true, CAFile: ca}}},
		{"server_name the certificate holds", Redis{URL: rediss, TLS: RedisTLS{CAFile: ca, ServerName: "localhost"}}},
		{"insecure_skip_verify", Redis{URL: rediss, TLS: RedisTLS{InsecureSkipVerify: true}}},
	}
	for _, tc := range works {
		t.Run(tc.name, func(t *testing.T) {
			if err := ping(t, tc.redis); err != nil {
				t.Errorf("PING over TLS: %v", err)
			}
		})
	}

	fails := []struct {
		name  string
		redis Redis
		want  string
	}{
		{"system roots only", Redis{URL: rediss}, "certificate signed by unknown authority"},
		{"another CA", Redis{URL: rediss, TLS: RedisTLS{CAFile: other}}, "certificate signed by unknown authority"},
		{"server_name the certificate lacks", Redis{URL: rediss, TLS: RedisTLS{CAFile: ca, ServerName: "redis.example.com"}}, "not redis.example.com"},
		{"ca_file not PEM", Redis{URL: rediss, TLS: RedisTLS{CAFile: notPEM}}, "redis.tls.ca_file: no PEM certificate in " + notPEM},
		{"ca_file missing", Redis{URL: rediss, TLS: RedisTLS{CAFile: notPEM + ".missing"}}, "redis.tls.ca_file: open " + notPEM + ".missing"},
	}
	for _, tc := range fails {
		t.Run(tc.name, func(t *testing.T) {
			err := ping(t, tc.redis)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// A plain redis:// URL does not speak TLS to a TLS-only server.
	if err := ping(t, Redis{URL: "redis://" + srv.Addr + "/0"}); err == nil {
		t.Error("plain TCP reached a TLS-only server")
	}
}

// rediss:// keeps the URL's host as the name to verify unless server_name
// says otherwise; TLS stays off without rediss:// or tls.enabled.
func TestRedisTLSOptions(t *testing.T) {
	o, err := Redis{URL: "rediss://redis.internal:6380/0"}.ClientOptions()
	if err != nil || o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.internal" {
		t.Fatalf("rediss: %+v, %v", o, err)
	}
	o, err = Redis{URL: "rediss://redis.internal:6380/0", TLS: RedisTLS{ServerName: "redis.example.com"}}.ClientOptions()
	if err != nil || o.TLSConfig.ServerName != "redis.example.com" {
		t.Fatalf("rediss with server_name: %+v, %v", o.TLSConfig, err)
	}
	o, err = Redis{URL: "redis://redis.internal:6379/0", TLS: RedisTLS{CAFile: "/nonexistent"}}.ClientOptions()
	if err != nil || o.TLSConfig != nil {
		t.Fatalf("redis:// without tls.enabled: %+v, %v", o, err)
	}
}
