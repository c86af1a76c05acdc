package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/sweep"
	"github.com/icpmon/icpmon/scraper"
)

// The exit codes of `icpmon query` are its answer, for scripts.
const (
	exitPresent = 0
	exitAbsent  = 1
	exitUnknown = 2
)

func (c *cli) registerQuery(app *kingpin.Application) {
	cmd := app.Command("query", "Look a licence or a domain up once with the configured provider (exit 0 present, 1 absent, 2 unknown).")
	target := cmd.Arg("LICENCE_OR_DOMAIN", "A filing number (京ICP备12345678号, …-3) or a bare domain.").Required().String()
	output := cmd.Flag("output", "Output format.").Short('o').Default("table").Enum("table", "json")
	c.command(cmd, func(ctx context.Context) error { return c.query(ctx, *target, *output) })
}

// queryResult is the JSON shape of `icpmon query -o json`.
type queryResult struct {
	Query    string           `json:"query"`
	Provider string           `json:"provider"`
	Result   string           `json:"result"` // present, absent or unknown
	Reason   string           `json:"reason,omitempty"`
	Error    string           `json:"error,omitempty"`
	Records  []scraper.Record `json:"records"`
}

func (c *cli) query(ctx context.Context, target, output string) error {
	q, err := lookupQuery(target)
	if err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	p, err := sweep.NewProvider(cfg.Query, c.logger)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Query.Timeout)
	defer cancel()
	ans, lerr := p.Lookup(ctx, q)
	r := queryResult{Query: q, Provider: p.Name(), Records: ans.Records, Result: "absent"}
	code := exitAbsent
	switch {
	case lerr != nil:
		r.Result, r.Reason, r.Error, r.Records = "unknown", string(scraper.ReasonOf(lerr)), lerr.Error(), nil
		code = exitUnknown
	case ans.Present():
		r.Result, code = "present", exitPresent
	}
	if r.Records == nil {
		r.Records = []scraper.Record{}
	}
	if output == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
		return exitError(code)
	}
	switch r.Result {
	case "unknown":
		fmt.Fprintf(c.stdout, "unknown: %s lookup of %s proved nothing (%s): %s\n", r.Provider, q, r.Reason, r.Error)
	case "absent":
		fmt.Fprintf(c.stdout, "no record: %s returned no filing for %s\n", r.Provider, q)
	default:
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LICENCE\tMAIN LICENCE\tDOMAIN\tUNIT\tAPPROVED")
		for _, rec := range r.Records {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rec.Licence, rec.MainLicence, rec.Domain, rec.UnitName, rec.ApprovedAt)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return exitError(code)
}

// lookupQuery normalises what the operator typed: a licence number, or a domain.
func lookupQuery(target string) (string, error) {
	if l, err := cancellation.ParseLicence(target); err == nil {
		return l.Number, nil
	}
	d, err := cancellation.NormaliseDomain(target)
	if err != nil {
		return "", fmt.Errorf("%q is neither a filing number nor a domain: %w", target, err)
	}
	return d, nil
}
