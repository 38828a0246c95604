package cql2_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/spatial/cql2"
)

// withArrays is parcels with two array properties, as the feature API builds them from json
// fields.
var withArrays = func() cql2.Target {
	t := parcels
	t.Properties = map[string]cql2.Property{}
	for k, v := range parcels.Properties {
		t.Properties[k] = v
	}
	t.Properties["tags"] = cql2.Property{Column: `t."tags"`, Type: cql2.Array}
	t.Properties["codes"] = cql2.Property{Column: `t."codes"`, Type: cql2.Array}
	return t
}()

func TestParseTypeJSON(t *testing.T) {
	if typ, ok := cql2.ParseType("json"); !ok || typ != cql2.Array {
		t.Errorf(`ParseType("json") = %v, %v; want array, true`, typ, ok)
	}
	if cql2.Array.String() != "array" {
		t.Errorf("Array.String() = %q", cql2.Array.String())
	}
}

func TestArraySQL(t *testing.T) {
	const (
		isArray = `jsonb_typeof(t."tags") = 'array'`
		both    = `jsonb_typeof(t."tags") = 'array' AND jsonb_typeof(t."codes") = 'array'`
	)
	for _, c := range []struct {
		src  string
		sql  string
		args []any
	}{
		{`A_EQUALS(tags, ('a', 'b'))`, `(CASE WHEN ` + isArray + ` THEN t."tags" = $1::jsonb END)`, []any{`["a","b"]`}},
		{`A_CONTAINS(tags, ('lúa', 'cá'))`, `(CASE WHEN ` + isArray + ` THEN t."tags" @> $1::jsonb END)`, []any{`["lúa","cá"]`}},
		{`A_CONTAINEDBY(tags, (1, 2.5, -3))`, `(CASE WHEN ` + isArray + ` THEN t."tags" <@ $1::jsonb END)`, []any{`[1,2.5,-3]`}},
		{`A_OVERLAPS(tags, ('a', '<b>'))`,
			`(CASE WHEN ` + isArray + ` THEN t."tags" @> ANY (ARRAY(SELECT jsonb_build_array(v) FROM jsonb_array_elements($1::jsonb) AS e(v))) END)`,
			[]any{`["a","<b>"]`}},
		// The literal first: the operands keep their order, except that A_OVERLAPS unnests the literal.
		{`A_CONTAINS(('a', 'b'), tags)`, `(CASE WHEN ` + isArray + ` THEN $1::jsonb @> t."tags" END)`, []any{`["a","b"]`}},
		{`A_OVERLAPS(('a'), tags)`,
			`(CASE WHEN ` + isArray + ` THEN t."tags" @> ANY (ARRAY(SELECT jsonb_build_array(v) FROM jsonb_array_elements($1::jsonb) AS e(v))) END)`,
			[]any{`["a"]`}},
		{`A_EQUALS(tags, ())`, `(CASE WHEN ` + isArray + ` THEN t."tags" = $1::jsonb END)`, []any{`[]`}},
		// Dates and timestamps are their ISO strings; timestamps in UTC.
		{`A_OVERLAPS("values", (TIMESTAMP('2012-08-10T05:30:00.000000Z'), DATE('2010-02-10'), FALSE))`,
			`(CASE WHEN jsonb_typeof(t."tags") = 'array' THEN t."tags" @> ANY (ARRAY(SELECT jsonb_build_array(v) FROM jsonb_array_elements($1::jsonb) AS e(v))) END)`,
			[]any{`["2012-08-10T05:30:00Z","2010-02-10",false]`}},
		{`A_CONTAINS(tags, (TIMESTAMP('2012-08-10T05:30:00.250Z')))`, `(CASE WHEN ` + isArray + ` THEN t."tags" @> $1::jsonb END)`, []any{`["2012-08-10T05:30:00.25Z"]`}},
		{`A_EQUALS(('a', TRUE, 1.0, 8), "values")`, `(CASE WHEN ` + isArray + ` THEN $1::jsonb = t."tags" END)`, []any{`["a",true,1,8]`}},
		// Two properties.
		{`A_CONTAINS(tags, codes)`, `(CASE WHEN ` + both + ` THEN t."tags" @> t."codes" END)`, nil},
		{`A_OVERLAPS(tags, codes)`,
			`(CASE WHEN ` + both + ` THEN t."tags" @> ANY (ARRAY(SELECT jsonb_build_array(v) FROM jsonb_array_elements(t."codes") AS e(v))) END)`, nil},
		{`A_EQUALS(tags, tags)`, `(CASE WHEN ` + isArray + ` THEN t."tags" = t."tags" END)`, nil},
		// Two literals, as before.
		{`A_OVERLAPS(('a', 'b'), ('b'))`, `(ARRAY[$1::text, $2::text]::text[] && ARRAY[$3::text]::text[])`, []any{"a", "b", "b"}},
		// IS NULL: JSON null is null.
		{`tags IS NULL`, `(NULLIF(t."tags", 'null'::jsonb) IS NULL)`, nil},
	} {
		tg := withArrays
		if strings.Contains(c.src, `"values"`) {
			tg.Properties = map[string]cql2.Property{"values": withArrays.Properties["tags"]}
		}
		sql, args, err := compile(t, c.src, tg, 1)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if sql != c.sql || !reflect.DeepEqual(args, c.args) {
			t.Errorf("%s:\n got  %s %#v\n want %s %#v", c.src, sql, args, c.sql, c.args)
		}
	}

	// CQL2 JSON gives the same SQL.
	e, err := cql2.ParseJSON([]byte(`{"op":"a_containedBy","args":[{"property":"tags"},["a",1,true,{"date":"2024-05-01"}]]}`))
	if err != nil {
		t.Fatal(err)
	}
	sql, args, err := cql2.SQL(e, withArrays, 4)
	if want := `(CASE WHEN ` + isArray + ` THEN t."tags" <@ $4::jsonb END)`; err != nil || sql != want || !reflect.DeepEqual(args, []any{`["a",1,true,"2024-05-01"]`}) {
		t.Errorf("JSON: %s %v %v, want %s", sql, args, err, want)
	}
}

