package miit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/antibot"
	"github.com/icpmon/icpmon/scraper/captcha"
)

// session is one lookup's view of the handshake: its token, and the
// captcha uuid and sign that authorise its queries. A refused captcha is never
// retried with the same uuid.
type session struct {
	c         *Client
	token     string
	uuid      string
	sign      string
	signUses  int
	refreshed bool // the one token refresh a lookup may make
}

// handshake gets a token if needed and solves a fresh captcha, refreshing
// the token once if the server says it expired.
func (s *session) handshake(ctx context.Context) error {
	for {
		if s.token == "" {
			if err := s.getToken(ctx, ""); err != nil {
				return err
			}
		}
		err := s.solveCaptcha(ctx)
		if isTokenRejected(err) && !s.refreshed {
			if err := s.refresh(ctx); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// refresh replaces the rejected token and drops the sign, which belonged to it.
func (s *session) refresh(ctx context.Context) error {
	s.refreshed = true
	if err := s.getToken(ctx, s.token); err != nil {
		return err
	}
	s.uuid, s.sign, s.signUses = "", "", 0
	return nil
}

// getToken takes a token from the client's cache, stale being one a server
// just rejected, and reports the auth step: which token, until when.
func (s *session) getToken(ctx context.Context, stale string) error {
	start := time.Now()
	t, err := s.c.tokens.get(ctx, stale)
	if err != nil {
		s.trace(ctx, "auth", start, "", err)
		return err
	}
	if scraper.Tracing(ctx) {
		detail := "cached token"
		switch {
		case stale != "" && t.fetched:
			detail = "new token, the last one rejected"
		case t.fetched:
			detail = "token obtained"
		}
		s.trace(ctx, "auth", start, detail+", in use until "+t.renewAt.Format(time.TimeOnly), nil)
	}
	s.token = t.token
	return nil
}

// solveCaptcha: getCheckImagePoint, the solver, checkImage. Each captcha
// that gets as far as the solver has one outcome (outcome.go).
func (s *session) solveCaptcha(ctx context.Context) error {
	puzzle, id, err := s.fetchCaptcha(ctx)
	if err != nil {
		return err
	}

	start := time.Now()
	x, err := s.c.solver.Solve(ctx, puzzle)
	if err != nil {
		outcome, detail := captchaSolverError, "failed"
		if errors.Is(err, captcha.ErrNoGuess) {
			outcome, detail = CaptchaNoGuess, "no guess"
		}
		s.trace(ctx, "solve", start, detail, err)
		s.c.captchaOutcome(outcome, id, puzzle, nil, err)
		return scraper.Unknown(scraper.CaptchaFailed, fmt.Errorf("solving the slider: %w", err))
	}
	if scraper.Tracing(ctx) {
		s.trace(ctx, "solve", start, "x="+strconv.Itoa(x), nil)
	}

	start = time.Now()
	sign, err := s.check(ctx, id, x)
	switch {
	case err == nil:
		s.trace(ctx, "check", start, "accepted", nil)
		s.c.captchaOutcome(CaptchaSolved, id, puzzle, &x, nil)
	case scraper.ReasonOf(err) == scraper.CaptchaFailed:
		s.trace(ctx, "check", start, "refused", err)
		s.c.captchaOutcome(CaptchaRefused, id, puzzle, &x, err)
		return err
	default: // no verdict on the answer: the request failed
		s.trace(ctx, "check", start, "", err)
		return err
	}
	s.uuid, s.sign, s.signUses = id, sign, 0
	return nil
}

// fetchCaptcha runs getCheckImagePoint and reports the captcha step.
func (s *session) fetchCaptcha(ctx context.Context) (captcha.Puzzle, string, error) {
	start := time.Now()
	puzzle, id, err := s.getCaptcha(ctx)
	if err != nil {
		s.trace(ctx, "captcha", start, "", err)
		return captcha.Puzzle{}, "", err
	}
	if scraper.Tracing(ctx) {
		bw, bh := pngSize(puzzle.Big)
		pw, ph := pngSize(puzzle.Small)
		s.trace(ctx, "captcha", start, fmt.Sprintf("background %d×%d (%d B), piece %d×%d (%d B), height %d",
			bw, bh, len(puzzle.Big), pw, ph, len(puzzle.Small), puzzle.Height), nil)
	}
	return puzzle, id, nil
}

func (s *session) getCaptcha(ctx context.Context) (captcha.Puzzle, string, error) {
	reqBody, _ := json.Marshal(map[string]string{"clientUid": "point-" + uuid.NewString()})
	status, body, err := s.c.post(ctx, stepCaptcha, "/image/getCheckImagePoint", "application/json", reqBody, s.tokenHeader())
	if err != nil {
		return captcha.Puzzle{}, "", err
	}
	if puzzle, id, ok := quickPuzzle(status, body); ok {
		return puzzle, id, nil
	}
	params, err := decode(stepCaptcha, status, body)
	if err != nil {
		return captcha.Puzzle{}, "", fmt.Errorf("%s: %w", stepCaptcha, err)
	}
	puzzle, id, err := parsePuzzle(params)
	if err != nil {
		return captcha.Puzzle{}, "", fmt.Errorf("%s: %w", stepCaptcha, err)
	}
	return puzzle, id, nil
}

// check sends the solver's answer to checkImage and returns the sign.
func (s *session) check(ctx context.Context, id string, x int) (string, error) {
	reqBody, _ := json.Marshal(map[string]string{"key": id, "value": strconv.Itoa(x)})
	status, body, err := s.c.post(ctx, stepCheck, "/image/checkImage", "application/json", reqBody, s.tokenHeader())
	if err != nil {
		return "", err
	}
	params, err := decode(stepCheck, status, body)
	if err != nil {
		return "", fmt.Errorf("%s: %w", stepCheck, err)
	}
	var sign string // on success params is the sign itself
	if err := json.Unmarshal(params, &sign); err != nil || sign == "" {
		return "", scraper.Unknown(scraper.Unparseable, fmt.Errorf("%s: no sign in %s", stepCheck, snippet(params)))
	}
	return sign, nil
}

// puzzleParams are the params of a getCheckImagePoint answer.
type puzzleParams struct {
	UUID       string `json:"uuid"`
	BigImage   string `json:"bigImage"`
	SmallImage string `json:"smallImage"`
	Height     *int   `json:"height"`
}

// quickPuzzle reads a plainly successful getCheckImagePoint answer in one
// decoding pass. Its two base64 images are nearly all of it, and decode then
// parsePuzzle would scan them four times: most of a lookup's CPU in the
// profile of BenchmarkLookup. Any other answer is not ok, and goes the way of
// every answer through decode, which classifies it.
func quickPuzzle(status int, body []byte) (captcha.Puzzle, string, bool) {
	if status != http.StatusOK || antibot.Check(status, body) != nil {
		return captcha.Puzzle{}, "", false
	}
	var ans struct {
		Code    *int         `json:"code"`
		Msg     string       `json:"msg"`
		Success *bool        `json:"success"`
		Params  puzzleParams `json:"params"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Code == nil || *ans.Code != 200 ||
		ans.Success == nil || !*ans.Success || strings.Contains(ans.Msg, "验证码") {
		return captcha.Puzzle{}, "", false
	}
	p := ans.Params
	if p.UUID == "" || p.Height == nil {
		return captcha.Puzzle{}, "", false
	}
	big, err1 := decodeImage(p.BigImage)
	small, err2 := decodeImage(p.SmallImage)
	if err1 != nil || err2 != nil {
		return captcha.Puzzle{}, "", false
	}
	return captcha.Puzzle{Big: big, Small: small, Height: *p.Height}, p.UUID, true
}

func parsePuzzle(params json.RawMessage) (captcha.Puzzle, string, error) {
	var p puzzleParams
	if err := json.Unmarshal(params, &p); err != nil || p.UUID == "" || p.Height == nil {
		return captcha.Puzzle{}, "", scraper.Unknown(scraper.Unparseable, fmt.Errorf("no captcha in %s", snippet(params)))
	}
	big, err1 := decodeImage(p.BigImage)
	small, err2 := decodeImage(p.SmallImage)
	if err1 != nil || err2 != nil {
		return captcha.Puzzle{}, "", scraper.Unknown(scraper.Unparseable, fmt.Errorf("captcha images are not base64 PNG (%v, %v)", err1, err2))
	}
	return captcha.Puzzle{Big: big, Small: small, Height: *p.Height}, p.UUID, nil
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngSize reads a PNG's width and height from its IHDR chunk, which must
// come first; 0, 0 if it does not. Cheaper than image.DecodeConfig for a
// trace line.
func pngSize(b []byte) (width, height int) {
	if len(b) < 24 || !bytes.HasPrefix(b, pngSignature) || string(b[12:16]) != "IHDR" {
		return 0, 0
	}
	return int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24])) // #nosec G115 -- shown in a trace line only
}

// decodeImage reads plain base64 PNG, tolerating a data: URL prefix.
func decodeImage(s string) ([]byte, error) {
	if i := strings.Index(s, ";base64,"); strings.HasPrefix(s, "data:") && i >= 0 {
		s = s[i+len(";base64,"):]
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, pngSignature) {
		return nil, errors.New("not a PNG")
	}
	return b, nil
}

// query asks for one page and reports it as step "page N".
func (s *session) query(ctx context.Context, q string, pageNum int) (Page, error) {
	start := time.Now()
	page, err := s.queryPage(ctx, q, pageNum)
	name := "page " + strconv.Itoa(pageNum)
	if err != nil {
		s.trace(ctx, name, start, "", err)
		return Page{}, err
	}
	if scraper.Tracing(ctx) {
		detail := fmt.Sprintf("%d records, total %d", len(page.Records), page.Total)
		if page.Total == 0 {
			detail += ": the explicit no-record answer"
		}
		s.trace(ctx, name, start, detail, nil)
	}
	return page, nil
}

func (s *session) queryPage(ctx context.Context, q string, pageNum int) (Page, error) {
	reqBody, _ := json.Marshal(struct {
		PageNum     int    `json:"pageNum"`
		PageSize    int    `json:"pageSize"`
		UnitName    string `json:"unitName"`
		ServiceType int    `json:"serviceType"`
	}{pageNum, s.c.pageSize, q, s.c.serviceType})
	h := s.tokenHeader()
	h.Set("sign", s.sign)
	h.Set("uuid", s.uuid)
	status, body, err := s.c.post(ctx, stepQuery, "/icpAbbreviateInfo/queryByCondition", "application/json", reqBody, h)
	if err != nil {
		return Page{}, err
	}
	params, err := decode(stepQuery, status, body)
	if err != nil {
		return Page{}, fmt.Errorf("%s page %d: %w", stepQuery, pageNum, err)
	}
	page, err := parseParams(params, s.c.serviceType)
	if err != nil {
		return Page{}, fmt.Errorf("%s page %d: %w", stepQuery, pageNum, err)
	}
	return page, nil
}

// trace reports one step of this lookup to the context's tracer, if any.
func (s *session) trace(ctx context.Context, name string, start time.Time, detail string, err error) {
	scraper.Trace(ctx, scraper.Step{Provider: s.c.Name(), Name: name, Took: time.Since(start), Detail: detail, Err: err})
}

func (s *session) tokenHeader() http.Header {
	h := http.Header{}
	h.Set("token", s.token)
	return h
}

func isTokenRejected(err error) bool { return errors.Is(err, errTokenRejected) }

// post sends one request with the headers the web front end sends and reads
// the answer through the size limit. Transport failures are network errors.
func (c *Client) post(ctx context.Context, st step, path, contentType string, body []byte, h http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", st, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json, text/plain, */*")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Origin", "https://beian.miit.gov.cn")
	req.Header.Set("Referer", "https://beian.miit.gov.cn/")
	req.Header.Set("Cookie", c.cookie)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, scraper.Unknown(scraper.NetworkError, fmt.Errorf("%s: %w", st, err))
	}
	defer resp.Body.Close()
	b, err := scraper.ReadBody(resp.Body, c.maxBody)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", st, err)
	}
	c.log.Debug("miit answer", "step", string(st), "status", resp.StatusCode, "bytes", len(b))
	return resp.StatusCode, b, nil
}
