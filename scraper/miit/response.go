package miit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/antibot"
)

// step names a request of the handshake, in errors and logs.
type step string

const (
	stepAuth    step = "auth"
	stepCaptcha step = "getCheckImagePoint"
	stepCheck   step = "checkImage"
	stepQuery   step = "queryByCondition"
)

var (
	// errTokenRejected marks JSON code 401 on a token-bearing request: the
	// token expired, and one refresh may help.
	errTokenRejected = errors.New("token rejected")
	// errSignRefused marks a query whose sign was not accepted ("请求非法,验证码不匹配").
	errSignRefused = errors.New("sign refused")
)

// envelope is the wrapper of every MIIT answer (PROTOCOL.md §6).
type envelope struct {
	Code    *int            `json:"code"`
	Msg     string          `json:"msg"`
	Success *bool           `json:"success"`
	Params  json.RawMessage `json:"params"`
}

// decode classifies one answer by its content (PROTOCOL.md §8) and
// returns the params of a successful one. Most MIIT errors come as HTTP 200,
// so the status code alone decides nothing but anti-bot answers.
func decode(st step, status int, body []byte) (json.RawMessage, error) {
	if err := antibot.Check(status, body); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if st == stepCaptcha && status == http.StatusOK {
			// The 2026 ban: getCheckImagePoint answers 200 with nothing after
			// ~150–180 queries (PROTOCOL.md §7.3). It is a throttle on
			// this client, not a block page, so it counts as rate_limited and
			// makes the polite wrapper back off.
			return nil, scraper.Unknown(scraper.RateLimited, errors.New("empty captcha answer (the 2026 ban symptom)"))
		}
		return nil, scraper.Unknown(byStatus(status), fmt.Errorf("empty answer (HTTP %d)", status))
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Code == nil {
		if status != http.StatusOK {
			return nil, scraper.Unknown(byStatus(status), fmt.Errorf("HTTP %d: %s", status, snippet(body)))
		}
		return nil, scraper.Unknown(scraper.Unparseable, fmt.Errorf("not a MIIT JSON answer: %s", snippet(body)))
	}
	msg := env.Msg
	switch code := *env.Code; {
	case code == 401 && st == stepAuth:
		return nil, scraper.Unknown(scraper.AuthFailed, fmt.Errorf("code 401: %s", msg))
	case code == 401:
		return nil, scraper.Unknown(scraper.AuthFailed, fmt.Errorf("%w: code 401: %s", errTokenRejected, msg))
	case code == 429:
		return nil, scraper.Unknown(scraper.RateLimited, fmt.Errorf("code 429: %s", msg))
	case strings.Contains(msg, "验证码"):
		return nil, scraper.Unknown(scraper.CaptchaFailed, fmt.Errorf("%w: code %d: %s", errSignRefused, code, msg))
	case code == 415:
		// Our request's format was refused: the protocol moved under us.
		return nil, scraper.Unknown(scraper.ServerError, fmt.Errorf("code 415: %s", msg))
	case code != 200:
		return nil, scraper.Unknown(scraper.ServerError, fmt.Errorf("code %d: %s", code, msg))
	case env.Success == nil:
		return nil, scraper.Unknown(scraper.Unparseable, errors.New("code 200 without success"))
	case !*env.Success && st == stepCheck:
		return nil, scraper.Unknown(scraper.CaptchaFailed, fmt.Errorf("captcha answer refused: %s", msg))
	case !*env.Success:
		return nil, scraper.Unknown(scraper.ServerError, fmt.Errorf("code 200, success false: %s", msg))
	case status != http.StatusOK:
		return nil, scraper.Unknown(byStatus(status), fmt.Errorf("HTTP %d with a success answer", status))
	}
	return env.Params, nil
}

func byStatus(status int) scraper.Reason {
	if status >= 500 {
		return scraper.ServerError
	}
	return scraper.Unparseable
}

// snippet shows the start of a body in an error message.
func snippet(b []byte) string {
	const n = 120
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return fmt.Sprintf("%q…", b)
	}
	return fmt.Sprintf("%q", b)
}

// Page is one page of a queryByCondition answer.
type Page struct {
	Records []scraper.Record
	Total   int // records matching the query, over all pages
	PageNum int // the page the server says it returned; 0 if it did not say
}

