package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile writes body to a file called name in a fresh temporary
// directory of the test, and returns its path.
func WriteFile(t testing.TB, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
