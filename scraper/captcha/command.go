package captcha

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/icpmon/icpmon/scraper"
)

// CommandSolver runs an external solver for each puzzle: the images go to its
// stdin as JSON {"big_image","small_image","height"} (base64 PNG), and it
// prints the gap's x offset on stdout, either as a bare integer or as
// {"x": N}. It is how operators follow a captcha change without a release.
type CommandSolver struct {
	argv      []string
	maxOutput int
}

// CommandOptions configures a CommandSolver.
type CommandOptions struct {
	// Argv is the program and its arguments; no shell is involved.
	Argv []string
	// MaxOutput bounds what is read of stdout and stderr; 0 means 64 KiB.
	MaxOutput int
}

// NewCommand returns a solver running opts.Argv.
func NewCommand(opts CommandOptions) (*CommandSolver, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, errors.New("captcha command: empty argv")
	}
	if opts.MaxOutput == 0 {
		opts.MaxOutput = 64 << 10
	}
	return &CommandSolver{argv: append([]string(nil), opts.Argv...), maxOutput: opts.MaxOutput}, nil
}

// commandInput is what the external solver reads on stdin. []byte fields
// marshal as standard base64.
type commandInput struct {
	BigImage   []byte `json:"big_image"`
	SmallImage []byte `json:"small_image"`
	Height     int    `json:"height"`
}

// Solve implements Solver. The command is killed when ctx ends.
func (s *CommandSolver) Solve(ctx context.Context, p Puzzle) (int, error) {
	x, err := s.run(ctx, p)
	if err != nil {
		return 0, scraper.Unknown(scraper.CaptchaFailed, fmt.Errorf("captcha command %s: %w", s.argv[0], err))
	}
	return x, nil
}

func (s *CommandSolver) run(ctx context.Context, p Puzzle) (int, error) {
	in, err := json.Marshal(commandInput{BigImage: p.Big, SmallImage: p.Small, Height: p.Height})
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...) // #nosec G204 -- the operator's configured solver (query.miit.captcha_command), run without a shell
	cmd.Stdin = bytes.NewReader(in)
	stdout := &cappedBuffer{limit: s.maxOutput}
	stderr := &cappedBuffer{limit: s.maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A solver's own children may hold the pipes open after it is killed.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, ctxErr
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return 0, fmt.Errorf("%w: %s", err, msg)
		}
		return 0, err
	}
	if stdout.overflow {
		return 0, fmt.Errorf("answer longer than %d bytes", s.maxOutput)
	}
	return parseAnswer(stdout.Bytes())
}

// parseAnswer reads "123" or {"x":123}.
func parseAnswer(out []byte) (int, error) {
	text := strings.TrimSpace(string(out))
	if x, err := strconv.Atoi(text); err == nil {
		return checkX(x)
	}
	var obj struct {
		X *int `json:"x"`
	}
	if err := json.Unmarshal([]byte(text), &obj); err != nil || obj.X == nil {
		return 0, fmt.Errorf("answer %q is neither an integer nor {\"x\": N}", truncate(text, 80))
	}
	return checkX(*obj.X)
}

func checkX(x int) (int, error) {
	if x < 0 {
		return 0, fmt.Errorf("negative offset %d", x)
	}
	return x, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// cappedBuffer keeps the first limit bytes written and notes any overflow,
// never blocking the writer (a stalled pipe would hang the child). The buffer
// is a field, not embedded, so that io.Copy cannot bypass Write through
// bytes.Buffer's ReadFrom.
type cappedBuffer struct {
	buf      bytes.Buffer
	limit    int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room < len(p) {
		b.overflow = true
		b.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *cappedBuffer) String() string { return b.buf.String() }
