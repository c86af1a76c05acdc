// Package htmlpage is a provider for any public query page whose results are
// an HTML table, configured only by CSS selectors (query.html in
// interface.md): third-party mirrors such as beianx.cn (domain.md §1.7), or
// MIIT itself once its protocol moves again.
//
// It is honest by construction: "no record" needs the page's own no-record
// marker; rows without a licence, or a page with neither rows nor the
// marker (a redesign, a login wall, a challenge), are unparseable.
// Third-party sources cache MIIT and lag behind cancellations (§1.7); the
// query job decides how far to trust them.
package htmlpage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/antibot"
)

// Field names, the keys of Options.Fields.
const (
	FieldLicence     = "licence" // required
	FieldMainLicence = "main_licence"
	FieldDomain      = "domain"
	FieldUnitName    = "unit_name"
	FieldServiceName = "service_name"
	FieldApprovedAt  = "approved_at"
)

var fieldNames = []string{FieldLicence, FieldMainLicence, FieldDomain, FieldUnitName, FieldServiceName, FieldApprovedAt}

// Options configures a Provider. Zero values take the defaults in brackets.
// The yaml tags are the keys of query.html in interface.md, so that block of
// the config decodes straight into Options.
type Options struct {
	Name string `yaml:"-"` // the metric label [html]
	// URL is the page to fetch, with {query} where the looked-up value goes,
	// URL-escaped for its place (path or query string).
	URL string `yaml:"url"`
	// RowSelector selects one element per record.
	RowSelector string `yaml:"row_selector"`
	// Fields maps field names to selectors relative to a row; licence is required.
	Fields map[string]string `yaml:"fields"`
	// NoRecordSelector and NoRecordText are the page's "no record" marker:
	// an element, a text, or (both set) the text inside that element. At
	// least one is required: without a marker no page can prove absence.
	NoRecordSelector string `yaml:"no_record_selector"`
	NoRecordText     string `yaml:"no_record_text"`
	// Headers are extra request headers, e.g. a cookie a site requires.
	Headers map[string]string `yaml:"headers"`
	// ServiceType labels the records [1, websites].
	ServiceType int           `yaml:"-"`
	Timeout     time.Duration `yaml:"-"` // one lookup [30s]
	HTTPClient  *http.Client  `yaml:"-"` // [http.Client that does not follow redirects]
	Logger      *slog.Logger  `yaml:"-"`
	MaxBody     int64         `yaml:"-"` // [scraper.DefaultMaxBody]
}

// Provider is the html provider; safe for concurrent use.
type Provider struct {
	opts     Options
	http     *http.Client
	log      *slog.Logger
	rows     cascadia.Selector
	fields   map[string]cascadia.Selector
	noRecord cascadia.Selector // nil when only the text is the marker
}

// nonContent is what a page's text must not be read from: a no-record
// message inside a script template is not a no-record page.
var nonContent = cascadia.MustCompile("script, style, noscript, template")

