package ingest_test

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
)

// Parcels delivered in VN-2000 / TM-3 105°30′ with Vietnamese text, the way a land office
// sends them; every format below is written from this by GDAL.
const vnParcels = `{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9209"}}, "features": [
 {"type": "Feature", "properties": {"so_thua": 12, "chu_sd": "Nguyễn Thị Hường", "dia_chi": "Thôn Đông, xã Thanh Miện", "ma_xa": "11101"},
  "geometry": {"type": "Polygon", "coordinates": [[[586127.365, 2316534.475], [586157.812, 2316533.021], [586158.999, 2316563.104], [586128.001, 2316565.333], [586127.365, 2316534.475]]]}},
 {"type": "Feature", "properties": {"so_thua": 13, "chu_sd": "Trần Văn Đức", "dia_chi": "Thôn Đoài, xã Thanh Miện", "ma_xa": "11101"},
  "geometry": {"type": "Polygon", "coordinates": [[[586157.812, 2316533.021], [586190.5, 2316531.75], [586191.25, 2316562.125], [586158.999, 2316563.104], [586157.812, 2316533.021]]]}}]}`

const firstRing = "MULTIPOLYGON(((586127.365 2316534.475,586157.812 2316533.021,586158.999 2316563.104,586128.001 2316565.333,586127.365 2316534.475)))"

func ogr(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ogr2ogr", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ogr2ogr %v: %v\n%s (make test installs gdal-bin)", args, err, out)
	}
}

// checkParcels asserts what a land office would check after an import. Rings are compared
// counter-clockwise: Shapefiles store outer rings clockwise, with the same vertices.
func checkParcels(t *testing.T, pool *pgxpool.Pool, table string) {
	t.Helper()
	var wkt, owner, addr, code string
	var srid int
	err := pool.QueryRow(context.Background(), `SELECT ST_AsText(ST_ForcePolygonCCW(geom), 15), ST_SRID(geom), chu_sd, dia_chi, ma_xa::text FROM data.`+table+` WHERE so_thua = 12`).
		Scan(&wkt, &srid, &owner, &addr, &code)
	if err != nil {
		t.Fatalf("read back %s: %v", table, err)
	}
	if wkt != firstRing || srid != 9209 {
		t.Errorf("%s: geometry %s in %d; want the delivered VN-2000 coordinates %s", table, wkt, srid, firstRing)
	}
	if owner != "Nguyễn Thị Hường" || addr != "Thôn Đông, xã Thanh Miện" {
		t.Errorf("%s: Vietnamese text damaged: %q, %q", table, owner, addr)
	}
	if code != "11101" {
		t.Errorf("%s: commune code %q", table, code)
	}
}

