package captcha

import (
	"math"
	"slices"
)

// box is a rectangle by its top-left corner and size.
type box struct{ x, y, w, h int }

// candidates returns up to maxCandidates non-overlapping boxes of the gap's
// possible sizes whose top lies in [top0, top1], in full-scale pixels, best
// first. They are scored on the quarter-scale copy by boxScore.
func (sr *search) candidates(top0, top1 int) []box {
	q := sr.quarter
	pw, ph := float64(sr.piece.w), float64(sr.piece.h)
	lo := max(int(pw*(1-sizeSlack)/coarse), 3)
	hi := int(math.Ceil(pw * (1 + sizeSlack) / coarse))
	y0, y1 := max(top0/coarse, 0), (top1+coarse-1)/coarse

	// Best score and its size for each corner.
	score := make([]float64, q.w*q.h)
	size := make([]int, q.w*q.h)
	for w := lo; w <= hi; w++ {
		h := max(int(math.Round(float64(w)*ph/pw)), 3)
		if w > q.w || h > q.h {
			break
		}
		for y := y0; y <= min(y1, q.h-h); y++ {
			for x := 0; x <= q.w-w; x++ {
				if s := sr.boxScore(x, y, w, h); s > score[y*q.w+x] {
					score[y*q.w+x], size[y*q.w+x] = s, w
				}
			}
		}
	}

	order := make([]int, 0, len(score))
	for i, s := range score {
		if s > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return a - b
	})
	var out []box
	for _, i := range order {
		w := size[i]
		b := box{x: i % q.w, y: i / q.w, w: w, h: max(int(math.Round(float64(w)*ph/pw)), 3)}
		if slices.ContainsFunc(out, func(o box) bool {
			// Near duplicates only: a poor box overlapping the gap must not
			// hide it.
			return abs(o.x/coarse-b.x) < min(o.w/coarse, b.w)/2 && abs(o.y/coarse-b.y) < min(o.h/coarse, b.h)/2
		}) {
			continue
		}
		out = append(out, box{x: b.x * coarse, y: b.y * coarse, w: b.w * coarse, h: b.h * coarse})
		if len(out) == maxCandidates {
			break
		}
	}
	return out
}

// boxScore rates how much the w×h box at (x, y) of the quarter-scale copy
// looks like a gap: the strip just outside each side differs from the
// inside in mean or in texture, and the inside is smooth. A side at the
// image's border is not judged. One pixel around the edge is skipped: it
// mixes both sides, and may be an outline.
func (sr *search) boxScore(x, y, w, h int) float64 {
	const e = 1 // skipped ring
	it, q := sr.sums, sr.quarter
	t := max(min(w, h)/5, 1) // strip width
	ix0, iy0, ix1, iy1 := x+e, y+e, x+w-e, y+h-e
	inMean, inStd := it.stats(ix0, iy0, ix1, iy1)
	// The two weakest sides: a background as dark as a darkened cut-out on
	// one side must not hide it.
	weakest, second, sides := math.Inf(1), math.Inf(1), 0
	judge := func(x0, y0, x1, y1 int) {
		mo, so := it.stats(x0, y0, x1, y1)
		ev := math.Abs(mo-inMean) + max(so-inStd, 0)
		weakest, second = min(weakest, ev), min(second, max(weakest, ev))
		sides++
	}
	if x-e > 0 {
		judge(max(x-e-t, 0), iy0, x-e, iy1)
	}
	if x+w+e < q.w {
		judge(x+w+e, iy0, min(x+w+e+t, q.w), iy1)
	}
	if y-e > 0 {
		judge(ix0, max(y-e-t, 0), ix1, y-e)
	}
	if y+h+e < q.h {
		judge(ix0, y+h+e, ix1, min(y+h+e+t, q.h))
	}
	if sides < 2 {
		return 0
	}
	if sides < 4 { // at the border: every side judged must show
		second = weakest
	}
	return (weakest + second) / 2 / (inStd + 1)
}

