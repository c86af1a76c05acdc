package metrics

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
)

var (
	t0       = time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.China)
	yes      = true
	approved = time.Date(2026, 2, 10, 15, 30, 0, 0, calendar.China)
	cleared  = time.Date(2026, 2, 12, 9, 0, 0, 0, calendar.China)
)

// sample has one cancellation of each shape the exposition distinguishes.
func sample() *status.Snapshot {
	return &status.Snapshot{
		Taken: t0,
		Counts: map[status.Count]int{
			{Kind: cancellation.KindWebsite, Status: cancellation.Pending}:  1,
			{Kind: cancellation.KindSubject, Status: cancellation.Approved}: 1,
			{Kind: cancellation.KindWebsite, Status: cancellation.Cleared}:  2,
			{Kind: cancellation.KindAccess, Status: cancellation.Rejected}:  2,
		},
		Tracked: []*status.Standing{
			{
				Cancellation: cancellation.Cancellation{
					ID: "a1", Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-1", Province: "京",
					Domains: []string{"example.com", "www.example.com"}, Status: cancellation.Pending,
					Submitted: calendar.NewDate(2026, 1, 5),
				},
				Review: &status.Progress{Limit: 20, Deadline: time.Date(2026, 2, 3, 0, 0, 0, 0, calendar.China), Elapsed: 25, Overdue: true},
			},
			{
				Cancellation: cancellation.Cancellation{
					ID: "b2", Kind: cancellation.KindSubject, Licence: `浙ICP备"1\2"号`, Province: "浙",
					Domains: []string{"shop.example"}, Status: cancellation.Approved, Submitted: calendar.NewDate(2026, 1, 6),
					ApprovedAt: approved,
					Record:     cancellation.Record{Present: &yes, CheckedAt: time.Unix(1772000000, 500_000_000)},
				},
				LingerDeadline: time.Date(2026, 2, 13, 0, 0, 0, 0, calendar.China),
				Sites: []status.Site{
					{Probe: cancellation.Probe{Domain: "shop.example", Scheme: "http", Result: "provider_block"}},
					{Probe: cancellation.Probe{Domain: "shop.example", Scheme: "https", Result: "served"}, Reachable: true},
				},
			},
			{
				Cancellation: cancellation.Cancellation{
					ID: "c3", Kind: cancellation.KindWebsite, Licence: "沪ICP备87654321号-2", Province: "沪",
					Status: cancellation.Cleared, Submitted: calendar.NewDate(2025, 12, 1),
					ApprovedAt: approved, ClearedAt: cleared,
				},
			},
			// Cleared, and its website still watched: still served.
			{
				Cancellation: cancellation.Cancellation{
					ID: "d4", Kind: cancellation.KindWebsite, Licence: "沪ICP备87654321号-3", Province: "沪",
					Domains: []string{"still.example"}, Status: cancellation.Cleared, Submitted: calendar.NewDate(2025, 12, 1),
					ApprovedAt: approved, ClearedAt: cleared,
				},
				Sites: []status.Site{
					{Probe: cancellation.Probe{Domain: "still.example", Scheme: "http", Result: "served"}, Reachable: true},
				},
			},
		},
	}
}

// gatherer parses an exposition as Prometheus would, so that client_golang's
// testutil can check it.
func gatherer(t *testing.T, text []byte) prometheus.Gatherer {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		out := make([]*dto.MetricFamily, 0, len(mfs))
		for _, name := range slices.Sorted(maps.Keys(mfs)) {
			// Ordered as a registry orders them, for GatherAndCompare.
			slices.SortFunc(mfs[name].Metric, func(a, b *dto.Metric) int {
				return strings.Compare(labelValues(a), labelValues(b))
			})
			out = append(out, mfs[name])
		}
		return out, nil
	})
}

