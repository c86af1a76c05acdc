package captcha

import (
	"image"
	"image/draw"
	"math"
)

// plane is a luminance image, one int32 per pixel: the scorers need
// brightness only, and one channel costs a third of three.
type plane struct {
	w, h int
	pix  []int32
}

func (p *plane) at(x, y int) int32 { return p.pix[y*p.w+x] }

// luminance converts img to a plane of 0–255 values (BT.601 weights).
func luminance(img image.Image) *plane {
	return convert(img, func(px []uint8) int32 {
		return (77*int32(px[0]) + 150*int32(px[1]) + 29*int32(px[2]) + 128) >> 8
	})
}

// alphaOf is img's alpha channel as a plane; only the piece needs it.
func alphaOf(img image.Image) *plane {
	return convert(img, func(px []uint8) int32 { return int32(px[3]) })
}

func convert(img image.Image, f func(rgba []uint8) int32) *plane {
	pix, stride := pixels(img)
	b := img.Bounds()
	p := &plane{w: b.Dx(), h: b.Dy(), pix: make([]int32, b.Dx()*b.Dy())}
	for y := range p.h {
		line := pix[y*stride:]
		out := p.pix[y*p.w : (y+1)*p.w]
		for x := range out {
			out[x] = f(line[4*x : 4*x+4 : 4*x+4])
		}
	}
	return p
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

// opaqueBounds is the bounding box of the pixels whose alpha is above half:
// piece images often carry a transparent margin, and only the opaque part
// has the gap's size.
func opaqueBounds(alpha *plane) image.Rectangle {
	r := image.Rectangle{Min: image.Pt(alpha.w, alpha.h)}
	for y := range alpha.h {
		for x, a := range alpha.pix[y*alpha.w : (y+1)*alpha.w] {
			if a > 127 {
				r.Min.X, r.Min.Y = min(r.Min.X, x), min(r.Min.Y, y)
				r.Max.X, r.Max.Y = max(r.Max.X, x+1), max(r.Max.Y, y+1)
			}
		}
	}
	if r.Empty() {
		return image.Rectangle{}
	}
	return r
}

// opaqueShare is the share of alpha's pixels above half.
func opaqueShare(alpha *plane) float64 {
	n := 0
	for _, a := range alpha.pix {
		if a > 127 {
			n++
		}
	}
	return float64(n) / float64(len(alpha.pix))
}

// crop copies r out of p.
func (p *plane) crop(r image.Rectangle) *plane {
	out := &plane{w: r.Dx(), h: r.Dy(), pix: make([]int32, r.Dx()*r.Dy())}
	for y := range out.h {
		copy(out.pix[y*out.w:(y+1)*out.w], p.pix[(r.Min.Y+y)*p.w+r.Min.X:])
	}
	return out
}

// shrink averages f×f blocks (a box filter), dropping a partial last block.
func (p *plane) shrink(f int) *plane {
	out := &plane{w: p.w / f, h: p.h / f}
	out.pix = make([]int32, out.w*out.h)
	area := int32(f * f)
	for y := range out.h {
		row := out.pix[y*out.w : (y+1)*out.w]
		for dy := range f {
			src := p.pix[(y*f+dy)*p.w:]
			for x := range row {
				for dx := range f {
					row[x] += src[x*f+dx]
				}
			}
		}
		for x := range row {
			row[x] = (row[x] + area/2) / area
		}
	}
	return out
}

// integral holds summed-area tables of a plane and of its square, so any
// rectangle's mean and variance cost O(1).
type integral struct {
	stride  int     // width + 1
	sum, sq []int64 // [y*stride+x] = Σ over rows < y, columns < x
}

func newIntegral(p *plane) *integral {
	it := &integral{stride: p.w + 1}
	it.sum = make([]int64, (p.h+1)*it.stride)
	it.sq = make([]int64, (p.h+1)*it.stride)
	for y := range p.h {
		var rowSum, rowSq int64
		line := p.pix[y*p.w : (y+1)*p.w]
		above, here := y*it.stride+1, (y+1)*it.stride+1
		for x, v := range line {
			rowSum += int64(v)
			rowSq += int64(v) * int64(v)
			it.sum[here+x] = it.sum[above+x] + rowSum
			it.sq[here+x] = it.sq[above+x] + rowSq
		}
	}
	return it
}

// stats returns the mean and standard deviation over columns [x0, x1) and
// rows [y0, y1), which must be a non-empty rectangle inside the plane.
func (it *integral) stats(x0, y0, x1, y1 int) (mean, std float64) {
	a, b := y0*it.stride+x0, y0*it.stride+x1
	c, d := y1*it.stride+x0, y1*it.stride+x1
	n := float64((x1 - x0) * (y1 - y0))
	mean = float64(it.sum[d]-it.sum[b]-it.sum[c]+it.sum[a]) / n
	v := float64(it.sq[d]-it.sq[b]-it.sq[c]+it.sq[a])/n - mean*mean
	return mean, math.Sqrt(max(v, 0))
}
