package redistest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
)

// CA is a certificate authority made for one test, with its certificate in
// a PEM file, as an operator's redis.tls.ca_file would hold it.
type CA struct {
	*harness.CA
	CertFile string
}

// NewCA makes a CA valid for a day, its certificate written to the test's
// temporary directory.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca := &CA{CA: harness.NewCA(t), CertFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(ca.CertFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ca
}

// IssueFiles writes a server certificate for hosts (IP addresses or DNS
// names), valid for a day, and its key into dir, and returns their paths.
func (ca *CA) IssueFiles(t testing.TB, dir string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	return harness.WriteCert(t, dir, "server", ca.Issue(t, time.Now().Add(24*time.Hour), hosts...))
}
