package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// startServer runs the daemon on rs with basic auth for ops (password
// ops-pw) and returns its URL. Its jobs reach only a local MIIT simulator.
func startServer(t *testing.T, rs *redistest.Server) string {
	t.Helper()
	sim := miittest.New(miittest.Options{Seed: 1})
	t.Cleanup(sim.Close)
	sim.AddRecord(scraper.Record{Licence: "京ICP备10046444号-1", Domain: "canary.example.cn"})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "icpmon.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "redis: {url: %q}\nquery: {min_interval: 0s, canary: 京ICP备10046444号, miit: {base_url: %q}}\n", rs.URL(), sim.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("ops-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  ops: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := harness.StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		return daemon.Run(ctx, daemon.Options{
			ConfigFile: cfg, Logger: logger,
			Web: web.FlagConfig{WebConfigFile: &webCfg, WebListenAddresses: &[]string{"127.0.0.1:0"}},
		})
	})
	return "http://" + d.Addr
}

// serverEnv clears the environment the track commands read, so that only
// what a test sets counts.
func serverEnv(t *testing.T) {
	for _, name := range []string{"ICPMON_REDIS_URL", "ICPMON_SERVER", "ICPMON_SERVER_USER", "ICPMON_SERVER_PASSWORD"} {
		t.Setenv(name, "")
	}
}

