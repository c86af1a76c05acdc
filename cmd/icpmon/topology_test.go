package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// writeFile writes a test's file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	return harness.WriteFile(t, name, content)
}

// noSecret fails the test if any of the texts holds one of the secrets.
func noSecret(t *testing.T, where string, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the password %q:\n%s", where, s, text)
		}
	}
}

// trackAddAndList adds a cancellation with the configuration file and lists
// it back; it returns the ID.
func trackAddAndList(t *testing.T, cfg string, secrets ...string) string {
	t.Helper()
	args := []string{"track", "add", "--config", cfg, "--kind", "website", "--licence", "京ICP备12345678号-1",
		"--domain", "example.com", "--submitted", "2025-09-26"}
	r := icpmon(t, args...)
	if r.code != 0 {
		t.Fatalf("track add: exit %d: %s", r.code, r.stderr)
	}
	noSecret(t, "track add output", r.stdout+r.stderr, secrets...)
	id := strings.TrimSpace(r.stdout)
	r = icpmon(t, "track", "list", "-o", "json", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("track list: exit %d: %s", r.code, r.stderr)
	}
	noSecret(t, "track list output", r.stdout+r.stderr, secrets...)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["id"] != id || list[0]["licence"] != "京ICP备12345678号-1" {
		t.Errorf("track list: %v, want %s", list, id)
	}
	r = icpmon(t, "track", "show", id, "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "京ICP备12345678号-1") {
		t.Errorf("track show: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	noSecret(t, "track show output", r.stdout+r.stderr, secrets...)
	return id
}

// The operator's commands against requirepass: the password from
// redis.password_file or from the URL, never printed, also when it is wrong.
func TestPasswordCLI(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	const password, wrong = "pw-7Hq2-correct", "pw-9Zx4-wrong"
	srv := redistest.StartPassword(t, password)
	url := "redis://" + srv.Addr + "/0"
	config := func(passwordFile string) string {
		return writeFile(t, "icpmon.yml", fmt.Sprintf("redis:\n  url: %s\n  password_file: %s\n", url, passwordFile))
	}
	good := config(writeFile(t, "redis-password", password+"\n"))
	trackAddAndList(t, good, password)
	if r := icpmon(t, "check-config", "--config", good); r.code != 0 {
		t.Errorf("check-config: exit %d: %s", r.code, r.stderr)
	} else {
		noSecret(t, "check-config output", r.stdout+r.stderr, password)
	}

	got := fails(t, "track", "list", "--config", config(writeFile(t, "redis-password", wrong+"\n")))
	if !strings.HasPrefix(got, "cannot reach Redis at "+srv.Addr+": WRONGPASS") {
		t.Errorf("wrong password: %s", got)
	}
	noSecret(t, "the wrong-password error", got, password, wrong)
	if got := fails(t, "track", "list", "--redis-url", url); !strings.HasPrefix(got, "cannot reach Redis at "+srv.Addr+": NOAUTH") {
		t.Errorf("no password: %s", got)
	}

	// In the URL, as redis://:PASSWORD@host.
	withPassword := "redis://:" + password + "@" + srv.Addr + "/0"
	if r := icpmon(t, "track", "list", "--redis-url", withPassword); r.code != 0 || !strings.Contains(r.stdout, "京ICP备12345678号-1") {
		t.Errorf("password in the URL: exit %d: %s%s", r.code, r.stdout, r.stderr)
	} else {
		noSecret(t, "track list output", r.stdout+r.stderr, password)
	}
	got = fails(t, "track", "list", "--redis-url", "redis://:"+wrong+"@"+srv.Addr+"/0")
	if !strings.Contains(got, "WRONGPASS") {
		t.Errorf("wrong password in the URL: %s", got)
	}
	noSecret(t, "the wrong-password error", got, wrong)
	got = fails(t, "track", "list", "--redis-url", "redis://:"+wrong+"@127.0.0.1:port/0")
	if !strings.Contains(got, "want a redis:// or rediss:// URL") {
		t.Errorf("malformed URL: %s", got)
	}
	noSecret(t, "the malformed-URL error", got, wrong)
}

// The redis section's other topologies, as an operator writes them.
func TestTopologiesCLI(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	t.Run("sentinel", func(t *testing.T) {
		const password = "pw-sentinel-5Tq"
		master := redistest.StartPassword(t, password)
		redistest.StartReplica(t, master)
		sentinel := redistest.StartSentinel(t, master, 1)
		cfg := writeFile(t, "icpmon.yml", fmt.Sprintf("redis:\n  addrs: [%s]\n  master_name: %s\n  password_file: %s\n",
			strings.Join(sentinel.Addrs(), ", "), redistest.MasterName, writeFile(t, "pw", password+"\n")))
		id := trackAddAndList(t, cfg, password)
		if n := master.Client(t).Exists(t.Context(), "{icpmon}:c:"+id).Val(); n != 1 {
			t.Errorf("%s is not on the master", id)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		cluster := redistest.StartCluster(t, 3)
		cfg := writeFile(t, "icpmon.yml", fmt.Sprintf("redis:\n  addrs: [%s]\n  cluster: true\n", strings.Join(cluster.Addrs(), ", ")))
		trackAddAndList(t, cfg)
		if slots := cluster.KeysBySlot(t); len(slots) != 1 {
			t.Errorf("keys in %d slots", len(slots))
		}
	})
	t.Run("tls", func(t *testing.T) {
		srv := redistest.StartTLS(t)
		cfg := writeFile(t, "icpmon.yml", fmt.Sprintf("redis:\n  url: %s\n  tls:\n    ca_file: %s\n", srv.URL(), srv.CA.CertFile))
		trackAddAndList(t, cfg)
		stranger := writeFile(t, "icpmon.yml", fmt.Sprintf("redis:\n  url: %s\n  tls:\n    ca_file: %s\n", srv.URL(), redistest.NewCA(t).CertFile))
		if got := fails(t, "track", "list", "--config", stranger); !strings.Contains(got, "certificate signed by unknown authority") {
			t.Errorf("another CA: %s", got)
		}
	})
}

// startDaemon runs daemon.Run logging at debug level, go-redis's own lines
// included, and waits until it serves.
func startDaemon(t *testing.T, o daemon.Options) *harness.Daemon {
	t.Helper()
	o.Web = web.FlagConfig{WebListenAddresses: &[]string{"127.0.0.1:0"}, WebConfigFile: new(string), WebSystemdSocket: new(bool)}
	o.PingInterval = 100 * time.Millisecond
	return harness.StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		o.Logger = logger
		redis.SetLogger(redisLog{logger})
		return daemon.Run(ctx, o)
	})
}

// The daemon with a password: nothing it serves or logs holds it, neither
// while the password works nor after a reload with a wrong one.
func TestPasswordDaemon(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	const password, wrong = "pw-3Kd8-daemon", "pw-6Wv1-rotated-wrong"
	srv := redistest.StartPassword(t, password)
	pwFile := writeFile(t, "redis-password", password+"\n")
	// The query provider points at a closed port: no lookup leaves the machine.
	cfg := writeFile(t, "icpmon.yml", fmt.Sprintf(`redis:
  url: redis://%s/0
  password_file: %s
review: {schedule: "@every 1s"}
query: {provider: ymicp, ymicp: {url: "http://127.0.0.1:1"}}
`, srv.Addr, pwFile))
	id := trackAddAndList(t, cfg, password)

	d := startDaemon(t, daemon.Options{ConfigFile: cfg})
	var served []string
	get := func(path string) (int, string) {
		code, body := serveGet(t, "http://"+d.Addr+path)
		served = append(served, path+":\n"+body)
		return code, body
	}
	reload := func() (int, string) {
		resp, err := http.Post("http://"+d.Addr+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		served = append(served, "POST /-/reload:\n"+string(b))
		return resp.StatusCode, string(b)
	}
	waitUntil(t, "ready with the password", func() bool { code, _ := get("/-/ready"); return code == http.StatusOK })
	waitUntil(t, "the cancellation in /metrics", func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, fmt.Sprintf(`icpmon_cancellation_submitted_timestamp_seconds{id=%q}`, id)) && strings.Contains(m, "icpmon_redis_up 1")
	})
	if _, page := get("/"); !strings.Contains(page, id) {
		t.Errorf("the status page does not show %s", id)
	}

	// A rotated password file with the wrong password: the reload is
	// refused, the working connection stays, and the daemon says why
	// without the password.
	if err := os.WriteFile(pwFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := reload(); code != http.StatusInternalServerError || !strings.Contains(body, "WRONGPASS") {
		t.Fatalf("reload with the wrong password: %d %s", code, body)
	}
	if code, _ := get("/-/ready"); code != http.StatusOK {
		t.Fatalf("not ready after a refused reload: %d", code)
	}
	waitUntil(t, "icpmon_config_last_reload_successful 0", func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, "icpmon_config_last_reload_successful 0") && strings.Contains(m, "icpmon_redis_up 1")
	})
	get("/")

	// The right one again.
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := reload(); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	waitUntil(t, "ready again", func() bool { code, _ := get("/-/ready"); return code == http.StatusOK })
	if err := d.Stop(); err != nil {
		t.Errorf("daemon.Run: %v", err)
	}

	logs := d.Logs.String()
	if !strings.Contains(logs, "WRONGPASS") || !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Errorf("the log lacks the refusal or the debug lines:\n%s", logs)
	}
	noSecret(t, "the daemon's log", logs, password, wrong)
	noSecret(t, "what the daemon served", strings.Join(served, "\n"), password, wrong)
}

// A password in --redis-url (Options.RedisURL) stays out of the log and the pages too.
func TestPasswordDaemonURL(t *testing.T) {
	t.Setenv("ICPMON_REDIS_URL", "")
	const password = "pw-1Yb5-in-url"
	srv := redistest.StartPassword(t, password)
	cfg := writeFile(t, "icpmon.yml", "query: {provider: ymicp, ymicp: {url: \"http://127.0.0.1:1\"}}\n")
	d := startDaemon(t, daemon.Options{ConfigFile: cfg, RedisURL: "redis://:" + password + "@" + srv.Addr + "/0"})
	var served strings.Builder
	waitUntil(t, "ready", func() bool {
		code, body := serveGet(t, "http://"+d.Addr+"/-/ready")
		served.WriteString(body)
		return code == http.StatusOK
	})
	for _, path := range []string{"/", "/metrics"} {
		_, body := serveGet(t, "http://"+d.Addr+path)
		served.WriteString(body)
	}
	if err := d.Stop(); err != nil {
		t.Errorf("daemon.Run: %v", err)
	}
	noSecret(t, "the daemon's log", d.Logs.String(), password)
	noSecret(t, "what the daemon served", served.String(), password)
}
