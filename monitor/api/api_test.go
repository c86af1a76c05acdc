package api_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"

	"github.com/icpmon/icpmon/monitor/api"
	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/monitor/track"
)

// server is the API behind exporter-toolkit, as the daemon serves it, on a
// private Redis.
type server struct {
	base  string
	store *store.Store
	local *track.Local // the same service, to compare answers with
	http  *http.Client
}

// serve starts the API with webConfig (a file path, "" for none); scheme
// is http or https, client the TLS settings of the test's client.
func serve(t *testing.T, webConfig, scheme string, client *tls.Config) *server {
	t.Helper()
	s, handler := newBackend(t, webConfig)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() {
		served <- web.Serve(l, srv, &web.FlagConfig{WebConfigFile: &webConfig, WebListenAddresses: &[]string{l.Addr().String()}}, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("web.Serve: %v", err)
		}
	})
	s.base = scheme + "://" + l.Addr().String()
	s.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: client}}
	return s
}

// newBackend is the API on a private Redis, mounted as the daemon mounts it,
// not served yet.
func newBackend(t *testing.T, webConfig string) (*server, http.Handler) {
	t.Helper()
	cfg := config.Default()
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(redistest.Start(t).Client(t), cfg.Redis.KeyPrefix)
	service := func(actor string) (track.Service, func()) {
		return &track.Local{Store: st, Config: &cfg, Calendar: cal, Actor: actor, Now: time.Now}, func() {}
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, api.Handler(api.Options{Service: service, WebConfigFile: webConfig}))
	return &server{store: st, local: &track.Local{Store: st, Config: &cfg, Calendar: cal, Now: time.Now}}, mux
}

// answer is one response, its body read.
type answer struct {
	status int
	header http.Header
	body   string
}

// errorText is the message of a JSON error answer.
func (a answer) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error == "" {
		t.Fatalf("%d: not a JSON error: %q", a.status, a.body)
	}
	return e.Error
}

// request is one call: a body (sent as JSON unless contentType says
// otherwise) and basic-auth credentials when user is set.
type request struct {
	method, path, body string
	contentType        string
	user, password     string
	header             map[string]string
	withoutContentType bool
}

func (s *server) do(t *testing.T, r request) answer {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, s.base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.contentType != "":
		req.Header.Set("Content-Type", r.contentType)
	case r.method == http.MethodPost && !r.withoutContentType:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.password)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// want fails the test unless a has the status, and returns its body.
func (a answer) want(t *testing.T, status int) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	return a.body
}

