package statuspage_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/statuspage"
)

// rowIDs are the IDs of the list's rows, in order.
var rowID = regexp.MustCompile(`<tr class="cancellation"><td class="licence"><a href="/cancellations/([^"]+)">`)

func rowIDs(page string) []string {
	var ids []string
	for _, m := range rowID.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestFilters(t *testing.T) {
	s := startSite(t)
	for _, tc := range []struct {
		query string
		want  []string // most urgent first
	}{
		{"", []string{"late-bj", "soon-sh", "access-sc", "zj-new", "idn-gd", "cleared-js"}},
		{"?status=pending", []string{"late-bj", "soon-sh", "access-sc", "zj-new"}},
		{"?status=approved", []string{"idn-gd"}},
		{"?kind=website", []string{"soon-sh", "zj-new", "idn-gd"}},
		{"?status=pending&kind=subject", []string{"late-bj"}},
		{"?overdue=1", []string{"late-bj"}},
		{"?due=3", []string{"soon-sh"}},              // 3 business days left
		{"?due=6", []string{"soon-sh", "access-sc"}}, // and 6; the overdue one is past due, not due
		{"?due=0", nil},
		{"?q=20001234", []string{"zj-new"}},
		{"?q=%E4%B8%AD%E5%9B%BD", []string{"idn-gd"}},               // 中国: the Unicode form of xn--fiqs8s.cn
		{"?q=xn--fiqs8s", []string{"idn-gd"}},                       // its punycode
		{"?q=%E8%9C%80ICP%E5%A4%8777778888", []string{"access-sc"}}, // 蜀ICP备77778888: the other prefix of 川
		{"?q=%EF%BC%92%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94", []string{"zj-new"}}, // ２０００１２３４, full-width
		{"?q=EXAMPLE.CN", []string{"soon-sh", "zj-new"}},
		{"?q=%E4%BA%ACicp%E5%A4%8712345678", []string{"late-bj"}}, // 京icp备12345678, in lower case
		{"?q=nothing-like-it", nil},
		{"?status=pending&q=example.com", []string{"late-bj"}},
	} {
		resp, page := s.get(t, "/"+tc.query, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", tc.query, resp.StatusCode)
			continue
		}
		if got := rowIDs(page); !slices.Equal(got, tc.want) {
			t.Errorf("/%s lists %v, want %v", tc.query, got, tc.want)
		}
		if count := regexp.MustCompile(`>(\d+) of 6 match\.`).FindStringSubmatch(page); count == nil || count[1] != strconv.Itoa(len(tc.want)) {
			t.Errorf("/%s does not say that %d of 6 match: %v", tc.query, len(tc.want), count)
		}
	}
	// The form shows the filter in force.
	_, page := s.get(t, "/?status=pending&overdue=1&due=4&q=bj", "")
	for _, want := range []string{`<option value="pending" selected>`, `name="overdue" value="1" checked`, `name="due" min="0" max="100" value="4"`, `name="q" value="bj"`,
		`href="/cancellations.csv?due=4&amp;overdue=1&amp;q=bj&amp;status=pending"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the filtered page lacks %s", want)
		}
	}
}

// A bad filter is one clear error, and lists nothing.
func TestBadFilter(t *testing.T) {
	s := startSite(t)
	for query, want := range map[string]string{
		"?status=done":                   `unknown status &#34;done&#34;`,
		"?kind=domain":                   `unknown kind &#34;domain&#34;`,
		"?overdue=yes":                   `overdue is 1 or nothing`,
		"?due=-1":                        `due is a number of business days from 0 to 100`,
		"?due=soon":                      `due is a number of business days from 0 to 100`,
		"?q=" + strings.Repeat("x", 201): `the search text is longer than 200 characters`,
	} {
		resp, page := s.get(t, "/"+query, "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Bad filter: "+want) || len(rowIDs(page)) != 0 {
			t.Errorf("/%s: status %d, rows %v, want 400 and %q", query, resp.StatusCode, rowIDs(page), want)
		}
		resp, body := s.get(t, "/cancellations.csv"+query, "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/cancellations.csv%s: status %d, want 400: %s", query, resp.StatusCode, body)
		}
	}
}

