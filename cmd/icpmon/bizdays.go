package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/calendar"
)

// maxBizdaysN bounds N on the command line: about 400 years of business
// days, far past any review limit, and quick to answer.
const maxBizdaysN = 100000

func (c *cli) registerBizdays(app *kingpin.Application) {
	cmd := app.Command("bizdays", "Count mainland China business days (工作日) on the official holiday schedule.")

	add := cmd.Command("add", "Print the N-th business day after DATE, or before it when N is negative (DATE itself never counts).")
	addDate := add.Arg("date", "Start date, YYYY-MM-DD (China).").Required().String()
	addN := add.Arg("n", "Number of business days; negative counts backwards.").Required().String()
	c.command(add, func(context.Context) error { return c.bizdaysAdd(*addDate, *addN) })

	count := cmd.Command("count", "Print the number of business days d with FROM < d <= TO.")
	countFrom := count.Arg("from", "YYYY-MM-DD (China), not counted.").Required().String()
	countTo := count.Arg("to", "YYYY-MM-DD (China), counted.").Required().String()
	c.command(count, func(context.Context) error { return c.bizdaysCount(*countFrom, *countTo) })

	years := cmd.Command("years", "List the years of the calendar: where each year's holiday schedule comes from and whether it is official.")
	yearsOut := outputFlag(years)
	c.command(years, func(context.Context) error { return c.bizdaysYears(*yearsOut) })
}

func (c *cli) bizdaysAdd(dateArg, nArg string) error {
	d, err := calendar.ParseDate(dateArg)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < -maxBizdaysN || n > maxBizdaysN {
		return fmt.Errorf("invalid number of business days %q: want a whole number from %d to %d", nArg, -maxBizdaysN, maxBizdaysN)
	}
	_, cal, err := c.configAndCalendar()
	if err != nil {
		return err
	}
	r, err := cal.NthBusinessDay(d, n)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(c.stdout, r); err != nil {
		return err
	}
	if n < 0 {
		c.warnProvisional(cal.Provisional(r, d-1))
	} else {
		c.warnProvisional(cal.Provisional(d+1, r))
	}
	return nil
}

func (c *cli) bizdaysCount(fromArg, toArg string) error {
	from, err := calendar.ParseDate(fromArg)
	if err != nil {
		return err
	}
	to, err := calendar.ParseDate(toArg)
	if err != nil {
		return err
	}
	if from > to {
		return fmt.Errorf("FROM %s must not be after TO %s", from, to)
	}
	_, cal, err := c.configAndCalendar()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(c.stdout, cal.CountBusinessDays(from, to)); err != nil {
		return err
	}
	c.warnProvisional(cal.Provisional(from+1, to))
	return nil
}

func (c *cli) bizdaysYears(output string) error {
	_, cal, err := c.configAndCalendar()
	if err != nil {
		return err
	}
	years := cal.Years()
	if output == "json" {
		if years == nil {
			years = []calendar.YearSource{}
		}
		return writeJSON(c.stdout, years)
	}
	var t table
	t.row("YEAR", "OFFICIAL", "SOURCE")
	if len(years) > 0 {
		t.row(fmt.Sprintf("..%d", years[0].Year-1), "no", calendar.YearSource{Source: calendar.SourceStatutory}.String())
	}
	for i, y := range years {
		year := strconv.Itoa(y.Year)
		if i == len(years)-1 {
			year += ".." // every later year is provisional too
		}
		t.row(year, yesNo(y.Official), y.String())
	}
	return t.write(c.stdout)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// calendarSummary says in a few lines where the calendar's years come from,
// for check-config.
func calendarSummary(cal *calendar.Calendar) []string {
	lines := []string{fmt.Sprintf("calendar: official holiday schedules until %s", cal.CoveredUntil())}
	var t table
	for _, r := range cal.Runs() {
		years := strconv.Itoa(r.First)
		if r.Last != r.First {
			years += "-" + strconv.Itoa(r.Last)
		}
		t.row("  "+years, r.Source.String())
	}
	t.row("  other years", calendar.YearSource{Source: calendar.SourceStatutory}.String())
	var b strings.Builder
	_ = t.write(&b) // a strings.Builder does not fail
	return append(lines, strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")...)
}

// warnProvisional names, in one line, the years an answer relied on without
// their official schedule.
func (c *cli) warnProvisional(years []int) {
	if len(years) == 0 {
		return
	}
	verb := "have"
	if len(years) == 1 {
		verb = "has"
	}
	fmt.Fprintf(c.stderr, "icpmon: warning: %s %s no official holiday schedule loaded; the answer is provisional (makeup workdays unknown)\n",
		yearRuns(years), verb)
}

// yearRuns writes ascending years compactly: 2000-2018, 2027.
func yearRuns(years []int) string {
	var parts []string
	for i := 0; i < len(years); {
		j := i
		for j+1 < len(years) && years[j+1] == years[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(years[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", years[i], years[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
