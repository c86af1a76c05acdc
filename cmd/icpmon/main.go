// Command icpmon tracks ICP filing cancellations and exports their state to
// Prometheus. main only wires flags to the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli holds what every command shares: the global flags and the streams.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	configFile string
	redisURL   string
	logConfig  promslog.Config

	// commands maps a kingpin command's full name to what it runs.
	commands map[string]func(ctx context.Context) error
}

// exitError ends the program with code after the command has already said
// what it had to say (for instance `query`, whose exit code is its answer).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run parses args, runs the command and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, commands: map[string]func(context.Context) error{}}
	app := kingpin.New("icpmon", "Tracks China ICP filing cancellations: review deadlines in business days, public-query records, and whether the websites are still served.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Terminate(nil)
	app.HelpFlag.Short('h')
	app.Flag("config", "Configuration file (YAML).").PlaceHolder("FILE").StringVar(&c.configFile)
	app.Flag("redis-url", "Redis URL; wins over the configuration file.").Envar("ICPMON_REDIS_URL").PlaceHolder("URL").StringVar(&c.redisURL)
	c.logConfig.Level = promslog.NewLevel()
	c.logConfig.Format = promslog.NewFormat()
	c.logConfig.Writer = stderr
	promslogflag.AddFlags(app, &c.logConfig)

	c.registerVersion(app)
	c.registerBizdays(app)

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "icpmon: %v\n", err)
		return 2
	}
	do, ok := c.commands[cmd]
	if !ok { // --help and --version end inside Parse
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := do(ctx); err != nil {
		var code exitError
		if errors.As(err, &code) {
			return int(code)
		}
		fmt.Fprintf(stderr, "icpmon: %v\n", err)
		return 1
	}
	return 0
}

// command registers a subcommand's action under its full name.
func (c *cli) command(cmd *kingpin.CmdClause, do func(ctx context.Context) error) {
	c.commands[cmd.FullCommand()] = do
}
