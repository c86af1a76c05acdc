// Package captcha solves the MIIT query's slider captcha. Solving is a
// strategy because the captcha changes every few months (domain.md §1.2): the
// built-in Slider handles the current one, and CommandSolver hands the images
// to an external program when it changes again.
package captcha

import "context"

// Puzzle is one slider captcha as getCheckImagePoint returns it.
type Puzzle struct {
	Big    []byte // background PNG with the gap
	Small  []byte // the piece PNG; its size is the gap's size
	Height int    // top y of the gap in Big (params.height)
}

// Solver finds the gap: x is its left edge in Big's pixels, the value
// checkImage expects. Errors are unknown lookups with reason captcha_failed.
type Solver interface {
	Solve(ctx context.Context, p Puzzle) (x int, err error)
}
