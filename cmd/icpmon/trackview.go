package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/track"
)

// writeJSON writes v as every -o json of the CLI prints it.
func writeJSON(w io.Writer, v any) error { return track.WriteJSON(w, v) }

const minuteLayout = "2006-01-02 15:04"

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeListTable prints one aligned row per cancellation. DEADLINE is the
// last business day of the review (it ends at 24:00 China time); a * marks
// a provisional one.
func writeListTable(w io.Writer, views []track.View) error {
	var t table
	t.row("ID", "KIND", "LICENCE", "PROVINCE", "SUBMITTED", "STATUS", "BUSINESS DAYS", "DEADLINE", "RECORD", "APPROVED", "DOMAINS")
	for _, v := range views {
		days, deadline := "-", "-"
		if v.ReviewDeadline != nil {
			days = fmt.Sprintf("%d/%d", *v.BusinessDaysElapsed, *v.ReviewLimit)
			deadline = calendar.DateEndingAt(*v.ReviewDeadline).String()
			if len(v.ProvisionalYears) > 0 {
				deadline += "*"
			}
			if *v.Overdue {
				deadline += " overdue"
			}
		}
		approved := "-"
		if v.Approved != nil {
			approved = v.Approved.String()
		}
		t.row(v.ID, string(v.Kind), v.Licence, v.Province, v.Submitted.String(),
			string(v.Status), days, deadline, v.Record, approved, orDash(strings.Join(v.Domains, ",")))
	}
	return t.write(w)
}

func writeDetailTable(w io.Writer, d track.Detail) error {
	var fields table
	field := func(name, value string) { fields.row(name+":", value) }
	field("ID", d.ID)
	field("Kind", string(d.Kind))
	licence := d.Licence
	if d.LicenceRaw != "" && d.LicenceRaw != d.Licence {
		licence += fmt.Sprintf(" (given as %q)", d.LicenceRaw)
	}
	field("Licence", licence)
	field("Province", d.Province)
	field("Domains", orDash(strings.Join(d.Domains, ", ")))
	field("Submitted", d.Submitted.String())
	field("Status", string(d.Status))
	if d.ReviewDeadline != nil {
		review := fmt.Sprintf("%d of %d business days; deadline end of %s", *d.BusinessDaysElapsed, *d.ReviewLimit, calendar.DateEndingAt(*d.ReviewDeadline))
		if *d.Overdue {
			review += ", overdue"
		}
		if len(d.ProvisionalYears) > 0 {
			review += " (provisional)"
		}
		field("Review", review)
	}
	if d.ApprovedAt != nil {
		field("Approved", fmt.Sprintf("%s by %s", d.ApprovedAt.Format(minuteLayout), orDash(d.ApprovedBy)))
	}
	rec := d.Checks.Record
	record := d.Record
	switch {
	case !rec.CheckedAt.IsZero():
		record += " (checked " + rec.CheckedAt.In(calendar.China).Format(minuteLayout)
		if rec.Provider != "" {
			record += " through " + rec.Provider
		}
		record += ")"
		if len(rec.Licences) > 0 {
			record += ": " + strings.Join(rec.Licences, ", ")
		}
	default:
		record += " (no definite lookup yet)"
	}
	field("Record", record)
	if !rec.UnknownAt.IsZero() {
		field("Last unknown", fmt.Sprintf("%s: %s", rec.UnknownAt.In(calendar.China).Format(minuteLayout), rec.UnknownReason))
	}
	if rec.AbsentSweeps > 0 {
		field("Absent sweeps", strconv.Itoa(rec.AbsentSweeps))
	}
	if d.Note != "" {
		field("Note", d.Note)
	}
	field("Created", d.CreatedAt.Format(minuteLayout))
	field("Updated", fmt.Sprintf("%s (version %d)", d.UpdatedAt.Format(minuteLayout), d.Version))
	if err := fields.write(w); err != nil {
		return err
	}

	if len(d.Checks.Probes) > 0 {
		fmt.Fprintln(w, "\nProbes:")
		var probes table
		probes.row("DOMAIN", "SCHEME", "RESULT", "STATUS", "AT", "DETAIL")
		for _, p := range d.Checks.Probes {
			code := "-"
			if p.StatusCode != 0 {
				code = strconv.Itoa(p.StatusCode)
			}
			detail := p.Detail
			if p.Location != "" {
				detail = strings.TrimSpace("-> " + p.Location + " " + detail)
			}
			probes.row(p.Domain, p.Scheme, string(p.Result), code, p.At.In(calendar.China).Format(minuteLayout), orDash(detail))
		}
		if err := probes.write(w); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nHistory:")
	var history table
	history.row("AT", "ACTOR", "ACTION", "CHANGE", "DETAIL")
	for _, e := range d.History {
		change := "-"
		if e.From != "" || e.To != "" {
			change = fmt.Sprintf("%s -> %s", orDash(string(e.From)), orDash(string(e.To)))
		}
		history.row(e.At.Format(minuteLayout), e.Actor, e.Action, change, orDash(e.Detail))
	}
	return history.write(w)
}

// table aligns columns by their width on a terminal. text/tabwriter counts
// runes, and the Chinese characters of licences take two columns each.
type table struct{ rows [][]string }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth counts wide and full-width characters as two columns and
// combining marks as none.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
