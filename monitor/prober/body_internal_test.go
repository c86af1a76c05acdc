package prober

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A body that could hold a block page is kept, but never more than MaxBody of it.
func TestKeptBodyIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		chunk := []byte(strings.Repeat("Y", 16<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	const limit = 40 << 10
	p, err := New(Options{MaxBody: limit, Resolve: map[string]string{"www.example.com:80": srv.Listener.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	var tm Timings
	a, _, err := p.fetch(t.Context(), &url.URL{Scheme: "http", Host: "www.example.com", Path: "/"}, &tm)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.body) != limit || a.bodyRead != limit || a.bodyErr != nil {
		t.Errorf("kept %d bytes (read %d, err %v), want exactly %d", len(a.body), a.bodyRead, a.bodyErr, limit)
	}
	if strings.Trim(string(a.body), "y") != "" {
		t.Error("kept body is not the lower-cased response")
	}
}
