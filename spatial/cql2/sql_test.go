package cql2_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/peterstace/simplefeatures/geom"

	"github.com/haiduong/hub/spatial/cql2"
)

// parcels is a target like a VN-2000 layer of the hub.
var parcels = cql2.Target{
	Properties: map[string]cql2.Property{
		"name":   {Column: `"name"`, Type: cql2.String},
		"pop":    {Column: `"pop"`, Type: cql2.Integer},
		"area":   {Column: `t."area"`, Type: cql2.Number},
		"ok":     {Column: `"ok"`, Type: cql2.Boolean},
		"day":    {Column: `"day"`, Type: cql2.Date},
		"at":     {Column: `"at"`, Type: cql2.Timestamp},
		"end":    {Column: `"end"`, Type: cql2.Timestamp},
		"ma_xa":  {Column: `"ma_xa"`, Type: cql2.String},
		"we\"rd": {Column: `"we""rd"`, Type: cql2.String},
	},
	Geometry:    `"geom"`,
	StorageSRID: 9209,
	Unaccent:    "hub_unaccent",
}

func compile(t *testing.T, src string, tg cql2.Target, first int) (string, []any, error) {
	t.Helper()
	e, err := cql2.ParseText(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return cql2.SQL(e, tg, first)
}

func TestSQL(t *testing.T) {
	day := time.Date(2022, 4, 16, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2022, 4, 16, 10, 13, 19, 0, time.UTC)
	for _, c := range []struct {
		src  string
		sql  string
		args []any
	}{
		{`name = 'Hải Dương'`, `("name" = $3::text)`, []any{"Hải Dương"}},
		{`pop >= 1000 AND area < 2.5 OR ok = TRUE`,
			`((("pop" >= $3::bigint) AND (t."area" < $4::double precision)) OR ("ok" = $5::boolean))`, []any{int64(1000), 2.5, true}},
		{`NOT (name LIKE 'Th_nh%')`, `(NOT ("name" LIKE $3::text ESCAPE E'\\'))`, []any{"Th_nh%"}},
		{`name NOT IN ('a', 'b')`, `(NOT ("name" IN ($3::text, $4::text)))`, []any{"a", "b"}},
		{`pop NOT BETWEEN 1 AND 2`, `(NOT ("pop" BETWEEN $3::bigint AND $4::bigint))`, []any{int64(1), int64(2)}},
		{`name IS NOT NULL`, `(NOT ("name" IS NULL))`, nil},
		{`CASEI(name) = casei('KIEV')`, `(lower("name") = lower($3::text))`, []any{"KIEV"}},
		{`ACCENTI(CASEI(name)) LIKE accenti(casei('Chiș%'))`, `(hub_unaccent(lower("name")) LIKE hub_unaccent(lower($3::text)) ESCAPE E'\\')`, []any{"Chiș%"}},
		{`pop = 1 + 2 * 3`, `("pop" = ($3::bigint + ($4::bigint * $5::bigint)))`, []any{int64(1), int64(2), int64(3)}},
		{`area > pop / 4 - pop div 3 + pop % 2 ^ 2`,
			`(t."area" > (((("pop")::double precision / NULLIF($3::bigint, 0)) - ("pop" / NULLIF($4::bigint, 0))) + mod(("pop")::numeric, NULLIF((power(($5::bigint)::double precision, ($6::bigint)::double precision))::numeric, 0))))`,
			[]any{int64(4), int64(3), int64(2), int64(2)}},
		{`pop = -pop`, `("pop" = ($3::bigint * "pop"))`, []any{int64(-1)}},
		{`"day" = DATE('2022-04-16')`, `("day" = $3::date)`, []any{day}},
		{`at < TIMESTAMP('2022-04-16T10:13:19Z')`, `("at" < $3::timestamptz)`, []any{ts}},
		{`T_AFTER(at, TIMESTAMP('2022-04-16T10:13:19Z'))`, `("at" > $3::timestamptz)`, []any{ts}},
		{`T_INTERSECTS("day", INTERVAL('2022-04-16', '..'))`, `("day" <= 'infinity'::date AND "day" >= $3::date)`, []any{day}},
		{`T_BEFORE("day", INTERVAL('..', '2022-04-16T10:13:19Z'))`, `((("day" + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 microsecond') < '-infinity'::timestamptz)`, nil},
		{`T_DURING(INTERVAL(at, "end"), INTERVAL('2022-01-01T00:00:00Z', '2022-12-31T23:59:59Z'))`,
			`(CASE WHEN ("at") IS NULL OR ("end") IS NULL THEN NULL ELSE ("at" > $3::timestamptz AND "end" < $4::timestamptz) END)`,
			[]any{time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{`A_CONTAINS(('a', 'b'), ('a'))`, `(ARRAY[$3::text, $4::text]::text[] @> ARRAY[$5::text]::text[])`, []any{"a", "b", "a"}},
		{`"we""rd" = 'x'`, `("we""rd" = $3::text)`, []any{"x"}},
	} {
		sql, args, err := compile(t, c.src, parcels, 3)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if sql != c.sql || !reflect.DeepEqual(args, c.args) {
			t.Errorf("%s:\n got  %s %v\n want %s %v", c.src, sql, args, c.sql, c.args)
		}
	}
}

// Literals are transformed to the column's SRID, never the column (so its index is used), and
// validated and encoded in Go.
func TestSpatialSQL(t *testing.T) {
	sql, args, err := compile(t, `S_INTERSECTS(geom, POINT(106.3 20.9))`, parcels, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := `ST_Intersects("geom", ST_Transform(ST_GeomFromWKB($1::bytea, 4326), 9209))`; sql != want {
		t.Errorf("got %s, want %s", sql, want)
	}
	if g := wkbText(t, args[0]); g != "POINT(106.3 20.9)" {
		t.Errorf("literal = %s", g)
	}

	// EPSG:4326 as filter-crs: the literal is lat, lon.
	latLon := parcels
	latLon.LiteralLatLon = true
	_, args, err = compile(t, `S_WITHIN(geometry, BBOX(20.9, 106.3, 21.0, 106.4))`, latLon, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g := wkbText(t, args[0]); g != "POLYGON((106.3 20.9,106.4 20.9,106.4 21,106.3 21,106.3 20.9))" {
		t.Errorf("lat, lon bbox = %s", g)
	}

	// A literal in the column's own SRID is not transformed.
	native := parcels
	native.LiteralSRID = 9209
	sql, _, err = compile(t, `S_CONTAINS(geom, POINT(580000 2310000))`, native, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := `ST_Contains("geom", ST_GeomFromWKB($1::bytea, 9209))`; sql != want {
		t.Errorf("got %s, want %s", sql, want)
	}

	// A box across the antimeridian is two boxes.
	_, args, err = compile(t, `S_INTERSECTS(BBOX(150,-90,-150,90), geom)`, parcels, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g := wkbText(t, args[0]); g != "MULTIPOLYGON(((150 -90,180 -90,180 90,150 90,150 -90)),((-180 -90,-150 -90,-150 90,-180 90,-180 -90)))" {
		t.Errorf("antimeridian bbox = %s", g)
	}

	// Heights are dropped (the spatial functions are 2D), in geometries and in 6-number boxes;
	// a box without height is a line.
	for src, want := range map[string]string{
		`S_WITHIN(POLYGON Z((0 0 5, 1 0 5, 1 1 5, 0 0 5)), geom)`: "POLYGON((0 0,1 0,1 1,0 0))",
		`S_WITHIN(geom, BBOX(0, 1, -100, 2, 3, 100))`:             "POLYGON((0 1,2 1,2 3,0 3,0 1))",
		`S_INTERSECTS(geom, BBOX(0, 1, 2, 1))`:                    "LINESTRING(0 1,2 1)",
	} {
		_, args, err = compile(t, src, parcels, 1)
		if err != nil {
			t.Fatal(err)
		}
		if g := wkbText(t, args[0]); g != want {
			t.Errorf("%s: literal %s, want %s", src, g, want)
		}
	}

	// GeoJSON in CQL2 JSON gives the same WKB.
	e, err := cql2.ParseJSON([]byte(`{"op":"s_intersects","args":[{"property":"geom"},{"type":"Point","coordinates":[106.3,20.9]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, args, err = cql2.SQL(e, parcels, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g := wkbText(t, args[0]); g != "POINT(106.3 20.9)" {
		t.Errorf("GeoJSON literal = %s", g)
	}
}

func wkbText(t *testing.T, arg any) string {
	t.Helper()
	b, ok := arg.([]byte)
	if !ok {
		t.Fatalf("argument %T, want WKB bytes", arg)
	}
	g, err := geom.UnmarshalWKB(b)
	if err != nil {
		t.Fatal(err)
	}
	return g.AsText()
}

// Caller mistakes are *Error, with a message that names the problem.
func TestSQLErrors(t *testing.T) {
	noAccent := parcels
	noAccent.Unaccent = ""
	for _, c := range []struct {
		src string
		tg  cql2.Target
		msg string
	}{
		{`nmae = 'x'`, parcels, `unknown property "nmae"; the queryables are: area, at, day, end, geom, geometry, ma_xa, name, ok, pop, we"rd`},
		{`NAME = 'x'`, parcels, `unknown property "NAME"`},
		{`"day" = 5`, parcels, `cannot compare day, which is a date, with 5, which is an integer`},
		{`"day" = '2022-04-16'`, parcels, `(write a date as DATE('2022-04-16'))`},
		{`at = DATE('2022-04-16')`, parcels, "a date and a timestamp are different types"},
		{`name > 5`, parcels, `cannot compare name, which is a string, with 5, which is an integer`},
		{`pop IN (1, 'two')`, parcels, `cannot compare pop, which is an integer, with 'two', which is a string`},
		{`geom = POINT(1 2)`, parcels, "compare geometries with S_EQUALS"},
		{`name LIKE 5`, parcels, "the pattern of LIKE must be a string, but 5 is an integer"},
		{`pop LIKE 'x%'`, parcels, "LIKE needs a string on its left, but pop is an integer"},
		{`name + 1 = 2`, parcels, "arithmetic needs numbers, but in name + 1, name is a string"},
		{`CASEI(pop) = 'x'`, parcels, "CASEI needs a string, but pop is an integer"},
		{`ACCENTI(name) = 'x'`, noAccent, "ACCENTI is not supported here"},
		{`avg(pop) > 5`, parcels, "the function avg is not supported"},
		{`avg(pop)`, parcels, "the function avg is not supported"},
		{`S_INTERSECTS(geom, name)`, parcels, "S_INTERSECTS needs two geometries, but name is a string"},
		{`S_INTERSECTS(geom, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))`, parcels, "is not valid: "},
		{`S_INTERSECTS(geom, POINT(200 20))`, parcels, "which is not a longitude, latitude"},
		{`S_INTERSECTS(geom, BBOX(0, 50, 10, 40))`, parcels, "the south edge 50 is north of the north edge 40"},
		{`T_DURING("day", INTERVAL('2022-01-01', '2022-12-31'))`, parcels, `T_DURING compares intervals, but day is an instant`},
		{`T_AFTER(name, DATE('2022-01-01'))`, parcels, "T_AFTER needs dates, timestamps or intervals, but name is a string"},
		{`T_AFTER(INTERVAL(name, at), DATE('2022-01-01'))`, parcels, "but name is a string"},
		{`name = INTERVAL('2022-01-01', '..')`, parcels, "can only be an argument of a temporal function"},
		{`A_CONTAINS(name, ('a'))`, parcels, "A_CONTAINS needs two arrays, but name is a string"},
		{`A_EQUALS(('a', TRUE, 1.0, 8), ('a'))`, parcels, "the elements of its arrays must be of one type"},
		{`name = ('a', 'b')`, parcels, "can only be an argument of A_EQUALS"},
		{`name = 'x' -- 'comment'`, parcels, "arithmetic needs numbers, but in -1 * 'comment', 'comment' is a string"},
	} {
		_, _, err := compile(t, c.src, c.tg, 1)
		checkError(t, c.src, err, c.msg)
	}
	// Only CQL2 JSON can end a string with a backslash (text reads \' as a quote).
	e, err := cql2.ParseJSON([]byte(`{"op":"like","args":[{"property":"name"},"abc\\"]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cql2.SQL(e, parcels, 1)
	checkError(t, "LIKE 'abc\\'", err, `the LIKE pattern 'abc\' ends with the escape character \`)
}

func checkError(t *testing.T, src string, err error, msg string) {
	t.Helper()
	var ce *cql2.Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: got %v, want a *cql2.Error", src, err)
		return
	}
	if !strings.Contains(ce.Msg, msg) {
		t.Errorf("%s:\n got  %s\n want …%s…", src, ce.Msg, msg)
	}
}
