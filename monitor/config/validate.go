package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/scraper/htmlpage"
)

// Providers names the query providers a configuration may choose.
func Providers() []string { return []string{"miit", "html", "ymicp"} }

// Validate returns every problem of c as Problems, or nil.
func (c *Config) Validate() error {
	v := &problems{}
	c.Redis.validate(v)
	v.listenAddress("web.listen_address", c.Web.ListenAddress)
	v.schedule("review.schedule", c.Review.Schedule)
	v.between("review.limit_business_days", c.Review.LimitBusinessDays, 1, 366)
	for _, p := range slices.Sorted(maps.Keys(c.Review.ProvinceLimits)) {
		if utf8.RuneCountInString(p) != 1 {
			v.add("review.province_limits", "key %q: want the one-character licence prefix, such as 浙", p)
		} else if key := cancellation.ProvinceKey(p); key != p {
			// 云 and 滇 name one province: a limit for either applies to both.
			if _, both := c.Review.ProvinceLimits[key]; both {
				v.add("review.province_limits", "%s and %s are one province: set one of them", p, key)
			}
		}
		v.between("review.province_limits."+p, c.Review.ProvinceLimits[p], 1, 366)
	}
	for i, f := range c.Calendar.ExtraFiles {
		if f == "" {
			v.add(fmt.Sprintf("calendar.extra_files[%d]", i), "empty path")
		}
	}
	c.Query.validate(v)
	c.Reach.validate(v)
	v.between("track.max_domains", c.Track.MaxDomains, 1, cancellation.MaxDomainsCeiling)
	v.nonNegative("metrics.cleared_retention", c.Metrics.ClearedRetention)
	if !slices.Contains(PerCancellationModes(), c.Metrics.PerCancellation) {
		v.add("metrics.per_cancellation", "want one of %s, got %q", strings.Join(PerCancellationModes(), ", "), c.Metrics.PerCancellation)
	}
	return v.err()
}

func (r *Redis) validate(v *problems) {
	if r.URL != "" && len(r.Addrs) > 0 {
		v.add("redis", "set url or addrs, not both")
	}
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			v.add("redis.url", "want a redis:// or rediss:// URL") // never echo it: it may hold a password
		}
	}
	for i, a := range r.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			v.add(fmt.Sprintf("redis.addrs[%d]", i), "want HOST:PORT, got %q", a)
		}
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		v.add("redis.master_name", "needs the Sentinel addresses in redis.addrs")
	}
	if r.MasterName != "" && r.Cluster {
		v.add("redis.cluster", "cannot be combined with redis.master_name")
	}
	if r.DB < 0 {
		v.add("redis.db", "must not be negative")
	}
	if r.KeyPrefix == "" || strings.ContainsAny(r.KeyPrefix, "{} \t\n") {
		v.add("redis.key_prefix", "want a non-empty prefix without braces or spaces, got %q", r.KeyPrefix)
	}
}

func (q *Query) validate(v *problems) {
	v.schedule("query.schedule", q.Schedule)
	if q.Provider != "" && len(q.Providers) > 0 {
		v.add("query.provider", "set query.providers or query.provider, not both (provider: %s means providers: [%s])", q.Provider, q.Provider)
	}
	list, key := q.ProviderList(), "query.providers"
	if len(q.Providers) == 0 && q.Provider != "" {
		key = "query.provider" // name the key the file has
	}
	for i, p := range list {
		if !slices.Contains(Providers(), p) {
			v.add(key, "want one of %s, got %q", strings.Join(Providers(), ", "), p)
		} else if slices.Contains(list[:i], p) {
			v.add(key, "%s is listed twice", p)
		}
	}
	v.nonNegative("query.min_interval", q.MinInterval)
	v.positive("query.timeout", q.Timeout)
	if strings.TrimSpace(q.Canary) == "" {
		v.add("query.canary", "want a licence known to be filed")
	}
	v.between("query.confirmations", q.Confirmations, 1, 100)
	v.between("query.linger_business_days", q.LingerBusinessDays, 0, 366)
	v.between("query.sweep_budget", q.SweepBudget, 1, 10_000_000)
	v.nonNegative("query.park", q.Park)
	if slices.Contains(list, "miit") {
		v.httpURL("query.miit.base_url", q.MIIT.BaseURL)
		switch q.MIIT.Captcha {
		case "slider":
		case "command":
			if len(q.MIIT.CaptchaCommand) == 0 {
				v.add("query.miit.captcha_command", "needed when query.miit.captcha is command")
			}
		default:
			v.add("query.miit.captcha", "want slider or command, got %q", q.MIIT.Captcha)
		}
	}
	if slices.Contains(list, "ymicp") {
		v.httpURL("query.ymicp.url", q.YMICP.URL)
	}
	if slices.Contains(list, "html") {
		validateHTML(&q.HTML, v)
	}
}

