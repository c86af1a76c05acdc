package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/cancellation"
)

// requireClientCert is the exporter-toolkit client_auth_type under which
// every connection has presented a certificate the server verified.
const requireClientCert = "RequireAndVerifyClientCert"

// errNoAuthentication refuses a write on a server that lets anyone in.
var errNoAuthentication = errors.New("writes need authentication: run icpmon serve with --web.config.file naming a web configuration (Prometheus exporter-toolkit format) that sets basic_auth_users, or tls_server_config with client_auth_type: " + requireClientCert)

// writer names the person a write is recorded as, or says why the request
// may not write. The web config file is read again for every write, as
// exporter-toolkit reads it for every request, so that enabling or
// changing authentication needs no restart. A basic-auth password is
// checked here too: a request that exporter-toolkit let in just before
// the file gained its users carries a password nobody checked.
func writer(r *http.Request, webConfigFile string) (string, *apiError) {
	if webConfigFile == "" {
		return "", &apiError{http.StatusForbidden, errNoAuthentication}
	}
	cfg, err := readWebConfig(webConfigFile)
	if err != nil {
		return "", &apiError{http.StatusInternalServerError, err}
	}
	if len(cfg.Users) > 0 {
		user, password, ok := r.BasicAuth()
		hash, known := cfg.Users[user]
		if !ok || !known || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
			return "", &apiError{http.StatusUnauthorized, errors.New("unauthorized: wrong or missing basic-auth credentials")}
		}
		return cancellation.OperatorActor(user), nil
	}
	if cfg.TLSConfig.ClientAuth == requireClientCert && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		name := r.TLS.VerifiedChains[0][0].Subject.CommonName
		if name == "" {
			return "", &apiError{http.StatusForbidden, errors.New("the client certificate names no one: its subject has no common name (CN) to record in the history")}
		}
		return cancellation.OperatorActor(name), nil
	}
	return "", &apiError{http.StatusForbidden, errNoAuthentication}
}

// readWebConfig reads the parts of an exporter-toolkit web config file that
// say who may write. exporter-toolkit has validated the file at startup,
// and refuses every request while it is invalid.
func readWebConfig(path string) (*web.Config, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's --web.config.file
	if err != nil {
		return nil, fmt.Errorf("web config file: %w", err)
	}
	var cfg web.Config
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("web config file %s: %w", path, err)
	}
	return &cfg, nil
}
