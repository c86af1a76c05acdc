package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// A build stuck in a read (a FIFO as the config file, a hung mount) is
// given up after the reload timeout; later reloads run their own builds, and
// the shutdown never waits for a stuck one.
func TestStuckReloadBlocksNeitherLaterReloadsNorShutdown(t *testing.T) {
	stopping := make(chan struct{})
	logs := &harness.Log{}
	d := &daemon{
		o:          Options{ConfigFile: "icpmon.yml", ReloadTimeout: 100 * time.Millisecond},
		log:        slog.New(slog.NewJSONHandler(logs, nil)),
		metrics:    metrics.NewSet(),
		reloadTurn: make(chan struct{}, 1),
		stopping:   stopping,
	}
	d.metrics.ConfigLoaded(fixedNow)
	release := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	stuck := func(context.Context, *generation) (*generation, error) {
		<-release
		return nil, errors.New("read at last")
	}
	broken := func(context.Context, *generation) (*generation, error) {
		return nil, errors.New("review.schedule: invalid schedule")
	}
	reloadOK := func() float64 {
		mfs, err := d.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "icpmon_config_last_reload_successful" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("icpmon_config_last_reload_successful missing")
		return -1
	}

	if err := d.reloadWith(stuck); err == nil || !strings.Contains(err.Error(), "did not finish within") {
		t.Fatalf("stuck build: %v, want the reload timeout", err)
	}
	if got := reloadOK(); got != 0 {
		t.Errorf("icpmon_config_last_reload_successful = %v after a stuck reload, want 0", got)
	}
	// The next reload gets its turn and its own build at once.
	if err := d.reloadWith(broken); err == nil || !strings.Contains(err.Error(), "review.schedule") {
		t.Fatalf("reload after a stuck one: %v, want its own build's error", err)
	}
	// Stuck builds each hold a thread: only a few may pile up.
	for range maxStuckBuilds - 1 {
		_ = d.reloadWith(stuck)
	}
	if err := d.reloadWith(broken); err == nil || !strings.Contains(err.Error(), "still blocked") {
		t.Fatalf("reload with %d builds stuck: %v, want a refusal", maxStuckBuilds, err)
	}
	// Once their reads return, the stuck builds are let go and reloads resume.
	close(release)
	eventually(t, "the abandoned builds end", func() (bool, string) {
		n := d.stuckBuilds.Load()
		return n == 0, fmt.Sprint(n, " stuck")
	})
	if err := d.reloadWith(broken); err == nil || !strings.Contains(err.Error(), "review.schedule") {
		t.Fatalf("reload after the stuck builds ended: %v", err)
	}

	// A reload waiting on a build, and one waiting for its turn, both end
	// when the shutdown begins, whatever the timeout.
	d.o.ReloadTimeout = time.Hour
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	started := make(chan struct{})
	waiting := func(context.Context, *generation) (*generation, error) {
		close(started)
		<-hang
		return nil, errors.New("never")
	}
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- d.reloadWith(waiting) }()
	<-started
	go func() { second <- d.reloadWith(broken) }()
	close(stopping)
	for i, ch := range []chan error{first, second} {
		select {
		case err := <-ch:
			if !errors.Is(err, errShuttingDown) {
				t.Errorf("reload %d at shutdown: %v, want %v", i+1, err, errShuttingDown)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("reload %d still waiting after the shutdown began", i+1)
		}
	}
}

// A reload to Redis settings that cannot authenticate (or connect) keeps
// the connection in force, says why, and counts as a failed reload.
func TestReloadKeepsRedisWhenTheNewSettingsFail(t *testing.T) {
	rs := redistest.StartPassword(t, "old-secret")
	seededStore(t, rs)
	world := newOutside(t)
	cfg := world.writeConfig(t, "", rs.URL(), "@every 1h", "")
	d := start(t, Options{ConfigFile: cfg}, "http", nil)
	eventually(t, "ready", func() (bool, string) {
		code, body := d.get("/-/ready")
		return code == http.StatusOK, body
	})
	reloadOK := func() float64 {
		_, mfs := d.scrape()
		v, _ := value(mfs, "icpmon_config_last_reload_successful")
		return v
	}

	dead := redistest.Start(t)
	dead.Stop()
	for _, c := range []struct{ name, url, reason string }{
		{"wrong password", strings.Replace(rs.URL(), "old-secret", "wrong-secret", 1), "WRONGPASS"},
		{"no password", strings.Replace(rs.URL(), ":old-secret@", "", 1), "NOAUTH"},
		{"nothing listening", dead.URL(), "connection refused"},
	} {
		world.writeConfig(t, cfg, c.url, "@every 2h", "")
		code, body := d.do("POST", "/-/reload")
		if code != http.StatusInternalServerError || !strings.Contains(body, c.reason) {
			t.Errorf("%s: reload answered %d %q, want 500 naming %s", c.name, code, body, c.reason)
		}
		if strings.Contains(body, "secret") || strings.Contains(d.logs.String(), "wrong-secret") {
			t.Errorf("%s: a password shows in the answer or the log", c.name)
		}
		if got := reloadOK(); got != 0 {
			t.Errorf("%s: icpmon_config_last_reload_successful = %v, want 0", c.name, got)
		}
		// The old connection and configuration are still in force: the
		// background pings keep succeeding, the schedule is the old one.
		for range 10 {
			if code, body := d.get("/-/ready"); code != http.StatusOK {
				t.Fatalf("%s: /-/ready %d %q after the refused reload", c.name, code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_, mfs := d.scrape()
		if v, _ := value(mfs, "icpmon_job_interval_seconds", "job_name", "review"); v != 3600 {
			t.Errorf("%s: review interval %v, want the old 3600", c.name, v)
		}
	}
	if !strings.Contains(d.logs.String(), "configuration reload failed") {
		t.Error("the refused reloads are not logged")
	}

	// A new Redis that answers with its own password is taken.
	other := redistest.StartPassword(t, "new-secret")
	world.writeConfig(t, cfg, other.URL(), "@every 2h", "")
	if code, body := d.do("POST", "/-/reload"); code != http.StatusOK {
		t.Fatalf("reload onto a working Redis: %d %s", code, body)
	}
	if got := reloadOK(); got != 1 {
		t.Errorf("icpmon_config_last_reload_successful = %v after a good reload, want 1", got)
	}
}