// check examines a candidate at full scale and says whether, how and where
// it is the gap.
func (sr *search) check(c box) verdict {
	if ncc, x := sr.matchTexture(c); ncc >= minNCC {
		return verdict{kind: byTexture, x: x, score: ncc}
	}

	L := sr.big
	// The candidate's central half is inside the gap whatever the coarse
	// search's error.
	cx0, cx1 := c.x+c.w/4, c.x+c.w-c.w/4
	cy0, cy1 := c.y+c.h/4, c.y+c.h-c.h/4
	mu, sd := sr.meanStd(cx0, cy0, cx1, cy1)
	// A pixel unlike the inside is one further from its mean than its own
	// spread allows: texture next to a flat gap of the same mean brightness
	// shows up, and so does a darkened cut-out's step.
	far := max(3*sd, 4)
	unlike := func(v int32) float64 {
		if math.Abs(float64(v)-mu) > far {
			return 100
		}
		return 0
	}

	// Percentage of unlike pixels per column across the central rows, and
	// per row across the central columns.
	px0, px1 := max(c.x-3*c.w/4, 0), min(c.x+c.w+3*c.w/4, L.w)
	cols := make([]float64, px1-px0)
	for y := cy0; y < cy1; y++ {
		line := L.pix[y*L.w:]
		for x := px0; x < px1; x++ {
			cols[x-px0] += unlike(line[x])
		}
	}
	for i := range cols {
		cols[i] /= float64(cy1 - cy0)
	}
	py0, py1 := max(c.y-3*c.h/4, 0), min(c.y+c.h+3*c.h/4, L.h)
	rows := make([]float64, py1-py0)
	for y := py0; y < py1; y++ {
		var d float64
		for _, v := range L.pix[y*L.w+cx0 : y*L.w+cx1] {
			d += unlike(v)
		}
		rows[y-py0] = d / float64(cx1-cx0)
	}

	h := edges(cols, px0, cx0, cx1, c.x, c.x+c.w, L.w)
	v := edges(rows, py0, cy0, cy1, c.y, c.y+c.h, L.h)
	if sr.shaped {
		// Straight edges do not say where a jigsaw cut-out starts: a hole in
		// its side looks like its edge. Its silhouette does.
		x0, y0 := c.x, c.y
		if h.ok && v.ok {
			x0, y0 = h.lo, v.lo
		}
		if agree, x, std := sr.matchShape(x0, y0, mu, far); agree >= minShape && std <= sr.maxStd {
			return verdict{kind: flat, x: x, score: agree}
		}
		return verdict{}
	}
	if !h.ok || !v.ok {
		return verdict{}
	}
	pw, ph := float64(sr.piece.w), float64(sr.piece.h)
	fits := func(n int, p float64) bool {
		return float64(n) >= p*(1-sizeSlack)-4 && float64(n) <= p*(1+sizeSlack)+4
	}
	if !fits(h.hi-h.lo, pw) || !fits(v.hi-v.lo, ph) {
		return verdict{}
	}
	if min(h.sharp, v.sharp) < minSharp {
		return verdict{}
	}
	contrast, outside := min(h.contrast, v.contrast), min(h.outside, v.outside)
	// Flat means smooth for this image too: a blurred background is smooth.
	_, std := sr.meanStd(h.lo+2, v.lo+2, h.hi-2, v.hi-2)
	if std <= sr.maxStd && std <= 0.5*sr.textureAround(h.lo, v.lo, h.hi, v.hi) &&
		contrast >= flatContrast && outside >= flatOutside {
		return verdict{kind: flat, x: h.lo, score: contrast}
	}
	// Edges alone prove little: all four must show, none hidden by the border.
	if contrast >= stepContrast && outside >= stepOutside && h.sides+v.sides == 4 {
		return verdict{kind: byEdges, x: h.lo, score: contrast}
	}
	return verdict{}
}