// New validates opts and compiles its selectors.
func New(opts Options) (*Provider, error) {
	if opts.Name == "" {
		opts.Name = "html"
	}
	if err := checkURLTemplate(opts.URL); err != nil {
		return nil, err
	}
	p := &Provider{opts: opts, http: opts.HTTPClient, log: opts.Logger, fields: map[string]cascadia.Selector{}}
	var err error
	if p.rows, err = compile("row_selector", opts.RowSelector); err != nil {
		return nil, err
	}
	if opts.Fields[FieldLicence] == "" {
		return nil, errors.New("html provider: fields.licence is required")
	}
	for name, sel := range opts.Fields {
		if !slices.Contains(fieldNames, name) {
			return nil, fmt.Errorf("html provider: unknown field %q (known: %s)", name, strings.Join(fieldNames, ", "))
		}
		if p.fields[name], err = compile("fields."+name, sel); err != nil {
			return nil, err
		}
	}
	if opts.NoRecordSelector == "" && strings.TrimSpace(opts.NoRecordText) == "" {
		return nil, errors.New("html provider: no_record_selector or no_record_text is required to ever prove absence")
	}
	if opts.NoRecordSelector != "" {
		if p.noRecord, err = compile("no_record_selector", opts.NoRecordSelector); err != nil {
			return nil, err
		}
	}
	p.opts.NoRecordText = strings.TrimSpace(opts.NoRecordText)
	if opts.ServiceType == 0 {
		p.opts.ServiceType = 1
	}
	if opts.Timeout < 0 || opts.MaxBody < 0 {
		return nil, errors.New("html provider: negative timeout or body limit")
	}
	if opts.Timeout == 0 {
		p.opts.Timeout = 30 * time.Second
	}
	if opts.MaxBody == 0 {
		p.opts.MaxBody = scraper.DefaultMaxBody
	}
	if p.http == nil {
		p.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

func compile(key, sel string) (cascadia.Selector, error) {
	if strings.TrimSpace(sel) == "" {
		return nil, fmt.Errorf("html provider: %s is empty", key)
	}
	g, err := cascadia.Compile(sel)
	if err != nil {
		return nil, fmt.Errorf("html provider: %s %q: %w", key, sel, err)
	}
	return g, nil
}

func checkURLTemplate(tmpl string) error {
	if !strings.Contains(tmpl, "{query}") {
		return fmt.Errorf("html provider: url %q has no {query}", tmpl)
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, "{query}", "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("html provider: url %q is not an http(s) URL", tmpl)
	}
	return nil
}

// pageURL puts query into the template: path-escaped before the '?',
// query-escaped after it.
func (p *Provider) pageURL(query string) string {
	tmpl := p.opts.URL
	q := strings.IndexByte(tmpl, '?')
	var b strings.Builder
	for i := 0; ; {
		j := strings.Index(tmpl[i:], "{query}")
		if j < 0 {
			b.WriteString(tmpl[i:])
			return b.String()
		}
		b.WriteString(tmpl[i : i+j])
		if q >= 0 && i+j > q {
			b.WriteString(url.QueryEscape(query))
		} else {
			b.WriteString(url.PathEscape(query))
		}
		i += j + len("{query}")
	}
}

// Name implements scraper.Provider.
func (p *Provider) Name() string { return p.opts.Name }

// Lookup implements scraper.Provider.
func (p *Provider) Lookup(ctx context.Context, query string) (scraper.Answer, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return scraper.Answer{}, errors.New("html provider: empty query")
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	ans, err := p.lookup(ctx, q)
	if err != nil {
		p.log.Debug("html lookup unknown", "provider", p.Name(), "query", q, "reason", scraper.ReasonOf(err), "err", err)
		return scraper.Answer{}, fmt.Errorf("%s lookup %q: %w", p.Name(), q, err)
	}
	return ans, nil
}

func (p *Provider) lookup(ctx context.Context, q string) (scraper.Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.pageURL(q), nil)
	if err != nil {
		return scraper.Answer{}, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	for k, v := range p.opts.Headers {
		req.Header.Set(k, v)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return scraper.Answer{}, scraper.Unknown(scraper.NetworkError, err)
	}
	defer resp.Body.Close()
	body, err := scraper.ReadBody(resp.Body, p.opts.MaxBody)
	if err != nil {
		return scraper.Answer{}, err
	}
	if err := antibot.Check(resp.StatusCode, body); err != nil {
		return scraper.Answer{}, err
	}
	switch {
	case resp.StatusCode >= 500:
		return scraper.Answer{}, scraper.Unknown(scraper.ServerError, fmt.Errorf("HTTP %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("HTTP %d", resp.StatusCode))
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		// Text in another charset would be compared garbled: refuse it.
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "utf8" {
			return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("charset %s is not supported (UTF-8 only)", cs))
		}
	}
	return p.parse(body)
}

// parse reads one result page.
func (p *Provider) parse(body []byte) (scraper.Answer, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("not HTML: %w", err))
	}
	doc.FindMatcher(nonContent).Remove()
	rows := doc.FindMatcher(p.rows)
	marker := p.markerFound(doc.Selection)
	switch {
	case rows.Length() > 0 && marker:
		return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("%d rows and the no-record marker on one page", rows.Length()))
	case marker:
		return scraper.Answer{}, nil
	case rows.Length() == 0:
		return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, errors.New("neither result rows nor the no-record marker"))
	}
	ans := scraper.Answer{Records: make([]scraper.Record, 0, rows.Length())}
	for i, row := range rows.EachIter() {
		r := scraper.Record{
			Licence:     strings.Join(strings.Fields(p.field(row, FieldLicence)), ""),
			MainLicence: strings.Join(strings.Fields(p.field(row, FieldMainLicence)), ""),
			Domain:      p.field(row, FieldDomain),
			UnitName:    p.field(row, FieldUnitName),
			ServiceName: p.field(row, FieldServiceName),
			ApprovedAt:  p.field(row, FieldApprovedAt),
			ServiceType: p.opts.ServiceType,
		}
		if r.Licence == "" {
			return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("row %d has no licence", i+1))
		}
		if r.MainLicence == "" {
			r.MainLicence = scraper.MainLicenceOf(r.Licence)
		}
		ans.Records = append(ans.Records, r)
	}
	return ans, nil
}

// field is the whitespace-collapsed text of the first match of a field's
// selector in row, "" when the field is not configured or not found.
func (p *Provider) field(row *goquery.Selection, name string) string {
	m, ok := p.fields[name]
	if !ok {
		return ""
	}
	return strings.Join(strings.Fields(row.FindMatcher(m).First().Text()), " ")
}

func (p *Provider) markerFound(doc *goquery.Selection) bool {
	scope := doc
	if p.noRecord != nil {
		scope = doc.FindMatcher(p.noRecord)
		if scope.Length() == 0 {
			return false
		}
	}
	if p.opts.NoRecordText == "" {
		return true
	}
	return strings.Contains(strings.Join(strings.Fields(scope.Text()), " "), p.opts.NoRecordText)
}
