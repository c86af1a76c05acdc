package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/icpmon/icpmon/monitor/regularfile"
)

// DefaultRedisURL is used when neither redis.url nor redis.addrs is set:
// the Redis that ops hosts (and this project's machines) run locally.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// ClientOptions builds go-redis options for the configured topology: a
// single server, Sentinel (master_name + addrs) or Cluster (addrs). It reads
// password_file, so secrets never sit in the YAML or on the command line.
func (r Redis) ClientOptions() (*redis.UniversalOptions, error) {
	o := &redis.UniversalOptions{
		Addrs:         r.Addrs,
		MasterName:    r.MasterName,
		IsClusterMode: r.Cluster,
		Username:      r.Username,
		DB:            r.DB,
	}
	if len(r.Addrs) == 0 {
		raw := r.URL
		if raw == "" {
			raw = DefaultRedisURL
		}
		u, err := redis.ParseURL(raw)
		if err != nil {
			return nil, &KeyError{Key: "redis.url", Err: err}
		}
		o.Addrs = []string{u.Addr}
		o.DB, o.Username, o.Password, o.TLSConfig = u.DB, u.Username, u.Password, u.TLSConfig
		if u.Network == "unix" {
			return nil, &KeyError{Key: "redis.url", Err: errors.New("unix sockets are not supported; use redis://HOST:PORT")}
		}
	}
	if r.PasswordFile != "" {
		b, err := regularfile.Read(r.PasswordFile, MaxPasswordBytes)
		if err != nil {
			return nil, &KeyError{Key: "redis.password_file", Err: err}
		}
		o.Password = strings.TrimRight(string(b), "\r\n")
		o.SentinelPassword = o.Password
	}
	// A rediss:// URL turns TLS on by itself; the tls section still says
	// which CA to trust, so that a private CA works with either.
	if r.TLS.Enabled || o.TLSConfig != nil {
		tc, err := r.TLS.config()
		if err != nil {
			return nil, err
		}
		if tc.ServerName == "" && o.TLSConfig != nil {
			tc.ServerName = o.TLSConfig.ServerName // the URL's host
		}
		o.TLSConfig = tc
	}
	return o, nil
}

func (t RedisTLS) config() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, // #nosec G402 -- an explicit operator choice (redis.tls.insecure_skip_verify), off by default
	}
	if t.CAFile != "" {
		pem, err := ReadCAFile(t.CAFile)
		if err != nil {
			return nil, &KeyError{Key: "redis.tls.ca_file", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &KeyError{Key: "redis.tls.ca_file", Err: fmt.Errorf("no PEM certificate in %s", t.CAFile)}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
