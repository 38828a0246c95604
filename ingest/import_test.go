package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, pool *pgxpool.Pool, path string, opt ingest.Options) (*ingest.Report, error) {
	t.Helper()
	src, err := ingest.Open(path, ingest.OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return ingest.Import(context.Background(), pool, src, path, opt)
}

func mustLoad(t *testing.T, pool *pgxpool.Pool, path string, opt ingest.Options) *ingest.Report {
	t.Helper()
	rep, err := load(t, pool, path, opt)
	if err != nil {
		t.Fatalf("import %s: %v", filepath.Base(path), err)
	}
	return rep
}

func fc(features ...string) string {
	return `{"type": "FeatureCollection", "features": [` + strings.Join(features, ",\n") + `]}`
}

func point(lon, lat float64, props string) string {
	return fmt.Sprintf(`{"type": "Feature", "geometry": {"type": "Point", "coordinates": [%v, %v]}, "properties": %s}`, lon, lat, props)
}

func square(x, y, size float64, props string) string {
	return fmt.Sprintf(`{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[%[1]v, %[2]v], [%[3]v, %[2]v], [%[3]v, %[4]v], [%[1]v, %[4]v], [%[1]v, %[2]v]]]}, "properties": %[5]s}`,
		x, y, x+size, y+size, props)
}

// state is what a user would compare before and after a refused import.
func state(t *testing.T, pool *pgxpool.Pool, layer string) string {
	t.Helper()
	var version, n int64
	var sum string
	err := pool.QueryRow(context.Background(), `SELECT data_version, feature_count FROM layers WHERE id = $1`, layer).Scan(&version, &n)
	if err != nil {
		t.Fatal(err)
	}
	l, err := layers.LoadOne(context.Background(), pool, layer)
	if err != nil || l == nil {
		t.Fatal(err)
	}
	err = pool.QueryRow(context.Background(), `SELECT md5(string_agg(t::text, '|' ORDER BY fid)) FROM `+l.QualifiedTable()+` t`).Scan(&sum)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("version %d, %d features, rows %s", version, n, sum)
}

func TestModes(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	first := write(t, "communes.geojson", fc(
		point(106.33, 20.94, `{"code": "10507", "name": "Phường Cẩm Thượng", "pop": 12000}`),
		point(106.31, 20.93, `{"code": "10510", "name": "Phường Bình Hàn", "pop": 15000}`),
		point(106.35, 20.95, `{"code": "10513", "name": "Phường Ngọc Châu", "pop": null}`)))
	rep := mustLoad(t, pool, first, ingest.Options{Collection: "places"})
	if rep.Features != 3 || rep.Inserted != 3 || rep.Total != 3 || rep.DataVersion != 1 || rep.GeometryType != "Point" {
		t.Errorf("replace: %+v", rep)
	}
	if rep.Nulls["pop"] != 1 || !strings.HasPrefix(rep.Checksum, "sha256:") || rep.CRS != "EPSG:4326" {
		t.Errorf("report: nulls %v checksum %q crs %s", rep.Nulls, rep.Checksum, rep.CRS)
	}
	var codeType, popType string
	_ = pool.QueryRow(ctx, `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = 'data.places'::regclass AND a.attname = 'code'`).Scan(&codeType)
	_ = pool.QueryRow(ctx, `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = 'data.places'::regclass AND a.attname = 'pop'`).Scan(&popType)
	if codeType != "text" || popType != "bigint" {
		t.Errorf("column types: code %s (want text: codes keep their leading digits), pop %s (want bigint)", codeType, popType)
	}

	more := write(t, "more.geojson", fc(
		point(106.40, 20.90, `{"code": "10516", "name": "Phường Hải Tân", "pop": 9000}`),
		point(106.41, 20.91, `{"code": "10519", "name": "Phường Lê Thanh Nghị", "pop": 8000}`)))
	rep = mustLoad(t, pool, more, ingest.Options{Collection: "places", Mode: "append"})
	if rep.Inserted != 2 || rep.Total != 5 || rep.DataVersion != 2 {
		t.Errorf("append: %+v", rep)
	}

	upd := write(t, "upd.geojson", fc(
		point(106.33, 20.94, `{"code": "10507", "name": "Phường Cẩm Thượng (mới)", "pop": 12500}`),
		point(106.50, 20.80, `{"code": "10522", "name": "Phường Tân Bình", "pop": 7000}`)))
	rep = mustLoad(t, pool, upd, ingest.Options{Collection: "places", Mode: "upsert", Key: "code"})
	if rep.Inserted != 1 || rep.Updated != 1 || rep.Total != 6 || rep.DataVersion != 3 {
		t.Errorf("upsert: %+v", rep)
	}
	var name string
	var pop int64
	if err := pool.QueryRow(ctx, `SELECT name, pop FROM data.places WHERE code = '10507'`).Scan(&name, &pop); err != nil || name != "Phường Cẩm Thượng (mới)" || pop != 12500 {
		t.Errorf("upserted row: %q %d %v", name, pop, err)
	}
	var reports int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM imports WHERE layer_id = 'places' AND report ->> 'checksum' LIKE 'sha256:%'`).Scan(&reports)
	if reports != 3 {
		t.Errorf("%d quality reports kept, want one per import (3)", reports)
	}

	dup := write(t, "dup.geojson", fc(
		point(106.33, 20.94, `{"code": "10525", "name": "A"}`),
		point(106.34, 20.94, `{"code": "10525", "name": "B"}`)))
	before := state(t, pool, "places")
	_, err := load(t, pool, dup, ingest.Options{Collection: "places", Mode: "upsert", Key: "code"})
	assertRefused(t, err, "feature 2", "repeats feature 1")
	if after := state(t, pool, "places"); after != before {
		t.Errorf("refused upsert changed the layer: %s → %s", before, after)
	}
}

func assertRefused(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("import accepted; want a refusal mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestNewlineDelimited(t *testing.T) {
	pool := testdb.Pool(t)
	seq := write(t, "roads.ndjson",
		`{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[106.3, 20.9], [106.4, 20.95]]}, "properties": {"ref": "QL.5"}}`+"\n"+
			"\x1e"+`{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[106.2, 20.8], [106.3, 20.9]]}, "properties": {"ref": "QL.10"}}`+"\n")
	rep := mustLoad(t, pool, seq, ingest.Options{Collection: "seq-roads"})
	if rep.Features != 2 || rep.GeometryType != "MultiLineString" || rep.Format != "GeoJSON sequence" {
		t.Errorf("ndjson: %+v", rep)
	}
	// The same, named .geojson, is recognised by its content.
	rep = mustLoad(t, pool, write(t, "roads.geojson", mustRead(t, seq)), ingest.Options{Collection: "seq-roads"})
	if rep.Features != 2 {
		t.Errorf("sequence in a .geojson file: %d features", rep.Features)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVN2000CoordinatesKept(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	// A parcel delivered in VN-2000 / TM-3 105°30′ (as GDAL writes it, with a "crs" member),
	// with millimetre coordinates that must come back exactly.
	parcel := `{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9209"}}, "features": [
	  {"type": "Feature", "properties": {"so_thua": 12, "so_to": 7},
	   "geometry": {"type": "Polygon", "coordinates": [[[586127.365, 2316534.475], [586157.812, 2316533.021], [586158.999, 2316563.104], [586128.001, 2316565.333], [586127.365, 2316534.475]]]}}]}`
	rep := mustLoad(t, pool, write(t, "parcel.geojson", parcel), ingest.Options{Collection: "vn-parcels"})
	if rep.CRS != "EPSG:9209" || rep.StorageCRS != "EPSG:9209" {
		t.Errorf("CRS %s → %s, want EPSG:9209 kept", rep.CRS, rep.StorageCRS)
	}
	var wkt string
	var srid int
	if err := pool.QueryRow(ctx, `SELECT ST_AsText(geom, 15), ST_SRID(geom) FROM data.vn_parcels`).Scan(&wkt, &srid); err != nil {
		t.Fatal(err)
	}
	want := "MULTIPOLYGON(((586127.365 2316534.475,586157.812 2316533.021,586158.999 2316563.104,586128.001 2316565.333,586127.365 2316534.475)))"
	if wkt != want || srid != 9209 {
		t.Errorf("stored %s (SRID %d), want %s in 9209", wkt, srid, want)
	}

	// The same coordinates without a "crs" member, declared with --srs.
	plain := strings.Replace(parcel, `"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9209"}}, `, "", 1)
	rep = mustLoad(t, pool, write(t, "plain.geojson", plain), ingest.Options{Collection: "vn-parcels-2", SRID: 9209})
	if rep.StorageCRS != "EPSG:9209" {
		t.Errorf("--srs override: storage %s", rep.StorageCRS)
	}
	_ = pool.QueryRow(ctx, `SELECT ST_AsText(geom, 15) FROM data.vn_parcels_2`).Scan(&wkt)
	if wkt != want {
		t.Errorf("with --srs: stored %s", wkt)
	}

	// WGS 84 data appended to a VN-2000 layer is transformed into the layer's system.
	rep = mustLoad(t, pool, write(t, "wgs.geojson", fc(square(106.33, 20.94, 0.0003, `{"so_thua": 13, "so_to": 7}`))),
		ingest.Options{Collection: "vn-parcels", Mode: "append"})
	var e, n float64
	_ = pool.QueryRow(ctx, `SELECT ST_XMin(geom), ST_YMin(geom) FROM data.vn_parcels WHERE so_thua = 13`).Scan(&e, &n)
	if rep.CRS != "EPSG:4326" || rep.StorageCRS != "EPSG:9209" || e < 586120 || e > 586135 || n < 2316530 || n > 2316540 {
		t.Errorf("WGS 84 into VN-2000: %s → %s, corner E %.3f N %.3f", rep.CRS, rep.StorageCRS, e, n)
	}
}

func TestBadInputLeavesLayerUntouched(t *testing.T) {
	pool := testdb.Pool(t)
	good := fc(square(106.30, 20.90, 0.001, `{"land_use": "LUC", "so_thua": 1}`), square(106.31, 20.90, 0.001, `{"land_use": "ONT", "so_thua": 2}`))
	def := layers.Layer{Title: "Thửa đất thử", EntryID: "dat-dai", Fields: []layers.Field{
		{Name: "land_use", Type: "string", Required: true, CodeList: "land-use"},
		{Name: "so_thua", Type: "integer"},
	}}
	mustLoad(t, pool, write(t, "good.geojson", good), ingest.Options{Collection: "bad-input", Definition: def})
	before := state(t, pool, "bad-input")

	bowtie := `{"type": "Feature", "properties": {"land_use": "LUC", "so_thua": 3}, "geometry": {"type": "Polygon", "coordinates": [[[106.3, 20.9], [106.301, 20.901], [106.301, 20.9], [106.3, 20.901], [106.3, 20.9]]]}}`
	cases := []struct {
		name, file, content string
		opt                 ingest.Options
		wants               []string
	}{
		{"truncated JSON", "t.geojson", good[:len(good)-40], ingest.Options{}, []string{"truncated"}},
		{"empty file", "e.geojson", "", ingest.Options{}, []string{"empty"}},
		{"no features", "n.geojson", fc(), ingest.Options{}, []string{"no features"}},
		{"wrong geometry type", "p.geojson", fc(point(106.3, 20.9, `{"land_use": "LUC"}`)), ingest.Options{}, []string{"feature 1", "Point", "MultiPolygon"}},
		{"self-intersecting polygon", "s.geojson", fc(square(106.30, 20.90, 0.001, `{"land_use": "LUC"}`), bowtie), ingest.Options{}, []string{"feature 2", "Self-intersection", "--fix-invalid"}},
		{"unclosed ring", "u.geojson", fc(`{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[106.3, 20.9], [106.4, 20.9], [106.4, 21.0], [106.3, 21.0]]]}}`), ingest.Options{}, []string{"feature 1", "not closed"}},
		{"land-use code not in the list", "c.geojson", fc(square(106.30, 20.90, 0.001, `{"land_use": "XYZ"}`), square(106.31, 20.90, 0.001, `{"land_use": ""}`)), ingest.Options{}, []string{"feature 1, field land_use: code 'XYZ' is not in the land-use code list", "feature 2, field land_use: required value is missing"}},
		{"text in an integer field", "i.geojson", fc(square(106.30, 20.90, 0.001, `{"land_use": "LUC", "so_thua": "mười"}`)), ingest.Options{}, []string{"feature 1, field so_thua", "not of type integer"}},
		{"lon/lat declared as EPSG:9209", "l.geojson", good, ingest.Options{SRID: 9209}, []string{"degrees", "EPSG:9209"}},
		{"latitude first", "a.geojson", fc(square(20.90, 106.30, 0.001, `{"land_use": "LUC"}`)), ingest.Options{}, []string{"latitude, longitude"}},
		{"VN-2000 Northing first", "v.geojson", fc(square(2316534, 586127, 30, `{"land_use": "LUC"}`)), ingest.Options{SRID: 9209}, []string{"Northing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			opt.Collection = "bad-input"
			_, err := load(t, pool, write(t, c.file, c.content), opt)
			assertRefused(t, err, c.wants...)
			if after := state(t, pool, "bad-input"); after != before {
				t.Errorf("the refused file changed the layer: %s → %s", before, after)
			}
		})
	}
	var ve *ingest.ValidationError
	_, err := load(t, pool, write(t, "many.geojson", fc(strings.Repeat(square(106.3, 20.9, 0.001, `{"land_use": "BAD"}`)+",", 29)+square(106.3, 20.9, 0.001, `{"land_use": "BAD"}`))), ingest.Options{Collection: "bad-input"})
	if !errors.As(err, &ve) || ve.Count != 30 || len(ve.Problems) != 20 || !strings.Contains(err.Error(), "and 10 more") {
		t.Errorf("30 bad features: %v", err)
	}
}

func TestFixInvalid(t *testing.T) {
	pool := testdb.Pool(t)
	bowtie := fc(`{"type": "Feature", "properties": {"n": 1}, "geometry": {"type": "Polygon", "coordinates": [[[106.3, 20.9], [106.301, 20.901], [106.301, 20.9], [106.3, 20.901], [106.3, 20.9]]]}}`,
		square(106.31, 20.9, 0.001, `{"n": 2}`))
	rep := mustLoad(t, pool, write(t, "bowtie.geojson", bowtie), ingest.Options{Collection: "fixed", FixInvalid: true})
	if rep.RepairedN != 1 || len(rep.Repaired) != 1 || rep.Repaired[0].Feature != 1 || rep.Total != 2 ||
		!strings.Contains(rep.Repaired[0].Reason, "Self-intersection") {
		t.Errorf("repaired %d %v, total %d", rep.RepairedN, rep.Repaired, rep.Total)
	}
	var invalid int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM data.fixed WHERE NOT ST_IsValid(geom)`).Scan(&invalid)
	if invalid != 0 {
		t.Errorf("%d invalid geometries stored", invalid)
	}
}

