// Package ymicp looks filings up through an operator-run service compatible
// with HG-ha/ICP_Query (`GET /query/web?search=`), for teams that already run
// one beside icpmon. The service does the MIIT handshake itself.
//
// Its answer shapes, read in HG-ha/ICP_Query src/python (commit fcf00cd):
//   - routes/query_routes.py returns the MIIT queryByCondition JSON unchanged
//     when it has `code` 200, so a success is {"code":200,"success":true,
//     "params":{"list":[…],"total":N,…}} and is parsed like the miit provider's;
//   - ymicp.py `autoget` turns a failed handshake into {"code":500,"message":M}
//     with M "当前访问已被创宇盾拦截" (WAF), "验证码识别失败" / "滑块匹配失败"
//     (captcha), "请求验证码时失败：…" (the captcha image did not decode: the
//     2026 ban), or an exception text; a MIIT code 500 into
//     {"code":122,"message":"工信部服务器异常"}; an exception into
//     {"code":122,"message":"查询失败","error":…};
//   - other MIIT errors (401, 429) pass through as MIIT sent them;
//   - the service's own refusals: {"code":101|102,"msg":…} (bad parameters or
//     type), {"code":405,"message":"不允许的查询内容"}, HTTP 401
//     {"code":401,"message":"未登录或会话已过期"} when its login is enabled
//     (auth.py: a Bearer token), and {"code":404,"msg":…} for unknown paths.
package ymicp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/antibot"
	"github.com/icpmon/icpmon/scraper/miit"
)

// Options configures a Client. Zero values take the defaults in brackets.
type Options struct {
	URL         string        // the service root, e.g. http://127.0.0.1:16181
	Timeout     time.Duration // one lookup, all pages [30s]
	HTTPClient  *http.Client  // [http.Client that does not follow redirects]
	Logger      *slog.Logger
	MaxBody     int64  // [scraper.DefaultMaxBody]
	PageSize    int    // at most miit.MaxPageSize [26]
	MaxPages    int    // [40]
	BearerToken string // for a service with its login enabled
}

// Client is the ymicp provider; safe for concurrent use.
type Client struct {
	base     string
	opts     Options
	http     *http.Client
	log      *slog.Logger
	pageSize int
}

