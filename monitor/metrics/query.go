package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit"
)

// Query counts public-query lookups by provider and result; the query job
// records into it (it implements lookup.Recorder).
type Query struct {
	requests *prometheus.CounterVec
	// canary has no labels but is a vector so that it stays absent until the
	// first canary lookup: before that nothing is known, and 0 would be a lie.
	canary *prometheus.GaugeVec
	// captcha counts slider outcomes, so that a captcha change shows as
	// refusals or "no guess" before it shows as silence.
	captcha *prometheus.CounterVec
}

// LookupResults are the result label values: the two definite answers, then
// every reason a lookup can be unknown.
func LookupResults() []string {
	out := []string{"present", "absent"}
	for _, r := range scraper.Reasons() {
		out = append(out, string(r))
	}
	return out
}

func newQuery() *Query {
	return &Query{
		requests: counterVec("query_requests_total",
			"Public-query lookups by provider and result: present, absent, or why the lookup proved nothing.", "provider", "result"),
		canary: gaugeVec("query_canary_ok",
			"1 when the last lookup of the canary licence came back present, 0 otherwise; absent before the first."),
		captcha: counterVec("query_captcha_total",
			"Slider captchas by provider and outcome: solved (accepted), refused (a wrong answer), no_guess (the solver declined).", "provider", "result"),
	}
}

func (q *Query) register(r prometheus.Registerer) { r.MustRegister(q.requests, q.canary, q.captcha) }

// Preset creates every result series of provider at 0, so that rate() and
// absence checks work before the first lookup of each kind.
func (q *Query) Preset(provider string) {
	for _, r := range LookupResults() {
		q.requests.WithLabelValues(provider, r)
	}
	if provider == "miit" { // the one provider that solves captchas itself
		for _, r := range miit.CaptchaResults() {
			q.captcha.WithLabelValues(provider, r)
		}
	}
}

// ObserveCaptcha counts one captcha's outcome, one of miit.CaptchaResults.
func (q *Query) ObserveCaptcha(provider, result string) {
	q.captcha.WithLabelValues(provider, result).Inc()
}

// ObserveLookup counts one lookup; result is "present", "absent" or a scraper.Reason.
func (q *Query) ObserveLookup(provider, result string) {
	q.requests.WithLabelValues(provider, result).Inc()
}

// SetCanary records whether the last canary lookup came back present.
func (q *Query) SetCanary(ok bool) { q.canary.WithLabelValues().Set(boolValue(ok)) }
