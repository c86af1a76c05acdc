// Package redistest starts a private redis-server for a test: on a free
// loopback port, in the test's temporary directory, killed when the test ends.
// Tests never touch a Redis they did not start.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server owned by one test.
type Server struct {
	Addr string // host:port
	Dir  string // working directory (AOF, logs)
	cmd  *exec.Cmd
	args []string
}

// Start runs redis-server with extra arguments (e.g. "--appendonly", "yes")
// and waits until it answers PING. A missing redis-server fails the test:
// `make test` installs it.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not installed (`make test` installs it): %v", err)
	}
	s := &Server{Dir: t.TempDir()}
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = append([]string{
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--dir", s.Dir, "--save", "", "--appendonly", "no",
			"--logfile", filepath.Join(s.Dir, "redis.log"),
		}, extra...)
		s.cmd = exec.Command(bin, s.args...)
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		if s.waitReady(5 * time.Second) {
			break
		}
		s.kill()
		if attempt == 4 {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			t.Fatalf("redis-server did not come up on %s:\n%s", s.Addr, log)
		}
	}
	t.Cleanup(s.kill)
	return s
}

// URL is the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Client returns a client closed at the end of the test.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server, as a crash would.
func (s *Server) Stop() { s.kill() }

// Restart starts the server again on the same port and directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	s.cmd = exec.Command(s.cmd.Path, s.args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("restart redis-server: %v", err)
	}
	if !s.waitReady(10 * time.Second) {
		t.Fatalf("redis-server did not come back on %s", s.Addr)
	}
}

// Process is the running server process, for signals such as SIGSTOP.
func (s *Server) Process() *os.Process { return s.cmd.Process }

func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

func (s *Server) waitReady(limit time.Duration) bool {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// String names the server in failure messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