func TestCSV(t *testing.T) {
	s := startSite(t)
	resp, body := s.get(t, "/cancellations.csv?status=pending", "zh-CN")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="icpmon-cancellations-2026-03-02.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	rest, bom := strings.CutPrefix(body, "\uFEFF")
	if !bom {
		t.Errorf("no UTF-8 byte order mark: Excel would read the licences as Latin-1")
	}
	records, err := csv.NewReader(strings.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, body)
	}
	header := records[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %s in %v", name, header)
		}
		return i
	}
	byID := map[string][]string{}
	var ids []string
	for _, r := range records[1:] {
		if len(r) != len(header) {
			t.Fatalf("a row of %d fields under %d headers: %v", len(r), len(header), r)
		}
		byID[r[col("id")]] = r
		ids = append(ids, r[col("id")])
	}
	if want := []string{"late-bj", "soon-sh", "access-sc", "zj-new"}; !slices.Equal(ids, want) {
		t.Errorf("rows %v, want %v (the filter of /, most urgent first)", ids, want)
	}
	for id, want := range map[string]map[string]string{
		"late-bj": {"licence": "京ICP备12345678号", "kind": "subject", "status": "pending", "overdue": "true",
			"business_days_elapsed": "60", "review_limit_business_days": "20", "review_deadline": "2025-12-29", "record": "unknown"},
		"soon-sh":   {"overdue": "false", "business_days_elapsed": "17", "review_deadline": "2026-03-05", "domains": "www.example.cn"},
		"zj-new":    {"review_limit_business_days": "30", "record": "unknown", "record_unknown_reason": "rate_limited", "province": "浙"},
		"access-sc": {"licence": "川ICP备77778888号-1", "kind": "access"},
	} {
		for name, v := range want {
			if got := byID[id][col(name)]; got != v {
				t.Errorf("%s %s = %q, want %q", id, name, got, v)
			}
		}
	}

	// Every matching row, however many the page shows; the IDN in both forms.
	_, body = s.get(t, "/cancellations.csv?q=%E4%B8%AD%E5%9B%BD", "")
	records, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if err != nil || len(records) != 2 {
		t.Fatalf("q=中国: %v, %d records:\n%s", err, len(records), body)
	}
	r := records[1]
	for name, v := range map[string]string{
		"id": "idn-gd", "status": "approved", "approved_by": "inferred", "approved_at": "2026-02-19 09:00:00", "record": "absent",
		"domains": "xn--fiqs8s.cn shop.example.com", "domains_unicode": "中国.cn shop.example.com",
		"latest_probes": "http://xn--fiqs8s.cn provider_block 2026-03-01 09:00:00; https://xn--fiqs8s.cn served 2026-03-01 09:00:00",
		"unit_name":     "广州中国网络有限公司",
	} {
		if got := r[slices.Index(records[0], name)]; got != v {
			t.Errorf("idn-gd %s = %q, want %q", name, got, v)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	s := startSite(t)
	for header, zh := range map[string]bool{
		"":                        false, // nothing asked: English
		"en-US,en;q=0.9":          false,
		"zh-CN,zh;q=0.9,en;q=0.8": true,
		"zh-TW":                   true,
		"zh":                      true,
		"fr-FR":                   false,
		"en;q=0.5, zh;q=0.9":      true,
		"de, zh;q=0.5":            true, // German is not offered: Chinese is the best offered
		"en, zh;q=0.5":            false,
	} {
		for _, path := range []string{"/", "/cancellations/idn-gd", "/cancellations/nope"} {
			resp, page := s.get(t, path, header)
			lang, heading := `<html lang="en">`, map[string]string{"/": "Tracked cancellations", "/cancellations/idn-gd": "Verdicts and their evidence", "/cancellations/nope": "No such cancellation"}[path]
			if zh {
				lang, heading = `<html lang="zh-CN">`, map[string]string{"/": "跟踪的注销", "/cancellations/idn-gd": "结论及依据", "/cancellations/nope": "没有这个注销"}[path]
			}
			if !strings.Contains(page, lang) || !strings.Contains(page, heading) {
				t.Errorf("GET %s with Accept-Language %q: want %s and %q:\n%s", path, header, lang, heading, page)
			}
			if resp.Header.Get("Vary") != "Accept-Language" {
				t.Errorf("GET %s: Vary %q: a cache would serve one language to all", path, resp.Header.Get("Vary"))
			}
		}
	}
	// In Chinese, no English label is left on either page: every word outside
	// the data (licences, domains, results, job names, keys) is translated.
	for _, path := range []string{"/", "/cancellations/idn-gd", "/cancellations/late-bj", "/cancellations/zj-new", "/cancellations/cleared-js"} {
		_, page := s.get(t, path, "zh-CN")
		for _, english := range []string{"Tracked", "Status<", "business days", "Verdict", "History", "Probe", "Lookup", "overdue", "pending", "approved", "Approved", "Record", "record", "Review", "Kind", "Licence", " at ", "unknown", "absent", "present"} {
			if text := visibleText(page); strings.Contains(text, english) {
				t.Errorf("the Chinese page %s still says %q:\n%s", path, english, text)
			}
		}
	}
}

// visibleText is what a reader sees of page: no tags, no attribute values,
// and not the words the data itself is made of.
func visibleText(page string) string {
	text := regexp.MustCompile(`(?s)<style>.*?</style>|<[^>]*>`).ReplaceAllString(page, " ")
	// Data, not labels: configuration keys, job names and outcomes, probe
	// results, event details and actors, the version.
	return regexp.MustCompile(`[a-z_]+\.[a-z_.]+|approved on [0-9-]+|approval inferred[^\n]*|public query[^\n]*|provider_block|rate_limited|job:\w+|operator:\w+|version=\S+|\(version[^)]*\)|(approve|clear|record|add|probe)\b`).ReplaceAllString(text, " ")
}

func TestCancellationPage(t *testing.T) {
	s := startSite(t)
	resp, page := s.get(t, "/cancellations/idn-gd", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, page)
	}
	page = html.UnescapeString(page)
	for _, want := range []string{
		`<td class="licence">粤ICP备55556666号-2</td>`,
		"xn--fiqs8s.cn (中国.cn), shop.example.com",
		"Approval inferred from the public query",
		"2026-02-19 09:00 CST, inferred from the public query",
		"approval inferred: public query (miit) proved no record for 粤ICP备55556666号-2 (2 of 2 confirmations)",
		"Website served",
		"https://xn--fiqs8s.cn (中国.cn) answered served at 2026-03-01 09:00 CST, after the grace ended 2026-02-20 09:00 CST (approval + reach.grace 24h).",
		"Website not served",
		"http://xn--fiqs8s.cn (中国.cn): provider_block at 2026-03-01 09:00 CST.",
		"Record absent", "No record in 2 sweeps since 2026-02-19 09:00 CST; last lookup 2026-02-20 10:00 CST through miit.",
		"<td>346 ms</td>", "<td>1.2 s</td>", "<td>10.0 s</td>", // probe durations, rounded
		"Server: Beaver", "timeout",
		"<td>广州中国网络有限公司</td>", // the unit an earlier lookup saw
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page of idn-gd lacks %q:\n%s", want, page)
		}
	}
	if unrounded := regexp.MustCompile(`\d+\.\d{2,}\s?(ms|s)\b|\d+(µs|ns)|\dh\d+m\d+s`).FindString(visibleText(page)); unrounded != "" {
		t.Errorf("an unrounded duration %q", unrounded)
	}

	_, page = s.get(t, "/cancellations/late-bj", "")
	for _, want := range []string{
		`class="bad">60 of 20 business days; deadline 2025-12-29 24:00 CST (overdue)`,
		"The review deadline was the end of business day 20 after submission on 2025-12-01: 2025-12-29 24:00 CST. 60 business days have passed.",
		"Record unknown", "No lookup has proved anything yet.", "No probe yet",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page of late-bj lacks %q:\n%s", want, page)
		}
	}
	_, page = s.get(t, "/cancellations/zj-new", "")
	for _, want := range []string{
		"28 business days left: the deadline is the end of business day 30 after submission on 2026-02-27",
		"The limit is 30 business days for province 浙 (review.province_limits).",
		"The last lookup, 2026-03-01 08:00 CST, proved nothing: rate_limited.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page of zj-new lacks %q:\n%s", want, page)
		}
	}
	_, page = s.get(t, "/cancellations/access-sc", "")
	if !strings.Contains(page, "川ICP备77778888号-1 (as typed: 川ICP备７７７７８８８８号-1)") || !strings.Contains(page, "Access cancelled: the MIIT record stays by design") {
		t.Errorf("the page of access-sc lacks the licence as typed or the note on access:\n%s", page)
	}
	_, page = s.get(t, "/cancellations/cleared-js", "")
	for _, want := range []string{"Approved by an operator", "Record cleared", "public query (miit) proved no record in 4 sweeps", "No record in 4 sweeps since 2026-02-11 09:00 CST"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page of cleared-js lacks %q:\n%s", want, page)
		}
	}

	_, page = s.get(t, "/cancellations/idn-gd", "")
	if !strings.Contains(page, "Lookup log") || !strings.Contains(page, "public query (miit) proved no record for 粤ICP备55556666号-2 (1 of 2 confirmations)") {
		t.Errorf("the page of idn-gd lacks its lookup log:\n%s", page)
	}

	// The list links each row to its page.
	_, list := s.get(t, "/", "")
	if !strings.Contains(list, `<td class="licence"><a href="/cancellations/idn-gd">粤ICP备55556666号-2</a></td>`) {
		t.Errorf("the list does not link idn-gd's licence to its page:\n%s", list)
	}
}

