package cql2_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/spatial/cql2"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The abstract test suite of CQL2 runs its filters against three Natural Earth 1:110m
// collections. The standard ships them as one GeoPackage (cql2/standard/data/ne110m4cql2.gpkg
// in opengeospatial/ogcapi-features; the JSON files beside it there are the collections'
// queryables, not their features). HUB_CQL2_TEST_DATA names that file; by default it is
// testdata/ne110m4cql2.gpkg.
const defaultTestData = "testdata/ne110m4cql2.gpkg"

// collections maps the suite's collection names to layer ids the importer accepts.
var collections = map[string]string{
	"ne_110m_admin_0_countries":       "ne-110m-admin-0-countries",
	"ne_110m_populated_places_simple": "ne-110m-populated-places-simple",
	"ne_110m_rivers_lake_centerlines": "ne-110m-rivers-lake-centerlines",
}

// atsCase is one row of ats-expected-counts.tsv.
type atsCase struct {
	line       int
	class      string
	collection string
	filter     string
	count      int64
}

func readATS(t *testing.T) []atsCase {
	t.Helper()
	f, err := os.Open("testdata/ats-expected-counts.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []atsCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			continue // header
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("ats-expected-counts.tsv:%d: %d columns, want 4", n, len(cols))
		}
		count, err := strconv.ParseInt(cols[3], 10, 64)
		if err != nil {
			t.Fatalf("ats-expected-counts.tsv:%d: count %q: %v", n, cols[3], err)
		}
		// The annexes are AsciiDoc, where "((" opens an index term, so they write "\((": the
		// backslash is AsciiDoc's escape, not part of the CQL2 filter.
		filter := strings.ReplaceAll(cols[2], `\(`, `(`)
		out = append(out, atsCase{line: n, class: cols[0], collection: cols[1], filter: filter, count: count})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadCollections imports the three collections with the hub's importer and returns the
// filter target of each, built from the layer registry as the feature API builds it.
func loadCollections(t *testing.T, pool *pgxpool.Pool) map[string]cql2.Target {
	t.Helper()
	path := os.Getenv("HUB_CQL2_TEST_DATA")
	if path == "" {
		path = defaultTestData
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the CQL2 test collections are missing: %v. Get ne110m4cql2.gpkg from the OGC repository "+
			"opengeospatial/ogcapi-features (cql2/standard/data/) and put it at %s or name it in HUB_CQL2_TEST_DATA", err, defaultTestData)
	}
	ctx := context.Background()
	targets := map[string]cql2.Target{}
	for layer, id := range collections {
		src, err := ingest.Open(path, ingest.OpenOptions{Layer: layer})
		if err != nil {
			t.Fatalf("open %s: %v", layer, err)
		}
		_, err = ingest.Import(ctx, pool, src, path, ingest.Options{Collection: id})
		src.Close()
		if err != nil {
			t.Fatalf("import %s: %v", layer, err)
		}
		l, err := layers.LoadOne(ctx, pool, id)
		if err != nil || l == nil {
			t.Fatalf("layer %s: %v", id, err)
		}
		tg := cql2.Target{
			Properties:  map[string]cql2.Property{},
			Geometry:    pgx.Identifier{l.GeomColumn}.Sanitize(),
			StorageSRID: l.SRID,
			Unaccent:    "hub_unaccent",
		}
		for _, f := range l.Fields {
			typ, ok := cql2.ParseType(f.Type)
			if !ok {
				t.Fatalf("layer %s: field %s has type %s, which filters cannot use", id, f.Name, f.Type)
			}
			tg.Properties[f.Name] = cql2.Property{Column: pgx.Identifier{f.Name}.Sanitize(), Type: typ}
		}
		targets[layer] = tg
	}
	return targets
}

// knownFailures are ATS rows that cannot pass on this data, by line of the TSV, with why.
// Keep it short and explained: a row listed here that passes fails the test.
var knownFailures = map[int]string{}

// TestConformance runs every filter of the abstract test suite against the real database and
// compares the number of features with the expected count.
func TestConformance(t *testing.T) {
	pool := testdb.Pool(t)
	targets := loadCollections(t, pool)
	ctx := context.Background()
	passed, byClass := 0, map[string][2]int{}
	for _, c := range readATS(t) {
		tg, ok := targets[c.collection]
		if !ok {
			t.Errorf("line %d: unknown collection %s", c.line, c.collection)
			continue
		}
		got, err := count(ctx, pool, c.collection, c.filter, tg)
		ok = err == nil && got == c.count
		stats := byClass[c.class]
		stats[1]++
		if ok {
			stats[0]++
			passed++
		}
		byClass[c.class] = stats
		why, known := knownFailures[c.line]
		switch {
		case ok && known:
			t.Errorf("line %d (%s) passes now: remove it from knownFailures (%s)", c.line, c.filter, why)
		case !ok && known:
			t.Logf("line %d: known failure: %s", c.line, why)
		case err != nil:
			t.Errorf("line %d [%s] %s on %s: %v", c.line, c.class, c.filter, c.collection, err)
		case !ok:
			t.Errorf("line %d [%s] %s on %s: %d features, want %d", c.line, c.class, c.filter, c.collection, got, c.count)
		}
	}
	for class, s := range byClass {
		t.Logf("%-32s %3d/%d", class, s[0], s[1])
	}
	t.Logf("%d ATS filters give the expected count", passed)
}

func count(ctx context.Context, pool *pgxpool.Pool, collection, filter string, tg cql2.Target) (int64, error) {
	e, err := cql2.ParseText(filter)
	if err != nil {
		return 0, err
	}
	where, args, err := cql2.SQL(e, tg, 1)
	if err != nil {
		return 0, err
	}
	var n int64
	err = pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{"data", collection}.Sanitize()+" WHERE "+where, args...).Scan(&n)
	return n, err
}
