// Package lookup asks the configured query providers, in order, and holds
// every absence until a canary lookup made after it, on the same provider,
// comes back present. It is how both the query job and `icpmon query` look
// filings up; what an answer proves is package evidence's to say.
//
// A provider that proves nothing for a reason about itself (captcha, login,
// firewall, rate limit, a suspected silent ban, its servers) hands the
// question to the next provider. A provider whose canary fails is out for the
// rest of the session, and the absences it gave since its last good canary
// are asked again of the next provider, or become unknown.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/icpmon/icpmon/monitor/evidence"
	"github.com/icpmon/icpmon/scraper"
)

// Recorder counts lookups for icpmon_query_requests_total and
// icpmon_query_canary_ok (README, "Metrics").
type Recorder interface {
	// ObserveLookup counts one lookup: result is "present", "absent" or a scraper.Reason.
	ObserveLookup(provider, result string)
	// SetCanary records whether the last canary lookup came back present.
	SetCanary(ok bool)
}

// suspecter is a provider that can be told its normal-looking answers were a
// ban's, so that it rests (polite.Provider).
type suspecter interface {
	Suspect(reason scraper.Reason)
}

// Chain is the ordered providers and the canary that vouches for their absences.
type Chain struct {
	providers []scraper.Provider
	canary    evidence.Key
	rec       Recorder
	log       *slog.Logger
}

