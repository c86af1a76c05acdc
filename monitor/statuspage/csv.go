package statuspage

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/status"
)

// csvHeader names the columns of /cancellations.csv. They are an interface
// for the spreadsheets of compliance reports: keep them, add at the end.
// Values are the English names (pending, subject, present) in every
// language; times are China time.
var csvHeader = []string{
	"id", "kind", "licence", "province", "status", "domains", "domains_unicode", "submitted",
	"review_limit_business_days", "business_days_elapsed", "review_deadline", "overdue", "provisional_years",
	"approved_at", "approved_by", "cleared_at", "record", "record_checked_at", "record_unknown_reason", "latest_probes",
	"unit_name",
}

// csvTime is the layout of the CSV's times: China time, which spreadsheets
// read as a date and time.
const csvTime = "2006-01-02 15:04:05"

// utf8BOM makes Excel read the file as UTF-8 (the licences are Chinese);
// other readers skip it or see it at the start of the first header.
const utf8BOM = "\uFEFF"

// CSV serves /cancellations.csv: every row the filters of / select (not
// only the ones the page shows), most urgent first, as an attachment.
func (p *Pages) CSV(w http.ResponseWriter, r *http.Request) {
	f, ferr := parseFilter(r.URL.Query())
	if ferr != nil {
		http.Error(w, ferr.Error(), http.StatusBadRequest)
		return
	}
	s := p.src.Snapshot()
	if s == nil {
		http.Error(w, "No snapshot yet: the store has not been read successfully.", http.StatusServiceUnavailable)
		return
	}
	rows := selectRows(s.Tracked, f)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	name := "icpmon-cancellations-" + calendar.DateOf(p.now()).String() + ".csv"
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	buf := bufio.NewWriter(w)
	_, _ = buf.WriteString(utf8BOM)
	out := csv.NewWriter(buf)
	_ = out.Write(csvHeader)
	for _, t := range rows {
		_ = out.Write(csvRecord(t))
	}
	out.Flush()
	if err := out.Error(); err != nil {
		p.log.Warn("write the CSV", "err", err)
		return
	}
	if err := buf.Flush(); err != nil {
		p.log.Warn("write the CSV", "err", err)
	}
}

func csvRecord(t *status.Standing) []string {
	var unicodes, probes []string
	for _, d := range t.Domains {
		if uni := unicodeName(d); uni != "" {
			unicodes = append(unicodes, uni)
		} else {
			unicodes = append(unicodes, d)
		}
	}
	for _, s := range t.Sites {
		probes = append(probes, fmt.Sprintf("%s://%s %s %s", s.Scheme, s.Domain, s.Result, csvAt(s.At)))
	}
	var limit, elapsed, deadline, overdue, provisional string
	if rv := t.Review; rv != nil {
		limit, elapsed = strconv.Itoa(rv.Limit), strconv.Itoa(rv.Elapsed)
		deadline, overdue = calendar.DateEndingAt(rv.Deadline).String(), strconv.FormatBool(rv.Overdue)
		years := make([]string, len(rv.Provisional))
		for i, y := range rv.Provisional {
			years[i] = strconv.Itoa(y)
		}
		provisional = strings.Join(years, " ")
	}
	rec := t.Record
	return []string{
		t.ID, string(t.Kind), t.Licence, t.Province, string(t.Status),
		strings.Join(t.Domains, " "), strings.Join(unicodes, " "), t.Submitted.String(),
		limit, elapsed, deadline, overdue, provisional,
		csvAt(t.ApprovedAt), t.ApprovedBy, csvAt(t.ClearedAt),
		rec.State(), csvAt(rec.CheckedAt), rec.UnknownReason, strings.Join(probes, "; "),
		rec.UnitName,
	}
}

func csvAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.China).Format(csvTime)
}
