package main

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
)

func (c *cli) registerVersion(app *kingpin.Application) {
	c.command(app.Command("version", "Print the version, commit and Go version."), func(context.Context) error {
		_, err := fmt.Fprintln(c.stdout, version.Print("icpmon"))
		return err
	})
}