func TestRegistryFollowsImports(t *testing.T) {
	pool := testdb.Pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	go reg.Listen(ctx)
	time.Sleep(200 * time.Millisecond) // let LISTEN start; the registry reloads once it does
	if _, ok := reg.Get("fresh-layer"); ok {
		t.Fatal("layer exists before its import")
	}
	mustLoad(t, pool, write(t, "f.geojson", fc(point(106.3, 20.9, `{"ten": "Văn Miếu Mao Điền"}`))),
		ingest.Options{Collection: "fresh-layer", Definition: layers.Layer{Title: "Di tích", EntryID: "lang-khu-dan-cu-van-hoa"}})
	deadline := time.After(5 * time.Second)
	for {
		if l, ok := reg.Get("fresh-layer"); ok {
			if l.DataVersion != 1 || l.SRID != 4326 || l.Title != "Di tích" || len(l.Fields) != 1 || l.Fields[0].Category != "default" || l.Features != 1 {
				t.Errorf("registered layer: %+v", l)
			}
			break
		}
		select {
		case <-reg.Changed():
		case <-deadline:
			t.Fatal("the registry did not see the new layer within 5 s")
		}
	}
	mustLoad(t, pool, write(t, "g.geojson", fc(point(106.3, 20.9, `{"ten": "Côn Sơn"}`), point(106.4, 21.1, `{"ten": "Kiếp Bạc"}`))),
		ingest.Options{Collection: "fresh-layer", Mode: "append"})
	deadline = time.After(5 * time.Second)
	for {
		if l, _ := reg.Get("fresh-layer"); l.DataVersion == 2 {
			if l.Features != 3 {
				t.Errorf("after append: %d features", l.Features)
			}
			break
		}
		select {
		case <-reg.Changed():
		case <-deadline:
			t.Fatal("the registry did not see the new data version within 5 s")
		}
	}
}
