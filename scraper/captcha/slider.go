package captcha

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/png"
	"slices"

	"github.com/icpmon/icpmon/scraper"
)

// Slider is the built-in solver. It assumes no more than the captchas seen
// since 2021 share (scraper/miit/PROTOCOL.md §3–4): the piece PNG may carry a
// transparent margin and a jigsaw shape; the gap may be up to a fifth
// smaller or larger than the piece's opaque part, flat (the 2026 grey
// square, plain or noisy, any colour) or a darkened or lightened cut-out of
// the background, outlined or not; params.height is a hint. When no gap
// stands out it answers ErrNoGuess: a wrong answer costs a request and
// invites a ban.
//
// A quarter-scale search proposes squares whose inside differs from their
// surroundings; each is then proved at full scale by the piece's texture
// (a shaded cut-out), by a flat inside with sharp edges (or, for a jigsaw
// piece, its silhouette), or failing both by a strong step on every side.
type Slider struct {
	// MaxStdDev is the largest brightness standard deviation (0–255) inside
	// a flat gap; 0 means 8. A noisy flat gap is a few levels; the texture
	// around it, more.
	MaxStdDev float64
	// VerticalSlack is how far params.height may be off, in pixels; 0 means
	// 12. Without a gap in that band the whole background is searched.
	VerticalSlack int
}

const (
	// coarse is the scale-down of the candidate search.
	coarse = 4
	// sizeSlack is how much smaller or larger than the piece the gap may be.
	sizeSlack = 0.2
	// maxCandidates bounds the full-scale checks.
	maxCandidates = 10
	// minNCC is the correlation of the piece's texture with a cut-out that
	// proves it: unrelated texture correlates well under 0.3.
	minNCC = 0.6
	// flatContrast and stepContrast are the least edge contrast (outside
	// deviation over inside deviation) of a flat gap and of a gap proved by
	// its edges alone.
	flatContrast = 5.0
	stepContrast = 5.0
	// flatOutside and stepOutside are the least percentage of unlike
	// pixels just outside each edge.
	flatOutside = 25.0
	stepOutside = 60.0
	// minSharp is the least sharpness of a gap proved by its edges.
	minSharp = 0.5
	// minShape is the least agreement of a shaped piece's silhouette with a
	// flat cut-out.
	minShape = 0.9
	// tolerance is how close two answers must be to be the same gap: the
	// MIIT checkImage tolerance (scraper/miit/PROTOCOL.md §3).
	tolerance = 3
)

// Solve implements Solver.
func (s Slider) Solve(ctx context.Context, p Puzzle) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, scraper.Unknown(scraper.CaptchaFailed, err)
	}
	x, err := s.locate(p)
	if err != nil {
		return 0, scraper.Unknown(scraper.CaptchaFailed, err)
	}
	return x, nil
}

func (s Slider) locate(p Puzzle) (int, error) {
	pieceImg, _, err := image.Decode(bytes.NewReader(p.Small))
	if err != nil {
		return 0, fmt.Errorf("decoding the slider piece: %w", err)
	}
	bigImg, _, err := image.Decode(bytes.NewReader(p.Big))
	if err != nil {
		return 0, fmt.Errorf("decoding the background: %w", err)
	}
	pieceLum, alpha := luminance(pieceImg), alphaOf(pieceImg)
	box := opaqueBounds(alpha)
	if box.Empty() {
		return 0, errors.New("the slider piece has no opaque pixel")
	}
	big := luminance(bigImg)
	sr := &search{big: big, piece: pieceLum.crop(box), maxStd: s.MaxStdDev}
	if sr.maxStd == 0 {
		sr.maxStd = 8
	}
	if lo := int(float64(min(sr.piece.w, sr.piece.h)) * (1 - sizeSlack)); lo < 2*coarse+2 ||
		float64(sr.piece.w)*(1-sizeSlack) > float64(big.w) || float64(sr.piece.h)*(1-sizeSlack) > float64(big.h) {
		return 0, fmt.Errorf("piece %dx%d (opaque part of %dx%d) does not fit the %dx%d background",
			sr.piece.w, sr.piece.h, pieceLum.w, pieceLum.h, big.w, big.h)
	}
	sr.quarter = big.shrink(coarse)
	sr.sums = newIntegral(sr.quarter)
	sr.mask = alpha.crop(box)
	sr.shaped = opaqueShare(sr.mask) < 0.97
	sr.bigTex = differences(big)
	sr.texture = newPieceTexture(sr.piece, sr.mask, sr.bigTex.w)

	slack := s.VerticalSlack
	if slack == 0 {
		slack = 12
	}
	// A band with rivals in it is no reason to look elsewhere; an empty one
	// is, for a gap proved by more than its edges: the hint may be wrong,
	// but a gap that contradicts it needs the stronger proof.
	var found []verdict
	hinted := p.Height > 0 && p.Height < big.h
	if hinted {
		found = sr.find(p.Height-slack, p.Height+slack)
	}
	if len(found) == 0 {
		found = sr.find(0, big.h)
		if hinted {
			found = slices.DeleteFunc(found, func(v verdict) bool { return v.kind == byEdges })
		}
	}
	x, err := decide(found)
	if err != nil {
		return 0, fmt.Errorf("%dx%d background, %dx%d piece: %w", big.w, big.h, sr.piece.w, sr.piece.h, err)
	}
	return x, nil
}

// search is one puzzle's state.
type search struct {
	big, piece *plane
	// mask is the piece's alpha; shaped says it is not a full rectangle
	// (a jigsaw piece).
	mask    *plane
	shaped  bool
	quarter *plane
	sums    *integral // of quarter
	// For matchTexture: the background's horizontal differences and the
	// piece's.
	bigTex  *plane
	texture pieceTexture
	maxStd  float64
}

// kind is how a candidate proved to be the gap, strongest first.
type kind int

const (
	notGap kind = iota
	byEdges
	flat
	byTexture
)

// verdict is a checked candidate.
type verdict struct {
	kind  kind
	x     int
	score float64 // correlation for byTexture, edge contrast (or silhouette agreement) for the others
}

// find returns the candidates whose top lies in [top0, top1] that proved to
// be a gap, best first.
func (sr *search) find(top0, top1 int) []verdict {
	var found []verdict
	for _, c := range sr.candidates(top0, top1) {
		if v := sr.check(c); v.kind != notGap {
			found = append(found, v)
		}
	}
	slices.SortFunc(found, func(a, b verdict) int {
		if a.kind != b.kind {
			return int(b.kind - a.kind)
		}
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	return found
}

// decide answers the best gap found, unless a rival elsewhere comes close
// to it: then either may be the gap. Flat and edge verdicts both score edge
// contrast, so they rival each other: two of them placing one gap apart
// (a smooth part of a blurred cut-out) is no answer either.
func decide(found []verdict) (int, error) {
	if len(found) == 0 {
		return 0, fmt.Errorf("no gap stands out: %w", ErrNoGuess)
	}
	best := found[0]
	comparable := func(k kind) bool { return k == best.kind || (k != byTexture && best.kind != byTexture) }
	for _, v := range found[1:] {
		if abs(v.x-best.x) > tolerance && comparable(v.kind) && v.score > best.score*rivalRatio(best.kind) {
			return 0, fmt.Errorf("two gaps stand out, at x=%d and x=%d: %w", best.x, v.x, ErrNoGuess)
		}
	}
	return best.x, nil
}

// rivalRatio is how close a second candidate's score may come to the best's.
func rivalRatio(k kind) float64 {
	if k == byTexture {
		return 0.85 // correlations: 0.9 against 0.7 is a clear win
	}
	return 0.6
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
