package harness

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds and fails the test when timeout
// passes first, with cond's last detail. The timeout bounds a hang on a
// noisy machine; it asserts a state, never a duration.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, detail string)) {
	t.Helper()
	// About a thousand polls over the timeout: prompt for short waits,
	// light on what is polled for long ones.
	interval := min(max(timeout/1000, 2*time.Millisecond), 200*time.Millisecond)
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s; last: %s", timeout, what, detail)
		}
		time.Sleep(interval)
	}
}

// WaitUntil is Eventually for a condition with nothing to say when it fails.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Eventually(t, timeout, what, func() (bool, string) { return cond(), "not yet" })
}
