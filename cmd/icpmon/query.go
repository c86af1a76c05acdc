package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/evidence"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/scraper"
)

// The exit codes of `icpmon query` are its answer, for scripts.
const (
	exitPresent = 0
	exitAbsent  = 1 // only with a good canary lookup after the absent answer
	exitUnknown = 2
)

func (c *cli) registerQuery(app *kingpin.Application) {
	cmd := app.Command("query", "Look a licence or a domain up once with the configured providers (exit 0 present, 1 absent with a good canary after it, 2 unknown).")
	target := cmd.Arg("LICENCE_OR_DOMAIN", "A filing number (京ICP备12345678号, …-3) or a bare domain.").Required().String()
	output := cmd.Flag("output", "Output format.").Short('o').Default("table").Enum("table", "json")
	debug := cmd.Flag("debug", "Print every step (auth, captcha, pages, canary) with its timing on stderr, and the evidence behind the verdict.").Bool()
	c.command(cmd, func(ctx context.Context) error { return c.query(ctx, *target, *output, *debug) })
}

// queryResult is the JSON shape of `icpmon query -o json`.
type queryResult struct {
	Query    string           `json:"query"`
	Provider string           `json:"provider,omitempty"` // who answered; absent when nobody did
	Result   string           `json:"result"`             // present, absent or unknown
	Reason   string           `json:"reason,omitempty"`
	Evidence string           `json:"evidence"`         // what the verdict rests on
	Canary   string           `json:"canary,omitempty"` // the canary lookup that vouched for an absence
	Records  []scraper.Record `json:"records"`
}

func (c *cli) query(ctx context.Context, target, output string, debug bool) error {
	key, err := evidence.ParseKey(target)
	if err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	providers, err := lookup.NewProviders(cfg.Query, c.logger, lookup.Hooks{})
	if err != nil {
		return err
	}
	chain, err := lookup.NewChain(providers, cfg.Query.Canary, nil, c.logger)
	if err != nil {
		return err
	}
	// Each provider may take a lookup and a canary, each after the rate limit.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(2*len(providers))*(cfg.Query.Timeout+cfg.Query.MinInterval))
	defer cancel()
	if debug {
		ctx = scraper.WithTracer(ctx, stepPrinter(c.stderr, time.Now()))
	}

	r := queryResult{Query: key.String(), Result: string(evidence.Unknown), Reason: string(scraper.NetworkError),
		Evidence: "the lookup did not finish in time", Records: []scraper.Record{}}
	session := chain.Session(1)
	session.Ask(ctx, lookup.Question{Asked: key, Wants: []evidence.Key{key}, Done: func(o lookup.Outcome) {
		v := o.Verdicts[0]
		r.Provider, r.Result, r.Reason, r.Evidence, r.Canary = o.Provider, string(v.Result), string(v.Reason), v.Why, o.Bracket
		if o.Records != nil {
			r.Records = o.Records
		}
	}})
	session.Finish(ctx)
	code := exitUnknown
	switch evidence.Result(r.Result) {
	case evidence.Present:
		code = exitPresent
	case evidence.Absent:
		code = exitAbsent
	}
	if debug {
		fmt.Fprintf(c.stderr, "verdict: %s (%s)\n", r.Result, r.Evidence)
	}
	if output == "json" {
		if err := writeJSON(c.stdout, r); err != nil {
			return err
		}
		return exitError(code)
	}
	switch code {
	case exitUnknown:
		fmt.Fprintf(c.stdout, "unknown: the lookup of %s proved nothing (%s): %s\n", r.Query, r.Reason, r.Evidence)
	case exitAbsent:
		fmt.Fprintf(c.stdout, "no record: %s proved no filing for %s (%s; %s)\n", r.Provider, r.Query, r.Evidence, r.Canary)
	default:
		fmt.Fprintf(c.stdout, "present: %s\n", r.Evidence)
		t := &table{}
		t.row("LICENCE", "MAIN LICENCE", "DOMAIN", "UNIT", "APPROVED")
		for _, rec := range r.Records {
			t.row(rec.Licence, rec.MainLicence, orDash(rec.Domain), orDash(rec.UnitName), orDash(rec.ApprovedAt))
		}
		if err := t.write(c.stdout); err != nil {
			return err
		}
	}
	return exitError(code)
}

// stepPrinter prints each step of a lookup as it happens, timed from start.
func stepPrinter(w io.Writer, start time.Time) scraper.Tracer {
	return func(s scraper.Step) {
		outcome := s.Detail
		switch {
		case s.Err != nil && s.Detail != "":
			outcome = fmt.Sprintf("%s: %v", s.Detail, s.Err)
		case s.Err != nil:
			outcome = s.Err.Error()
		}
		fmt.Fprintf(w, "%8.3fs  %-6s %-32s %8.1fms  %s\n", time.Since(start).Seconds(), s.Provider, s.Name,
			float64(s.Took)/float64(time.Millisecond), outcome)
	}
}