// New returns a client of the service at opts.URL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ymicp: URL %q is not an http(s) URL", opts.URL)
	}
	if opts.PageSize == 0 {
		opts.PageSize = miit.MaxPageSize
	}
	if opts.PageSize < 1 || opts.PageSize > miit.MaxPageSize {
		return nil, fmt.Errorf("ymicp: page size %d outside 1–%d", opts.PageSize, miit.MaxPageSize)
	}
	if opts.Timeout < 0 || opts.MaxBody < 0 || opts.MaxPages < 0 {
		return nil, errors.New("ymicp: negative timeout, body limit or page count")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = scraper.DefaultMaxBody
	}
	if opts.MaxPages == 0 {
		opts.MaxPages = 40
	}
	c := &Client{base: strings.TrimRight(opts.URL, "/"), opts: opts, http: opts.HTTPClient, log: opts.Logger, pageSize: opts.PageSize}
	if c.http == nil {
		c.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Name implements scraper.Provider.
func (c *Client) Name() string { return "ymicp" }

// Lookup implements scraper.Provider, reading every page of the answer.
func (c *Client) Lookup(ctx context.Context, query string) (scraper.Answer, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return scraper.Answer{}, errors.New("ymicp: empty query")
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var col miit.Collector
	for {
		page, err := c.page(ctx, q, col.NextPage())
		if err == nil {
			var more bool
			more, err = col.Add(page)
			if err == nil && !more {
				return col.Answer(), nil
			}
			if err == nil && col.NextPage() > c.opts.MaxPages {
				err = scraper.Unknown(scraper.Unparseable, fmt.Errorf("more than %d pages", c.opts.MaxPages))
			}
		}
		if err != nil {
			c.log.Debug("ymicp lookup unknown", "query", q, "reason", scraper.ReasonOf(err), "err", err)
			return scraper.Answer{}, fmt.Errorf("ymicp lookup %q: %w", q, err)
		}
	}
}

func (c *Client) page(ctx context.Context, q string, pageNum int) (miit.Page, error) {
	v := url.Values{"search": {q}, "pageNum": {strconv.Itoa(pageNum)}, "pageSize": {strconv.Itoa(c.pageSize)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/query/web?"+v.Encode(), nil)
	if err != nil {
		return miit.Page{}, err
	}
	req.Header.Set("Accept", "application/json")
	if c.opts.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.BearerToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return miit.Page{}, scraper.Unknown(scraper.NetworkError, err)
	}
	defer resp.Body.Close()
	body, err := scraper.ReadBody(resp.Body, c.opts.MaxBody)
	if err != nil {
		return miit.Page{}, err
	}
	if err := classify(resp.StatusCode, body); err != nil {
		return miit.Page{}, fmt.Errorf("page %d: %w", pageNum, err)
	}
	page, err := miit.ParseQueryPage(body, 1)
	if err != nil {
		return miit.Page{}, fmt.Errorf("page %d: %w", pageNum, err)
	}
	return page, nil
}

// classify returns the unknown-lookup error of an answer that is not a
// relayed MIIT success, and nil for one that the MIIT parser should read.
func classify(status int, body []byte) error {
	if err := antibot.Check(status, body); err != nil {
		return err
	}
	var env struct {
		Code    *int    `json:"code"`
		Msg     string  `json:"msg"`
		Message *string `json:"message"`
		Error   string  `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Code == nil {
		if status == http.StatusUnauthorized {
			return scraper.Unknown(scraper.AuthFailed, fmt.Errorf("HTTP %d from the service", status))
		}
		if status >= 500 {
			return scraper.Unknown(scraper.ServerError, fmt.Errorf("HTTP %d from the service", status))
		}
		return scraper.Unknown(scraper.Unparseable, fmt.Errorf("HTTP %d: not a service answer", status))
	}
	msg := env.Msg
	if env.Message != nil {
		msg = *env.Message
	}
	if env.Error != "" {
		msg += ": " + env.Error
	}
	code := *env.Code
	switch {
	case code == 200 && status == http.StatusOK:
		return nil // a relayed MIIT answer, parsed by miit.ParseQueryPage
	case code == 200 && status >= 500:
		return scraper.Unknown(scraper.ServerError, fmt.Errorf("HTTP %d with a success answer", status))
	case code == 200:
		return scraper.Unknown(scraper.Unparseable, fmt.Errorf("HTTP %d with a success answer", status))
	case code == 401 || status == http.StatusUnauthorized:
		return scraper.Unknown(scraper.AuthFailed, fmt.Errorf("code %d: %s", code, msg))
	case code == 429:
		return scraper.Unknown(scraper.RateLimited, fmt.Errorf("code 429: %s", msg))
	case strings.Contains(msg, "创宇盾"):
		return scraper.Unknown(scraper.WAFBlocked, fmt.Errorf("code %d: %s", code, msg))
	case strings.Contains(msg, "请求验证码时失败"):
		// The captcha image did not come: the 2026 ban symptom (HG-ha #33, #37).
		return scraper.Unknown(scraper.RateLimited, fmt.Errorf("code %d: %s", code, msg))
	case strings.Contains(msg, "验证码") || strings.Contains(msg, "滑块"):
		return scraper.Unknown(scraper.CaptchaFailed, fmt.Errorf("code %d: %s", code, msg))
	case env.Message == nil && env.Msg == "" && code == 500:
		// check_img failed before any message: the token step failed.
		return scraper.Unknown(scraper.AuthFailed, errors.New("code 500 without a message: the service could not get a MIIT token"))
	default:
		return scraper.Unknown(scraper.ServerError, fmt.Errorf("code %d: %s", code, msg))
	}
}
