package harness

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"os"
	"testing"
)

// Response is an HTTP response recorded in a file: status line, headers,
// blank line, body (what curl -i prints).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// LoadResponse reads the response recorded in file.
func LoadResponse(t testing.TB, file string) Response {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Write answers with the recorded response.
func (r Response) Write(w http.ResponseWriter) {
	maps.Copy(w.Header(), r.Header)
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

// Replay is a handler that answers every request with the response
// recorded in file.
func Replay(t testing.TB, file string) http.HandlerFunc {
	t.Helper()
	r := LoadResponse(t, file)
	return func(w http.ResponseWriter, _ *http.Request) { r.Write(w) }
}
