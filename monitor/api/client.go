package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/track"
)

// ClientOptions say where the API is and how to log in.
type ClientOptions struct {
	// URL is the daemon's address, e.g. https://icpmon.example:9810 (a
	// path, for a reverse proxy, is kept).
	URL string
	// User and Password are sent as basic auth when User is set.
	User, Password string
	// CertFile and KeyFile are a client certificate (both or neither).
	CertFile, KeyFile string
	// CAFile holds the CAs that sign the server's certificate; empty: the system's.
	CAFile string
	// Timeout bounds one request.
	Timeout time.Duration
}

// Client is track.Service over the HTTP API. An error the server answers
// comes back with the server's sentence, which is the CLI's.
type Client struct {
	base     *url.URL
	http     *http.Client
	user     string
	password string
}

// Error is an error answer of the API.
type Error struct {
	Status  int    // HTTP status
	Message string // what the server said
}

func (e *Error) Error() string { return e.Message }

// NewClient checks o and builds a client; it sends nothing yet.
func NewClient(o ClientOptions) (*Client, error) {
	base, err := url.Parse(o.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--server %q: want an http:// or https:// URL of icpmon serve", o.URL)
	}
	// Prometheus' own TLS client settings: files checked now, the
	// certificate read again at each handshake, so a renewed one is used.
	tlsConfig, err := promconfig.NewTLSConfig(&promconfig.TLSConfig{
		CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile, MinVersion: promconfig.TLSVersion(tls.VersionTLS12),
	})
	if err != nil {
		return nil, fmt.Errorf("--server TLS: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	return &Client{
		base:     base,
		http:     &http.Client{Transport: transport, Timeout: o.Timeout},
		user:     o.User,
		password: o.Password,
	}, nil
}

// Add posts s and returns the cancellation as added.
func (c *Client) Add(ctx context.Context, s track.Spec) (track.Detail, error) {
	var d track.Detail
	return d, c.do(ctx, http.MethodPost, "cancellations", nil, s, http.StatusCreated, &d)
}

// List gets the cancellations f selects.
func (c *Client) List(ctx context.Context, f store.Filter) ([]track.View, error) {
	q := url.Values{}
	for _, s := range f.Statuses {
		q.Add("status", string(s))
	}
	for _, k := range f.Kinds {
		q.Add("kind", string(k))
	}
	var views []track.View
	return views, c.do(ctx, http.MethodGet, "cancellations", q, nil, http.StatusOK, &views)
}

// Show gets one cancellation.
func (c *Client) Show(ctx context.Context, id string) (track.Detail, error) {
	var d track.Detail
	return d, c.do(ctx, http.MethodGet, "cancellations/"+url.PathEscape(id), nil, nil, http.StatusOK, &d)
}

// Approve records an approval on the China date at (empty: today).
func (c *Client) Approve(ctx context.Context, id, at string) (track.Detail, error) {
	var d track.Detail
	return d, c.do(ctx, http.MethodPost, "cancellations/"+url.PathEscape(id)+"/approve", nil, approval{At: at}, http.StatusOK, &d)
}

// Transition records a move to status to, by the action of its verb.
func (c *Client) Transition(ctx context.Context, id string, to cancellation.Status) (track.Detail, error) {
	var d track.Detail
	return d, c.do(ctx, http.MethodPost, "cancellations/"+url.PathEscape(id)+"/"+to.Verb(), nil, struct{}{}, http.StatusOK, &d)
}

// Remove stops tracking a cancellation.
func (c *Client) Remove(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "cancellations/"+url.PathEscape(id), nil, nil, http.StatusNoContent, nil)
}

// do sends one request and decodes a want answer into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, want int, out any) error {
	u := c.base.JoinPath(Prefix, path)
	u.RawQuery = q.Encode()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The *url.Error would repeat the method and the whole URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("cannot reach icpmon at %s: %w", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("icpmon at %s: reading the answer: %w", c.base.Redacted(), err)
	}
	if resp.StatusCode != want {
		return c.errorOf(resp, answer)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("icpmon at %s: unexpected answer: %w", c.base.Redacted(), err)
	}
	return nil
}

// errorOf is the error a failed request answered: the server's own sentence
// when it sent one, else what the status means here.
func (c *Client) errorOf(resp *http.Response, answer []byte) error {
	var e errorBody
	if json.Unmarshal(answer, &e) == nil && e.Error != "" {
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	msg := fmt.Sprintf("icpmon at %s answered %s", c.base.Redacted(), resp.Status)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.user == "" {
			msg += ": it wants a login (--server.user, with the password in ICPMON_SERVER_PASSWORD or --server.password-file)"
		} else {
			msg += ": wrong user name or password"
		}
	default:
		if text := strings.TrimSpace(string(answer)); text != "" && len(text) < 200 {
			msg += ": " + text
		}
	}
	return &Error{Status: resp.StatusCode, Message: msg}
}
