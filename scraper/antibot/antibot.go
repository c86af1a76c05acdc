// Package antibot recognises answers that come from the anti-bot layer in
// front of a public query rather than from the query itself: WAF block pages,
// JavaScript cookie challenges and throttling statuses. Such an answer proves
// nothing about a filing.
//
// What it knows, and from where:
//   - 创宇盾 (Knownsec CloudWAF), in front of MIIT: HTTP 403 with an HTML
//     page; its markers are in scraper/miit/PROTOCOL.md §7.1.
//   - 加速乐 (Knownsec's CDN): HTTP 521 is its JavaScript cookie challenge
//     (PROTOCOL.md §7.2).
//   - Alibaba Cloud WAF, in front of beianx.cn: a JavaScript challenge that
//     sets the acw_sc__v2 cookie, a body of about 1.3 KB holding arg1='…'
//     (public beianx.cn scrapers that solve it).
//   - icp.chinaz.com: 403 means the IP is banned, 412 a slider verification
//     (wgpsec/ENScan_GO internal/app/chinaz/icp.go).
package antibot

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/icpmon/icpmon/scraper"
)

// blockMarkers are strings of the 创宇盾 (Knownsec CloudWAF) block page and of
// the Alibaba Cloud WAF JS challenge (see the package doc). They are looked
// for only in bodies that are not JSON: a company called 知道创宇 may well
// appear in a real answer.
var blockMarkers = []struct {
	marker string
	what   string
}{
	{"当前访问疑似黑客攻击", "创宇盾 (Knownsec CloudWAF) block page"},
	{"已被创宇盾拦截", "创宇盾 (Knownsec CloudWAF) block page"},
	{`id="error_403"`, "创宇盾 (Knownsec CloudWAF) block page"},
	{"Knownsec CloudWAF", "创宇盾 (Knownsec CloudWAF) block page"},
	{"365cyd.com", "创宇盾 (Knownsec CloudWAF) block page"},
	{"acw_sc__v2", "Alibaba Cloud WAF JS challenge (acw_sc__v2)"},
}

// Check returns an unknown-lookup error when status and body are an anti-bot
// answer, and nil otherwise.
func Check(status int, body []byte) error {
	if !looksJSON(body) {
		for _, m := range blockMarkers {
			if bytes.Contains(body, []byte(m.marker)) {
				return scraper.Unknown(scraper.WAFBlocked, fmt.Errorf("%s (HTTP %d)", m.what, status))
			}
		}
	}
	switch status {
	case http.StatusTooManyRequests:
		return scraper.Unknown(scraper.RateLimited, fmt.Errorf("HTTP %d", status))
	case http.StatusForbidden:
		return scraper.Unknown(scraper.WAFBlocked, fmt.Errorf("HTTP %d", status))
	case 521: // 加速乐 answers a client without its cookie with a JS challenge
		return scraper.Unknown(scraper.WAFBlocked, fmt.Errorf("HTTP %d: JS cookie challenge", status))
	case http.StatusPreconditionFailed: // chinaz's slider verification (see the package doc)
		return scraper.Unknown(scraper.WAFBlocked, fmt.Errorf("HTTP %d: verification challenge", status))
	}
	return nil
}

func looksJSON(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n\ufeff")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