// matchShape slides the piece's silhouette over the background around
// (x0, y0) and returns the best agreement (the share of the piece's box
// where being like the gap's inside, within far of mu, coincides with being
// opaque in the piece), the piece's left edge there, and the brightness
// spread under its opaque part.
func (sr *search) matchShape(x0, y0 int, mu, far float64) (agree float64, at int, std float64) {
	L, P, M := sr.big, sr.piece, sr.mask
	reach := min(P.w, P.h)/4 + coarse
	score := func(px, py, step int) float64 {
		if px < 0 || py < 0 || px+P.w > L.w || py+P.h > L.h {
			return -1
		}
		var same, n int
		for j := 0; j < P.h; j += step {
			row := L.pix[(py+j)*L.w+px:]
			for i := 0; i < P.w; i += step {
				like := math.Abs(float64(row[i])-mu) <= far
				if like == (M.at(i, j) > 127) {
					same++
				}
				n++
			}
		}
		return float64(same) / float64(n)
	}
	best, bx, by := -1.0, x0, y0
	for py := y0 - reach; py <= y0+reach; py++ {
		for px := x0 - reach; px <= x0+reach; px++ {
			if a := score(px, py, 3); a > best {
				best, bx, by = a, px, py
			}
		}
	}
	best, at = -1, bx
	y := by
	for py := by - 1; py <= by+1; py++ {
		for px := bx - 1; px <= bx+1; px++ {
			if a := score(px, py, 1); a > best {
				best, at, y = a, px, py
			}
		}
	}
	if best < 0 {
		return 0, 0, math.Inf(1)
	}
	var sum, sq, n float64
	for j := range P.h {
		for i := range P.w {
			if M.at(i, j) > 127 {
				v := float64(L.at(at+i, y+j))
				sum, sq, n = sum+v, sq+v*v, n+1
			}
		}
	}
	m := sum / n
	return best, at, math.Sqrt(max(sq/n-m*m, 0))
}

// edgeFit is where a profile says the gap's two edges are.
type edgeFit struct {
	lo, hi int // the gap is [lo, hi)
	// contrast is the weaker side's outside over inside level, outside the
	// lower of the two outside levels (percent of pixels unlike the
	// gap's inside), each measured over the 4 pixels beyond the edge.
	contrast, outside float64
	// sharp is the weaker side's level over the 2 pixels beyond the edge
	// against the 3 beyond those: 1 for a drawn edge, less for a blurred
	// one or for shading inside the gap, whose edges are not where the
	// profile rises.
	sharp float64
	sides int // judged: not at the image's border
	ok    bool
}

// edges finds where a profile of unlike pixels (starting at off in image
// coordinates; [in0, in1) inside the gap, [near0, near1) the coarse guess of
// its extent, limit the image's size) rises from the inside's level to the
// outside's. Each side has its own cut, a third of the way to its
// outside's level: the background may differ from the gap much more on one
// side than on the other, and the part right next to the gap may resemble
// it. A side at the image's border is not judged.
func edges(dev []float64, off, in0, in1, near0, near1, limit int) edgeFit {
	inside := median(dev[in0-off : in1-off])
	cutOf := func(out []float64) (float64, bool) {
		if len(out) == 0 {
			return 0, false
		}
		m := median(out)
		return inside + (m-inside)/3, m >= 2*inside+2
	}
	// The coarse guess may be a fifth too small or large: the outside is
	// beyond that. Near the border, it is what little lies beyond the guess
	// (4 pixels clear of it), failing that the other side's cut.
	slack := (near1-near0)/4 + 4
	split0, split1 := min(max(near0-slack-off, 0), len(dev)), min(max(near1+slack-off, 0), len(dev))
	atLo, atHi := split0 == 0 && off == 0, split1 == len(dev) && off+len(dev) == limit
	if atLo {
		split0 = min(max(near0-4, 0), len(dev))
	}
	if atHi {
		split1 = min(max(near1+4-off, 0), len(dev))
	}
	cutLo, okLo := cutOf(dev[:split0])
	cutHi, okHi := cutOf(dev[split1:])
	switch {
	case atLo && !okLo && okHi:
		cutLo, okLo = cutHi, true
	case atHi && !okHi && okLo:
		cutHi, okHi = cutLo, true
	}
	if !okLo || !okHi {
		return edgeFit{}
	}
	// Two columns over the cut in a row: one noisy column is no edge.
	lo, hi := -1, -1
	mid := (in0+in1)/2 - off
	for i := mid; i >= 0; i-- {
		if dev[i] > cutLo && (i == 0 || dev[i-1] > cutLo) {
			lo = i + 1
			break
		}
	}
	for i := mid; i < len(dev); i++ {
		if dev[i] > cutHi && (i == len(dev)-1 || dev[i+1] > cutHi) {
			hi = i
			break
		}
	}
	switch {
	case lo < 0 && off == 0:
		lo = 0
	case lo < 0:
		return edgeFit{}
	}
	switch {
	case hi < 0 && off+len(dev) == limit:
		hi = len(dev)
	case hi < 0:
		return edgeFit{}
	}
	fit := edgeFit{lo: lo + off, hi: hi + off, contrast: math.Inf(1), outside: math.Inf(1), sharp: math.Inf(1)}
	clip := func(i int) int { return min(max(i, 0), len(dev)) }
	level := func(a, b int) (float64, bool) {
		a, b = clip(a), clip(b)
		if b <= a {
			return 0, false
		}
		return mean(dev[a:b]), true
	}
	// out walks away from the edge, in into the gap.
	side := func(edge, out, in int) {
		outside, ok1 := level(min(edge, edge+4*out), max(edge, edge+4*out))
		inside, ok2 := level(min(edge+in, edge+5*in), max(edge+in, edge+5*in))
		if !ok1 || !ok2 {
			return
		}
		fit.contrast = min(fit.contrast, outside/(inside+1))
		fit.outside = min(fit.outside, outside)
		near, ok1 := level(min(edge, edge+2*out), max(edge, edge+2*out))
		beyond, ok2 := level(min(edge+2*out, edge+5*out), max(edge+2*out, edge+5*out))
		if ok1 && ok2 {
			fit.sharp = min(fit.sharp, near/max(beyond, 1))
		}
		fit.sides++
		fit.ok = true
	}
	side(lo, -1, 1)
	side(hi, 1, -1)
	return fit
}

