package htmlpage

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/polite"
)

// page is what the test site answers for one looked-up value.
type page struct {
	file        string
	status      int
	contentType string
}

// site serves testdata pages by the looked-up value, wherever the URL
// template puts it, and remembers the raw request URIs.
type site struct {
	mu    sync.Mutex
	pages map[string]page
	uris  []string
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.uris = append(s.uris, r.RequestURI)
	s.mu.Unlock()
	q := r.URL.Query().Get("q")
	if rest, ok := strings.CutPrefix(r.URL.Path, "/search/"); ok {
		q = rest
	}
	pg, ok := s.pages[q]
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := os.ReadFile(filepath.Join("testdata", pg.file))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if pg.contentType == "" {
		pg.contentType = "text/html; charset=utf-8"
	}
	if pg.status == 0 {
		pg.status = http.StatusOK
	}
	w.Header().Set("Content-Type", pg.contentType)
	w.WriteHeader(pg.status)
	_, _ = w.Write(body)
}

// beianxYAML is a beianx-like layout, given the way an operator gives it:
// only the query.html block of the config (README's metrics table).
const beianxYAML = `
url: "%s/search/{query}"
row_selector: "table tbody tr"
fields:
  licence: "td:nth-child(4)"
  unit_name: "td:nth-child(2) a"
  service_name: "td:nth-child(5)"
  domain: "td:nth-child(6) div a"
  approved_at: "td:nth-child(7) div"
no_record_selector: "div.no-record"
no_record_text: "没有查询到记录"
headers: {Cookie: "machine_str=5b7e1c3a-0000-4000-8000-000000000000"}
`

