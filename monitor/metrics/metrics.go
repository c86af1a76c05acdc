// Package metrics is what icpmon exposes on /metrics: the daemon's own
// gauges and counters on a private registry, and the per-cancellation series
// of the last snapshot, encoded once per snapshot so that a scrape only
// copies bytes.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/icpmon/icpmon/monitor/calendar"
)

const namespace = "icpmon"

// Set is every metric the daemon keeps outside the snapshot, on a private
// registry (no global state: two daemons in one test process do not mix).
type Set struct {
	Registry *prometheus.Registry
	Jobs     *Jobs
	Query    *Query
	Probes   *Probes

	redisUp         prometheus.Gauge
	coveredUntil    prometheus.Gauge
	reloadOK        prometheus.Gauge
	reloadSuccessAt prometheus.Gauge
	storeLost       prometheus.Gauge
	// No series until the daemon has adopted a store (a vector without labels).
	storeCreated      *prometheus.GaugeVec
	storeAcknowledged *prometheus.GaugeVec
}

// NewSet registers the daemon's metrics, build info and the Go and process
// collectors on a new registry.
func NewSet() *Set {
	s := &Set{
		Registry: prometheus.NewRegistry(),
		Jobs:     newJobs(),
		Query:    newQuery(),
		Probes:   newProbes(),
		redisUp: gauge("redis_up",
			"1 when the last Redis round trip worked, 0 when it failed."),
		coveredUntil: gauge("calendar_covered_until_timestamp_seconds",
			"End (24:00 China time) of the last day covered by an official holiday schedule."),
		reloadOK: gauge("config_last_reload_successful",
			"1 when the last configuration load worked, 0 after a failed reload (the previous configuration keeps running)."),
		reloadSuccessAt: gauge("config_last_reload_success_timestamp_seconds",
			"When the configuration was last loaded successfully."),
		storeLost: gauge("store_lost",
			"1 when the store's identity vanished or changed under the daemon (FLUSHDB, Redis restarted empty, another store): the last snapshot of the adopted store is served until a reload acknowledges."),
		storeCreated: gaugeVec("store_created_timestamp_seconds",
			"When the store the daemon adopted was first used (its identity was written)."),
		storeAcknowledged: gaugeVec("store_acknowledged_timestamp_seconds",
			"When a reload last adopted the store, an operator's acknowledgement of it; no series before one."),
	}
	s.Registry.MustRegister(
		s.redisUp, s.coveredUntil, s.reloadOK, s.reloadSuccessAt,
		s.storeLost, s.storeCreated, s.storeAcknowledged,
		versioncollector.NewCollector(namespace),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	s.Jobs.register(s.Registry)
	s.Query.register(s.Registry)
	s.Probes.register(s.Registry)
	return s
}

// SetRedisUp records the outcome of the last Redis round trip.
func (s *Set) SetRedisUp(up bool) { s.redisUp.Set(boolValue(up)) }

// SetCalendarCoveredUntil records the last day of the loaded official schedules.
func (s *Set) SetCalendarCoveredUntil(d calendar.Date) { s.coveredUntil.Set(seconds(d.End())) }

// ConfigLoaded records a successful (re)load at t.
func (s *Set) ConfigLoaded(t time.Time) {
	s.reloadOK.Set(1)
	s.reloadSuccessAt.Set(seconds(t))
}

// StoreAdopted records the identity of the store the snapshots now come
// from: when it was created and, if ever, acknowledged (zero: never).
func (s *Set) StoreAdopted(created, acknowledged time.Time) {
	s.storeLost.Set(0)
	s.storeCreated.WithLabelValues().Set(seconds(created))
	if acknowledged.IsZero() {
		s.storeAcknowledged.Reset()
		return
	}
	s.storeAcknowledged.WithLabelValues().Set(seconds(acknowledged))
}

// StoreLost records that the adopted store vanished or was replaced.
func (s *Set) StoreLost() { s.storeLost.Set(1) }

// ConfigReloadFailed records a reload that was refused.
func (s *Set) ConfigReloadFailed() { s.reloadOK.Set(0) }

// gauge, gaugeVec and counterVec make a metric of the daemon's namespace.
func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// seconds is t as Prometheus timestamps are: Unix seconds, fractions kept.
func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