// jsonOf is v as the CLI's -o json prints it.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := track.WriteJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// basicAuthConfig writes a web config file with the users and passwords of
// users and returns its path.
func basicAuthConfig(t *testing.T, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("basic_auth_users:\n")
	for user, password := range users {
		b.WriteString("  " + user + ": " + hashOf(t, password) + "\n")
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// state is everything the store holds that a write would change: each
// cancellation's document and history length, the removed ones' too.
func (s *server) state(t *testing.T, ids ...string) string {
	t.Helper()
	all, err := s.store.List(t.Context(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range all {
		b.WriteString(jsonOf(t, c))
	}
	for _, id := range ids {
		h, err := s.store.History(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(jsonOf(t, h))
	}
	return b.String()
}

const (
	alice    = "alice"
	alicePw  = "alice-pw"
	licence1 = "京ICP备12345678号-1"
	licence2 = "京ICP备12345678号-2"
)

func TestEndpoints(t *testing.T) {
	s := serve(t, basicAuthConfig(t, map[string]string{alice: alicePw}), "http", nil)
	as := func(r request) answer {
		r.user, r.password = alice, alicePw
		return s.do(t, r)
	}
	ctx := t.Context()

	// Create: 201, where it is, and the cancellation as `track show -o json`.
	created := as(request{method: "POST", path: "/api/v1/cancellations",
		body: `{"kind": "website", "licence": "京ＩＣＰ备12345678号－1", "domains": ["WWW.Example.com"], "submitted": "2025-09-26", "id": "a", "note": "by API"}`})
	body := created.want(t, http.StatusCreated)
	if loc := created.header.Get("Location"); loc != "/api/v1/cancellations/a" {
		t.Errorf("Location %q", loc)
	}
	shown, err := s.local.Show(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if body != jsonOf(t, shown) {
		t.Errorf("created:\n%s\nwant track show's:\n%s", body, jsonOf(t, shown))
	}
	if shown.Licence != licence1 || !slices.Equal(shown.Domains, []string{"www.example.com"}) || shown.Note != "by API" ||
		len(shown.History) != 1 || shown.History[0].Actor != cancellation.OperatorActor(alice) {
		t.Errorf("stored %+v", shown)
	}
	as(request{method: "POST", path: "/api/v1/cancellations",
		body: `{"kind": "subject", "licence": "沪ICP备87654321号", "submitted": "2025-10-09", "id": "b"}`}).want(t, http.StatusCreated)
	as(request{method: "POST", path: "/api/v1/cancellations",
		body: `{"kind": "access", "licence": "` + licence2 + `", "submitted": "2025-10-10", "id": "c"}`}).want(t, http.StatusCreated)
	as(request{method: "POST", path: "/api/v1/cancellations",
		body: `{"kind": "website", "licence": "京ICP备12345678号-3", "submitted": "2025-10-10", "id": "d"}`}).want(t, http.StatusCreated)

	// Approve with a date, then without one (today); reject; withdraw.
	approved := as(request{method: "POST", path: "/api/v1/cancellations/a/approve", body: `{"at": "2025-10-20"}`}).want(t, http.StatusOK)
	var a track.Detail
	if err := json.Unmarshal([]byte(approved), &a); err != nil {
		t.Fatal(err)
	}
	if e, ok := a.Transition(cancellation.Approved); !ok || a.Status != cancellation.Approved || a.Approved.String() != "2025-10-20" ||
		e.From != cancellation.Pending || e.Actor != cancellation.OperatorActor(alice) {
		t.Errorf("approved: %+v", a)
	}
	if shown, _ := s.local.Show(ctx, "a"); approved != jsonOf(t, shown) {
		t.Errorf("approve answered:\n%s\nwant track show's:\n%s", approved, jsonOf(t, shown))
	}
	as(request{method: "POST", path: "/api/v1/cancellations/b/approve"}).want(t, http.StatusOK)
	if b, _ := s.local.Show(ctx, "b"); b.Approved == nil || *b.Approved != calendar.DateOf(time.Now()) {
		t.Errorf("approved without a date: %+v", b.Approved)
	}
	for id, action := range map[string]string{"c": "reject", "d": "withdraw"} {
		var got track.Detail
		if err := json.Unmarshal([]byte(as(request{method: "POST", path: "/api/v1/cancellations/" + id + "/" + action, body: "{}"}).want(t, http.StatusOK)), &got); err != nil {
			t.Fatal(err)
		}
		if e, ok := got.Transition(got.Status); !ok || e.Action != action || e.Actor != cancellation.OperatorActor(alice) {
			t.Errorf("%s %s: %+v", action, id, got)
		}
	}

	// List, whole and filtered, as `track list -o json`.
	list := func(query string) string {
		return s.do(t, request{method: "GET", path: "/api/v1/cancellations" + query, user: alice, password: alicePw}).want(t, http.StatusOK)
	}
	for query, f := range map[string]store.Filter{
		"":                                  {},
		"?status=approved":                  {Statuses: []cancellation.Status{cancellation.Approved}},
		"?status=rejected&status=withdrawn": {Statuses: []cancellation.Status{cancellation.Rejected, cancellation.Withdrawn}},
		"?kind=website&status=approved":     {Statuses: []cancellation.Status{cancellation.Approved}, Kinds: []cancellation.Kind{cancellation.KindWebsite}},
		"?kind=subject&kind=access":         {Kinds: []cancellation.Kind{cancellation.KindSubject, cancellation.KindAccess}},
	} {
		views, err := s.local.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if got := list(query); got != jsonOf(t, views) {
			t.Errorf("list%s:\n%s\nwant:\n%s", query, got, jsonOf(t, views))
		}
	}
	var ids []string
	var views []track.View
	if err := json.Unmarshal([]byte(list("?kind=website&status=approved")), &views); err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		ids = append(ids, v.ID)
	}
	if !slices.Equal(ids, []string{"a"}) {
		t.Errorf("approved websites: %v", ids)
	}

	// Show; remove keeps the history; a removed one is not found.
	if got := s.do(t, request{method: "GET", path: "/api/v1/cancellations/d"}).want(t, http.StatusUnauthorized); got == "" {
		t.Error("401 without a body")
	}
	as(request{method: "DELETE", path: "/api/v1/cancellations/d"}).want(t, http.StatusNoContent)
	gone := as(request{method: "GET", path: "/api/v1/cancellations/d"})
	if msg := gone.errorText(t); gone.status != http.StatusNotFound || !strings.HasPrefix(msg, "cancellation d was removed on ") || !strings.HasSuffix(msg, " by "+cancellation.OperatorActor(alice)) {
		t.Errorf("removed: %d %s", gone.status, msg)
	}
	history, err := s.store.History(ctx, "d")
	if err != nil || len(history) != 3 || history[2].Action != cancellation.ActionRemove {
		t.Errorf("history after removal: %+v %v", history, err)
	}
}

// Every bad request gets the CLI's sentence, the status that fits, and
// leaves the store as it was.
func TestRefusals(t *testing.T) {
	s := serve(t, basicAuthConfig(t, map[string]string{alice: alicePw}), "http", nil)
	as := func(r request) answer {
		r.user, r.password = alice, alicePw
		return s.do(t, r)
	}
	as(request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence1 + `", "submitted": "2025-09-26", "id": "a"}`}).want(t, http.StatusCreated)
	as(request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence2 + `", "submitted": "2025-09-26", "id": "b"}`}).want(t, http.StatusCreated)
	as(request{method: "POST", path: "/api/v1/cancellations/b/reject"}).want(t, http.StatusOK)
	today := calendar.DateOf(time.Now())
	future := today.AddDays(2).String()

	cases := []struct {
		name   string
		r      request
		status int
		want   string
	}{
		{"bad JSON", request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website",`}, 400, "body: unexpected EOF"},
		{"unknown field", request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "京ICP备12345678号-3", "submitted": "2025-09-26", "domain": ["example.com"]}`}, 400, `body: json: unknown field "domain"`},
		{"two values", request{method: "POST", path: "/api/v1/cancellations", body: `{} {}`}, 400, "body: unexpected data after the JSON value"},
		{"trailing bracket", request{method: "POST", path: "/api/v1/cancellations/a/approve", body: `{}]`}, 400, "body: unexpected data after the JSON value"},
		{"no body", request{method: "POST", path: "/api/v1/cancellations"}, 400, "body: empty, want a JSON object"},
		{"not JSON", request{method: "POST", path: "/api/v1/cancellations", contentType: "application/x-www-form-urlencoded", body: "kind=website"}, 415, "send a JSON body with Content-Type: application/json"},
		{"no content type", request{method: "POST", path: "/api/v1/cancellations/a/reject", withoutContentType: true}, 415, "send a JSON body with Content-Type: application/json"},
		{"too large", request{method: "POST", path: "/api/v1/cancellations", body: `{"note": "` + strings.Repeat("x", 1<<20) + `"}`}, 413, "body: larger than 1048576 bytes"},
		{"invalid licence", request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "subject", "licence": "京ICP备12345678号-2", "submitted": "2025-09-26"}`}, 422,
			"licence 京ICP备12345678号-2: a subject cancellation takes the subject number 京ICP备12345678号, without the site suffix -2"},
		{"future submission", request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "京ICP备12345678号-3", "submitted": "` + future + `"}`}, 422,
			"submitted date " + future + " is in the future (today in China is " + today.String() + ")"},
		{"duplicate licence", request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "access", "licence": "京ＩＣＰ备12345678号－1", "submitted": "2025-09-27"}`}, 409,
			"licence 京ICP备12345678号-1 is already tracked by active cancellation a"},
		{"duplicate ID", request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "京ICP备12345678号-3", "submitted": "2025-09-26", "id": "b"}`}, 409,
			"ID b is already in use (IDs of removed cancellations are kept with their history)"},
		{"future approval", request{method: "POST", path: "/api/v1/cancellations/a/approve", body: `{"at": "` + future + `"}`}, 422,
			"cannot approve a on " + future + ": the date is in the future (today in China is " + today.String() + ")"},
		{"bad approval date", request{method: "POST", path: "/api/v1/cancellations/a/approve", body: `{"at": "20/10/2025"}`}, 422, `at: invalid date "20/10/2025": want YYYY-MM-DD`},
		{"approval before submission", request{method: "POST", path: "/api/v1/cancellations/a/approve", body: `{"at": "2025-09-25"}`}, 409, "cannot approve a on 2025-09-25: it was submitted on 2025-09-26"},
		{"date on a rejection", request{method: "POST", path: "/api/v1/cancellations/a/reject", body: `{"at": "2025-10-01"}`}, 400, `body: json: unknown field "at"`},
		{"impossible transition", request{method: "POST", path: "/api/v1/cancellations/b/withdraw"}, 409, "cannot withdraw b: it is rejected"},
		{"unknown action", request{method: "POST", path: "/api/v1/cancellations/a/clear"}, 404, `unknown action "clear" (want approve, reject or withdraw)`},
		{"unknown ID", request{method: "POST", path: "/api/v1/cancellations/nosuch/approve"}, 404, "no such cancellation: nosuch"},
		{"unknown ID shown", request{method: "GET", path: "/api/v1/cancellations/nosuch"}, 404, "no such cancellation: nosuch"},
		{"unknown ID removed", request{method: "DELETE", path: "/api/v1/cancellations/nosuch"}, 404, "no such cancellation: nosuch"},
		{"bad status", request{method: "GET", path: "/api/v1/cancellations?status=done"}, 400, `unknown status "done" (want pending, approved, cleared, rejected or withdrawn)`},
		{"bad kind", request{method: "GET", path: "/api/v1/cancellations?kind=domain"}, 400, `unknown kind "domain" (want subject, website or access)`},
		{"unknown parameter", request{method: "GET", path: "/api/v1/cancellations?licence=x"}, 400, `unknown query parameter "licence" (want status or kind)`},
		{"cross-site write", request{method: "POST", path: "/api/v1/cancellations/a/approve", header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403,
			"cross-origin request refused: the API takes writes from its own origin or from clients that are not browsers"},
	}
	before := s.state(t, "a", "b")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := as(tc.r)
			if msg := got.errorText(t); got.status != tc.status || msg != tc.want {
				t.Errorf("%d %s\nwant %d %s", got.status, msg, tc.status, tc.want)
			}
			if after := s.state(t, "a", "b"); after != before {
				t.Errorf("the store changed:\n%s\nwas:\n%s", after, before)
			}
		})
	}

	// The same sentences as the service gives the CLI.
	_, err := s.local.Approve(t.Context(), "a", future)
	if want := "cannot approve a on " + future + ": the date is in the future (today in China is " + today.String() + ")"; err == nil || err.Error() != want {
		t.Errorf("local future approval: %v", err)
	}
}

// Without a web config file anyone may read and nobody may write.
func TestWritesNeedAuthentication(t *testing.T) {
	s := serve(t, "", "http", nil)
	if _, err := s.store.Add(t.Context(), cancellation.Cancellation{ID: "a", Kind: cancellation.KindWebsite, Licence: licence1, LicenceRaw: licence1, Province: "京",
		Submitted: calendar.NewDate(2025, 9, 26), Status: cancellation.Pending}, cancellation.OperatorActor("root")); err != nil {
		t.Fatal(err)
	}
	s.do(t, request{method: "GET", path: "/api/v1/cancellations"}).want(t, http.StatusOK)
	s.do(t, request{method: "GET", path: "/api/v1/cancellations/a"}).want(t, http.StatusOK)
	before := s.state(t, "a")
	for _, r := range []request{
		{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence2 + `", "submitted": "2025-09-26"}`},
		{method: "POST", path: "/api/v1/cancellations/a/approve"},
		{method: "POST", path: "/api/v1/cancellations/a/reject"},
		{method: "DELETE", path: "/api/v1/cancellations/a"},
		// Credentials that nothing checks change nothing.
		{method: "POST", path: "/api/v1/cancellations/a/withdraw", user: alice, password: "anything"},
	} {
		got := s.do(t, r)
		if msg := got.errorText(t); got.status != http.StatusForbidden || !strings.Contains(msg, "writes need authentication: run icpmon serve with --web.config.file") {
			t.Errorf("%s %s: %d %s", r.method, r.path, got.status, msg)
		}
	}
	if after := s.state(t, "a"); after != before {
		t.Errorf("a refused write changed the store:\n%s", after)
	}
}

