package alerts

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// The environment of the pipeline test: real programs as subprocesses, local
// websites, the webhook that stands in for on-call, and what to show when
// something goes wrong.

// pipelineEnv owns the temporary directory and every process of one test.
type pipelineEnv struct {
	t      *testing.T
	dir    string
	client *http.Client

	mu          sync.Mutex
	processes   []*process
	diagnostics []func() string // what a failed wait prints
}

func newPipelineEnv(t *testing.T) *pipelineEnv {
	e := &pipelineEnv{t: t, dir: t.TempDir(), client: &http.Client{Timeout: 10 * time.Second}}
	// Registered before any process: it runs after they are stopped, when
	// their whole output is in.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, p := range e.processes {
			t.Logf("---- output of %s (last lines) ----\n%s", p.name, p.out.Tail(80))
		}
	})
	return e
}

// lookTool returns the path of the first of names found on PATH; `make deps`
// installs them.
func (e *pipelineEnv) lookTool(names ...string) string {
	e.t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	e.t.Fatalf("none of %q is installed (make deps installs it)", names)
	return ""
}

// buildIcpmon builds the real binary from the repository root.
func (e *pipelineEnv) buildIcpmon() string {
	e.t.Helper()
	bin := filepath.Join(e.dir, "icpmon")
	cmd := exec.CommandContext(e.t.Context(), e.lookTool("go"), "build", "-o", bin, "./cmd/icpmon")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("go build ./cmd/icpmon: %v\n%s", err, out)
	}
	return bin
}

// run runs a command to completion and returns its standard output.
func (e *pipelineEnv) run(bin string, args ...string) string {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(e.t.Context(), bin, args...)
	cmd.Env = harness.Environ()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// render fills the template testdata/pipeline/name and writes it to the
// temporary directory under the name without ".tmpl".
func (e *pipelineEnv) render(name string, data any) string {
	e.t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "pipeline", name))
	if err != nil {
		e.t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	return e.write(strings.TrimSuffix(name, ".tmpl"), b.Bytes())
}

func (e *pipelineEnv) write(name string, data []byte) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// process is a program started by the test; its output is kept.
type process struct {
	*harness.Process
	name string
	out  *harness.Log
}

// start starts a program and stops it (SIGTERM, then SIGKILL) when the test ends.
func (e *pipelineEnv) start(name string, env []string, bin string, args ...string) *process {
	e.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(harness.Environ(), env...)
	p := &process{name: name, out: &harness.Log{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	p.Process = harness.StartProcess(e.t, cmd, 15*time.Second)
	e.mu.Lock()
	e.processes = append(e.processes, p)
	e.mu.Unlock()
	return p
}

// waitFor polls cond until it holds. The deadline is generous: it bounds a
// hang, it does not measure speed. A process that exits ends the wait at once.
func (e *pipelineEnv) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		e.mu.Lock()
		procs := slices.Clone(e.processes)
		e.mu.Unlock()
		for _, p := range procs {
			if exited, err := p.Exited(); exited {
				e.t.Fatalf("waiting until %s: %s exited: %v", what, p.name, err)
			}
		}
		if time.Now().After(deadline) {
			for _, d := range e.diagnostics {
				e.t.Log(d())
			}
			e.t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// diagnose adds what a failed wait prints.
func (e *pipelineEnv) diagnose(d func() string) { e.diagnostics = append(e.diagnostics, d) }

// get fetches url; any failure is reported as a status of 0 with the error as body.
func (e *pipelineEnv) get(url string) (int, []byte) {
	resp, err := e.client.Get(url)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, b
}

func (e *pipelineEnv) ready(base string) func() bool {
	return func() bool {
		code, _ := e.get(base + "/-/ready")
		return code == http.StatusOK
	}
}

// promAPI reads an answer of the Prometheus HTTP API into data.
func (e *pipelineEnv) promAPI(base, path string, data any) error {
	code, body := e.get(base + path)
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, code, body)
	}
	var envelope struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if envelope.Status != "success" {
		return fmt.Errorf("GET %s: %s", path, body)
	}
	return json.Unmarshal(envelope.Data, data)
}

// promQuery evaluates an instant query and returns its samples.
func (e *pipelineEnv) promQuery(base, expr string) ([]promSample, error) {
	var data struct {
		Result []promSample `json:"result"`
	}
	err := e.promAPI(base, "/api/v1/query?query="+url.QueryEscape(expr), &data)
	return data.Result, err
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

func (s promSample) float() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0
	}
	return v
}

// promAlert is one alert of /api/v1/alerts: pending or firing.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (e *pipelineEnv) promAlerts(base string) ([]promAlert, error) {
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	err := e.promAPI(base, "/api/v1/alerts", &data)
	return data.Alerts, err
}

// certificate makes a certificate for hosts from a CA made for the test,
// and writes the CA's where SSL_CERT_FILE can point the daemon, so that
// https probes see a valid site.
func (e *pipelineEnv) certificate(hosts ...string) (tls.Certificate, string) {
	e.t.Helper()
	ca := harness.NewCA(e.t)
	return ca.Issue(e.t, time.Now().Add(24*time.Hour), hosts...), e.write("ca.pem", ca.CertPEM)
}

// site is a website on http and https that answers "hello" until it is
// blocked, then the access provider's block page.
type site struct {
	blocked   atomic.Bool
	blockPage harness.Response
	plain     *httptest.Server
	secure    *httptest.Server
}

