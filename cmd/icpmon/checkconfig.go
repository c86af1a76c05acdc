package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
)

func (c *cli) registerCheckConfig(app *kingpin.Application) {
	cmd := app.Command("check-config", "Validate the configuration file, its holiday files and its Redis settings; print every problem.")
	c.command(cmd, func(context.Context) error { return c.checkConfig() })
}

// checkConfig lists every problem it finds and exits 1, or says the
// configuration is good. It does not connect to Redis: a configuration can be
// checked where its Redis is not reachable.
func (c *cli) checkConfig() error {
	name := c.configFile
	if name == "" {
		name = "(defaults)"
	}
	var problems []string
	// The configuration comes back as far as it could be read even when it
	// has problems, so that the files it names are checked as well.
	cfg, err := config.LoadAll(c.configFile, c.redisURL)
	if err != nil {
		// config.Load puts every problem on its own line after one prefix.
		text := strings.TrimPrefix(err.Error(), "config "+c.configFile+": ")
		problems = strings.Split(text, "\n")
	}
	// A section already reported would only be reported again by loading it.
	reported := func(section string) bool {
		return slices.ContainsFunc(problems, func(p string) bool {
			p = strings.TrimPrefix(p, "--redis-url (or ICPMON_REDIS_URL): ")
			return strings.HasPrefix(p, section+".") || strings.HasPrefix(p, section+":")
		})
	}
	var cal *calendar.Calendar
	if cfg != nil && !reported("calendar") {
		if cal, err = c.calendar(cfg); err != nil {
			problems = append(problems, "calendar.extra_files: "+err.Error())
		}
	}
	if cfg != nil {
		r := cfg.Redis
		if reported("redis") {
			// Its topology is reported; the files it names are still read.
			r.URL, r.Addrs, r.MasterName, r.Cluster = "", nil, "", false
		}
		if _, err := r.ClientOptions(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
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
