package reach

import (
	"slices"
	"testing"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/prober"
)

// Every result the prober can give is named, each by a result of its own,
// and every result a cancellation's probe may hold comes from one.
func TestEveryProberResultIsTranslated(t *testing.T) {
	var got []cancellation.ProbeResult
	for _, r := range prober.Results() {
		c, ok := probeResults[r]
		if !ok {
			t.Errorf("prober result %q has no cancellation result", r)
		}
		if string(c) != r {
			t.Errorf("prober result %q recorded as %q: the stored name would change", r, c)
		}
		got = append(got, c)
	}
	if !slices.Equal(got, cancellation.ProbeResults()) {
		t.Errorf("translated %v, want every cancellation result in order %v", got, cancellation.ProbeResults())
	}
}
