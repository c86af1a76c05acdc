// Package grafana holds the importable Grafana dashboard of icpmon
// (icpmon.json). Its test checks the JSON's shape, then runs every panel's
// query against a real Prometheus scraping a real daemon (in-process, with a
// private redis-server and metrics.per_cancellation: all), and checks that
// every metric the dashboard reads is one the daemon exports.
package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

const dashboardFile = "icpmon.json"

// The parts of the dashboard model the test reads.
type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int     `json:"schemaVersion"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []target       `json:"targets"`
	Panels     []panel        `json:"panels"` // a collapsed row's
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *datasourceRef  `json:"datasource"`
}

const dsVariable = "${datasource}"

// load reads the dashboard and checks its shape: valid JSON, the datasource
// and job variables, and a title and the datasource variable on every panel
// and target.
func load(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) {
		t.Fatalf("%s is not valid JSON", dashboardFile)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a current one (39)", d.SchemaVersion)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both are needed", d.UID, d.Title)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v: want one prometheus datasource", d.Inputs)
	}
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || string(v.Query) != `"prometheus"` {
		t.Errorf("templating: want a variable datasource of type datasource, query prometheus; have %+v", v)
	}
	if v, ok := vars["job"]; !ok || v.Type != "query" || !isVariable(v.Datasource) {
		t.Errorf("templating: want a query variable job on %s; have %+v", dsVariable, v)
	}

	ids := map[int]string{}
	for _, p := range allPanels(d) {
		if p.Title == "" {
			t.Errorf("panel %d (%s) has no title", p.ID, p.Type)
		}
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		if !isVariable(p.Datasource) {
			t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, dsVariable)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != nil && !isVariable(tg.Datasource) {
				t.Errorf("panel %q target %s: datasource %+v, want uid %s", p.Title, tg.RefID, tg.Datasource, dsVariable)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q target %s has no expression", p.Title, tg.RefID)
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q target %s does not select job=~\"$job\": %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	return d
}

func isVariable(ds *datasourceRef) bool {
	return ds != nil && ds.Type == "prometheus" && ds.UID == dsVariable
}

func allPanels(d dashboard) []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// substitute replaces the Grafana variables as Grafana would for a range of
// an hour, the job being the test's.
func substitute(expr, job string) string {
	return strings.NewReplacer(
		"${datasource}", "prometheus",
		"$datasource", "prometheus",
		"${job}", job,
		"$job", job,
		"$__rate_interval", "1m",
		"$__interval", "15s",
		"$__range", "1h",
	).Replace(expr)
}

func TestDashboardShape(t *testing.T) {
	load(t)
}

// metricName finds the metric names in an expression: the daemon's own and
// the Go and process collectors'.
var metricName = regexp.MustCompile(`\b(icpmon_[a-z0-9_]+|process_[a-z0-9_]+|go_[a-z0-9_]+)\b`)

// A cancellation's kinds of shape the dashboard shows, keyed by ID.
const (
	overdueLicence  = "京ICP备12345678号-1"
	nearLicence     = "浙ICP备20001234号"
	approvedLicence = "沪ICP备11112222号-2"
	canary          = "京ICP备10046444号"
	approvedDomain  = "shop.example.cn"
	jobName         = "icpmon"
)

func TestDashboardQueriesAgainstPrometheus(t *testing.T) {
	d := load(t)
	if t.Failed() {
		t.FailNow()
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is needed (make deps installs it): %v", err)
	}

	// The store, with one cancellation of each shape.
	rs := redistest.Start(t)
	st := store.New(rs.Client(t), "test")
	now := time.Now()
	today := calendar.DateOf(now)
	ctx := context.Background()
	for _, c := range []cancellation.Cancellation{
		{ID: "overdue", Kind: cancellation.KindWebsite, Licence: overdueLicence, Province: "京",
			Domains: []string{"example.com"}, Submitted: today.AddDays(-90)},
		{ID: "near", Kind: cancellation.KindSubject, Licence: nearLicence, Province: "浙",
			Submitted: today.AddDays(-24)},
		{ID: "fresh", Kind: cancellation.KindAccess, Licence: "粤ICP备33334444号-3", Province: "粤",
			Submitted: today.AddDays(-2)},
		// Approved a month ago: past reach.grace and the linger deadline,
		// its site still served and its record still on file.
		{ID: "approved", Kind: cancellation.KindWebsite, Licence: approvedLicence, Province: "沪",
			Domains: []string{approvedDomain}, Submitted: today.AddDays(-60),
			Status: cancellation.Approved, ApprovedAt: now.Add(-30 * 24 * time.Hour), ApprovedBy: "operator"},
	} {
		if _, err := st.Add(ctx, c, "operator:test"); err != nil {
			t.Fatalf("add %s: %v", c.ID, err)
		}
	}

	// Outside the daemon: the MIIT simulator and the approved site.
	sim := miittest.New(miittest.Options{Seed: 1})
	t.Cleanup(sim.Close)
	for _, r := range []scraper.Record{
		{Licence: canary + "-1", Domain: "canary.example.cn", UnitName: "金丝雀科技有限公司"},
		{Licence: overdueLicence, Domain: "example.com", UnitName: "北京示例有限公司"},
		{Licence: nearLicence + "-1", Domain: "zj.example.cn", UnitName: "浙江示例有限公司"},
		{Licence: approvedLicence, Domain: approvedDomain, UnitName: "上海示例有限公司"},
	} {
		sim.AddRecord(r)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<h1>the shop</h1>")
	}))
	t.Cleanup(site.Close)
	resolve, err := json.Marshal(map[string]string{
		approvedDomain + ":80":  site.Listener.Addr().String(),
		approvedDomain + ":443": harness.FreeAddr(t), // nobody listens: refused
		"example.com:80":        harness.FreeAddr(t),
		"example.com:443":       harness.FreeAddr(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "icpmon.yml")
	writeFile(t, cfg, fmt.Sprintf(`redis:
  url: %s
  key_prefix: test
