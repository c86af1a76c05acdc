package miit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

const (
	subject = "京ICP备10046444号"
	absent  = "京ICP备99999999号"
)

// newClock is a settable clock shared by a client and the simulator.
func newClock() *harness.Clock {
	return harness.NewClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
}

// smallCaptcha keeps the many-lookup tests fast under the race detector;
// the other tests use the simulator's realistic 480×240 images with a 72 px gap.
func smallCaptcha(opts miittest.Options) miittest.Options {
	opts.Width, opts.Height, opts.Piece = 240, 120, 40
	return opts
}

func newSim(t testing.TB, opts miittest.Options) *miittest.Server {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	sim := miittest.New(opts)
	t.Cleanup(sim.Close)
	return sim
}

func newClient(t testing.TB, baseURL string, opts Options) *Client {
	t.Helper()
	opts.BaseURL = baseURL
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addSubject files n websites under main: main-1 … main-n.
func addSubject(sim *miittest.Server, main string, n int) {
	for i := 1; i <= n; i++ {
		sim.AddRecord(scraper.Record{
			Licence: fmt.Sprintf("%s-%d", main, i), Domain: fmt.Sprintf("site%d.example.cn", i),
			UnitName: "小米科技有限责任公司", ServiceName: fmt.Sprintf("站点%d", i), ApprovedAt: "2021-08-16 13:55:56",
		})
	}
}

func lookup(t *testing.T, c *Client, q string) scraper.Answer {
	t.Helper()
	ans, err := c.Lookup(context.Background(), q)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", q, err)
	}
	return ans
}

func TestLookupAgainstSimulator(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 3)
	c := newClient(t, sim.URL, Options{})

	ans := lookup(t, c, subject)
	if len(ans.Records) != 3 || !ans.Present() {
		t.Fatalf("subject lookup: %d records, want 3", len(ans.Records))
	}
	want := scraper.Record{Licence: subject + "-2", MainLicence: subject, Domain: "site2.example.cn",
		UnitName: "小米科技有限责任公司", ServiceName: "站点2", ServiceType: 1, ApprovedAt: "2021-08-16 13:55:56"}
	if ans.Records[1] != want {
		t.Fatalf("record 2 = %+v\nwant %+v", ans.Records[1], want)
	}
	for _, q := range []string{subject + "-2", "site2.example.cn", "  " + subject + "-2 "} {
		if ans := lookup(t, c, q); len(ans.Records) != 1 || ans.Records[0] != want {
			t.Fatalf("Lookup(%q) = %+v", q, ans.Records)
		}
	}
	if ans := lookup(t, c, absent); ans.Present() || len(ans.Records) != 0 {
		t.Fatalf("unfiled licence: %+v", ans)
	}
	req := sim.Requests()
	if req[miittest.Auth] != 1 {
		t.Errorf("auth requests = %d, want 1 (token cached)", req[miittest.Auth])
	}
	if req[miittest.CaptchaImage] != 5 || req[miittest.CheckImage] != 5 || req[miittest.Query] != 5 {
		t.Errorf("requests = %v, want one captcha and one query per lookup", req)
	}
}

func TestDeletedRecordsBecomeAbsent(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 3)
	c := newClient(t, sim.URL, Options{})

	if n := sim.DeleteLicence(subject + "-2"); n != 1 {
		t.Fatalf("DeleteLicence(website) removed %d", n)
	}
	if ans := lookup(t, c, subject+"-2"); ans.Present() {
		t.Fatalf("deleted website still present: %+v", ans)
	}
	if ans := lookup(t, c, subject); len(ans.Records) != 2 {
		t.Fatalf("subject after one website went: %d records, want 2", len(ans.Records))
	}
	if n := sim.DeleteLicence(subject); n != 2 {
		t.Fatalf("DeleteLicence(subject) removed %d, want 2", n)
	}
	if ans := lookup(t, c, subject); ans.Present() {
		t.Fatalf("deleted subject still present: %+v", ans)
	}
	if ans := lookup(t, c, "site1.example.cn"); ans.Present() {
		t.Fatalf("domain of a deleted subject still present: %+v", ans)
	}
}