// An array property can only be an argument of the array functions (or be tested for null).
func TestArrayErrors(t *testing.T) {
	for _, c := range []struct{ src, msg string }{
		{`tags = 'a'`, "cannot compare tags with 'a': compare arrays with A_EQUALS, A_CONTAINS, A_CONTAINEDBY or A_OVERLAPS"},
		{`tags = codes`, "cannot compare tags with codes: compare arrays with A_EQUALS"},
		{`tags <> ('a', 'b')`, "can only be an argument of A_EQUALS"},
		{`'a' IN (tags)`, "cannot compare 'a' with tags: compare arrays"},
		{`tags BETWEEN 1 AND 2`, "cannot compare tags with 1: compare arrays"},
		{`tags LIKE 'a%'`, "LIKE needs a string on its left, but tags is an array"},
		{`CASEI(tags) = 'a'`, "CASEI needs a string, but tags is an array"},
		{`ACCENTI(tags) = 'a'`, "ACCENTI needs a string, but tags is an array"},
		{`tags + 1 = 2`, "arithmetic needs numbers, but in tags + 1, tags is an array"},
		{`S_INTERSECTS(tags, geom)`, "S_INTERSECTS needs two geometries, but tags is an array"},
		{`T_AFTER(tags, DATE('2020-01-01'))`, "T_AFTER needs dates, timestamps or intervals, but tags is an array"},
		{`A_CONTAINS(tags, name)`, "A_CONTAINS needs two arrays, but name is a string"},
		{`A_CONTAINS(name, tags)`, "A_CONTAINS needs two arrays, but name is a string"},
		{`A_CONTAINS(tags, 'a')`, "A_CONTAINS needs two arrays, but 'a' is a string"},
		{`A_OVERLAPS(tags, pop + 1)`, "A_OVERLAPS needs two arrays, but pop + 1 is an integer"},
		{`A_EQUALS(tags, nope)`, `unknown property "nope"`},
		{`A_CONTAINS(tags, (name))`, "an array compared with an array property can hold only strings, numbers, booleans, dates and timestamps, written as literals; name is not one"},
		{`A_CONTAINS(tags, (1 + 2))`, "written as literals; 1 + 2 is not one"},
		{`A_CONTAINS(tags, (POINT(1 2)))`, "written as literals; POINT(1 2) is not one"},
		{`A_CONTAINS(tags, (('a', 'b'), 'c'))`, "A_CONTAINS: arrays of arrays are not supported (('a', 'b'))"},
		{`A_CONTAINS(('a'), (('a', 'b'), 'c'))`, "A_CONTAINS: arrays of arrays are not supported"},
		{`A_EQUALS(('a', TRUE), ('a'))`, "the elements of its arrays must be of one type"},
	} {
		_, _, err := compile(t, c.src, withArrays, 1)
		checkError(t, c.src, err, c.msg)
	}
	e, err := cql2.ParseJSON([]byte(`{"op":"a_contains","args":[{"property":"tags"},["a\u0000b"]]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cql2.SQL(e, withArrays, 1)
	checkError(t, "NUL in an array", err, "contains the character U+0000")
}

// arrayFeatures is a layer whose tags, nums and other properties are JSON arrays, or not:
// feature n (a property of its own) is the n-th of the list.
var arrayFeatures = []string{
	`"tags": ["a", "b"], "nums": [1, 2.5], "other": ["a"]`,
	`"tags": ["b", "c"], "nums": [2, 3], "other": ["b", "c"]`,
	`"tags": ["a"], "nums": [1.0], "other": ["a", "b"]`,
	`"tags": [], "nums": [], "other": []`,
	`"tags": null, "nums": null, "other": ["a"]`,
	``, // none of the three
	`"tags": {"a": 1}, "nums": {"n": 1}, "other": {"a": 1}`,
	`"tags": "a", "nums": 1, "other": "a"`,
	`"tags": ["a", "b", "c"], "nums": [3, 2, 1], "other": ["c", "b", "a"]`,
	`"tags": ["b", "a"], "nums": [2.5, 1], "other": ["a", "b"]`,
	`"tags": ["lúa", "cá"], "nums": [10], "other": null`,
	`"tags": ["a", 1, true, "2024-05-01", "2012-08-10T05:30:00Z"], "nums": [1, "1"], "other": ["a"]`,
}

// importArrays imports arrayFeatures with the hub's importer and returns its table and the
// filter target built from the registry as the feature API builds it.
func importArrays(t *testing.T, id string) (string, cql2.Target) {
	t.Helper()
	pool := testdb.Pool(t)
	ctx := context.Background()
	var fs []string
	for i, props := range arrayFeatures {
		if props != "" {
			props = ", " + props
		}
		fs = append(fs, fmt.Sprintf(`{"type": "Feature", "properties": {"n": %d%s}, "geometry": {"type": "Point", "coordinates": [106.3%d, 20.9]}}`, i+1, props, i))
	}
	path := filepath.Join(t.TempDir(), id+".geojson")
	if err := os.WriteFile(path, []byte(`{"type": "FeatureCollection", "features": [`+strings.Join(fs, ",\n")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.Open(path, ingest.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := ingest.Import(ctx, pool, src, path, ingest.Options{Collection: id}); err != nil {
		t.Fatal(err)
	}
	l, err := layers.LoadOne(ctx, pool, id)
	if err != nil || l == nil {
		t.Fatalf("layer %s: %v", id, err)
	}
	tg := cql2.Target{Properties: map[string]cql2.Property{}, Geometry: pgx.Identifier{l.GeomColumn}.Sanitize(), StorageSRID: l.SRID}
	for _, f := range l.Fields {
		typ, ok := cql2.ParseType(f.Type)
		if !ok {
			t.Fatalf("field %s has type %s, which filters cannot use", f.Name, f.Type)
		}
		tg.Properties[f.Name] = cql2.Property{Column: pgx.Identifier{f.Name}.Sanitize(), Type: typ}
	}
	for _, name := range []string{"tags", "nums", "other"} {
		if tg.Properties[name].Type != cql2.Array {
			t.Fatalf("%s is %v, want an array", name, tg.Properties[name].Type)
		}
	}
	return l.QualifiedTable(), tg
}

// The array functions against the real database: every function both ways, on strings,
// numbers, mixed arrays and two properties, with the features whose value is not an array
// (null, missing, an object, a string) selected by neither a function nor its negation.
func TestArrayFunctions(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	table, tg := importArrays(t, "cql2-arrays")
	// The standard's examples name the property "values".
	tg.Properties["values"] = tg.Properties["tags"]

	// The features each filter selects; the negation must select the other arrays.
	arrays := map[string][]int{
		"tags":  {1, 2, 3, 4, 9, 10, 11, 12},
		"nums":  {1, 2, 3, 4, 9, 10, 11, 12},
		"other": {1, 2, 3, 4, 5, 9, 10, 12},
	}
	for _, c := range []struct {
		filter string
		want   []int
		domain []int // the features where the filter is not null
	}{
		// Strings.
		{`A_CONTAINS(tags, ('a'))`, []int{1, 3, 9, 10, 12}, arrays["tags"]},
		{`A_CONTAINS(tags, ('a', 'b'))`, []int{1, 9, 10}, arrays["tags"]},
		{`A_CONTAINS(tags, ('b', 'a', 'a'))`, []int{1, 9, 10}, arrays["tags"]},
		{`A_CONTAINS(tags, ())`, arrays["tags"], arrays["tags"]},
		{`A_CONTAINS(('a', 'b'), tags)`, []int{1, 3, 4, 10}, arrays["tags"]},
		{`A_CONTAINEDBY(tags, ('a', 'b'))`, []int{1, 3, 4, 10}, arrays["tags"]},
		{`A_CONTAINEDBY(('a', 'b'), tags)`, []int{1, 9, 10}, arrays["tags"]},
		{`A_CONTAINEDBY(tags, ())`, []int{4}, arrays["tags"]},
		{`A_EQUALS(tags, ('a', 'b'))`, []int{1}, arrays["tags"]},
		{`A_EQUALS(('b', 'a'), tags)`, []int{10}, arrays["tags"]},
		{`A_EQUALS(tags, ())`, []int{4}, arrays["tags"]},
		{`A_OVERLAPS(tags, ('a', 'x'))`, []int{1, 3, 9, 10, 12}, arrays["tags"]},
		{`A_OVERLAPS(tags, ('c', 'x'))`, []int{2, 9}, arrays["tags"]},
		{`A_OVERLAPS(('c', 'x'), tags)`, []int{2, 9}, arrays["tags"]},
		{`A_OVERLAPS(tags, ())`, nil, arrays["tags"]},
		{`A_CONTAINS(tags, ('lúa', 'cá'))`, []int{11}, arrays["tags"]},
		{`A_OVERLAPS(tags, ('cá'))`, []int{11}, arrays["tags"]},
		{`A_CONTAINS(tags, ('lua'))`, nil, arrays["tags"]},
		// Mixed elements, dates and timestamps as strings; a string is not a number.
		{`A_CONTAINS(tags, (1, TRUE, 'a'))`, []int{12}, arrays["tags"]},
		{`A_CONTAINS(tags, ('1'))`, nil, arrays["tags"]},
		{`A_CONTAINS(tags, ('true'))`, nil, arrays["tags"]},
		{`A_CONTAINS(tags, (DATE('2024-05-01')))`, []int{12}, arrays["tags"]},
		{`A_CONTAINS(tags, (TIMESTAMP('2012-08-10T05:30:00Z')))`, []int{12}, arrays["tags"]},
		// The standard's examples 79 to 82.
		{`A_CONTAINEDBY("values", ('a', 'b', 'c'))`, []int{1, 2, 3, 4, 9, 10}, arrays["tags"]},
		{`A_CONTAINS("values", ('a', 'b', 'c'))`, []int{9}, arrays["tags"]},
		{`A_EQUALS(('a', TRUE, 1.0, 8), "values")`, nil, arrays["tags"]},
		{`A_OVERLAPS("values", (TIMESTAMP('2012-08-10T05:30:00.000000Z'), DATE('2010-02-10'), FALSE))`, []int{12}, arrays["tags"]},
		// Numbers compare by value: 1 = 1.0.
		{`A_CONTAINS(nums, (1))`, []int{1, 3, 9, 10, 12}, arrays["nums"]},
		{`A_CONTAINS(nums, (1.0))`, []int{1, 3, 9, 10, 12}, arrays["nums"]},
		{`A_CONTAINS(nums, (1, 2.5))`, []int{1, 10}, arrays["nums"]},
		{`A_CONTAINS(nums, ('1'))`, []int{12}, arrays["nums"]},
		{`A_EQUALS(nums, (1))`, []int{3}, arrays["nums"]},
		{`A_EQUALS(nums, (2.5, 1.0))`, []int{10}, arrays["nums"]},
		{`A_CONTAINEDBY(nums, (1, 2, 3))`, []int{2, 3, 4, 9}, arrays["nums"]},
		{`A_CONTAINEDBY((3), nums)`, []int{2, 9}, arrays["nums"]},
		{`A_OVERLAPS(nums, (2.5, 10))`, []int{1, 10, 11}, arrays["nums"]},
		{`A_OVERLAPS((2.50), nums)`, []int{1, 10}, arrays["nums"]},
		// Two properties; both must be arrays.
		{`A_CONTAINS(tags, other)`, []int{1, 2, 4, 9, 10, 12}, []int{1, 2, 3, 4, 9, 10, 12}},
		{`A_CONTAINEDBY(tags, other)`, []int{2, 3, 4, 9, 10}, []int{1, 2, 3, 4, 9, 10, 12}},
		{`A_EQUALS(tags, other)`, []int{2, 4}, []int{1, 2, 3, 4, 9, 10, 12}},
		{`A_OVERLAPS(tags, other)`, []int{1, 2, 3, 9, 10, 12}, []int{1, 2, 3, 4, 9, 10, 12}},
		{`A_OVERLAPS(other, tags)`, []int{1, 2, 3, 9, 10, 12}, []int{1, 2, 3, 4, 9, 10, 12}},
		{`A_EQUALS(tags, tags)`, arrays["tags"], arrays["tags"]},
		// Two literals.
		{`A_CONTAINS(('a', 'b'), ('a'))`, all(), all()},
		{`A_OVERLAPS(('a', 'b'), ('c'))`, nil, all()},
		// IS NULL is true for JSON null and for a missing value.
		{`tags IS NULL`, []int{5, 6}, all()},
		{`other IS NULL`, []int{6, 11}, all()},
	} {
		got, err := selected(ctx, pool, table, c.filter, tg)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: features %v, want %v", c.filter, got, c.want)
		}
		got, err = selected(ctx, pool, table, "NOT ("+c.filter+")", tg)
		if err != nil {
			t.Errorf("NOT %s: %v", c.filter, err)
			continue
		}
		if want := minus(c.domain, c.want); !reflect.DeepEqual(got, want) {
			t.Errorf("NOT (%s): features %v, want %v", c.filter, got, want)
		}
	}

	// CQL2 JSON runs the same.
	e, err := cql2.ParseJSON([]byte(`{"op":"a_overlaps","args":[["x",2.5],{"property":"nums"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := run(ctx, pool, table, e, tg); err != nil || !reflect.DeepEqual(got, []int{1, 10}) {
		t.Errorf("JSON a_overlaps: %v %v, want [1 10]", got, err)
	}
}

func all() []int { return []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} }

func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

func selected(ctx context.Context, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table, filter string, tg cql2.Target) ([]int, error) {
	e, err := cql2.ParseText(filter)
	if err != nil {
		return nil, err
	}
	return run(ctx, pool, table, e, tg)
}

func run(ctx context.Context, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table string, e cql2.Expr, tg cql2.Target) ([]int, error) {
	where, args, err := cql2.SQL(e, tg, 1)
	if err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, "SELECT n FROM "+table+" WHERE "+where+" ORDER BY n", args...)
	if err != nil {
		return nil, err
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if len(ns) == 0 {
		ns = nil
	}
	return ns, err
}
