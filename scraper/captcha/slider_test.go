package captcha

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/icpmon/icpmon/scraper"
)

func TestSliderFindsTheGap(t *testing.T) {
	cases := []struct {
		name      string
		tp        testPuzzle
		tolerance int
	}{
		{"noise, exact gap", testPuzzle{width: 320, height: 160, piece: 48, texture: noise}, 0},
		{"landscape, noisy gap", testPuzzle{width: 480, height: 240, piece: 72, texture: landscape, gapNoise: 3}, 1},
		{"blue sky distractor in the band", testPuzzle{width: 480, height: 240, piece: 72, texture: landscape, gapNoise: 2,
			decorate: func(img *image.RGBA) { fill(img, image.Rect(0, 0, 160, 240), color.RGBA{90, 150, 230, 255}) }}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(12) {
				tp := c.tp
				r := rand.New(rand.NewPCG(seed, 7))
				// The distractor case keeps the gap out of the flat area.
				minX := 0
				if tp.decorate != nil {
					minX = 170
				}
				tp.gapX = minX + r.IntN(tp.width-tp.piece-minX+1)
				tp.gapY = r.IntN(tp.height - tp.piece + 1)
				x, err := Slider{}.Solve(context.Background(), tp.build(t, seed))
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if d := x - tp.gapX; d < -c.tolerance || d > c.tolerance {
					t.Fatalf("seed %d: x = %d, gap at %d", seed, x, tp.gapX)
				}
			}
		})
	}
}

func TestSliderEdges(t *testing.T) {
	for _, gapX := range []int{0, 320 - 48} {
		tp := testPuzzle{width: 320, height: 160, piece: 48, texture: noise, gapX: gapX, gapY: 160 - 48}
		x, err := Slider{}.Solve(context.Background(), tp.build(t, 1))
		if err != nil || x != gapX {
			t.Fatalf("gap at %d: got %d, %v", gapX, x, err)
		}
	}
}

func TestSliderRefusesToGuess(t *testing.T) {
	withGap := testPuzzle{width: 320, height: 160, piece: 48, texture: noise, gapX: 100, gapY: 50}.build(t, 3)
	noGap := testPuzzle{width: 320, height: 160, piece: 48, texture: landscape, gapX: 100, gapY: 50}
	noGapImg := image.NewRGBA(image.Rect(0, 0, 320, 160))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range 160 {
		for x := range 320 {
			noGapImg.SetRGBA(x, y, noGap.texture(r, x, y))
		}
	}
	transparent := encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 48, 48)))
	twoGaps := testPuzzle{width: 320, height: 160, piece: 48, texture: noise, gapX: 40, gapY: 50,
		decorate: func(img *image.RGBA) { fill(img, image.Rect(220, 50, 268, 98), gapColour) }}.build(t, 4)
	cases := []struct {
		name    string
		p       Puzzle
		noGuess bool // else a malformed puzzle, which no guess would mend
	}{
		{"texture without a gap", Puzzle{Big: encodePNG(t, noGapImg), Small: withGap.Small, Height: 50}, true},
		{"two gaps alike", twoGaps, true},
		{"background not an image", Puzzle{Big: []byte("<html>"), Small: withGap.Small, Height: 50}, false},
		{"piece not an image", Puzzle{Big: withGap.Big, Small: nil, Height: 50}, false},
		{"piece all transparent", Puzzle{Big: withGap.Big, Small: transparent, Height: 50}, false},
		{"piece larger than the background", Puzzle{Big: withGap.Small, Small: withGap.Big, Height: 0}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, err := Slider{}.Solve(context.Background(), c.p)
			if err == nil {
				t.Fatalf("Solve = %d, want an error", x)
			}
			if scraper.ReasonOf(err) != scraper.CaptchaFailed {
				t.Fatalf("reason %s (%v), want captcha_failed", scraper.ReasonOf(err), err)
			}
			if errors.Is(err, ErrNoGuess) != c.noGuess {
				t.Fatalf("errors.Is(%v, ErrNoGuess) = %t, want %t", err, !c.noGuess, c.noGuess)
			}
		})
	}
}

func TestSliderTrimsThePiece(t *testing.T) {
	for margin := range 7 {
		for seed := range uint64(2) {
			tp := testPuzzle{width: 480, height: 240, piece: 72, texture: landscape, gapNoise: 2, margin: margin,
				gapX: 100 + 60*int(seed), gapY: 20 + 30*int(seed)}
			x, err := Slider{}.Solve(context.Background(), tp.build(t, seed))
			if err != nil || abs(x-tp.gapX) > 1 {
				t.Fatalf("margin %d, seed %d: Solve = %d, %v; gap at %d", margin, seed, x, err, tp.gapX)
			}
		}
	}
}

func TestSliderGapSizeSlack(t *testing.T) {
	// The piece's opaque part may be up to a fifth smaller or larger than
	// the gap; texture matching needs the same size, so the edges decide.
	for _, scale := range []float64{0.82, 0.9, 1.1, 1.2} {
		for _, darken := range []float64{0, 0.5} {
			for seed := range uint64(2) {
				tp := testPuzzle{width: 480, height: 240, piece: 72, texture: landscape, gapNoise: 2, pieceScale: scale,
					darken: darken, gapX: 90 + 70*int(seed), gapY: 30 + 25*int(seed)}
				x, err := Slider{}.Solve(context.Background(), tp.build(t, seed))
				if err != nil || abs(x-tp.gapX) > 1 {
					t.Fatalf("scale %.2f, darken %.1f, seed %d: Solve = %d, %v; gap at %d", scale, darken, seed, x, err, tp.gapX)
				}
			}
		}
	}
}

