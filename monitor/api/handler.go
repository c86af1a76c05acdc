// Package api is icpmon's HTTP API under /api/v1/: the track commands over
// HTTP, so that operators hold a login to the daemon instead of the Redis
// password. Handler serves it from a track.Service; Client is a
// track.Service that calls it. Both speak the JSON of `track show -o json`.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/track"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

const (
	// maxBody bounds a request body: the largest cancellation (1,000
	// domains of 253 characters and a note) is about a quarter of it.
	maxBody = 1 << 20
	// requestTimeout bounds the store's work for one request.
	requestTimeout = 30 * time.Second
)

// Options configure Handler.
type Options struct {
	// Service returns the service to run one request on, its writes
	// recorded as actor (empty for a read), and a function that releases it.
	Service func(actor string) (svc track.Service, release func())
	// WebConfigFile is the exporter-toolkit web config file the server runs
	// with; empty for none. Writes need the authentication it configures.
	WebConfigFile string
	Logger        *slog.Logger
}

// apiError is an error with the HTTP status that answers it.
type apiError struct {
	status int
	err    error
}

// Handler serves the API. It expects exporter-toolkit around it, which
// answers 401 to a request without the configured credentials.
func Handler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/cancellations", h.write(h.add))
	mux.HandleFunc("GET /api/v1/cancellations", h.list)
	mux.HandleFunc("GET /api/v1/cancellations/{id}", h.show)
	mux.HandleFunc("POST /api/v1/cancellations/{id}/approve", h.write(h.approve))
	mux.HandleFunc("POST /api/v1/cancellations/{id}/{action}", h.write(h.transition))
	mux.HandleFunc("DELETE /api/v1/cancellations/{id}", h.write(h.remove))
	// A browser's cross-site write is refused before anything else: the
	// basic-auth credentials it may hold for this server must not act for
	// another site.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusForbidden, errors.New("cross-origin request refused: the API takes writes from its own origin or from clients that are not browsers"))
	}))
	return cop.Handler(bounded(mux))
}

// bounded gives every request requestTimeout for the store's work.
func bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type handler struct{ o Options }

// write runs a write with the service acting for the authenticated person.
func (h *handler) write(do func(w http.ResponseWriter, r *http.Request, svc track.Service) *apiError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, e := writer(r, h.o.WebConfigFile)
		if e == nil && r.Method == http.MethodPost {
			e = checkJSONContent(r)
		}
		if e != nil {
			h.fail(w, r, e)
			return
		}
		svc, release := h.o.Service(actor)
		defer release()
		if e := do(w, r, svc); e != nil {
			h.fail(w, r, e)
		}
	}
}

// checkJSONContent refuses a POST that is not declared JSON: an HTML form
// of another site cannot declare it without the browser asking first.
func checkJSONContent(r *http.Request) *apiError {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, errors.New("send a JSON body with Content-Type: application/json")}
	}
	return nil
}

func (h *handler) add(w http.ResponseWriter, r *http.Request, svc track.Service) *apiError {
	var spec track.Spec
	if e := decode(w, r, &spec, false); e != nil {
		return e
	}
	d, err := svc.Add(r.Context(), spec)
	if err != nil {
		return classify(err)
	}
	w.Header().Set("Location", Prefix+"cancellations/"+url.PathEscape(d.ID))
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r.URL.Query())
	if err != nil {
		h.fail(w, r, &apiError{http.StatusBadRequest, err})
		return
	}
	svc, release := h.o.Service("")
	defer release()
	views, err := svc.List(r.Context(), f)
	if err != nil {
		h.fail(w, r, classify(err))
		return
	}
	writeJSON(w, http.StatusOK, views)
}

// filterOf reads ?status=S&kind=K, each repeatable; anything else is an error.
func filterOf(q url.Values) (store.Filter, error) {
	var f store.Filter
	for key, values := range q {
		for _, v := range values {
			switch key {
			case "status":
				s, err := cancellation.ParseStatus(v)
				if err != nil {
					return store.Filter{}, err
				}
				f.Statuses = append(f.Statuses, s)
			case "kind":
				k, err := cancellation.ParseKind(v)
				if err != nil {
					return store.Filter{}, err
				}
				f.Kinds = append(f.Kinds, k)
			default:
				return store.Filter{}, fmt.Errorf("unknown query parameter %q (want status or kind)", key)
			}
		}
	}
	return f, nil
}

func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	svc, release := h.o.Service("")
	defer release()
	d, err := svc.Show(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, classify(err))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// approval is the body of …/approve.
type approval struct {
	At string `json:"at"` // YYYY-MM-DD; empty: today
}

func (h *handler) approve(w http.ResponseWriter, r *http.Request, svc track.Service) *apiError {
	var a approval
	if e := decode(w, r, &a, true); e != nil {
		return e
	}
	d, err := svc.Approve(r.Context(), r.PathValue("id"), a.At)
	if err != nil {
		return classify(err)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// transitions are the actions of …/{action} besides approve, which takes a date.
var transitions = map[string]cancellation.Status{
	cancellation.Rejected.Verb():  cancellation.Rejected,
	cancellation.Withdrawn.Verb(): cancellation.Withdrawn,
}

func (h *handler) transition(w http.ResponseWriter, r *http.Request, svc track.Service) *apiError {
	to, ok := transitions[r.PathValue("action")]
	if !ok {
		return &apiError{http.StatusNotFound, fmt.Errorf("unknown action %q (want approve, reject or withdraw)", r.PathValue("action"))}
	}
	var none struct{}
	if e := decode(w, r, &none, true); e != nil {
		return e
	}
	d, err := svc.Transition(r.Context(), r.PathValue("id"), to)
	if err != nil {
		return classify(err)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *handler) remove(w http.ResponseWriter, r *http.Request, svc track.Service) *apiError {
	if err := svc.Remove(r.Context(), r.PathValue("id")); err != nil {
		return classify(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decode reads the body into v: one JSON value of known fields, at most
// maxBody bytes; an empty body leaves v as it is when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		if optional {
			return nil
		}
		return &apiError{http.StatusBadRequest, errors.New("body: empty, want a JSON object")}
	}
	if err == nil {
		if _, err = dec.Token(); errors.Is(err, io.EOF) {
			err = nil
		} else if !isTooLarge(err) {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if isTooLarge(err) {
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Errorf("body: larger than %d bytes", maxBody)}
	}
	if err != nil {
		return &apiError{http.StatusBadRequest, fmt.Errorf("body: %w", err)}
	}
	return nil
}

func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

// classify answers an error of the service with the status that fits it.
func classify(err error) *apiError {
	var (
		invalid   *track.InvalidError
		refused   *track.RefusedError
		duplicate *store.DuplicateError
	)
	switch {
	case errors.As(err, &invalid):
		return &apiError{http.StatusUnprocessableEntity, err}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{http.StatusNotFound, err}
	case errors.As(err, &refused), errors.As(err, &duplicate):
		return &apiError{http.StatusConflict, err}
	case errors.Is(err, store.ErrContention):
		return &apiError{http.StatusServiceUnavailable, err}
	default:
		return &apiError{http.StatusInternalServerError, err}
	}
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.status >= http.StatusInternalServerError {
		h.o.Logger.Warn("API request failed", "method", r.Method, "path", r.URL.Path, "err", e.err)
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Basic")
	}
	writeError(w, e.status, e.err)
}

// errorBody is every error answer: the sentence the CLI prints.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = track.WriteJSON(w, v) // the client is gone: nobody to tell
}
