package miittest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
)

// raw drives the simulator with plain HTTP, one step at a time.
type raw struct {
	t   *testing.T
	s   *Server
	now func() time.Time
}

type answer struct {
	Status  int
	Code    int             `json:"code"`
	Msg     string          `json:"msg"`
	Success bool            `json:"success"`
	Params  json.RawMessage `json:"params"`
	Body    []byte
}

func (r raw) post(path, contentType string, body []byte, h map[string]string) answer {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.s.URL+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Body: b}
	_ = json.Unmarshal(b, &a)
	return a
}

func (r raw) auth(ts int64) answer {
	r.t.Helper()
	s := strconv.FormatInt(ts, 10)
	sum := md5.Sum([]byte("testtest" + s))
	form := url.Values{"authKey": {hex.EncodeToString(sum[:])}, "timeStamp": {s}}
	return r.post("/auth", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
}

func (r raw) token() string {
	r.t.Helper()
	a := r.auth(r.now().UnixMilli())
	var p struct {
		Token  string `json:"bussiness"`
		Expire int64  `json:"expire"`
	}
	if err := json.Unmarshal(a.Params, &p); err != nil || p.Token == "" || p.Expire <= 0 {
		r.t.Fatalf("auth answer %s", a.Body)
	}
	return p.Token
}

type puzzleAnswer struct {
	UUID       string `json:"uuid"`
	BigImage   string `json:"bigImage"`
	SmallImage string `json:"smallImage"`
	Height     int    `json:"height"`
}

func (r raw) captcha(token string) puzzleAnswer {
	r.t.Helper()
	a := r.post("/image/getCheckImagePoint", "application/json", []byte(`{"clientUid":"point-1"}`), map[string]string{"token": token})
	var p puzzleAnswer
	if err := json.Unmarshal(a.Params, &p); err != nil || p.UUID == "" {
		r.t.Fatalf("captcha answer %.200s", a.Body)
	}
	return p
}

func (r raw) solve(p puzzleAnswer) int {
	r.t.Helper()
	big, _ := base64.StdEncoding.DecodeString(p.BigImage)
	small, _ := base64.StdEncoding.DecodeString(p.SmallImage)
	x, err := captcha.Slider{}.Solve(context.Background(), captcha.Puzzle{Big: big, Small: small, Height: p.Height})
	if err != nil {
		r.t.Fatal(err)
	}
	return x
}

func (r raw) check(token, uuid string, x int) answer {
	r.t.Helper()
	body, _ := json.Marshal(map[string]string{"key": uuid, "value": strconv.Itoa(x)})
	return r.post("/image/checkImage", "application/json", body, map[string]string{"token": token})
}

// handshake returns token, uuid and sign.
func (r raw) handshake() (string, string, string) {
	r.t.Helper()
	token := r.token()
	p := r.captcha(token)
	a := r.check(token, p.UUID, r.solve(p))
	var sign string
	if err := json.Unmarshal(a.Params, &sign); err != nil || !a.Success {
		r.t.Fatalf("check answer %s", a.Body)
	}
	return token, p.UUID, sign
}

const cookie = "__jsluid_s=0123456789abcdef0123456789abcdef"

func (r raw) query(token, uuid, sign, body string) answer {
	r.t.Helper()
	return r.post("/icpAbbreviateInfo/queryByCondition", "application/json", []byte(body),
		map[string]string{"token": token, "uuid": uuid, "sign": sign, "Cookie": cookie})
}

type pageParams struct {
	List []struct {
		ServiceLicence string `json:"serviceLicence"`
		MainLicence    string `json:"mainLicence"`
		Domain         string `json:"domain"`
	} `json:"list"`
	Total      int  `json:"total"`
	PageNum    int  `json:"pageNum"`
	Pages      int  `json:"pages"`
	IsLastPage bool `json:"isLastPage"`
}

func params(t *testing.T, a answer) pageParams {
	t.Helper()
	var p pageParams
	if a.Code != 200 || !a.Success || json.Unmarshal(a.Params, &p) != nil {
		t.Fatalf("query answer %s", a.Body)
	}
	return p
}

func start(t *testing.T, opts Options) (*Server, raw) {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 3
	}
	s := New(opts)
	t.Cleanup(s.Close)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return s, raw{t: t, s: s, now: now}
}