func TestBasicAuth(t *testing.T) {
	webConfig := basicAuthConfig(t, map[string]string{alice: alicePw, "bob": "bob-pw"})
	s := serve(t, webConfig, "http", nil)
	add := request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence1 + `", "submitted": "2025-09-26", "id": "a"}`}

	for _, creds := range [][2]string{{"", ""}, {alice, "wrong"}, {"mallory", alicePw}} {
		r := add
		r.user, r.password = creds[0], creds[1]
		if got := s.do(t, r); got.status != http.StatusUnauthorized {
			t.Errorf("as %q/%q: %d %s", creds[0], creds[1], got.status, got.body)
		}
		s.do(t, request{method: "GET", path: "/api/v1/cancellations", user: r.user, password: r.password}).want(t, http.StatusUnauthorized)
	}
	if got := s.state(t); got != "" {
		t.Errorf("refused writes wrote: %s", got)
	}
	r := add
	r.user, r.password = "bob", "bob-pw"
	s.do(t, r).want(t, http.StatusCreated)
	h, err := s.store.History(t.Context(), "a")
	if err != nil || len(h) != 1 || h[0].Actor != "operator:bob" {
		t.Errorf("history %+v %v", h, err)
	}

	// The file is read again for every request: a user removed from it
	// can no longer write, without a restart.
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  "+alice+": "+hashOf(t, alicePw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.do(t, request{method: "POST", path: "/api/v1/cancellations/a/approve", user: "bob", password: "bob-pw"}).want(t, http.StatusUnauthorized)
	s.do(t, request{method: "POST", path: "/api/v1/cancellations/a/approve", user: alice, password: alicePw}).want(t, http.StatusOK)
}

