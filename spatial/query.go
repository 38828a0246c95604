package spatial

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
)

// itemsQuery is one request for features, turned into one SQL statement.
type itemsQuery struct {
	layer     *layers.Layer
	view      *policy.View   // how the caller reads layer: every statement selects from it
	policy    *policy.Policy // how it reads the collections links lead to
	fields    []layers.Field // returned properties, in order
	crs       CRS
	noGeom    bool
	sort      []sortKey
	limit     int
	cursor    *cursor
	where     []string
	args      []any
	featureID *int64
	key       *string // a record's natural key (/items/{key} of a record collection)
	csv       bool    // rows as arrays of cell texts for CSV instead of Features
	base      string  // the caller's base URL, for the items' links
	// lookup finds the collections the items link to (the registry).
	lookup func(id string) (*layers.Layer, bool)
	// links are the views at the other end of the collection's links (linkViews).
	links []*policy.View
	// encodedLinks memoises linksJSON within the request.
	encodedLinks map[string][]byte
}

func (q *itemsQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func col(name string) string { return "t." + pgx.Identifier{name}.Sanitize() }

// castOf is the SQL type a field's values are cast back to from a cursor or a parameter.
func castOf(f layers.Field) string { return layers.SQLType(f.Type) }

// outputGeometry is the SQL of an item's geometry in the requested CRS and the decimals to
// print; ok is false when items carry no geometry. Stored coordinates are printed in full
// when no transformation is needed, so that a parcel requested in its storage CRS comes back
// exactly as it was imported.
func (q *itemsQuery) outputGeometry() (g string, digits int, ok bool) {
	if q.noGeom || q.layer.IsRecord() {
		return "", 0, false
	}
	g = "t." + pgx.Identifier{q.layer.GeomColumn}.Sanitize()
	digits = 15
	if q.crs.SRID != q.layer.SRID {
		g = fmt.Sprintf("ST_Transform(%s, %d)", g, q.crs.SRID)
		digits = 3
		if q.crs.Degrees {
			digits = 8
		}
	}
	if q.crs.LatLon {
		g = "ST_FlipCoordinates(" + g + ")"
	}
	return g, digits, true
}

// geometryJSON is the SQL for a feature's geometry as GeoJSON.
func (q *itemsQuery) geometryJSON() string {
	g, digits, ok := q.outputGeometry()
	if !ok {
		return "NULL::json"
	}
	return fmt.Sprintf("ST_AsGeoJSON(%s, %d, 0)::json", g, digits)
}

// filterBBox keeps features that intersect b, using the layer's spatial index.
func (q *itemsQuery) filterBBox(b *bbox) {
	env := fmt.Sprintf("ST_MakeEnvelope(%s, %s, %s, %s, %d)", q.arg(b.minx), q.arg(b.miny), q.arg(b.maxx), q.arg(b.maxy), b.crs.SRID)
	if b.crs.SRID != q.layer.SRID {
		// Densify before transforming, so that the box's edges stay where they were.
		env = fmt.Sprintf("ST_Transform(ST_Segmentize(%s, %s), %d)", env, q.arg(segment(b)), q.layer.SRID)
	}
	g := "t." + pgx.Identifier{q.layer.GeomColumn}.Sanitize()
	q.where = append(q.where, fmt.Sprintf("ST_Intersects(%s, %s)", g, env))
}

func segment(b *bbox) float64 {
	return max(b.maxx-b.minx, b.maxy-b.miny) / 16
}

func (q *itemsQuery) filterTime(iv *interval) {
	c := col(q.layer.Temporal)
	if iv.start != nil {
		q.where = append(q.where, fmt.Sprintf("%s >= %s::timestamptz", c, q.arg(*iv.start)))
	}
	if iv.end != nil {
		q.where = append(q.where, fmt.Sprintf("%s <= %s::timestamptz", c, q.arg(*iv.end)))
	}
}

// sortSignature names the order a cursor belongs to.
func (q *itemsQuery) sortSignature() string {
	var b strings.Builder
	for _, k := range q.sort {
		if k.desc {
			b.WriteByte('-')
		}
		b.WriteString(k.field.Name)
		b.WriteByte(',')
	}
	return b.String()
}

// after is the keyset condition "comes after the cursor row" in the order of q.sort, then fid.
// NULLs sort last in both directions, as the ORDER BY says.
func (q *itemsQuery) after(c *cursor, back bool) string {
	fidOp := ">"
	if back {
		fidOp = "<"
	}
	cond := fmt.Sprintf("t.fid %s %s", fidOp, q.arg(c.FID))
	for i := len(q.sort) - 1; i >= 0; i-- {
		k := q.sort[i]
		x := col(k.field.Name)
		if string(c.Values[i]) == "null" {
			if back {
				// Before a NULL come the non-NULLs and the NULLs before it.
				cond = fmt.Sprintf("(%s IS NOT NULL OR (%s IS NULL AND %s))", x, x, cond)
			} else {
				cond = fmt.Sprintf("(%s IS NULL AND %s)", x, cond)
			}
			continue
		}
		v := fmt.Sprintf("(%s::jsonb #>> '{}')::%s", q.arg(string(c.Values[i])), castOf(k.field))
		op := ">"
		if k.desc != back {
			op = "<"
		}
		nulls := ""
		if !back {
			nulls = " OR " + x + " IS NULL"
		}
		cond = fmt.Sprintf("(%s %s %s%s OR (%s = %s AND %s))", x, op, v, nulls, x, v, cond)
	}
	return cond
}

func (q *itemsQuery) orderBy(back bool) string {
	var parts []string
	for _, k := range q.sort {
		dir := "ASC"
		if k.desc != back {
			dir = "DESC"
		}
		nulls := "NULLS LAST"
		if back {
			nulls = "NULLS FIRST"
		}
		parts = append(parts, col(k.field.Name)+" "+dir+" "+nulls)
	}
	if back {
		parts = append(parts, "t.fid DESC")
	} else {
		parts = append(parts, "t.fid ASC")
	}
	return strings.Join(parts, ", ")
}

// sql is the statement: one row per feature, the Feature JSON built by PostGIS and the
// sort values of the row for the next cursor. It fetches one row more than the page to know
// whether there is a next page.
func (q *itemsQuery) sql() (string, []any) {
	saved := q.args
	q.args = slices.Clone(q.args)
	defer func() { q.args = saved }()
	back := q.cursor != nil && q.cursor.Back
	where := slices.Clone(q.where)
	if q.cursor != nil {
		where = append(where, q.after(q.cursor, back))
	}
	if q.featureID != nil {
		where = append(where, "t.fid = "+q.arg(*q.featureID))
	}
	if q.key != nil {
		f, _ := q.layer.Field(q.layer.KeyField)
		where = append(where, fmt.Sprintf("%s = %s::%s", col(f.Name), q.arg(*q.key), castOf(f)))
	}
	keys := []string{}
	for _, k := range q.sort {
		keys = append(keys, col(k.field.Name))
	}
	keys = append(keys, "t.fid")
	sql := fmt.Sprintf(`SELECT %s AS feature,
       json_build_array(%s)::text AS keyset, '0' AS n, %s AS links
FROM %s`, q.rowJSON(), strings.Join(keys, ", "), q.linkData(), q.from())
	if len(where) > 0 {
		sql += "\nWHERE " + strings.Join(where, "\n  AND ")
	}
	sql += "\nORDER BY " + q.orderBy(back) + "\nLIMIT " + q.arg(q.limit+1)
	if back {
		// Read backwards from the cursor, then put the page in its forward order again; the
		// row count tells whether the first row is the extra one (there is a page before).
		sql = "SELECT feature, keyset, (count(*) OVER ())::text, links FROM (SELECT feature, keyset, links, row_number() OVER () AS k FROM (" + sql + ") p) page ORDER BY k DESC"
	}
	return sql, q.args
}

// from is the collection as the caller reads it, as t.
func (q *itemsQuery) from() string {
	return q.view.From("t", q.arg, q.layer.GeomColumn)
}

// idSQL is an item's id: a record collection's natural key (masked when the caller sees it
// masked), else the feature id.
func (q *itemsQuery) idSQL() string {
	if _, ok := q.view.Column(q.layer.KeyField); ok {
		return col(q.layer.KeyField)
	}
	return "t.fid"
}

// rowJSON is the SQL of one item as text: the GeoJSON Feature PostGIS builds or, for CSV, a
// JSON array of the cells (id, the fields, the geometry as WKT).
func (q *itemsQuery) rowJSON() string {
	if q.csv {
		cells := []string{q.idSQL() + "::text"}
		for _, f := range q.fields {
			cells = append(cells, col(f.Name)+"::text")
		}
		if g := q.geometryWKT(); g != "" {
			cells = append(cells, g)
		}
		return "json_build_array(" + strings.Join(cells, ", ") + ")::text"
	}
	return fmt.Sprintf("json_build_object('type', 'Feature', 'id', %s, 'geometry', %s, 'properties', %s)::text",
		q.idSQL(), q.geometryJSON(), q.propertiesJSON())
}

// propertiesJSON is the SQL of an item's properties: the returned fields as the caller sees them.
func (q *itemsQuery) propertiesJSON() string {
	if len(q.fields) == 0 {
		return "'{}'::json"
	}
	props := make([]string, len(q.fields))
	for i, f := range q.fields {
		props[i] = col(f.Name) + " AS " + pgx.Identifier{f.Name}.Sanitize()
	}
	return "(SELECT row_to_json(r) FROM (SELECT " + strings.Join(props, ", ") + ") r)"
}

// geometryWKT is the geometry as WKT for CSV, "" when items carry none.
func (q *itemsQuery) geometryWKT() string {
	g, digits, ok := q.outputGeometry()
	if !ok {
		return ""
	}
	return fmt.Sprintf("ST_AsText(%s, %d)", g, digits)
}

// countSQL counts the features the filters select.
func (q *itemsQuery) countSQL() (string, []any) {
	saved := q.args
	q.args = slices.Clone(q.args)
	defer func() { q.args = saved }()
	sql := "SELECT count(*) FROM " + q.from()
	if len(q.where) > 0 {
		sql += " WHERE " + strings.Join(q.where, " AND ")
	}
	return sql, q.args
}

// BenchmarkQuery returns the statement and arguments the API runs for /items with the given
// query parameters, starting after feature afterFID (0 for the first page), as pol reads
// (policy.Open() for an anonymous caller): bench/ runs it straight through pgx to measure the
// API against the physical limit. reg resolves links.
func BenchmarkQuery(reg *layers.Registry, pol *policy.Policy, l *layers.Layer, params url.Values, afterFID int64) (string, []any, error) {
	q, err := (&Service{reg: reg}).parseItems(context.Background(), pol.View(l), pol, params)
	if err != nil {
		return "", nil, err
	}
	if afterFID > 0 {
		q.cursor = &cursor{FID: afterFID}
	}
	sql, args := q.sql()
	return sql, args, nil
}

// BenchmarkLookup returns the statement and arguments of /items/{key} on a record collection.
func BenchmarkLookup(reg *layers.Registry, pol *policy.Policy, l *layers.Layer, key string) (string, []any, error) {
	q, err := (&Service{reg: reg}).parseItems(context.Background(), pol.View(l), pol, url.Values{})
	if err != nil {
		return "", nil, err
	}
	q.key, q.limit = &key, 1
	sql, args := q.sql()
	return sql, args, nil
}

// CursorAfter is the cursor of the page that starts after feature fid in the default order.
func CursorAfter(fid int64) string { return cursor{FID: fid}.encode() }