func TestSliderHeightIsAHint(t *testing.T) {
	tp := testPuzzle{width: 480, height: 240, piece: 72, texture: landscape, gapNoise: 2, gapX: 250, gapY: 120}
	p := tp.build(t, 5)
	for _, h := range []int{120, 112, 128, 0, 1, 30, 239, 400, -5} {
		p.Height = h
		if x, err := (Slider{}).Solve(context.Background(), p); err != nil || abs(x-tp.gapX) > 1 {
			t.Fatalf("height %d: Solve = %d, %v; gap at %d", h, x, err, tp.gapX)
		}
	}
}

func TestSliderHonoursContext(t *testing.T) {
	p := testPuzzle{width: 320, height: 160, piece: 48, texture: noise, gapX: 10, gapY: 10}.build(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Slider{}).Solve(ctx, p); scraper.ReasonOf(err) != scraper.CaptchaFailed {
		t.Fatalf("cancelled Solve: %v", err)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func BenchmarkSlider(b *testing.B) {
	p := testPuzzle{width: 480, height: 240, piece: 72, texture: landscape, gapX: 300, gapY: 100}.build(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Slider{}).Solve(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSliderGreyscalePNG(t *testing.T) {
	// PNG decodes greyscale to *image.Gray: the slider converts it once.
	r := rand.New(rand.NewPCG(9, 9))
	big := image.NewGray(image.Rect(0, 0, 300, 150))
	for i := range big.Pix {
		big.Pix[i] = uint8(r.IntN(256))
	}
	for y := 60; y < 100; y++ {
		for x := 170; x < 210; x++ {
			big.SetGray(x, y, color.Gray{Y: 190})
		}
	}
	p := Puzzle{Big: encodePNG(t, big), Small: encodePNG(t, image.NewGray(image.Rect(0, 0, 40, 40))), Height: 60}
	if x, err := (Slider{}).Solve(context.Background(), p); err != nil || x != 170 {
		t.Fatalf("Solve = %d, %v; want 170", x, err)
	}
}

// inJigsaw says whether (x, y) is in a jigsaw piece of side s+2k: a body of
// side s with round knobs of radius k on its top and right, and a hole in
// its left side.
func inJigsaw(x, y, s, k int) bool {
	disc := func(cx, cy int) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= k*k }
	switch {
	case disc(k+s/2, k), disc(k+s, k+s/2):
		return true
	case disc(k, k+s/2):
		return false
	}
	return x >= k && x < k+s && y >= k && y < k+s
}

func TestSliderJigsaw(t *testing.T) {
	// The most common slider shape. Its opaque part starts at the body's
	// left side (the left has a hole, no knob); a flat cut-out's straight
	// edges would put it at the hole's bottom, 9 px further.
	const s, k = 56, 9
	cut := map[string]func(r *rand.Rand, c color.RGBA) color.RGBA{
		"flat":     func(*rand.Rand, color.RGBA) color.RGBA { return gapColour },
		"noisy":    func(r *rand.Rand, _ color.RGBA) color.RGBA { return jitter(r, gapColour, 8) },
		"darkened": func(_ *rand.Rand, c color.RGBA) color.RGBA { return color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255} },
		"lightened": func(_ *rand.Rand, c color.RGBA) color.RGBA {
			return color.RGBA{c.R/2 + 127, c.G/2 + 127, c.B/2 + 127, 255}
		},
	}
	for name, draw := range cut {
		for seed := range uint64(2) {
			r := rand.New(rand.NewPCG(seed, 1))
			big := image.NewRGBA(image.Rect(0, 0, 480, 240))
			for y := range 240 {
				for x := range 480 {
					big.SetRGBA(x, y, landscape(r, x, y))
				}
			}
			n := s + 2*k
			gx, gy := 100+r.IntN(480-100-n), r.IntN(240-n)
			small := image.NewNRGBA(image.Rect(0, 0, n+4, n+4)) // and a margin
			for y := range n {
				for x := range n {
					if inJigsaw(x, y, s, k) {
						c := big.RGBAAt(gx+x, gy+y)
						small.SetNRGBA(2+x, 2+y, color.NRGBA(c))
						big.SetRGBA(gx+x, gy+y, draw(r, c))
					}
				}
			}
			p := Puzzle{Big: encodePNG(t, big), Small: encodePNG(t, small), Height: gy}
			if x, err := (Slider{}).Solve(context.Background(), p); err != nil || abs(x-(gx+k)) > 1 {
				t.Fatalf("%s, seed %d: Solve = %d, %v; gap at %d", name, seed, x, err, gx+k)
			}
		}
	}
}

func jitter(r *rand.Rand, c color.RGBA, n int) color.RGBA {
	d := func(v uint8) uint8 { return uint8(min(max(int(v)+r.IntN(2*n+1)-n, 0), 255)) }
	return color.RGBA{d(c.R), d(c.G), d(c.B), 255}
}