web:
  listen_address: 127.0.0.1:0
review:
  schedule: "@every 1h"
query:
  schedule: "@every 6h"
  min_interval: 0s
  canary: %s
  miit:
    base_url: %s
reach:
  schedule: "@every 1h"
  resolve: %s
metrics:
  per_cancellation: all
`, rs.URL(), canary, sim.URL, resolve))

	base := startDaemon(t, cfg)
	client := &http.Client{Timeout: 10 * time.Second}

	// Each job runs once at start; wait until all three have succeeded and
	// the site and the records are known.
	var families map[string]model.MetricType
	waitFor(t, "the daemon serves every job's findings", func() (bool, string) {
		body := get(t, client, base+"/metrics")
		var missing []string
		for _, want := range []string{
			`icpmon_job_last_success_timestamp_seconds{job_name="review"}`,
			`icpmon_job_last_success_timestamp_seconds{job_name="query"}`,
			`icpmon_job_last_success_timestamp_seconds{job_name="reach"}`,
			`icpmon_filing_record_present{id="approved"} 1`,
			`icpmon_site_reachable{domain="` + approvedDomain + `",id="approved",scheme="http"} 1`,
		} {
			if !strings.Contains(body, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			return false, fmt.Sprintf("missing %q", missing)
		}
		families = parseFamilies(t, body)
		return true, ""
	})

	// Every metric the dashboard reads is a family the daemon exports.
	var exprs []string
	for _, p := range allPanels(d) {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	read := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricName.FindAllString(e, -1) {
			read[m] = true
		}
	}
	names := slices.Sorted(maps.Keys(read))
	for _, name := range names {
		if !exported(families, name) {
			t.Errorf("the dashboard reads %s, which the daemon's /metrics (per_cancellation: all) does not export", name)
		}
	}
	t.Logf("metric families read by the dashboard: %v", names)

	// A real Prometheus scraping it every second.
	promAddr := harness.FreeAddr(t)
	target := strings.TrimPrefix(base, "http://")
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promCfg, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, jobName, target))
	startProcess(t, "prometheus", promBin, "--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus"), "--web.listen-address="+promAddr)
	prom := "http://" + promAddr

	// Enough samples for rate() over 1m: a few scrapes after the first,
	// which Prometheus 2.42 makes about 5 s after it starts.
	waitFor(t, "Prometheus has scraped the daemon a few times", func() (bool, string) {
		res, err := query(client, prom, `count_over_time(up{job="`+jobName+`"}[1m]) >= 4 and up{job="`+jobName+`"} == 1`)
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1, fmt.Sprintf("%d series", len(res))
	})

	// Panels that must show something with this store: the test's
	// cancellations reach every row.
	mustShow := map[string]bool{
		"Tracked cancellations by status and kind/A":         true,
		"Reviews past deadline/A":                            true,
		"Pending reviews by deadline/A":                      true,
		"Pending reviews by deadline/B":                      true,
		"Pending reviews by deadline/C":                      true,
		"Pending reviews by deadline/D":                      true,
		"Websites still served after approval/A":             true,
		"Latest probe results/A":                             true,
		"Lingering records/A":                                true,
		"Records still returned after the linger deadline/A": true,
		"Records still returned after the linger deadline/B": true,
		"Public-query lookups by result/A":                   true,
		"Canary/A":                                           true,
		"Providers in use/A":                                 true,
		"Time since last job success/A":                      true,
		"Job interval and duration/A":                        true,
		"Calendar covered for/A":                             true,
		"Redis/A":                                            true,
		"Store/A":                                            true,
		"Build/A":                                            true,
	}
	seen := map[string]bool{}
	for _, p := range allPanels(d) {
		for _, tg := range p.Targets {
			key := p.Title + "/" + tg.RefID
			seen[key] = true
			expr := substitute(tg.Expr, jobName)
			if strings.Contains(expr, "$") {
				t.Errorf("%s: a Grafana variable is left after substitution: %s", key, expr)
				continue
			}
			res, err := query(client, prom, expr)
			if err != nil {
				t.Errorf("%s: %v\n%s", key, err, expr)
				continue
			}
			t.Logf("%s: %d series", key, len(res))
			if mustShow[key] && len(res) == 0 {
				t.Errorf("%s shows nothing with the test's store\n%s", key, expr)
			}
			switch key {
			case "Time since last job success/A":
				// The daemon names its jobs in job_name.
				var jobs []string
				for _, s := range res {
					jobs = append(jobs, s.Metric["job_name"])
				}
				sort.Strings(jobs)
				if !slices.Equal(jobs, []string{"query", "reach", "review"}) {
					t.Errorf("%s: job_name values %q, want query, reach, review", key, jobs)
				}
			case "Websites still served after approval/A":
				if len(res) != 1 || res[0].Metric["domain"] != approvedDomain || res[0].Metric["licence"] != approvedLicence {
					t.Errorf("%s: %+v, want the approved site over http with its licence", key, res)
				}
			case "Lingering records/A":
				if len(res) != 1 || res[0].Value[1] != "1" {
					t.Errorf("%s: %+v, want 1", key, res)
				}
			}
		}
	}
	for key := range mustShow {
		if !seen[key] {
			t.Errorf("no panel target %s (renamed?)", key)
		}
	}
}

// exported says whether name is a family of the exposition, or a series of
// a histogram or summary family (_bucket, _sum, _count).
func exported(families map[string]model.MetricType, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch families[base] {
		case model.MetricTypeHistogram, model.MetricTypeSummary:
			return suffix != "_bucket" || families[base] == model.MetricTypeHistogram
		}
	}
	return false
}

func parseFamilies(t *testing.T, body string) map[string]model.MetricType {
	t.Helper()
	out := map[string]model.MetricType{}
	for name, mf := range harness.ParseMetrics(t, body) {
		switch mf.GetType().String() {
		case "HISTOGRAM":
			out[name] = model.MetricTypeHistogram
		case "SUMMARY":
			out[name] = model.MetricTypeSummary
		case "COUNTER":
			out[name] = model.MetricTypeCounter
		default:
			out[name] = model.MetricTypeGauge
		}
	}
	return out
}

// series is one element of an instant vector from /api/v1/query.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// query runs an instant query; a parse or evaluation error is an error. A
// scalar result counts as one series.
func query(client *http.Client, prom, expr string) ([]series, error) {
	resp, err := client.PostForm(prom+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var out []series
		if err := json.Unmarshal(r.Data.Result, &out); err != nil {
			return nil, err
		}
		for i := range out {
			// Values as strings, for the checks.
			if len(out[i].Value) == 2 {
				out[i].Value[1] = fmt.Sprint(out[i].Value[1])
			}
		}
		return out, nil
	case "scalar":
		return []series{{}}, nil
	default:
		return nil, fmt.Errorf("result type %s, want an instant vector", r.Data.ResultType)
	}
}

// startDaemon runs daemon.Run in-process with the configuration file and
// returns its base URL once it listens; it is stopped when the test ends.
func startDaemon(t *testing.T, cfg string) string {
	t.Helper()
	d := harness.StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		return daemon.Run(ctx, daemon.Options{
			ConfigFile:      cfg,
			Logger:          logger,
			PingInterval:    200 * time.Millisecond,
			FollowWait:      time.Second,
			ShutdownTimeout: 20 * time.Second,
		})
	})
	return "http://" + d.Addr
}

// startProcess starts a program, keeps its output for a failing test, and
// stops it (SIGTERM, then SIGKILL) when the test ends.
func startProcess(t *testing.T, name, bin string, args ...string) {
	t.Helper()
	out := &harness.Log{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() { // after the stop below
		if t.Failed() {
			t.Logf("---- output of %s ----\n%s", name, out.Tail(60))
		}
	})
	harness.StartProcess(t, cmd, 15*time.Second)
}

// waitFor polls cond until it holds; the generous deadline bounds a hang
// (Prometheus 2.42 waits about 5 s before its first scrape).
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	harness.Eventually(t, 60*time.Second, what, cond)
}

func get(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	code, body := harness.Fetch(t, client, http.MethodGet, u)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, code, body)
	}
	return body
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
