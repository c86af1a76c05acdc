package main

import (
	"context"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
)

func (c *cli) registerVersion(app *kingpin.Application) {
	c.command(app.Command("version", "Print the version, commit and Go version."), func(context.Context) error {
		_, err := fmt.Fprintln(c.stdout, version.Print("icpmon"))
		return err
	})
}

// useModuleBuildInfo fills the version and revision that `make build` sets
// with -ldflags from what the Go toolchain recorded instead, so that a binary
// from plain `go build` or `go install …@version` says what it is in
// `icpmon version` and icpmon_build_info. It runs once, first thing in main.
func useModuleBuildInfo() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	v, rev := moduleVersion(info)
	if version.Version == "" {
		version.Version = v
	}
	if version.Revision == "" {
		version.Revision = rev
	}
}

// pseudoRevision is the commit at the end of a pseudo-version such as
// v0.0.0-20261203142900-0123456789ab (a build of an untagged commit).
var pseudoRevision = regexp.MustCompile(`[.-]\d{14}-([0-9a-f]{12})(\+.*)?$`)

// moduleVersion reads the main module's version and VCS revision from build
// information. The revision comes from the VCS stamp of a build in a
// checkout, else from a pseudo-version; "" where neither says.
func moduleVersion(info *debug.BuildInfo) (ver, rev string) {
	ver = info.Main.Version // "(devel)" when the toolchain knew none: still better than nothing
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		if m := pseudoRevision.FindStringSubmatch(ver); m != nil {
			rev = m[1]
		}
	}
	if rev != "" && modified && !strings.HasSuffix(rev, "-modified") {
		rev += "-modified" // as prometheus/common/version marks it
	}
	return ver, rev
}
