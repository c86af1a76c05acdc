package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/assemble"
	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
)

func (c *cli) registerCheckConfig(app *kingpin.Application) {
	cmd := app.Command("check-config", "Validate the configuration file, its holiday files and its Redis settings; print every problem.")
	c.command(cmd, func(context.Context) error { return c.checkConfig() })
}

// checkConfig lists every problem it finds and exits 1, or says the
// configuration is good, after warnings that do not stop serve. It does not
// connect to Redis: a configuration can be checked where its Redis is not
// reachable.
func (c *cli) checkConfig() error {
	name := c.configFile
	if name == "" {
		name = "(defaults)"
	}
	// The configuration comes back as far as it could be read even when it
	// has problems, so that the files it names are checked as well.
	cfg, err := config.Load(c.configFile, c.redisURL)
	problems := config.ProblemsOf(err)
	var cal *calendar.Calendar
	if cfg != nil {
		// What serve builds before it starts, with the same function; the
		// schedules and the listen address were checked by config.Validate
		// with the daemon's parser.
		parts, built := assemble.Build(cfg, assemble.Options{Logger: c.logger, Reported: problems})
		cal, problems = parts.Calendar, append(problems, built...)
	}
	if len(problems) == 0 {
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(c.stderr, "icpmon: warning: %s\n", w)
		}
		// Where each year's holidays come from, so that a new year's file or
		// lunar-go upgrade can be seen to take effect before a reload.
		lines := []string{"config OK: " + name}
		if cal != nil {
			lines = append(lines, calendarSummary(cal)...)
		}
		_, err := fmt.Fprintln(c.stdout, strings.Join(lines, "\n"))
		return err
	}
	noun := "problems"
	if len(problems) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(c.stderr, "icpmon: config %s has %d %s:\n", name, len(problems), noun)
	for _, p := range problems {
		fmt.Fprintf(c.stderr, "  %s\n", p)
	}
	return exitError(1)
}
