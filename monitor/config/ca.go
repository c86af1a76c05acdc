package config

import (
	"crypto/x509"
	"fmt"

	"github.com/icpmon/icpmon/monitor/regularfile"
)

// ReadCAFile reads a PEM bundle named by redis.tls.ca_file or reach.ca_file.
func ReadCAFile(path string) ([]byte, error) { return regularfile.Read(path, MaxCAFileBytes) }

// RootCAs is what the reach job's prober trusts: the system roots plus the
// certificates of reach.ca_file, or nil (the system roots) without one.
// Added, never replacing: a site with a public certificate must still count
// as served, not as a TLS error.
func (r Reach) RootCAs() (*x509.CertPool, error) {
	if r.CAFile == "" {
		return nil, nil
	}
	pem, err := ReadCAFile(r.CAFile)
	if err != nil {
		return nil, &KeyError{Key: "reach.ca_file", Err: err}
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool() // no system roots here: the file's are all there is
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, &KeyError{Key: "reach.ca_file", Err: fmt.Errorf("no PEM certificate in %s", r.CAFile)}
	}
	return roots, nil
}