func TestPagination(t *testing.T) {
	for _, signUses := range []int{0, 1} {
		t.Run(fmt.Sprintf("sign uses %d", signUses), func(t *testing.T) {
			sim := newSim(t, miittest.Options{SignUses: signUses})
			addSubject(sim, subject, 60)
			addSubject(sim, "京ICP备20000000号", 2) // another subject must not leak in
			c := newClient(t, sim.URL, Options{})
			ans := lookup(t, c, subject)
			if len(ans.Records) != 60 {
				t.Fatalf("%d records, want 60", len(ans.Records))
			}
			seen := map[string]bool{}
			for _, r := range ans.Records {
				if seen[r.Licence] || r.MainLicence != subject {
					t.Fatalf("duplicate or foreign record %+v", r)
				}
				seen[r.Licence] = true
			}
			req := sim.Requests()
			wantCaptchas, wantQueries := 1, 3
			if signUses == 1 {
				// Pages 2 and 3 are refused once each, then asked again with a fresh captcha.
				wantCaptchas, wantQueries = 3, 5
			}
			if req[miittest.Query] != wantQueries || req[miittest.CheckImage] != wantCaptchas {
				t.Fatalf("requests %v, want %d queries and %d captchas", req, wantQueries, wantCaptchas)
			}
		})
	}
}

func TestPageSizeOption(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 7)
	c := newClient(t, sim.URL, Options{PageSize: 3})
	if ans := lookup(t, c, subject); len(ans.Records) != 7 {
		t.Fatalf("%d records, want 7", len(ans.Records))
	}
	if q := sim.Requests()[miittest.Query]; q != 3 {
		t.Fatalf("%d queries, want 3 pages", q)
	}
	if _, err := New(Options{PageSize: 27}); err == nil {
		t.Fatal("page size 27 accepted")
	}
}

func TestMaxPages(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 10)
	c := newClient(t, sim.URL, Options{PageSize: 2, MaxPages: 3})
	_, err := c.Lookup(context.Background(), subject)
	if scraper.ReasonOf(err) != scraper.Unparseable {
		t.Fatalf("err = %v, want unparseable beyond MaxPages", err)
	}
}

func TestTokenLifetime(t *testing.T) {
	clk := newClock()
	sim := newSim(t, miittest.Options{Now: clk.Now, TokenTTL: 5 * time.Minute, SignTTL: time.Hour, ChallengeTTL: time.Hour})
	addSubject(sim, subject, 1)
	c := newClient(t, sim.URL, Options{Now: clk.Now})
	auths := func() int { return sim.Requests()[miittest.Auth] }

	lookup(t, c, subject)
	clk.Advance(4 * time.Minute)
	lookup(t, c, subject)
	if auths() != 1 {
		t.Fatalf("token renewed after 4 of 5 minutes: %d auths", auths())
	}
	clk.Advance(40 * time.Second) // 4m40s: inside the 30 s margin
	lookup(t, c, subject)
	if auths() != 2 {
		t.Fatalf("token not renewed near expiry: %d auths", auths())
	}

	// The server forgets its tokens: one 401, one refresh, a definite answer.
	sim.ExpireTokens()
	if ans := lookup(t, c, subject); !ans.Present() {
		t.Fatal("no record after refresh")
	}
	if auths() != 3 {
		t.Fatalf("%d auths, want 3 (one refresh)", auths())
	}
}

func TestTokenRefreshedOnlyOnce(t *testing.T) {
	for _, endpoint := range []string{miittest.CaptchaImage, miittest.CheckImage, miittest.Query} {
		t.Run(endpoint, func(t *testing.T) {
			sim := newSim(t, smallCaptcha(miittest.Options{}))
			addSubject(sim, subject, 1)
			c := newClient(t, sim.URL, Options{})
			lookup(t, c, subject) // caches a token

			sim.Inject(miittest.Fault{Kind: miittest.FaultTokenExpired, Endpoint: endpoint})
			if ans := lookup(t, c, subject); !ans.Present() {
				t.Fatal("one expired token was not survived")
			}
			sim.Inject(miittest.Fault{Kind: miittest.FaultTokenExpired, Endpoint: endpoint, Count: 2})
			_, err := c.Lookup(context.Background(), subject)
			if scraper.ReasonOf(err) != scraper.AuthFailed {
				t.Fatalf("err = %v, want auth_failed after one refresh", err)
			}
		})
	}
}

