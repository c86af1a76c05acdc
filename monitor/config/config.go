// Package config reads icpmon's YAML configuration: strictly (an unknown key
// is an error), with defaults for everything left out, and validated as a
// whole so that check-config can list every problem at once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/regularfile"
	"github.com/icpmon/icpmon/scraper/htmlpage"
)

// Config is the whole configuration file.
type Config struct {
	Redis    Redis    `yaml:"redis"`
	Web      Web      `yaml:"web"`
	Review   Review   `yaml:"review"`
	Calendar Calendar `yaml:"calendar"`
	Query    Query    `yaml:"query"`
	Reach    Reach    `yaml:"reach"`
	Metrics  Metrics  `yaml:"metrics"`
	Track    Track    `yaml:"track"`
}

// Track bounds what operators may track (`track add`, `track import`).
type Track struct {
	// MaxDomains is how many domains one cancellation may list: each is
	// probed and exposed, and all are held in the daemon's memory.
	MaxDomains int `yaml:"max_domains"`
}

// Redis says where the store lives. One of URL (single server, redis:// or
// rediss://) or Addrs (Sentinel with MasterName, or Cluster without).
type Redis struct {
	URL          string   `yaml:"url"`
	Addrs        []string `yaml:"addrs"`
	MasterName   string   `yaml:"master_name"`
	Cluster      bool     `yaml:"cluster"` // Addrs are cluster seeds, even if only one
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	DB           int      `yaml:"db"`
	KeyPrefix    string   `yaml:"key_prefix"`
	TLS          RedisTLS `yaml:"tls"`
}

// RedisTLS turns TLS on for Addrs topologies; a rediss:// URL turns it on by itself.
type RedisTLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Web is the HTTP listener for /metrics and the health endpoints.
type Web struct {
	ListenAddress string `yaml:"listen_address"`
}

// Review is the review-deadline job.
type Review struct {
	Schedule          string         `yaml:"schedule"`
	LimitBusinessDays int            `yaml:"limit_business_days"`
	ProvinceLimits    map[string]int `yaml:"province_limits"`
}

// Calendar adds holiday schedules to the ones built in.
type Calendar struct {
	ExtraFiles []string `yaml:"extra_files"`
}

// Query is the public-query job and its providers.
type Query struct {
	Schedule string `yaml:"schedule"`
	// Providers are asked in order: the next one when a lookup proves
	// nothing for a reason about the provider. ProviderList reads them.
	Providers []string `yaml:"providers"`
	// Provider is the one-provider form of Providers, kept for older files.
	Provider      string        `yaml:"provider"`
	MinInterval   time.Duration `yaml:"min_interval"`
	Timeout       time.Duration `yaml:"timeout"`
	Canary        string        `yaml:"canary"`
	Confirmations int           `yaml:"confirmations"`
	// LingerBusinessDays is how long after approval a record may still be
	// returned before it counts as lingering: the provider's sync lag.
	LingerBusinessDays int `yaml:"linger_business_days"`
	// SweepBudget caps the lookups of one sweep, most urgent first.
	SweepBudget int `yaml:"sweep_budget"`
	// Park is the least time the provider rests after a ban signal.
	Park  time.Duration `yaml:"park"`
	MIIT  MIIT          `yaml:"miit"`
	YMICP YMICP         `yaml:"ymicp"`
	// HTML decodes straight into the provider's options: the keys are its
	// yaml tags; the query timeout and the logger are filled in when the
	// provider is built (monitor/lookup).
	HTML htmlpage.Options `yaml:"html"`
}

// MIIT is the client of the official query API.
type MIIT struct {
	BaseURL        string   `yaml:"base_url"`
	Captcha        string   `yaml:"captcha"`
	CaptchaCommand []string `yaml:"captcha_command"`
	// DebugDir keeps the images of failed captchas (a bounded number), for a
	// bug report when the captcha changes again; "" keeps none.
	DebugDir string `yaml:"debug_dir"`
}

// YMICP is an operator-run HG-ha/ICP_Query-compatible service.
type YMICP struct {
	URL string `yaml:"url"`
}

// Reach is the reachability job.
type Reach struct {
	Schedule    string            `yaml:"schedule"`
	Timeout     time.Duration     `yaml:"timeout"`
	Grace       time.Duration     `yaml:"grace"`
	Resolve     map[string]string `yaml:"resolve"`
	CAFile      string            `yaml:"ca_file"` // PEM certificates trusted besides the system roots, e.g. an origin's private CA
	Concurrency int               `yaml:"concurrency"`
	Signatures  []Signature       `yaml:"signatures"`
	// WatchAfterClear keeps a cleared cancellation's websites probed (and
	// paged on) until this long has passed since the later of its clearing
	// and the last probe that found one of them served: a site still served
	// is never dropped (monitor/reach.WatchedUntil).
	WatchAfterClear time.Duration `yaml:"watch_after_clear"`
}

