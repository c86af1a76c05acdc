package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// queryConfig writes a config whose providers are the simulator (miit) and,
// when given, an html page.
func queryConfig(t *testing.T, providers, miitURL, htmlURL string) string {
	t.Helper()
	return writeFile(t, "icpmon.yml", fmt.Sprintf(`query:
  providers: [%s]
  min_interval: 0s
  timeout: 20s
  canary: 京ICP备10046444号
  miit: {base_url: %q}
  html:
    url: %q
    result_selector: div.result
    row_selector: tbody tr
    fields: {licence: "td:nth-child(1)", domain: "td:nth-child(2)"}
    no_record_selector: div.none
`, providers, miitURL, htmlURL+"/search?q={query}"))
}

func querySim(t *testing.T) *miittest.Server {
	t.Helper()
	sim := miittest.New(miittest.Options{Seed: 11})
	t.Cleanup(sim.Close)
	sim.AddRecord(scraper.Record{Licence: "京ICP备10046444号-9", MainLicence: "京ICP备10046444号", Domain: "mi.cn", ServiceType: 1})
	sim.AddRecord(scraper.Record{Licence: "京ICP备12345678号-1", MainLicence: "京ICP备12345678号", Domain: "a.example.com", ServiceType: 1})
	return sim
}

func TestQueryExitCodes(t *testing.T) {
	sim := querySim(t)
	cfg := queryConfig(t, "miit", sim.URL, "http://127.0.0.1:1")

	r := icpmon(t, "query", "京ICP备12345678号-1", "--config", cfg)
	if r.code != exitPresent || !strings.Contains(r.stdout, "a.example.com") {
		t.Fatalf("present: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = icpmon(t, "query", "京ICP备99999999号-1", "--config", cfg, "-o", "json")
	var got queryResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != exitAbsent || got.Result != "absent" || !strings.Contains(got.Canary, "canary") {
		t.Fatalf("absent: exit %d, %+v, %v\n%s", r.code, got, err, r.stderr)
	}

	// A silent ban: every query answers a normal-looking empty list, the
	// canary's too. That is unknown, never "no record".
	sim.Inject(miittest.Fault{Kind: miittest.FaultSilentEmpty, Count: 1000})
	r = icpmon(t, "query", "京ICP备12345678号-1", "--config", cfg, "--debug")
	if r.code != exitUnknown || !strings.Contains(r.stdout, string(scraper.SilentBanSuspected)) {
		t.Fatalf("silent ban: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("icpmon query --debug under a silent ban:\n%s%s", r.stdout, r.stderr)
	for _, step := range []string{"auth", "solve", "check", "page 1", "canary 京ICP备10046444号", "verdict: unknown"} {
		if !strings.Contains(r.stderr, step) {
			t.Errorf("--debug shows no %q step:\n%s", step, r.stderr)
		}
	}
}

// A fuzzy search with a pager, unlike anything icpmon was written against:
// whatever is asked, it answers the first page of one subject's sites.
func TestQueryOfASiteOnAnotherPage(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rows strings.Builder
		for i := 1; i <= 10; i++ {
			fmt.Fprintf(&rows, `<tr><td>京ICP备12345678号-%d</td><td>s%d.example.com</td></tr>`, i, i)
		}
		fmt.Fprintf(w, `<html><head><title>未找到备案信息</title></head><body><div class="result"><table><tbody>%s</tbody></table><a class="next" href="?page=2">2</a></div></body></html>`, rows.String())
	})
	srv := httptest.NewServer(page)
	t.Cleanup(srv.Close)
	sim := querySim(t)
	cfg := queryConfig(t, "html", sim.URL, srv.URL)
	r := icpmon(t, "query", "京ICP备12345678号-30", "--config", cfg)
	if r.code != exitUnknown || !strings.Contains(r.stdout, string(scraper.UnmatchedRecords)) {
		t.Fatalf("site on a later page: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The subject asked: its first page is no proof that a site is gone,
	// and the canary (another subject) is not on it.
	r = icpmon(t, "query", "京ICP备12345678号", "--config", cfg)
	if r.code != exitPresent {
		t.Fatalf("subject: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// miit refuses every captcha; html answers: the fallback's answer, named.
func TestQueryFallsBack(t *testing.T) {
	sim := querySim(t)
	sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused, Count: 1000})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		if q == "京ICP备10046444号" {
			fmt.Fprint(w, `<html><body><div class="result"><table><tbody><tr><td>京ICP备10046444号-9</td><td>mi.cn</td></tr></tbody></table></div></body></html>`)
			return
		}
		fmt.Fprint(w, `<html><body><div class="result"><div class="none">未找到备案信息</div></div></body></html>`)
	})
	srv := httptest.NewServer(page)
	t.Cleanup(srv.Close)
	cfg := queryConfig(t, "miit, html", sim.URL, srv.URL)
	r := icpmon(t, "query", "京ICP备12345678号-1", "--config", cfg, "-o", "json")
	var got queryResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != exitAbsent || got.Provider != "html" {
		t.Fatalf("fallback: exit %d, %+v, %v\n%s", r.code, got, err, r.stderr)
	}
}
