package cql2

import (
	"fmt"

	"github.com/peterstace/simplefeatures/geom"
)

// checkGeometry checks what both encodings must get right for a geometry to exist at all:
// enough positions, closed rings, one dimension per geometry. Validity (no self-intersecting
// rings and the like) depends on nothing but the coordinates too, but it is checked when SQL
// is built (validLiteral), so that every example of the standard still parses.
func checkGeometry(g *GeometryLit) string {
	switch g.Type {
	case "Point":
		if len(g.Coordinates) != 1 {
			return "a Point has exactly one position"
		}
	case "LineString":
		if len(g.Coordinates) < 2 {
			return fmt.Sprintf("a LineString needs at least 2 positions, found %d", len(g.Coordinates))
		}
	case "MultiPoint":
		if len(g.Coordinates) == 0 {
			return "a MultiPoint needs at least one point"
		}
	case "Polygon":
		if msg := checkRings(g.Rings); msg != "" {
			return msg
		}
	case "MultiLineString":
		if len(g.Rings) == 0 {
			return "a MultiLineString needs at least one line"
		}
		for i, l := range g.Rings {
			if len(l) < 2 {
				return fmt.Sprintf("line %d of the MultiLineString needs at least 2 positions, found %d", i+1, len(l))
			}
		}
	case "MultiPolygon":
		if len(g.Polygons) == 0 {
			return "a MultiPolygon needs at least one polygon"
		}
		for i, rings := range g.Polygons {
			if msg := checkRings(rings); msg != "" {
				return fmt.Sprintf("polygon %d of the MultiPolygon: %s", i+1, msg)
			}
		}
	case "GeometryCollection":
		if len(g.Geometries) == 0 {
			return "a GeometryCollection needs at least one geometry"
		}
		for i, m := range g.Geometries {
			if msg := checkGeometry(m); msg != "" {
				return fmt.Sprintf("geometry %d of the GeometryCollection: %s", i+1, msg)
			}
		}
		return ""
	default:
		return fmt.Sprintf("unknown geometry type %q", g.Type)
	}
	dims := 0
	for _, p := range positionsOf(g) {
		if dims == 0 {
			dims = len(p)
		}
		if len(p) != dims {
			return fmt.Sprintf("every position of a geometry needs the same number of coordinates: the first has %d, another %d", dims, len(p))
		}
	}
	return ""
}

func checkRings(rings [][]Position) string {
	if len(rings) == 0 {
		return "a Polygon needs at least one ring"
	}
	for i, r := range rings {
		if len(r) < 4 {
			return fmt.Sprintf("ring %d of the polygon needs at least 4 positions (the last repeating the first), found %d", i+1, len(r))
		}
		first, last := r[0], r[len(r)-1]
		for k := range first {
			if first[k] != last[k] {
				return fmt.Sprintf("ring %d of the polygon must end where it starts: it starts at %s and ends at %s", i+1, formatPosition(first), formatPosition(last))
			}
		}
	}
	return ""
}

// positionsOf lists every position of a non-collection geometry.
func positionsOf(g *GeometryLit) []Position {
	out := append([]Position(nil), g.Coordinates...)
	for _, r := range g.Rings {
		out = append(out, r...)
	}
	for _, p := range g.Polygons {
		for _, r := range p {
			out = append(out, r...)
		}
	}
	return out
}

// axes says how literal coordinates map to x (easting, longitude) and y.
type axes struct {
	swap       bool // coordinates are given lat, lon (EPSG:4326 as filter-crs)
	geographic bool // the literal CRS is longitude/latitude: ranges are checked, BBOX may cross ±180°
}

func (a axes) xy(p Position) (x, y float64) {
	if a.swap {
		return p[1], p[0]
	}
	return p[0], p[1]
}

// literalGeometry turns a geometry literal into a validated simplefeatures geometry in x, y
// order. Validation happens here, in Go, so that an invalid polygon is the caller's *Error and
// never a GEOS exception in the database.
func literalGeometry(e Expr, a axes) (geom.Geometry, *Error) {
	var g geom.Geometry
	switch e := e.(type) {
	case *BBoxLit:
		var err *Error
		if g, err = bboxGeometry(e, a); err != nil {
			return geom.Geometry{}, err
		}
	case *GeometryLit:
		if a.geographic {
			for _, p := range allPositions(e) {
				if x, y := a.xy(p); x < -180 || x > 180 || y < -90 || y > 90 {
					return geom.Geometry{}, errorf("the geometry %s has the position %s, which is not a longitude, latitude (longitude -180…180, latitude -90…90)", clip(Text(e)), formatPosition(p))
				}
			}
		}
		g = sfGeometry(e, a)
	}
	if err := g.Validate(); err != nil {
		return geom.Geometry{}, errorf("the geometry %s is not valid: %v", clip(Text(e)), err)
	}
	// The spatial functions are 2D; heights would only take part in datum shifts.
	return g.Force2D(), nil
}

