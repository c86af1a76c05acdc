// Package alerts holds the Prometheus alert rules (icpmon.rules.yml), their
// promtool unit tests (tests/) and the runbooks. Its Go tests run promtool and
// amtool over them, over prometheus.yml and over the Alertmanager example, and
// check what the tools cannot: every alert of the interface exists, is tested
// firing and quiet, and has its runbook.
package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/config"
)

// interfaceAlerts are the alerts named in README's Alerts section, which operators and their tools rely on.
var interfaceAlerts = []string{
	"ICPCancellationReviewOverdue",
	"ICPSiteReachableAfterCancellation",
	"ICPFilingRecordLingering",
	"ICPPublicQueryFailing",
	"ICPMonitorJobStale",
	"ICPCalendarExpiring",
	"ICPMonitorRedisDown",
	"ICPMonitorDown",
	"ICPMonitorStoreLost",
}

// perReplicaAlerts keep the instance label: their fact belongs to one host.
var perReplicaAlerts = []string{"ICPMonitorReplicaDown", "ICPMonitorConfigReloadFailed"}

const runbookBase = "https://github.com/icpmon/icpmon/blob/main/alerts/RUNBOOKS.md#"

type rule struct {
	Alert         string            `yaml:"alert"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type expectedAlert struct {
	Labels      map[string]string `yaml:"exp_labels"`
	Annotations map[string]string `yaml:"exp_annotations"`
}

type alertRuleTest struct {
	EvalTime  string          `yaml:"eval_time"`
	AlertName string          `yaml:"alertname"`
	ExpAlerts []expectedAlert `yaml:"exp_alerts"`
}

type unitTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTests []alertRuleTest `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		HonorLabels   bool   `yaml:"honor_labels"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// tool runs a program that `make deps` installs and returns its standard
// output; a missing program fails the test.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (make deps installs it): %v", name, err)
	}
	var stdout, stderr strings.Builder
	cmd := exec.CommandContext(t.Context(), path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (err %v)", pattern, err)
	}
	return files
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) []rule {
	return loadAll(t, "*.rules.yml", func(f ruleFile) (out []rule) {
		for _, g := range f.Groups {
			out = append(out, g.Rules...)
		}
		return out
	})
}

func loadRuleTests(t *testing.T) []alertRuleTest {
	return loadAll(t, "tests/*.yml", func(f unitTestFile) (out []alertRuleTest) {
		for _, tc := range f.Tests {
			out = append(out, tc.AlertRuleTests...)
		}
		return out
	})
}

// loadAll decodes every file pattern matches as an F and gathers what
// items takes from each.
func loadAll[F, T any](t *testing.T, pattern string, items func(F) []T) []T {
	t.Helper()
	var out []T
	for _, path := range glob(t, pattern) {
		var f F
		decodeYAML(t, path, &f)
		out = append(out, items(f)...)
	}
	return out
}

func loadPrometheusConfig(t *testing.T) prometheusConfig {
	t.Helper()
	var c prometheusConfig
	decodeYAML(t, "../prometheus.yml", &c)
	return c
}

func TestPromtoolCheckRules(t *testing.T) {
	tool(t, "promtool", append([]string{"check", "rules"}, glob(t, "*.rules.yml")...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	out := tool(t, "promtool", append([]string{"test", "rules"}, glob(t, "tests/*.yml")...)...)
	t.Log(out)
}

func TestPromtoolCheckConfig(t *testing.T) {
	out := tool(t, "promtool", "check", "config", "../prometheus.yml")
	// The rule files are checked relative to prometheus.yml: they must be found.
	for _, path := range glob(t, "*.rules.yml") {
		if want := "Checking " + filepath.Join("..", "alerts", path); !strings.Contains(out, want) {
			t.Errorf("promtool check config did not load alerts/%s:\n%s", path, out)
		}
	}

	c := loadPrometheusConfig(t)
	if !slices.Contains(c.RuleFiles, "alerts/*.rules.yml") {
		t.Errorf("rule_files = %q, want alerts/*.rules.yml", c.RuleFiles)
	}
	var alertmanagers []string
	for _, am := range c.Alerting.Alertmanagers {
		for _, sc := range am.StaticConfigs {
			alertmanagers = append(alertmanagers, sc.Targets...)
		}
	}
	if !slices.Equal(alertmanagers, []string{"localhost:9093"}) {
		t.Errorf("alertmanagers = %q, want localhost:9093", alertmanagers)
	}
	found := false
	for _, sc := range c.ScrapeConfigs {
		if sc.JobName != "icpmon" {
			continue
		}
		found = true
		// Any label of the daemon's that collides must not win over the target's.
		if sc.HonorLabels {
			t.Error("job icpmon: honor_labels must stay false")
		}
		if len(sc.StaticConfigs) != 1 || !slices.Equal(sc.StaticConfigs[0].Targets, []string{"127.0.0.1:9810"}) {
			t.Errorf("job icpmon targets = %+v, want 127.0.0.1:9810", sc.StaticConfigs)
		}
	}
	if !found {
		t.Error("prometheus.yml has no scrape job icpmon")
	}
}

func TestAmtoolCheckConfig(t *testing.T) {
	const config = "../deploy/alertmanager.yml"
	tool(t, "amtool", "check-config", config)

	// Where each severity the rules use ends up: pages and tickets go to
	// WeCom in Chinese as well (continue: true), warnings to the chat only.
	want := map[string]string{"page": "wecom,on-call", "ticket": "wecom,ticket-queue", "warning": "team-chat"}
	for _, r := range loadRules(t) {
		if _, ok := want[r.Labels["severity"]]; !ok {
			t.Errorf("%s: severity %q has no route in this test", r.Alert, r.Labels["severity"])
		}
	}
	for severity, receiver := range want {
		out := tool(t, "amtool", "config", "routes", "test", "--config.file="+config,
			"alertname=ICPSiteReachableAfterCancellation", "licence=京ICP备12345678号-3", "severity="+severity)
		if got := strings.TrimSpace(out); got != receiver {
			t.Errorf("severity=%s routed to %q, want %q", severity, got, receiver)
		}
	}

	var c struct {
		Route struct {
			GroupBy []string `yaml:"group_by"`
		} `yaml:"route"`
	}
	decodeYAML(t, config, &c)
	if !slices.Equal(c.Route.GroupBy, []string{"alertname", "licence"}) {
		t.Errorf("group_by = %q, want [alertname licence]", c.Route.GroupBy)
	}
}

func TestAlertsFollowConventions(t *testing.T) {
	rules := loadRules(t)
	prom := loadPrometheusConfig(t)
	scrape := duration(t, "prometheus.yml", "scrape_interval", prom.Global.ScrapeInterval)
	eval := duration(t, "prometheus.yml", "evaluation_interval", prom.Global.EvaluationInterval)

	var names []string
	for _, r := range rules {
		if r.Alert == "" {
			t.Errorf("recording rule %q: the rule files hold alerts only", r.Expr)
			continue
		}
		names = append(names, r.Alert)
		if s := r.Labels["severity"]; s != "page" && s != "warning" && s != "ticket" {
			t.Errorf("%s: severity %q, want page, warning or ticket", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "summary_zh", "description_zh"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
		}
		// The Chinese annotations (deploy/wecom.tmpl sends them to WeCom)
		// must be Chinese, not a copy of the English ones.
		for _, a := range []string{"summary_zh", "description_zh"} {
			if v := r.Annotations[a]; v != "" && !containsHan(v) {
				t.Errorf("%s: %s has no Chinese character: %q", r.Alert, a, v)
			}
		}
		if want := runbookBase + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		// One failed scrape must neither page nor resolve a firing alert.
		if d := duration(t, r.Alert, "for", r.For); d < 3*scrape {
			t.Errorf("%s: for %s, want at least three scrapes (%s)", r.Alert, r.For, 3*scrape)
		}
		// A failed scrape leaves no series until the next scrape, and the
		// alert sees them again at the evaluation after it.
		if d := duration(t, r.Alert, "keep_firing_for", r.KeepFiringFor); d < scrape+eval {
			t.Errorf("%s: keep_firing_for %s, want at least a scrape and an evaluation interval (%s)", r.Alert, r.KeepFiringFor, scrape+eval)
		}
	}
	for _, name := range interfaceAlerts {
		if !slices.Contains(names, name) {
			t.Errorf("alert %s of the interface is missing", name)
		}
	}
}

// containsHan reports whether s holds a CJK (Han) character outside template
// actions: a Chinese word in a query or a label name does not count.
func containsHan(s string) bool {
	text := templateAction.ReplaceAllString(s, "")
	return strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

var templateAction = regexp.MustCompile(`(?s)\{\{.*?\}\}`)

// publishDelay bounds how long the daemon takes to publish a change written
// to the store (a notice wakes it at once), or the new day at China
// midnight: its follower turns at least every DefaultFollowWait (10 s) and
// publishes within publishEvery (0.5 s) (monitor/daemon/live.go).
const publishDelay = 11 * time.Second

// TestVerdictLatency recomputes from the shipped files (the configuration
// defaults, prometheus.yml, the rules, deploy/alertmanager.yml) the worst
// cases that icpmon.rules.yml states beside the `for` of the two verdict
// alerts, and holds them to their goals: a site still served after reach.grace
// pages within 15 minutes of the grace ending; an overdue review reaches its
// receiver within 10 minutes of its deadline, and not before the series its
// description reads are in Prometheus.
func TestVerdictLatency(t *testing.T) {
	prom := loadPrometheusConfig(t)
	scrape := duration(t, "prometheus.yml", "scrape_interval", prom.Global.ScrapeInterval)
	eval := duration(t, "prometheus.yml", "evaluation_interval", prom.Global.EvaluationInterval)
	defaults := config.Default()
	every := func(field, spec string) time.Duration {
		s, err := config.ParseSchedule(spec)
		if err != nil {
			t.Fatalf("%s %q: %v", field, spec, err)
		}
		return config.ScheduleInterval(s, time.Now())
	}
	reach := defaults.Reach
	reachEvery := every("reach.schedule", reach.Schedule)

	for _, c := range []struct {
		alert  string
		before time.Duration // from the event until the expression is first true
		budget time.Duration
		// described: from the event until the series only the description
		// reads are in Prometheus; the alert must not fire sooner.
		described time.Duration
	}{
		// The first reach run after the grace ends, its probes (one round of
		// reach.concurrency), the publication, a scrape, an evaluation. The
		// description's series come with the same publication.
		{"ICPSiteReachableAfterCancellation", reachEvery + reach.Timeout + publishDelay + scrape + eval, 15 * time.Minute, 0},
		// The deadline series exists before the deadline: the first
		// evaluation past it is true. The submitted date and business days
		// (metrics.per_cancellation: alerting) come once the follower has
		// seen the day turn, and a scrape later.
		{"ICPCancellationReviewOverdue", eval, 10 * time.Minute, publishDelay + scrape},
	} {
		var r *rule
		for _, x := range loadRules(t) {
			if x.Alert == c.alert {
				r = &x
				break
			}
		}
		if r == nil {
			t.Errorf("no alert %s", c.alert)
			continue
		}
		// An alert fires at the first evaluation at least `for` after the
		// one that made it pending.
		pending := duration(t, c.alert, "for", r.For)
		pending = (pending + eval - 1) / eval * eval
		wait := groupWait(t, "../deploy/alertmanager.yml", r.Labels["severity"])
		worst := c.before + pending + wait
		t.Logf("%s: worst case %s = %s + for %s + group_wait %s (budget %s)", c.alert, worst, c.before, pending, wait, c.budget)
		if worst > c.budget {
			t.Errorf("%s: worst case %s from the event to its receiver, over the goal of %s", c.alert, worst, c.budget)
		}
		// The earliest evaluation that makes it pending is just past the event.
		if pending < c.described {
			t.Errorf("%s: for %s may fire before its description's series are scraped (%s after the event)", c.alert, r.For, c.described)
		}
	}
}

// amRoute is a route of an Alertmanager configuration.
type amRoute struct {
	Matchers  []string  `yaml:"matchers"`
	GroupWait string    `yaml:"group_wait"`
	Routes    []amRoute `yaml:"routes"`
}

// groupWait returns the group_wait that an alert of severity waits for in
// the Alertmanager configuration at path: that of the first child route
// matching severity, inherited from the root when the child sets none.
func groupWait(t *testing.T, path, severity string) time.Duration {
	t.Helper()
	var c struct {
		Route amRoute `yaml:"route"`
	}
	decodeYAML(t, path, &c)
	wait := "30s" // Alertmanager's default
	if c.Route.GroupWait != "" {
		wait = c.Route.GroupWait
	}
	for _, r := range c.Route.Routes {
		if slices.Contains(r.Matchers, `severity="`+severity+`"`) {
			if r.GroupWait != "" {
				wait = r.GroupWait
			}
			break
		}
	}
	return duration(t, path, "group_wait", wait)
}

func duration(t *testing.T, alert, field, s string) time.Duration {
	t.Helper()
	d, err := model.ParseDuration(s)
	if err != nil {
		t.Errorf("%s: %s %q: %v", alert, field, s, err)
	}
	return time.Duration(d)
}

func TestEveryAlertTestedBothWays(t *testing.T) {
	firing, quiet := map[string]int{}, map[string]int{}
	for _, tc := range loadRuleTests(t) {
		if len(tc.ExpAlerts) == 0 {
			quiet[tc.AlertName]++
			continue
		}
		firing[tc.AlertName]++
		for _, a := range tc.ExpAlerts {
			_, hasInstance := a.Labels["instance"]
			if hasInstance != slices.Contains(perReplicaAlerts, tc.AlertName) {
				t.Errorf("%s at %s: instance label %v: only %v keep it", tc.AlertName, tc.EvalTime, hasInstance, perReplicaAlerts)
			}
		}
	}
	for _, r := range loadRules(t) {
		if firing[r.Alert] == 0 {
			t.Errorf("%s: no promtool test shows it firing", r.Alert)
		}
		if quiet[r.Alert] == 0 {
			t.Errorf("%s: no promtool test shows it quiet", r.Alert)
		}
	}
}

// Alerts about one cancellation carry its licence for routing and grouping.
func TestCancellationAlertsCarryLicence(t *testing.T) {
	joined := map[string]bool{}
	for _, r := range loadRules(t) {
		if strings.Contains(r.Expr, "icpmon_cancellation_info") {
			joined[r.Alert] = true
		}
	}
	if len(joined) == 0 {
		t.Fatal("no alert joins icpmon_cancellation_info")
	}
	for _, tc := range loadRuleTests(t) {
		if !joined[tc.AlertName] {
			continue
		}
		for _, a := range tc.ExpAlerts {
			for _, l := range []string{"licence", "id", "kind"} {
				if a.Labels[l] == "" {
					t.Errorf("%s at %s: no %s label", tc.AlertName, tc.EvalTime, l)
				}
			}
		}
	}
}

func TestRunbookForEveryAlert(t *testing.T) {
	data, err := os.ReadFile("RUNBOOKS.md")
	if err != nil {
		t.Fatal(err)
	}
	// GitHub's anchor of "## Name" is the lower-cased name.
	headings := regexp.MustCompile(`(?m)^## (ICP\w+)\s*$`).FindAllStringSubmatch(string(data), -1)
	var sections []string
	for _, h := range headings {
		sections = append(sections, h[1])
	}
	var alerts []string
	for _, r := range loadRules(t) {
		if !slices.Contains(alerts, r.Alert) {
			alerts = append(alerts, r.Alert)
		}
		if !slices.Contains(sections, r.Alert) {
			t.Errorf("RUNBOOKS.md has no section \"## %s\"", r.Alert)
		}
	}
	for _, s := range sections {
		if !slices.Contains(alerts, s) {
			t.Errorf("RUNBOOKS.md section %s has no alert", s)
		}
	}
}
