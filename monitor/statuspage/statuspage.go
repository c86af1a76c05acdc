// Package statuspage renders what icpmon knows for people: the list of
// tracked cancellations with filters (/), one cancellation with its
// evidence and history (/cancellations/{id}), and the list as CSV for
// compliance reports (/cancellations.csv). The pages are server-rendered
// HTML that works without JavaScript, in English or, when the browser asks
// for it, Chinese.
package statuspage

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/store"
)

// Source is what the pages read: the daemon implements it.
type Source interface {
	// Overview describes the daemon: its version, Redis, settings, jobs.
	Overview() Overview
	// Snapshot is the view of the tracked cancellations; nil before the
	// first load of the store.
	Snapshot() *status.Snapshot
	// Read returns one cancellation as the store holds it now. An unknown
	// or removed ID gives an error matching store.ErrNotFound.
	Read(ctx context.Context, id string) (Full, error)
}

// Overview is what the list page says about the daemon. It holds no
// secret: Redis appears by its addresses only.
type Overview struct {
	Version, Redis, KeyPrefix string
	Ready                     bool
	NotReady                  string
	StoreLost                 string    // why what is shown is not the store as it is now
	AsOf                      time.Time // when the view was last known to be the store's
	Settings                  []Setting
	Jobs                      []Job
}

// Setting is one line of the configuration in force. Key is a
// configuration key or a label the catalogue translates.
type Setting struct{ Key, Value string }

// Job is how one job's last run went.
type Job struct {
	Name, Schedule string
	Next           time.Time
	LastStart      time.Time
	LastTook       time.Duration
	LastErr        string
	LastOK         time.Time
	Ran            bool
}

// Full is one cancellation in full: the document with its probe history,
// its history, and the rules in force, which say where it stands.
type Full struct {
	Cancellation cancellation.Cancellation
	History      []cancellation.Event
	Rules        status.Rules
}

// listRows bounds the list: at 100,000 tracked the page shows the most
// urgent ones; the CSV, /metrics and `icpmon track list` have the rest.
const listRows = 500

// readTimeout bounds the store reads of one cancellation page.
const readTimeout = 10 * time.Second

//go:embed templates/*.html
var templateFiles embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"when": when, "duration": Duration, "events": eventsOf,
}).ParseFS(templateFiles, "templates/*.html"))

// Pages serves the status pages from a Source.
type Pages struct {
	src Source
	now func() time.Time
	log *slog.Logger
}

// New returns the pages of src; now is the clock that says where a
// cancellation read from the store stands.
func New(src Source, now func() time.Time, log *slog.Logger) *Pages {
	return &Pages{src: src, now: now, log: log}
}

// render writes template name with data, as HTML in the request's language.
func (p *Pages) render(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept-Language")
	w.WriteHeader(code)
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		p.log.Warn("render status page", "page", name, "err", err)
	}
}

// eventTable is the "events" template's data: history entries and the
// language of their labels.
type eventTable struct {
	L      locale
	Events []cancellation.Event
}

func eventsOf(l locale, events []cancellation.Event) eventTable {
	return eventTable{L: l, Events: events}
}

// errorPage is a page that could not be made: why, in the request's language.
type errorPage struct {
	locale
	Title, Message string
}

func (p *Pages) fail(w http.ResponseWriter, l locale, code int, title, message string) {
	p.render(w, code, "error.html", errorPage{locale: l, Title: title, Message: message})
}

// Cancellation serves /cancellations/{id}.
func (p *Pages) Cancellation(w http.ResponseWriter, r *http.Request) {
	l := localeOf(r)
	id := r.PathValue("id")
	if cancellation.CheckID(id) != nil {
		p.fail(w, l, http.StatusNotFound, l.T("No such cancellation"), l.T("No cancellation has the ID %q.", id))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	full, err := p.src.Read(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		msg := l.T("No cancellation has the ID %q.", id)
		if removed, ok := errors.AsType[*store.RemovedError](err); ok {
			msg = l.T("Cancellation %s was removed on %s by %s.", id, when(removed.Event.At), removed.Event.Actor)
		}
		p.fail(w, l, http.StatusNotFound, l.T("No such cancellation"), msg)
		return
	case err != nil:
		p.log.Warn("read a cancellation for its page", "id", id, "err", err)
		p.fail(w, l, http.StatusServiceUnavailable, l.T("Cannot read the store"), err.Error())
		return
	}
	p.render(w, http.StatusOK, "cancellation.html", newDetailPage(l, full, p.now()))
}
