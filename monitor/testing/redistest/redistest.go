// Package redistest starts private Redis servers for a test: on free
// loopback ports, in the test's temporary directory, killed when the test
// ends. Besides a plain server it starts the topologies and protections that
// ops hosts run: a password (StartPassword), TLS (StartTLS), a replica
// (StartReplica) watched by Sentinel (StartSentinel), and Cluster
// (StartCluster). Tests never touch a Redis they did not start.
package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// Server is a running redis-server (or Sentinel) owned by one test.
type Server struct {
	Addr string // host:port
	Dir  string // working directory (AOF, logs, certificates)
	// Password is the server's requirepass (StartPassword, or
	// "--requirepass" among the arguments); empty when clients need none.
	Password string
	// CA signed the certificate of a server from StartTLS; nil for plain TCP.
	CA *CA

	cmd  *exec.Cmd
	args []string
}

// portArgs builds a server's arguments once its port is chosen (a retry
// after a port clash chooses again).
type portArgs func(port int) []string

// Start runs redis-server with extra arguments (e.g. "--appendonly", "yes")
// and waits until it answers PING. A "--requirepass" among them sets the
// server's Password. A missing redis-server fails the test: `make test`
// installs it.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{Dir: t.TempDir(), Password: passwordIn(extra)}
	s.start(t, "redis-server", func(port int) []string { return s.plainArgs(port, extra) })
	return s
}

// StartPassword runs redis-server that refuses clients without password
// (requirepass). It also authenticates to its master with it (masterauth),
// so that it can become a replica after a Sentinel failover.
func StartPassword(t testing.TB, password string, extra ...string) *Server {
	t.Helper()
	return Start(t, append([]string{"--requirepass", password, "--masterauth", password}, extra...)...)
}

// passwordIn finds the value of --requirepass in a server's arguments.
func passwordIn(args []string) string {
	pw := ""
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == "--requirepass" {
			pw = args[i+1]
		}
	}
	return pw
}

// StartTLS runs redis-server that speaks TLS only (no plain port), with a
// certificate for 127.0.0.1 and localhost signed by a CA made for the test
// (s.CA). Clients need no certificate of their own. A "--requirepass"
// among extra sets the server's Password.
func StartTLS(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{Dir: t.TempDir(), CA: NewCA(t), Password: passwordIn(extra)}
	cert, key := s.CA.IssueFiles(t, s.Dir, "127.0.0.1", "localhost")
	s.start(t, "redis-server", func(port int) []string {
		args := []string{
			"--bind", "127.0.0.1", "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", s.CA.CertFile,
			"--tls-auth-clients", "no",
		}
		return append(append(args, s.commonArgs()...), extra...)
	})
	return s
}

// StartReplica runs redis-server replicating master (over plain TCP), with
// master's password if it has one and extra arguments, and waits until the
// replication link is up.
func StartReplica(t testing.TB, master *Server, extra ...string) *Server {
	t.Helper()
	host, port, _ := net.SplitHostPort(master.Addr)
	args := append([]string{"--replicaof", host, port}, extra...)
	var r *Server
	if master.Password != "" {
		r = StartPassword(t, master.Password, args...)
	} else {
		r = Start(t, args...)
	}
	c := r.Client(t)
	waitFor(t, 20*time.Second, fmt.Sprintf("%s replicates %s", r, master), func() bool {
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return r
}

func (s *Server) plainArgs(port int, extra []string) []string {
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port)}
	return append(append(args, s.commonArgs()...), extra...)
}

func (s *Server) commonArgs() []string {
	return []string{
		"--dir", s.Dir, "--save", "", "--appendonly", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
		// A replica syncs at once rather than after the default 5 s wait for others.
		"--repl-diskless-sync-delay", "0",
	}
}

// start runs bin with the arguments for a free port until one answers.
func (s *Server) start(t testing.TB, bin string, args portArgs) {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not installed (`make test` installs it): %v", bin, err)
	}
	for attempt := 0; ; attempt++ {
		port := harness.FreePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = args(port)
		s.cmd = exec.Command(path, s.args...) // #nosec G204 -- a test helper running redis-server with its own arguments
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		if s.waitReady(5 * time.Second) {
			break
		}
		s.kill()
		if attempt == 4 {
			t.Fatalf("%s did not come up on %s:\n%s", bin, s.Addr, s.Log())
		}
	}
	t.Cleanup(s.kill)
}

// URL is the redis:// (rediss:// with TLS) URL of database 0, with the
// password when the server has one.
func (s *Server) URL() string {
	u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/0"}
	if s.CA != nil {
		u.Scheme = "rediss"
	}
	if s.Password != "" {
		u.User = url.UserPassword("", s.Password)
	}
	return u.String()
}

// Options are the client options that reach the server: its password, and
// for TLS its CA.
func (s *Server) Options() *redis.Options {
	o := &redis.Options{Addr: s.Addr, Password: s.Password}
	if s.CA != nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: s.CA.Pool}
	}
	return o
}

// Client returns a client closed at the end of the test.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(s.Options())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server, as a crash would.
func (s *Server) Stop() { s.kill() }

// Restart starts the server again on the same port and directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	s.cmd = exec.Command(s.cmd.Path, s.args...) // #nosec G204 -- the same redis-server and arguments as before
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("restart %s: %v", s, err)
	}
	if !s.waitReady(10 * time.Second) {
		t.Fatalf("%s did not come back", s)
	}
}

// Process is the running server process, for signals such as SIGSTOP.
func (s *Server) Process() *os.Process { return s.cmd.Process }

// Log is what the server has logged so far, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	return string(b)
}

func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

func (s *Server) waitReady(limit time.Duration) bool {
	o := s.Options()
	o.MaxRetries = -1
	c := redis.NewClient(o)
	defer c.Close()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// waitFor is harness.WaitUntil with failures that name this package: limit
// only bounds a setup that went wrong.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	harness.WaitUntil(t, limit, "redistest: "+what, cond)
}

// String names the server in failure messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
