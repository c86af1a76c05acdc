package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/monitor/track"
)

// call sends a JSON request to the daemon, as user (none when empty).
func (r *running) call(method, path, body, user, password string) (int, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The daemon serves the API on its store, with its clock, and records a
// write as the person the web config authenticated.
func TestAPI(t *testing.T) {
	rs := redistest.Start(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("ops-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  ops: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", ""), Web: webConfigFlag(webCfg)}, "http", nil)

	if code, body := d.call("POST", "/api/v1/cancellations", `{"kind": "website", "licence": "京ICP备20250001号-1", "submitted": "2026-02-02", "id": "api1"}`, "", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d %s", code, body)
	}
	code, body := d.call("POST", "/api/v1/cancellations", `{"kind": "website", "licence": "京ICP备20250001号-1", "submitted": "2026-02-02", "id": "api1"}`, "ops", "ops-pw")
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var created track.Detail
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if len(created.History) != 1 || created.History[0].Actor != "operator:ops" || created.BusinessDaysElapsed == nil {
		t.Errorf("created %+v", created)
	}
	// The daemon's clock says what today is: 2026-03-03 is still to come.
	if code, body := d.call("POST", "/api/v1/cancellations/api1/approve", `{"at": "2026-03-03"}`, "ops", "ops-pw"); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "the date is in the future (today in China is 2026-03-02)") {
		t.Errorf("approval tomorrow: %d %s", code, body)
	}
	if code, body := d.call("GET", "/api/v1/cancellations?status=pending", "", "ops", "ops-pw"); code != http.StatusOK || !strings.Contains(body, `"id": "api1"`) {
		t.Errorf("list: %d %s", code, body)
	}
	// The follower sees the write like any other: it reaches /metrics.
	authed := &running{t: t, base: d.base, client: &http.Client{Transport: basicAuth{"ops", "ops-pw"}, Timeout: d.client.Timeout}}
	eventually(t, "the added cancellation is exported", func() (bool, string) {
		return authed.has("icpmon_cancellation_info", "id", "api1"), ""
	})
}

// basicAuth sends every request as user.
type basicAuth struct{ user, password string }

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return http.DefaultTransport.RoundTrip(r)
}

// Without a web config file the API answers reads and refuses writes.
func TestAPIWithoutAuthentication(t *testing.T) {
	rs := redistest.Start(t)
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", "")}, "http", nil)
	if code, body := d.call("POST", "/api/v1/cancellations", `{"kind": "website", "licence": "京ICP备20250001号-1", "submitted": "2026-02-02"}`, "", ""); code != http.StatusForbidden ||
		!strings.Contains(body, "--web.config.file") {
		t.Errorf("write: %d %s", code, body)
	}
	if code, body := d.get("/api/v1/cancellations"); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("read: %d %s", code, body)
	}
}
