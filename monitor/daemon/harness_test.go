package daemon

import (
	"bufio"
	"bytes"
	"context"
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
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// TestMain quiets go-redis's process-wide logger: the outage tests make it
// print every failed dial, and the daemon's own log already says what failed.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// fixedNow is the daemon's clock in these tests: a known date, so that the
// review figures can be computed independently.
var fixedNow = time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.China)

// sink collects log lines (JSON) for the tests to read.
type sink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// running is a daemon started by a test.
type running struct {
	t      *testing.T
	base   string // scheme://host:port
	client *http.Client
	logs   *sink
	cancel context.CancelFunc
	done   chan error
}

var listening = regexp.MustCompile(`"msg":"Listening on","address":"([^"]+)"`)

// start runs the daemon with o (Logger, Now and the short intervals filled
// in) and waits until it listens. scheme is http or https; client talks to it.
func start(t *testing.T, o Options, scheme string, client *http.Client) *running {
	t.Helper()
	logs := &sink{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	if o.PingInterval == 0 {
		o.PingInterval = 100 * time.Millisecond
	}
	if o.FollowWait == 0 {
		o.FollowWait = time.Second // reloads and a lost store seen sooner
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, client: client, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, o) }()
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	eventually(t, "the daemon listens", func() (bool, string) {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Run returned early: %v\n%s", err, logs)
		default:
		}
		m := listening.FindStringSubmatch(logs.String())
		if m == nil {
			return false, logs.String()
		}
		r.base = scheme + "://" + m[1]
		return true, ""
	})
	return r
}

// stop cancels Run's context and returns what Run returned.
func (r *running) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(time.Minute):
		return fmt.Errorf("Run did not return a minute after its context was cancelled\n%s", r.logs)
	}
}

// get returns the status and body of a GET of path.
func (r *running) get(path string) (int, string) {
	r.t.Helper()
	return r.do("GET", path)
}

func (r *running) do(method, path string) (int, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// scrape returns the exposition and its parsed families.
func (r *running) scrape() (string, map[string]*dto.MetricFamily) {
	r.t.Helper()
	code, body := r.get("/metrics")
	if code != http.StatusOK {
		r.t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		r.t.Fatalf("/metrics does not parse: %v", err)
	}
	return body, mfs
}

// value returns the value of the series of name whose labels include want
// (name=value pairs), and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// eventually polls cond until it holds, failing the test after a generous
// deadline. It asserts states, never durations.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; last: %s", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// canary is the query.canary of the tests: a licence the simulator holds.
const canary = "京ICP备10046444号"

// outside is everything beyond the daemon that its jobs reach in a test,
// all of it on this machine: a MIIT simulator for the query job, and the
// websites of the seeded domains for the reach job (reach.resolve sends
// every one of them to a local server, so no name is ever looked up).
type outside struct {
	miit    *miittest.Server
	caFile  string            // reach.ca_file: the certificate of the https sites
	resolve map[string]string // reach.resolve
}

func newOutside(t *testing.T) *outside {
	t.Helper()
	sim := miittest.New(miittest.Options{Seed: 1})
	t.Cleanup(sim.Close)
	// Still on file: the canary, the two pending cancellations' licences and
	// another website of the approved one's subject (its own -2 is gone).
	for _, r := range []scraper.Record{
		{Licence: canary + "-1", Domain: "canary.example.cn", UnitName: "金丝雀科技有限公司"},
		{Licence: "京ICP备12345678号-1", Domain: "example.com", UnitName: "北京示例有限公司"},
		{Licence: "浙ICP备20001234号-1", Domain: "zj.example.cn", UnitName: "浙江示例有限公司"},
		{Licence: "沪ICP备11112222号-1", Domain: "www.example.cn", UnitName: "上海示例有限公司"},
	} {
		sim.AddRecord(r)
	}

	block := httptest.NewServer(replay(t, filepath.Join("..", "prober", "testdata", "alibaba-block.response")))
	t.Cleanup(block.Close)
	site := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<h1>the shop</h1>") })
	plain, secure, caFile := siteServers(t, site, "shop.example.cn", "example.com")
	addr := func(s *httptest.Server) string { return s.Listener.Addr().String() }
	return &outside{
		miit:   sim,
		caFile: caFile,
		resolve: map[string]string{
			// The approved cancellation's site: blocked by its access
			// provider over http, still served over https.
			"shop.example.cn:80":  addr(block),
			"shop.example.cn:443": addr(secure),
			// The pending one's site, which is not probed: mapped all the same.
			"example.com:80":  addr(plain),
			"example.com:443": addr(secure),
		},
	}
}

// siteServers serves site over http and over https with a self-signed
// certificate for hosts, whose PEM is in caFile (for reach.ca_file).
func siteServers(t *testing.T, site http.Handler, hosts ...string) (plain, secure *httptest.Server, caFile string) {
	t.Helper()
	certPEM, keyPEM := selfSignedCert(t, hosts...)
	caFile = filepath.Join(t.TempDir(), "sites-ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	plain = httptest.NewServer(site)
	t.Cleanup(plain.Close)
	secure = httptest.NewUnstartedServer(site)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	secure.StartTLS()
	t.Cleanup(secure.Close)
	return plain, secure, caFile
}

// replay serves the HTTP response recorded in file (status line, headers, body).
func replay(t *testing.T, file string) http.HandlerFunc {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		maps.Copy(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}
}

// selfSignedCert returns a certificate for hosts (names or IP addresses)
// and its key, in PEM; the certificate is its own CA.
func selfSignedCert(t *testing.T, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "icpmon test " + hosts[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// writeConfig writes a configuration file for redisURL with the review
// schedule and any extra YAML (inside the review section), and returns its
// path. The query and reach jobs run once at start and talk only to o.
// Every per-cancellation family is exposed (the default is the alerting set).
func (o *outside) writeConfig(t *testing.T, path, redisURL, reviewSchedule, extra string) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "icpmon.yml")
	}
	resolve, err := json.Marshal(o.resolve)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`redis:
  url: %s
  key_prefix: test
web:
  listen_address: 127.0.0.1:0
review:
  schedule: %q
%squery:
  schedule: "@every 6h"
  min_interval: 0s
  canary: %s
  miit:
    base_url: %s
reach:
  schedule: "@every 1h"
  ca_file: %q
  resolve: %s
metrics:
  per_cancellation: all
`, redisURL, reviewSchedule, extra, canary, o.miit.URL, o.caFile, resolve)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
