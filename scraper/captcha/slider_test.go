package captcha

import (
	"context"
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
	cases := []struct {
		name string
		p    Puzzle
	}{
		{"texture without a gap", Puzzle{Big: encodePNG(t, noGapImg), Small: withGap.Small, Height: 50}},
		{"background not an image", Puzzle{Big: []byte("<html>"), Small: withGap.Small, Height: 50}},
		{"piece not an image", Puzzle{Big: withGap.Big, Small: nil, Height: 50}},
		{"height below the image", Puzzle{Big: withGap.Big, Small: withGap.Small, Height: 400}},
		{"piece larger than the background", Puzzle{Big: withGap.Small, Small: withGap.Big, Height: 0}},
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
		})
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