func labelValues(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.GetLabel() {
		b.WriteString(l.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}

func TestSnapshotExposition(t *testing.T) {
	text := appendText(nil, sample(), AllSeries)
	g := gatherer(t, text)
	problems, err := testutil.GatherAndLint(g)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	want := fmt.Sprintf(`
# HELP icpmon_cancellation_info Descriptive labels of a tracked cancellation, for joins; always 1.
# TYPE icpmon_cancellation_info gauge
icpmon_cancellation_info{domains="example.com,www.example.com",id="a1",kind="website",licence="京ICP备12345678号-1",province="京",status="pending",unit_name=""} 1
icpmon_cancellation_info{domains="shop.example",id="b2",kind="subject",licence="浙ICP备\"1\\2\"号",province="浙",status="approved",unit_name=""} 1
icpmon_cancellation_info{domains="",id="c3",kind="website",licence="沪ICP备87654321号-2",province="沪",status="cleared",unit_name=""} 1
icpmon_cancellation_info{domains="still.example",id="d4",kind="website",licence="沪ICP备87654321号-3",province="沪",status="cleared",unit_name=""} 1
# HELP icpmon_cancellation_submitted_timestamp_seconds Start (00:00 China time) of the date the application reached the communications administration.
# TYPE icpmon_cancellation_submitted_timestamp_seconds gauge
icpmon_cancellation_submitted_timestamp_seconds{id="a1"} %d
icpmon_cancellation_submitted_timestamp_seconds{id="b2"} %d
# HELP icpmon_cancellation_review_deadline_timestamp_seconds End (24:00 China time) of the last business day of the review limit; pending only.
# TYPE icpmon_cancellation_review_deadline_timestamp_seconds gauge
icpmon_cancellation_review_deadline_timestamp_seconds{id="a1"} %d
# HELP icpmon_cancellation_review_workdays Business days d with submitted < d <= today (China time); pending only.
# TYPE icpmon_cancellation_review_workdays gauge
icpmon_cancellation_review_workdays{id="a1"} 25
# HELP icpmon_cancellation_approved_timestamp_seconds When approval was recorded by an operator or inferred from the public query.
# TYPE icpmon_cancellation_approved_timestamp_seconds gauge
icpmon_cancellation_approved_timestamp_seconds{id="b2"} %[4]d
icpmon_cancellation_approved_timestamp_seconds{id="c3"} %[4]d
icpmon_cancellation_approved_timestamp_seconds{id="d4"} %[4]d
# HELP icpmon_cancellation_cleared_timestamp_seconds When the public query confirmed that no record is left; cleared only.
# TYPE icpmon_cancellation_cleared_timestamp_seconds gauge
icpmon_cancellation_cleared_timestamp_seconds{id="c3"} %[5]d
icpmon_cancellation_cleared_timestamp_seconds{id="d4"} %[5]d
# HELP icpmon_filing_record_present 1 when the last definite public-query lookup found the record, 0 when it proved it absent; no series while unknown.
# TYPE icpmon_filing_record_present gauge
icpmon_filing_record_present{id="b2"} 1
# HELP icpmon_filing_record_last_checked_timestamp_seconds When the last definite public-query lookup was made.
# TYPE icpmon_filing_record_last_checked_timestamp_seconds gauge
icpmon_filing_record_last_checked_timestamp_seconds{id="b2"} 1.7720000005e+09
# HELP icpmon_cancellation_reapply_ready 1 once cleared-grade evidence says a new filing may be made, 0 while the cancellation is active.
# TYPE icpmon_cancellation_reapply_ready gauge
icpmon_cancellation_reapply_ready{id="a1"} 0
icpmon_cancellation_reapply_ready{id="b2"} 0
icpmon_cancellation_reapply_ready{id="c3"} 1
icpmon_cancellation_reapply_ready{id="d4"} 1
# HELP icpmon_site_reachable 1 when the website itself answered the latest definite probe after the grace following approval, 0 otherwise; approved, and cleared while reach.watch_after_clear watches them; no series while only local probe errors are known.
# TYPE icpmon_site_reachable gauge
icpmon_site_reachable{domain="shop.example",id="b2",scheme="http"} 0
icpmon_site_reachable{domain="shop.example",id="b2",scheme="https"} 1
icpmon_site_reachable{domain="still.example",id="d4",scheme="http"} 1
`,
		calendar.NewDate(2026, 1, 5).Start().Unix(), calendar.NewDate(2026, 1, 6).Start().Unix(),
		time.Date(2026, 2, 3, 0, 0, 0, 0, calendar.China).Unix(), approved.Unix(), cleared.Unix())
	if err := testutil.GatherAndCompare(g, strings.NewReader(want),
		"icpmon_cancellation_info", "icpmon_cancellation_submitted_timestamp_seconds",
		"icpmon_cancellation_review_deadline_timestamp_seconds", "icpmon_cancellation_review_workdays",
		"icpmon_cancellation_approved_timestamp_seconds", "icpmon_cancellation_cleared_timestamp_seconds", "icpmon_filing_record_present",
		"icpmon_filing_record_last_checked_timestamp_seconds", "icpmon_cancellation_reapply_ready",
		"icpmon_site_reachable"); err != nil {
		t.Fatal(err)
	}

	n, err := testutil.GatherAndCount(g, "icpmon_cancellations")
	if err != nil || n != len(cancellation.Kinds())*len(cancellation.Statuses()) {
		t.Errorf("icpmon_cancellations has %d series (%v), want every kind×status pair", n, err)
	}
	counts := `
# HELP icpmon_cancellations How many cancellations are tracked, by kind and status.
# TYPE icpmon_cancellations gauge
`
	for _, k := range cancellation.Kinds() {
		for _, st := range cancellation.Statuses() {
			counts += fmt.Sprintf("icpmon_cancellations{kind=%q,status=%q} %d\n", k, st, sample().Counts[status.Count{Kind: k, Status: st}])
		}
	}
	if err := testutil.GatherAndCompare(g, strings.NewReader(counts), "icpmon_cancellations"); err != nil {
		t.Error(err)
	}

	// One-hot: for each site exactly one result is 1, and it is the probe's.
	mfs, _ := g.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "icpmon_site_probe_result" {
			continue
		}
		hot := map[string]string{}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			site := l["scheme"] + "://" + l["domain"]
			if m.GetGauge().GetValue() == 1 {
				if prev, dup := hot[site]; dup {
					t.Errorf("%s: both %s and %s are 1", site, prev, l["result"])
				}
				hot[site] = l["result"]
			}
		}
		want := map[string]string{"http://shop.example": "provider_block", "https://shop.example": "served", "http://still.example": "served"}
		if len(mf.GetMetric()) != 3*9 || !maps.Equal(hot, want) { // 3 sites, 9 results
			t.Errorf("probe results: %d series, hot %v", len(mf.GetMetric()), hot)
		}
	}
}

