package miittest

import (
	"crypto/md5" // #nosec G501 -- the MIIT protocol's authKey
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authSkew is how far the client's timeStamp may stray from the server's clock.
const authSkew = 10 * time.Minute

// testUser is md5("test"), the "u" claim of every token (../PROTOCOL.md §2.1).
const testUser = "098f6bcd4621d373cade4e832627b4f6"

type challenge struct {
	x, y    int
	token   string
	created time.Time
}

type sign struct {
	uuid    string
	token   string
	expires time.Time
	uses    int
}

// serveAuth: POST /auth, form authKey=md5("testtest"+timeStamp)&timeStamp=<ms>.
func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeJSON(w, envelope{Code: 401, Msg: "没有通过身份验证"})
		return
	}
	ts := r.PostForm.Get("timeStamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	sum := md5.Sum([]byte("testtest" + ts)) // #nosec G401 -- checks the MIIT API's authKey, an MD5 by protocol
	now := s.opts.Now()
	if err != nil || r.PostForm.Get("authKey") != hex.EncodeToString(sum[:]) ||
		absDuration(now.Sub(time.UnixMilli(ms))) > authSkew {
		writeJSON(w, envelope{Code: 401, Msg: "没有通过身份验证"})
		return
	}
	expires := now.Add(s.opts.TokenTTL)
	s.mu.Lock()
	token := jwtLike(s.hex(32), map[string]any{"type": 1, "u": testUser, "s": now.UnixMilli(), "e": expires.UnixMilli()})
	refresh := jwtLike(s.hex(32), map[string]any{"type": 2, "u": testUser, "s": now.UnixMilli(), "e": expires.Add(time.Hour).UnixMilli()})
	s.tokens[token] = expires
	s.mu.Unlock()
	writeJSON(w, success(map[string]any{
		"bussiness": token, // sic, as the real API spells it
		"expire":    s.opts.TokenTTL.Milliseconds(),
		"refresh":   refresh,
	}))
}

// serveCaptcha: POST /image/getCheckImagePoint {"clientUid":"point-<uuid>"}, header token.
func (s *Server) serveCaptcha(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("token")
	var body struct {
		ClientUID string `json:"clientUid"`
	}
	if !s.tokenValid(token) {
		writeJSON(w, tokenExpired())
		return
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || !strings.HasPrefix(body.ClientUID, "point-") {
		writeJSON(w, serverError())
		return
	}
	s.mu.Lock()
	seed := s.rng.Uint64()
	id := s.uuid()
	s.mu.Unlock()
	p := s.puzzle(seed)
	s.mu.Lock()
	s.challenges[id] = &challenge{x: p.GapX, y: p.GapY, token: token, created: s.opts.Now()}
	s.mu.Unlock()
	writeJSON(w, success(map[string]any{
		"uuid":       id,
		"bigImage":   base64.StdEncoding.EncodeToString(p.Big),
		"smallImage": base64.StdEncoding.EncodeToString(p.Small),
		"height":     p.Height,
		"wide":       s.opts.Width,
	}))
}

// serveCheck: POST /image/checkImage {"key":<uuid>,"value":"<x>"}, header
// token. A uuid gets one answer, right or wrong: the client must fetch a new
// image after a refusal.
func (s *Server) serveCheck(w http.ResponseWriter, r *http.Request, fault *Fault) {
	token := r.Header.Get("token")
	if !s.tokenValid(token) {
		writeJSON(w, tokenExpired())
		return
	}
	var body struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil {
		writeJSON(w, serverError())
		return
	}
	x, err := strconv.Atoi(body.Value)
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.challenges[body.Key]
	delete(s.challenges, body.Key)
	refused := fault != nil && fault.Kind == FaultCaptchaRefused
	if c == nil || c.token != token || err != nil || refused ||
		now.Sub(c.created) > s.opts.ChallengeTTL || absInt(x-c.x) > s.opts.Tolerance {
		writeJSON(w, envelope{Code: 200, Msg: "验证失败", Success: false})
		return
	}
	expires := now.Add(s.opts.SignTTL)
	sg := jwtLike(s.hex(32), map[string]any{"type": 3, "extData": map[string]string{"vafycode_image_key": body.Key}, "e": expires.UnixMilli()})
	s.signs[sg] = &sign{uuid: body.Key, token: token, expires: expires}
	writeJSON(w, envelope{Code: 200, Msg: "操作成功", Params: sg, Success: true})
}

// useSign checks the query's sign and uuid headers and counts one use.
func (s *Server) useSign(token, sg, uuid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.signs[sg]
	if v == nil || v.uuid != uuid || v.token != token || s.opts.Now().After(v.expires) {
		return false
	}
	v.uses++
	if s.opts.SignUses > 0 && v.uses >= s.opts.SignUses {
		delete(s.signs, sg)
	}
	return true
}

func (s *Server) tokenValid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, found := s.tokens[token]
	return found && s.opts.Now().Before(exp)
}

// hex and uuid draw from the seeded generator; s.mu is held.
func (s *Server) hex(n int) string { return hexString(s.rng, n) }

func (s *Server) uuid() string {
	h := s.hex(32)
	return fmt.Sprintf("%s-%s-4%s-a%s-%s", h[:8], h[8:12], h[13:16], h[17:20], h[20:])
}

// jwtLike builds header.payload.signature as the real token and sign look.
func jwtLike(sig string, claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + enc.EncodeToString(payload) + "." + sig
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
