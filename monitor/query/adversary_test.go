package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/htmlpage"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
	"github.com/icpmon/icpmon/scraper/ymicp"
)

// ymicpService is an HG-ha/ICP_Query-compatible service that icpmon did not
// write: answer decides the records for a search, and it relays them in the
// MIIT format, in one page.
func ymicpService(t *testing.T, answer func(search string) []scraper.Record) scraper.Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		type item struct {
			Domain         string `json:"domain"`
			MainLicence    string `json:"mainLicence"`
			ServiceLicence string `json:"serviceLicence"`
			UnitName       string `json:"unitName"`
		}
		list := []item{}
		for _, rec := range answer(r.URL.Query().Get("search")) {
			list = append(list, item{rec.Domain, rec.MainLicence, rec.Licence, rec.UnitName})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 200, "success": true, "msg": "操作成功",
			"params": map[string]any{"list": list, "total": len(list), "pageNum": 1}})
	}))
	t.Cleanup(srv.Close)
	p, err := ymicp.New(ymicp.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// filings is a public record the test controls, served by ymicpService.
type filings struct {
	mu      sync.Mutex
	records []scraper.Record
}

func (f *filings) add(licence, domain string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, scraper.Record{Licence: licence, MainLicence: scraper.MainLicenceOf(licence), Domain: domain})
}

func (f *filings) remove(licence string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = slices.DeleteFunc(f.records, func(r scraper.Record) bool { return r.Licence == licence })
}

// search answers like MIIT: a subject number gives every site under it.
func (f *filings) search(q string) []scraper.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []scraper.Record
	for _, r := range f.records {
		if r.Licence == q || r.MainLicence == q || r.Domain == q {
			out = append(out, r)
		}
	}
	return out
}

// bannedAfter answers like a silently banned client once it has made n
// lookups since the last lift: success, no record, for everything.
type bannedAfter struct {
	scraper.Provider
	n int

	mu    sync.Mutex
	count int
}

func (b *bannedAfter) lift() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count = 0
}

func (b *bannedAfter) Lookup(ctx context.Context, q string) (scraper.Answer, error) {
	b.mu.Lock()
	b.count++
	banned := b.count > b.n
	b.mu.Unlock()
	if banned {
		return scraper.Answer{NoRecord: true, Complete: true}, nil
	}
	return b.Provider.Lookup(ctx, q)
}

func (w *world) actions(id string) string {
	w.t.Helper()
	h, err := w.store.History(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var actions []string
	for _, e := range h {
		actions = append(actions, e.Action)
	}
	return strings.Join(actions, " ")
}

// unmoved fails unless every id is still pending with no absence counted.
func (w *world) unmoved(ids ...string) {
	w.t.Helper()
	for _, id := range ids {
		c := w.get(id)
		if c.Status != cancellation.Pending || c.Record.AbsentSweeps != 0 || c.Record.State() == "absent" ||
			strings.Contains(w.actions(id), "approve") {
			w.t.Errorf("%s (%s): status %s, %d absences, record %s, history %s", id, c.Licence, c.Status,
				c.Record.AbsentSweeps, c.Record.State(), w.actions(id))
		}
	}
}

// A service that answers every search with one record about another
// subject proves nothing: not the canary, not an absence.
func TestRecordsAboutAnotherSubjectProveNothing(t *testing.T) {
	other := []scraper.Record{{Licence: "沪ICP备87654321号-1", MainLicence: "沪ICP备87654321号", Domain: "other.cn"}}
	for name, answer := range map[string]func(string) []scraper.Record{
		"everything": func(string) []scraper.Record { return other },
		"all but the canary": func(q string) []scraper.Record {
			if q == canary {
				return []scraper.Record{{Licence: canary + "-9", MainLicence: canary, Domain: "mi.cn"}}
			}
			return other
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.use(100, ymicpService(t, answer))
			site := w.track(cancellation.KindWebsite, "京ICP备12345678号-1")
			subject := w.track(cancellation.KindSubject, "浙ICP备2023000001号")
			for range 4 {
				w.run()
			}
			w.unmoved(site, subject)
			if w.rec.lookups["unmatched_records"] == 0 {
				t.Errorf("lookups %v: none counted unmatched_records", w.rec.lookups)
			}
		})
	}
}