func allPositions(g *GeometryLit) []Position {
	if g.Type != "GeometryCollection" {
		return positionsOf(g)
	}
	var out []Position
	for _, m := range g.Geometries {
		out = append(out, positionsOf(m)...)
	}
	return out
}

func sfGeometry(g *GeometryLit, a axes) geom.Geometry {
	switch g.Type {
	case "Point":
		return geom.NewPoint(coordinates(g.Coordinates[0], a)).AsGeometry()
	case "LineString":
		return geom.NewLineString(sequence(g.Coordinates, a)).AsGeometry()
	case "MultiPoint":
		pts := make([]geom.Point, len(g.Coordinates))
		for i, p := range g.Coordinates {
			pts[i] = geom.NewPoint(coordinates(p, a))
		}
		return geom.NewMultiPoint(pts).AsGeometry()
	case "Polygon":
		return polygon(g.Rings, a).AsGeometry()
	case "MultiLineString":
		return geom.NewMultiLineString(lines(g.Rings, a)).AsGeometry()
	case "MultiPolygon":
		polys := make([]geom.Polygon, len(g.Polygons))
		for i, rings := range g.Polygons {
			polys[i] = polygon(rings, a)
		}
		return geom.NewMultiPolygon(polys).AsGeometry()
	case "GeometryCollection":
		members := make([]geom.Geometry, len(g.Geometries))
		for i, m := range g.Geometries {
			members[i] = sfGeometry(m, a)
		}
		return geom.NewGeometryCollection(members).AsGeometry()
	}
	panic("cql2: unchecked geometry type " + g.Type)
}

func polygon(rings [][]Position, a axes) geom.Polygon { return geom.NewPolygon(lines(rings, a)) }

func lines(ls [][]Position, a axes) []geom.LineString {
	out := make([]geom.LineString, len(ls))
	for i, l := range ls {
		out[i] = geom.NewLineString(sequence(l, a))
	}
	return out
}

func coordinates(p Position, a axes) geom.Coordinates {
	x, y := a.xy(p)
	c := geom.Coordinates{XY: geom.XY{X: x, Y: y}, Type: geom.DimXY}
	if len(p) == 3 {
		c.Z, c.Type = p[2], geom.DimXYZ
	}
	return c
}

func sequence(ps []Position, a axes) geom.Sequence {
	dims := len(ps[0])
	flat := make([]float64, 0, dims*len(ps))
	for _, p := range ps {
		x, y := a.xy(p)
		flat = append(flat, x, y)
		if dims == 3 {
			flat = append(flat, p[2])
		}
	}
	ctype := geom.DimXY
	if dims == 3 {
		ctype = geom.DimXYZ
	}
	return geom.NewSequence(flat, ctype)
}

// bboxGeometry is the polygon of a BBOX (heights are dropped: the spatial functions are 2D).
// In longitude/latitude a west edge east of the east edge means the box crosses the
// antimeridian, and it becomes two polygons, one each side of ±180°.
func bboxGeometry(b *BBoxLit, a axes) (geom.Geometry, *Error) {
	c := b.Coords
	lo, hi := Position{c[0], c[1]}, Position{c[2], c[3]}
	if len(c) == 6 {
		lo, hi = Position{c[0], c[1]}, Position{c[3], c[4]}
	}
	w, s := a.xy(lo)
	e, n := a.xy(hi)
	if s > n {
		return geom.Geometry{}, errorf("%s: the south edge %s is north of the north edge %s", Text(b), formatCoord(s), formatCoord(n))
	}
	if a.geographic {
		if w < -180 || w > 180 || e < -180 || e > 180 || s < -90 || n > 90 {
			return geom.Geometry{}, errorf("%s is not in longitude, latitude: longitudes must be within -180…180 and latitudes within -90…90", Text(b))
		}
		if w > e {
			east, west := box(w, s, 180, n), box(-180, s, e, n)
			if p1, ok := east.AsPolygon(); ok {
				if p2, ok := west.AsPolygon(); ok {
					return geom.NewMultiPolygon([]geom.Polygon{p1, p2}).AsGeometry(), nil
				}
			}
			return geom.NewGeometryCollection([]geom.Geometry{east, west}).AsGeometry(), nil
		}
	} else if w > e {
		return geom.Geometry{}, errorf("%s: the west edge %s is east of the east edge %s", Text(b), formatCoord(w), formatCoord(e))
	}
	return box(w, s, e, n), nil
}

// box is the rectangle w, s, e, n; a box without width or height is the line or point it is
// (a polygon without area would not be valid).
func box(w, s, e, n float64) geom.Geometry {
	switch {
	case w == e && s == n:
		return geom.NewPointXY(w, s).AsGeometry()
	case w == e || s == n:
		return geom.NewLineStringXY(w, s, e, n).AsGeometry()
	}
	return geom.NewPolygonXY([]float64{w, s, e, s, e, n, w, n, w, s}).AsGeometry()
}