// `track … --server` acts through the daemon's API and prints what the
// same command on Redis prints.
func TestTrackThroughServer(t *testing.T) {
	serverEnv(t)
	rs := redistest.Start(t)
	base := startServer(t, rs)
	t.Setenv("ICPMON_SERVER_PASSWORD", "ops-pw")
	local := func(args ...string) []string { return append(args, "--redis-url", rs.URL()) }
	remote := func(args ...string) []string { return append(args, "--server", base, "--server.user", "ops") }

	if out := ok(t, remote("track", "add", "--kind", "website", "--licence", "京ICP备12345678号-1", "--domain", "example.com", "--submitted", "2025-09-26", "--id", "a", "--note", "first")...); out != "a\n" {
		t.Errorf("add: %q", out)
	}
	ok(t, remote("track", "add", "--kind", "website", "--licence", "京ICP备12345678号-2", "--submitted", "2025-09-26", "--id", "b")...)
	ok(t, remote("track", "add", "--kind", "subject", "--licence", "沪ICP备87654321号", "--submitted", "2025-10-09", "--id", "c")...)
	ok(t, local("track", "add", "--kind", "access", "--licence", "粤B2-20090059-5", "--submitted", "2025-10-10", "--id", "d")...)

	if out := ok(t, remote("track", "approve", "a", "--at", "2025-10-20")...); out != "a: pending -> approved\n" {
		t.Errorf("approve: %q", out)
	}
	if out := ok(t, remote("track", "reject", "b")...); out != "b: pending -> rejected\n" {
		t.Errorf("reject: %q", out)
	}
	if out := ok(t, remote("track", "withdraw", "c")...); out != "c: pending -> withdrawn\n" {
		t.Errorf("withdraw: %q", out)
	}

	// Reads print the same, in both formats, warnings included.
	for _, args := range [][]string{
		{"track", "list"},
		{"track", "list", "-o", "json"},
		{"track", "list", "--status", "pending", "--status", "approved", "-o", "json"},
		{"track", "list", "--kind", "website"},
		{"track", "show", "a"},
		{"track", "show", "a", "-o", "json"},
		{"track", "show", "d", "-o", "json"},
	} {
		if l, r := icpmon(t, local(args...)...), icpmon(t, remote(args...)...); l != r || l.code != 0 {
			t.Errorf("%v:\nlocal  %+v\nremote %+v", args, l, r)
		}
	}
	var shown struct {
		History []cancellation.Event `json:"history"`
	}
	if err := json.Unmarshal([]byte(ok(t, remote("track", "show", "a", "-o", "json")...)), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown.History) != 2 || shown.History[0].Actor != "operator:ops" || shown.History[1].Actor != "operator:ops" {
		t.Errorf("history names %+v, want operator:ops", shown.History)
	}

	// Refusals say the same sentence.
	future := calendar.DateOf(time.Now()).AddDays(2).String()
	for _, args := range [][]string{
		{"track", "approve", "a"},
		{"track", "approve", "d", "--at", future},
		{"track", "approve", "d", "--at", "2025-10-01"},
		{"track", "approve", "d", "--at", "01/10/2025"},
		{"track", "withdraw", "b"},
		{"track", "reject", "nosuch"},
		{"track", "show", "nosuch"},
		{"track", "remove", "nosuch"},
		{"track", "add", "--kind", "subject", "--licence", "京ICP备12345678号-2", "--submitted", "2025-09-26"},
		{"track", "add", "--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", future},
		{"track", "add", "--kind", "access", "--licence", "粤B2-20090059-5", "--submitted", "2025-10-10"},
		{"track", "add", "--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", "2025-10-10", "--id", "a"},
	} {
		if l, r := fails(t, local(args...)...), fails(t, remote(args...)...); l != r {
			t.Errorf("%v:\nlocal  %s\nremote %s", args, l, r)
		}
	}
	if list := listJSON(t, local()...); len(list) != 4 {
		t.Errorf("refusals wrote: %d cancellations", len(list))
	}

	if out := ok(t, remote("track", "remove", "d")...); out != "d: removed; its history is kept\n" {
		t.Errorf("remove: %q", out)
	}
	if l, r := fails(t, local("track", "show", "d")...), fails(t, remote("track", "show", "d")...); l != r || !strings.HasSuffix(r, " by operator:ops") {
		t.Errorf("show removed:\nlocal  %s\nremote %s", l, r)
	}

	file := filepath.Join(t.TempDir(), "import.csv")
	if err := os.WriteFile(file, []byte("kind,licence,submitted\nwebsite,京ICP备20250009号-1,2025-10-10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := fails(t, remote("track", "import", file)...); !strings.HasPrefix(got, "track import needs direct Redis access") {
		t.Errorf("import through the server: %s", got)
	}
}

// The server, the user and the password come from the environment or a
// file, never from a password flag; a wrong one is told apart.
func TestTrackServerLogin(t *testing.T) {
	serverEnv(t)
	rs := redistest.Start(t)
	base := startServer(t, rs)
	ok(t, "track", "add", "--kind", "website", "--licence", "京ICP备12345678号-1", "--submitted", "2025-09-26", "--id", "a", "--redis-url", rs.URL())
	want := ok(t, "track", "list", "--redis-url", rs.URL())

	t.Setenv("ICPMON_SERVER", base)
	t.Setenv("ICPMON_SERVER_USER", "ops")
	if got := fails(t, "track", "list"); got != "icpmon at "+base+" answered 401 Unauthorized: wrong user name or password" {
		t.Errorf("no password: %s", got)
	}
	t.Setenv("ICPMON_SERVER_PASSWORD", "ops-pw")
	if got := ok(t, "track", "list"); got != want {
		t.Errorf("through ICPMON_SERVER:\n%s\nwant\n%s", got, want)
	}
	passwordFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(passwordFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := fails(t, "track", "list", "--server.password-file", passwordFile); !strings.HasSuffix(got, "wrong user name or password") {
		t.Errorf("the file wins over the environment: %s", got)
	}
	if err := os.WriteFile(passwordFile, []byte("ops-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ICPMON_SERVER_PASSWORD", "")
	if got := ok(t, "track", "list", "--server.password-file", passwordFile); got != want {
		t.Errorf("with a password file:\n%s\nwant\n%s", got, want)
	}

	t.Setenv("ICPMON_SERVER_USER", "")
	if got := fails(t, "track", "approve", "a"); got != "icpmon at "+base+" answered 401 Unauthorized: it wants a login (--server.user, with the password in ICPMON_SERVER_PASSWORD or --server.password-file)" {
		t.Errorf("no login: %s", got)
	}
	if got := fails(t, "track", "list", "--server", "127.0.0.1:9810"); got != `--server "127.0.0.1:9810": want an http:// or https:// URL of icpmon serve` {
		t.Errorf("bad URL: %s", got)
	}
	if r := icpmon(t, "track", "list", "--server.password", "x"); r.code == 0 {
		t.Error("a password flag was accepted")
	}
}
