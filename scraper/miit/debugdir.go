package miit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/icpmon/icpmon/scraper/captcha"
)

// debugDirMaxFiles bounds the debug directory: enough failed captchas for a
// bug report, never enough to fill a disk.
const debugDirMaxFiles = 50

// Each kept captcha is three files sharing one stem, so that pruning removes
// a captcha whole and a bug report never holds half of one.
const (
	debugPrefix      = "captcha-"
	debugSuffixMeta  = ".json"
	debugSuffixBig   = "-big.png"
	debugSuffixSmall = "-small.png"
)

// debugDir keeps the captchas that failed (refused, no guess, solver error)
// for a bug report. It only ever counts and removes its own files, so an
// operator may point it at a directory that holds other things.
type debugDir struct {
	path     string
	maxFiles int
	log      *slog.Logger
	mu       sync.Mutex // one save-and-prune at a time within a client
}

func newDebugDir(path string, log *slog.Logger) *debugDir {
	if path == "" {
		return nil
	}
	return &debugDir{path: path, maxFiles: debugDirMaxFiles, log: log}
}

// failedCaptcha is the JSON kept beside a failed captcha's images.
type failedCaptcha struct {
	Time    time.Time `json:"time"`
	Outcome string    `json:"outcome"` // refused, no_guess or solver_error
	UUID    string    `json:"uuid"`    // the captcha's key at checkImage
	Height  int       `json:"height"`  // params.height, the gap's top y
	Guess   *int      `json:"guess"`   // the x sent to checkImage; null when the solver gave none
	Error   string    `json:"error,omitempty"`
	Big     string    `json:"big_image"`
	Small   string    `json:"small_image"`
}

// save keeps one failed captcha and prunes the oldest beyond the bound. It
// never fails the lookup: a directory that cannot be written is logged.
func (d *debugDir) save(now time.Time, outcome, uuid string, p captcha.Puzzle, guess *int, cause error) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write(now, outcome, uuid, p, guess, cause); err != nil {
		d.log.Warn("miit debug dir: failed captcha not kept", "dir", d.path, "err", err)
		return // nothing was added
	}
	if err := d.prune(); err != nil {
		d.log.Warn("miit debug dir: not pruned", "dir", d.path, "err", err)
	}
}

func (d *debugDir) write(now time.Time, outcome, uuid string, p captcha.Puzzle, guess *int, cause error) error {
	if err := os.MkdirAll(d.path, 0o750); err != nil {
		return fmt.Errorf("creating the directory: %w", err)
	}
	// A fixed-width UTC stamp makes name order the age order.
	stem := debugPrefix + now.UTC().Format("20060102T150405.000000000Z") + "-" + outcome + "-" + safeName(uuid)
	meta := failedCaptcha{
		Time: now, Outcome: outcome, UUID: uuid, Height: p.Height, Guess: guess,
		Big: stem + debugSuffixBig, Small: stem + debugSuffixSmall,
	}
	if cause != nil {
		meta.Error = cause.Error()
	}
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", stem, err)
	}
	files := []struct {
		name string
		data []byte
	}{{meta.Big, p.Big}, {meta.Small, p.Small}, {stem + debugSuffixMeta, append(js, '\n')}}
	for i, f := range files {
		// #nosec G306 -- captcha images and a guess, nothing secret; the group may read a bug report
		if err := os.WriteFile(filepath.Join(d.path, f.name), f.data, 0o640); err != nil {
			for _, g := range files[:i+1] { // no half captcha left behind
				_ = os.Remove(filepath.Join(d.path, g.name))
			}
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

// prune removes the oldest captchas, whole, until at most maxFiles of the
// directory's files are the debug directory's.
func (d *debugDir) prune() error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	groups := map[string][]string{} // stem → its files
	count := 0
	for _, e := range entries {
		if stem, ok := debugStem(e.Name()); ok && e.Type().IsRegular() {
			groups[stem] = append(groups[stem], e.Name())
			count++
		}
	}
	stems := make([]string, 0, len(groups))
	for stem := range groups {
		stems = append(stems, stem)
	}
	slices.Sort(stems)
	var errs []error
	for _, stem := range stems {
		if count <= d.maxFiles {
			break
		}
		for _, name := range groups[stem] {
			if err := os.Remove(filepath.Join(d.path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			count--
		}
	}
	return errors.Join(errs...)
}

// debugStem returns the stem of one of the debug directory's file names.
func debugStem(name string) (string, bool) {
	if !strings.HasPrefix(name, debugPrefix) {
		return "", false
	}
	for _, suffix := range []string{debugSuffixMeta, debugSuffixBig, debugSuffixSmall} {
		if stem, ok := strings.CutSuffix(name, suffix); ok {
			return stem, true
		}
	}
	return "", false
}

// safeName keeps a server-chosen uuid from steering a file name.
func safeName(s string) string {
	b := make([]byte, 0, min(len(s), 36))
	for i := 0; i < len(s) && len(b) < cap(b); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "nouuid"
	}
	return string(b)
}
