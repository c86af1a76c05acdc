package faults_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/daemon"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/reach"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

// Secrets of the security tests: none may show anywhere.
const (
	redisPassword = "redis-pw-3f9a1c-never-shown"
	urlPassword   = "url-pw-77b2e0-never-shown"
	scrapePass    = "scrape-pw-c41d8e-never-shown"
)

// TestNoSecretInLogsOrPages runs the daemon with a Redis password from
// password_file and basic auth on every endpoint, then makes it fail in the
// ways that log the most (Redis killed, reloads of broken files, one naming
// a password in a URL), and looks for the secrets in the log, the status
// page, /metrics and the readiness answer.
func TestNoSecretInLogsOrPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.track(3)
	requirePassword(t, w.redis.Addr)
	pwFile := harness.WriteFile(t, "redis-password", redisPassword+"\n")
	hash, err := bcrypt.GenerateFromPassword([]byte(scrapePass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := harness.WriteFile(t, "web.yml", "basic_auth_users:\n  prometheus: "+string(hash)+"\n")
	cfgPath := w.config(fmt.Sprintf("  url: %s\n  password_file: %s", w.redis.URL(), pwFile), "")
	good, _ := os.ReadFile(cfgPath)
	d := startDaemon(t, daemon.Options{ConfigFile: cfgPath, Web: web.FlagConfig{WebConfigFile: &webCfg}})
	d.client.Transport = basicAuth{user: "prometheus", pass: scrapePass}
	d.redisState(true)
	eventually(t, "the status page lists the cancellations", func() (bool, string) {
		code, body := d.get("/")
		return code == http.StatusOK && strings.Contains(body, idOf(0)), fmt.Sprint(code)
	})

	// Failures that log errors: Redis gone and back, broken reloads.
	w.redis.Stop()
	d.redisState(false)
	w.redis.Restart(t)
	requirePassword(t, w.redis.Addr) // a restart forgets it
	d.redisState(true)
	for _, broken := range []string{
		strings.Replace(string(good), "  url: "+w.redis.URL(), fmt.Sprintf("  url: redis://:%s@%s:notaport/0", urlPassword, "127.0.0.1"), 1),
		strings.Replace(string(good), "  url: "+w.redis.URL(), fmt.Sprintf("  url: redis://:%s@%s/0\n  db: many", urlPassword, w.redis.Addr), 1),
		strings.Replace(string(good), "  url: "+w.redis.URL(), fmt.Sprintf("  url: http://:%s@%s/0", urlPassword, w.redis.Addr), 1),
	} {
		if err := os.WriteFile(cfgPath, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, body := postReload(t, d); code != http.StatusInternalServerError {
			t.Errorf("reload of a broken file: %d %q", code, body)
		} else if strings.Contains(body, urlPassword) {
			t.Errorf("the reload error shows the password of the URL: %q", body)
		}
	}
	seen := map[string]string{"log": d.logs.String()}
	for _, path := range []string{"/", "/metrics", "/-/ready", "/-/healthy"} {
		_, seen[path] = d.get(path)
	}
	for where, text := range seen {
		for name, secret := range map[string]string{"the Redis password": redisPassword, "a password in a URL": urlPassword,
			"the scrape password": scrapePass, "the basic-auth hash": string(hash)} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %s", where, name)
			}
		}
	}
	t.Logf("searched %d bytes of log and %d pages for 4 secrets", len(seen["log"]), len(seen)-1)
}

// basicAuth adds credentials to every request.
type basicAuth struct{ user, pass string }

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.pass)
	return http.DefaultTransport.RoundTrip(r)
}

// requirePassword makes the Redis at addr ask for redisPassword.
func requirePassword(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ConfigSet(context.Background(), "requirepass", redisPassword).Err(); err != nil {
		t.Fatal(err)
	}
}

func postReload(t *testing.T, d *running) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.base+"/-/reload", nil)
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCLIKeepsSecretsOffStderr makes CLI commands fail with a password in
// the Redis URL (unreachable, refused, malformed) and in a password file.
func TestCLIKeepsSecretsOffStderr(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	requirePassword(t, rs.Addr)
	wrong := harness.WriteFile(t, "wrong-password", "not-"+redisPassword)
	cases := [][]string{
		{"track", "list", "--redis-url", "redis://:" + urlPassword + "@127.0.0.1:1/0"},
		{"track", "list", "--redis-url", "redis://:" + urlPassword + "@" + rs.Addr + "/0"},
		{"track", "show", "x", "--redis-url", "redis://user:" + urlPassword + "@" + rs.Addr + "/0"},
		{"check-config", "--redis-url", "redis://:" + urlPassword + "@127.0.0.1:notaport/0"},
		{"check-config", "--redis-url", "http://:" + urlPassword + "@127.0.0.1/0"},
		{"track", "list", "--config", harness.WriteFile(t, "c.yml", fmt.Sprintf("redis:\n  url: redis://%s/0\n  password_file: %s\n", rs.Addr, wrong))},
	}
	for _, args := range cases {
		p := launch(t, args...)
		code := p.wait()
		out := p.stdout.String() + p.stderr.String()
		if code == 0 {
			t.Errorf("icpmon %v succeeded; want a failure", args)
		}
		if strings.Contains(out, urlPassword) || strings.Contains(out, redisPassword) {
			t.Errorf("icpmon %v shows a password: %q", args, out)
		}
		t.Logf("icpmon %s … → %d: %s", args[0]+" "+args[1], code, strings.TrimSpace(p.stderr.String()))
	}
}

