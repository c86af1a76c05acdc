package miit

import (
	"context"
	"crypto/md5" // #nosec G501 -- the MIIT protocol's authKey; see auth
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/icpmon/icpmon/scraper"
)

// tokenCache holds the auth token shared by all lookups of a client. The
// lock is a one-slot channel so that waiting for a refresh in progress
// respects the caller's context.
type tokenCache struct {
	c       *Client
	margin  time.Duration
	lock    chan struct{}
	token   string
	renewAt time.Time
}

func newTokenCache(c *Client, margin time.Duration) *tokenCache {
	return &tokenCache{c: c, margin: margin, lock: make(chan struct{}, 1)}
}

// cachedToken is a token with when the cache renews it, and whether this
// call fetched it (for a trace).
type cachedToken struct {
	token   string
	renewAt time.Time
	fetched bool
}

// get returns a token, fetching one when none is cached, when the cached
// one is near its expiry, or when it is stale (the token a server just
// rejected; another lookup may already have replaced it).
func (tc *tokenCache) get(ctx context.Context, stale string) (cachedToken, error) {
	select {
	case tc.lock <- struct{}{}:
	case <-ctx.Done():
		return cachedToken{}, scraper.Unknown(scraper.NetworkError, fmt.Errorf("waiting for the auth token: %w", ctx.Err()))
	}
	defer func() { <-tc.lock }()
	now := tc.c.now()
	if tc.token != "" && tc.token != stale && now.Before(tc.renewAt) {
		return cachedToken{token: tc.token, renewAt: tc.renewAt}, nil
	}
	tc.token = ""
	token, lifetime, err := tc.c.auth(ctx)
	if err != nil {
		return cachedToken{}, err
	}
	tc.token = token
	tc.renewAt = now.Add(lifetime - min(tc.margin, lifetime/10))
	return cachedToken{token: token, renewAt: tc.renewAt, fetched: true}, nil
}

// auth runs POST /auth with the site's hard-coded account: authKey =
// md5("testtest" + timeStamp), timeStamp in milliseconds (PROTOCOL.md §2.1).
// It returns the token and how long it lives.
func (c *Client) auth(ctx context.Context) (string, time.Duration, error) {
	ts := strconv.FormatInt(c.now().UnixMilli(), 10)
	sum := md5.Sum([]byte("testtest" + ts)) // #nosec G401 -- the MIIT API's authKey is this MD5 (PROTOCOL.md §2.1); nothing secret depends on it
	form := url.Values{"authKey": {hex.EncodeToString(sum[:])}, "timeStamp": {ts}}
	status, body, err := c.post(ctx, stepAuth, "/auth", "application/x-www-form-urlencoded;charset=UTF-8", []byte(form.Encode()), nil)
	if err != nil {
		return "", 0, err
	}
	params, err := decode(stepAuth, status, body)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", stepAuth, err)
	}
	var p struct {
		Token  string `json:"bussiness"` // sic
		Expire *int64 `json:"expire"`    // milliseconds
	}
	if err := json.Unmarshal(params, &p); err != nil || p.Token == "" || p.Expire == nil || *p.Expire <= 0 {
		return "", 0, scraper.Unknown(scraper.Unparseable, fmt.Errorf("%s: no token or expiry in %s", stepAuth, snippet(params)))
	}
	lifetime := time.Duration(*p.Expire) * time.Millisecond
	if claimed, err := claimedLifetime(p.Token); err == nil && claimed < lifetime {
		lifetime = claimed
	} else if err != nil {
		c.log.Debug("miit token without readable claims", "err", err)
	}
	return p.Token, lifetime, nil
}

// claimedLifetime reads the token's own "s" and "e" claims (ms). Their
// difference, not "e" itself, is used so that the server's clock does not
// have to agree with ours; a 2023 sample claimed 480 s while expire said 300 s.
func claimedLifetime(token string) (time.Duration, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, errors.New("not header.payload.signature")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return 0, err
	}
	var claims struct {
		S, E int64
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return 0, err
	}
	if claims.S <= 0 || claims.E <= claims.S {
		return 0, errors.New("no s/e claims")
	}
	return time.Duration(claims.E-claims.S) * time.Millisecond, nil
}
