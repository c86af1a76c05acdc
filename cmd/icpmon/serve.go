package main

import (
	"context"

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
	)
	cmd.Flag("web.listen-address", "Address to listen on, repeatable; wins over web.listen_address of the configuration.").PlaceHolder("HOST:PORT").StringsVar(&listen)
	cmd.Flag("web.config.file", "Web configuration file (Prometheus exporter-toolkit format) enabling TLS and basic auth on every endpoint.").PlaceHolder("FILE").StringVar(&webConfig)
	cmd.Flag("web.systemd-socket", "Use the listeners of systemd socket activation instead of listen addresses.").BoolVar(&systemdSocket)
	c.command(cmd, func(ctx context.Context) error {
		return daemon.Run(ctx, daemon.Options{
			ConfigFile: c.configFile,
			RedisURL:   c.redisURL,
			Web:        web.FlagConfig{WebListenAddresses: &listen, WebConfigFile: &webConfig, WebSystemdSocket: &systemdSocket},
			Logger:     c.logger,
		})
	})
}