func addSubject(s *Server, main string, n int) {
	for i := 1; i <= n; i++ {
		s.AddRecord(scraper.Record{Licence: fmt.Sprintf("%s-%d", main, i), Domain: fmt.Sprintf("s%d.example.cn", i), UnitName: "某公司"})
	}
}

func TestHandshakeAndQuery(t *testing.T) {
	s, r := start(t, Options{})
	addSubject(s, "京ICP备10046444号", 30)
	token, uuid, sign := r.handshake()

	p := params(t, r.query(token, uuid, sign, `{"pageNum":2,"pageSize":26,"unitName":"京ICP备10046444号","serviceType":1}`))
	if p.Total != 30 || len(p.List) != 4 || p.PageNum != 2 || p.Pages != 2 || !p.IsLastPage {
		t.Fatalf("page 2 = %+v", p)
	}
	if p.List[0].ServiceLicence != "京ICP备10046444号-27" || p.List[0].MainLicence != "京ICP备10046444号" {
		t.Fatalf("first record of page 2 = %+v", p.List[0])
	}
	// HG-ha's form: pageNum and pageSize as "" mean the first page of 10.
	p = params(t, r.query(token, uuid, sign, `{"pageNum":"","pageSize":"","unitName":"s3.example.cn","serviceType":1}`))
	if p.Total != 1 || p.List[0].ServiceLicence != "京ICP备10046444号-3" {
		t.Fatalf("domain lookup = %+v", p)
	}
	p = params(t, r.query(token, uuid, sign, `{"pageNum":1,"pageSize":26,"unitName":"京ICP备10046444号","serviceType":6}`))
	if p.Total != 0 || p.List == nil || len(p.List) != 0 {
		t.Fatalf("App lookup of a website subject = %+v", p)
	}
	if got := s.Requests(); got[Auth] != 1 || got[CaptchaImage] != 1 || got[CheckImage] != 1 || got[Query] != 3 {
		t.Fatalf("requests %v", got)
	}
}

func TestPuzzlesAreSolvable(t *testing.T) {
	for seed := uint64(1); seed <= 25; seed++ {
		s := NewHandler(Options{Seed: seed})
		p := s.puzzle(seed * 7919)
		x, err := captcha.Slider{}.Solve(context.Background(), captcha.Puzzle{Big: p.Big, Small: p.Small, Height: p.Height})
		if err != nil || x < p.GapX-3 || x > p.GapX+3 {
			t.Fatalf("seed %d: solved %d, %v; gap at %d", seed, x, err, p.GapX)
		}
	}
}

func TestAuthChecks(t *testing.T) {
	s, r := start(t, Options{})
	now := time.Now().UnixMilli()
	if a := r.auth(now - int64(time.Hour/time.Millisecond)); a.Code != 401 {
		t.Fatalf("stale timestamp: %s", a.Body)
	}
	a := r.post("/auth", "application/x-www-form-urlencoded", []byte("authKey=00&timeStamp="+strconv.FormatInt(now, 10)), nil)
	if a.Code != 401 {
		t.Fatalf("wrong authKey: %s", a.Body)
	}
	if a := r.post("/image/getCheckImagePoint", "application/json", []byte(`{"clientUid":"point-1"}`), map[string]string{"token": "forged"}); a.Code != 401 {
		t.Fatalf("forged token: %s", a.Body)
	}
	resp, err := http.Get(s.URL + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", resp.StatusCode)
	}
}

func TestCaptchaRules(t *testing.T) {
	clk := harness.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	_, r := start(t, Options{Now: clk.Now, Tolerance: 3})
	token := r.token()

	p := r.captcha(token)
	x := r.solve(p)
	if a := r.check(token, p.UUID, x+10); a.Success || a.Code != 200 {
		t.Fatalf("wrong answer: %s", a.Body)
	}
	if a := r.check(token, p.UUID, x); a.Success {
		t.Fatal("a uuid was accepted after a refusal")
	}

	p = r.captcha(token)
	if a := r.check(token, p.UUID, r.solve(p)+3); !a.Success {
		t.Fatalf("answer within tolerance refused: %s", a.Body)
	}
	if a := r.check(token, p.UUID, r.solve(p)); a.Success {
		t.Fatal("a uuid was accepted twice")
	}

	p = r.captcha(token)
	clk.Advance(2 * time.Minute) // past ChallengeTTL
	if a := r.check(token, p.UUID, r.solve(p)); a.Success {
		t.Fatal("a late answer was accepted")
	}
}

