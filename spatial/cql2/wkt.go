package cql2

import "strings"

// geometryTypes maps the WKT keywords to GeoJSON type names (GeometryLit.Type).
var geometryTypes = map[string]string{
	"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
	"MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon",
	"GEOMETRYCOLLECTION": "GeometryCollection",
}

// wktNames maps GeoJSON type names back to WKT keywords.
var wktNames = func() map[string]string {
	m := map[string]string{}
	for k, v := range geometryTypes {
		m[v] = k
	}
	return m
}()

// wktReader reads the coordinates of one geometry and keeps every position to the same
// number of coordinates: 3 when the keyword says Z, else as many as the first position has.
type wktReader struct {
	p    *textParser
	name string // the WKT keyword, for messages
	dims int    // 0 until the first position
	z    bool   // Z was given
}

// geometry reads the WKT geometry whose keyword kw has just been read. inCollection is set
// for the members of a GEOMETRYCOLLECTION, z when that collection said Z.
func (p *textParser) geometry(kw token, inCollection, z bool) *GeometryLit {
	name := strings.ToUpper(kw.text)
	r := &wktReader{p: p, name: name}
	if z {
		r.dims, r.z = 3, true
	}
	switch {
	case p.isKeyword("Z"):
		p.next()
		r.dims, r.z = 3, true
	case p.isKeyword("M"), p.isKeyword("ZM"):
		t := p.peek()
		p.fail(t, "expected '(' or Z after %s, found %s: CQL2 geometries have no M coordinates", name, p.describe(t))
	case p.isKeyword("EMPTY"):
		p.fail(p.peek(), "expected '(' after %s, found EMPTY: empty geometries are not supported", name)
	}
	g := &GeometryLit{Type: geometryTypes[name]}
	switch g.Type {
	case "Point":
		open := p.expectPunct("(", "after "+name)
		g.Coordinates = []Position{r.position()}
		p.expectClose(open, name)
	case "LineString":
		g.Coordinates = r.positions()
	case "Polygon", "MultiLineString":
		g.Rings = r.lists()
	case "MultiPoint":
		open := p.expectPunct("(", "after "+name)
		for {
			if p.isPunct("(") {
				o := p.next()
				g.Coordinates = append(g.Coordinates, r.position())
				p.expectClose(o, "the point")
			} else {
				g.Coordinates = append(g.Coordinates, r.position())
			}
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
		p.expectClose(open, name)
	case "MultiPolygon":
		open := p.expectPunct("(", "after "+name)
		for {
			g.Polygons = append(g.Polygons, r.lists())
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
		p.expectClose(open, name)
	case "GeometryCollection":
		if inCollection {
			p.failAt(kw.off, "a GEOMETRYCOLLECTION cannot contain another GEOMETRYCOLLECTION")
		}
		open := p.expectPunct("(", "after "+name)
		for {
			t := p.next()
			up := strings.ToUpper(t.text)
			if t.kind != tIdent || geometryTypes[up] == "" {
				p.fail(t, "expected a geometry (POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING or MULTIPOLYGON) in GEOMETRYCOLLECTION, found %s", p.describe(t))
			}
			g.Geometries = append(g.Geometries, p.geometry(t, true, r.z))
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
		p.expectClose(open, name)
	}
	if msg := checkGeometry(g); msg != "" {
		p.failAt(kw.off, "%s", msg)
	}
	return g
}

// position reads "x y" or "x y z".
func (r *wktReader) position() Position {
	p := r.p
	start := p.peek()
	pos := Position{p.signedNumber("a coordinate"), p.signedNumber("a coordinate")}
	if t := p.peek(); t.kind == tNumber || p.isPunct("-") || p.isPunct("+") {
		pos = append(pos, p.signedNumber("a coordinate"))
	}
	if t := p.peek(); t.kind == tNumber || p.isPunct("-") || p.isPunct("+") {
		p.fail(t, "expected ',' or ')' after the coordinates of a position, found %s: a position has 2 or 3 coordinates (M is not supported)", p.describe(t))
	}
	switch {
	case r.dims == 0:
		r.dims = len(pos)
	case r.dims != len(pos) && r.z:
		p.fail(start, "expected 3 coordinates in every position of %s Z, found %d", r.name, len(pos))
	case r.dims != len(pos):
		p.fail(start, "expected %d coordinates like the first position of this %s, found %d", r.dims, r.name, len(pos))
	}
	return pos
}

// positions reads "(x y, x y, …)".
func (r *wktReader) positions() []Position {
	open := r.p.expectPunct("(", "to open the coordinates of "+r.name)
	var out []Position
	for {
		out = append(out, r.position())
		if !r.p.isPunct(",") {
			break
		}
		r.p.next()
	}
	r.p.expectClose(open, "the coordinates")
	return out
}

// lists reads "((x y, …), (x y, …))": a polygon's rings or a MULTILINESTRING's lines.
func (r *wktReader) lists() [][]Position {
	open := r.p.expectPunct("(", "to open the rings or lines of "+r.name)
	var out [][]Position
	for {
		out = append(out, r.positions())
		if !r.p.isPunct(",") {
			break
		}
		r.p.next()
	}
	r.p.expectClose(open, "the rings or lines")
	return out
}