// A silent ban that starts a few lookups into a sweep, and lifts before the
// next, must not turn into absences, approvals or clearings, wherever in the
// sweep it starts.
func TestSilentBanStartingMidSweep(t *testing.T) {
	for n := 1; n <= 6; n++ {
		w := newWorld(t)
		var ids []string
		for _, l := range []string{"京ICP备12345678号-1", "沪ICP备2024000001号-1", "粤ICP备2025000003号-2", "苏ICP备2025000002号-1", "浙ICP备23456789号-1"} {
			w.file(l, "")
			ids = append(ids, w.track(cancellation.KindWebsite, l))
		}
		banned := &bannedAfter{Provider: mustMIIT(t, w.sim), n: n}
		w.use(100, banned)
		for range 4 {
			banned.lift()
			w.run()
		}
		w.unmoved(ids...)
		if n < 6 && w.rec.lookups[string(scraper.SilentBanSuspected)] == 0 {
			t.Errorf("ban after %d lookups: lookups %v, none counted silent_ban_suspected", n, w.rec.lookups)
		}
		for _, id := range ids {
			if c := w.get(id); c.Record.State() == "unknown" && c.Record.UnknownReason == "" {
				t.Errorf("ban after %d: %s unknown without a reason", n, id)
			}
		}
	}
}

// The simulator's rate-triggered silent ban, past a few queries in a window,
// starting anywhere in a sweep and lifted before the next one: no absence,
// approval or clearing comes of it, while filings that really went away are
// still seen absent in sweeps the ban leaves alone.
func TestSimulatedRateTriggeredBan(t *testing.T) {
	// A sweep: the canary, six lookups (four filed, two gone), the canary
	// that vouches for the two absences: eight queries.
	for after := 1; after <= 7; after++ {
		w := newWorldWith(t, miittest.Options{Seed: uint64(after), SilentBanAfter: after, SilentBanWindow: time.Hour, SilentBanFor: time.Hour})
		var filed []string
		for _, l := range []string{"京ICP备12345678号-1", "沪ICP备2024000001号-1", "粤ICP备2025000003号-2", "苏ICP备2025000002号-1"} {
			w.file(l, "")
			filed = append(filed, w.track(cancellation.KindWebsite, l))
		}
		w.track(cancellation.KindWebsite, "浙ICP备23456789号-1")
		w.track(cancellation.KindWebsite, "闽ICP备2026000001号-3")
		for range 4 {
			w.sim.LiftSilentBan()
			w.run()
		}
		w.unmoved(filed...)
		if w.sim.SilentBan().Spoiled == 0 {
			t.Errorf("ban after %d queries never spoiled an answer: the test proves nothing", after)
		}
	}
}

// The simulator's own rate-triggered ban, which begins mid-run and lasts
// across sweeps, moves nothing either.
func TestSimulatedRateBan(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for _, l := range []string{"京ICP备12345678号-1", "沪ICP备2024000001号-1", "粤ICP备2025000003号-2"} {
		w.file(l, "")
		ids = append(ids, w.track(cancellation.KindWebsite, l))
	}
	w.sim.Inject(miittest.Fault{Kind: miittest.FaultSilentEmpty, Count: 1000})
	for range 4 {
		w.run()
	}
	w.unmoved(ids...)
}

// When the first provider proves nothing for a reason about itself, the next
// one answers, under its own canary, and says so in the record and history.
func TestFallbackToTheNextProvider(t *testing.T) {
	w := newWorld(t)
	f := &filings{}
	f.add(canary+"-9", "mi.cn")
	f.add("京ICP备12345678号-1", "a.example.com")
	w.file("京ICP备12345678号-1", "a.example.com")
	id := w.track(cancellation.KindWebsite, "京ICP备12345678号-1")
	w.sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused, Count: 100000})
	w.use(100, mustMIIT(t, w.sim), ymicpService(t, f.search))

	w.run()
	if c := w.get(id); c.Record.State() != "present" || c.Record.Provider != "ymicp" {
		t.Fatalf("present through the fallback: %s from %q", c.Record.State(), c.Record.Provider)
	}
	f.remove("京ICP备12345678号-1")
	w.run()
	w.run()
	c := w.get(id)
	if c.Status != cancellation.Approved || c.Record.Provider != "ymicp" {
		t.Fatalf("after two absences from the fallback: %s from %q", c.Status, c.Record.Provider)
	}
	h, err := w.store.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if last := h[len(h)-1]; !strings.Contains(last.Detail, "(ymicp)") || !strings.Contains(last.Detail, "canary") {
		t.Errorf("approval does not name its provider and canary: %q", last.Detail)
	}
	if w.rec.lookups["captcha_failed"] == 0 {
		t.Errorf("lookups %v: miit's failures not counted", w.rec.lookups)
	}
}

