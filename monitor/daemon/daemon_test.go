package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

const password = "s3cret-pw-never-shown"

// seededStore is a store on rs (key prefix "test") holding what seed tracks.
func seededStore(t *testing.T, rs *redistest.Server) *store.Store {
	t.Helper()
	st := store.New(rs.Client(t), "test")
	seed(t, st)
	return st
}

// seed tracks one cancellation of each shape the daemon shows.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	approvedAt := time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China)
	for _, c := range []cancellation.Cancellation{
		{ID: "overdue", Kind: cancellation.KindWebsite, Licence: "京ICP备12345678号-1", Province: "京",
			Domains: []string{"example.com"}, Submitted: calendar.NewDate(2025, 9, 1)},
		{ID: "zhejiang", Kind: cancellation.KindSubject, Licence: "浙ICP备20001234号", Province: "浙",
			Submitted: calendar.NewDate(2026, 2, 10)},
		// Not probed yet: what the daemon shows of its site, the reach job found.
		{ID: "approved", Kind: cancellation.KindWebsite, Licence: "沪ICP备11112222号-2", Province: "沪",
			Domains: []string{"shop.example.cn"}, Submitted: calendar.NewDate(2026, 1, 20),
			Status: cancellation.Approved, ApprovedAt: approvedAt, ApprovedBy: "operator"},
		{ID: "rejected", Kind: cancellation.KindAccess, Licence: "粤ICP备33334444号-3", Province: "粤",
			Submitted: calendar.NewDate(2025, 11, 3), Status: cancellation.Rejected},
	} {
		if _, err := st.Add(ctx, c, "operator:test"); err != nil {
			t.Fatalf("add %s: %v", c.ID, err)
		}
	}
}

