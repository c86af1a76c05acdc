package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/regularfile"
)

// Every file a configuration names is a regular file read with a limit.
// Before, a config or password_file at /dev/zero grew memory until the
// process died, and a FIFO as the config hung every reload.
func TestFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxConfigBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, ""); !errors.Is(err, regularfile.ErrTooLarge) || err.Error() != "read config: "+big+": file too large: over the limit of 1 MiB" {
		t.Errorf("a config over 1 MiB: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := Load("/dev/zero", ""); err == nil || err.Error() != "read config: /dev/zero: not a regular file (a character device)" {
			t.Errorf("config at /dev/zero: %v", err)
		}
		if _, err := (Redis{PasswordFile: "/dev/zero"}).ClientOptions(); err == nil || err.Error() != "redis.password_file: /dev/zero: not a regular file (a character device)" {
			t.Errorf("password_file at /dev/zero: %v", err)
		}
		if _, err := (Reach{CAFile: "/dev/zero"}).RootCAs(); err == nil || err.Error() != "reach.ca_file: /dev/zero: not a regular file (a character device)" {
			t.Errorf("reach.ca_file at /dev/zero: %v", err)
		}
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, make([]byte, MaxPasswordBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Redis{PasswordFile: pw}).ClientOptions(); !errors.Is(err, regularfile.ErrTooLarge) {
		t.Errorf("password_file over 4 KiB: %v", err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Load(fifo, ""); done <- err }()
	select {
	case err := <-done:
		if err == nil || err.Error() != "read config: "+fifo+": not a regular file (a named pipe)" {
			t.Errorf("config at a FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked on a FIFO")
	}
}

func TestReachRootCAs(t *testing.T) {
	if roots, err := (Reach{}).RootCAs(); roots != nil || err != nil {
		t.Errorf("no ca_file: %v, %v; want the system roots (nil)", roots, err)
	}
	missing := filepath.Join(t.TempDir(), "ca.pem")
	if _, err := (Reach{CAFile: missing}).RootCAs(); err == nil || err.Error() != "reach.ca_file: open "+missing+": no such file or directory" {
		t.Errorf("missing ca_file: %v", err)
	}
	notPEM := filepath.Join("testdata", "invalid-schedules.yml")
	if _, err := (Reach{CAFile: notPEM}).RootCAs(); err == nil || err.Error() != "reach.ca_file: no PEM certificate in "+notPEM {
		t.Errorf("ca_file without a certificate: %v", err)
	}
}

// Problems are typed values: check-config lists them without reading the
// text back.
func TestProblemsAreTyped(t *testing.T) {
	_, err := parse([]byte("web: {listen_address: nowhere}\nreview: {limit_business_days: many, schedule: '@every 0s'}\n"))
	ps := ProblemsOf(err)
	want := Problems{
		{Message: "line 2: cannot unmarshal !!str `many` into int"},
		{Key: "web.listen_address", Message: `want HOST:PORT, got "nowhere"`},
		{Key: "review.schedule", Message: `invalid schedule "@every 0s": @every 0s: want an interval of at least 1s`},
	}
	if len(ps) != len(want) {
		t.Fatalf("problems %q, want %q", ps, want)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("problem %d: %#v, want %#v", i, ps[i], want[i])
		}
	}
	if !ps[1].About("web") || ps[1].About("we") || !ps[2].About("review.schedule") {
		t.Error("About")
	}

	_, err = Load("", "http://h:1")
	ps = ProblemsOf(err)
	if len(ps) != 1 || ps[0].Via != "--redis-url (or ICPMON_REDIS_URL)" || ps[0].Key != "redis.url" ||
		err.Error() != "--redis-url (or ICPMON_REDIS_URL): redis.url: want a redis:// or rediss:// URL" {
		t.Errorf("a bad --redis-url: %#v (%v)", ps, err)
	}
	missing := filepath.Join(t.TempDir(), "pw")
	_, err = (Redis{PasswordFile: missing}).ClientOptions()
	if ps := ProblemsOf(err); len(ps) != 1 || ps[0].Key != "redis.password_file" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing password_file: %#v (%v)", ps, err)
	}
	if ps := ProblemsOf(errors.New("read config: gone")); len(ps) != 1 || ps[0].String() != "read config: gone" {
		t.Errorf("a plain error: %#v", ps)
	}
}
