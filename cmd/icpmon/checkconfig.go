package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lookup"
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
	cfg, err := config.LoadAll(c.configFile, c.redisURL)
	problems := config.ProblemsOf(err)
	var cal *calendar.Calendar
	if cfg != nil {
		var built config.Problems
		cal, built = c.buildAsServe(cfg, problems)
		problems = append(problems, built...)
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

// buildAsServe builds from cfg, with the same functions, what serve builds
// before it starts (monitor/daemon: generation.go build, jobs.go): the
// calendar, the Redis options with password_file and CA file, the reach
// job's CA pool and the query providers. Schedules and the listen address
// were checked by config.Validate, with the daemon's parser. A key already
// reported is not built again, so that one mistake is reported once.
func (c *cli) buildAsServe(cfg *config.Config, reported config.Problems) (*calendar.Calendar, config.Problems) {
	about := func(key string) bool {
		for _, p := range reported {
			if p.About(key) {
				return true
			}
		}
		return false
	}
	var out config.Problems
	var cal *calendar.Calendar
	if !about("calendar") {
		var err error
		if cal, err = c.calendar(cfg); err != nil {
			out = append(out, config.Problem{Key: "calendar.extra_files", Message: err.Error()})
		}
	}
	r := cfg.Redis
	if about("redis") {
		// Its topology is reported; the files it names are still read.
		r.URL, r.Addrs, r.MasterName, r.Cluster = "", nil, "", false
	}
	if _, err := r.ClientOptions(); err != nil {
		out = append(out, config.ProblemsOf(err)...)
	}
	if !about("reach.ca_file") {
		if _, err := cfg.Reach.RootCAs(); err != nil {
			out = append(out, config.ProblemsOf(err)...)
		}
	}
	if !about("query") {
		providers, err := lookup.NewProviders(cfg.Query, c.logger, lookup.Hooks{})
		if err == nil {
			_, err = lookup.NewChain(providers, cfg.Query.Canary, nil, c.logger)
		}
		if err != nil {
			out = append(out, config.Problem{Message: err.Error()}) // it names its key: query.miit: …
		}
	}
	return cal, out
}
