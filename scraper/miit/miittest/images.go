package miittest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
)

// GapStyle is how the gap is drawn into the background.
type GapStyle string

const (
	// GapFlat is a flat square of one colour: the real captcha in 2026
	// (../PROTOCOL.md §3).
	GapFlat GapStyle = "flat"
	// GapNoisyFlat is a square of one colour with per-pixel noise.
	GapNoisyFlat GapStyle = "noisy_flat"
	// GapDarkened is the background inside the gap with the colour blended
	// over it: black darkens, white lightens; the texture shows through.
	GapDarkened GapStyle = "darkened"
	// GapTextured is GapDarkened with uneven shading and a light outline, as
	// common slider captchas draw their cut-out; the piece carries the
	// outline too.
	GapTextured GapStyle = "textured"
)

// GapStyles lists every style, for tests that cover them all.
func GapStyles() []GapStyle { return []GapStyle{GapFlat, GapNoisyFlat, GapDarkened, GapTextured} }

// Variant is the look of one captcha. Zero fields take the defaults in
// brackets, which draw the 2026 MIIT captcha; out-of-range values are
// clamped to what fits the background.
type Variant struct {
	// Width and Height size the background [480, 240].
	Width, Height int
	// Gap is the side of the square gap, and of the piece's opaque part [72].
	Gap int
	// Margin is a transparent border around the piece in the small PNG, in
	// pixels [0].
	Margin int
	// Style is how the gap is drawn [GapFlat].
	Style GapStyle
	// Colour fills a flat gap, jittered by ±2 per channel [RGB(199,186,183),
	// the 2026 gap's grey, ../PROTOCOL.md §3], or is
	// blended over a darkened or textured one [black]. Alpha 0 means the
	// default.
	Colour color.NRGBA
	// HeightOffset is added to params.height, which is otherwise the gap's
	// top y; the sum is clamped to the background. HideHeight sends 0.
	HeightOffset int
	HideHeight   bool
}

func (v Variant) withDefaults() Variant {
	def := func(d *int, val int) {
		if *d <= 0 {
			*d = val
		}
	}
	def(&v.Width, 480)
	def(&v.Height, 240)
	def(&v.Gap, 72)
	v.Width, v.Height = max(v.Width, 32), max(v.Height, 16)
	// The gap sits right of one gap's width (where the slider starts), so
	// it may be at most half the background wide.
	v.Gap = min(max(v.Gap, 8), v.Width/2, v.Height)
	v.Margin = min(max(v.Margin, 0), 32)
	if v.Style == "" {
		v.Style = GapFlat
	}
	return v
}

// Puzzle is a generated captcha with its answer.
type Puzzle struct {
	// Big and Small are the background and piece PNGs, as
	// getCheckImagePoint sends them (before base64).
	Big, Small []byte
	// GapX and GapY are the gap's top-left corner; checkImage accepts GapX
	// within Options.Tolerance.
	GapX, GapY int
	// Height is what params.height says.
	Height int
}

// GeneratePuzzle draws a captcha of variant v: a textured background (a
// gradient with noise and a few patches) with the gap drawn in v.Style, and
// the piece cut from the texture where the gap is. The same v and seed give
// the same puzzle.
func GeneratePuzzle(v Variant, seed uint64) Puzzle {
	v = v.withDefaults()
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)) // #nosec G404 -- reproducible test images
	w, h, n, m := v.Width, v.Height, v.Gap, v.Margin
	big := background(r, w, h)
	// The draws up to the flat gap's jitter are those of the simulator before
	// variants existed, so that the default variant draws the same images.
	gapX, gapY := n+r.IntN(w-2*n+1), r.IntN(h-n+1)
	jitter := [3]int{r.IntN(5) - 2, r.IntN(5) - 2, r.IntN(5) - 2}

	small := image.NewNRGBA(image.Rect(0, 0, n+2*m, n+2*m))
	for y := range n {
		for x := range n {
			small.SetNRGBA(m+x, m+y, big.NRGBAAt(gapX+x, gapY+y))
		}
	}
	gap := big.SubImage(image.Rect(gapX, gapY, gapX+n, gapY+n)).(*image.NRGBA)
	switch v.Style {
	case GapNoisyFlat:
		fillFlat(gap, v.Colour, jitter, func() int { return r.IntN(21) - 10 })
	case GapDarkened:
		shade(gap, v.Colour, 0.45+0.2*r.Float64(), 0)
	case GapTextured:
		shade(gap, v.Colour, 0.45+0.2*r.Float64(), 0.3)
		piece := small.SubImage(image.Rect(m, m, m+n, m+n)).(*image.NRGBA)
		outline(gap)
		outline(piece)
	default:
		fillFlat(gap, v.Colour, jitter, func() int { return 0 })
	}

	height := min(max(gapY+v.HeightOffset, 0), h-1)
	if v.HideHeight {
		height = 0
	}
	return Puzzle{Big: encodePNG(big), Small: encodePNG(small), GapX: gapX, GapY: gapY, Height: height}
}

