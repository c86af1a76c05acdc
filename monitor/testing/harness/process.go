package harness

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Process is a program started by a test.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{} // closed once it has exited; err is set then
	err  error
}

// StartProcess starts cmd, whose output goes where the caller set it. A
// process still running when the test ends gets SIGTERM and, grace later,
// SIGKILL (at once when grace is 0).
func StartProcess(t testing.TB, cmd *exec.Cmd, grace time.Duration) *Process {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop(grace) })
	return p
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is what waiting for the process returned; it is only meaningful once
// Done is closed.
func (p *Process) Err() error { return p.err }

// Exited reports whether the process has exited, and with what.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// code (-1 when a signal ended it).
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running %v on", p.Cmd.Path, timeout)
	}
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0, nil
	case errors.As(p.err, &exit):
		return exit.ExitCode(), nil
	}
	return 0, p.err
}

// Stop ends the process if it is still running: SIGTERM, then SIGKILL when
// it has not exited grace later (at once when grace is 0).
func (p *Process) Stop(grace time.Duration) {
	if exited, _ := p.Exited(); exited {
		return
	}
	if grace > 0 {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(grace):
		}
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}