// A request that exporter-toolkit let in just before the file gained its
// users carries a password nobody checked: the API checks it for writes.
func TestWritesCheckThePassword(t *testing.T) {
	s, handler := newBackend(t, basicAuthConfig(t, map[string]string{alice: alicePw}))
	plain := httptest.NewServer(handler) // no exporter-toolkit in front
	t.Cleanup(plain.Close)
	s.base, s.http = plain.URL, plain.Client()
	add := request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence1 + `", "submitted": "2025-09-26", "id": "a"}`}
	for _, creds := range [][2]string{{"", ""}, {alice, "wrong"}, {"mallory", "x"}} {
		r := add
		r.user, r.password = creds[0], creds[1]
		got := s.do(t, r)
		if msg := got.errorText(t); got.status != http.StatusUnauthorized || msg != "unauthorized: wrong or missing basic-auth credentials" || got.header.Get("WWW-Authenticate") != "Basic" {
			t.Errorf("as %q/%q: %d %s", creds[0], creds[1], got.status, msg)
		}
	}
	if got := s.state(t); got != "" {
		t.Errorf("refused writes wrote: %s", got)
	}
	add.user, add.password = alice, alicePw
	s.do(t, add).want(t, http.StatusCreated)
}

func hashOf(t *testing.T, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(hash)
}

