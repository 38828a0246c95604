package cql2

// spatialFunctions maps the CQL2 spatial functions to PostGIS. Each is index-assisted in
// PostGIS (it adds a bounding-box test on the column's GiST index), which is why literals are
// transformed to the column's SRID and the column is never transformed.
var spatialFunctions = map[string]string{
	"S_INTERSECTS": "ST_Intersects", "S_EQUALS": "ST_Equals", "S_DISJOINT": "ST_Disjoint",
	"S_TOUCHES": "ST_Touches", "S_WITHIN": "ST_Within", "S_OVERLAPS": "ST_Overlaps",
	"S_CROSSES": "ST_Crosses", "S_CONTAINS": "ST_Contains",
}

func (c *compiler) spatial(e *SpatialPred) string {
	fn, ok := spatialFunctions[e.Op]
	if !ok {
		c.fail("unknown spatial function %s", e.Op)
	}
	args := [2]string{}
	for i, x := range []Expr{e.Left, e.Right} {
		v := c.value(x)
		if v.typ != Geometry {
			c.fail("%s needs two geometries, but %s is %s", e.Op, describe(x), v.typ.article())
		}
		args[i] = v.sql
	}
	return fn + "(" + args[0] + ", " + args[1] + ")"
}

// geometryLiteral validates a literal in Go and returns the SQL that makes it a geometry in
// the column's SRID: ST_GeomFromWKB of a WKB parameter in the literal's SRID, transformed when
// the column's differs.
func (c *compiler) geometryLiteral(e Expr) string {
	srid := c.t.LiteralSRID
	if srid == 0 {
		srid = 4326
	}
	g, err := literalGeometry(e, axes{swap: c.t.LiteralLatLon, geographic: srid == 4326})
	if err != nil {
		panic(err)
	}
	sql := "ST_GeomFromWKB(" + c.param(g.AsBinary(), "bytea") + ", " + itoa(srid) + ")"
	if storage := c.storageSRID(); storage != srid {
		sql = "ST_Transform(" + sql + ", " + itoa(storage) + ")"
	}
	return sql
}

func (c *compiler) storageSRID() int {
	if c.t.StorageSRID == 0 {
		return 4326
	}
	return c.t.StorageSRID
}
