// Package miit looks filings up on the current MIIT public query API
// (beian.miit.gov.cn, API host hlwicpfwc.miit.gov.cn): auth → captcha image →
// checkImage → queryByCondition. The protocol changes every few months, so
// the captcha solver is a strategy and every answer is classified by its
// content: only success:true with total 0 and an empty list is "no record".
// PROTOCOL.md, beside this file, records what the client relies on and where
// each fact comes from.
package miit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
)

// DefaultBaseURL is the API root of the real service.
const DefaultBaseURL = "https://hlwicpfwc.miit.gov.cn/icpproject_query/api"

// MaxPageSize is the largest page the API serves: "官方单页查询 pageSize 最大支持 26"
// (HG-ha/ICP_Query ymicp.py; PROTOCOL.md §5).
const MaxPageSize = 26

// Options configures a Client. Zero values take the defaults in brackets.
type Options struct {
	BaseURL string        // API root [DefaultBaseURL]
	Timeout time.Duration // one lookup, handshake and captcha included [30s]
	// Solver solves the slider captcha [captcha.Slider{}].
	Solver     captcha.Solver
	HTTPClient *http.Client // [a client that does not follow redirects]
	Now        func() time.Time
	Logger     *slog.Logger
	MaxBody    int64 // bytes read of one answer [scraper.DefaultMaxBody]
	PageSize   int   // records per page, at most MaxPageSize [26]
	MaxPages   int   // pages read for one lookup before giving up [40]
	// ServiceType is what is looked up: 1 website, 6 App, 7 mini program,
	// 8 quick app [1].
	ServiceType int
	// TokenMargin is how long before its expiry a token is renewed [30s,
	// at most a tenth of the token's lifetime].
	TokenMargin time.Duration
	UserAgent   string
	// OnCaptcha is told each captcha's outcome, once: CaptchaSolved,
	// CaptchaRefused or CaptchaNoGuess (a request or solver failure is no
	// outcome). Concurrent lookups call it concurrently [nothing is told].
	OnCaptcha func(result string)
	// DebugDir keeps the captchas that failed (refused, no guess, solver
	// error) for a bug report: both images and a JSON of the guess, at most
	// about 50 files, oldest removed; created 0o750 if missing [none kept].
	DebugDir string
}

// Client is the miit provider. It is safe for concurrent use; lookups share
// one cached token and each solves its own captcha.
type Client struct {
	base        string
	timeout     time.Duration
	solver      captcha.Solver
	http        *http.Client
	now         func() time.Time
	log         *slog.Logger
	maxBody     int64
	pageSize    int
	maxPages    int
	serviceType int
	userAgent   string
	cookie      string
	tokens      *tokenCache
	onCaptcha   func(result string)
	debug       *debugDir // nil: failed captchas are not kept
}

// New returns a client for opts.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("miit: base URL %q is not an http(s) URL", opts.BaseURL)
	}
	if opts.PageSize == 0 {
		opts.PageSize = MaxPageSize
	}
	if opts.PageSize < 1 || opts.PageSize > MaxPageSize {
		return nil, fmt.Errorf("miit: page size %d outside 1–%d", opts.PageSize, MaxPageSize)
	}
	switch opts.ServiceType {
	case 0:
		opts.ServiceType = 1
	case 1, 6, 7, 8:
	default:
		return nil, fmt.Errorf("miit: unknown service type %d (1, 6, 7 or 8)", opts.ServiceType)
	}
	if opts.Timeout < 0 || opts.MaxBody < 0 || opts.MaxPages < 0 || opts.TokenMargin < 0 {
		return nil, errors.New("miit: negative timeout, body limit, page count or token margin")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Solver == nil {
		opts.Solver = captcha.Slider{}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{
			// A redirect from the API is an anti-bot detour, never an answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = scraper.DefaultMaxBody
	}
	if opts.MaxPages == 0 {
		opts.MaxPages = 40
	}
	if opts.TokenMargin == 0 {
		opts.TokenMargin = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	}
	c := &Client{
		base:        strings.TrimRight(opts.BaseURL, "/"),
		timeout:     opts.Timeout,
		solver:      opts.Solver,
		http:        opts.HTTPClient,
		now:         opts.Now,
		log:         opts.Logger,
		maxBody:     opts.MaxBody,
		pageSize:    opts.PageSize,
		maxPages:    opts.MaxPages,
		serviceType: opts.ServiceType,
		userAgent:   opts.UserAgent,
		cookie:      "__jsluid_s=" + randomHex(16),
	}
	c.tokens = newTokenCache(c, opts.TokenMargin)
	c.onCaptcha = opts.OnCaptcha
	c.debug = newDebugDir(opts.DebugDir, opts.Logger)
	return c, nil
}

// Name implements scraper.Provider.
func (c *Client) Name() string { return "miit" }

// Lookup implements scraper.Provider. query is a licence (a subject licence
// returns every record under it), a bare domain or a unit name.
func (c *Client) Lookup(ctx context.Context, query string) (scraper.Answer, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return scraper.Answer{}, errors.New("miit: empty query")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ans, err := c.lookup(ctx, q)
	if err != nil {
		c.log.Debug("miit lookup unknown", "query", q, "reason", scraper.ReasonOf(err), "err", err)
		return scraper.Answer{}, fmt.Errorf("miit lookup %q: %w", q, err)
	}
	c.log.Debug("miit lookup", "query", q, "records", len(ans.Records))
	return ans, nil
}

func (c *Client) lookup(ctx context.Context, q string) (scraper.Answer, error) {
	s := &session{c: c}
	var col Collector
	for {
		if s.sign == "" {
			if err := s.handshake(ctx); err != nil {
				return scraper.Answer{}, err
			}
		}
		page, err := s.query(ctx, q, col.NextPage())
		switch {
		case isTokenRejected(err) && !s.refreshed:
			if err := s.refresh(ctx); err != nil {
				return scraper.Answer{}, err
			}
			continue
		case errors.Is(err, errSignRefused) && s.signUses > 0:
			// The sign already served a page; a server that takes one sign
			// per query gets a fresh captcha, once per page.
			s.sign, s.signUses = "", 0
			continue
		case err != nil:
			return scraper.Answer{}, err
		}
		s.signUses++
		more, err := col.Add(page)
		if err != nil {
			return scraper.Answer{}, err
		}
		if !more {
			return col.Answer(), nil
		}
		if col.NextPage() > c.maxPages {
			return scraper.Answer{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("more than %d pages of %d records", c.maxPages, c.pageSize))
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
