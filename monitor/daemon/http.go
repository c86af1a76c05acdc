package daemon

import (
	"fmt"
	"net/http"

	"github.com/icpmon/icpmon/monitor/api"
	"github.com/icpmon/icpmon/monitor/metrics"
	"github.com/icpmon/icpmon/monitor/statuspage"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/track"
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
	mux.Handle(api.Prefix, d.apiHandler())
	pages := statuspage.New(pageSource{d}, d.o.Now, d.log)
	mux.HandleFunc("GET /{$}", pages.List)
	mux.HandleFunc("GET /cancellations/{id}", pages.Cancellation)
	mux.HandleFunc("GET /cancellations.csv", pages.CSV)
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

// apiHandler serves /api/v1/ on the generation in force. Writes need the
// authentication of the web config file, and are recorded as the person
// it authenticated.
func (d *daemon) apiHandler() http.Handler {
	var webConfig string
	if f := d.o.Web.WebConfigFile; f != nil {
		webConfig = *f
	}
	return api.Handler(api.Options{Service: d.trackService, WebConfigFile: webConfig, Logger: d.log})
}

// trackService is track.Local on the generation in force, its Redis
// connection held until release. The store is the generation's own: the
// connection's outlives reloads that change track.max_domains.
func (d *daemon) trackService(actor string) (track.Service, func()) {
	g, release := d.acquire()
	st := store.New(g.conn.client, g.cfg.Redis.KeyPrefix, store.MaxDomains(g.cfg.Track.MaxDomains))
	return &track.Local{Store: st, Config: g.cfg, Calendar: g.cal, Actor: actor, Now: d.o.Now}, release
}