// recorder is a website that notes every host it is asked for, by Host
// header over HTTP and by SNI over TLS.
type recorder struct {
	mu    sync.Mutex
	hosts map[string]int
}

func (r *recorder) note(scheme, host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	r.hosts[scheme+"://"+h]++
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for h := range r.hosts {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// TestProbesOnlyTrackedDomains runs the reach job over cancellations of
// every status, with every domain routed to a local recorder (so a probe to
// the wrong one is seen, and nothing leaves the machine): only the domains
// of approved and recently cleared cancellations may be asked for, and a
// redirect to another site is recorded, never followed.
func TestProbesOnlyTrackedDomains(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rec := &recorder{hosts: map[string]int{}}
	plain := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec.note("http", r.Host)
		if r.Host == "hop.example.com" {
			http.Redirect(rw, r, "http://elsewhere.example.net/", http.StatusFound)
			return
		}
		fmt.Fprintln(rw, "<html>site</html>")
	}))
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(http.NotFoundHandler())
	secure.TLS = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		rec.note("https", hello.ServerName)
		return nil, nil
	}}
	secure.Config.ErrorLog = quietLog()
	secure.StartTLS()
	t.Cleanup(secure.Close)

	ctx := context.Background()
	approvedAt := time.Date(2026, 1, 20, 10, 0, 0, 0, calendar.China)
	byStatus := map[cancellation.Status][]string{
		cancellation.Pending:   {"pending.example.com"},
		cancellation.Approved:  {"approved.example.com", "hop.example.com"},
		cancellation.Cleared:   {"cleared.example.com"},
		cancellation.Rejected:  {"rejected.example.com"},
		cancellation.Withdrawn: {"withdrawn.example.com"},
	}
	resolve := map[string]string{}
	route := func(domain string) {
		resolve[domain+":80"] = plain.Listener.Addr().String()
		resolve[domain+":443"] = secure.Listener.Addr().String()
	}
	route("elsewhere.example.net")
	var ids []string
	for i, s := range cancellation.Statuses() {
		for _, d := range byStatus[s] {
			route(d)
		}
		c := cancellation.Cancellation{
			ID: "s-" + string(s), Kind: cancellation.KindWebsite, Licence: licenceOf(700 + i), Province: "京",
			Domains: byStatus[s], Submitted: calendar.NewDate(2026, 1, 5), Status: s,
		}
		c.LicenceRaw = c.Licence
		if s == cancellation.Approved || s == cancellation.Cleared {
			c.ApprovedAt, c.ApprovedBy = approvedAt, "operator"
		}
		if s == cancellation.Cleared {
			c.ClearedAt = time.Now().Add(-time.Hour)
		}
		if _, err := w.store.Add(ctx, c, "operator:faults"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	p, err := prober.New(prober.Options{Timeout: 5 * time.Second, Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	job := reach.New(reach.Options{Store: w.store, Prober: p, WatchAfterClear: 24 * time.Hour})
	if err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"http://approved.example.com", "http://cleared.example.com", "http://hop.example.com",
		"https://approved.example.com", "https://cleared.example.com", "https://hop.example.com",
	}
	if got := rec.seen(); !slices.Equal(got, want) {
		t.Errorf("hosts asked for:\n  %v\nwant exactly:\n  %v", got, want)
	}
	// Past its watch (a day after the clearing and its site's last answer) the cleared one is left alone too.
	rec.hosts = map[string]int{}
	later := reach.New(reach.Options{Store: w.store, Prober: p, WatchAfterClear: 24 * time.Hour,
		Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	if err := later.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.seen(); slices.Contains(got, "http://cleared.example.com") || slices.Contains(got, "https://cleared.example.com") {
		t.Errorf("a cleared cancellation past its watch was probed: %v", got)
	}
	res := audit(t, w.rdb, ids)
	if hop := res.cs["s-approved"].Probes; !slices.ContainsFunc(hop, func(p cancellation.Probe) bool {
		return p.Domain == "hop.example.com" && p.Scheme == "http" && strings.Contains(p.Location, "elsewhere.example.net")
	}) {
		t.Errorf("the redirect to another site is not recorded: %+v", hop)
	}
	t.Logf("hosts probed: %v", want)
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
