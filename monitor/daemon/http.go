package daemon

import (
	"fmt"
	"net/http"

	"github.com/icpmon/icpmon/monitor/metrics"
)

// routes are every endpoint; exporter-toolkit wraps them all in the web
// config's TLS and basic auth.
func (d *daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(d.metrics.Registry, &d.expo, d.log))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Healthy.")
	})
	mux.HandleFunc("GET /-/ready", d.serveReady)
	// POST only: a GET must never change anything (the mux answers 405).
	mux.HandleFunc("POST /-/reload", d.serveReload)
	mux.HandleFunc("GET /{$}", d.servePage)
	return mux
}

// serveReady answers 200 when the configuration is loaded and Redis answered
// recently, 503 with the reason otherwise.
func (d *daemon) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if d.gen.Load() == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "Not ready: configuration not loaded.")
		return
	}
	if ok, why := d.redis.ready(); !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "Not ready: %s.\n", why)
		return
	}
	fmt.Fprintln(w, "Ready.")
}
