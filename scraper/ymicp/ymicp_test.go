package ymicp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
	"github.com/icpmon/icpmon/scraper/polite"
)

// service is an HG-ha/ICP_Query-compatible service over a set of records:
// it relays MIIT-shaped pages as the real one does.
type service struct {
	mu       sync.Mutex
	records  []scraper.Record
	token    string // required Bearer token, if any
	requests int
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code": 401, "message": "未登录或会话已过期"}`)
		return
	}
	if r.URL.Path != "/query/web" {
		fmt.Fprint(w, `{"code": 102, "msg": "不是支持的查询类型"}`)
		return
	}
	q := r.URL.Query()
	pageNum, _ := strconv.Atoi(q.Get("pageNum"))
	pageSize, _ := strconv.Atoi(q.Get("pageSize"))
	if q.Get("search") == "" || pageNum < 1 || pageSize < 1 || pageSize > 26 {
		fmt.Fprint(w, `{"code": 122, "message": "工信部服务器异常"}`)
		return
	}
	var hits []scraper.Record
	for _, rec := range s.records {
		if rec.Licence == q.Get("search") || scraper.MainLicenceOf(rec.Licence) == q.Get("search") || rec.Domain == q.Get("search") {
			hits = append(hits, rec)
		}
	}
	_, _ = w.Write(miittest.QueryAnswer(hits, pageNum, pageSize))
}

func newService(t *testing.T, s *service) (*Client, *service) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/", BearerToken: s.token})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func subject(n int) []scraper.Record {
	out := make([]scraper.Record, n)
	for i := range out {
		out[i] = scraper.Record{Licence: fmt.Sprintf("京ICP备10046444号-%d", i+1), Domain: fmt.Sprintf("s%d.example.cn", i+1),
			UnitName: "小米科技有限责任公司", ServiceType: 1, ApprovedAt: "2021-08-16 13:55:56"}
	}
	return out
}

func TestLookup(t *testing.T) {
	c, svc := newService(t, &service{records: subject(30), token: "s3cret"})
	if c.Name() != "ymicp" {
		t.Fatal(c.Name())
	}
	ans, err := c.Lookup(context.Background(), "京ICP备10046444号")
	if err != nil || len(ans.Records) != 30 {
		t.Fatalf("subject: %d records, %v", len(ans.Records), err)
	}
	want := scraper.Record{Licence: "京ICP备10046444号-7", MainLicence: "京ICP备10046444号", Domain: "s7.example.cn",
		UnitName: "小米科技有限责任公司", ServiceType: 1, ApprovedAt: "2021-08-16 13:55:56"}
	if ans.Records[6] != want {
		t.Fatalf("record 7 = %+v", ans.Records[6])
	}
	if svc.requests != 2 {
		t.Fatalf("%d requests for 30 records, want 2 pages", svc.requests)
	}
	ans, err = c.Lookup(context.Background(), "京ICP备99999999号")
	if err != nil || ans.Present() {
		t.Fatalf("unfiled: %+v, %v", ans, err)
	}
}

func TestLoginRequired(t *testing.T) {
	srv := httptest.NewServer(&service{token: "s3cret"})
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(context.Background(), "mi.cn"); scraper.ReasonOf(err) != scraper.AuthFailed {
		t.Fatalf("err = %v, want auth_failed", err)
	}
}

func TestFailureFixtures(t *testing.T) {
	cases := []struct {
		file   string
		status int
		want   scraper.Reason
	}{
		{"waf-500.json", 200, scraper.WAFBlocked},
		{"../../antibot/testdata/knownsec-403.html", 403, scraper.WAFBlocked}, // the antibot package's
		{"captcha-failed-500.json", 200, scraper.CaptchaFailed},
		{"slider-failed-500.json", 200, scraper.CaptchaFailed},
		{"captcha-image-failed-500.json", 200, scraper.RateLimited},
		{"token-failed-500.json", 200, scraper.AuthFailed},
		{"miit-server-error-122.json", 200, scraper.ServerError},
		{"query-failed-122.json", 200, scraper.ServerError},
		{"bad-parameter-101.json", 200, scraper.ServerError},
		{"unsupported-type-102.json", 200, scraper.ServerError},
		{"prohibited-405.json", 200, scraper.ServerError},
		{"not-found-404.json", 200, scraper.ServerError},
		{"login-401.json", 401, scraper.AuthFailed},
		{"miit-429.json", 200, scraper.RateLimited},
		{"miit-401.json", 200, scraper.AuthFailed},
		{"serialise-failed-500.json", 500, scraper.ServerError},
		{"aiohttp-500.txt", 500, scraper.ServerError},
		{"truncated.json", 200, scraper.Unparseable},
		{"layout-changed.json", 200, scraper.Unparseable},
		{"hit.json", 502, scraper.ServerError},
		{"empty.json", 404, scraper.Unparseable},
	}
	for _, c := range cases {
		body, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%s@%d", filepath.Base(c.file), c.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(c.status)
				_, _ = w.Write(body)
			}))
			t.Cleanup(srv.Close)
			client, err := New(Options{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []scraper.Provider{client, polite.Wrap(client, polite.Options{})} {
				ans, err := p.Lookup(context.Background(), "京ICP备99999999号")
				if err == nil || ans.Present() {
					t.Fatalf("%T: definite answer %+v; want unknown %s", p, ans, c.want)
				}
				if got := scraper.ReasonOf(err); got != c.want {
					t.Fatalf("%T: reason %s (%v), want %s", p, got, err, c.want)
				}
			}
		})
	}
}

func TestFailureOnSecondPage(t *testing.T) {
	waf, err := os.ReadFile(filepath.Join("testdata", "waf-500.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &service{records: subject(30)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("pageNum") == "2" {
			_, _ = w.Write(waf)
			return
		}
		svc.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if ans, err := c.Lookup(context.Background(), "京ICP备10046444号"); scraper.ReasonOf(err) != scraper.WAFBlocked || ans.Present() {
		t.Fatalf("%+v, %v; want waf_blocked and no records", ans, err)
	}
}

func TestTimeoutAndTransport(t *testing.T) {
	c, err := New(Options{URL: harness.Unanswering(t), Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(context.Background(), "mi.cn"); scraper.ReasonOf(err) != scraper.NetworkError {
		t.Fatalf("err = %v, want network_error", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c, err = New(Options{URL: closed.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(context.Background(), "mi.cn"); scraper.ReasonOf(err) != scraper.NetworkError {
		t.Fatalf("err = %v, want network_error", err)
	}
}

func TestBodyLimit(t *testing.T) {
	c, _ := newService(t, &service{records: subject(20)})
	c.opts.MaxBody = 100
	if _, err := c.Lookup(context.Background(), "京ICP备10046444号"); scraper.ReasonOf(err) != scraper.Unparseable {
		t.Fatalf("err = %v, want unparseable", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, opts := range []Options{{}, {URL: "127.0.0.1:16181"}, {URL: "http://x", PageSize: 27}, {URL: "http://x", Timeout: -1}} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
	c, err := New(Options{URL: "http://127.0.0.1:16181"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(context.Background(), " "); err == nil {
		t.Fatal("empty query accepted")
	}
}
