package harness

import (
	"slices"
	"sync"
)

// List collects what concurrent code reports (requests a fake server got,
// steps a hook saw) while the test reads it. The zero value is empty.
type List[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add appends v.
func (l *List[T]) Add(v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, v)
}

// All returns a copy of what was added, in order.
func (l *List[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// Take returns what was added since the last Take, in order, and forgets it.
func (l *List[T]) Take() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	items := l.items
	l.items = nil
	return items
}
