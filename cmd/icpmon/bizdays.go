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

	add := cmd.Command("add", "Print the N-th business day after DATE (DATE itself never counts).")
	addDate := add.Arg("date", "Start date, YYYY-MM-DD (China).").Required().String()
	addN := add.Arg("n", "Number of business days, 0 or more.").Required().String()
	c.command(add, func(context.Context) error { return c.bizdaysAdd(*addDate, *addN) })

	count := cmd.Command("count", "Print the number of business days d with FROM < d <= TO.")
	countFrom := count.Arg("from", "YYYY-MM-DD (China), not counted.").Required().String()
	countTo := count.Arg("to", "YYYY-MM-DD (China), counted.").Required().String()
	c.command(count, func(context.Context) error { return c.bizdaysCount(*countFrom, *countTo) })
}

func (c *cli) bizdaysAdd(dateArg, nArg string) error {
	d, err := calendar.ParseDate(dateArg)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 0 || n > maxBizdaysN {
		return fmt.Errorf("invalid number of business days %q: want a whole number from 0 to %d", nArg, maxBizdaysN)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	cal, err := c.calendar(cfg)
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
	c.warnProvisional(cal.Provisional(d+1, r))
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
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	cal, err := c.calendar(cfg)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(c.stdout, cal.CountBusinessDays(from, to)); err != nil {
		return err
	}
	c.warnProvisional(cal.Provisional(from+1, to))
	return nil
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
