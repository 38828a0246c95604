package ingest

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/valyala/fastjson"
)

// WKB geometry type codes.
const (
	wkbPoint = iota + 1
	wkbLineString
	wkbPolygon
	wkbMultiPoint
	wkbMultiLineString
	wkbMultiPolygon
	wkbGeometryCollection
)

func appendHeader(dst []byte, typ uint32) []byte {
	dst = append(dst, 1) // little endian
	return binary.LittleEndian.AppendUint32(dst, typ)
}

func appendUint32(dst []byte, n int) []byte { return binary.LittleEndian.AppendUint32(dst, uint32(n)) }

func appendXY(dst []byte, x, y float64) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(y))
}

// appendGeoJSONGeometry writes a GeoJSON geometry as 2D WKB. Structural faults (too few
// positions, open rings, non-numbers) are errors that name what is wrong; validity in the
// OGC sense is left to PostGIS.
func appendGeoJSONGeometry(dst []byte, g *fastjson.Value, depth int) ([]byte, error) {
	if depth > 4 {
		return nil, fmt.Errorf("geometry collections nested too deep")
	}
	t := string(g.GetStringBytes("type"))
	if t == "GeometryCollection" {
		parts := g.GetArray("geometries")
		dst = appendHeader(dst, wkbGeometryCollection)
		dst = appendUint32(dst, len(parts))
		var err error
		for _, p := range parts {
			if dst, err = appendGeoJSONGeometry(dst, p, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	c := g.Get("coordinates")
	if c == nil || c.Type() != fastjson.TypeArray {
		return nil, fmt.Errorf("%s geometry has no \"coordinates\" array", t)
	}
	switch t {
	case "Point":
		x, y, err := position(c)
		if err != nil {
			return nil, err
		}
		return appendXY(appendHeader(dst, wkbPoint), x, y), nil
	case "LineString":
		return appendLine(dst, c, 2, false)
	case "Polygon":
		return appendPolygon(dst, c)
	case "MultiPoint":
		pts, _ := c.Array()
		dst = appendUint32(appendHeader(dst, wkbMultiPoint), len(pts))
		for _, p := range pts {
			x, y, err := position(p)
			if err != nil {
				return nil, err
			}
			dst = appendXY(appendHeader(dst, wkbPoint), x, y)
		}
		return dst, nil
	case "MultiLineString":
		lines, _ := c.Array()
		dst = appendUint32(appendHeader(dst, wkbMultiLineString), len(lines))
		var err error
		for _, l := range lines {
			if dst, err = appendLine(dst, l, 2, false); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case "MultiPolygon":
		polys, _ := c.Array()
		dst = appendUint32(appendHeader(dst, wkbMultiPolygon), len(polys))
		var err error
		for _, p := range polys {
			if dst, err = appendPolygon(dst, p); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case "":
		return nil, fmt.Errorf("geometry has no \"type\"")
	}
	return nil, fmt.Errorf("unknown geometry type %q", t)
}

func position(p *fastjson.Value) (x, y float64, err error) {
	a, err := p.Array()
	if err != nil || len(a) < 2 {
		return 0, 0, fmt.Errorf("a position must be an array of at least two numbers, found %s", p)
	}
	x, errx := exactFloat(a[0])
	y, erry := exactFloat(a[1])
	if errx != nil || erry != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return 0, 0, fmt.Errorf("a position must hold numbers, found %s", p)
	}
	return x, y, nil
}

// appendLine writes a LineString, or with ring set the body of a polygon ring (no header).
func appendLine(dst []byte, c *fastjson.Value, minPts int, ring bool) ([]byte, error) {
	pts, err := c.Array()
	if err != nil {
		return nil, fmt.Errorf("expected an array of positions, found %s", c)
	}
	if len(pts) < minPts {
		if ring {
			return nil, fmt.Errorf("a polygon ring has %d positions; a closed ring needs at least 4", len(pts))
		}
		return nil, fmt.Errorf("a line has %d position(s); it needs at least 2", len(pts))
	}
	if !ring {
		dst = appendHeader(dst, wkbLineString)
	}
	dst = appendUint32(dst, len(pts))
	var fx, fy, x, y float64
	for i, p := range pts {
		if x, y, err = position(p); err != nil {
			return nil, err
		}
		if i == 0 {
			fx, fy = x, y
		}
		dst = appendXY(dst, x, y)
	}
	if ring && (x != fx || y != fy) {
		return nil, fmt.Errorf("a polygon ring is not closed: it starts at (%g %g) and ends at (%g %g)", fx, fy, x, y)
	}
	return dst, nil
}

func appendPolygon(dst []byte, c *fastjson.Value) ([]byte, error) {
	rings, err := c.Array()
	if err != nil || len(rings) == 0 {
		return nil, fmt.Errorf("a polygon needs at least one ring")
	}
	dst = appendUint32(appendHeader(dst, wkbPolygon), len(rings))
	for _, r := range rings {
		if dst, err = appendLine(dst, r, 4, true); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// exactFloat parses a JSON number with strconv, which rounds correctly: fastjson's own
// parser is faster but can be off in the last bit for numbers of 16–17 digits, and a
// delivered coordinate must come back exactly as it was written.
func exactFloat(v *fastjson.Value) (float64, error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("not a number")
	}
	var buf [32]byte
	return strconv.ParseFloat(string(v.MarshalTo(buf[:0])), 64)
}
