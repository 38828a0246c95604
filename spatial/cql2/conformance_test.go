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
// in opengeospatial/ogcapi-features); testdata/ne110m/ holds its three layers as GeoJSON,
// written by ogr2ogr. HUB_CQL2_TEST_DATA may name the GeoPackage itself instead.
func collectionFile(layer string) (path string, opt ingest.OpenOptions) {
	if gpkg := os.Getenv("HUB_CQL2_TEST_DATA"); gpkg != "" {
		return gpkg, ingest.OpenOptions{Layer: layer}
	}
	return "testdata/ne110m/" + layer + ".geojson", ingest.OpenOptions{}
}

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
	ctx := context.Background()
	targets := map[string]cql2.Target{}
	for layer, id := range collections {
		path, opt := collectionFile(layer)
		src, err := ingest.Open(path, opt)
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

// corrections are the ATS rows whose expected count is wrong for the standard's own test data,
// with the count the data does give and why. They are still compared, with that count.
// Reported upstream as opengeospatial/ogcapi-features#1011 (open): the accent-insensitive
// LIKE table counts one feature too few for 'Ch%' and one too many for 'Chis%'.
var corrections = map[string]struct {
	count int64
	why   string
}{
	"ACCENTI(name) LIKE accenti('Ch%')": {3,
		"three names start with Ch: Chișinău, Chicago and Chengdu; the ATS says 2"},
	"ACCENTI(CASEI(name)) LIKE accenti(casei('Chiș%'))": {1,
		"only Chișinău starts with chis once accents and case are ignored; the ATS says 2"},
	"ACCENTI(CASEI(name)) LIKE accenti(casei('cHis%'))": {1,
		"only Chișinău starts with chis once accents and case are ignored; the ATS says 2"},
}

// TestConformance runs every filter of the abstract test suite against the real database and
// compares the number of features with the expected count.
func TestConformance(t *testing.T) {
	pool := testdb.Pool(t)
	targets := loadCollections(t, pool)
	ctx := context.Background()
	rows := readATS(t)
	asATS, corrected, byClass := 0, 0, map[string][2]int{}
	for _, c := range rows {
		tg, ok := targets[c.collection]
		if !ok {
			t.Errorf("line %d: unknown collection %s", c.line, c.collection)
			continue
		}
		want := c.count
		corr, isCorrected := corrections[c.filter]
		if isCorrected {
			want = corr.count
		}
		got, err := count(ctx, pool, c.collection, c.filter, tg)
		stats := byClass[c.class]
		stats[1]++
		switch {
		case err != nil:
			t.Errorf("line %d [%s] %s on %s: %v", c.line, c.class, c.filter, c.collection, err)
		case got != want:
			t.Errorf("line %d [%s] %s on %s: %d features, want %d", c.line, c.class, c.filter, c.collection, got, want)
		case isCorrected:
			t.Logf("line %d: %d features, not the ATS's %d: %s", c.line, got, c.count, corr.why)
			stats[0]++
			corrected++
		default:
			stats[0]++
			asATS++
		}
		byClass[c.class] = stats
	}
	for class, s := range byClass {
		t.Logf("%-32s %3d/%d", class, s[0], s[1])
	}
	t.Logf("%d of %d ATS filters give the ATS count, %d the corrected count", asATS, len(rows), corrected)
	if len(rows) != 274 {
		t.Errorf("ats-expected-counts.tsv has %d rows, want 274", len(rows))
	}
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
