package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Jobs are the batch-job metrics of every scheduled job: last success,
// duration and the period Prometheus alerts compare staleness against.
type Jobs struct {
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	interval    *prometheus.GaugeVec
}

func newJobs() *Jobs {
	return &Jobs{
		lastSuccess: gaugeVec("job_last_success_timestamp_seconds",
			"When the job last finished without error; absent until it has.", "job_name"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "job_duration_seconds",
			Help: "How long each run of the job took, successful or not.",
			// From a review of a few items to a rate-limited query sweep of hours.
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200},
		}, []string{"job_name"}),
		interval: gaugeVec("job_interval_seconds",
			"The job's scheduled period: the @every duration, or the gap between its next two runs.", "job_name"),
	}
}

func (j *Jobs) register(r prometheus.Registerer) {
	r.MustRegister(j.lastSuccess, j.duration, j.interval)
}

// Observe records one run of job that finished at end after took; a failed run
// counts in the duration only.
func (j *Jobs) Observe(job string, end time.Time, took time.Duration, err error) {
	j.duration.WithLabelValues(job).Observe(took.Seconds())
	if err == nil {
		j.lastSuccess.WithLabelValues(job).Set(seconds(end))
	}
}

// SetInterval records the period of job's schedule.
func (j *Jobs) SetInterval(job string, d time.Duration) {
	j.interval.WithLabelValues(job).Set(d.Seconds())
}

// Forget drops the series of a job that is no longer scheduled.
func (j *Jobs) Forget(job string) {
	j.lastSuccess.DeleteLabelValues(job)
	j.duration.DeleteLabelValues(job)
	j.interval.DeleteLabelValues(job)
}
