package harness

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

var listeningOn = regexp.MustCompile(`"msg":"Listening on"[^\n]*"address":"([^"]+)"`)

// ListeningAddress returns the address of the first "Listening on" line of
// a JSON log, and whether there is one yet.
func ListeningAddress(log string) (string, bool) {
	m := listeningOn.FindStringSubmatch(log)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ListenTimeout bounds the wait for a daemon's "Listening on" line.
const ListenTimeout = 90 * time.Second

// stopTimeout bounds the wait for a daemon to return once stopped.
const stopTimeout = 2 * time.Minute

// Daemon is a daemon run in the test process.
type Daemon struct {
	Addr string // host:port, from its "Listening on" line
	Logs *Log   // its log, JSON lines at debug level

	cancel context.CancelFunc
	done   chan error // holds what run returned, once it has
}

// StartDaemon calls run in its own goroutine with a context and a logger
// writing JSON at debug level into Logs, and waits until it logs
// "Listening on". A run that returns before that fails the test. When the
// test ends the daemon is stopped, and an error it returns fails the test;
// a failed test shows the end of the daemon's log.
func StartDaemon(t testing.TB, run func(ctx context.Context, logger *slog.Logger) error) *Daemon {
	t.Helper()
	logs := &Log{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{Logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- run(ctx, logger) }()
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("the daemon: %v", err)
		}
		if t.Failed() {
			t.Logf("---- the daemon's log (last lines) ----\n%s", logs.Tail(60))
		}
	})
	Eventually(t, ListenTimeout, "the daemon listens", func() (bool, string) {
		d.FailIfExited(t)
		addr, ok := ListeningAddress(logs.String())
		d.Addr = addr
		return ok, "no Listening on line yet"
	})
	return d
}

// FailIfExited fails the test at once if the daemon has returned.
func (d *Daemon) FailIfExited(t testing.TB) {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		t.Fatalf("the daemon returned on its own: %v\n%s", err, d.Logs)
	default:
	}
}

// Stop cancels the daemon's context and returns what run returned; it may
// be called again and returns the same.
func (d *Daemon) Stop() error {
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(stopTimeout):
		return fmt.Errorf("still running %v after its context was cancelled\n%s", stopTimeout, d.Logs)
	}
}
