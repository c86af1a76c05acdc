package miitsim

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
)

type puzzle struct {
	big, small []byte
	gapX, gapY int
}

// puzzle draws a slider captcha: a textured background (a gradient with
// noise and a few patches) with the flat greyish square gap the real one has
// (domain.md §1.1), and the piece cut from the texture where the gap is.
func (s *Server) puzzle(seed uint64) puzzle {
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)) // #nosec G404 -- reproducible test images
	w, h, n := s.opts.Width, s.opts.Height, s.opts.Piece
	big := image.NewNRGBA(image.Rect(0, 0, w, h))
	base := [3]int{40 + r.IntN(120), 60 + r.IntN(120), 80 + r.IntN(120)}
	for y := range h {
		for x := range w {
			px := big.Pix[big.PixOffset(x, y):]
			noise := r.Uint64() // one draw gives the three channels' noise
			for c := range 3 {
				v := base[c] + (x*(c+1))/8 - y/3 + int(noise>>(16*c)&0xffff)%71 - 35
				px[c] = uint8(min(max(v, 0), 255))
			}
			px[3] = 255
		}
	}
	for range 6 { // patches, so that the texture is not stationary noise
		pw, ph := 20+r.IntN(80), 10+r.IntN(40)
		px0, py0 := r.IntN(w), r.IntN(h)
		tint := [3]int{r.IntN(81) - 40, r.IntN(81) - 40, r.IntN(81) - 40}
		for y := py0; y < min(py0+ph, h); y++ {
			for x := px0; x < min(px0+pw, w); x++ {
				px := big.Pix[big.PixOffset(x, y):]
				for c := range 3 {
					px[c] = uint8(min(max(int(px[c])+tint[c], 0), 255))
				}
			}
		}
	}
	gapX, gapY := n+r.IntN(w-2*n+1), r.IntN(h-n+1)
	small := image.NewNRGBA(image.Rect(0, 0, n, n))
	grey := color.NRGBA{uint8(199 + r.IntN(5) - 2), uint8(186 + r.IntN(5) - 2), uint8(183 + r.IntN(5) - 2), 255} // #nosec G115 -- each value is within 181–201
	for y := range n {
		for x := range n {
			small.SetNRGBA(x, y, big.NRGBAAt(gapX+x, gapY+y))
			big.SetNRGBA(gapX+x, gapY+y, grey)
		}
	}
	return puzzle{big: encodePNG(big), small: encodePNG(small), gapX: gapX, gapY: gapY}
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
