package store

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
)

// sorted moves the cancellations in place; it must give what a plain sort gives.
func TestSortedInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		cs := make([]cancellation.Cancellation, n)
		for i := range cs {
			cs[i] = cancellation.Cancellation{ID: fmt.Sprintf("c%04d", r.IntN(n+1)), Submitted: calendar.Date(r.IntN(5))}
		}
		want := slices.Clone(cs)
		slices.SortStableFunc(want, func(a, b cancellation.Cancellation) int {
			return cmp.Or(cmp.Compare(a.Submitted, b.Submitted), strings.Compare(a.ID, b.ID))
		})
		got := sorted(cs)
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Submitted != want[i].Submitted {
				t.Fatalf("n=%d: position %d holds %s/%d, want %s/%d", n, i, got[i].ID, got[i].Submitted, want[i].ID, want[i].Submitted)
			}
		}
	}
}
