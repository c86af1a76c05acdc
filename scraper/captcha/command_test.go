package captcha

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/scraper"
)

// helperEnv makes the test binary act as an external solver: it reads the
// puzzle JSON on stdin, solves it with Slider and prints {"x": N}.
const helperEnv = "ICPMON_CAPTCHA_TEST_SOLVER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(runHelperSolver())
	}
	os.Exit(m.Run())
}

func runHelperSolver() int {
	var in struct {
		BigImage   []byte `json:"big_image"`
		SmallImage []byte `json:"small_image"`
		Height     *int   `json:"height"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil || in.Height == nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		return 3
	}
	x, err := Slider{}.Solve(context.Background(), Puzzle{Big: in.BigImage, Small: in.SmallImage, Height: *in.Height})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	fmt.Printf("{\"x\": %d}\n", x)
	return 0
}

func TestCommandSolverRunsARealSolver(t *testing.T) {
	t.Setenv(helperEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCommand(CommandOptions{Argv: []string{exe}})
	if err != nil {
		t.Fatal(err)
	}
	tp := testPuzzle{width: 320, height: 160, piece: 48, texture: noise, gapX: 211, gapY: 37}
	x, err := s.Solve(context.Background(), tp.build(t, 5))
	if err != nil || x != 211 {
		t.Fatalf("Solve = %d, %v; want 211", x, err)
	}
}

func TestCommandSolverAnswers(t *testing.T) {
	p := Puzzle{Big: []byte{1, 2, 3}, Small: []byte{4}, Height: 9}
	cases := []struct {
		name   string
		script string
		want   int
		errHas string // "" = success
	}{
		{"bare integer", `cat >/dev/null; echo 42`, 42, ""},
		{"JSON object", `cat >/dev/null; printf '{"x": 17}'`, 17, ""},
		{"reads the input", `grep -q '"big_image":"AQID","small_image":"BA==","height":9' && echo 5`, 5, ""},
		{"garbage", `cat >/dev/null; echo 'hello'`, 0, "neither an integer"},
		{"JSON without x", `cat >/dev/null; echo '{"y": 3}'`, 0, "neither an integer"},
		{"negative", `cat >/dev/null; echo -4`, 0, "negative"},
		{"empty", `cat >/dev/null`, 0, "neither an integer"},
		{"failure with stderr", `cat >/dev/null; echo 'model missing' >&2; exit 2`, 0, "model missing"},
		{"too much output", `cat >/dev/null; head -c 200000 /dev/zero | tr '\0' 7`, 0, "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewCommand(CommandOptions{Argv: []string{"sh", "-c", c.script}})
			if err != nil {
				t.Fatal(err)
			}
			x, err := s.Solve(context.Background(), p)
			if c.errHas == "" {
				if err != nil || x != c.want {
					t.Fatalf("Solve = %d, %v; want %d", x, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("Solve = %d, %v; want an error containing %q", x, err, c.errHas)
			}
			if scraper.ReasonOf(err) != scraper.CaptchaFailed {
				t.Fatalf("reason %s, want captcha_failed", scraper.ReasonOf(err))
			}
		})
	}
}

func TestCommandSolverBoundedByContext(t *testing.T) {
	s, err := NewCommand(CommandOptions{Argv: []string{"sh", "-c", "sleep 30; echo 1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Solve(ctx, Puzzle{})
	if scraper.ReasonOf(err) != scraper.CaptchaFailed || ctx.Err() == nil {
		t.Fatalf("Solve = %v; want captcha_failed after the deadline", err)
	}
}

func TestNewCommandRejectsEmptyArgv(t *testing.T) {
	for _, argv := range [][]string{nil, {""}} {
		if _, err := NewCommand(CommandOptions{Argv: argv}); err == nil {
			t.Errorf("NewCommand(%q) accepted", argv)
		}
	}
}

func TestCommandSolverMissingProgram(t *testing.T) {
	s, err := NewCommand(CommandOptions{Argv: []string{"/nonexistent/solver"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Solve(context.Background(), Puzzle{}); scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("Solve = %v", err)
	}
}
