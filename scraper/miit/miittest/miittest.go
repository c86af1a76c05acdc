// Package miittest is a local simulator of the MIIT public query API
// (hlwicpfwc.miit.gov.cn/icpproject_query/api, ../PROTOCOL.md): the four-step
// handshake, its slider captcha (and the variants a solver must survive,
// also drawn by GeneratePuzzle), token and sign lifetimes, pagination,
// rate limiting, a rate-triggered silent ban, the 创宇盾 WAF page and
// injected faults. Tests, the end-to-end test and benchmarks run the real
// MIIT client against it.
//
// Where the real API's behaviour is not documented, the simulator is strict
// (it refuses what a careless client might get away with) and says so.
package miittest

import (
	"fmt"
	"image/color"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/icpmon/icpmon/scraper"
)

// APIPath is where the API root sits on the simulator, as on the real host.
const APIPath = "/icpproject_query/api"

// DefaultTolerance is how far a captcha answer may miss the gap: ±3 px, as
// tools report of the real checkImage (../PROTOCOL.md §3).
const DefaultTolerance = 3

// Endpoints, as counted by Requests and targeted by Fault.
const (
	Auth         = "auth"
	CaptchaImage = "getCheckImagePoint"
	CheckImage   = "checkImage"
	Query        = "queryByCondition"
)

// Options configures a Server. Zero values take the defaults in brackets.
type Options struct {
	// TokenTTL is the token lifetime, advertised as params.expire and put in
	// its "e" claim [5m].
	TokenTTL time.Duration
	// SignTTL is how long a sign from checkImage is accepted [2m].
	SignTTL time.Duration
	// SignUses is how many queries one sign may serve; 0 means any number
	// within SignTTL.
	SignUses int
	// ChallengeTTL is how long a captcha may take to answer [1m].
	ChallengeTTL time.Duration
	// Tolerance is how many pixels an answer may miss the gap by
	// [DefaultTolerance].
	Tolerance int
	// RateLimit answers JSON code 429 to every request past RateLimit within
	// one RateWindow; 0 means no limit.
	RateLimit  int
	RateWindow time.Duration
	// Width, Height and Piece size the captcha images [480, 240, 72]; Piece
	// is the gap's side.
	Width, Height, Piece int

	// Captcha variants (see Variant), drawn per puzzle; the defaults draw the
	// 2026 MIIT captcha.

	// PieceMax, above Piece, draws each gap's side from [Piece, PieceMax].
	PieceMax int
	// Margin is the transparent margin around the piece in the small PNG
	// [0].
	Margin Span
	// GapStyles and GapColours are drawn from for each gap [flat; the
	// style's default colour].
	GapStyles  []GapStyle
	GapColours []color.NRGBA
	// HeightOffset is added to params.height [0]; HideHeight sends 0.
	HeightOffset Span
	HideHeight   bool

	// SilentBanAfter starts a silent ban when more than SilentBanAfter
	// queryByCondition requests arrive within SilentBanWindow [1m]: for
	// SilentBanFor [5m] every well-formed query, the canary's too, gets a
	// normal-looking success with total 0 and an empty list
	// (../PROTOCOL.md §7.4). Requests made during a ban count towards the
	// next one. 0 means never.
	SilentBanAfter  int
	SilentBanWindow time.Duration
	SilentBanFor    time.Duration

	// MaxPageSize is the largest pageSize accepted [26]; larger is refused
	// with code 500.
	MaxPageSize int
	// Seed makes images, uuids and tokens reproducible; 0 picks one at random.
	Seed uint64
	// Now is the clock for every lifetime [time.Now].
	Now func() time.Time
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.TokenTTL, 5*time.Minute)
	def(&o.SignTTL, 2*time.Minute)
	def(&o.ChallengeTTL, time.Minute)
	def(&o.RateWindow, time.Minute)
	def(&o.SilentBanWindow, time.Minute)
	def(&o.SilentBanFor, 5*time.Minute)
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	defInt(&o.Tolerance, DefaultTolerance)
	defInt(&o.Width, 480)
	defInt(&o.Height, 240)
	defInt(&o.Piece, 72)
	defInt(&o.MaxPageSize, 26)
	if o.Seed == 0 {
		o.Seed = rand.Uint64() // #nosec G404 -- a simulator's seed, not a secret
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Server is a running simulator. All its methods are safe for concurrent use.
type Server struct {
	// URL is the API root, e.g. http://127.0.0.1:40123/icpproject_query/api.
	URL string

	opts Options
	http *httptest.Server

	mu         sync.Mutex
	rng        *rand.Rand
	records    []record
	nextID     int64
	tokens     map[string]time.Time // token → expiry
	challenges map[string]*challenge
	signs      map[string]*sign
	faults     []*Fault
	requests   map[string]int
	window     time.Time // start of the current rate-limit window
	inWindow   int
	ban        silentBan
}

type record struct {
	scraper.Record
	mainID, domainID, serviceID int64
}

// New starts a simulator on a loopback port. Close it when done.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL + APIPath
	return s
}

