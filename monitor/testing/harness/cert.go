package harness

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/pki"
)

// CA is a private certificate authority made for one test, for servers a
// client trusts through the CA alone (and to tell a bad certificate from an
// unknown issuer); what fails fails the test.
type CA struct{ *pki.CA }

// NewCA makes a CA valid from an hour ago for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return &CA{ca}
}

// Issue signs a server certificate for hosts (DNS names or IP addresses),
// valid for the two days up to notAfter (in the past for an expired one).
func (ca *CA) Issue(t testing.TB, notAfter time.Time, hosts ...string) tls.Certificate {
	t.Helper()
	cert, err := ca.CA.Issue(notAfter, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// IssueClient signs a client certificate whose CN is name.
func (ca *CA) IssueClient(t testing.TB, name string) tls.Certificate {
	t.Helper()
	cert, err := ca.CA.IssueClient(time.Now().Add(24*time.Hour), name)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// WriteCert writes cert (from Issue or IssueClient) and its key as PEM files
// NAME.pem and NAME-key.pem into dir, for a program configured by files, and
// returns their paths.
func WriteCert(t testing.TB, dir, name string, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := pki.WriteFiles(dir, name, cert)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
