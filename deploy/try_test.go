package deploy

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
)

func answers(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// `make run` on a machine without Redis starts a private one with
// persistence, runs the daemon against it, and stops it with the daemon.
func TestTryStartsAPrivateRedis(t *testing.T) {
	lookTool(t, "redis-server")
	dir := t.TempDir()
	bin := filepath.Join(dir, "icpmon")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/icpmon").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	redisPort, webPort := harness.FreePort(t), harness.FreePort(t)
	config := filepath.Join(dir, "icpmon.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil, "redis:\n  url: redis://127.0.0.1:%d/0 # a comment\nweb:\n  listen_address: 127.0.0.1:%d\n", redisPort, webPort), 0o600); err != nil {
		t.Fatal(err)
	}
	var out harness.Log
	cmd := exec.Command("bash", "try.sh", bin, config, filepath.Join(dir, "var"))
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "ICPMON_REDIS_URL=")
	p := harness.StartProcess(t, cmd, 30*time.Second)

	ready := fmt.Sprintf("http://127.0.0.1:%d/-/ready", webPort)
	harness.Eventually(t, 60*time.Second, "the daemon is ready", func() (bool, string) {
		if exited, err := p.Exited(); exited {
			t.Fatalf("try.sh ended early: %v\n%s", err, out.String())
		}
		resp, err := http.Get(ready)
		if err != nil {
			return false, fmt.Sprintf("%v\n%s", err, out.String())
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("%s\n%s", resp.Status, out.String())
	})
	if !strings.Contains(out.String(), "starting a private redis-server") {
		t.Errorf("try.sh did not say it started Redis:\n%s", out.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			t.Errorf("try.sh after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("try.sh did not end after SIGTERM:\n%s", out.String())
	}
	if answers(redisPort) {
		t.Error("the private Redis outlived the daemon")
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "redis", "appendonlydir")); err != nil {
		t.Errorf("no AOF under var/redis: %v", err)
	}
}

// A Redis elsewhere that does not answer is an error, never replaced.
func TestTryRefusesARemoteRedis(t *testing.T) {
	config := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(config, []byte("redis:\n  url: redis://redis.invalid:6379/0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "try.sh", "/bin/false", config, t.TempDir())
	cmd.Env = append(os.Environ(), "ICPMON_REDIS_URL=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Redis at redis.invalid:6379 does not answer") {
		t.Errorf("try.sh with an unreachable remote Redis: %v\n%s", err, out)
	}
}