// Signature recognises an access provider's block page beyond the built-in
// ones. Every field that is set must match.
type Signature struct {
	Name           string `yaml:"name"`
	Status         int    `yaml:"status"`
	Header         string `yaml:"header"`          // header name, with HeaderContains as a substring
	HeaderContains string `yaml:"header_contains"` //
	BodyContains   string `yaml:"body_contains"`   //
	RedirectHost   string `yaml:"redirect_host"`   // a Location pointing at this host
}

// Metrics shapes what /metrics exposes.
type Metrics struct {
	// ClearedRetention keeps a cleared cancellation's info and reapply-ready
	// series this long, so that the operator sees the go-ahead.
	ClearedRetention time.Duration `yaml:"cleared_retention"`
	// PerCancellation chooses the per-cancellation series: "alerting" (the
	// default: only what the shipped alerts read, about 3 series per
	// cancellation), "all" (every family, over 11 per cancellation), or
	// "none" (the counts only). Prometheus holds every series: 100,000
	// cancellations are over a million of them with "all".
	PerCancellation string `yaml:"per_cancellation"`
}

// ProviderList is the providers to ask, in order: query.providers, or
// query.provider as a list of one, or miit.
func (q Query) ProviderList() []string {
	switch {
	case len(q.Providers) > 0:
		return q.Providers
	case q.Provider != "":
		return []string{q.Provider}
	}
	return []string{"miit"}
}

// PerCancellationModes lists the values of metrics.per_cancellation.
func PerCancellationModes() []string { return []string{"all", "alerting", "none"} }

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Redis: Redis{KeyPrefix: "icpmon"}, // no URL nor Addrs: DefaultRedisURL
		Web:   Web{ListenAddress: "127.0.0.1:9810"},
		Review: Review{
			Schedule:          "@every 5m",
			LimitBusinessDays: 20,
			ProvinceLimits:    map[string]int{"浙": 30},
		},
		Query: Query{
			Schedule:           "@every 6h",
			MinInterval:        6 * time.Second,
			Timeout:            30 * time.Second,
			Canary:             "京ICP备10046444号",
			Confirmations:      2,
			LingerBusinessDays: 2,
			SweepBudget:        500,
			Park:               5 * time.Minute,
			MIIT: MIIT{
				BaseURL: "https://hlwicpfwc.miit.gov.cn/icpproject_query/api",
				Captcha: "slider",
			},
			YMICP: YMICP{URL: "http://127.0.0.1:16181"},
		},
		Reach: Reach{
			Schedule:        "@every 5m",
			Timeout:         10 * time.Second,
			Grace:           24 * time.Hour,
			Concurrency:     32,
			WatchAfterClear: 720 * time.Hour,
		},
		Metrics: Metrics{ClearedRetention: 7 * 24 * time.Hour, PerCancellation: "alerting"},
		Track:   Track{MaxDomains: cancellation.DefaultMaxDomains},
	}
}

// Size limits of the files a configuration names, far above any real one:
// each is read whole into memory (monitor/regularfile).
const (
	MaxConfigBytes   = 1 << 20 // the configuration file
	MaxPasswordBytes = 4 << 10 // redis.password_file
	MaxCAFileBytes   = 4 << 20 // redis.tls.ca_file, reach.ca_file: a bundle of certificates
)

// load reads the file at path: the configuration as far as it could be read
// (nil when the file or its YAML syntax is unreadable) and every problem.
func load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		return &c, nil
	}
	b, err := regularfile.Read(path, MaxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parse(b)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// parse decodes a YAML document over the defaults and validates the result.
// A document that decodes only in part (an unknown key, a value of the
// wrong type) is still validated as far as it decoded, so that the error
// lists every problem at once: Problems, one per line as text.
func parse(b []byte) (*Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var problems Problems
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var typeErr *yaml.TypeError
		if !errors.As(err, &typeErr) {
			return nil, fmt.Errorf("parse: %w", err)
		}
		// yaml.v3 decodes what it can and lists each key it could not; its
		// lines name the line, not the key.
		for _, e := range typeErr.Errors {
			problems = append(problems, Problem{Message: e})
		}
	}
	problems = append(problems, ProblemsOf(c.Validate())...)
	if len(problems) > 0 {
		return &c, problems
	}
	return &c, nil
}

// Load reads and validates the file at path (the defaults when path is
// empty), with the --redis-url override (flag, or ICPMON_REDIS_URL) applied:
// a URL replaces the file's whole Redis topology. With the problems it
// also returns the configuration as far as it could be read (nil when the
// file or its YAML syntax is unreadable), so that check-config can check
// the files it names too; every other caller stops at the error.
func Load(path, redisURL string) (*Config, error) {
	c, err := load(path)
	if c == nil || redisURL == "" {
		return c, err
	}
	c.Redis.URL, c.Redis.Addrs, c.Redis.MasterName, c.Redis.Cluster = redisURL, nil, "", false
	if err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		ps := ProblemsOf(err)
		for i := range ps {
			ps[i].Via = "--redis-url (or ICPMON_REDIS_URL)"
		}
		return c, ps
	}
	return c, nil
}