func validateHTML(h *htmlpage.Options, v *problems) {
	if !strings.Contains(h.URL, "{query}") {
		v.add("query.html.url", "must contain {query}, got %q", h.URL)
	} else if !isHTTPURL(strings.ReplaceAll(h.URL, "{query}", "q")) {
		v.add("query.html.url", "want an http:// or https:// URL, got %q", h.URL)
	}
	v.selector("query.html.row_selector", h.RowSelector, true)
	if h.Fields[htmlpage.FieldLicence] == "" {
		v.add("query.html.fields.licence", "a selector for the licence is required")
	}
	for _, k := range slices.Sorted(maps.Keys(h.Fields)) {
		if !slices.Contains(htmlpage.FieldNames(), k) {
			v.add("query.html.fields", "unknown field %q (want %s)", k, strings.Join(htmlpage.FieldNames(), ", "))
			continue
		}
		v.selector("query.html.fields."+k, h.Fields[k], true)
	}
	if h.NoRecordSelector == "" {
		v.add("query.html.no_record_selector", "required: only the page's own no-record element, inside the result container, proves an absence (text found anywhere on a page proves nothing)")
	} else {
		v.selector("query.html.no_record_selector", h.NoRecordSelector, true)
	}
	v.selector("query.html.result_selector", h.ResultSelector, false)
	v.selector("query.html.total_selector", h.TotalSelector, false)
	v.selector("query.html.next_selector", h.NextSelector, false)
	if h.NextSelector != "" && h.TotalSelector == "" {
		v.add("query.html.next_selector", "needs total_selector: pages read prove a list complete only against the total the site states")
	}
}

func (r *Reach) validate(v *problems) {
	v.schedule("reach.schedule", r.Schedule)
	v.positive("reach.timeout", r.Timeout)
	v.nonNegative("reach.grace", r.Grace)
	v.nonNegative("reach.watch_after_clear", r.WatchAfterClear)
	v.between("reach.concurrency", r.Concurrency, 1, 10_000)
	for _, from := range slices.Sorted(maps.Keys(r.Resolve)) {
		if _, _, err := net.SplitHostPort(from); err != nil {
			v.add("reach.resolve", "key %q: want HOST:PORT", from)
		}
		host, _, err := net.SplitHostPort(r.Resolve[from])
		if err != nil || net.ParseIP(host) == nil {
			v.add("reach.resolve", "%q: want IP:PORT, got %q", from, r.Resolve[from])
		}
	}
	for i, s := range r.Signatures {
		at := fmt.Sprintf("reach.signatures[%d]", i)
		if s.Name == "" {
			v.add(at+".name", "required")
		}
		if s.Status == 0 && s.Header == "" && s.BodyContains == "" && s.RedirectHost == "" {
			v.add(at, "needs at least one of status, header, body_contains, redirect_host")
		}
		if s.HeaderContains != "" && s.Header == "" {
			v.add(at+".header_contains", "needs header")
		}
		if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
			v.add(at+".status", "want an HTTP status, got %d", s.Status)
		}
	}
}

// problems collects validation failures in the order found.
type problems struct{ list Problems }

func (v *problems) add(key, format string, args ...any) {
	v.list = append(v.list, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (v *problems) err() error {
	if len(v.list) == 0 {
		return nil
	}
	return v.list
}

// listenAddress checks what net.Listen will be given. Port 0 (any free
// port) stays legal: tests listen there.
func (v *problems) listenAddress(key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(key, "want HOST:PORT, got %q", addr)
		return
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		v.add(key, "want a port from 1 to 65535, got %q", port)
	}
}

func (v *problems) schedule(key, spec string) {
	if _, err := ParseSchedule(spec); err != nil {
		v.add(key, "invalid schedule %q: %v", spec, err)
	}
}

func (v *problems) between(key string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(key, "want %d to %d, got %d", lo, hi, n)
	}
}

func (v *problems) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "must be positive, got %s", d)
	}
}

func (v *problems) nonNegative(key string, d time.Duration) {
	if d < 0 {
		v.add(key, "must not be negative, got %s", d)
	}
}

func (v *problems) httpURL(key, raw string) {
	if !isHTTPURL(raw) {
		v.add(key, "want an http:// or https:// URL, got %q", raw)
	}
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (v *problems) selector(key, sel string, required bool) {
	if sel == "" {
		if required {
			v.add(key, "required")
		}
		return
	}
	if _, err := cascadia.Compile(sel); err != nil {
		v.add(key, "invalid CSS selector %q: %v", sel, err)
	}
}