func TestServeTracksReviewDeadlines(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	seed(t, store.New(rdb, "test"))
	// From now on Redis wants the password, which must show up nowhere.
	if err := rdb.ConfigSet(context.Background(), "requirepass", password).Err(); err != nil {
		t.Fatal(err)
	}
	cfg := newOutside(t).writeConfig(t, "", fmt.Sprintf("redis://:%s@%s/0", password, rs.Addr), "@every 1h", "")
	d := start(t, Options{ConfigFile: cfg}, "http", nil)

	eventually(t, "ready", func() (bool, string) {
		code, body := d.get("/-/ready")
		return code == http.StatusOK, body
	})
	// Each job runs once at start; the snapshot that follows the last of
	// them shows what all three found.
	eventually(t, "every job's findings are served", func() (bool, string) {
		_, mfs := d.scrape()
		var missing []string
		for _, job := range []string{"review", "query", "reach"} {
			if _, ok := value(mfs, "icpmon_job_last_success_timestamp_seconds", "job_name", job); !ok {
				missing = append(missing, "a success of "+job)
			}
		}
		for _, id := range []string{"overdue", "zhejiang", "approved"} {
			if _, ok := value(mfs, "icpmon_filing_record_present", "id", id); !ok {
				missing = append(missing, "the record of "+id)
			}
		}
		for _, scheme := range []string{"http", "https"} {
			if _, ok := value(mfs, "icpmon_site_reachable", "id", "approved", "scheme", scheme); !ok {
				missing = append(missing, "a probe over "+scheme)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %v\n%s", missing, d.logs)
	})
	if code, _ := d.get("/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy: %d", code)
	}

	// The review figures, computed here from the calendar independently of
	// the daemon: the deadline by counting forward day by day, the workdays
	// by walking the days.
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := func(submitted calendar.Date, limit int) int64 {
		d := submitted
		for n := 0; n < limit; {
			d++
			if cal.IsBusinessDay(d) {
				n++
			}
		}
		return d.End().Unix()
	}
	workdays := func(submitted calendar.Date) int {
		n := 0
		for d := submitted + 1; d <= calendar.DateOf(fixedNow); d++ {
			if cal.IsBusinessDay(d) {
				n++
			}
		}
		return n
	}
	// A known fact besides: the 20th business day after 2025-09-01 is Sunday
	// 2025-09-28, a makeup workday (调休), so the deadline is 24:00 that day.
	if got, want := deadline(calendar.NewDate(2025, 9, 1), 20), time.Date(2025, 9, 29, 0, 0, 0, 0, calendar.China).Unix(); got != want {
		t.Fatalf("test calendar walk: deadline %d, want %d", got, want)
	}
	want := fmt.Sprintf(`
# HELP icpmon_cancellation_review_deadline_timestamp_seconds End (24:00 China time) of the last business day of the review limit; pending only.
# TYPE icpmon_cancellation_review_deadline_timestamp_seconds gauge
icpmon_cancellation_review_deadline_timestamp_seconds{id="overdue"} %d
icpmon_cancellation_review_deadline_timestamp_seconds{id="zhejiang"} %d
# HELP icpmon_cancellation_review_workdays Business days d with submitted < d <= today (China time); pending only.
# TYPE icpmon_cancellation_review_workdays gauge
icpmon_cancellation_review_workdays{id="overdue"} %d
icpmon_cancellation_review_workdays{id="zhejiang"} %d
# HELP icpmon_cancellation_approved_timestamp_seconds When approval was recorded by an operator or inferred from the public query.
# TYPE icpmon_cancellation_approved_timestamp_seconds gauge
icpmon_cancellation_approved_timestamp_seconds{id="approved"} %d
# HELP icpmon_filing_record_present 1 when the last definite public-query lookup found the record, 0 when it proved it absent; no series while unknown.
# TYPE icpmon_filing_record_present gauge
icpmon_filing_record_present{id="approved"} 0
icpmon_filing_record_present{id="overdue"} 1
icpmon_filing_record_present{id="zhejiang"} 1
# HELP icpmon_filing_record_last_checked_timestamp_seconds When the last definite public-query lookup was made.
# TYPE icpmon_filing_record_last_checked_timestamp_seconds gauge
icpmon_filing_record_last_checked_timestamp_seconds{id="approved"} %[6]d
icpmon_filing_record_last_checked_timestamp_seconds{id="overdue"} %[6]d
icpmon_filing_record_last_checked_timestamp_seconds{id="zhejiang"} %[6]d
# HELP icpmon_query_canary_ok 1 when the last lookup of the canary licence came back present, 0 otherwise; absent before the first.
# TYPE icpmon_query_canary_ok gauge
icpmon_query_canary_ok 1
# HELP icpmon_site_reachable 1 when the website itself answered the latest definite probe after the grace following approval, 0 otherwise; approved, and cleared while reach.watch_after_clear watches them; no series while only local probe errors are known.
# TYPE icpmon_site_reachable gauge
icpmon_site_reachable{domain="shop.example.cn",id="approved",scheme="http"} 0
icpmon_site_reachable{domain="shop.example.cn",id="approved",scheme="https"} 1
# HELP icpmon_cancellation_reapply_ready 1 once cleared-grade evidence says a new filing may be made, 0 while the cancellation is active.
# TYPE icpmon_cancellation_reapply_ready gauge
icpmon_cancellation_reapply_ready{id="approved"} 0
icpmon_cancellation_reapply_ready{id="overdue"} 0
icpmon_cancellation_reapply_ready{id="zhejiang"} 0
# HELP icpmon_job_last_success_timestamp_seconds When the job last finished without error; absent until it has.
# TYPE icpmon_job_last_success_timestamp_seconds gauge
icpmon_job_last_success_timestamp_seconds{job_name="query"} %[6]d
icpmon_job_last_success_timestamp_seconds{job_name="reach"} %[6]d
icpmon_job_last_success_timestamp_seconds{job_name="review"} %[6]d
# HELP icpmon_job_interval_seconds The job's scheduled period: the @every duration, or the gap between its next two runs.
# TYPE icpmon_job_interval_seconds gauge
icpmon_job_interval_seconds{job_name="query"} 21600
icpmon_job_interval_seconds{job_name="reach"} 3600
icpmon_job_interval_seconds{job_name="review"} 3600
# HELP icpmon_redis_up 1 when the last Redis round trip worked, 0 when it failed.
# TYPE icpmon_redis_up gauge
icpmon_redis_up 1
# HELP icpmon_config_last_reload_successful 1 when the last configuration load worked, 0 after a failed reload (the previous configuration keeps running).
# TYPE icpmon_config_last_reload_successful gauge
icpmon_config_last_reload_successful 1
# HELP icpmon_calendar_covered_until_timestamp_seconds End (24:00 China time) of the last day covered by an official holiday schedule.
# TYPE icpmon_calendar_covered_until_timestamp_seconds gauge
icpmon_calendar_covered_until_timestamp_seconds %d
`,
		deadline(calendar.NewDate(2025, 9, 1), 20), deadline(calendar.NewDate(2026, 2, 10), 30),
		workdays(calendar.NewDate(2025, 9, 1)), workdays(calendar.NewDate(2026, 2, 10)),
		time.Date(2026, 2, 20, 11, 0, 0, 0, calendar.China).Unix(), fixedNow.Unix(),
		cal.CoveredUntil().End().Unix())
	if err := testutil.ScrapeAndCompare(d.base+"/metrics", strings.NewReader(want),
		"icpmon_cancellation_review_deadline_timestamp_seconds", "icpmon_cancellation_review_workdays",
		"icpmon_cancellation_approved_timestamp_seconds", "icpmon_filing_record_present",
		"icpmon_filing_record_last_checked_timestamp_seconds", "icpmon_query_canary_ok", "icpmon_site_reachable",
		"icpmon_cancellation_reapply_ready", "icpmon_job_last_success_timestamp_seconds",
		"icpmon_job_interval_seconds", "icpmon_redis_up", "icpmon_config_last_reload_successful",
		"icpmon_calendar_covered_until_timestamp_seconds"); err != nil {
		t.Error(err)
	}

	body, mfs := d.scrape()
	if got, _ := value(mfs, "icpmon_cancellation_review_deadline_timestamp_seconds", "id", "overdue"); int64(got) >= fixedNow.Unix() {
		t.Errorf("a review submitted on 2025-09-01 has its deadline %v, not in the past", got)
	}
	for k, want := range map[[2]string]float64{
		{"website", "pending"}: 1, {"subject", "pending"}: 1, {"website", "approved"}: 1,
		{"access", "rejected"}: 1, {"subject", "cleared"}: 0, {"access", "withdrawn"}: 0,
	} {
		if got, ok := value(mfs, "icpmon_cancellations", "kind", k[0], "status", k[1]); !ok || got != want {
			t.Errorf("icpmon_cancellations{kind=%s,status=%s} = %v (present %v), want %v", k[0], k[1], got, ok, want)
		}
	}
	if _, ok := value(mfs, "icpmon_cancellation_info", "id", "rejected"); ok {
		t.Error("a rejected cancellation still has per-cancellation series")
	}
	// Every lookup of the sweep found records: the rest stay at their preset 0.
	for _, r := range metrics.LookupResults() {
		v, ok := value(mfs, "icpmon_query_requests_total", "provider", "miit", "result", r)
		if r == "present" && (!ok || v < 1) || r != "present" && (!ok || v != 0) {
			t.Errorf("icpmon_query_requests_total{provider=miit,result=%s} = %v (present %v)", r, v, ok)
		}
	}
	// The sweep solved at least one slider captcha on the simulator, and counted it.
	if v, ok := value(mfs, "icpmon_query_captcha_total", "provider", "miit", "result", "solved"); !ok || v < 1 {
		t.Errorf("icpmon_query_captcha_total{result=solved} = %v (present %v)", v, ok)
	}
	for scheme, want := range map[string]string{"http": prober.ProviderBlock, "https": prober.Served} {
		for _, r := range prober.Results() {
			v, ok := value(mfs, "icpmon_site_probe_result", "id", "approved", "domain", "shop.example.cn", "scheme", scheme, "result", r)
			if !ok || (v == 1) != (r == want) {
				t.Errorf("icpmon_site_probe_result{scheme=%s,result=%s} = %v (present %v); want one-hot on %s", scheme, r, v, ok, want)
			}
		}
	}
	for _, name := range []string{"icpmon_build_info", "go_goroutines", "process_resident_memory_bytes", "icpmon_job_duration_seconds"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}

	// The exposition as a whole: client_golang's linter and promtool.
	parsed := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		out := make([]*dto.MetricFamily, 0, len(mfs))
		for _, mf := range mfs {
			out = append(out, mf)
		}
		return out, nil
	})
	if problems, err := testutil.GatherAndLint(parsed); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
	promtool := exec.Command("promtool", "check", "metrics")
	promtool.Stdin = strings.NewReader(body)
	if out, err := promtool.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	code, page := d.get("/")
	if code != http.StatusOK || !strings.Contains(page, "京ICP备12345678号-1") || !strings.Contains(page, "(overdue)") ||
		!strings.Contains(page, "https://shop.example.cn served") || !strings.Contains(page, "http://shop.example.cn provider_block") ||
		!strings.Contains(page, "review") {
		t.Errorf("status page (%d) lacks the tracked cancellations:\n%s", code, page)
	}
	for where, text := range map[string]string{"page": page, "metrics": body, "logs": d.logs.String()} {
		if strings.Contains(text, password) {
			t.Errorf("the Redis password shows in the %s", where)
		}
	}
	if code, _ := d.get("/nothing-here"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", code)
	}
}