// pieceTexture is what matchTexture compares: the piece's opaque inside,
// its rim skipped (an outline or a shadow), as horizontal differences. Each
// sample is an offset from the piece's top-left corner in the background's
// difference plane, so that a position costs one add per sample.
type pieceTexture struct {
	all, scan samples // every sample, and about 100 for the scan
}

type samples struct {
	off, val []int32
	n        float64
	sum, sq  float64 // of val
}

func (s *samples) add(off, val int32) {
	s.off, s.val = append(s.off, off), append(s.val, val)
	s.n++
	s.sum += float64(val)
	s.sq += float64(val) * float64(val)
}

// flat says there is no texture to match: a flat piece, or too few samples.
func (s *samples) flat() bool { return s.n < 16 || s.sq-s.sum*s.sum/s.n < 4*s.n }

// newPieceTexture samples piece (with its alpha, both cropped to the opaque
// box) for a background whose difference plane is stride wide.
func newPieceTexture(piece, alpha *plane, stride int) pieceTexture {
	const rim = 3
	opaque := func(x, y int) bool { return alpha.at(x, y) > 127 }
	var t pieceTexture
	inside := (piece.w - 2*rim) * (piece.h - 2*rim)
	step := max(int(math.Sqrt(float64(inside)/100)), 1)
	for y := rim; y < piece.h-rim; y++ {
		for x := rim; x < piece.w-rim-1; x++ {
			if !opaque(x, y) || !opaque(x+1, y) {
				continue // a jigsaw piece's cut-outs carry no texture
			}
			off, val := int32(y*stride+x), piece.at(x+1, y)-piece.at(x, y) // #nosec G115 -- image offsets
			t.all.add(off, val)
			if (x-rim)%step == 0 && (y-rim)%step == 0 {
				t.scan.add(off, val)
			}
		}
	}
	return t
}