// Absences from a provider that turns out banned are asked again of the next
// provider, whose canary vouches for them.
func TestBannedProviderHandsItsAbsencesOn(t *testing.T) {
	w := newWorld(t)
	f := &filings{}
	f.add(canary+"-9", "mi.cn")
	w.file("京ICP备12345678号-1", "a.example.com")
	f.add("京ICP备12345678号-1", "a.example.com")
	gone := w.track(cancellation.KindWebsite, "沪ICP备2024000001号-1") // filed nowhere
	kept := w.track(cancellation.KindWebsite, "京ICP备12345678号-1")
	banned := &bannedAfter{Provider: mustMIIT(t, w.sim), n: 1} // only the first canary passes
	w.use(100, banned, ymicpService(t, f.search))
	banned.lift()
	w.run()
	if c := w.get(gone); c.Record.State() != "absent" || c.Record.Provider != "ymicp" || c.Record.AbsentSweeps != 1 {
		t.Errorf("absence not handed on: %s from %q, %d sweeps", c.Record.State(), c.Record.Provider, c.Record.AbsentSweeps)
	}
	if c := w.get(kept); c.Record.State() != "present" || c.Record.Provider != "ymicp" {
		t.Errorf("banned provider's empty answer stood: %s from %q", c.Record.State(), c.Record.Provider)
	}
}

// A fuzzy result page with a pager, showing only a subject's first page,
// must not make a site on a later page absent; told how to prove its list
// complete (a stated total and the next link), the same page does.
func TestPagedResultsProveAbsenceOnlyWhenComplete(t *testing.T) {
	const sites = 30
	gone := 0 // the site number removed from the record; 0: none
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		q := r.URL.Query().Get("q")
		var rows []string
		if q == canary {
			rows = append(rows, canary+"-9")
		} else {
			for i := 1; i <= sites; i++ {
				if i != gone {
					rows = append(rows, "京ICP备12345678号-"+strconv.Itoa(i))
				}
			}
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		var b strings.Builder
		fmt.Fprintf(&b, `<html><body><div class="result"><span class="total">共 %d 条</span><table><tbody>`, len(rows))
		for _, l := range rows[min((page-1)*10, len(rows)):min(page*10, len(rows))] {
			fmt.Fprintf(&b, "<tr><td>%s</td></tr>", l)
		}
		b.WriteString("</tbody></table>")
		if page*10 < len(rows) {
			fmt.Fprintf(&b, `<a class="next" href="?q=%s&page=%d">下一页</a>`, url.QueryEscape(q), page+1)
		}
		b.WriteString("</div></body></html>")
		fmt.Fprint(w, b.String())
	}))
	t.Cleanup(srv.Close)
	html := func(total, next string) scraper.Provider {
		p, err := htmlpage.New(htmlpage.Options{URL: srv.URL + "/search?q={query}", ResultSelector: "div.result",
			RowSelector: "tbody tr", Fields: map[string]string{htmlpage.FieldLicence: "td"},
			NoRecordSelector: "div.none", TotalSelector: total, NextSelector: next})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	w := newWorld(t)
	w.use(100, html("", ""))
	late := w.track(cancellation.KindWebsite, "京ICP备12345678号-25")
	for range 4 {
		w.run()
	}
	if c := w.get(late); c.Status != cancellation.Pending || c.Record.State() != "unknown" || c.Record.UnknownReason != "incomplete_results" {
		t.Fatalf("site on page 3, pager not followed: %s, record %s (%s)", c.Status, c.Record.State(), c.Record.UnknownReason)
	}

	w.use(100, html("span.total", "a.next"))
	w.run()
	if c := w.get(late); c.Record.State() != "present" {
		t.Fatalf("site on page 3, every page read: record %s (%s)", c.Record.State(), c.Record.UnknownReason)
	}
	mu.Lock()
	gone = 25
	mu.Unlock()
	w.run()
	w.run()
	if c := w.get(late); c.Status != cancellation.Approved {
		t.Fatalf("site gone from a complete list: %s, record %s (%s)", c.Status, c.Record.State(), c.Record.UnknownReason)
	}
}