func TestRedisOutageAndRecovery(t *testing.T) {
	rs := redistest.Start(t)
	st := seededStore(t, rs)
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1s", "")}, "http", nil)
	eventually(t, "ready with a snapshot", func() (bool, string) {
		code, body := d.get("/-/ready")
		_, mfs := d.scrape()
		_, ok := value(mfs, "icpmon_cancellation_info", "id", "overdue")
		return code == http.StatusOK && ok, body
	})

	rs.Stop()
	eventually(t, "not ready while Redis is down", func() (bool, string) {
		code, body := d.get("/-/ready")
		_, mfs := d.scrape()
		up, _ := value(mfs, "icpmon_redis_up")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "Redis") && up == 0, body
	})
	if code, _ := d.get("/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy while Redis is down: %d", code)
	}
	_, mfs := d.scrape()
	if _, ok := value(mfs, "icpmon_cancellation_info", "id", "overdue"); !ok {
		t.Error("the last snapshot is no longer served while Redis is down")
	}

	rs.Restart(t)
	// The restarted server is empty (no persistence): the daemon recovers by
	// itself, but shows the store lost and keeps what it tracked
	// rather than the empty store, until a reload acknowledges it.
	if _, err := st.Add(context.Background(), cancellation.Cancellation{
		ID: "after-outage", Kind: cancellation.KindWebsite, Licence: "京ICP备55556666号-1", Province: "京",
		Submitted: calendar.NewDate(2026, 2, 2),
	}, "operator:test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready again, the emptied store shown lost", func() (bool, string) {
		code, body := d.get("/-/ready")
		_, mfs := d.scrape()
		up, _ := value(mfs, "icpmon_redis_up")
		lost, _ := value(mfs, "icpmon_store_lost")
		return code == http.StatusOK && up == 1 && lost == 1, body
	})
	_, mfs = d.scrape()
	if _, ok := value(mfs, "icpmon_cancellation_info", "id", "overdue"); !ok {
		t.Error("the last snapshot of the lost store is no longer served")
	}
	if code, body := d.do("POST", "/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	eventually(t, "the reload adopts the restarted store", func() (bool, string) {
		_, mfs := d.scrape()
		lost, _ := value(mfs, "icpmon_store_lost")
		_, fresh := value(mfs, "icpmon_cancellation_info", "id", "after-outage")
		_, old := value(mfs, "icpmon_cancellation_info", "id", "overdue")
		return lost == 0 && fresh && !old, fmt.Sprint(lost, fresh, old)
	})
}

