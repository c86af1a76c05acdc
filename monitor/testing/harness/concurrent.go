package harness

import (
	"sync"
	"testing"
)

// Concurrently runs fn(0) … fn(n-1), each in a goroutine of its own, waits
// for them all and reports every error they return as a test error.
func Concurrently(t testing.TB, n int, fn func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