func TestTokenClaimsShortenLifetime(t *testing.T) {
	// Payload {"type":1,"u":"098f6bcd4621d373cade4e832627b4f6","s":1000,"e":61000}: 60 s.
	token := "eyJhbGciOiJIUzI1NiJ9.eyJ0eXBlIjoxLCJ1IjoiMDk4ZjZiY2Q0NjIxZDM3M2NhZGU0ZTgzMjYyN2I0ZjYiLCJzIjoxMDAwLCJlIjo2MTAwMH0.sig"
	if d, err := claimedLifetime(token); err != nil || d != time.Minute {
		t.Fatalf("claimedLifetime = %v, %v", d, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a.e30.c"} {
		if _, err := claimedLifetime(bad); err == nil {
			t.Errorf("claimedLifetime(%q) accepted", bad)
		}
	}
}

func TestFreshCaptchaAfterRefusal(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 1)
	c := newClient(t, sim.URL, Options{})
	sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused})
	_, err := c.Lookup(context.Background(), subject)
	if scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("err = %v, want captcha_failed", err)
	}
	// The simulator burns a uuid after one answer: success proves a new one was fetched.
	if ans := lookup(t, c, subject); !ans.Present() {
		t.Fatal("lookup after a refusal failed")
	}
	if n := sim.Requests()[miittest.CaptchaImage]; n != 2 {
		t.Fatalf("%d captcha images, want 2", n)
	}
}

// wrongSolver answers a fixed offset.
type wrongSolver struct{}

func (wrongSolver) Solve(context.Context, captcha.Puzzle) (int, error) { return 0, nil }

func TestWrongAnswerIsCaptchaFailed(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 1)
	c := newClient(t, sim.URL, Options{Solver: wrongSolver{}})
	if _, err := c.Lookup(context.Background(), subject); scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("err = %v, want captcha_failed", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	type tc struct {
		kind     miittest.FaultKind
		endpoint string
		want     scraper.Reason
	}
	var cases []tc
	all := []string{miittest.Auth, miittest.CaptchaImage, miittest.CheckImage, miittest.Query}
	for _, e := range all {
		cases = append(cases,
			tc{miittest.FaultWAF, e, scraper.WAFBlocked},
			tc{miittest.FaultJSChallenge, e, scraper.WAFBlocked},
			tc{miittest.FaultRateLimit, e, scraper.RateLimited},
			tc{miittest.FaultServerError, e, scraper.ServerError},
			tc{miittest.FaultUnsupportedMedia, e, scraper.ServerError},
			tc{miittest.FaultTruncated, e, scraper.Unparseable},
			tc{miittest.FaultGarbage, e, scraper.Unparseable},
		)
	}
	cases = append(cases,
		tc{miittest.FaultEmptyBody, miittest.Auth, scraper.Unparseable},
		tc{miittest.FaultEmptyBody, miittest.CaptchaImage, scraper.RateLimited}, // the 2026 ban
		tc{miittest.FaultEmptyBody, miittest.CheckImage, scraper.Unparseable},
		tc{miittest.FaultEmptyBody, miittest.Query, scraper.Unparseable},
		tc{miittest.FaultCaptchaRefused, miittest.CheckImage, scraper.CaptchaFailed},
	)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s at %s", c.kind, c.endpoint), func(t *testing.T) {
			sim := newSim(t, smallCaptcha(miittest.Options{}))
			client := newClient(t, sim.URL, Options{})
			sim.Inject(miittest.Fault{Kind: c.kind, Endpoint: c.endpoint})
			ans, err := client.Lookup(context.Background(), absent)
			if err == nil {
				t.Fatalf("definite answer %+v, want unknown %s", ans, c.want)
			}
			if got := scraper.ReasonOf(err); got != c.want {
				t.Fatalf("reason %s (%v), want %s", got, err, c.want)
			}
			// The fault was one answer: the next lookup is definite again.
			if _, err := client.Lookup(context.Background(), absent); err != nil {
				t.Fatalf("lookup after the fault: %v", err)
			}
		})
	}
}

func TestRateLimitedBySimulator(t *testing.T) {
	sim := newSim(t, miittest.Options{RateLimit: 6, RateWindow: time.Hour})
	c := newClient(t, sim.URL, Options{})
	lookup(t, c, absent) // auth + 3 requests
	_, err := c.Lookup(context.Background(), absent)
	if scraper.ReasonOf(err) != scraper.RateLimited {
		t.Fatalf("err = %v, want rate_limited", err)
	}
}

func TestSilentBanLooksAbsent(t *testing.T) {
	// The documented limit of any client (ICP-Checker #14): a banned client
	// may get a normal empty list. Only the canary of the query job exposes it.
	sim := newSim(t, miittest.Options{})
	addSubject(sim, subject, 1)
	c := newClient(t, sim.URL, Options{})
	sim.Inject(miittest.Fault{Kind: miittest.FaultSilentEmpty})
	if ans := lookup(t, c, subject); ans.Present() {
		t.Fatal("silent empty fault not applied")
	}
}

