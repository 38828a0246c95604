package glyphs

import (
	"math"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The parameters fontnik renders with and MapLibre assumes (ONE_EM = 24, GLYPH_PBF_BORDER = 3).
const (
	fontSize = 24 // pixels per em
	border   = 3  // pixels of distance field around the glyph's box
)

// glyph is one glyph with fontnik's metrics (node-fontnik src/glyphs.cpp and its vendored
// sdf-glyph-foundry RenderSDF), all in pixels at 24 px, y up:
//   - width, height: the outline's box, its edges rounded to whole pixels;
//   - left: the box's left edge, rounded (the left side bearing);
//   - top: the box's top edge, rounded, minus the font's ascender, so usually negative:
//     MapLibre's shaping puts the line's top, not its baseline, at 0;
//   - advance: the advance width rounded down (fontnik's horiAdvance / 64 on 26.6 values);
//   - bitmap: (width+6)×(height+6) distance field bytes, rows from the top, none when empty.
//
// A glyph without ink (space) has width = height = left = 0 and top = -ascender, as fontnik
// leaves them.
type glyph struct {
	id            rune
	width, height int
	left, top     int
	advance       int
	bitmap        []byte
}

// glyph renders code point cp, or reports that the font has no glyph for it.
func (f *face) glyph(buf *sfnt.Buffer, ras *rasterizer, cp rune) (glyph, bool) {
	gi, err := f.font.GlyphIndex(buf, cp)
	if err != nil || gi == 0 {
		return glyph{}, false
	}
	ppem := fixed.I(fontSize)
	adv, err := f.font.GlyphAdvance(buf, gi, ppem, font.HintingNone)
	if err != nil {
		return glyph{}, false
	}
	g := glyph{id: cp, advance: int(adv >> 6), top: -f.ascender}
	segs, err := f.font.LoadGlyph(buf, gi, ppem, nil)
	if err != nil || len(segs) == 0 {
		return g, true
	}

	// sfnt's y axis points down: the top of the box is -minY.
	minX, minY, maxX, maxY := bounds(segs)
	left, right := int(math.Round(minX)), int(math.Round(maxX))
	top, bottom := int(math.Round(-minY)), int(math.Round(-maxY))
	if right == left || top == bottom {
		return g, true
	}
	g.left, g.top = left, top-f.ascender
	g.width, g.height = right-left, top-bottom
	// The bitmap's top left corner is 3 px left of and above the rounded box (glyph space,
	// y up, baseline at 0): ink that the rounding left outside the box falls into the border.
	g.bitmap = ras.sdf(segs, g.width+2*border, g.height+2*border, float32(border-left), float32(border+top))
	return g, true
}

// bounds returns the exact box of an outline in pixels (curve extremes included, not only
// their control points), like FreeType's FT_Outline_Get_BBox.
func bounds(segs sfnt.Segments) (minX, minY, maxX, maxY float64) {
	minX, minY = math.Inf(1), math.Inf(1)
	maxX, maxY = math.Inf(-1), math.Inf(-1)
	add := func(x, y float64) {
		minX, maxX = min(minX, x), max(maxX, x)
		minY, maxY = min(minY, y), max(maxY, y)
	}
	var px, py float64 // the pen
	for _, s := range segs {
		var xs, ys [4]float64
		n := 0
		switch s.Op {
		case sfnt.SegmentOpMoveTo, sfnt.SegmentOpLineTo:
			n = 1
		case sfnt.SegmentOpQuadTo:
			n = 2
		case sfnt.SegmentOpCubeTo:
			n = 3
		}
		xs[0], ys[0] = px, py
		for i := 0; i < n; i++ {
			xs[i+1], ys[i+1] = float64(s.Args[i].X)/64, float64(s.Args[i].Y)/64
		}
		px, py = xs[n], ys[n]
		add(px, py)
		if s.Op == sfnt.SegmentOpMoveTo || s.Op == sfnt.SegmentOpLineTo {
			continue
		}
		for _, t := range append(extremes(xs[:n+1]), extremes(ys[:n+1])...) {
			add(bezier(xs[:n+1], t), bezier(ys[:n+1], t))
		}
	}
	return minX, minY, maxX, maxY
}

// extremes returns the parameters t in (0, 1) where a quadratic or cubic Bézier coordinate
// (control values p) has a zero derivative.
func extremes(p []float64) []float64 {
	var a, b, c float64 // derivative (up to a constant factor) a t² + b t + c
	if len(p) == 3 {
		b, c = 2*(p[0]-2*p[1]+p[2]), 2*(p[1]-p[0])
	} else {
		d0, d1, d2 := p[1]-p[0], p[2]-p[1], p[3]-p[2]
		a, b, c = d0-2*d1+d2, 2*(d1-d0), d0
	}
	var ts []float64
	switch {
	case a == 0 && b != 0:
		ts = append(ts, -c/b)
	case a != 0:
		if disc := b*b - 4*a*c; disc >= 0 {
			sq := math.Sqrt(disc)
			ts = append(ts, (-b+sq)/(2*a), (-b-sq)/(2*a))
		}
	}
	return slices.DeleteFunc(ts, func(t float64) bool { return t <= 0 || t >= 1 })
}

// bezier evaluates a quadratic or cubic Bézier coordinate at t.
func bezier(p []float64, t float64) float64 {
	u := 1 - t
	if len(p) == 3 {
		return u*u*p[0] + 2*u*t*p[1] + t*t*p[2]
	}
	return u*u*u*p[0] + 3*u*u*t*p[1] + 3*u*t*t*p[2] + t*t*t*p[3]
}

// encode writes the glyph message (fontnik proto/glyphs.proto):
//
//	message glyph { required uint32 id = 1; optional bytes bitmap = 2; required uint32 width = 3;
//	  required uint32 height = 4; required sint32 left = 5; required sint32 top = 6;
//	  required uint32 advance = 7; }
func (g glyph) encode() []byte {
	b := appendUint(nil, 1, uint64(g.id))
	if len(g.bitmap) > 0 {
		b = appendBytes(b, 2, g.bitmap)
	}
	b = appendUint(b, 3, uint64(g.width))
	b = appendUint(b, 4, uint64(g.height))
	b = appendSint(b, 5, g.left)
	b = appendSint(b, 6, g.top)
	return appendUint(b, 7, uint64(g.advance))
}

// Protocol buffer encoding, the little of it the glyph messages use.

const (
	wireVarint = 0
	wireBytes  = 2
)

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendUint(b []byte, field int, v uint64) []byte {
	return appendVarint(appendVarint(b, uint64(field)<<3|wireVarint), v)
}

// appendSint writes a sint32: zigzag, so that small negative numbers stay one byte.
func appendSint(b []byte, field int, v int) []byte {
	n := int32(v)
	return appendUint(b, field, uint64(uint32(n<<1)^uint32(n>>31)))
}

func appendBytes(b []byte, field int, data []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|wireBytes)
	b = appendVarint(b, uint64(len(data)))
	return append(b, data...)
}

func appendString(b []byte, field int, s string) []byte { return appendBytes(b, field, []byte(s)) }
