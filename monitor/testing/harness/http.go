package harness

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Fetch sends a request without a body and returns the status and the
// body; a request that fails fails the test.
func Fetch(t testing.TB, client *http.Client, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// Unanswering starts an HTTP server that never answers: each request waits
// until its client gives up or the test ends. It returns the server's URL.
func Unanswering(t testing.TB) string {
	t.Helper()
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-ended:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(ended) }) // before Close, which waits for the handlers
	return srv.URL
}
