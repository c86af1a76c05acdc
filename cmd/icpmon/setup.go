package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/api"
	"github.com/icpmon/icpmon/monitor/assemble"
	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/monitor/store"
)

// loadConfig reads --config (the defaults when it is not given) and applies
// --redis-url, which kingpin has already taken from ICPMON_REDIS_URL when the
// flag is absent: flag over environment over file. A URL replaces the
// file's whole Redis topology (addrs, master_name, cluster).
func (c *cli) loadConfig() (*config.Config, error) {
	return config.Load(c.configFile, c.redisURL)
}

// calendar builds the business-day calendar: the embedded official
// schedules plus calendar.extra_files.
func (c *cli) calendar(cfg *config.Config) (*calendar.Calendar, error) {
	return calendar.Load(cfg.Calendar.ExtraFiles)
}

// configAndCalendar is loadConfig, then the calendar it configures.
func (c *cli) configAndCalendar() (*config.Config, *calendar.Calendar, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	cal, err := c.calendar(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, cal, nil
}

// storeTimeout bounds one Redis reply for the quick commands; an import runs
// one script for the whole file and gets longer.
const (
	storeTimeout  = 10 * time.Second
	importTimeout = 5 * time.Minute
	// serverTimeout outlasts the API's own bound on a request (30 s).
	serverTimeout = 40 * time.Second
)

// openWritableStore is openStoreWith for a command that writes: the store
// gets its identity first if it has none, so that a store first filled by
// the CLI is one a daemon can tell from an emptied one.
func openWritableStore(ctx context.Context, cfg *config.Config, readTimeout time.Duration) (*store.Store, func(), error) {
	s, closeStore, err := openStoreWith(ctx, cfg, readTimeout)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.EnsureIdentity(ctx); err != nil {
		closeStore()
		return nil, nil, err
	}
	return s, closeStore, nil
}

func openStoreWith(ctx context.Context, cfg *config.Config, readTimeout time.Duration) (*store.Store, func(), error) {
	o, err := cfg.Redis.ClientOptions()
	if err != nil {
		return nil, nil, err
	}
	o.ReadTimeout, o.WriteTimeout = readTimeout, readTimeout
	rdb, s := assemble.Connect(o, cfg.Redis.KeyPrefix, store.MaxDomains(cfg.Track.MaxDomains))
	if err := s.Ping(ctx); err != nil {
		_ = rdb.Close()
		return nil, nil, fmt.Errorf("cannot reach Redis at %s: %w", strings.Join(o.Addrs, ", "), errors.Unwrap(err))
	}
	return s, func() { _ = rdb.Close() }, nil
}

// operator names the person at the keyboard for the history: operator:<OS user>.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return cancellation.OperatorActor(u.Username)
	}
	if name := os.Getenv("USER"); name != "" {
		return cancellation.OperatorActor(name)
	}
	return cancellation.OperatorActor(fmt.Sprintf("uid%d", os.Getuid()))
}

// serverFlags say how `track --server` reaches the daemon's HTTP API. The
// password never is a flag, which every user of the machine could read in
// the process list: it comes from ICPMON_SERVER_PASSWORD or a file.
type serverFlags struct {
	url          string
	user         string
	passwordFile string
	certFile     string
	keyFile      string
	caFile       string
}

func (s *serverFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("server", "Act through the HTTP API of icpmon serve at this URL instead of on Redis: a login to the daemon, not the Redis password. Not for import.").Envar("ICPMON_SERVER").PlaceHolder("URL").StringVar(&s.url)
	cmd.Flag("server.user", "Basic-auth user name for --server; the password comes from ICPMON_SERVER_PASSWORD or --server.password-file.").Envar("ICPMON_SERVER_USER").PlaceHolder("NAME").StringVar(&s.user)
	cmd.Flag("server.password-file", "File holding the basic-auth password for --server (wins over ICPMON_SERVER_PASSWORD).").PlaceHolder("FILE").StringVar(&s.passwordFile)
	cmd.Flag("server.cert-file", "Client certificate (PEM) for a --server that requires one.").PlaceHolder("FILE").StringVar(&s.certFile)
	cmd.Flag("server.key-file", "Key (PEM) of --server.cert-file.").PlaceHolder("FILE").StringVar(&s.keyFile)
	cmd.Flag("server.ca-file", "CA certificates (PEM) that sign the --server's certificate; default the system's.").PlaceHolder("FILE").StringVar(&s.caFile)
}

// client is the API client the flags describe.
func (s serverFlags) client() (*api.Client, error) {
	password := os.Getenv("ICPMON_SERVER_PASSWORD")
	if s.passwordFile != "" {
		b, err := os.ReadFile(s.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("--server.password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if s.user == "" && password != "" {
		return nil, errors.New("a --server password is given without --server.user (or ICPMON_SERVER_USER)")
	}
	return api.NewClient(api.ClientOptions{
		URL: s.url, User: s.user, Password: password,
		CertFile: s.certFile, KeyFile: s.keyFile, CAFile: s.caFile,
		Timeout: serverTimeout,
	})
}