func (e *pipelineEnv) site(cert tls.Certificate) *site {
	e.t.Helper()
	s := &site{blockPage: harness.LoadResponse(e.t, filepath.Join("..", "monitor", "prober", "testdata", "alibaba-block.response"))}
	s.plain = httptest.NewServer(s)
	e.t.Cleanup(s.plain.Close)
	s.secure = httptest.NewUnstartedServer(s)
	s.secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.secure.StartTLS()
	e.t.Cleanup(s.secure.Close)
	return s
}

func (s *site) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if s.blocked.Load() {
		s.blockPage.Write(w)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "hello\n")
}

// serve adds the reach.resolve entries that send domains to this site.
func (s *site) serve(resolve map[string]string, domains ...string) {
	for _, d := range domains {
		resolve[d+":80"] = s.plain.Listener.Addr().String()
		resolve[d+":443"] = s.secure.Listener.Addr().String()
	}
}

// inbox is the webhook receiver: it keeps every notification Alertmanager sends.
type inbox struct {
	notes harness.List[notification]
	errs  harness.List[string]
}

// notification is the payload of Alertmanager's webhook (version 4).
type notification struct {
	Status string          `json:"status"`
	Alerts []notifiedAlert `json:"alerts"`
}

type notifiedAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func (b *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		b.errs.Add(err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.notes.Add(n)
}

func (b *inbox) notifications() []notification { return b.notes.All() }

func (b *inbox) decodeErrors() []string { return b.errs.All() }

// alertKey tells the alerts of the scenario apart.
type alertKey struct{ alertname, id, domain, scheme string }

func keyOf(labels map[string]string) alertKey {
	return alertKey{labels["alertname"], labels["id"], labels["domain"], labels["scheme"]}
}

func (k alertKey) String() string {
	s := k.alertname
	if k.id != "" {
		s += " id=" + k.id
	}
	if k.domain != "" {
		s += " " + k.scheme + "://" + k.domain
	}
	return s
}

// received returns the first alert of key with status (firing or resolved)
// in a notification whose own status is noteStatus ("" for any).
func (b *inbox) received(key alertKey, status, noteStatus string) (notifiedAlert, bool) {
	for _, n := range b.notifications() {
		if noteStatus != "" && n.Status != noteStatus {
			continue
		}
		for _, a := range n.Alerts {
			if keyOf(a.Labels) == key && a.Status == status {
				return a, true
			}
		}
	}
	return notifiedAlert{}, false
}

// summary lists what arrived, for a failure message.
func (b *inbox) summary() string {
	var lines []string
	for i, n := range b.notifications() {
		for _, a := range n.Alerts {
			lines = append(lines, fmt.Sprintf("  #%d (%s): %s %s", i, n.Status, a.Status, keyOf(a.Labels)))
		}
	}
	return "webhook received:\n" + strings.Join(lines, "\n")
}

var histogramSeries = regexp.MustCompile(`^\w+_(bucket|sum|count)\{`)

// icpmonMetrics returns the icpmon_ series of a daemon's /metrics, for a failure message.
func (e *pipelineEnv) icpmonMetrics(base string) string {
	code, body := e.get(base + "/metrics")
	if code != http.StatusOK {
		return fmt.Sprintf("icpmon /metrics: %d %s", code, body)
	}
	var keep []string
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "icpmon_") && !histogramSeries.MatchString(line) {
			keep = append(keep, strings.TrimSpace(line))
		}
	}
	return "icpmon /metrics:\n" + strings.Join(keep, "\n")
}

// wecom stands in for the WeCom (企业微信) API that Alertmanager's
// wechat_configs call: it hands out the token "t" and keeps every message sent
// with it.
type wecom struct {
	corpID, secret string

	msgs harness.List[wecomMessage]
	errs harness.List[string]
}

// wecomMessage is the body of POST /cgi-bin/message/send (a text message).
type wecomMessage struct {
	ToUser  string `json:"touser"`
	ToParty string `json:"toparty"`
	ToTag   string `json:"totag"`
	AgentID string `json:"agentid"`
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

func (w *wecom) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	fail := func(format string, args ...any) {
		w.errs.Add(fmt.Sprintf(format, args...))
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"errcode":40001,"errmsg":"invalid credential"}`)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/cgi-bin/gettoken":
		q := r.URL.Query()
		if q.Get("corpid") != w.corpID || q.Get("corpsecret") != w.secret {
			fail("gettoken with corpid %q corpsecret %q", q.Get("corpid"), q.Get("corpsecret"))
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"errcode":0,"errmsg":"ok","access_token":"t","expires_in":7200}`)
	case r.Method == http.MethodPost && r.URL.Path == "/cgi-bin/message/send":
		if tok := r.URL.Query().Get("access_token"); tok != "t" {
			fail("message/send with access_token %q", tok)
			return
		}
		var m wecomMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			fail("message/send: %v", err)
			return
		}
		w.msgs.Add(m)
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"errcode":0,"errmsg":"ok"}`)
	default:
		fail("unexpected %s %s", r.Method, r.URL)
		http.NotFound(rw, r)
	}
}

func (w *wecom) messages() []wecomMessage { return w.msgs.All() }

func (w *wecom) errors() []string { return w.errs.All() }

// summary lists what arrived, for a failure message.
func (w *wecom) summary() string {
	var lines []string
	for i, m := range w.messages() {
		lines = append(lines, fmt.Sprintf("  #%d to party %q: %q", i, m.ToParty, m.Text.Content))
	}
	return fmt.Sprintf("WeCom received (errors %q):\n%s", w.errors(), strings.Join(lines, "\n"))
}
