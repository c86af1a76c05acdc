// Package captcha solves the MIIT query's slider captcha. Solving is a
// strategy because the captcha changed four times since 2021
// (scraper/miit/PROTOCOL.md §4): the built-in Slider handles the current one,
// and CommandSolver hands the images to an external program when it changes
// again.
package captcha

import (
	"context"
	"errors"
)

// Puzzle is one slider captcha as getCheckImagePoint returns it.
type Puzzle struct {
	Big []byte // background PNG with the gap
	// Small is the piece PNG. Its opaque part is roughly the gap's size; the
	// image may carry a transparent margin around it.
	Small []byte
	// Height is params.height, the gap's top y in Big: a hint that may be a
	// few pixels off; 0 means absent.
	Height int
}

// Solver finds the gap: x is its left edge in Big's pixels, the value
// checkImage expects. Errors are unknown lookups with reason captcha_failed.
type Solver interface {
	Solve(ctx context.Context, p Puzzle) (x int, err error)
}

// ErrNoGuess is wrapped by a solver's error when it found no gap it trusts:
// a wrong answer costs a request and counts towards a ban
// (scraper/miit/PROTOCOL.md §7.5), so declining is cheaper than guessing.
var ErrNoGuess = errors.New("no confident guess")
