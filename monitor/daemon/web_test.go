package daemon

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"

	"github.com/icpmon/icpmon/monitor/testing/harness"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
)

func webConfigFlag(configFile string) web.FlagConfig {
	return web.FlagConfig{WebConfigFile: &configFile}
}

func TestBasicAuthGuardsEveryEndpoint(t *testing.T) {
	rs := redistest.Start(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", ""), Web: webConfigFlag(webCfg)}, "http", nil)

	for _, path := range []string{"/metrics", "/-/healthy", "/-/ready", "/"} {
		if code, _ := d.get(path); code != http.StatusUnauthorized {
			t.Errorf("unauthenticated GET %s: %d, want 401", path, code)
		}
	}
	if code, _ := d.do("POST", "/-/reload"); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated POST /-/reload: %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", d.base+"/metrics", nil)
	req.SetBasicAuth("prometheus", "wrong")
	if resp, err := d.client.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %v %v, want 401", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	req.SetBasicAuth("prometheus", "scrape-pw")
	resp, err := d.client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated scrape: %v %v", resp, err)
	}
	resp.Body.Close()
	if strings.Contains(d.logs.String(), string(hash)) {
		t.Error("the basic-auth hash shows in the logs")
	}
}

func TestTLSScrape(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	ca := harness.NewCA(t)
	certFile, keyFile := harness.WriteCert(t, dir, "server", ca.Issue(t, time.Now().Add(24*time.Hour), "127.0.0.1", "localhost"))
	webCfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webCfg, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	d := start(t, Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", ""), Web: webConfigFlag(webCfg)}, "https", client)

	eventually(t, "ready over TLS", func() (bool, string) {
		code, body := d.get("/-/ready")
		return code == http.StatusOK, body
	})
	body, mfs := d.scrape()
	if _, ok := mfs["icpmon_redis_up"]; !ok {
		t.Fatalf("TLS scrape lacks icpmon_redis_up:\n%s", body)
	}
	// Plain HTTP on the TLS port gets no metrics.
	plain := &http.Client{Timeout: 30 * time.Second}
	resp, err := plain.Get(strings.Replace(d.base, "https://", "http://", 1) + "/metrics")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP scrape of the TLS listener succeeded")
		}
	}
}

func TestBadWebConfigStopsTheStart(t *testing.T) {
	rs := redistest.Start(t)
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: missing.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Run(t.Context(), Options{ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", ""), Web: webConfigFlag(webCfg)})
	if err == nil || !strings.Contains(err.Error(), "web config file "+webCfg) {
		t.Errorf("Run with a broken web config: %v", err)
	}
}

func TestBusyPortIsAnError(t *testing.T) {
	rs := redistest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addrs := []string{l.Addr().String()}
	err = Run(t.Context(), Options{
		ConfigFile: newOutside(t).writeConfig(t, "", rs.URL(), "@every 1h", ""),
		Web:        web.FlagConfig{WebListenAddresses: &addrs},
	})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Run on a busy port: %v", err)
	}
}