func TestShapefiles(t *testing.T) {
	pool := testdb.Pool(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.geojson")
	if err := os.WriteFile(src, []byte(vnParcels), 0o644); err != nil {
		t.Fatal(err)
	}
	utf8 := filepath.Join(dir, "utf8", "thua.shp")
	os.MkdirAll(filepath.Dir(utf8), 0o755)
	ogr(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", utf8, src)
	cp := filepath.Join(dir, "cp1258", "thua.shp")
	os.MkdirAll(filepath.Dir(cp), 0o755)
	ogr(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=CP1258", cp, src)

	for _, c := range []struct {
		name, path string
		open       ingest.OpenOptions
		remove     string
	}{
		{"UTF-8 with .cpg", utf8, ingest.OpenOptions{}, ""},
		{"CP1258 with .cpg", cp, ingest.OpenOptions{}, ""},
		{"UTF-8 without .cpg", utf8, ingest.OpenOptions{}, ".cpg"},
		{"CP1258 without .cpg, --encoding", cp, ingest.OpenOptions{Encoding: "CP1258"}, ".cpg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.remove != "" {
				os.Remove(strings.TrimSuffix(c.path, ".shp") + c.remove)
			}
			s, err := ingest.Open(c.path, c.open)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep, err := ingest.Import(context.Background(), pool, s, c.path, ingest.Options{Collection: "shp-parcels"})
			if err != nil {
				t.Fatal(err)
			}
			if rep.CRS != "EPSG:9209" || rep.Format != "Shapefile" || rep.Features != 2 || !strings.HasPrefix(rep.Checksum, "sha256:") {
				t.Errorf("report: %+v", rep)
			}
			checkParcels(t, pool, "shp_parcels")
		})
	}

	// A zipped set, upserted by parcel number.
	zipped := filepath.Join(dir, "thua.zip")
	zf, _ := os.Create(zipped)
	zw := zip.NewWriter(zf)
	for _, ext := range []string{".shp", ".shx", ".dbf", ".prj", ".cpg"} {
		w, _ := zw.Create("thua" + ext)
		f, err := os.Open(strings.TrimSuffix(utf8, ".shp") + ext)
		if err != nil {
			continue // the .cpg was removed above
		}
		io.Copy(w, f)
		f.Close()
	}
	zw.Close()
	zf.Close()
	s, err := ingest.Open(zipped, ingest.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.Import(context.Background(), pool, s, zipped, ingest.Options{Collection: "shp-parcels", Mode: "upsert", Key: "so_thua"})
	s.Close()
	if err != nil || rep.Updated != 2 || rep.Inserted != 0 || rep.Total != 2 {
		t.Fatalf("upsert of the zipped set: %+v %v", rep, err)
	}
	checkParcels(t, pool, "shp_parcels")

	// A set without its .dbf is refused before anything changes.
	before := state(t, pool, "shp-parcels")
	os.Remove(strings.TrimSuffix(utf8, ".shp") + ".dbf")
	if s, err := ingest.Open(utf8, ingest.OpenOptions{}); err == nil {
		_, err = ingest.Import(context.Background(), pool, s, utf8, ingest.Options{Collection: "shp-parcels"})
		s.Close()
		assertRefused(t, err, ".dbf")
	} else {
		assertRefused(t, err, ".dbf")
	}
	if after := state(t, pool, "shp-parcels"); after != before {
		t.Errorf("missing .dbf changed the layer: %s → %s", before, after)
	}
}

func TestGeoPackageAndCSV(t *testing.T) {
	pool := testdb.Pool(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.geojson")
	os.WriteFile(src, []byte(vnParcels), 0o644)
	gpkg := filepath.Join(dir, "dat.gpkg")
	ogr(t, "-f", "GPKG", "-nln", "thua_dat", gpkg, src)
	ogr(t, "-f", "GPKG", "-update", "-nln", "thua_dat_wgs84", "-t_srs", "EPSG:4326", gpkg, src)
	layers, err := ingest.GeoPackageLayers(gpkg)
	if err != nil || len(layers) != 2 {
		t.Fatalf("GeoPackage layers: %v %v", layers, err)
	}
	s, err := ingest.Open(gpkg, ingest.OpenOptions{Layer: "thua_dat"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.Import(context.Background(), pool, s, gpkg, ingest.Options{Collection: "gpkg-parcels"})
	s.Close()
	if err != nil || rep.CRS != "EPSG:9209" {
		t.Fatalf("GeoPackage: %+v %v", rep, err)
	}
	checkParcels(t, pool, "gpkg_parcels")

	// CSV with WKT in VN-2000, declared with --srs.
	csvPath := filepath.Join(dir, "thua.csv")
	ogr(t, "-f", "CSV", "-lco", "GEOMETRY=AS_WKT", csvPath, src)
	s, err = ingest.Open(csvPath, ingest.OpenOptions{SRID: 9209})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = ingest.Import(context.Background(), pool, s, csvPath, ingest.Options{Collection: "csv-parcels", SRID: 9209})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkParcels(t, pool, "csv_parcels")

	// CSV of points with lon/lat columns; codes with leading zeros stay text.
	pts := filepath.Join(dir, "truong.csv")
	os.WriteFile(pts, []byte("\ufeffma_truong;ten;kinh_do;vi_do;so_hoc_sinh\n01234;Trường THCS Lê Quý Đôn;106,3241;20,9412;812\n01235;Trường Tiểu học Ngọc Châu;106,3302;20,9501;640\n"), 0o644)
	s, err = ingest.Open(pts, ingest.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = ingest.Import(context.Background(), pool, s, pts, ingest.Options{Collection: "csv-schools"})
	s.Close()
	if err != nil || rep.Features != 2 || rep.GeometryType != "Point" {
		t.Fatalf("CSV points: %+v %v", rep, err)
	}
	var code, name string
	var pupils int64
	var lon float64
	if err := pool.QueryRow(context.Background(), `SELECT ma_truong, ten, so_hoc_sinh, ST_X(geom) FROM data.csv_schools ORDER BY fid LIMIT 1`).Scan(&code, &name, &pupils, &lon); err != nil {
		t.Fatal(err)
	}
	if code != "01234" || name != "Trường THCS Lê Quý Đôn" || pupils != 812 || lon != 106.3241 {
		t.Errorf("CSV row: %q %q %d %v", code, name, pupils, lon)
	}
}
