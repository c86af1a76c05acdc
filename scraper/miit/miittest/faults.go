package miittest

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// FaultKind is a misbehaviour of the real API (../PROTOCOL.md §6.3, §7).
type FaultKind string

const (
	// FaultWAF answers HTTP 403 with the 创宇盾 block page.
	FaultWAF FaultKind = "waf"
	// FaultJSChallenge answers HTTP 521 with the 加速乐 cookie challenge.
	FaultJSChallenge FaultKind = "js_challenge"
	// FaultRateLimit answers HTTP 200 JSON code 429.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultServerError answers HTTP 200 JSON code 500 服务器异常.
	FaultServerError FaultKind = "server_error"
	// FaultUnsupportedMedia answers HTTP 200 JSON code 415.
	FaultUnsupportedMedia FaultKind = "unsupported_media"
	// FaultTokenExpired answers JSON code 401 token过期 and revokes every token.
	FaultTokenExpired FaultKind = "token_expired"
	// FaultCaptchaRefused makes checkImage refuse even a right answer.
	FaultCaptchaRefused FaultKind = "captcha_refused"
	// FaultEmptyBody answers HTTP 200 with an empty body and no content
	// type: the 2026 ban symptom at getCheckImagePoint.
	FaultEmptyBody FaultKind = "empty_body"
	// FaultTruncated answers the real JSON cut in half.
	FaultTruncated FaultKind = "truncated"
	// FaultGarbage answers bytes that are no known format.
	FaultGarbage FaultKind = "garbage"
	// FaultSlow waits Delay (or until the client gives up), then answers normally.
	FaultSlow FaultKind = "slow"
	// FaultSilentEmpty makes queryByCondition answer a normal-looking empty
	// list whatever is filed: the silent ban no client can see
	// (../PROTOCOL.md §7.4), which only a canary lookup exposes.
	FaultSilentEmpty FaultKind = "silent_empty"
)

// Fault is injected into the next Count answers of Endpoint.
type Fault struct {
	Kind FaultKind
	// Endpoint is Auth, CaptchaImage, CheckImage or Query; "" means any
	// (CheckImage for FaultCaptchaRefused, Query for FaultSilentEmpty).
	Endpoint string
	// Count is how many answers it spoils; 0 means 1.
	Count int
	// Delay is FaultSlow's wait.
	Delay time.Duration
}

// Inject queues a fault. Faults apply in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Endpoint == "" {
		switch f.Kind {
		case FaultCaptchaRefused:
			f.Endpoint = CheckImage
		case FaultSilentEmpty:
			f.Endpoint = Query
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// takeFault pops one use of the first fault for endpoint; s.mu is held.
func (s *Server) takeFault(endpoint string) *Fault {
	for i, f := range s.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		f.Count--
		if f.Count == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		out := *f
		return &out
	}
	return nil
}

// serveFault answers with the fault and reports whether it did; faults that
// alter a normal answer (refused captcha, silent empty, slow) return false
// after their effect.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, endpoint string, f *Fault) bool {
	switch f.Kind {
	case FaultWAF:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(KnownsecBlockPage))
	case FaultJSChallenge:
		writeJSChallenge(w)
	case FaultRateLimit:
		writeJSON(w, rateLimited())
	case FaultServerError:
		writeJSON(w, serverError())
	case FaultUnsupportedMedia:
		writeJSON(w, envelope{Code: 415, Msg: "参数异常,content_type_not_supported"})
	case FaultTokenExpired:
		s.ExpireTokens()
		writeJSON(w, tokenExpired())
	case FaultEmptyBody:
		w.Header()["Content-Type"] = nil // no content type at all, as observed
		w.WriteHeader(http.StatusOK)
	case FaultTruncated:
		rec := &bufferedWriter{header: http.Header{}}
		s.serveEndpoint(rec, r, endpoint, nil, false)
		body := rec.body.Bytes()
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
	case FaultGarbage:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("\x1f\x8b\x08\x00garbage\x00\xff<html><body>502 Bad Gateway"))
	case FaultSlow:
		// Reading the body first lets net/http notice a client that hangs up.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
		}
		return false
	default: // FaultCaptchaRefused, FaultSilentEmpty: the endpoint handlers apply them
		return false
	}
	return true
}

// bufferedWriter captures an answer so a fault can spoil it.
type bufferedWriter struct {
	header http.Header
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(int)             {}

// KnownsecBlockPage is the 创宇盾 block page the simulator serves, built from
// the markers quoted in ../PROTOCOL.md §7.1 (synthetic: no full capture exists).
const KnownsecBlockPage = `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>403</title></head>
<body><div id="error_403" class="wrap">
<div class="title">当前访问疑似黑客攻击，已被创宇盾拦截。</div>
<a href="http://www.365cyd.com" target="_blank">http://www.365cyd.com</a>
</div>
<script>var data = {"rule_id":"80048","error_403_en":"Knownsec CloudWAF: Your request has been blocked due to suspected hacking"};</script>
</body></html>
`

// writeJSChallenge answers like 加速乐 to a client without its cookie.
func writeJSChallenge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(521)
	_, _ = w.Write([]byte(`<html><body><script>document.cookie=('__jsl_clearance_s=')+('1764200000.123|0|abcdef');location.href=location.pathname+location.search</script></body></html>`))
}
