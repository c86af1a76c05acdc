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
	"strconv"
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

// FieldNames lists the fields a page may fill, the keys Options.Fields takes.
func FieldNames() []string {
	return []string{FieldLicence, FieldMainLicence, FieldDomain, FieldUnitName, FieldServiceName, FieldApprovedAt}
}

// Options configures a Provider. Zero values take the defaults in brackets.
// The yaml tags are the keys of query.html (deploy/icpmon.yml, README
// "Configuration"), so that block of the config decodes straight into Options.
type Options struct {
	Name string `yaml:"-"` // the metric label [html]
	// URL is the page to fetch, with {query} where the looked-up value goes,
	// URL-escaped for its place (path or query string).
	URL string `yaml:"url"`
	// RowSelector selects one element per record.
	RowSelector string `yaml:"row_selector"`
	// Fields maps field names to selectors relative to a row; licence is required.
	Fields map[string]string `yaml:"fields"`
	// NoRecordSelector is the page's "no record" element, looked for inside
	// the result container; NoRecordText, when set, must be in its text.
	// Required: without a marker no page can prove absence.
	NoRecordSelector string `yaml:"no_record_selector"`
	NoRecordText     string `yaml:"no_record_text"`
	// ResultSelector is the result container that rows and the marker are
	// looked for in [body].
	ResultSelector string `yaml:"result_selector"`
	// TotalSelector is the element that states how many records match (its
	// first number); NextSelector the link to the next page. Without a total
	// a list is never proven complete.
	TotalSelector string `yaml:"total_selector"`
	NextSelector  string `yaml:"next_selector"`
	// MaxPages bounds the pages read for one lookup [20].
	MaxPages int `yaml:"-"`
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
	noRecord cascadia.Selector
	results  cascadia.Selector
	total    cascadia.Selector // nil: no list is ever complete
	next     cascadia.Selector // nil: one page only
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
		if !slices.Contains(FieldNames(), name) {
			return nil, fmt.Errorf("html provider: unknown field %q (known: %s)", name, strings.Join(FieldNames(), ", "))
		}
		if p.fields[name], err = compile("fields."+name, sel); err != nil {
			return nil, err
		}
	}
	if opts.NoRecordSelector == "" {
		return nil, errors.New("html provider: no_record_selector is required to ever prove absence (text found anywhere on a page proves nothing)")
	}
	if p.noRecord, err = compile("no_record_selector", opts.NoRecordSelector); err != nil {
		return nil, err
	}
	if opts.ResultSelector == "" {
		opts.ResultSelector = "body"
	}
	if p.results, err = compile("result_selector", opts.ResultSelector); err != nil {
		return nil, err
	}
	if opts.TotalSelector != "" {
		if p.total, err = compile("total_selector", opts.TotalSelector); err != nil {
			return nil, err
		}
	}
	if opts.NextSelector != "" {
		if opts.TotalSelector == "" {
			return nil, errors.New("html provider: next_selector needs total_selector: pages prove a list complete only against a stated total")
		}
		if p.next, err = compile("next_selector", opts.NextSelector); err != nil {
			return nil, err
		}
	}
	if opts.MaxPages < 0 {
		return nil, errors.New("html provider: negative page count")
	}
	if opts.MaxPages == 0 {
		opts.MaxPages = 20
	}
	p.opts.ResultSelector, p.opts.MaxPages = opts.ResultSelector, opts.MaxPages
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
	var (
		ans   scraper.Answer
		total = -1 // as the first page states it; -1 when it does not
	)
	next := p.pageURL(q)
	for n := 1; ; n++ {
		start := time.Now()
		pg, err := p.fetch(ctx, next)
		if err == nil && n > 1 && (pg.noRecord || pg.total != total) {
			err = scraper.Unknown(scraper.Unparseable, fmt.Errorf("page %d contradicts page 1 (no record %t, total %d, was %d)", n, pg.noRecord, pg.total, total))
		}
		scraper.Trace(ctx, scraper.Step{Provider: p.Name(), Name: fmt.Sprintf("page %d", n), Took: time.Since(start), Err: err,
			Detail: fmt.Sprintf("%d rows, stated total %d, no-record marker %t", len(pg.records), pg.total, pg.noRecord)})
		if err != nil {
			return scraper.Answer{}, fmt.Errorf("page %d: %w", n, err)
		}
		if n == 1 {
			total = pg.total
			if pg.noRecord {
				return scraper.Answer{NoRecord: true, Complete: true}, nil
			}
		}
		ans.Records = append(ans.Records, pg.records...)
		switch {
		case total >= 0 && len(ans.Records) > total:
			return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("%d rows read, the page states %d", len(ans.Records), total))
		case pg.next == "" || total >= 0 && len(ans.Records) == total:
			// Complete only against a stated total that every row read adds up to.
			ans.Complete = total >= 0 && len(ans.Records) == total
			return ans, nil
		case n >= p.opts.MaxPages:
			return ans, nil // a list cut short: not complete, and so no absence
		}
		if next, err = p.follow(next, pg.next); err != nil {
			return scraper.Answer{}, err
		}
	}
}

