// Package assemble turns a configuration into what icpmon runs: the
// business-day calendar, the Redis client options, the public-query chain
// and the website prober. `icpmon serve` builds with it at start and on
// every reload, `icpmon check-config` with the very same function, so a
// file that check-config passes is one that serve can run.
package assemble

import (
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/lookup"
	"github.com/icpmon/icpmon/monitor/prober"
	"github.com/icpmon/icpmon/monitor/store"
)

// Parts are what one configuration builds. None is started: building
// leaves no trace, so a failed reload keeps the old parts running.
type Parts struct {
	Calendar *calendar.Calendar
	// Redis are the client options, password_file and CA file read.
	Redis  *redis.UniversalOptions
	Chain  *lookup.Chain
	Prober *prober.Prober
}

// Observer is told what the query job's lookups and captchas came to: the
// daemon's metrics. It may be nil.
type Observer interface {
	lookup.Recorder
	ObserveCaptcha(provider, result string)
}

// Options say how to build.
type Options struct {
	Logger   *slog.Logger
	Observer Observer
	// Reported are problems already found in the file (check-config): a part
	// whose key is among them is not built again, so that one mistake is
	// reported once. A Redis topology reported still has its files read.
	Reported config.Problems
}

// Build builds every part of cfg and returns every problem it met, each
// naming its key. The parts are complete only when there is none.
func Build(cfg *config.Config, o Options) (*Parts, config.Problems) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reported := func(keys ...string) bool {
		for _, p := range o.Reported {
			for _, key := range keys {
				if p.About(key) {
					return true
				}
			}
		}
		return false
	}
	var parts Parts
	var problems config.Problems
	if !reported("calendar") {
		var err error
		if parts.Calendar, err = calendar.Load(cfg.Calendar.ExtraFiles); err != nil {
			problems = append(problems, config.Problem{Key: "calendar.extra_files", Message: err.Error()})
		}
	}
	r := cfg.Redis
	if reported("redis") {
		r.URL, r.Addrs, r.MasterName, r.Cluster = "", nil, "", false
	}
	var err error
	if parts.Redis, err = r.ClientOptions(); err != nil {
		problems = append(problems, config.ProblemsOf(err)...)
	}
	if !reported("query") {
		if parts.Chain, err = chain(cfg.Query, o.Observer, log); err != nil {
			problems = append(problems, config.Problem{Message: err.Error()}) // it names its key: query.miit: …
		}
	}
	if !reported("reach.timeout", "reach.resolve", "reach.signatures", "reach.concurrency", "reach.ca_file") {
		if parts.Prober, err = newProber(cfg.Reach, log); err != nil {
			problems = append(problems, config.ProblemsOf(err)...)
		}
	}
	return &parts, problems
}

func chain(q config.Query, obs Observer, log *slog.Logger) (*lookup.Chain, error) {
	var hooks lookup.Hooks
	var rec lookup.Recorder
	if obs != nil {
		hooks.OnCaptcha, rec = obs.ObserveCaptcha, obs
	}
	providers, err := lookup.NewProviders(q, log, hooks)
	if err != nil {
		return nil, err
	}
	return lookup.NewChain(providers, q.Canary, rec, log)
}

// newProber builds the reach job's prober from its configuration section.
func newProber(r config.Reach, log *slog.Logger) (*prober.Prober, error) {
	sigs := make([]prober.Signature, len(r.Signatures))
	for i, s := range r.Signatures {
		sigs[i] = prober.Signature{Name: s.Name, Status: s.Status, Header: s.Header, HeaderContains: s.HeaderContains,
			BodyContains: s.BodyContains, RedirectHost: s.RedirectHost}
	}
	roots, err := r.RootCAs() // the system roots plus reach.ca_file's: a public site must still count as served
	if err != nil {
		return nil, err
	}
	p, err := prober.New(prober.Options{Timeout: r.Timeout, Resolve: r.Resolve, Signatures: sigs, Concurrency: r.Concurrency,
		RootCAs: roots, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("reach: %w", err)
	}
	return p, nil
}

// Connect opens a client with the options o and the store on it under
// prefix. It does not wait for Redis: the first command does.
func Connect(o *redis.UniversalOptions, prefix string, opts ...store.Option) (redis.UniversalClient, *store.Store) {
	client := redis.NewUniversalClient(o)
	return client, store.New(client, prefix, opts...)
}
