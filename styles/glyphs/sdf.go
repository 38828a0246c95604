package glyphs

import (
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The distance field of mapbox/tiny-sdf (and fontnik): 8 pixels of distance encoded around the
// edge, a quarter of the byte range for the inside. MapLibre draws the edge at byte 192.
const (
	radius = 8
	cutoff = 0.25
	inf    = 1e20 // tiny-sdf's "infinite" squared distance
)

// rasterizer turns outlines into distance fields. It keeps its buffers from one glyph to the
// next; one goroutine uses it at a time.
type rasterizer struct {
	vec          vector.Rasterizer
	alpha        image.Alpha
	outer, inner []float64 // squared distances to the outside / inside of the shape
	f, z         []float64 // scratch of the 1-D transform
	v            []int
}

// sdf draws segs, shifted by (dx, dy) pixels, antialiased into a w×h grid and returns the
// grid's signed distance field, rows from the top, as tiny-sdf 2.0 computes it from a canvas:
//
//   - a pixel's coverage a tells where the edge is inside it: fully covered pixels are at
//     distance 0 from the inside, empty ones at 0 from the outside, and a partly covered one
//     is (0.5-a) pixels outside the edge (negative: inside), which gives sub-pixel edges;
//   - two squared Euclidean distance transforms (Felzenszwalb & Huttenlocher) spread those
//     to every pixel, one to the nearest inside, one to the nearest outside;
//   - the byte is 255 - 255·(d/radius + cutoff) with d = outer - inner distance, clamped.
//
// tiny-sdf 2.1 applies a gamma of 1/2.2 to the canvas alpha first; that corrects the gamma a
// browser's canvas puts in its antialiasing, which x/image/vector does not have (its alpha is
// the linear coverage), so 2.0's formula is the faithful one here.
func (r *rasterizer) sdf(segs sfnt.Segments, w, h int, dx, dy float32) []byte {
	r.vec.Reset(w, h)
	r.vec.DrawOp = draw.Src
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(p.X)/64 + dx, float32(p.Y)/64 + dy
	}
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			// The rasterizer accumulates signed areas: every contour must be closed.
			r.vec.ClosePath()
			r.vec.MoveTo(pt(s.Args[0]))
		case sfnt.SegmentOpLineTo:
			r.vec.LineTo(pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			bx, by := pt(s.Args[0])
			cx, cy := pt(s.Args[1])
			r.vec.QuadTo(bx, by, cx, cy)
		case sfnt.SegmentOpCubeTo:
			bx, by := pt(s.Args[0])
			cx, cy := pt(s.Args[1])
			ex, ey := pt(s.Args[2])
			r.vec.CubeTo(bx, by, cx, cy, ex, ey)
		}
	}
	r.vec.ClosePath()

	n := w * h
	r.alpha = image.Alpha{Pix: resize(r.alpha.Pix, n), Stride: w, Rect: image.Rect(0, 0, w, h)}
	r.vec.Draw(&r.alpha, r.alpha.Rect, image.Opaque, image.Point{})

	r.outer, r.inner = resize(r.outer, n), resize(r.inner, n)
	for i, a8 := range r.alpha.Pix { // Stride == w: the pixels are one run
		switch a8 {
		case 0:
			r.outer[i], r.inner[i] = inf, 0
		case 255:
			r.outer[i], r.inner[i] = 0, inf
		default:
			d := 0.5 - float64(a8)/255
			r.outer[i], r.inner[i] = max(0, d)*max(0, d), min(0, d)*min(0, d)
		}
	}
	m := max(w, h)
	r.f, r.z, r.v = resize(r.f, m), resize(r.z, m+1), resize(r.v, m)
	r.edt(r.outer, w, h)
	r.edt(r.inner, w, h)

	out := make([]byte, n)
	for i := range out {
		d := math.Sqrt(r.outer[i]) - math.Sqrt(r.inner[i])
		// Math.round and a Uint8ClampedArray in tiny-sdf.
		out[i] = byte(min(255, max(0, math.Floor(255-255*(d/radius+cutoff)+0.5))))
	}
	return out
}

// edt replaces a grid of squared distances by its 2-D squared Euclidean distance transform:
// columns, then rows (Felzenszwalb & Huttenlocher, https://cs.brown.edu/~pff/papers/dt-final.pdf).
func (r *rasterizer) edt(grid []float64, w, h int) {
	for x := 0; x < w; x++ {
		r.edt1d(grid, x, w, h)
	}
	for y := 0; y < h; y++ {
		r.edt1d(grid, y*w, 1, w)
	}
}

// edt1d is the 1-D transform of the n values grid[offset + q*stride]: the lower envelope of the
// parabolas (q - p)² + f(p), with v the parabolas' vertices and z the bounds between them.
func (r *rasterizer) edt1d(grid []float64, offset, stride, n int) {
	f, v, z := r.f, r.v, r.z
	v[0] = 0
	z[0], z[1] = -inf, inf
	f[0] = grid[offset]
	for q, k := 1, 0; q < n; q++ {
		f[q] = grid[offset+q*stride]
		var s float64
		for {
			p := v[k]
			s = (f[q] - f[p] + float64(q*q-p*p)) / float64(q-p) / 2
			if s > z[k] {
				break
			}
			if k--; k < 0 {
				break
			}
		}
		k++
		v[k] = q
		z[k] = s
		z[k+1] = inf
	}
	for q, k := 0, 0; q < n; q++ {
		for z[k+1] < float64(q) {
			k++
		}
		p := v[k]
		grid[offset+q*stride] = f[p] + float64((q-p)*(q-p))
	}
}

// resize returns s with length n, reusing its storage when it is large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