func fromYAML(t *testing.T, doc, base string) *Provider {
	t.Helper()
	var opts Options
	dec := yaml.NewDecoder(strings.NewReader(strings.Replace(doc, "%s", base, 1)))
	dec.KnownFields(true)
	if err := dec.Decode(&opts); err != nil {
		t.Fatal(err)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newSite(t *testing.T, pages map[string]page) (*site, string) {
	t.Helper()
	s := &site{pages: pages}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func TestLayoutFromYAML(t *testing.T) {
	s, base := newSite(t, map[string]page{
		"mi.cn":             {file: "beianx-hit.html"},
		"京ICP备10046444号":    {file: "beianx-subject.html"},
		"example.invalid":   {file: "beianx-none.html"},
		"smart quotes & co": {file: "beianx-none.html"},
	})
	p := fromYAML(t, beianxYAML, base)
	if p.Name() != "html" {
		t.Fatal(p.Name())
	}
	ctx := context.Background()

	ans, err := p.Lookup(ctx, "mi.cn")
	want := scraper.Record{Licence: "京ICP备10046444号-9", MainLicence: "京ICP备10046444号", Domain: "www.mi.cn",
		UnitName: "小米科技有限责任公司", ServiceName: "小米科技", ServiceType: 1, ApprovedAt: "2021-08-16"}
	if err != nil || len(ans.Records) != 1 || ans.Records[0] != want {
		t.Fatalf("hit: %+v, %v", ans, err)
	}

	ans, err = p.Lookup(ctx, "京ICP备10046444号")
	if err != nil || len(ans.Records) != 3 {
		t.Fatalf("subject: %+v, %v", ans, err)
	}
	var licences []string
	for _, r := range ans.Records {
		licences = append(licences, r.Licence)
		if r.MainLicence != "京ICP备10046444号" {
			t.Errorf("main licence of %s = %s", r.Licence, r.MainLicence)
		}
	}
	if !slices.Equal(licences, []string{"京ICP备10046444号-9", "京ICP备10046444号-12", "京ICP备10046444号-15"}) {
		t.Fatalf("licences %q: spaces and line breaks must go", licences)
	}
	if ans.Records[2].ServiceName != "小米 社区" {
		t.Fatalf("service name %q", ans.Records[2].ServiceName)
	}

	for _, q := range []string{"example.invalid", "smart quotes & co"} {
		if ans, err := p.Lookup(ctx, q); err != nil || ans.Present() {
			t.Fatalf("no record page for %q: %+v, %v", q, ans, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.uris, "/search/smart%20quotes%20&%20co") {
		t.Fatalf("request URIs %q: the query must be path-escaped", s.uris)
	}
}

func TestQueryStringTemplateAndTextMarker(t *testing.T) {
	s, base := newSite(t, map[string]page{
		"mi.cn":           {file: "chinaz-hit.html"},
		"example.invalid": {file: "chinaz-none.html"},
		"a&b c":           {file: "chinaz-none.html"},
	})
	p, err := New(Options{
		Name:             "chinaz",
		URL:              base + "/icp?q={query}",
		RowSelector:      "#first:has(li)",
		Fields:           map[string]string{FieldLicence: "li:nth-child(3) p font", FieldUnitName: "li:nth-child(1) p", FieldDomain: "p.Wzno", FieldApprovedAt: "li:nth-child(6) p"},
		NoRecordSelector: "div.col-red",
		NoRecordText:     "未备案或备案取消",
	})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := p.Lookup(context.Background(), "mi.cn")
	if err != nil || len(ans.Records) != 1 || ans.Records[0].Licence != "京ICP备10046444号-9" || ans.Records[0].Domain != "www.mi.cn" {
		t.Fatalf("hit: %+v, %v", ans, err)
	}
	for _, q := range []string{"example.invalid", "a&b c"} {
		if ans, err := p.Lookup(context.Background(), q); err != nil || ans.Present() {
			t.Fatalf("no record for %q: %+v, %v", q, ans, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.uris, "/icp?q=a%26b+c") {
		t.Fatalf("request URIs %q: the query must be query-escaped", s.uris)
	}
}

// The WAF pages are the antibot package's fixtures, read from there (paths
// relative to testdata).
const (
	knownsec403  = "../../antibot/testdata/knownsec-403.html"
	acwChallenge = "../../antibot/testdata/acw-challenge.html"
)

func TestFailurePages(t *testing.T) {
	pages := map[string]page{
		"both":       {file: "rows-and-marker.html"},
		"ad-row":     {file: "row-without-licence.html"},
		"redesign":   {file: "redesigned.html"},
		"login":      {file: "login-wall.html"},
		"waf":        {file: knownsec403, status: 403},
		"waf-200":    {file: knownsec403},
		"acw":        {file: acwChallenge},
		"502":        {file: "bad-gateway-502.html", status: 502},
		"429":        {file: "beianx-none.html", status: 429},
		"404-none":   {file: "beianx-none.html", status: 404},
		"gbk":        {file: "beianx-none.html", contentType: "text/html; charset=GBK"},
		"chinaz-hit": {file: "chinaz-hit.html"}, // another site's layout
	}
	want := map[string]scraper.Reason{
		"both": scraper.Unparseable, "ad-row": scraper.Unparseable, "redesign": scraper.Unparseable,
		"login": scraper.Unparseable, "waf": scraper.WAFBlocked, "waf-200": scraper.WAFBlocked,
		"acw": scraper.WAFBlocked, "502": scraper.ServerError, "429": scraper.RateLimited,
		"404-none": scraper.Unparseable, "gbk": scraper.Unparseable, "chinaz-hit": scraper.Unparseable,
	}
	_, base := newSite(t, pages)
	bare := fromYAML(t, beianxYAML, base)
	// The wrapper's clock jumps an hour per reading, so that no park from one
	// case hides the next case's reason.
	var mu sync.Mutex
	now := time.Now()
	hourly := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Hour)
		return now
	}
	for _, p := range []scraper.Provider{bare, polite.Wrap(bare, polite.Options{Now: hourly})} {
		for q, reason := range want {
			ans, err := p.Lookup(context.Background(), q)
			if err == nil || ans.Present() {
				t.Fatalf("%T %s: definite answer %+v; want %s", p, q, ans, reason)
			}
			if got := scraper.ReasonOf(err); got != reason {
				t.Errorf("%T %s: reason %s (%v), want %s", p, q, got, err, reason)
			}
		}
	}
}

func TestTransportAndLimits(t *testing.T) {
	p := fromYAML(t, beianxYAML, harness.Unanswering(t))
	p.opts.Timeout = 100 * time.Millisecond
	if _, err := p.Lookup(context.Background(), "mi.cn"); scraper.ReasonOf(err) != scraper.NetworkError {
		t.Fatalf("slow site: %v", err)
	}

	_, base := newSite(t, map[string]page{"mi.cn": {file: "beianx-hit.html"}})
	p = fromYAML(t, beianxYAML, base)
	p.opts.MaxBody = 200
	if _, err := p.Lookup(context.Background(), "mi.cn"); scraper.ReasonOf(err) != scraper.Unparseable {
		t.Fatalf("oversized page: %v", err)
	}
	if _, err := p.Lookup(context.Background(), " "); err == nil {
		t.Fatal("empty query accepted")
	}
}

func TestNewValidates(t *testing.T) {
	good := func() Options {
		return Options{URL: "https://example.invalid/search?q={query}", RowSelector: "tr",
			Fields: map[string]string{FieldLicence: "td:nth-child(1)"}, NoRecordSelector: "p.none", NoRecordText: "无"}
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("good options: %v", err)
	}
	cases := map[string]func(*Options){
		"no {query}":          func(o *Options) { o.URL = "https://example.invalid/search" },
		"not http":            func(o *Options) { o.URL = "file:///{query}" },
		"bad row selector":    func(o *Options) { o.RowSelector = "tr[" },
		"empty row selector":  func(o *Options) { o.RowSelector = " " },
		"no licence":          func(o *Options) { o.Fields = map[string]string{FieldDomain: "td"} },
		"unknown field":       func(o *Options) { o.Fields["owner"] = "td" },
		"bad field selector":  func(o *Options) { o.Fields[FieldDomain] = "td:nth-child(" },
		"no marker":           func(o *Options) { o.NoRecordSelector = "" },
		"text only marker":    func(o *Options) { o.NoRecordSelector = ""; o.NoRecordText = "无" },
		"next without total":  func(o *Options) { o.NextSelector = "a.next" },
		"bad total selector":  func(o *Options) { o.TotalSelector = "span[" },
		"bad marker selector": func(o *Options) { o.NoRecordSelector = "div..x" },
		"negative timeout":    func(o *Options) { o.Timeout = -time.Second },
	}
	for name, mutate := range cases {
		o := good()
		mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParse feeds arbitrary pages to the beianx-like layout: no panic, every
// failure has a reason of the closed set, a present answer has licences and
// an absent one comes only from a page with the marker and without rows.
func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	pages := []string{knownsec403, acwChallenge}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") {
			pages = append(pages, e.Name())
		}
	}
	for _, name := range pages {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<div class="no-record">没有<b>查询到</b>记录</div>`))
	p, err := New(Options{URL: "http://127.0.0.1/{query}", RowSelector: "table tbody tr",
		Fields:           map[string]string{FieldLicence: "td:nth-child(4)", FieldDomain: "td:nth-child(6) div a"},
		NoRecordSelector: "div.no-record", NoRecordText: "没有查询到记录"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pg, err := p.parse(body)
		if err != nil {
			var e *scraper.Error
			if !errors.As(err, &e) || !slices.Contains(scraper.Reasons(), e.Reason) || len(pg.records) > 0 {
				t.Fatalf("bad failure: %v, %+v", err, pg)
			}
			return
		}
		for _, r := range pg.records {
			if r.Licence == "" || r.MainLicence == "" || strings.ContainsAny(r.Licence, " \t\n") {
				t.Fatalf("bad record %+v", r)
			}
		}
		if pg.noRecord && (len(pg.records) > 0 || !strings.Contains(html.UnescapeString(string(body)), "no-record")) {
			t.Fatalf("no record without a no-record element, or with rows: %q", body)
		}
	})
}
