package captcha

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"
)

// gapColour is the grey the real gap shows (scraper/miit/PROTOCOL.md §3).
var gapColour = color.RGBA{199, 186, 183, 255}

// testPuzzle describes a generated captcha.
type testPuzzle struct {
	width, height, piece int
	gapX, gapY           int
	texture              func(r *rand.Rand, x, y int) color.RGBA
	gapNoise             int // ± per channel inside the gap
	decorate             func(img *image.RGBA)
	// margin is a transparent border around the piece in the small PNG.
	margin int
	// pieceScale sizes the piece's opaque part against the gap; 0 means 1.
	pieceScale float64
	// darken, if set, draws the gap as the background times 1-darken
	// instead of a flat colour.
	darken float64
}

// noise is a fully random texture.
func noise(r *rand.Rand, _, _ int) color.RGBA {
	return color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
}

// landscape is a smooth gradient with moderate noise: closer to a photo.
func landscape(r *rand.Rand, x, y int) color.RGBA {
	jitter := func(base int) uint8 { return uint8(min(max(base+r.IntN(61)-30, 0), 255)) }
	return color.RGBA{jitter(60 + x/4), jitter(120 + y/3), jitter(200 - x/5), 255}
}

func (tp testPuzzle) build(t testing.TB, seed uint64) Puzzle {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	big := image.NewRGBA(image.Rect(0, 0, tp.width, tp.height))
	for y := range tp.height {
		for x := range tp.width {
			big.SetRGBA(x, y, tp.texture(r, x, y))
		}
	}
	if tp.decorate != nil {
		tp.decorate(big)
	}
	scale := tp.pieceScale
	if scale == 0 {
		scale = 1
	}
	n := int(math.Round(float64(tp.piece) * scale))
	small := image.NewNRGBA(image.Rect(0, 0, n+2*tp.margin, n+2*tp.margin))
	for y := range n {
		for x := range n {
			c := big.RGBAAt(tp.gapX+int(float64(x)/scale), tp.gapY+int(float64(y)/scale))
			small.SetNRGBA(tp.margin+x, tp.margin+y, color.NRGBA(c))
		}
	}
	for y := range tp.piece {
		for x := range tp.piece {
			c := gapColour
			if tp.darken > 0 {
				c = big.RGBAAt(tp.gapX+x, tp.gapY+y)
				f := func(v uint8) uint8 { return uint8(float64(v) * (1 - tp.darken)) }
				c = color.RGBA{f(c.R), f(c.G), f(c.B), 255}
			}
			if tp.gapNoise > 0 {
				d := func(v uint8) uint8 { return uint8(int(v) + r.IntN(2*tp.gapNoise+1) - tp.gapNoise) }
				c = color.RGBA{d(c.R), d(c.G), d(c.B), 255}
			}
			big.SetRGBA(tp.gapX+x, tp.gapY+y, c)
		}
	}
	return Puzzle{Big: encodePNG(t, big), Small: encodePNG(t, small), Height: tp.gapY}
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	// Uncompressed: encoding dominates these tests under the race detector.
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	if err := enc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