func TestRedisDownAtStart(t *testing.T) {
	rs := redistest.Start(t)
	rs.Stop()
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1s", "")}, "http", nil)
	eventually(t, "the failed start-up review is recorded", func() (bool, string) {
		_, mfs := d.scrape()
		runs, _ := value(mfs, "icpmon_job_duration_seconds", "job_name", "review")
		return runs >= 1, ""
	})
	code, body := d.get("/-/ready")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready with Redis down: %d %s", code, body)
	}
	if code, _ := d.get("/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy with Redis down: %d", code)
	}
	_, mfs := d.scrape()
	if up, ok := value(mfs, "icpmon_redis_up"); !ok || up != 0 {
		t.Errorf("icpmon_redis_up = %v (present %v), want 0", up, ok)
	}
	if _, ok := value(mfs, "icpmon_job_last_success_timestamp_seconds", "job_name", "review"); ok {
		t.Error("a review that never succeeded has a last success")
	}
	if _, ok := mfs["icpmon_cancellations"]; ok {
		t.Error("counts exposed without any snapshot")
	}

	rs.Restart(t)
	seededStore(t, rs)
	eventually(t, "ready with a snapshot once Redis is up", func() (bool, string) {
		code, body := d.get("/-/ready")
		_, mfs := d.scrape()
		_, ok := value(mfs, "icpmon_cancellation_info", "id", "overdue")
		return code == http.StatusOK && ok, body
	})
}

func TestShutdownLetsRunningJobFinish(t *testing.T) {
	rs := redistest.Start(t)
	seededStore(t, rs)
	// The reach job writes to Redis every second (the review job reads none).
	cfg := newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", "")
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(body), `reach:
  schedule: "@every 1h"`, `reach:
  schedule: "@every 1s"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := start(t, Options{ConfigFile: cfg}, "http", nil)
	const started, ended = `"msg":"job started","job":"reach"`, `"job":"reach","duration":`
	eventually(t, "a first reach run", func() (bool, string) {
		return strings.Contains(d.logs.String(), ended), ""
	})
	// A frozen Redis holds the next run inside its lease or its writes.
	if err := rs.Process().Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed {
			_ = rs.Process().Signal(syscall.SIGCONT)
		}
	}()
	runs := strings.Count(d.logs.String(), started)
	eventually(t, "a reach run starts against the frozen Redis", func() (bool, string) {
		return strings.Count(d.logs.String(), started) > runs, ""
	})
	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	eventually(t, "shutdown begins", func() (bool, string) {
		return strings.Contains(d.logs.String(), `"msg":"shutting down"`), ""
	})
	// Redis answers again: the run that was going ends, with its context
	// intact, and only then does Run return.
	if err := rs.Process().Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed = true
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	logs := d.logs.String()
	after := logs[strings.Index(logs, `"msg":"shutting down"`):]
	if !strings.Contains(after, ended) {
		t.Errorf("Run returned without the running reach job ending:\n%s", after)
	}
	if strings.Contains(after, "jobs still running after the shutdown timeout") {
		t.Error("the running job was cancelled instead of being let finish")
	}
}