// follow resolves a next-page link against the page it was on. Only links to
// the same scheme and host are followed.
func (p *Provider) follow(from, href string) (string, error) {
	base, err := url.Parse(from)
	if err != nil {
		return "", scraper.Unknown(scraper.Unparseable, fmt.Errorf("page URL %q: %w", from, err))
	}
	u, err := base.Parse(href)
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
		return "", scraper.Unknown(scraper.Unparseable, fmt.Errorf("next-page link %q leaves %s", href, base.Host))
	}
	return u.String(), nil
}

// resultPage is what one result page shows.
type resultPage struct {
	records  []scraper.Record
	noRecord bool
	total    int    // the stated total; -1 when the page states none
	next     string // the next-page link; "" on the last page
}

// fetch reads one result page.
func (p *Provider) fetch(ctx context.Context, pageURL string) (resultPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return resultPage{}, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	for k, v := range p.opts.Headers {
		req.Header.Set(k, v)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return resultPage{}, scraper.Unknown(scraper.NetworkError, err)
	}
	defer resp.Body.Close()
	body, err := scraper.ReadBody(resp.Body, p.opts.MaxBody)
	if err != nil {
		return resultPage{}, err
	}
	if err := antibot.Check(resp.StatusCode, body); err != nil {
		return resultPage{}, err
	}
	switch {
	case resp.StatusCode >= 500:
		return resultPage{}, scraper.Unknown(scraper.ServerError, fmt.Errorf("HTTP %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return resultPage{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("HTTP %d", resp.StatusCode))
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		// Text in another charset would be compared garbled: refuse it.
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "utf8" {
			return resultPage{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("charset %s is not supported (UTF-8 only)", cs))
		}
	}
	return p.parse(body)
}

// parse reads one result page: rows and the marker inside the result
// container only.
func (p *Provider) parse(body []byte) (resultPage, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return resultPage{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("not HTML: %w", err))
	}
	doc.FindMatcher(nonContent).Remove()
	scope := doc.FindMatcher(p.results)
	if scope.Length() == 0 {
		return resultPage{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("no result container %q", p.opts.ResultSelector))
	}
	rows := scope.FindMatcher(p.rows)
	marker := p.markerFound(scope)
	switch {
	case rows.Length() > 0 && marker:
		return resultPage{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("%d rows and the no-record marker on one page", rows.Length()))
	case rows.Length() == 0 && !marker:
		return resultPage{}, scraper.Unknown(scraper.Unparseable, errors.New("neither result rows nor the no-record marker"))
	}
	pg := resultPage{noRecord: marker, total: -1, records: make([]scraper.Record, 0, rows.Length())}
	if p.total != nil {
		if pg.total, err = statedTotal(doc.FindMatcher(p.total)); err != nil && !marker {
			return resultPage{}, err
		}
	}
	if p.next != nil {
		pg.next, _ = doc.FindMatcher(p.next).First().Attr("href")
		pg.next = strings.TrimSpace(pg.next)
	}
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
			return resultPage{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("row %d has no licence", i+1))
		}
		if r.MainLicence == "" {
			r.MainLicence = scraper.MainLicenceOf(r.Licence)
		}
		pg.records = append(pg.records, r)
	}
	return pg, nil
}

// statedTotal reads the first number in the total element's text.
func statedTotal(sel *goquery.Selection) (int, error) {
	if sel.Length() == 0 {
		return -1, scraper.Unknown(scraper.Unparseable, errors.New("no stated total on the page"))
	}
	text := sel.First().Text()
	start := strings.IndexAny(text, "0123456789")
	if start < 0 {
		return -1, scraper.Unknown(scraper.Unparseable, fmt.Errorf("no number in the stated total %q", strings.TrimSpace(text)))
	}
	end := start
	for end < len(text) && text[end] >= '0' && text[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(text[start:end])
	if err != nil {
		return -1, scraper.Unknown(scraper.Unparseable, fmt.Errorf("stated total %q: %w", text[start:end], err))
	}
	return n, nil
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

// markerFound reports whether the no-record element, with its text when one
// is configured, is inside the result container.
func (p *Provider) markerFound(container *goquery.Selection) bool {
	marker := container.FindMatcher(p.noRecord)
	if marker.Length() == 0 {
		return false
	}
	if p.opts.NoRecordText == "" {
		return true
	}
	return strings.Contains(strings.Join(strings.Fields(marker.Text()), " "), p.opts.NoRecordText)
}