// matchTexture slides the piece's texture over the background around the
// candidate c and returns the best correlation and the piece's left edge
// there. A darkened or lightened cut-out keeps the texture the piece was cut
// from; correlation ignores the change of brightness and contrast, and
// comparing horizontal differences rather than brightness ignores uneven
// shading. The candidate is a quarter-scale guess of a gap of the piece's
// size: off by a few pixels, more if its size differs, hence the reach.
func (sr *search) matchTexture(c box) (ncc float64, at int) {
	t := &sr.texture
	if t.all.flat() || t.scan.flat() {
		return 0, 0
	}
	L, pw, ph := sr.bigTex, sr.piece.w, sr.piece.h
	// corr correlates the samples with the background for the piece's
	// corner at (px, py). The scan's 100 samples keep unrelated texture
	// under 0.5 while the match is near 1; the final figure uses them all.
	corr := func(s *samples, px, py int) float64 {
		if px < 0 || py < 0 || px+pw > L.w+1 || py+ph > L.h {
			return -1
		}
		base := int32(py*L.w + px) // #nosec G115 -- image offsets
		var bs, bss, tb int64
		for i, off := range s.off {
			b := int64(L.pix[base+off])
			bs += b
			bss += b * b
			tb += b * int64(s.val[i])
		}
		bVar := float64(bss) - float64(bs)*float64(bs)/s.n
		if bVar < s.n { // a flat window: no texture to correlate
			return 0
		}
		return (float64(tb) - s.sum*float64(bs)/s.n) / math.Sqrt((s.sq-s.sum*s.sum/s.n)*bVar)
	}
	// Centred on the candidate, whose corner is good to a quarter-scale
	// pixel and whose size may differ from the piece's.
	x0, y0 := c.x+(c.w-pw)/2, c.y+(c.h-ph)/2
	reachX, reachY := abs(c.w-pw)/2+2*coarse+1, abs(c.h-ph)/2+2*coarse+1
	best, bx, by := -1.0, x0, y0
	for py := y0 - reachY; py <= y0+reachY; py++ {
		for px := x0 - reachX; px <= x0+reachX; px++ {
			if r := corr(&t.scan, px, py); r > best {
				best, bx, by = r, px, py
			}
		}
	}
	best, at = -1, bx
	for py := by - 1; py <= by+1; py++ {
		for px := bx - 1; px <= bx+1; px++ {
			if r := corr(&t.all, px, py); r > best {
				best, at = r, px
			}
		}
	}
	return best, at
}

// textureAround is the background's texture next to the box [x0, x1) ×
// [y0, y1): the median of the brightness spreads of the 6 px strips beyond
// each side, each alone so that a step between sides does not count.
func (sr *search) textureAround(x0, y0, x1, y1 int) float64 {
	const gap, width = 2, 6
	var spreads []float64
	for _, r := range [][4]int{
		{x0 - gap - width, y0, x0 - gap, y1}, {x1 + gap, y0, x1 + gap + width, y1},
		{x0, y0 - gap - width, x1, y0 - gap}, {x0, y1 + gap, x1, y1 + gap + width},
	} {
		if _, s := sr.meanStd(r[0], r[1], r[2], r[3]); !math.IsInf(s, 1) {
			spreads = append(spreads, s)
		}
	}
	if len(spreads) == 0 {
		return 0
	}
	return median(spreads)
}

// meanStd is the brightness mean and standard deviation over [x0, x1) ×
// [y0, y1) of the background; an empty rectangle has an infinite spread.
func (sr *search) meanStd(x0, y0, x1, y1 int) (mean, std float64) {
	L := sr.big
	x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, L.w), min(y1, L.h)
	if x1 <= x0 || y1 <= y0 {
		return 0, math.Inf(1)
	}
	var s, ss float64
	for y := y0; y < y1; y++ {
		for _, v := range L.pix[y*L.w+x0 : y*L.w+x1] {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
	}
	n := float64((x1 - x0) * (y1 - y0))
	mean = s / n
	return mean, math.Sqrt(max(ss/n-mean*mean, 0))
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// differences returns the plane of horizontal differences of p, one column
// narrower: texture without the brightness it sits on.
func differences(p *plane) *plane {
	out := &plane{w: p.w - 1, h: p.h, pix: make([]int32, (p.w-1)*p.h)}
	for y := range p.h {
		src, dst := p.pix[y*p.w:(y+1)*p.w], out.pix[y*out.w:(y+1)*out.w]
		for x := range dst {
			dst[x] = src[x+1] - src[x]
		}
	}
	return out
}
