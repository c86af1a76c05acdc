package miittest

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	_ "image/png"
	"testing"

	"github.com/icpmon/icpmon/scraper/captcha"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// opaque is the bounding box of img's pixels with alpha above half.
func opaque(img image.Image) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a > 0x7fff {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func lum(c color.Color) int {
	r, g, b, _ := c.RGBA()
	return int(299*r+587*g+114*b) / 1000 >> 8
}

// meanLum is the mean brightness of img over r.
func meanLum(img image.Image, r image.Rectangle) int {
	sum := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sum += lum(img.At(x, y))
		}
	}
	return sum / (r.Dx() * r.Dy())
}

func TestGeneratePuzzle(t *testing.T) {
	for _, style := range GapStyles() {
		for _, v := range []Variant{{Gap: 56, Margin: 6}, {Gap: 88}, {Gap: 72, Margin: 3, HeightOffset: -4}} {
			v.Style = style
			p := GeneratePuzzle(v, 11)
			if again := GeneratePuzzle(v, 11); !bytes.Equal(p.Big, again.Big) || !bytes.Equal(p.Small, again.Small) {
				t.Fatalf("%+v: not reproducible", v)
			}
			big, small := decodePNG(t, p.Big), decodePNG(t, p.Small)
			n, m := v.Gap, v.Margin
			if big.Bounds() != image.Rect(0, 0, 480, 240) || small.Bounds() != image.Rect(0, 0, n+2*m, n+2*m) {
				t.Fatalf("%+v: sizes %v, %v", v, big.Bounds(), small.Bounds())
			}
			if got := opaque(small); got != image.Rect(m, m, m+n, m+n) {
				t.Fatalf("%+v: opaque part %v", v, got)
			}
			if p.GapX < n || p.GapX > 480-n || p.GapY < 0 || p.GapY > 240-n {
				t.Fatalf("%+v: gap at (%d, %d)", v, p.GapX, p.GapY)
			}
			if want := max(p.GapY+v.HeightOffset, 0); p.Height != want {
				t.Fatalf("%+v: height %d, gap top %d", v, p.Height, p.GapY)
			}
			gap := image.Rect(p.GapX, p.GapY, p.GapX+n, p.GapY+n)
			inner := gap.Inset(4)
			piece := meanLum(small, image.Rect(m, m, m+n, m+n).Inset(4))
			switch style {
			case GapFlat:
				if c := big.At(gap.Min.X, gap.Min.Y); big.At(gap.Max.X-1, gap.Max.Y-1) != c || big.At(gap.Min.X+n/2, gap.Min.Y+n/3) != c {
					t.Fatalf("%+v: the flat gap is not one colour", v)
				}
			case GapDarkened, GapTextured: // black shade: darker than the piece cut from there
				if got := meanLum(big, inner); got > piece*7/10 {
					t.Fatalf("%+v: gap brightness %d, piece %d", v, got, piece)
				}
			}
			if style == GapTextured {
				rim := meanLum(big, image.Rect(gap.Min.X, gap.Min.Y+4, gap.Min.X+2, gap.Max.Y-4))
				if rim <= meanLum(big, inner) {
					t.Fatalf("%+v: the outline (%d) is not lighter than the cut-out", v, rim)
				}
			}
		}
	}
	if p := GeneratePuzzle(Variant{HideHeight: true}, 3); p.Height != 0 {
		t.Fatalf("hidden height: %d", p.Height)
	}
	// Out of range values are clamped, not a panic.
	if p := GeneratePuzzle(Variant{Width: 100, Height: 60, Gap: 500, Margin: -3}, 1); p.GapX < 0 {
		t.Fatalf("clamped variant: %+v", p)
	}
}

func TestServerDrawsVariants(t *testing.T) {
	opts := Options{
		Piece: 56, PieceMax: 88, Margin: Span{0, 6}, GapStyles: GapStyles(),
		GapColours:   []color.NRGBA{{R: 90, G: 90, B: 96, A: 255}, {R: 20, G: 30, B: 80, A: 255}},
		HeightOffset: Span{-3, 3},
	}
	s, r := start(t, opts)
	token := r.token()
	seen := map[int]bool{}
	offsets := map[int]bool{}
	for range 12 {
		p := r.captcha(token)
		small, _ := base64.StdEncoding.DecodeString(p.SmallImage)
		big, _ := base64.StdEncoding.DecodeString(p.BigImage)
		img := decodePNG(t, small)
		gap := opaque(img).Dx()
		if gap < 56 || gap > 88 || img.Bounds().Dx()-gap > 12 {
			t.Fatalf("piece %v with a %d px opaque part", img.Bounds(), gap)
		}
		seen[gap] = true
		s.mu.Lock()
		c := s.challenges[p.UUID]
		s.mu.Unlock()
		offsets[p.Height-c.y] = true
		if d := p.Height - c.y; (d < -3 || d > 3) && p.Height != 0 {
			t.Fatalf("height %d for a gap at %d", p.Height, c.y)
		}
		x, err := captcha.Slider{}.Solve(context.Background(), captcha.Puzzle{Big: big, Small: small, Height: p.Height})
		if err != nil || absInt(x-c.x) > DefaultTolerance {
			t.Fatalf("solved %d, %v; gap at %d", x, err, c.x)
		}
		if a := r.check(token, p.UUID, x); !a.Success {
			t.Fatalf("a right answer refused: %s", a.Body)
		}
	}
	if len(seen) < 4 || len(offsets) < 3 {
		t.Fatalf("12 captchas drew gap sizes %v and height offsets %v", seen, offsets)
	}
}
