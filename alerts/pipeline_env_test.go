package alerts

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
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
	"syscall"
	"testing"
	"text/template"
	"time"
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
			t.Logf("---- output of %s (last lines) ----\n%s", p.name, p.out.tail(80))
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
	cmd.Env = withoutRedisURL(os.Environ())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// withoutRedisURL drops ICPMON_REDIS_URL, which would win over the test's
// configuration file.
func withoutRedisURL(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "ICPMON_REDIS_URL=") })
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

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now,
// for programs that cannot report the port they chose.
func (e *pipelineEnv) freeAddr() string {
	e.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		e.t.Fatal(err)
	}
	return addr
}

// process is a program started by the test; its output is kept.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed when it has exited; err is set then
	err  error
}

// start starts a program and stops it (SIGTERM, then SIGKILL) when the test ends.
func (e *pipelineEnv) start(name string, env []string, bin string, args ...string) *process {
	e.t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), out: &output{}, done: make(chan struct{})}
	p.cmd.Env = append(withoutRedisURL(os.Environ()), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	e.mu.Lock()
	e.processes = append(e.processes, p)
	e.mu.Unlock()
	e.t.Cleanup(p.stop)
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// output is a process's combined output, written and read concurrently.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *output) tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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
			select {
			case <-p.done:
				e.t.Fatalf("waiting until %s: %s exited: %v", what, p.name, p.err)
			default:
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

// certificate makes a self-signed certificate for hosts and writes it where
// SSL_CERT_FILE can point the daemon, so that https probes see a valid site.
func (e *pipelineEnv) certificate(hosts ...string) (tls.Certificate, string) {
	e.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "icpmon pipeline test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              hosts,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		e.t.Fatal(err)
	}
	path := e.write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// site is a website on http and https that answers "hello" until it is
// blocked, then the access provider's block page.
type site struct {
	blocked   atomic.Bool
	blockPage cannedResponse
	plain     *httptest.Server
	secure    *httptest.Server
}

func (e *pipelineEnv) site(cert tls.Certificate) *site {
	e.t.Helper()
	s := &site{blockPage: loadResponse(e.t, filepath.Join("testdata", "pipeline", "alibaba-block.response"))}
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
		s.blockPage.write(w)
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

// cannedResponse is an HTTP response read from a fixture.
type cannedResponse struct {
	status int
	header http.Header
	body   []byte
}

func loadResponse(t *testing.T, path string) cannedResponse {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cannedResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

func (c cannedResponse) write(w http.ResponseWriter) {
	for k, vs := range c.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body)
}

// inbox is the webhook receiver: it keeps every notification Alertmanager sends.
type inbox struct {
	mu    sync.Mutex
	notes []notification
	errs  []string
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
	err := json.NewDecoder(r.Body).Decode(&n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.errs = append(b.errs, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.notes = append(b.notes, n)
}

func (b *inbox) notifications() []notification {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.notes)
}

func (b *inbox) decodeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.errs)
}

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

	mu   sync.Mutex
	msgs []wecomMessage
	errs []string
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
		w.mu.Lock()
		w.errs = append(w.errs, fmt.Sprintf(format, args...))
		w.mu.Unlock()
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
		w.mu.Lock()
		w.msgs = append(w.msgs, m)
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"errcode":0,"errmsg":"ok"}`)
	default:
		fail("unexpected %s %s", r.Method, r.URL)
		http.NotFound(rw, r)
	}
}

func (w *wecom) messages() []wecomMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

func (w *wecom) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}

// summary lists what arrived, for a failure message.
func (w *wecom) summary() string {
	var lines []string
	for i, m := range w.messages() {
		lines = append(lines, fmt.Sprintf("  #%d to party %q: %q", i, m.ToParty, m.Text.Content))
	}
	return fmt.Sprintf("WeCom received (errors %q):\n%s", w.errors(), strings.Join(lines, "\n"))
}
