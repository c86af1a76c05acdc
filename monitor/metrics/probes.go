package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/icpmon/icpmon/monitor/prober"
)

// Probes counts the probes that failed on this host rather than at the site
// (probe_error); the reach job records into it (it implements reach.Recorder).
// They prove nothing, so they never touch icpmon_site_reachable: this counter
// is where a full descriptor table or a memory shortage shows.
type Probes struct {
	errors *prometheus.CounterVec
}

func newProbes() *Probes {
	p := &Probes{errors: counterVec("probe_errors_total",
		"Website probes that failed on this host, proving nothing about the site (result probe_error), by reason: descriptors, buffers, local_address, cancelled, invalid_target.", "reason")}
	for _, r := range prober.ProbeErrorReasons() {
		p.errors.WithLabelValues(r)
	}
	return p
}

func (p *Probes) register(r prometheus.Registerer) { r.MustRegister(p.errors) }

// ObserveProbeError counts one probe_error; reason is one of prober.ProbeErrorReasons.
func (p *Probes) ObserveProbeError(reason string) {
	p.errors.WithLabelValues(reason).Inc()
}
