package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// wkbTo2D appends to dst the geometry in src rewritten as 2D little-endian ISO WKB, the one
// form the importer COPYs. src may be in either byte order and carry Z and/or M as ISO type
// codes (+1000/+2000/+3000) or EWKB flags (with or without an embedded SRID, which is
// dropped): GeoPackage, PostGIS dumps and go-geom all write different variants. Trailing bytes
// are an error, since they mean the blob was cut or concatenated wrongly.
func wkbTo2D(dst, src []byte) ([]byte, error) {
	r := wkbReader{b: src}
	dst, err := r.geometry(dst, 0)
	if err != nil {
		return nil, err
	}
	if r.off != len(src) {
		return nil, fmt.Errorf("%d unexpected bytes after the WKB geometry", len(src)-r.off)
	}
	return dst, nil
}

var errWKBShort = errors.New("the WKB geometry is truncated")

type wkbReader struct {
	b     []byte
	off   int
	order binary.ByteOrder
}

// need checks that n more items of size bytes each are there, before anything is allocated
// for them: a damaged count must not make us reserve gigabytes.
func (r *wkbReader) need(n, size uint64) error {
	if n > uint64(len(r.b)-r.off)/size {
		return errWKBShort
	}
	return nil
}

func (r *wkbReader) uint32() uint32 {
	v := r.order.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *wkbReader) float() float64 {
	v := math.Float64frombits(r.order.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

// coords copies n positions of dims ordinates each, keeping x and y.
func (r *wkbReader) coords(dst []byte, n uint32, dims int) ([]byte, error) {
	if err := r.need(uint64(n), uint64(dims)*8); err != nil {
		return nil, err
	}
	for i := uint32(0); i < n; i++ {
		x, y := r.float(), r.float()
		r.off += (dims - 2) * 8
		dst = appendXY(dst, x, y)
	}
	return dst, nil
}

func (r *wkbReader) geometry(dst []byte, depth int) ([]byte, error) {
	if depth > 32 {
		return nil, errors.New("WKB geometry collections are nested too deep")
	}
	if err := r.need(1, 5); err != nil {
		return nil, err
	}
	switch r.b[r.off] {
	case 0:
		r.order = binary.BigEndian
	case 1:
		r.order = binary.LittleEndian
	default:
		return nil, fmt.Errorf("WKB byte order mark is %d, neither 0 nor 1: not a WKB geometry", r.b[r.off])
	}
	r.off++
	t := r.uint32()
	dims := 2
	// EWKB (PostGIS) flags in the high bits.
	if t&0x80000000 != 0 {
		dims++
	}
	if t&0x40000000 != 0 {
		dims++
	}
	if t&0x20000000 != 0 {
		if err := r.need(1, 4); err != nil {
			return nil, err
		}
		r.off += 4 // SRID
	}
	t &= 0x0fffffff
	// ISO codes: 1001 is a Point Z, 2001 a Point M, 3001 a Point ZM.
	switch t / 1000 {
	case 1, 2:
		dims++
	case 3:
		dims += 2
	}
	if dims > 4 {
		return nil, fmt.Errorf("WKB type code %d has both ISO and EWKB dimension flags", t)
	}
	base := t % 1000
	switch base {
	case wkbPoint:
		dst = appendHeader(dst, wkbPoint)
		return r.coords(dst, 1, dims)
	case wkbLineString:
		if err := r.need(1, 4); err != nil {
			return nil, err
		}
		n := r.uint32()
		dst = appendUint32(appendHeader(dst, wkbLineString), int(n))
		return r.coords(dst, n, dims)
	case wkbPolygon:
		if err := r.need(1, 4); err != nil {
			return nil, err
		}
		rings := r.uint32()
		if err := r.need(uint64(rings), 4); err != nil {
			return nil, err
		}
		dst = appendUint32(appendHeader(dst, wkbPolygon), int(rings))
		for i := uint32(0); i < rings; i++ {
			if err := r.need(1, 4); err != nil {
				return nil, err
			}
			n := r.uint32()
			dst = appendUint32(dst, int(n))
			var err error
			if dst, err = r.coords(dst, n, dims); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case wkbMultiPoint, wkbMultiLineString, wkbMultiPolygon, wkbGeometryCollection:
		if err := r.need(1, 4); err != nil {
			return nil, err
		}
		n := r.uint32()
		if err := r.need(uint64(n), 5); err != nil {
			return nil, err
		}
		dst = appendUint32(appendHeader(dst, base), int(n))
		for i := uint32(0); i < n; i++ {
			var err error
			if dst, err = r.geometry(dst, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return nil, fmt.Errorf("WKB geometry type %d is not supported: only points, lines, polygons, their Multi* forms and collections are (convert curves first, e.g. ogr2ogr -nlt CONVERT_TO_LINEAR)", t)
}
