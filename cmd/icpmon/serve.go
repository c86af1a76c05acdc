package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/icpmon/icpmon/monitor/daemon"
)

func (c *cli) registerServe(app *kingpin.Application) {
	cmd := app.Command("serve", "Run the daemon: the jobs on their schedules, /metrics, the health endpoints and the status page. SIGHUP or POST /-/reload reloads the configuration.")
	var (
		listen        []string
		webConfig     string
		systemdSocket bool
		maxConns      int
		headerTimeout time.Duration
		idleTimeout   time.Duration
	)
	cmd.Flag("web.listen-address", "Address to listen on, repeatable; wins over web.listen_address of the configuration.").PlaceHolder("HOST:PORT").StringsVar(&listen)
	cmd.Flag("web.config.file", "Web configuration file (Prometheus exporter-toolkit format) enabling TLS and basic auth on every endpoint.").PlaceHolder("FILE").StringVar(&webConfig)
	cmd.Flag("web.systemd-socket", "Use the listeners of systemd socket activation instead of listen addresses.").BoolVar(&systemdSocket)
	cmd.Flag("web.max-connections", "Maximum simultaneous web connections; lowered to half the open-files limit, the rest kept for the jobs.").Default(strconv.Itoa(daemon.DefaultMaxConnections)).IntVar(&maxConns)
	cmd.Flag("web.read-header-timeout", "How long a client may take to send a request's headers.").Default(daemon.DefaultReadHeaderTimeout.String()).DurationVar(&headerTimeout)
	cmd.Flag("web.idle-timeout", "How long an idle keep-alive connection is kept open.").Default(daemon.DefaultIdleTimeout.String()).DurationVar(&idleTimeout)
	c.command(cmd, func(ctx context.Context) error {
		// Signals stay here, as SIGINT and SIGTERM do in main: SIGHUP asks
		// the daemon for a reload; those arriving during one collapse.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		reloads := make(chan struct{}, 1)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					select {
					case reloads <- struct{}{}:
					default:
					}
				}
			}
		}()
		return daemon.Run(ctx, daemon.Options{
			Reloads:    reloads,
			ConfigFile: c.configFile,
			RedisURL:   c.redisURL,
			Web:        web.FlagConfig{WebListenAddresses: &listen, WebConfigFile: &webConfig, WebSystemdSocket: &systemdSocket},
			Logger:     c.logger,

			MaxConnections:    maxConns,
			ReadHeaderTimeout: headerTimeout,
			IdleTimeout:       idleTimeout,
		})
	})
}