func TestCancellationNotFound(t *testing.T) {
	s := startSite(t)
	if err := s.store.Remove(context.Background(), "soon-sh", "operator:test"); err != nil {
		t.Fatal(err)
	}
	resp, page := s.get(t, "/cancellations/soon-sh", "")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "Cancellation soon-sh was removed on ") || !strings.Contains(page, " by operator:test.") {
		t.Errorf("a removed cancellation: status %d, want 404 and when it was removed:\n%s", resp.StatusCode, page)
	}
	for _, id := range []string{"nope", "no%20such", "-bad", strings.Repeat("x", 65)} {
		resp, page := s.get(t, "/cancellations/"+id, "")
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "No such cancellation") {
			t.Errorf("/cancellations/%s: status %d, want 404 and a page saying so:\n%s", id, resp.StatusCode, page)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7045630788 * time.Nanosecond:          "7.0 s",
		1500 * time.Millisecond:               "1.5 s",
		45300 * time.Microsecond:              "45 ms",
		0:                                     "0 ms",
		83*time.Second + 600*time.Millisecond: "1m24s",
		24 * time.Hour:                        "24h",
		720 * time.Hour:                       "720h",
		90 * time.Minute:                      "1h30m",
		10 * time.Minute:                      "10m",
		time.Hour + 5*time.Second:             "1h0m5s",
	} {
		if got := statuspage.Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

// Every phrase the pages show has its Chinese in the catalogue.
func TestCatalogueCoversEveryPhrase(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	templates, err := filepath.Glob("templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	phrase := regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"|\bl\.T\(\s*"((?:[^"\\]|\\.)*)"`)
	seen := 0
	for _, f := range append(files, templates...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range phrase.FindAllSubmatch(src, -1) {
			p := string(bytes.Join([][]byte{m[1], m[2]}, nil))
			p = strings.ReplaceAll(p, `\"`, `"`)
			seen++
			if _, ok := statuspage.Chinese[p]; !ok {
				t.Errorf("%s: %q has no Chinese", f, p)
			}
		}
	}
	if seen < 100 {
		t.Errorf("found %d phrases: the pattern no longer finds the calls", seen)
	}
}
