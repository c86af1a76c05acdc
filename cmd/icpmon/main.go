// Command icpmon tracks ICP filing cancellations and exports their state to
// Prometheus. main only wires flags to the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/redis/go-redis/v9"
)

func main() {
	useModuleBuildInfo()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli holds what every command shares: the global flags and the streams.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	configFile string
	redisURL   string
	logConfig  promslog.Config
	logger     *slog.Logger // built from logConfig once the flags are parsed

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
	app.HelpFlag.Short('h')
	app.Flag("config", "Configuration file (YAML).").PlaceHolder("FILE").StringVar(&c.configFile)
	app.Flag("redis-url", "Redis URL; wins over the configuration file.").Envar("ICPMON_REDIS_URL").PlaceHolder("URL").StringVar(&c.redisURL)
	c.logConfig.Level = promslog.NewLevel()
	c.logConfig.Format = promslog.NewFormat()
	c.logConfig.Writer = stderr
	promslogflag.AddFlags(app, &c.logConfig)

	c.registerVersion(app)
	c.registerServe(app)
	c.registerBizdays(app)
	c.registerTrack(app)
	c.registerCheckConfig(app)
	c.registerQuery(app)

	cmd, exited, err := parse(app, negativeNumbersAsArgs(args))
	if exited >= 0 {
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "icpmon: %v\n", err)
		return 2
	}
	do, ok := c.commands[cmd]
	if !ok {
		return 0
	}
	c.logger = promslog.New(&c.logConfig)
	// go-redis logs every failed dial through a process-wide logger of its
	// own; icpmon reports Redis going away itself, so those lines go to the
	// debug level of the same log.
	redis.SetLogger(redisLog{c.logger})
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

// terminated carries kingpin's exit code out of app.Parse.
type terminated int

// parse runs app.Parse. --help, the help command and kingpin's hidden
// generators (--help-man, --completion-script-bash/zsh) print and then end
// the program: exited is their exit code, else -1. Ending means leaving Parse
// at once: kingpin would otherwise go on to print the usage after a man page
// or a completion script and to check the required flags after --help.
func parse(app *kingpin.Application, args []string) (cmd string, exited int, err error) {
	app.Terminate(func(code int) { panic(terminated(code)) })
	defer func() {
		r := recover()
		if code, ok := r.(terminated); ok {
			cmd, exited, err = "", int(code), nil
		} else if r != nil {
			panic(r)
		}
	}()
	cmd, err = app.Parse(args)
	return cmd, -1, err
}

// negativeNumbersAsArgs moves arguments such as "-3" behind a "--", where
// kingpin reads them as arguments (`bizdays add DATE -3`) instead of
// unknown short flags. No icpmon flag is a digit, so nothing else changes;
// flags after the number still work because they now stand before "--".
func negativeNumbersAsArgs(args []string) []string {
	var others, numbers, rest []string
	for i, a := range args {
		if a == "--" {
			rest = args[i+1:]
			break
		}
		if len(a) > 1 && a[0] == '-' && strings.Trim(a[1:], "0123456789") == "" {
			numbers = append(numbers, a)
		} else {
			others = append(others, a)
		}
	}
	if len(numbers) == 0 {
		return args
	}
	out := append(append(others, "--"), numbers...)
	return append(out, rest...)
}

// redisLog is go-redis's logger interface on slog.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// command registers a subcommand's action under its full name.
func (c *cli) command(cmd *kingpin.CmdClause, do func(ctx context.Context) error) {
	c.commands[cmd.FullCommand()] = do
}
