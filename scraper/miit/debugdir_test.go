package miit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
	"github.com/icpmon/icpmon/scraper/miit/miittest"
)

func fixturePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// debugFiles lists the names in dir.
func debugFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDebugDirKeepsFailedCaptchas(t *testing.T) {
	for _, tc := range []struct {
		name     string
		solver   captcha.Solver
		fault    bool
		outcome  string
		guess    bool
		errorHas string
	}{
		{name: "refused", fault: true, outcome: CaptchaRefused, guess: true, errorHas: "captcha answer refused"},
		{name: "no guess", solver: noGuessSolver{}, outcome: CaptchaNoGuess, errorHas: captcha.ErrNoGuess.Error()},
		{name: "solver error", solver: brokenSolver{}, outcome: "solver_error", errorHas: "solver crashed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			sim := newSim(t, smallCaptcha(miittest.Options{Now: clk.Now}))
			dir := filepath.Join(t.TempDir(), "debug", "miit") // created on the first failure
			c := newClient(t, sim.URL, Options{Solver: tc.solver, DebugDir: dir, Now: clk.Now})
			if tc.fault {
				sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused})
			}
			if _, err := c.Lookup(context.Background(), absent); scraper.ReasonOf(err) != scraper.CaptchaFailed {
				t.Fatalf("err = %v, want captcha_failed", err)
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o750 {
				t.Fatalf("debug dir: %v, %v; want mode 0750", fi, err)
			}
			names := debugFiles(t, dir)
			stem := "captcha-20261127T100000.000000000Z-" + tc.outcome + "-"
			if len(names) != 3 || !strings.HasPrefix(names[0], stem) {
				t.Fatalf("debug dir holds %v, want three %s… files", names, stem)
			}
			var meta struct {
				Time    time.Time
				Outcome string
				UUID    string
				Height  int
				Guess   *int
				Error   string
				Big     string `json:"big_image"`
				Small   string `json:"small_image"`
			}
			js, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(names[0], "-big.png")+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(js, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Outcome != tc.outcome || meta.UUID == "" || meta.Height <= 0 || (meta.Guess != nil) != tc.guess ||
				!strings.Contains(meta.Error, tc.errorHas) || !meta.Time.Equal(clk.Now()) {
				t.Fatalf("kept %s", js)
			}
			big, err := os.ReadFile(filepath.Join(dir, meta.Big))
			if err != nil {
				t.Fatal(err)
			}
			if w, h := pngSize(big); w != 240 || h != 120 {
				t.Fatalf("kept background is %d×%d, want the served 240×120", w, h)
			}
			if small, err := os.ReadFile(filepath.Join(dir, meta.Small)); err != nil || !bytes.HasPrefix(small, pngSignature) {
				t.Fatalf("kept piece: %v, not a PNG", err)
			}
		})
	}
}

func TestDebugDirSkipsSolvedCaptchas(t *testing.T) {
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	dir := t.TempDir()
	c := newClient(t, sim.URL, Options{DebugDir: dir})
	lookup(t, c, absent)
	if names := debugFiles(t, dir); len(names) != 0 {
		t.Fatalf("a solved captcha was kept: %v", names)
	}
}

func TestDebugDirUnsetWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // a relative path would land here
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	c := newClient(t, sim.URL, Options{})
	if c.debug != nil {
		t.Fatal("a debug directory without DebugDir")
	}
	sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused})
	if _, err := c.Lookup(context.Background(), absent); scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("err = %v, want captcha_failed", err)
	}
	if names := debugFiles(t, dir); len(names) != 0 {
		t.Fatalf("files written without DebugDir: %v", names)
	}
}

func TestDebugDirBoundRemovesOldestFirst(t *testing.T) {
	dir := t.TempDir()
	// Files that are not the debug directory's are neither counted nor removed.
	others := []string{"notes.txt", "captcha-notes.txt"}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := newDebugDir(dir, slog.New(slog.DiscardHandler))
	p := captcha.Puzzle{Big: fixturePNG(t, 48, 24), Small: fixturePNG(t, 8, 8), Height: 7}
	start := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	const saved = 40
	for i := range saved {
		outcome := CaptchaRefused
		if i%2 == 1 {
			outcome = CaptchaNoGuess
		}
		d.save(start.Add(time.Duration(i)*time.Second), outcome, "9f1c2d3e-uuid", p, nil, errors.New("refused"))
		if n := len(debugFiles(t, dir)) - len(others); n > debugDirMaxFiles {
			t.Fatalf("after %d captchas the directory holds %d files, bound %d", i+1, n, debugDirMaxFiles)
		}
	}
	names := debugFiles(t, dir)
	for _, name := range others {
		if !slices.Contains(names, name) {
			t.Fatalf("%s was removed: %v", name, names)
		}
	}
	stems := map[string]int{}
	for _, name := range names {
		if stem, ok := debugStem(name); ok {
			stems[stem]++
		}
	}
	keep := debugDirMaxFiles / 3 // whole captchas only
	if len(stems) != keep {
		t.Fatalf("%d captchas kept, want %d: %v", len(stems), keep, names)
	}
	for i := saved - keep; i < saved; i++ {
		stamp := start.Add(time.Duration(i) * time.Second).Format("20060102T150405")
		found := false
		for stem, n := range stems {
			if strings.Contains(stem, stamp) {
				found = n == 3
			}
		}
		if !found {
			t.Fatalf("captcha %d (%s) of the newest %d not kept whole: %v", i, stamp, keep, names)
		}
	}
}

func TestDebugDirWriteFailureDoesNotFailTheLookup(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	sim := newSim(t, smallCaptcha(miittest.Options{}))
	addSubject(sim, subject, 1)
	c := newClient(t, sim.URL, Options{DebugDir: notADir, Logger: slog.New(slog.NewTextHandler(&logged, nil))})

	sim.Inject(miittest.Fault{Kind: miittest.FaultCaptchaRefused})
	if _, err := c.Lookup(context.Background(), subject); scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("err = %v, want captcha_failed as without a debug dir", err)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "failed captcha not kept") {
		t.Fatalf("no warning logged: %q", logged.String())
	}
	if ans := lookup(t, c, subject); !ans.Present() {
		t.Fatal("lookup after the failed write")
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"2b0c5f4e-8e7a-4c1d-a2b3-123456789abc": "2b0c5f4e-8e7a-4c1d-a2b3-123456789abc",
		"../../etc/passwd":                     "etcpasswd",
		"":                                     "nouuid",
		"/.":                                   "nouuid",
		strings.Repeat("a", 100):               strings.Repeat("a", 36),
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