func TestLingerDeadlineOnlyWhenSet(t *testing.T) {
	text := string(appendText(nil, sample(), AllSeries))
	want := fmt.Sprintf(`icpmon_filing_record_linger_deadline_timestamp_seconds{id="b2"} %d`+"\n",
		time.Date(2026, 2, 13, 0, 0, 0, 0, calendar.China).Unix())
	if strings.Count(text, "icpmon_filing_record_linger_deadline_timestamp_seconds{") != 1 || !strings.Contains(text, want) {
		t.Errorf("linger deadline series wrong:\n%s", text)
	}
}

func TestEmptySnapshotHasOnlyCounts(t *testing.T) {
	text := appendText(nil, &status.Snapshot{Counts: map[status.Count]int{}}, AllSeries)
	mfs, err := gatherer(t, text).Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "icpmon_cancellations" {
		t.Errorf("empty snapshot exposes %v (%v), want only icpmon_cancellations", mfs, err)
	}
}

func TestSetMetrics(t *testing.T) {
	s := NewSet()
	s.Query.Preset("miit")
	s.SetRedisUp(true)
	s.SetCalendarCoveredUntil(calendar.NewDate(2026, 12, 31))
	s.ConfigLoaded(time.Unix(1700000000, 0))
	s.ConfigReloadFailed()
	s.Jobs.SetInterval("review", 5*time.Minute)
	s.Jobs.Observe("review", time.Unix(1700000100, 0), 2*time.Second, errors.New("redis down"))

	var want strings.Builder
	want.WriteString(`# HELP icpmon_query_requests_total Public-query lookups by provider and result: present, absent, or why the lookup proved nothing.
# TYPE icpmon_query_requests_total counter
`)
	for _, r := range LookupResults() {
		fmt.Fprintf(&want, "icpmon_query_requests_total{provider=\"miit\",result=%q} 0\n", r)
	}
	want.WriteString(fmt.Sprintf(`# HELP icpmon_redis_up 1 when the last Redis round trip worked, 0 when it failed.
# TYPE icpmon_redis_up gauge
icpmon_redis_up 1
# HELP icpmon_calendar_covered_until_timestamp_seconds End (24:00 China time) of the last day covered by an official holiday schedule.
# TYPE icpmon_calendar_covered_until_timestamp_seconds gauge
icpmon_calendar_covered_until_timestamp_seconds %g
# HELP icpmon_config_last_reload_successful 1 when the last configuration load worked, 0 after a failed reload (the previous configuration keeps running).
# TYPE icpmon_config_last_reload_successful gauge
icpmon_config_last_reload_successful 0
# HELP icpmon_config_last_reload_success_timestamp_seconds When the configuration was last loaded successfully.
# TYPE icpmon_config_last_reload_success_timestamp_seconds gauge
icpmon_config_last_reload_success_timestamp_seconds 1.7e+09
# HELP icpmon_job_interval_seconds The job's scheduled period: the @every duration, or the gap between its next two runs.
# TYPE icpmon_job_interval_seconds gauge
icpmon_job_interval_seconds{job_name="review"} 300
`, float64(time.Date(2027, 1, 1, 0, 0, 0, 0, calendar.China).Unix())))
	names := []string{"icpmon_query_requests_total", "icpmon_query_canary_ok", "icpmon_redis_up",
		"icpmon_calendar_covered_until_timestamp_seconds", "icpmon_config_last_reload_successful",
		"icpmon_config_last_reload_success_timestamp_seconds", "icpmon_job_interval_seconds",
		"icpmon_job_last_success_timestamp_seconds"}
	// No canary series before a canary lookup, no last success before a success.
	if err := testutil.GatherAndCompare(s.Registry, strings.NewReader(want.String()), names...); err != nil {
		t.Fatal(err)
	}

	s.Query.SetCanary(true)
	s.Query.ObserveLookup("miit", "absent")
	s.Jobs.Observe("review", time.Unix(1700000400, 0), time.Second, nil)
	if got := testutil.ToFloat64(s.Query.canary); got != 1 {
		t.Errorf("canary = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.Query.requests.WithLabelValues("miit", "absent")); got != 1 {
		t.Errorf("absent lookups = %v, want 1", got)
	}
	s.Query.ObserveCaptcha("miit", "no_guess")
	if err := testutil.CollectAndCompare(s.Query.captcha, strings.NewReader(`
# HELP icpmon_query_captcha_total Slider captchas by provider and outcome: solved (accepted), refused (a wrong answer), no_guess (the solver declined).
# TYPE icpmon_query_captcha_total counter
icpmon_query_captcha_total{provider="miit",result="no_guess"} 1
icpmon_query_captcha_total{provider="miit",result="refused"} 0
icpmon_query_captcha_total{provider="miit",result="solved"} 0
`)); err != nil {
		t.Error(err)
	}
	if err := testutil.CollectAndCompare(s.Jobs.lastSuccess, strings.NewReader(`
# HELP icpmon_job_last_success_timestamp_seconds When the job last finished without error; absent until it has.
# TYPE icpmon_job_last_success_timestamp_seconds gauge
icpmon_job_last_success_timestamp_seconds{job_name="review"} 1.7000004e+09
`)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(s.Jobs.duration); n != 1 {
		t.Errorf("duration histogram has %d series, want 1", n)
	}
	problems, err := testutil.GatherAndLint(s.Registry)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

func TestHandlerServesSnapshotAndRegistry(t *testing.T) {
	// A registry whose exposition does not change between scrapes (the Go
	// and process collectors would), so that plain and gzip can be compared.
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "icpmon_redis_up", Help: "Redis."})
	up.Set(1)
	reg.MustRegister(up)
	var e Exposition
	h := Handler(reg, &e, slog.New(slog.DiscardHandler))

	// Before the first snapshot: the registry alone.
	plain := get(t, h, "")
	if strings.Contains(plain, "icpmon_cancellations") || !strings.Contains(plain, "icpmon_redis_up 1\n") {
		t.Fatalf("before a snapshot:\n%s", plain)
	}

	e.Publish(sample(), AllSeries)
	if e.Snapshot() == nil || e.Snapshot().Taken != t0 {
		t.Fatal("Snapshot does not return the published one")
	}
	plain = get(t, h, "")
	zipped := get(t, h, "deflate, gzip;q=0.8")
	if plain != zipped {
		t.Fatalf("gzip and plain expositions differ:\nplain %d bytes, gzip %d bytes", len(plain), len(zipped))
	}
	if !strings.HasPrefix(plain, string(appendText(nil, sample(), AllSeries))) || !strings.Contains(plain, "icpmon_redis_up 1\n") {
		t.Fatalf("exposition is not the snapshot followed by the registry:\n%s", plain)
	}
	g := gatherer(t, []byte(plain))
	if problems, err := testutil.GatherAndLint(g); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

// get scrapes h; with an Accept-Encoding it insists on a single gzip member,
// which any client can read, and returns the decompressed body.
func get(t *testing.T, h http.Handler, acceptEncoding string) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.Bytes()
	if acceptEncoding == "" {
		if rec.Header().Get("Content-Encoding") != "" {
			t.Fatalf("compressed without being asked")
		}
		return string(body)
	}
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", rec.Header().Get("Content-Encoding"))
	}
	br := bytes.NewReader(body) // an io.ByteReader: gzip reads no further than its member
	zr, err := gzip.NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	if br.Len() != 0 {
		t.Fatalf("%d bytes after the first gzip member", br.Len())
	}
	return string(out)
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"GZIP":                 true,
		"deflate, gzip":        true,
		"gzip;q=0":             false,
		"gzip; q=0.000":        false,
		"gzip;q=0.5, identity": true,
		"br, identity":         false,
		"x-gzip":               false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
