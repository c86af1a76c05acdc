package htmlpage

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/scraper"
)

// pagedSite is a fuzzy search with a pager, unlike any layout icpmon was
// written against: every query answers the same subject's sites, perPage a
// page, with an optional stated total (which may lie) and a next link.
type pagedSite struct {
	sites     int
	perPage   int
	total     string // the stated total's text; "" states none
	nextHost  string // another host for the next link, to see it refused
	titleOnly bool   // answer a page whose only no-record text is its <title>
}

func (ps pagedSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if ps.titleOnly {
		fmt.Fprint(w, `<html><head><title>未找到备案信息 - 备案查询</title></head><body><div id="app"></div></body></html>`)
		return
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	n = max(n, 1)
	var b strings.Builder
	b.WriteString(`<html><head><title>未找到备案信息?</title></head><body><div class="result">`)
	if ps.total != "" {
		fmt.Fprintf(&b, `<span class="total">%s</span>`, ps.total)
	}
	b.WriteString(`<table><tbody>`)
	for i := (n-1)*ps.perPage + 1; i <= min(n*ps.perPage, ps.sites); i++ {
		fmt.Fprintf(&b, `<tr><td>京ICP备12345678号-%d</td><td>s%d.example.com</td></tr>`, i, i)
	}
	b.WriteString(`</tbody></table>`)
	if n*ps.perPage < ps.sites {
		fmt.Fprintf(&b, `<a class="next" href="%s?q=x&page=%d">下一页</a>`, ps.nextHost, n+1)
	}
	b.WriteString(`</div><p class="foot">未找到备案信息 is what we say when nothing is found</p></body></html>`)
	fmt.Fprint(w, b.String())
}

func pagedProvider(t *testing.T, ps pagedSite, total, next string) *Provider {
	t.Helper()
	srv := httptest.NewServer(ps)
	t.Cleanup(srv.Close)
	p, err := New(Options{URL: srv.URL + "/search?q={query}", RowSelector: "tbody tr",
		Fields:           map[string]string{FieldLicence: "td:nth-child(1)", FieldDomain: "td:nth-child(2)"},
		NoRecordSelector: "div.none", NoRecordText: "未找到备案信息", ResultSelector: "div.result",
		TotalSelector: total, NextSelector: next})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompleteness covers the ways a list of rows may or may not be proven
// complete, across page sizes and totals.
func TestCompleteness(t *testing.T) {
	for _, tc := range []struct {
		name         string
		site         pagedSite
		total, next  string
		wantRows     int
		wantComplete bool
		wantReason   scraper.Reason
	}{
		{"one page, no total", pagedSite{sites: 3, perPage: 26}, "", "", 3, false, ""},
		{"pager not followed", pagedSite{sites: 30, perPage: 10}, "", "", 10, false, ""},
		{"total, no pager, first page only", pagedSite{sites: 30, perPage: 10, total: "共 30 条"}, "span.total", "", 10, false, ""},
		{"total and pager", pagedSite{sites: 30, perPage: 10, total: "共 30 条"}, "span.total", "a.next", 30, true, ""},
		{"total and pager, odd size", pagedSite{sites: 27, perPage: 26, total: "共27条"}, "span.total", "a.next", 27, true, ""},
		{"one page with total", pagedSite{sites: 5, perPage: 26, total: "5"}, "span.total", "a.next", 5, true, ""},
		{"total larger than rows", pagedSite{sites: 5, perPage: 26, total: "共 9 条"}, "span.total", "a.next", 5, false, ""},
		{"total smaller than rows", pagedSite{sites: 5, perPage: 26, total: "共 2 条"}, "span.total", "a.next", 0, false, scraper.Unparseable},
		{"no number in total", pagedSite{sites: 5, perPage: 26, total: "很多"}, "span.total", "a.next", 0, false, scraper.Unparseable},
		{"more pages than read", pagedSite{sites: 500, perPage: 10, total: "500"}, "span.total", "a.next", 200, false, ""},
		{"next link to another host", pagedSite{sites: 30, perPage: 10, total: "30", nextHost: "http://elsewhere.invalid/search"}, "span.total", "a.next", 0, false, scraper.Unparseable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pagedProvider(t, tc.site, tc.total, tc.next)
			ans, err := p.Lookup(context.Background(), "京ICP备12345678号")
			if tc.wantReason != "" {
				if scraper.ReasonOf(err) != tc.wantReason {
					t.Fatalf("err %v, want %s", err, tc.wantReason)
				}
				return
			}
			if err != nil || len(ans.Records) != tc.wantRows || ans.Complete != tc.wantComplete || ans.NoRecord {
				t.Fatalf("rows %d complete %t no-record %t err %v; want %d rows, complete %t", len(ans.Records), ans.Complete, ans.NoRecord, err, tc.wantRows, tc.wantComplete)
			}
		})
	}
}

// TestNoRecordOnlyInsideTheContainer: the configured no-record text in the
// <title> or in a footer outside the result container proves nothing.
func TestNoRecordOnlyInsideTheContainer(t *testing.T) {
	p := pagedProvider(t, pagedSite{titleOnly: true}, "", "")
	ans, err := p.Lookup(context.Background(), "京ICP备12345678号-3")
	if err == nil || ans.NoRecord || scraper.ReasonOf(err) != scraper.Unparseable {
		t.Fatalf("title with the no-record text: %+v, %v", ans, err)
	}
	// Zero rows and the text only in a footer outside the container.
	p = pagedProvider(t, pagedSite{sites: 0, perPage: 10}, "", "")
	if ans, err := p.Lookup(context.Background(), "京ICP备12345678号-3"); err == nil || ans.NoRecord {
		t.Fatalf("footer text: %+v, %v", ans, err)
	}
}