// background draws a gradient with noise and a few tinted patches, so that
// the texture is not stationary noise.
func background(r *rand.Rand, w, h int) *image.NRGBA {
	big := image.NewNRGBA(image.Rect(0, 0, w, h))
	base := [3]int{40 + r.IntN(120), 60 + r.IntN(120), 80 + r.IntN(120)}
	for y := range h {
		for x := range w {
			px := big.Pix[big.PixOffset(x, y):]
			noise := r.Uint64() // one draw gives the three channels' noise
			for c := range 3 {
				v := base[c] + (x*(c+1))/8 - y/3 + int(noise>>(16*c)&0xffff)%71 - 35
				px[c] = clamp8(v)
			}
			px[3] = 255
		}
	}
	for range 6 {
		pw, ph := 20+r.IntN(80), 10+r.IntN(40)
		px0, py0 := r.IntN(w), r.IntN(h)
		tint := [3]int{r.IntN(81) - 40, r.IntN(81) - 40, r.IntN(81) - 40}
		for y := py0; y < min(py0+ph, h); y++ {
			for x := px0; x < min(px0+pw, w); x++ {
				px := big.Pix[big.PixOffset(x, y):]
				for c := range 3 {
					px[c] = clamp8(int(px[c]) + tint[c])
				}
			}
		}
	}
	return big
}

// fillFlat paints the gap one colour, plus noise() per channel and pixel.
func fillFlat(gap *image.NRGBA, c color.NRGBA, jitter [3]int, noise func() int) {
	if c.A == 0 {
		c = color.NRGBA{R: 199, G: 186, B: 183, A: 255}
	}
	base := [3]int{int(c.R) + jitter[0], int(c.G) + jitter[1], int(c.B) + jitter[2]}
	b := gap.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px := gap.Pix[gap.PixOffset(x, y):]
			for ch := range 3 {
				px[ch] = clamp8(base[ch] + noise())
			}
		}
	}
}

// shade blends c over the gap at opacity alpha, which varies by ±uneven/2
// from the top-left corner to the bottom-right one (an inner shadow).
func shade(gap *image.NRGBA, c color.NRGBA, alpha, uneven float64) {
	if c.A == 0 {
		c = color.NRGBA{A: 255}
	}
	col := [3]float64{float64(c.R), float64(c.G), float64(c.B)}
	b := gap.Rect
	span := float64(b.Dx() + b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			a := alpha + uneven*(0.5-float64(x-b.Min.X+y-b.Min.Y)/span)
			px := gap.Pix[gap.PixOffset(x, y):]
			for ch := range 3 {
				px[ch] = clamp8(int(float64(px[ch])*(1-a) + col[ch]*a + 0.5))
			}
		}
	}
}

// outline lightens the outer two pixels of img, the border common slider
// captchas draw around the cut-out and the piece.
func outline(img *image.NRGBA) {
	b := img.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x >= b.Min.X+2 && x < b.Max.X-2 && y >= b.Min.Y+2 && y < b.Max.Y-2 {
				continue
			}
			px := img.Pix[img.PixOffset(x, y):]
			for ch := range 3 {
				px[ch] = clamp8((int(px[ch])*2 + 255*3) / 5)
			}
		}
	}
}

func clamp8(v int) uint8 {
	return uint8(min(max(v, 0), 255)) // #nosec G115 -- clamped to a byte
}

// Span is an integer range drawn from uniformly per puzzle; Min == Max (or
// Max < Min) is the fixed value Min.
type Span struct{ Min, Max int }

func (s Span) draw(r *rand.Rand) int {
	if s.Max <= s.Min {
		return s.Min
	}
	return s.Min + r.IntN(s.Max-s.Min+1)
}

// variant draws the look of one served captcha from the options, from a
// stream of its own so that the default variant's images do not change.
func (s *Server) variant(seed uint64) Variant {
	o := s.opts
	r := rand.New(rand.NewPCG(seed^0x2545f4914f6cdd1d, seed)) // #nosec G404 -- reproducible test images
	v := Variant{
		Width: o.Width, Height: o.Height, Gap: o.Piece,
		Margin:       o.Margin.draw(r),
		HeightOffset: o.HeightOffset.draw(r),
		HideHeight:   o.HideHeight,
	}
	if o.PieceMax > o.Piece {
		v.Gap = Span{o.Piece, o.PieceMax}.draw(r)
	}
	if len(o.GapStyles) > 0 {
		v.Style = o.GapStyles[r.IntN(len(o.GapStyles))]
	}
	if len(o.GapColours) > 0 {
		v.Colour = o.GapColours[r.IntN(len(o.GapColours))]
	}
	return v
}

// puzzle draws the captcha served for seed.
func (s *Server) puzzle(seed uint64) Puzzle {
	return GeneratePuzzle(s.variant(seed), seed)
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	// Uncompressed: the simulator serves many captchas and size does not matter here.
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	if err := enc.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory NRGBA cannot fail
	}
	return buf.Bytes()
}