// NewChain returns a chain over providers, most trusted first. canary is a
// licence known to be filed.
func NewChain(providers []scraper.Provider, canary string, rec Recorder, log *slog.Logger) (*Chain, error) {
	if len(providers) == 0 {
		return nil, errors.New("lookup: no provider")
	}
	k, err := evidence.LicenceKey(canary)
	if err != nil {
		return nil, fmt.Errorf("lookup: canary: %w", err)
	}
	if rec == nil {
		rec = nopRecorder{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Chain{providers: providers, canary: k, rec: rec, log: log}, nil
}

// Providers names the providers, in order.
func (c *Chain) Providers() []string {
	out := make([]string, len(c.providers))
	for i, p := range c.providers {
		out[i] = p.Name()
	}
	return out
}

// Question is one lookup and the keys its answer is judged for.
type Question struct {
	Asked evidence.Key
	Wants []evidence.Key
	// Done receives the outcome once it is final: at once for a presence or
	// an unknown, after the canary bracket for an absence. It is not called
	// when the context ends first: nothing is then decided.
	Done func(Outcome)
}

// Outcome is what a question came to.
type Outcome struct {
	Provider string             // who answered; "" when nobody did
	Verdicts []evidence.Verdict // one per Question.Wants
	Records  []scraper.Record   // what the provider returned
	Bracket  string             // the canary that vouched for an absence, in a sentence
}

// Session is one sweep's or one command's use of a chain: it remembers which
// providers are out and holds absences until a canary brackets them. Not safe
// for concurrent use.
type Session struct {
	c     *Chain
	batch int
	out   map[int]scraper.Reason // provider index → why it is not asked again
	held  map[int][]held         // provider index → absences awaiting a canary
}

type held struct {
	q Question
	o Outcome
}

// Session starts a session that holds at most batch absences per provider
// before it looks the canary up (1: after each).
func (c *Chain) Session(batch int) *Session {
	return &Session{c: c, batch: max(batch, 1), out: map[int]scraper.Reason{}, held: map[int][]held{}}
}

// ErrNoProvider is returned by Start when no provider answered the canary.
var ErrNoProvider = errors.New("no query provider answered the canary lookup")

// Start looks the canary up on each provider in turn until one comes back
// present: a provider that fails it is out for the session, and a session in
// which none passes would only knock on closed doors.
func (s *Session) Start(ctx context.Context) error {
	var why []string
	for i, p := range s.c.providers {
		ok, reason := s.canary(ctx, i)
		if ok {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.out[i] = reason
		why = append(why, fmt.Sprintf("%s: %s", p.Name(), reason))
	}
	return fmt.Errorf("%w (%s)", ErrNoProvider, strings.Join(why, "; "))
}

// Ask asks q of the providers that are not out, in order, until one answers.
func (s *Session) Ask(ctx context.Context, q Question) { s.ask(ctx, q, nil) }

// ask is Ask with the outcome to give if nobody answers; nil means every
// verdict unknown for the last reason seen.
func (s *Session) ask(ctx context.Context, q Question, fallback *Outcome) {
	last := scraper.NetworkError
	for i, p := range s.c.providers {
		if why, isOut := s.out[i]; isOut {
			last = why
			continue
		}
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		ans, err := p.Lookup(ctx, q.Asked.String())
		if err != nil {
			last = scraper.ReasonOf(err)
			s.c.rec.ObserveLookup(p.Name(), string(last))
			scraper.Trace(ctx, scraper.Step{Provider: p.Name(), Name: "lookup " + q.Asked.String(), Took: time.Since(start), Err: err,
				Detail: "proved nothing (" + string(last) + ")"})
			if ctx.Err() != nil {
				return
			}
			if scraper.AboutProvider(last) {
				continue // the next provider may do better
			}
			break
		}
		whole := evidence.Judge(q.Asked, q.Asked, ans)
		s.c.rec.ObserveLookup(p.Name(), resultLabel(whole))
		o := Outcome{Provider: p.Name(), Records: ans.Records, Verdicts: make([]evidence.Verdict, len(q.Wants))}
		absent := false
		for j, w := range q.Wants {
			o.Verdicts[j] = evidence.Judge(q.Asked, w, ans)
			absent = absent || o.Verdicts[j].Result == evidence.Absent
		}
		scraper.Trace(ctx, scraper.Step{Provider: p.Name(), Name: "lookup " + q.Asked.String(), Took: time.Since(start),
			Detail: fmt.Sprintf("%d records: %s", len(ans.Records), whole.Why)})
		if !absent {
			q.Done(o)
			return
		}
		s.held[i] = append(s.held[i], held{q: q, o: o})
		if len(s.held[i]) >= s.batch {
			s.flush(ctx, i)
		}
		return
	}
	if fallback != nil {
		q.Done(*fallback)
		return
	}
	o := Outcome{Verdicts: make([]evidence.Verdict, len(q.Wants))}
	for j := range o.Verdicts {
		o.Verdicts[j] = evidence.Verdict{Result: evidence.Unknown, Reason: last,
			Why: "no provider answered (last: " + string(last) + ")"}
	}
	q.Done(o)
}

// Finish brackets every absence still held. Call it once the questions are asked.
func (s *Session) Finish(ctx context.Context) {
	for {
		i, ok := s.anyHeld()
		if !ok || ctx.Err() != nil {
			return
		}
		s.flush(ctx, i)
	}
}

func (s *Session) anyHeld() (int, bool) {
	for i := range s.c.providers {
		if len(s.held[i]) > 0 {
			return i, true
		}
	}
	return 0, false
}

// flush looks the canary up on provider i: present, and the absences it
// holds are final; anything else, and the provider is out, and each absence
// is asked again of the next providers or becomes unknown.
func (s *Session) flush(ctx context.Context, i int) {
	hs := s.held[i]
	delete(s.held, i)
	ok, reason := s.canary(ctx, i)
	if ctx.Err() != nil {
		return
	}
	name := s.c.providers[i].Name()
	if ok {
		for _, h := range hs {
			h.o.Bracket = fmt.Sprintf("canary %s present on %s after it", s.c.canary, name)
			h.q.Done(h.o)
		}
		return
	}
	s.out[i] = reason
	if sp, can := s.c.providers[i].(suspecter); can && reason == scraper.SilentBanSuspected {
		sp.Suspect(reason)
	}
	s.c.log.Warn("absences discarded: the canary lookup after them did not come back present",
		"provider", name, "canary", s.c.canary, "reason", reason, "absences", len(hs))
	for _, h := range hs {
		fb := h.o
		fb.Verdicts = append([]evidence.Verdict(nil), h.o.Verdicts...)
		for j, v := range fb.Verdicts {
			if v.Result == evidence.Absent {
				fb.Verdicts[j] = evidence.Verdict{Result: evidence.Unknown, Reason: scraper.SilentBanSuspected,
					Why: fmt.Sprintf("%s said: %s; but the canary %s did not come back present after it (%s)", name, v.Why, s.c.canary, reason)}
			}
		}
		s.ask(ctx, h.q, &fb)
	}
}

// canary looks the canary up on provider i. A provider whose canary is not
// present is suspected of a silent ban; one whose canary lookup failed gives
// its own reason.
func (s *Session) canary(ctx context.Context, i int) (bool, scraper.Reason) {
	p := s.c.providers[i]
	start := time.Now()
	ans, err := p.Lookup(ctx, s.c.canary.String())
	var reason scraper.Reason
	var detail string
	if err != nil {
		reason, detail = scraper.ReasonOf(err), err.Error()
	} else if v := evidence.Judge(s.c.canary, s.c.canary, ans); v.Result == evidence.Absent {
		reason, detail = scraper.SilentBanSuspected, v.Why
	} else if v.Result == evidence.Unknown {
		reason, detail = v.Reason, v.Why
	} else {
		detail = v.Why
	}
	ok := reason == ""
	label := string(reason)
	if ok {
		label = string(evidence.Present)
	}
	s.c.rec.ObserveLookup(p.Name(), label)
	s.c.rec.SetCanary(ok)
	scraper.Trace(ctx, scraper.Step{Provider: p.Name(), Name: "canary " + s.c.canary.String(), Took: time.Since(start), Err: err, Detail: detail})
	return ok, reason
}

// resultLabel is the metric result of a lookup judged for its own key.
func resultLabel(v evidence.Verdict) string {
	if v.Result == evidence.Unknown {
		return string(v.Reason)
	}
	return string(v.Result)
}

type nopRecorder struct{}

func (nopRecorder) ObserveLookup(string, string) {}
func (nopRecorder) SetCanary(bool)               {}
