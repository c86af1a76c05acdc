package captcha

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/png"
	"math"

	"github.com/icpmon/icpmon/scraper"
)

// Slider is the built-in solver. The real gap is a flat, near-uniform greyish
// square the size of the piece at params.height, not a textured cut-out
// (domain.md §1.1), so Slider scans that band of the background for the
// window of the piece's size whose colour is most uniform and least coloured.
type Slider struct {
	// MaxStdDev is the largest colour standard deviation (0–255 scale) a
	// window may have to count as the gap; 0 means 8. The real gap is flat to
	// a few levels (HG-ha compares colours quantised to 4 levels), so a textured
	// background yields no guess rather than a wrong one that costs a refusal.
	MaxStdDev float64
	// VerticalSlack is how many rows above and below params.height are also
	// tried; 0 means 2.
	VerticalSlack int
}

// chromaWeight trades uniformity for greyness: a flat but strongly coloured
// area (a blue sky) must lose to the greyish gap, which sits near
// RGB(199,186,183) (a 2026 client's target colour, domain.md §1.1).
const chromaWeight = 0.25

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
	piece, _, err := image.DecodeConfig(bytes.NewReader(p.Small))
	if err != nil {
		return 0, fmt.Errorf("decoding the slider piece: %w", err)
	}
	big, _, err := image.Decode(bytes.NewReader(p.Big))
	if err != nil {
		return 0, fmt.Errorf("decoding the background: %w", err)
	}
	b := big.Bounds()
	w, h := piece.Width, piece.Height
	if w <= 0 || h <= 0 || w > b.Dx() || h > b.Dy() {
		return 0, fmt.Errorf("piece %dx%d does not fit the %dx%d background", w, h, b.Dx(), b.Dy())
	}
	slack := s.VerticalSlack
	if slack == 0 {
		slack = 2
	}
	maxStd := s.MaxStdDev
	if maxStd == 0 {
		maxStd = 8
	}
	y0, y1 := max(p.Height-slack, 0), min(p.Height+slack, b.Dy()-h)
	if y0 > y1 {
		return 0, fmt.Errorf("gap height %d outside the %dx%d background", p.Height, b.Dx(), b.Dy())
	}

	sums := newIntegral(big, y0, y1+h)
	n := float64(w * h)
	bestX, bestCost, bestStd := -1, math.Inf(1), 0.0
	for y := y0; y <= y1; y++ {
		for x := 0; x+w <= b.Dx(); x++ {
			var mean [3]float64
			var variance float64
			for c := range 3 {
				sum, sq := sums.window(c, x, y-y0, w, h)
				m := float64(sum) / n
				mean[c] = m
				variance += float64(sq)/n - m*m
			}
			std := math.Sqrt(max(variance/3, 0))
			chroma := max(mean[0], mean[1], mean[2]) - min(mean[0], mean[1], mean[2])
			if cost := std + chromaWeight*chroma; cost < bestCost {
				bestX, bestCost, bestStd = x, cost, std
			}
		}
	}
	if bestX < 0 || bestStd > maxStd {
		return 0, errors.New("no flat gap of the piece's size at the given height")
	}
	return bestX, nil
}

// integral holds summed-area tables of each RGB channel and of its square
// over rows [top, bottom) of an image, so any window's mean and variance cost
// O(1).
type integral struct {
	stride int        // width + 1
	sum    [3][]int64 // sum[c][(y)*stride+x] = Σ over rows <y, cols <x
	sq     [3][]int64 // same for squares
}

func newIntegral(img image.Image, top, bottom int) *integral {
	pix, stride := pixels(img)
	width, rows := img.Bounds().Dx(), bottom-top
	it := &integral{stride: width + 1}
	for c := range 3 {
		it.sum[c] = make([]int64, (rows+1)*it.stride)
		it.sq[c] = make([]int64, (rows+1)*it.stride)
	}
	for y := range rows {
		var rowSum, rowSq [3]int64
		line := pix[(top+y)*stride:]
		for x := range width {
			i := (y+1)*it.stride + x + 1
			for c := range 3 {
				v := int64(line[4*x+c])
				rowSum[c] += v
				rowSq[c] += v * v
				it.sum[c][i] = it.sum[c][i-it.stride] + rowSum[c]
				it.sq[c][i] = it.sq[c][i-it.stride] + rowSq[c]
			}
		}
	}
	return it
}

// pixels returns img's 8-bit RGBA samples with their row stride, converting
// only when img is not already laid out that way: an interface call per
// pixel would cost more than the search. PNG decodes opaque images as RGBA,
// whose premultiplied samples equal the plain ones.
func pixels(img image.Image) (pix []uint8, stride int) {
	switch m := img.(type) {
	case *image.RGBA:
		if m.Rect.Min == (image.Point{}) {
			return m.Pix, m.Stride
		}
	case *image.NRGBA:
		if m.Rect.Min == (image.Point{}) {
			return m.Pix, m.Stride
		}
	}
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	return n.Pix, n.Stride
}

// window returns the sum and sum of squares of channel c over the w×h window
// whose top-left corner is (x, y) in table coordinates.
func (it *integral) window(c, x, y, w, h int) (sum, sq int64) {
	a, b := y*it.stride+x, y*it.stride+x+w
	d, e := (y+h)*it.stride+x, (y+h)*it.stride+x+w
	return it.sum[c][e] - it.sum[c][b] - it.sum[c][d] + it.sum[c][a],
		it.sq[c][e] - it.sq[c][b] - it.sq[c][d] + it.sq[c][a]
}
