package prober

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
)

// answer is one HTTP response, its body read up to MaxBody.
type answer struct {
	url    *url.URL
	status int
	header http.Header
	// body is lower-cased for case-insensitive matching, and kept only when a
	// block signature could need it; other bodies are read and discarded.
	body     []byte
	bodyRead int64
	bodyErr  error // the body ended early: cut by the timeout or the peer
}

// follow fetches start and the same-origin redirects after it, and writes the
// verdict into m. parent is the caller's context, ctx the probe's (with Timeout).
func (p *Prober) follow(parent, ctx context.Context, start *url.URL, m *Measurement) {
	probe := &m.Probe
	seen := []string{start.String()}
	u := start
	for redirects := 0; ; redirects++ {
		a, phase, err := p.fetch(ctx, u, &m.Timings)
		if err != nil {
			// The last hop decides: a site whose redirect leads to a failure
			// does not serve its pages.
			probe.Result, m.Reason, probe.Detail = p.failure(parent, ctx, err, phase)
			probe.StatusCode, probe.Location = 0, ""
			if redirects > 0 {
				probe.Detail += fmt.Sprintf(" at %s after %s", u, sameOriginRedirects(redirects))
			}
			return
		}
		probe.StatusCode = a.status
		next, err := a.location()
		if err != nil {
			probe.Result, probe.Detail = HTTPError, err.Error()
			return
		}
		if next != nil {
			probe.Location = next.String()
		}
		if detail, blocked := p.blocked(a, next); blocked {
			probe.Result, probe.Detail = ProviderBlock, detail
			return
		}
		if next == nil {
			probe.Result, probe.Detail = Served, a.describe(redirects)
			return
		}
		if why := notFollowed(u, next); why != "" {
			probe.Result, probe.Detail = Served, a.describe(redirects)+"; redirect to "+why+" recorded, not followed"
			return
		}
		if slices.Contains(seen, probe.Location) {
			probe.Result, probe.Detail = HTTPError, fmt.Sprintf("redirect loop: %s redirects back to %s", u, next)
			return
		}
		if redirects == p.maxRedirects {
			probe.Result, probe.Detail = HTTPError, fmt.Sprintf("more than %d redirects (last to %s)", p.maxRedirects, next)
			return
		}
		seen = append(seen, probe.Location)
		probe.Location = ""
		u = next
	}
}

// fetch makes one GET request. On failure it returns how far the request got.
func (p *Prober) fetch(ctx context.Context, u *url.URL, t *Timings) (*answer, string, error) {
	h := &hop{}
	defer t.add(h)
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, h.clientTrace()), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, phaseRequest, fmt.Errorf("build request for %s: %w", u, err)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return nil, h.phase(), err
	}
	defer resp.Body.Close()
	a := &answer{url: u, status: resp.StatusCode, header: resp.Header}
	body := io.LimitReader(resp.Body, p.maxBody)
	if p.needsBody(resp.StatusCode) {
		var buf bytes.Buffer
		a.bodyRead, a.bodyErr = buf.ReadFrom(body)
		a.body = bytes.ToLower(buf.Bytes())
	} else {
		// A body read to its end lets the connection be reused by the next hop.
		a.bodyRead, a.bodyErr = io.Copy(io.Discard, body)
	}
	h.mark(&h.bodyDone)
	return a, "", nil
}

// location is where a redirect points, resolved against the request URL; nil
// when the answer is not a redirect.
func (a *answer) location() (*url.URL, error) {
	switch a.status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, nil
	}
	loc := a.header.Get("Location")
	if loc == "" {
		return nil, nil
	}
	next, err := a.url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d from %s with an unparseable Location %q", a.status, a.url, loc)
	}
	next.Fragment, next.RawFragment = "", ""
	return next, nil
}

// describe says what answered, for a served probe.
func (a *answer) describe(redirects int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d at %s", a.status, a.url)
	if redirects > 0 {
		fmt.Fprintf(&b, " after %s", sameOriginRedirects(redirects))
	}
	if a.bodyErr != nil {
		fmt.Fprintf(&b, "; body cut short after %d bytes: %v", a.bodyRead, a.bodyErr)
	}
	return b.String()
}

func sameOriginRedirects(n int) string {
	if n == 1 {
		return "1 same-origin redirect"
	}
	return fmt.Sprintf("%d same-origin redirects", n)
}

// notFollowed says why a redirect from u to next is not followed, or "" when
// it is: only within the same scheme, host and port, plus http on port 80 up
// to https on 443 of the same host. Another port or host may be another
// service behind the same name or address (an admin port, something internal
// that reach.resolve or DNS points at): the prober never sends it a request.
func notFollowed(u, next *url.URL) string {
	from, to := originOf(u), originOf(next)
	switch {
	case next.Scheme != "http" && next.Scheme != "https":
		return "a non-HTTP URL"
	case from.scheme == "https" && to.scheme == "http":
		return "plain http"
	case from.host != to.host:
		return "another host"
	case from == to:
		return ""
	case from.scheme == "http" && from.port == "80" && to.scheme == "https" && to.port == "443":
		return ""
	}
	return "another port"
}

type origin struct{ scheme, host, port string }

// originOf is u's scheme, lower-case host without a trailing dot, and port,
// the scheme's default when u names none.
func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "http":
			o.port = "80"
		case "https":
			o.port = "443"
		}
	}
	return o
}
