package alerts

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// The rule copy's durations: the least that TestAlertsFollowConventions asks
// of the shipped rules (three scrapes pending; a scrape and an evaluation
// interval kept firing), at this test's one-second scrapes and evaluations.
const (
	pipelineFor           = "3s"
	pipelineKeepFiringFor = "2s"
)

// The cancellations of the scenario. Licences, domains and dates are the
// facts the alerts must name.
const (
	// The units (主办单位名称) the simulated MIIT lists: the query job keeps
	// each from its filing's own record, and the alerts name it.
	overdueUnit   = "逾期科技有限公司"
	servedUnit    = "在线科技有限公司"
	lingeringUnit = "滞留科技有限公司"

	overdueLicence   = "京ICP备11111111号-1"
	overdueDomain    = "pending.example.com"
	overdueSubmitted = "2025-06-02"
	// 20 business days after 2025-06-02: 3 June to 30 June (no holiday in between).
	overdueDeadline = "2025-06-30"

	servedLicence   = "京ICP备22222222号-1"
	servedDomain    = "served.example.com"
	servedSubmitted = "2026-10-19"

	// Approved, then cleared by the query job once MIIT drops its record, and
	// still served.
	clearedLicence   = "京ICP备44444444号-1"
	clearedDomain    = "cleared.example.com"
	clearedSubmitted = "2026-10-20"

	lingeringLicence   = "京ICP备33333333号"
	lingeringDomain    = "lingering.example.com"
	lingeringSubmitted = "2026-10-09"
	// With query.linger_business_days 0 this is also the linger deadline.
	lingeringApproved = "2026-11-02"
)

// Generous bounds on waits; they catch a hang, they measure nothing.
const (
	startupTimeout = 60 * time.Second
	alertTimeout   = 90 * time.Second
)