// A web config file without authentication refuses writes; adding users
// to it lets them write, without a restart.
func TestAuthenticationTurnedOn(t *testing.T) {
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("http_server_config:\n  headers:\n    X-Frame-Options: deny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, webConfig, "http", nil)
	add := request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence1 + `", "submitted": "2025-09-26", "id": "a"}`}
	s.do(t, add).want(t, http.StatusForbidden)
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  "+alice+": "+hashOf(t, alicePw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.do(t, add).want(t, http.StatusUnauthorized)
	add.user, add.password = alice, alicePw
	s.do(t, add).want(t, http.StatusCreated)
}

func TestClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := harness.NewCA(t)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	harness.WriteCert(t, dir, "server", ca.Issue(t, time.Now().Add(24*time.Hour), "127.0.0.1"))
	webConfig := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webConfig, []byte("tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, webConfig, "https", &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.IssueClient(t, "carol")}})
	s.do(t, request{method: "POST", path: "/api/v1/cancellations", body: `{"kind": "website", "licence": "` + licence1 + `", "submitted": "2025-09-26", "id": "a"}`}).want(t, http.StatusCreated)
	s.do(t, request{method: "POST", path: "/api/v1/cancellations/a/withdraw"}).want(t, http.StatusOK)
	h, err := s.store.History(t.Context(), "a")
	if err != nil || len(h) != 2 || h[0].Actor != "operator:carol" || h[1].Actor != "operator:carol" {
		t.Errorf("history %+v %v", h, err)
	}

	// Without a certificate there is no connection at all.
	bare := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	if resp, err := bare.Get(s.base + "/api/v1/cancellations"); err == nil {
		resp.Body.Close()
		t.Errorf("no client certificate: %s", resp.Status)
	}

	// The Client, with certificate files, as `track --server` uses it.
	certFile, keyFile := harness.WriteCert(t, dir, "dave", ca.IssueClient(t, "dave"))
	c, err := api.NewClient(api.ClientOptions{URL: s.base, CertFile: certFile, KeyFile: keyFile, CAFile: filepath.Join(dir, "ca.pem"), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Add(t.Context(), track.Spec{Kind: "website", Licence: licence2, Submitted: "2025-09-26"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.History) != 1 || d.History[0].Actor != "operator:dave" {
		t.Errorf("added through the client: %+v", d.History)
	}
}

// The Client answers what the service answers: the same values, the same
// error sentences.
func TestClient(t *testing.T) {
	s := serve(t, basicAuthConfig(t, map[string]string{alice: alicePw}), "http", nil)
	ctx := t.Context()
	c, err := api.NewClient(api.ClientOptions{URL: s.base, User: alice, Password: alicePw, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	added, err := c.Add(ctx, track.Spec{Kind: "website", Licence: licence1, Domains: []string{"example.com"}, Submitted: "2025-09-26", ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := s.local.Show(ctx, "a"); jsonOf(t, added) != jsonOf(t, want) {
		t.Errorf("added %s\nwant %s", jsonOf(t, added), jsonOf(t, want))
	}
	if _, err := c.Add(ctx, track.Spec{Kind: "website", Licence: licence2, Submitted: "2025-09-26", ID: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Approve(ctx, "a", "2025-10-20"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Transition(ctx, "b", cancellation.Withdrawn); err != nil {
		t.Fatal(err)
	}
	f := store.Filter{Statuses: []cancellation.Status{cancellation.Withdrawn}}
	got, err := c.List(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := s.local.List(ctx, f); jsonOf(t, got) != jsonOf(t, want) || len(got) != 1 {
		t.Errorf("listed %s\nwant %s", jsonOf(t, got), jsonOf(t, want))
	}
	if err := c.Remove(ctx, "b"); err != nil {
		t.Fatal(err)
	}

	for name, call := range map[string]func(svc track.Service) error{
		"reject approved": func(svc track.Service) error { _, err := svc.Transition(ctx, "a", cancellation.Rejected); return err },
		"show unknown":    func(svc track.Service) error { _, err := svc.Show(ctx, "nosuch"); return err },
		"remove removed":  func(svc track.Service) error { return svc.Remove(ctx, "b") },
		"bad licence": func(svc track.Service) error {
			_, err := svc.Add(ctx, track.Spec{Kind: "website", Licence: "京ICP备1234号-1", Submitted: "2025-09-26"})
			return err
		},
		"clear": func(svc track.Service) error { _, err := svc.Transition(ctx, "a", cancellation.Cleared); return err },
	} {
		remote, local := call(c), call(s.local)
		if remote == nil || local == nil {
			t.Errorf("%s: remote %v, local %v", name, remote, local)
			continue
		}
		if name == "clear" { // no such action over HTTP; refused either way
			continue
		}
		if remote.Error() != local.Error() {
			t.Errorf("%s: remote %q, local %q", name, remote, local)
		}
	}

	anonymous, err := api.NewClient(api.ClientOptions{URL: s.base, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anonymous.List(ctx, store.Filter{})
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), "--server.user") {
		t.Errorf("without a login: %v", err)
	}
	wrong, err := api.NewClient(api.ClientOptions{URL: s.base, User: alice, Password: "wrong", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Show(ctx, "a"); err == nil || err.Error() != "icpmon at "+s.base+" answered 401 Unauthorized: wrong user name or password" {
		t.Errorf("wrong password: %v", err)
	}
	for _, o := range []api.ClientOptions{{URL: "127.0.0.1:9810"}, {URL: "ftp://x"}, {URL: s.base, CertFile: "c.pem"}} {
		if _, err := api.NewClient(o); err == nil {
			t.Errorf("NewClient(%+v) accepted", o)
		}
	}
	unreachable, err := api.NewClient(api.ClientOptions{URL: "http://127.0.0.1:1", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unreachable.List(context.Background(), store.Filter{}); err == nil || !strings.HasPrefix(err.Error(), "cannot reach icpmon at http://127.0.0.1:1: ") {
		t.Errorf("unreachable: %v", err)
	}
}

// Bad TLS files are refused when the client is built, before any request.
func TestClientRefusesBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := harness.WriteCert(t, dir, "dave", harness.NewCA(t).IssueClient(t, "dave"))
	for name, o := range map[string]api.ClientOptions{
		"a certificate without its key": {CertFile: certFile},
		"a missing CA file":             {CAFile: filepath.Join(dir, "missing.pem")},
		"a CA file without a PEM block": {CAFile: harness.WriteFile(t, "ca.pem", "not a certificate")},
	} {
		o.URL = "https://127.0.0.1:1"
		if _, err := api.NewClient(o); err == nil || !strings.HasPrefix(err.Error(), "--server TLS: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
