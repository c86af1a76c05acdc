package miit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/icpmon/icpmon/scraper"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQueryPage(t *testing.T) {
	page, err := ParseQueryPage(readFixture(t, "hit.json"), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := scraper.Record{Licence: "京ICP备10046444号-9", MainLicence: "京ICP备10046444号", Domain: "mi.cn",
		UnitName: "小米科技有限责任公司", ServiceName: "小米科技", ServiceType: 1, ApprovedAt: "2021-08-16 13:55:56"}
	if page.Total != 1 || page.PageNum != 1 || len(page.Records) != 1 || page.Records[0] != want {
		t.Fatalf("hit page = %+v", page)
	}

	page, err = ParseQueryPage(readFixture(t, "empty.json"), 1)
	if err != nil || page.Total != 0 || len(page.Records) != 0 {
		t.Fatalf("empty page = %+v, %v", page, err)
	}

	// A missing mainLicence is derived from the service licence.
	page, err = ParseQueryPage([]byte(`{"code":200,"success":true,"params":{"total":1,"pageNum":1,"list":[{"serviceLicence":"粤B2-20090059-5","domain":"qq.com"}]}}`), 1)
	if err != nil || page.Records[0].MainLicence != "粤B2-20090059" {
		t.Fatalf("derived main licence: %+v, %v", page, err)
	}
}

func TestCollector(t *testing.T) {
	rec := func(n int) []scraper.Record {
		out := make([]scraper.Record, n)
		for i := range out {
			out[i].Licence = "x"
		}
		return out
	}
	var c Collector
	if more, err := c.Add(Page{Records: rec(26), Total: 30, PageNum: 1}); !more || err != nil {
		t.Fatalf("page 1: %v %v", more, err)
	}
	if more, err := c.Add(Page{Records: rec(4), Total: 30, PageNum: 2}); more || err != nil {
		t.Fatalf("page 2: %v %v", more, err)
	}
	if n := len(c.Answer().Records); n != 30 {
		t.Fatalf("%d records", n)
	}

	bad := []struct {
		name  string
		pages []Page
	}{
		{"page number", []Page{{Records: rec(2), Total: 4, PageNum: 1}, {Records: rec(2), Total: 4, PageNum: 1}}},
		{"total changed", []Page{{Records: rec(2), Total: 4, PageNum: 1}, {Records: rec(1), Total: 3, PageNum: 2}}},
		{"empty later page", []Page{{Records: rec(2), Total: 4, PageNum: 1}, {Total: 4, PageNum: 2}}},
		{"more records than total", []Page{{Records: rec(2), Total: 3}, {Records: rec(2), Total: 3}}},
	}
	for _, b := range bad {
		var c Collector
		var err error
		for _, p := range b.pages {
			if _, err = c.Add(p); err != nil {
				break
			}
		}
		if scraper.ReasonOf(err) != scraper.Unparseable {
			t.Errorf("%s: err = %v, want unparseable", b.name, err)
		}
	}
}

func TestDecodeByStep(t *testing.T) {
	cases := []struct {
		st     step
		status int
		body   string
		want   scraper.Reason
		token  bool // errTokenRejected inside
	}{
		{stepAuth, 200, `{"code":401,"msg":"没有通过身份验证"}`, scraper.AuthFailed, false},
		{stepQuery, 200, `{"code":401,"msg":"token过期"}`, scraper.AuthFailed, true},
		{stepCaptcha, 200, ``, scraper.RateLimited, false},
		{stepCaptcha, 200, " \n", scraper.RateLimited, false},
		{stepCaptcha, 502, ``, scraper.ServerError, false},
		{stepQuery, 200, ``, scraper.Unparseable, false},
		{stepCheck, 200, `{"code":200,"success":false}`, scraper.CaptchaFailed, false},
		{stepQuery, 200, `{"code":200}`, scraper.Unparseable, false},
		{stepQuery, 500, `{"code":200,"success":true,"params":{}}`, scraper.ServerError, false},
		{stepQuery, 404, `not found`, scraper.Unparseable, false},
		{stepQuery, 200, `{"code":302,"msg":"moved"}`, scraper.ServerError, false},
	}
	for _, c := range cases {
		_, err := decode(c.st, c.status, []byte(c.body))
		if got := scraper.ReasonOf(err); err == nil || got != c.want || errors.Is(err, errTokenRejected) != c.token {
			t.Errorf("decode(%s, %d, %q) = %v; want %s (token rejected %v)", c.st, c.status, c.body, err, c.want, c.token)
		}
	}
}

// FuzzParseQueryPage checks the one promise of the parser on any input: it
// never panics, every failure carries a reason of the closed set, and an
// empty definite page is only ever success:true, code 200, total 0, list [].
func FuzzParseQueryPage(f *testing.F) {
	for _, name := range []string{"hit.json", "empty.json", "token-expired-401.json", "rate-limited-429.json",
		"server-error-500.json", "content-type-415.json", "captcha-refused.json", "sign-mismatch.json",
		"truncated.json", "layout-changed.json", "list-null.json", "total-mismatch.json", knownsec403,
		"empty-list-with-total.json", "record-without-licence.json", "no-params.json", "no-code.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"code":200,"success":true,"params":{"list":[],"total":0}}`))
	f.Add([]byte(`{"code":200,"success":true,"params":{"list":[{"serviceLicence":"a"}],"total":"1"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseQueryPage(body, 1)
		if err != nil {
			var e *scraper.Error
			if !errors.As(err, &e) || !slices.Contains(scraper.Reasons(), e.Reason) {
				t.Fatalf("error without a reason: %v", err)
			}
			if len(page.Records) != 0 {
				t.Fatal("records returned with an error")
			}
			return
		}
		for _, r := range page.Records {
			if r.Licence == "" || r.MainLicence == "" {
				t.Fatalf("record without licence: %+v", r)
			}
		}
		if len(page.Records) > page.Total {
			t.Fatalf("%d records, total %d", len(page.Records), page.Total)
		}
		if len(page.Records) == 0 {
			// Re-read the body independently: it must be the documented "no record".
			var raw struct {
				Code    int  `json:"code"`
				Success bool `json:"success"`
				Params  struct {
					List  []json.RawMessage `json:"list"`
					Total int               `json:"total"`
				} `json:"params"`
			}
			if json.Unmarshal(body, &raw) != nil || raw.Code != 200 || !raw.Success ||
				raw.Params.Total != 0 || raw.Params.List == nil || len(raw.Params.List) != 0 {
				t.Fatalf("empty page from a body that is not a no-record answer: %q", body)
			}
		}
	})
}
