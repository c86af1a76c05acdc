package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
)

// Bounds of the web server. A flood of idle or slow connections must cost
// the web surface only: each connection is timed out, and their number is
// capped below the descriptor limit, so the jobs (Redis, lookups, probes)
// always find descriptors.
const (
	DefaultMaxConnections    = 512
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is shorter than common scrape intervals: a scraper
	// reconnects, a flood's idle connections are let go.
	DefaultIdleTimeout = 30 * time.Second
	// readTimeout bounds a whole request; requests carry no big bodies.
	readTimeout = 30 * time.Second
	// writeTimeout bounds writing an answer (a /metrics scrape is read from
	// the snapshot); POST /-/reload extends its own.
	writeTimeout   = time.Minute
	maxHeaderBytes = 64 << 10
)

func (d *daemon) newServer() *http.Server {
	return &http.Server{
		Handler:           d.routes(),
		ReadHeaderTimeout: positiveOr(d.o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       max(readTimeout, d.o.ReadHeaderTimeout),
		WriteTimeout:      writeTimeout,
		IdleTimeout:       positiveOr(d.o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
}

// positiveOr is v, or def when v is not set (zero or less).
func positiveOr[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// listen opens the listeners that exporter-toolkit's web.ListenAndServe
// would (systemd sockets, vsock:// or TCP addresses), each capped to its
// share of the connections: beyond the cap, connections wait in the
// kernel's backlog and hold no descriptor of the daemon.
func (d *daemon) listen(flags *web.FlagConfig) ([]net.Listener, error) {
	var ls []net.Listener
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		d.log.Info("Listening on systemd activated listeners instead of port listeners.")
		var err error
		if ls, err = activation.Listeners(); err != nil {
			return nil, fmt.Errorf("systemd socket activation: %w", err)
		}
		if len(ls) == 0 {
			return nil, errors.New("systemd socket activation: no socket passed")
		}
	} else {
		for _, addr := range *flags.WebListenAddresses {
			l, err := listenOn(addr)
			if err != nil {
				for _, l := range ls {
					_ = l.Close()
				}
				return nil, err
			}
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return nil, web.ErrNoListeners
	}
	total, limit := connectionCap(positiveOr(d.o.MaxConnections, DefaultMaxConnections))
	each := max(1, total/len(ls))
	d.log.Info("web connections capped", "max_connections", total, "per_listener", each, "descriptor_limit", limit)
	for i, l := range ls {
		ls[i] = netutil.LimitListener(l, each)
	}
	return ls, nil
}

func listenOn(addr string) (net.Listener, error) {
	if !strings.HasPrefix(addr, "vsock://") {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("web listen address: %w", err)
		}
		return l, nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("web listen address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(u.Port(), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("web listen address %q: port: %w", addr, err)
	}
	l, err := vsock.Listen(uint32(port), nil)
	if err != nil {
		return nil, fmt.Errorf("web listen address %q: %w", addr, err)
	}
	return l, nil
}

// connectionCap lowers want to half the process's descriptor limit, the
// other half being the jobs' reserve; it also returns the limit (0 when
// unknown).
func connectionCap(want int) (capped int, limit uint64) {
	limit, ok := descriptorLimit()
	if !ok || limit == 0 {
		return want, 0
	}
	return max(1, int(min(limit/2, uint64(want)))), limit
}