// NewHandler returns a simulator that is not listening, for mounting its
// ServeHTTP elsewhere; its URL is empty.
func NewHandler(opts Options) *Server {
	opts.defaults()
	return &Server{
		opts:       opts,
		rng:        rand.New(rand.NewPCG(opts.Seed, opts.Seed>>1|1)), // #nosec G404 -- a simulator: reproducible by design
		nextID:     10000000,
		tokens:     map[string]time.Time{},
		challenges: map[string]*challenge{},
		signs:      map[string]*sign{},
		requests:   map[string]int{},
	}
}

// Close stops the listener started by New.
func (s *Server) Close() {
	if s.http != nil {
		s.http.Close()
	}
}

// AddRecord files a record. ServiceType 0 means 1 (website); an empty
// MainLicence is derived from Licence.
func (s *Server) AddRecord(r scraper.Record) {
	if r.ServiceType == 0 {
		r.ServiceType = 1
	}
	if r.MainLicence == "" {
		r.MainLicence = scraper.MainLicenceOf(r.Licence)
	}
	if r.ApprovedAt == "" {
		r.ApprovedAt = "2021-08-16 13:55:56"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mainID := int64(0)
	for _, old := range s.records {
		if old.MainLicence == r.MainLicence {
			mainID = old.mainID
		}
	}
	if mainID == 0 {
		s.nextID++
		mainID = s.nextID
	}
	s.nextID += 2
	s.records = append(s.records, record{Record: r, mainID: mainID, domainID: s.nextID - 1, serviceID: s.nextID})
}

// DeleteLicence removes the records filed under licence: one website's
// record for a "-N" number, every record of the subject for a subject
// number. It returns how many records went.
func (s *Server) DeleteLicence(licence string) int {
	licence = compact(licence)
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.records[:0]
	for _, r := range s.records {
		if r.Licence != licence && r.MainLicence != licence {
			kept = append(kept, r)
		}
	}
	n := len(s.records) - len(kept)
	clear(s.records[len(kept):])
	s.records = kept
	return n
}

// Requests returns how many requests each endpoint has received, faulted
// and refused ones included.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// ExpireTokens makes every issued token expired, as if its lifetime had run out.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint, ok := endpointOf(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.requests[endpoint]++
	fault := s.takeFault(endpoint)
	limited := s.overLimit()
	banned := endpoint == Query && s.countForBan()
	s.mu.Unlock()

	if fault != nil && s.serveFault(w, r, endpoint, fault) {
		return
	}
	if limited {
		writeJSON(w, rateLimited())
		return
	}
	s.serveEndpoint(w, r, endpoint, fault, banned)
}

// serveEndpoint answers as the endpoint does, with fault (nil for none)
// and a ban in force applied.
func (s *Server) serveEndpoint(w http.ResponseWriter, r *http.Request, endpoint string, fault *Fault, banned bool) {
	switch endpoint {
	case Auth:
		s.serveAuth(w, r)
	case CaptchaImage:
		s.serveCaptcha(w, r)
	case CheckImage:
		s.serveCheck(w, r, fault)
	case Query:
		s.serveQuery(w, r, fault, banned)
	}
}

func endpointOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, APIPath+"/")
	if !ok {
		return "", false
	}
	switch strings.TrimSuffix(rest, "/") {
	case "auth":
		return Auth, true
	case "image/getCheckImagePoint":
		return CaptchaImage, true
	case "image/checkImage":
		return CheckImage, true
	case "icpAbbreviateInfo/queryByCondition":
		return Query, true
	}
	return "", false
}

// overLimit counts the request against the rate limit; s.mu is held.
func (s *Server) overLimit() bool {
	if s.opts.RateLimit <= 0 {
		return false
	}
	now := s.opts.Now()
	if now.Sub(s.window) >= s.opts.RateWindow {
		s.window, s.inWindow = now, 0
	}
	s.inWindow++
	return s.inWindow > s.opts.RateLimit
}

// envelope is the JSON wrapper of every MIIT answer.
type envelope struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	Params  any    `json:"params,omitempty"`
	Success bool   `json:"success"`
}

func success(params any) envelope {
	return envelope{Code: 200, Msg: "操作成功", Params: params, Success: true}
}

func rateLimited() envelope {
	return envelope{Code: 429, Msg: "您目前访问频次过高[访问ip：127.0.0.1], 请稍后再试。"}
}

func tokenExpired() envelope { return envelope{Code: 401, Msg: "token过期,请及时刷新页面"} }

func serverError() envelope { return envelope{Code: 500, Msg: "服务器异常"} }

func compact(s string) string { return strings.Join(strings.Fields(s), "") }

func hexString(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "%x", r.IntN(16))
	}
	return b.String()
}
