package pki

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func TestIssuedCertificatesVerifyAgainstTheCAAlone(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(time.Now().Add(time.Hour), "www.example.com", "*.reach.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"www.example.com", "a.reach.test", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: ca.Pool}); err == nil {
		t.Error("verified for a name it was not issued for")
	}
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "www.example.com", Roots: other.Pool}); err == nil {
		t.Error("verified against another CA")
	}

	expired, err := ca.Issue(time.Now().Add(-time.Hour), "www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	old, err := x509.ParseCertificate(expired.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Verify(x509.VerifyOptions{DNSName: "www.example.com", Roots: ca.Pool}); err == nil {
		t.Error("an expired certificate verified")
	}

	certFile, keyFile, err := WriteFiles(t.TempDir(), "server", cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Errorf("the written files: %v", err)
	}

	// A client certificate names its person and verifies for client auth only.
	client, err := ca.IssueClient(time.Now().Add(time.Hour), "carol")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err = x509.ParseCertificate(client.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "carol" {
		t.Errorf("client CN %q, want carol", leaf.Subject.CommonName)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool}); err == nil {
		t.Error("a client certificate verified for server auth")
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(ca.CertPEM) {
		t.Error("CertPEM holds no certificate")
	}
}
