package config

import "testing"

func TestPerCancellation(t *testing.T) {
	if got := Default().Metrics.PerCancellation; got != "alerting" {
		t.Errorf("default per_cancellation = %q, want alerting", got)
	}
	for _, mode := range PerCancellationModes() {
		c, err := parse([]byte("metrics:\n  per_cancellation: " + mode + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if c.Metrics.PerCancellation != mode {
			t.Errorf("per_cancellation = %q, want %q", c.Metrics.PerCancellation, mode)
		}
	}
}