func TestSignRules(t *testing.T) {
	clk := harness.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	s, r := start(t, Options{Now: clk.Now, SignUses: 2, SignTTL: time.Minute, TokenTTL: time.Hour})
	addSubject(s, "京ICP备10046444号", 1)
	q := `{"pageNum":1,"pageSize":26,"unitName":"京ICP备10046444号","serviceType":1}`
	token, uuid, sign := r.handshake()

	if a := r.query(token, "other-uuid", sign, q); a.Code != 500 || !strings.Contains(a.Msg, "验证码") {
		t.Fatalf("sign with another uuid: %s", a.Body)
	}
	params(t, r.query(token, uuid, sign, q))
	params(t, r.query(token, uuid, sign, q))
	if a := r.query(token, uuid, sign, q); a.Success {
		t.Fatal("a sign served more than SignUses queries")
	}
	token, uuid, sign = r.handshake()
	clk.Advance(2 * time.Minute)
	if a := r.query(token, uuid, sign, q); a.Success {
		t.Fatal("an expired sign was accepted")
	}
}

func TestQueryRequestChecks(t *testing.T) {
	s, r := start(t, Options{})
	addSubject(s, "京ICP备10046444号", 1)
	token, uuid, sign := r.handshake()
	h := map[string]string{"token": token, "uuid": uuid, "sign": sign, "Cookie": cookie}
	path := "/icpAbbreviateInfo/queryByCondition"

	noCookie := map[string]string{"token": token, "uuid": uuid, "sign": sign}
	if a := r.post(path, "application/json", []byte(`{"pageNum":1,"pageSize":26,"unitName":"x","serviceType":1}`), noCookie); a.Status != 521 {
		t.Fatalf("no __jsluid_s: HTTP %d", a.Status)
	}
	if a := r.post(path, "application/x-www-form-urlencoded", []byte("unitName=x"), h); a.Code != 415 {
		t.Fatalf("form body: %s", a.Body)
	}
	for _, body := range []string{
		`{"pageNum":1,"pageSize":26,"unitName":"x"}`,                   // serviceType missing
		`{"pageNum":1,"pageSize":27,"unitName":"x","serviceType":1}`,   // page too large
		`{"pageNum":0,"pageSize":26,"unitName":"x","serviceType":1}`,   // page 0
		`{"pageNum":1,"pageSize":26,"unitName":"  ","serviceType":1}`,  // nothing to look up
		`{"pageNum":"a","pageSize":26,"unitName":"x","serviceType":1}`, // not a number
	} {
		if a := r.post(path, "application/json", []byte(body), h); a.Code != 500 {
			t.Errorf("%s: %s", body, a.Body)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	clk := harness.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	s, r := start(t, Options{Now: clk.Now, TokenTTL: time.Minute})
	token := r.token()
	r.captcha(token)
	clk.Advance(61 * time.Second)
	if a := r.post("/image/getCheckImagePoint", "application/json", []byte(`{"clientUid":"point-1"}`), map[string]string{"token": token}); a.Code != 401 {
		t.Fatalf("expired token: %s", a.Body)
	}
	token = r.token()
	s.ExpireTokens()
	if a := r.post("/image/getCheckImagePoint", "application/json", []byte(`{"clientUid":"point-1"}`), map[string]string{"token": token}); a.Code != 401 {
		t.Fatalf("revoked token: %s", a.Body)
	}
}

func TestRateLimitWindow(t *testing.T) {
	clk := harness.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	_, r := start(t, Options{Now: clk.Now, RateLimit: 2, RateWindow: time.Minute})
	r.token()
	r.token()
	if a := r.auth(clk.Now().UnixMilli()); a.Code != 429 {
		t.Fatalf("third request in the window: %s", a.Body)
	}
	clk.Advance(time.Minute)
	r.token()
}

func TestDeleteLicence(t *testing.T) {
	s := NewHandler(Options{})
	addSubject(s, "京ICP备10046444号", 3)
	addSubject(s, "京ICP备20000000号", 2)
	if n := s.DeleteLicence("京ICP备10046444号-2"); n != 1 {
		t.Fatalf("website: %d", n)
	}
	if n := s.DeleteLicence("京ICP备 10046444号"); n != 2 { // spaces are not part of a licence
		t.Fatalf("subject: %d", n)
	}
	if n := s.DeleteLicence("京ICP备10046444号"); n != 0 {
		t.Fatalf("again: %d", n)
	}
	if got := len(s.match("京ICP备20000000号", 1)); got != 2 {
		t.Fatalf("the other subject lost records: %d left", got)
	}
}

func TestFaults(t *testing.T) {
	s, r := start(t, Options{})
	s.Inject(Fault{Kind: FaultWAF, Endpoint: CaptchaImage, Count: 2})
	s.Inject(Fault{Kind: FaultServerError})
	if a := r.auth(time.Now().UnixMilli()); a.Code != 500 {
		t.Fatalf("the any-endpoint fault did not hit auth: %s", a.Body)
	}
	token := r.token()
	for range 2 {
		a := r.post("/image/getCheckImagePoint", "application/json", []byte(`{"clientUid":"point-1"}`), map[string]string{"token": token})
		if a.Status != 403 || !bytes.Contains(a.Body, []byte("创宇盾")) {
			t.Fatalf("WAF fault: %d %.80s", a.Status, a.Body)
		}
	}
	r.captcha(token) // the faults are used up

	s.Inject(Fault{Kind: FaultEmptyBody, Endpoint: CaptchaImage})
	a := r.post("/image/getCheckImagePoint", "application/json", []byte(`{"clientUid":"point-1"}`), map[string]string{"token": token})
	if a.Status != 200 || len(a.Body) != 0 {
		t.Fatalf("empty body fault: %d %q", a.Status, a.Body)
	}
	s.Inject(Fault{Kind: FaultTruncated, Endpoint: Auth})
	if a := r.auth(time.Now().UnixMilli()); json.Valid(a.Body) || len(a.Body) == 0 {
		t.Fatalf("truncated fault: %s", a.Body)
	}
	if got := s.Requests(); got[Auth] != 3 || got[CaptchaImage] != 4 {
		t.Fatalf("requests %v", got)
	}
}

func TestQueryAnswer(t *testing.T) {
	b := QueryAnswer([]scraper.Record{{Licence: "粤B2-20090059-5", Domain: "qq.com"}}, 1, 26)
	var a answer
	if err := json.Unmarshal(b, &a); err != nil || a.Code != 200 || !a.Success {
		t.Fatalf("%s", b)
	}
	p := params(t, a)
	if p.Total != 1 || p.List[0].MainLicence != "粤B2-20090059" {
		t.Fatalf("%+v", p)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _ := start(t, Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s.AddRecord(scraper.Record{Licence: fmt.Sprintf("京ICP备3000000%d号-1", i)})
			s.Inject(Fault{Kind: FaultSlow, Delay: time.Millisecond})
			_ = s.Requests()
			s.DeleteLicence(fmt.Sprintf("京ICP备3000000%d号", (i+1)%8))
		})
		wg.Go(func() {
			// Plain requests: t.Fatal may not be called from this goroutine.
			ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
			sum := md5.Sum([]byte("testtest" + ts))
			resp, err := http.PostForm(s.URL+"/auth", url.Values{"authKey": {hex.EncodeToString(sum[:])}, "timeStamp": {ts}})
			if err != nil {
				t.Error(err)
				return
			}
			var a answer
			err = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			if err != nil || a.Code != 200 {
				t.Errorf("auth: %v %+v", err, a)
			}
		})
	}
	wg.Wait()
	if got := s.Requests(); got[Auth] != 8 {
		t.Fatalf("requests %v", got)
	}
}