// TestPipeline runs what an operator runs: icpmon serve against Redis, the
// MIIT simulator and local websites; Prometheus with a copy of the shipped
// rules (only for: and keep_firing_for: shortened); Alertmanager notifying a
// webhook that the test serves. It tracks an overdue pending cancellation, an
// approved one whose site is still served, one approved and then cleared
// whose site is still served, and an approved one whose record lingers, and
// checks that exactly their alerts reach the webhook, with the labels and
// annotations on-call needs, that approving the pending one and blocking
// the sites resolve theirs, and that emptying the store pages without
// resolving what was firing until a reload acknowledges it.
func TestPipeline(t *testing.T) {
	began := time.Now()
	env := newPipelineEnv(t)
	step := func(what string) { t.Logf("%6.1fs  %s", time.Since(began).Seconds(), what) }
	prometheusBin := env.lookTool("prometheus")
	alertmanagerBin := env.lookTool("alertmanager", "prometheus-alertmanager")
	icpmon := env.buildIcpmon()
	step("icpmon built")

	rs := redistest.Start(t)
	sim := miittest.New(miittest.Options{})
	t.Cleanup(sim.Close)
	// The canary, and the record of every cancellation: a filing stays listed
	// until MIIT removes it. With query.confirmations 1, a missing record would
	// infer the pending one's approval, and clear the served one, at the
	// first sweep.
	for _, r := range []scraper.Record{
		{Licence: "京ICP备10046444号-9", Domain: "canary.example.com", UnitName: "金丝雀科技有限公司"},
		{Licence: overdueLicence, Domain: overdueDomain, UnitName: overdueUnit},
		{Licence: servedLicence, Domain: servedDomain, UnitName: servedUnit},
		{Licence: clearedLicence, Domain: clearedDomain, UnitName: "注销科技有限公司"},
		{Licence: lingeringLicence + "-1", Domain: lingeringDomain, UnitName: lingeringUnit},
	} {
		sim.AddRecord(r)
	}

	cert, caFile := env.certificate(overdueDomain, servedDomain, clearedDomain, lingeringDomain)
	served, blocked := env.site(cert), env.site(cert)
	blocked.blocked.Store(true)
	resolve := map[string]string{}
	served.serve(resolve, servedDomain, clearedDomain)
	blocked.serve(resolve, overdueDomain, lingeringDomain)

	config := env.render("icpmon.yml.tmpl", map[string]any{"RedisURL": rs.URL(), "MIITURL": sim.URL, "Resolve": resolve})
	daemon := env.start("icpmon", []string{"SSL_CERT_FILE=" + caFile}, icpmon, "serve", "--config", config, "--log.format", "json")
	var daemonAddr string
	env.waitFor("icpmon listens", startupTimeout, func() bool {
		addr, ok := harness.ListeningAddress(daemon.out.String())
		daemonAddr = addr
		return ok
	})
	daemonURL := "http://" + daemonAddr
	env.diagnose(func() string { return env.icpmonMetrics(daemonURL) })
	env.waitFor("icpmon is ready", startupTimeout, env.ready(daemonURL))
	step("icpmon serve ready on " + daemonAddr)

	cli := func(args ...string) string {
		return strings.TrimSpace(env.run(icpmon, append(args, "--redis-url", rs.URL())...))
	}
	overdueID := cli("track", "add", "--kind", "website", "--licence", overdueLicence,
		"--domain", overdueDomain, "--submitted", overdueSubmitted)
	servedID := cli("track", "add", "--kind", "website", "--licence", servedLicence,
		"--domain", servedDomain, "--submitted", servedSubmitted)
	// Approved now, so the record may still be listed: not lingering.
	servedApproved := chinaToday()
	cli("track", "approve", servedID)
	servedApprovedAfter := chinaToday()
	lingeringID := cli("track", "add", "--kind", "subject", "--licence", lingeringLicence,
		"--domain", lingeringDomain, "--submitted", lingeringSubmitted)
	cli("track", "approve", lingeringID, "--at", lingeringApproved)
	// Approved while MIIT still lists it, so that no sweep infers the
	// approval first; then MIIT drops the record and the next sweep clears it.
	clearedID := cli("track", "add", "--kind", "website", "--licence", clearedLicence,
		"--domain", clearedDomain, "--submitted", clearedSubmitted)
	clearedApproved := chinaToday()
	cli("track", "approve", clearedID)
	if n := sim.DeleteLicence(clearedLicence); n != 1 {
		t.Fatalf("the simulator dropped %d records of %s, want 1", n, clearedLicence)
	}
	step(fmt.Sprintf("tracked: overdue %s, served %s, cleared %s, lingering %s", overdueID, servedID, clearedID, lingeringID))

	hook := &inbox{}
	webhook := httptest.NewServer(hook)
	t.Cleanup(webhook.Close)
	env.diagnose(hook.summary)
	amAddr := harness.FreeAddr(t)
	amConfig := env.render("alertmanager.yml.tmpl", map[string]any{"Webhook": webhook.URL + "/hook"})
	// Pages also go to WeCom, in Chinese, through the shipped template.
	weCom := &wecom{secret: "test-secret"}
	weComAPI := httptest.NewServer(weCom)
	t.Cleanup(weComAPI.Close)
	env.diagnose(weCom.summary)
	withWeCom(t, amConfig, weComAPI.URL, weCom)
	env.start("alertmanager", nil, alertmanagerBin, "--config.file="+amConfig,
		"--storage.path="+filepath.Join(env.dir, "alertmanager"), "--web.listen-address="+amAddr,
		"--cluster.listen-address=")
	env.waitFor("Alertmanager is ready", startupTimeout, env.ready("http://"+amAddr))
	step("Alertmanager ready")

	// Prometheus starts without rules: until its first scrape, up{job="icpmon"}
	// is absent and ICPMonitorDown, with its `for` shortened below that gap,
	// would rightly fire.
	rulesDir := filepath.Join(env.dir, "rules")
	promAddr := harness.FreeAddr(t)
	promURL := "http://" + promAddr
	promConfig := env.render("prometheus.yml.tmpl", map[string]any{
		"RuleFiles": filepath.Join(rulesDir, "*.rules.yml"), "Alertmanager": amAddr, "Icpmon": daemonAddr,
	})
	env.start("prometheus", nil, prometheusBin, "--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(env.dir, "prometheus"), "--web.listen-address="+promAddr,
		"--web.enable-lifecycle", "--rules.alert.resend-delay=1s")
	env.diagnose(func() string {
		alerts, err := env.promAlerts(promURL)
		return fmt.Sprintf("Prometheus alerts: %+v (err %v)", alerts, err)
	})
	env.waitFor("Prometheus is ready", startupTimeout, env.ready(promURL))
	env.waitFor(`Prometheus has scraped icpmon (up{job="icpmon"} == 1)`, startupTimeout, func() bool {
		s, err := env.promQuery(promURL, `up{job="icpmon"}`)
		return err == nil && len(s) == 1 && s[0].float() == 1
	})
	step("Prometheus scrapes icpmon")
	// The rules are loaded only once the cancellation is cleared and its site,
	// still served, has been probed since: what pages for it pages for a
	// cleared cancellation.
	env.waitFor("the cleared cancellation's site is reachable in Prometheus", alertTimeout, func() bool {
		s, err := env.promQuery(promURL, fmt.Sprintf(
			`icpmon_site_reachable{id=%q} == 1 and on (id) icpmon_cancellation_info{status="cleared"}`, clearedID))
		return err == nil && len(s) == 2
	})
	clearedOn := chinaToday()
	step("cancellation " + clearedID + " cleared, its site still served")
	loadShortenedRules(t, env, rulesDir, promURL)
	step("rules loaded")

	expected := map[alertKey]wantAlert{}
	overdue := alertKey{alertname: "ICPCancellationReviewOverdue", id: overdueID}
	expected[overdue] = expectOverdue(t, overdueID)
	servedKeys := []alertKey{
		{alertname: "ICPSiteReachableAfterCancellation", id: servedID, domain: servedDomain, scheme: "http"},
		{alertname: "ICPSiteReachableAfterCancellation", id: servedID, domain: servedDomain, scheme: "https"},
	}
	for _, k := range servedKeys {
		expected[k] = expectReachable(servedID, k.scheme, servedApproved, servedApprovedAfter)
	}
	clearedKeys := []alertKey{
		{alertname: "ICPSiteReachableAfterCancellation", id: clearedID, domain: clearedDomain, scheme: "http"},
		{alertname: "ICPSiteReachableAfterCancellation", id: clearedID, domain: clearedDomain, scheme: "https"},
	}
	for _, k := range clearedKeys {
		expected[k] = expectReachableCleared(clearedID, k.scheme, []string{clearedApproved, clearedOn}, []string{clearedApproved, clearedOn})
	}
	lingering := alertKey{alertname: "ICPFilingRecordLingering", id: lingeringID}
	expected[lingering] = expectLingering(lingeringID)
	// The embedded calendar ends with the last official year; this alert
	// fires in the 30 days before that end, whenever the test runs then.
	calendarKey := alertKey{alertname: "ICPCalendarExpiring"}
	calendarDue, calendarExpectation := expectCalendar(t, env, promURL)
	required := slices.Collect(maps.Keys(expected))
	switch calendarDue {
	case due:
		required = append(required, calendarKey)
		expected[calendarKey] = calendarExpectation
	case borderline:
		expected[calendarKey] = calendarExpectation
	}

	// receiveAll waits until the webhook has received every alert of keys
	// in status (and endsAt, see received), then checks each as expected.
	receiveAll := func(keys []alertKey, status, endsAt string) {
		t.Helper()
		env.waitFor(fmt.Sprintf("the webhook receives %v %s", keys, status), alertTimeout, func() bool {
			for _, k := range keys {
				if _, ok := hook.received(k, status, endsAt); !ok {
					return false
				}
			}
			return true
		})
		for _, k := range keys {
			a, _ := hook.received(k, status, endsAt)
			expected[k].check(t, k, a)
		}
		checkNothingElse(t, hook, expected)
	}
	receiveAll(required, "firing", "")
	step("every expected alert received firing")

	// The page about the served site reaches WeCom in Chinese, rendered by
	// deploy/wecom.tmpl from summary_zh and description_zh, naming the unit
	// that the query job saw on the filing's record.
	weComWant := []string{"【告警】ICPSiteReachableAfterCancellation（紧急）", "注销后网站仍可访问：" + servedDomain + "（" + servedLicence + "，" + servedUnit + "）",
		"网站 " + servedDomain + " 通过 https 返回了网站自身内容", servedLicence + "（主办单位 " + servedUnit + "）的注销网站申请 " + servedID + " 已于",
		"处理手册：" + runbookBase + "icpsitereachableaftercancellation"}
	env.waitFor("WeCom receives the page about "+servedLicence, alertTimeout, func() bool {
		return slices.ContainsFunc(weCom.messages(), func(m wecomMessage) bool {
			return strings.Contains(m.Text.Content, "注销后网站仍可访问："+servedDomain)
		})
	})
	step("page received in WeCom")
	for _, m := range weCom.messages() {
		if !strings.Contains(m.Text.Content, "注销后网站仍可访问："+servedDomain) {
			continue
		}
		for _, w := range weComWant {
			if !strings.Contains(m.Text.Content, w) {
				t.Errorf("WeCom message does not contain %q:\n%s", w, m.Text.Content)
			}
		}
		if m.MsgType != "text" || m.ToParty == "" || m.AgentID == "" {
			t.Errorf("WeCom message: msgtype %q, toparty %q, agentid %q", m.MsgType, m.ToParty, m.AgentID)
		}
		break
	}
	for _, m := range weCom.messages() {
		// Only pages are routed to WeCom here: not the overdue ticket nor the lingering warning.
		if strings.Contains(m.Text.Content, overdueLicence) || strings.Contains(m.Text.Content, lingeringLicence) {
			t.Errorf("WeCom received what is not a page:\n%s", m.Text.Content)
		}
	}

	// Resolve: the operator records the approval; the provider blocks the sites.
	cli("track", "approve", overdueID)
	served.blocked.Store(true)
	step("pending cancellation approved, served sites blocked")
	resolving := slices.Concat([]alertKey{overdue}, servedKeys, clearedKeys)
	receiveAll(resolving, "resolved", "resolved")
	step("resolved notifications received")
	if a, ok := hook.received(lingering, "resolved", ""); ok {
		t.Errorf("%s was resolved, but its record is still listed: %v", lingering, a.Labels)
	}

	// The cancellation approved just now is watched like any approved one:
	// once Prometheus has evaluated its rules on the probes of its blocked
	// site, it holds (pending alerts included) only the lingering record and
	// the calendar when due. Its own record is still listed, but within the
	// linger time: approved today.
	env.waitFor("Prometheus has the probes of the newly approved cancellation", alertTimeout, func() bool {
		s, err := env.promQuery(promURL, fmt.Sprintf(`icpmon_site_reachable{id=%q} == 0`, overdueID))
		return err == nil && len(s) == 2
	})
	env.waitFor("the rules have been evaluated since", alertTimeout, evaluatedSince(env, promURL, time.Now()))
	active, err := env.promAlerts(promURL)
	if err != nil {
		t.Fatal(err)
	}
	var lingeringHeld bool
	for _, a := range active {
		k := keyOf(a.Labels)
		switch {
		case k == lingering && a.State == "firing":
			lingeringHeld = true
		case k == calendarKey && calendarDue != quiet:
		default:
			t.Errorf("Prometheus holds %s alert %s: %v", a.State, k, a.Labels)
		}
	}
	if !lingeringHeld {
		t.Errorf("Prometheus no longer holds %s firing: %+v", lingering, active)
	}

	// The store emptied under the daemon (FLUSHDB on the test's own Redis):
	// ICPMonitorStoreLost pages, and the lingering record's alert, which was
	// firing, is not resolved by the emptiness before someone acknowledges.
	if err := rs.Client(t).FlushDB(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	step("store emptied (FLUSHDB)")
	storeLost := alertKey{alertname: "ICPMonitorStoreLost"}
	expected[storeLost] = wantAlert{
		labels:  map[string]string{"alertname": "ICPMonitorStoreLost", "severity": "page", "job": "icpmon"},
		summary: "The Redis store of icpmon was lost or replaced",
		facts: []*regexp.Regexp{
			literal("tracks cancellations in was emptied or replaced (FLUSHDB, Redis restarted without persistence"),
			regexp.MustCompile(`stores adopted in the last day were created from 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d`),
		},
	}
	receiveAll([]alertKey{storeLost}, "firing", "")
	step("store loss paged")
	env.waitFor("the rules have been evaluated since", alertTimeout, evaluatedSince(env, promURL, time.Now()))
	if a, ok := hook.received(lingering, "resolved", ""); ok {
		t.Errorf("%s was resolved when the store was emptied, before anyone acknowledged: %v", lingering, a.Labels)
	}
	active, err = env.promAlerts(promURL)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(active, func(a promAlert) bool { return keyOf(a.Labels) == lingering && a.State == "firing" }) {
		t.Errorf("Prometheus no longer holds %s firing after the store was emptied: %+v", lingering, active)
	}
	// A reload acknowledges the store as it is: the page resolves.
	resp, err := env.client.Post(daemonURL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("icpmon reload: %s", resp.Status)
	}
	receiveAll([]alertKey{storeLost}, "resolved", "resolved")
	step("store acknowledged by a reload, page resolved")

	if errs := hook.decodeErrors(); len(errs) > 0 {
		t.Errorf("the webhook could not read %d notifications: %q", len(errs), errs)
	}
	if errs := weCom.errors(); len(errs) > 0 {
		t.Errorf("the WeCom stand-in refused %d requests: %q", len(errs), errs)
	}
	step("done")
}

func chinaToday() string { return time.Now().In(calendar.China).Format(time.DateOnly) }

// loadShortenedRules writes a copy of every shipped rule file with only its
// for: and keep_firing_for: durations shortened, has Prometheus reload, and
// waits until every alerting rule is loaded.
func loadShortenedRules(t *testing.T, env *pipelineEnv, dir, promURL string) {
	t.Helper()
	shipped := glob(t, "*.rules.yml")
	for _, path := range shipped {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		short := shortenDurations(t, path, src)
		assertOnlyDurationsDiffer(t, path, src, short)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), short, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := env.client.Post(promURL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Prometheus reload: %s", resp.Status)
	}
	want := len(loadRules(t))
	env.waitFor(fmt.Sprintf("Prometheus has loaded the %d alerting rules", want), startupTimeout, func() bool {
		var data struct {
			Groups []struct {
				Rules []struct {
					Type string `json:"type"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := env.promAPI(promURL, "/api/v1/rules", &data); err != nil {
			return false
		}
		n := 0
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				if r.Type == "alerting" {
					n++
				}
			}
		}
		return n == want
	})
}

// evaluatedSince reports whether every rule group has been evaluated after since.
func evaluatedSince(env *pipelineEnv, promURL string, since time.Time) func() bool {
	return func() bool {
		var data struct {
			Groups []struct {
				LastEvaluation time.Time `json:"lastEvaluation"`
			} `json:"groups"`
		}
		if err := env.promAPI(promURL, "/api/v1/rules", &data); err != nil || len(data.Groups) == 0 {
			return false
		}
		for _, g := range data.Groups {
			if !g.LastEvaluation.After(since) {
				return false
			}
		}
		return true
	}
}

// shortenDurations sets for: and keep_firing_for: of every rule.
func shortenDurations(t *testing.T, path string, src []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, g := range mappingValue(doc.Content[0], "groups").Content {
		for _, r := range mappingValue(g, "rules").Content {
			for i := 0; i+1 < len(r.Content); i += 2 {
				switch r.Content[i].Value {
				case "for":
					r.Content[i+1].Value = pipelineFor
				case "keep_firing_for":
					r.Content[i+1].Value = pipelineKeepFiringFor
				}
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// mappingValue returns the value of key in a YAML mapping, or an empty node.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return &yaml.Node{}
}

// assertOnlyDurationsDiffer guards the claim "everything else as shipped".
func assertOnlyDurationsDiffer(t *testing.T, path string, shipped, short []byte) {
	t.Helper()
	var a, b ruleFile
	if err := yaml.Unmarshal(shipped, &a); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(short, &b); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*ruleFile{&a, &b} {
		for _, g := range f.Groups {
			for i := range g.Rules {
				g.Rules[i].For, g.Rules[i].KeepFiringFor = "", ""
			}
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%s: the shortened copy differs in more than its durations", path)
	}
}

// wantAlert is what on-call must see of one alert.
type wantAlert struct {
	labels  map[string]string // the whole label set
	summary string
	facts   []*regexp.Regexp // what the description must state
}

func (x wantAlert) check(t *testing.T, k alertKey, a notifiedAlert) {
	t.Helper()
	if !reflect.DeepEqual(a.Labels, x.labels) {
		t.Errorf("%s (%s): labels\n  %v\nwant\n  %v", k, a.Status, a.Labels, x.labels)
	}
	if a.Annotations["summary"] != x.summary {
		t.Errorf("%s (%s): summary %q, want %q", k, a.Status, a.Annotations["summary"], x.summary)
	}
	for _, f := range x.facts {
		if !f.MatchString(a.Annotations["description"]) {
			t.Errorf("%s (%s): description does not match %q:\n  %s", k, a.Status, f, a.Annotations["description"])
		}
	}
	if want := runbookBase + strings.ToLower(k.alertname); a.Annotations["runbook_url"] != want {
		t.Errorf("%s (%s): runbook_url %q, want %q", k, a.Status, a.Annotations["runbook_url"], want)
	}
}

func literal(s string) *regexp.Regexp { return regexp.MustCompile(regexp.QuoteMeta(s)) }

func expectOverdue(t *testing.T, id string) wantAlert {
	t.Helper()
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	submitted, err := calendar.ParseDate(overdueSubmitted)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon counts up to its today, which a midnight may have moved.
	today := calendar.DateOf(time.Now())
	workdays := fmt.Sprintf("(%d|%d)", cal.CountBusinessDays(submitted, today-1), cal.CountBusinessDays(submitted, today))
	return wantAlert{
		labels: map[string]string{
			"alertname": "ICPCancellationReviewOverdue", "severity": "ticket", "job": "icpmon", "id": id,
			"kind": "website", "licence": overdueLicence, "province": "京", "domains": overdueDomain,
		},
		summary: "Review of the website cancellation of " + overdueLicence + " is overdue",
		facts: []*regexp.Regexp{
			literal(fmt.Sprintf("Cancellation %s (website, %s filed by %s, domains %s, province 京)", id, overdueLicence, overdueUnit, overdueDomain)),
			literal("was submitted on " + overdueSubmitted),
			regexp.MustCompile(`still pending after ` + workdays + ` business days;`),
			literal("24:00 China time on " + overdueDeadline + ", passed "),
			regexp.MustCompile(`passed \d+d [\dhms ]+ ago\.$`),
		},
	}
}

func expectReachable(id, scheme string, approvedDays ...string) wantAlert {
	return wantAlert{
		labels: map[string]string{
			"alertname": "ICPSiteReachableAfterCancellation", "severity": "page", "job": "icpmon", "id": id,
			"kind": "website", "licence": servedLicence, "province": "京", "domain": servedDomain, "scheme": scheme,
		},
		summary: servedDomain + " of " + servedLicence + " is still served after its cancellation was approved",
		facts: []*regexp.Regexp{
			literal(fmt.Sprintf("The website %s answered itself over %s,", servedDomain, scheme)),
			literal(fmt.Sprintf("the website cancellation %s of %s, filed by %s,", id, servedLicence, servedUnit)),
			// Approved today, China time: a midnight may fall during the approval.
			regexp.MustCompile(`was approved on ` + oneOf(approvedDays) + ` and the reach grace has passed\. Serving`),
		},
	}
}

// expectReachableCleared is the same alert for the site of a cancellation
// whose record has been cleared since: it names the clearing as well.
func expectReachableCleared(id, scheme string, approvedDays, clearedDays []string) wantAlert {
	return wantAlert{
		labels: map[string]string{
			"alertname": "ICPSiteReachableAfterCancellation", "severity": "page", "job": "icpmon", "id": id,
			"kind": "website", "licence": clearedLicence, "province": "京", "domain": clearedDomain, "scheme": scheme,
		},
		summary: clearedDomain + " of " + clearedLicence + " is still served after its cancellation was approved",
		facts: []*regexp.Regexp{
			literal(fmt.Sprintf("The website %s answered itself over %s,", clearedDomain, scheme)),
			literal(fmt.Sprintf("the website cancellation %s of %s", id, clearedLicence)),
			regexp.MustCompile(`was approved on ` + oneOf(approvedDays) + ` and the reach grace has passed; ` +
				`the public query has since confirmed that its filing is gone \(cleared on ` + oneOf(clearedDays) + `\)\. Serving`),
		},
	}
}

// oneOf matches any of days, China dates around a midnight.
func oneOf(days []string) string {
	quoted := make([]string, len(days))
	for i, d := range days {
		quoted[i] = regexp.QuoteMeta(d)
	}
	return "(" + strings.Join(quoted, "|") + ")"
}

func expectLingering(id string) wantAlert {
	return wantAlert{
		labels: map[string]string{
			"alertname": "ICPFilingRecordLingering", "severity": "warning", "job": "icpmon", "id": id,
			"kind": "subject", "licence": lingeringLicence, "province": "京", "domains": lingeringDomain,
		},
		summary: "The MIIT public query still returns " + lingeringLicence + " after its cancellation was approved",
		facts: []*regexp.Regexp{
			literal(fmt.Sprintf("found the record of %s (filed by %s, domains %s)", lingeringLicence, lingeringUnit, lingeringDomain)),
			regexp.MustCompile(`at its last definite lookup, 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d`),
			literal(fmt.Sprintf("the subject cancellation %s was approved on %s", id, lingeringApproved)),
			literal("should have gone by 24:00 China time on " + lingeringApproved + "."),
		},
	}
}

// calendarState is whether ICPCalendarExpiring must fire while the test runs.
type calendarState int

const (
	quiet      calendarState = iota
	due                      // the calendar ends within 30 days
	borderline               // it crosses the 30 days during the test: either is right
)

// expectCalendar reads the end of the loaded holiday schedule from Prometheus
// and says whether ICPCalendarExpiring is due.
func expectCalendar(t *testing.T, env *pipelineEnv, promURL string) (calendarState, wantAlert) {
	t.Helper()
	s, err := env.promQuery(promURL, "icpmon_calendar_covered_until_timestamp_seconds")
	if err != nil || len(s) != 1 {
		t.Fatalf("icpmon_calendar_covered_until_timestamp_seconds: %v %v", s, err)
	}
	end := time.Unix(int64(s[0].float()), 0)
	lastDay := end.Add(-time.Second).In(calendar.China).Format(time.DateOnly)
	x := wantAlert{
		labels:  map[string]string{"alertname": "ICPCalendarExpiring", "severity": "ticket", "job": "icpmon"},
		summary: "icpmon's official holiday schedule ends on " + lastDay,
		facts:   []*regexp.Regexp{literal("up to " + lastDay + " (China date)")},
	}
	t.Logf("the official holiday schedule ends on %s", lastDay)
	switch left := time.Until(end) - 30*24*time.Hour; {
	case left < -10*time.Minute:
		return due, x
	case left > 10*time.Minute:
		return quiet, x
	}
	return borderline, x
}

// checkNothingElse fails for every alert received that the scenario does not
// expect: a quiet alert that fired, or an expected one about the wrong
// cancellation, domain or scheme.
func checkNothingElse(t *testing.T, hook *inbox, expected map[alertKey]wantAlert) {
	t.Helper()
	seen := map[alertKey]bool{}
	for _, n := range hook.notifications() {
		for _, a := range n.Alerts {
			k := keyOf(a.Labels)
			if _, ok := expected[k]; !ok && !seen[k] {
				seen[k] = true
				t.Errorf("the webhook received %s %s, which should stay quiet: %v %v", a.Status, k, a.Labels, a.Annotations)
			}
		}
	}
}

// withWeCom adds to the test's Alertmanager configuration at path the WeCom
// receiver of deploy/alertmanager.yml, with its api_url pointed at the stand-in
// and the shipped template, routed for pages beside the webhook (continue:
// true), so that the webhook still receives every alert.
func withWeCom(t *testing.T, path, apiURL string, w *wecom) {
	t.Helper()
	const shipped = "../deploy/alertmanager.yml"
	var deploy struct {
		Templates []string `yaml:"templates"`
		Receivers []struct {
			Name          string           `yaml:"name"`
			WechatConfigs []map[string]any `yaml:"wechat_configs"`
		} `yaml:"receivers"`
	}
	decodeYAML(t, shipped, &deploy)
	var receiver map[string]any
	for _, r := range deploy.Receivers {
		if r.Name == "wecom" && len(r.WechatConfigs) == 1 {
			receiver = r.WechatConfigs[0]
		}
	}
	if receiver == nil {
		t.Fatalf("%s has no receiver wecom with one wechat_configs entry", shipped)
	}
	var templates []string
	for _, tmpl := range deploy.Templates {
		abs, err := filepath.Abs(filepath.Join(filepath.Dir(shipped), tmpl))
		if err != nil {
			t.Fatal(err)
		}
		templates = append(templates, abs)
	}
	if len(templates) == 0 {
		t.Fatalf("%s loads no template", shipped)
	}
	receiver["api_url"] = apiURL + "/cgi-bin/"
	receiver["api_secret"] = w.secret
	w.corpID, _ = receiver["corp_id"].(string)

	var c map[string]any
	decodeYAML(t, path, &c)
	c["templates"] = templates
	route, _ := c["route"].(map[string]any)
	if route == nil {
		t.Fatalf("%s has no route", path)
	}
	route["routes"] = []any{
		map[string]any{"receiver": "wecom", "matchers": []string{`severity="page"`}, "continue": true},
		map[string]any{"receiver": route["receiver"]},
	}
	receivers, _ := c["receivers"].([]any)
	c["receivers"] = append(receivers, map[string]any{"name": "wecom", "wechat_configs": []any{receiver}})
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