func TestTimeoutBoundsTheWholeLookup(t *testing.T) {
	t.Run("slow answer", func(t *testing.T) {
		sim := newSim(t, miittest.Options{})
		c := newClient(t, sim.URL, Options{Timeout: 200 * time.Millisecond})
		sim.Inject(miittest.Fault{Kind: miittest.FaultSlow, Endpoint: miittest.CaptchaImage, Delay: time.Minute})
		if _, err := c.Lookup(context.Background(), absent); scraper.ReasonOf(err) != scraper.NetworkError {
			t.Fatalf("err = %v, want network_error", err)
		}
	})
	t.Run("slow solver", func(t *testing.T) {
		sim := newSim(t, miittest.Options{})
		solver, err := captcha.NewCommand(captcha.CommandOptions{Argv: []string{"sleep", "60"}})
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, sim.URL, Options{Timeout: 2 * time.Second, Solver: solver})
		if _, err := c.Lookup(context.Background(), absent); scraper.ReasonOf(err) != scraper.CaptchaFailed {
			t.Fatalf("err = %v, want captcha_failed", err)
		}
	})
	t.Run("cancelled by the caller", func(t *testing.T) {
		sim := newSim(t, miittest.Options{})
		c := newClient(t, sim.URL, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Lookup(ctx, absent); err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled inside", err)
		}
	})
}

func TestNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c := newClient(t, url, Options{})
	if _, err := c.Lookup(context.Background(), absent); scraper.ReasonOf(err) != scraper.NetworkError {
		t.Fatalf("err = %v, want network_error", err)
	}
}

func TestBodyLimit(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	c := newClient(t, sim.URL, Options{MaxBody: 1024}) // the captcha images are larger
	if _, err := c.Lookup(context.Background(), absent); scraper.ReasonOf(err) != scraper.Unparseable {
		t.Fatalf("err = %v, want unparseable", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	sim := newSim(t, miittest.Options{})
	var mu sync.Mutex
	var query http.Header
	var queryBody string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/queryByCondition") {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			query, queryBody = r.Header.Clone(), string(b)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	c := newClient(t, proxy.URL+miittest.APIPath, Options{})
	lookup(t, c, "example.cn")
	mu.Lock()
	defer mu.Unlock()
	for k, re := range map[string]string{
		"Token": `^.+\..+\..+$`, "Sign": `^.+\..+\..+$`, "Uuid": `^[0-9a-f-]{36}$`,
		"Origin": `^https://beian\.miit\.gov\.cn$`, "Referer": `^https://beian\.miit\.gov\.cn/$`,
		"Cookie": `^__jsluid_s=[0-9a-f]{32}$`, "Content-Type": `^application/json$`,
	} {
		if v := query.Get(k); !regexp.MustCompile(re).MatchString(v) {
			t.Errorf("header %s = %q, want %s", k, v, re)
		}
	}
	if want := `{"pageNum":1,"pageSize":26,"unitName":"example.cn","serviceType":1}`; queryBody != want {
		t.Errorf("query body %s, want %s", queryBody, want)
	}
}

func TestConcurrentLookupsShareOneToken(t *testing.T) {
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	addSubject(sim, subject, 30)
	c := newClient(t, sim.URL, Options{})
	harness.Concurrently(t, 8, func(int) error {
		ans, err := c.Lookup(context.Background(), subject)
		if err == nil && len(ans.Records) != 30 {
			err = fmt.Errorf("%d records", len(ans.Records))
		}
		return err
	})
	if t.Failed() {
		t.FailNow()
	}
	if n := sim.Requests()[miittest.Auth]; n != 1 {
		t.Fatalf("%d auths for concurrent lookups, want 1", n)
	}
}

func TestNewValidates(t *testing.T) {
	for name, opts := range map[string]Options{
		"bad URL":      {BaseURL: "ftp://x"},
		"no host":      {BaseURL: "http://"},
		"service type": {ServiceType: 3},
		"negative":     {Timeout: -time.Second},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := New(Options{})
	if err != nil || c.Name() != "miit" || c.base != DefaultBaseURL {
		t.Fatalf("defaults: %v %+v", err, c)
	}
	if _, err := c.Lookup(context.Background(), "  "); err == nil {
		t.Fatal("empty query accepted")
	}
}
