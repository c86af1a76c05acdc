package lookup

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/evidence"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/htmlpage"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

// unitNameRecords are the filings every provider of TestUnitNameFromEachProvider
// serves. Two unit names under one subject never happen at MIIT; here they
// tell which record a name came from.
var unitNameRecords = []scraper.Record{
	{Licence: canary + "-9", Domain: "mi.cn", UnitName: "小米科技有限责任公司"},
	{Licence: "京ICP备12345678号-1", Domain: "one.example.cn", UnitName: "甲科技有限公司"},
	{Licence: "京ICP备12345678号-2", Domain: "two.example.cn", UnitName: "乙科技有限公司"},
}

// matching is what a source lists for q: a subject's records, or one.
func matching(q string) []scraper.Record {
	var out []scraper.Record
	for _, r := range unitNameRecords {
		if r.Licence == q || scraper.MainLicenceOf(r.Licence) == q {
			r.MainLicence = scraper.MainLicenceOf(r.Licence)
			out = append(out, r)
		}
	}
	return out
}

// resultPage serves a query.html page: a stated total, a row per record with
// the unit name in its own cell, or the no-record marker.
func resultPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	records := matching(r.URL.Query().Get("q"))
	var b strings.Builder
	fmt.Fprintf(&b, `<html><body><div class="result"><span class="total">共 %d 条</span><table><tbody>`, len(records))
	for _, rec := range records {
		fmt.Fprintf(&b, `<tr><td>%s</td><td>%s</td><td><a href="#"> %s </a></td></tr>`,
			html.EscapeString(rec.Licence), html.EscapeString(rec.Domain), html.EscapeString(rec.UnitName))
	}
	b.WriteString(`</tbody></table>`)
	if len(records) == 0 {
		b.WriteString(`<div class="none">未找到备案信息</div>`)
	}
	b.WriteString(`</div></body></html>`)
	fmt.Fprint(w, b.String())
}

// ymicpRelay serves query.ymicp: MIIT's answer format, relayed.
func ymicpRelay(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pageNum, _ := strconv.Atoi(q.Get("pageNum"))
	pageSize, _ := strconv.Atoi(q.Get("pageSize"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(miittest.QueryAnswer(matching(q.Get("search")), pageNum, pageSize))
}

// Each provider, built from its configuration as the daemon builds it,
// reports the unit name of every record, and a verdict carries the unit
// name of exactly the filing it is about: a sibling filed under the same
// subject never lends its own to a filing that is gone.
func TestUnitNameFromEachProvider(t *testing.T) {
	sim := miittest.New(miittest.Options{})
	t.Cleanup(sim.Close)
	for _, r := range unitNameRecords {
		sim.AddRecord(r)
	}
	page := httptest.NewServer(http.HandlerFunc(resultPage))
	t.Cleanup(page.Close)
	relay := httptest.NewServer(http.HandlerFunc(ymicpRelay))
	t.Cleanup(relay.Close)

	q := config.Query{
		Providers: []string{"miit", "html", "ymicp"},
		Timeout:   20 * time.Second,
		MIIT:      config.MIIT{BaseURL: sim.URL},
		YMICP:     config.YMICP{URL: relay.URL},
		HTML: htmlpage.Options{
			URL: page.URL + "/search?q={query}", RowSelector: "tbody tr",
			Fields:           map[string]string{"licence": "td:nth-child(1)", "domain": "td:nth-child(2)", "unit_name": "td:nth-child(3) a"},
			NoRecordSelector: "div.none", NoRecordText: "未找到备案信息", ResultSelector: "div.result",
			TotalSelector: "span.total", NextSelector: "a.next",
		},
	}
	providers, err := NewProviders(q, nil, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	asked, err := evidence.SubjectKey("京ICP备12345678号")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		licence string
		result  evidence.Result
		unit    string
	}{
		{"京ICP备12345678号-1", evidence.Present, "甲科技有限公司"},
		{"京ICP备12345678号-2", evidence.Present, "乙科技有限公司"},
		{"京ICP备12345678号-3", evidence.Absent, ""},
	}
	var wants []evidence.Key
	for _, w := range want {
		k, err := evidence.LicenceKey(w.licence)
		if err != nil {
			t.Fatal(err)
		}
		wants = append(wants, k)
	}
	for i, name := range q.Providers {
		t.Run(name, func(t *testing.T) {
			p := providers[i]
			ans, err := p.Lookup(context.Background(), asked.String())
			if err != nil {
				t.Fatal(err)
			}
			units := map[string]string{}
			for _, r := range ans.Records {
				units[r.Licence] = r.UnitName
			}
			if len(units) != 2 || units[want[0].licence] != want[0].unit || units[want[1].licence] != want[1].unit {
				t.Errorf("%s reported the unit names %v", name, units)
			}

			var got *Outcome
			s := chain(t, p).Session(1)
			s.Ask(context.Background(), Question{Asked: asked, Wants: wants, Done: func(o Outcome) { got = &o }})
			s.Finish(context.Background())
			if got == nil {
				t.Fatal("no outcome")
			}
			for j, w := range want {
				if v := got.Verdicts[j]; v.Result != w.result || v.UnitName != w.unit {
					t.Errorf("%s: %s with unit %q (%s); want %s with %q", w.licence, v.Result, v.UnitName, v.Why, w.result, w.unit)
				}
			}
		})
	}
}
