package miit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
	"github.com/icpmon/icpmon/scraper/polite"
)

// failureFixture is an answer that must never make a lookup definite.
type failureFixture struct {
	file   string
	status int
	// want is the reason at each stage; stages missing use def.
	def  scraper.Reason
	want map[string]scraper.Reason
}

// stage is where in a lookup the fixture replaces the simulator's answer.
type stage struct {
	name     string
	endpoint string
	from     int    // the from-th request of endpoint onward
	query    string // what is looked up
}

const bigSubject = "京ICP备20260001号" // 30 records: two pages

var stages = []stage{
	{"auth", miittest.Auth, 1, absent},
	{"captcha image", miittest.CaptchaImage, 1, absent},
	{"checkImage", miittest.CheckImage, 1, absent},
	{"query page 1", miittest.Query, 1, absent},
	{"query page 2", miittest.Query, 2, bigSubject},
}

// The WAF pages are the antibot package's fixtures, read from there (paths
// relative to testdata).
const (
	knownsec403 = "../../antibot/testdata/knownsec-403.html"
	jsl521      = "../../antibot/testdata/jsl-521.html"
)

var failureFixtures = []failureFixture{
	{file: knownsec403, status: 403, def: scraper.WAFBlocked},
	{file: knownsec403, status: 200, def: scraper.WAFBlocked},
	{file: jsl521, status: 521, def: scraper.WAFBlocked},
	{file: "rate-limited-429.json", status: 200, def: scraper.RateLimited},
	{file: "rate-limited-429.json", status: 429, def: scraper.RateLimited},
	{file: "token-expired-401.json", status: 200, def: scraper.AuthFailed},
	{file: "auth-failed-401.json", status: 200, def: scraper.AuthFailed},
	{file: "server-error-500.json", status: 200, def: scraper.ServerError},
	{file: "content-type-415.json", status: 200, def: scraper.ServerError},
	{file: "sign-mismatch.json", status: 200, def: scraper.CaptchaFailed},
	{file: "captcha-refused.json", status: 200, def: scraper.ServerError,
		want: map[string]scraper.Reason{"checkImage": scraper.CaptchaFailed}},
	{file: "success-false.json", status: 200, def: scraper.ServerError,
		want: map[string]scraper.Reason{"checkImage": scraper.CaptchaFailed}},
	{file: "empty-body.txt", status: 200, def: scraper.Unparseable,
		want: map[string]scraper.Reason{"captcha image": scraper.RateLimited}},
	{file: "truncated.json", status: 200, def: scraper.Unparseable},
	{file: "layout-changed.json", status: 200, def: scraper.Unparseable},
	{file: "list-null.json", status: 200, def: scraper.Unparseable},
	{file: "total-mismatch.json", status: 200, def: scraper.Unparseable},
	{file: "empty-list-with-total.json", status: 200, def: scraper.Unparseable},
	{file: "record-without-licence.json", status: 200, def: scraper.Unparseable},
	{file: "no-params.json", status: 200, def: scraper.Unparseable},
	{file: "no-code.json", status: 200, def: scraper.Unparseable},
	{file: "spa-shell.html", status: 200, def: scraper.Unparseable},
	{file: "bad-gateway-502.html", status: 502, def: scraper.ServerError},
	// The right answer to the wrong request: on the last page a hit is a
	// contradiction (a page 1 with total 1 where page 2 was asked for).
	{file: "hit.json", status: 200, def: scraper.Unparseable,
		want: map[string]scraper.Reason{"query page 1": "", "query page 2": scraper.Unparseable}},
	{file: "empty.json", status: 200, def: scraper.Unparseable,
		want: map[string]scraper.Reason{"query page 1": ""}},
}

// replacing serves the simulator, except that from the from-th request of
// one endpoint on it answers with a fixture.
func replacing(sim *miittest.Server, st stage, status int, body []byte) http.Handler {
	var mu sync.Mutex
	seen := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/"+st.endpoint) {
			mu.Lock()
			seen++
			hit := seen >= st.from
			mu.Unlock()
			if hit {
				if len(body) > 0 && body[0] == '{' {
					w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				} else if len(body) > 0 {
					w.Header().Set("Content-Type", "text/html")
				}
				w.WriteHeader(status)
				_, _ = w.Write(body)
				return
			}
		}
		sim.ServeHTTP(w, r)
	})
}

// TestEveryFailureFixtureOnEveryPath serves each failure fixture at each step
// of a lookup, to the bare client and through the polite wrapper, and
// checks that none gives a definite answer and each has the right reason.
func TestEveryFailureFixtureOnEveryPath(t *testing.T) {
	for _, fx := range failureFixtures {
		body, err := os.ReadFile(filepath.Join("testdata", fx.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stages {
			want, listed := fx.want[st.name]
			if !listed {
				want = fx.def
			}
			if want == "" {
				continue // a well-formed answer where it belongs: not a failure here
			}
			t.Run(fmt.Sprintf("%s@%d/%s", filepath.Base(fx.file), fx.status, st.name), func(t *testing.T) {
				for _, wrapped := range []bool{false, true} {
					sim := miittest.New(smallCaptcha(miittest.Options{Seed: 7}))
					t.Cleanup(sim.Close)
					addSubject(sim, bigSubject, 30)
					srv := httptest.NewServer(replacing(sim, st, fx.status, body))
					t.Cleanup(srv.Close)
					var p scraper.Provider = newClient(t, srv.URL+miittest.APIPath, Options{Timeout: 10 * time.Second})
					if wrapped {
						p = polite.Wrap(p, polite.Options{})
					}
					ans, err := p.Lookup(context.Background(), st.query)
					if err == nil {
						t.Fatalf("%T: definite answer with %d records; want unknown %s", p, len(ans.Records), want)
					}
					if ans.Present() || len(ans.Records) != 0 {
						t.Fatalf("%T: an unknown lookup carried records", p)
					}
					if got := scraper.ReasonOf(err); got != want {
						t.Fatalf("%T: reason %s (%v), want %s", p, got, err, want)
					}
				}
			})
		}
	}
}