// listItem holds the fields of a list entry that icpmon uses.
type listItem struct {
	Domain           string `json:"domain"`
	MainLicence      string `json:"mainLicence"`
	ServiceLicence   string `json:"serviceLicence"`
	ServiceName      string `json:"serviceName"`
	UnitName         string `json:"unitName"`
	UpdateRecordTime string `json:"updateRecordTime"`
}

// ParseQueryPage parses a queryByCondition answer (HTTP 200) into a page of
// records of serviceType. Only success:true with a list and a total that agree
// is a page; an empty page is one with total 0 and list []. Anything else is
// an unknown-lookup error.
func ParseQueryPage(body []byte, serviceType int) (Page, error) {
	params, err := decode(stepQuery, http.StatusOK, body)
	if err != nil {
		return Page{}, err
	}
	return parseParams(params, serviceType)
}

func parseParams(params json.RawMessage, serviceType int) (Page, error) {
	var p struct {
		List    *[]listItem `json:"list"`
		Total   *int        `json:"total"`
		PageNum int         `json:"pageNum"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return Page{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("query params: %w", err))
	}
	if p.List == nil || p.Total == nil {
		return Page{}, scraper.Unknown(scraper.Unparseable, errors.New("query params without list or total"))
	}
	list, total := *p.List, *p.Total
	// An empty list with records to show is never a page icpmon asked for.
	if total < 0 || len(list) > total || (total > 0) != (len(list) > 0) {
		return Page{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("list of %d records disagrees with total %d", len(list), total))
	}
	page := Page{Total: total, PageNum: p.PageNum, Records: make([]scraper.Record, 0, len(list))}
	for i, it := range list {
		licence := strings.TrimSpace(it.ServiceLicence)
		if licence == "" {
			return Page{}, scraper.Unknown(scraper.Unparseable, fmt.Errorf("record %d without serviceLicence", i))
		}
		main := strings.TrimSpace(it.MainLicence)
		if main == "" {
			main = scraper.MainLicenceOf(licence)
		}
		page.Records = append(page.Records, scraper.Record{
			Licence: licence, MainLicence: main, Domain: strings.TrimSpace(it.Domain),
			UnitName: it.UnitName, ServiceName: it.ServiceName, ServiceType: serviceType,
			ApprovedAt: it.UpdateRecordTime,
		})
	}
	return page, nil
}

// Collector gathers the pages of one lookup and checks that they agree.
// It is shared by the providers that speak MIIT's answer format.
type Collector struct {
	pages   int
	total   int
	records []scraper.Record
}

// NextPage is the page number to ask for next, from 1.
func (c *Collector) NextPage() int { return c.pages + 1 }

// Add takes the page asked for by NextPage and reports whether another page
// must be fetched. Pages that contradict each other are unparseable.
func (c *Collector) Add(p Page) (more bool, err error) {
	want := c.NextPage()
	switch {
	case p.PageNum != 0 && p.PageNum != want:
		return false, scraper.Unknown(scraper.Unparseable, fmt.Errorf("asked for page %d, got page %d", want, p.PageNum))
	case c.pages > 0 && p.Total != c.total:
		return false, scraper.Unknown(scraper.Unparseable, fmt.Errorf("total changed from %d to %d between pages", c.total, p.Total))
	case c.pages > 0 && len(p.Records) == 0:
		return false, scraper.Unknown(scraper.Unparseable, fmt.Errorf("page %d is empty with %d of %d records read", want, len(c.records), c.total))
	}
	c.pages++
	c.total = p.Total
	c.records = append(c.records, p.Records...)
	if len(c.records) > c.total {
		return false, scraper.Unknown(scraper.Unparseable, fmt.Errorf("%d records read, total says %d", len(c.records), c.total))
	}
	return len(c.records) < c.total, nil
}

// Answer is the answer once Add reported no more pages: every page was read
// and the count agrees with the total (Add checks both), and a total of 0 is
// MIIT's explicit "no record".
func (c *Collector) Answer() scraper.Answer {
	return scraper.Answer{Records: c.records, NoRecord: c.pages > 0 && c.total == 0, Complete: c.pages > 0}
}
