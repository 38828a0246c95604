package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
	"github.com/twpayne/go-geom/encoding/wkb"
)

// These tests build their fixtures with ogr2ogr (Debian gdal-bin) from GeoJSON written here,
// so the readers are checked against files GDAL really writes. They need no database.

const parcelText = "Thửa đất số 12, xã Thanh Miện"

// parcelsGeoJSON: a polygon with a hole, a multipolygon whose second part has a hole, and a
// feature without geometry or values.
const parcelsGeoJSON = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"ten":"` + parcelText + `","so":12,"dt":105.25,"ngay":"2024-03-05","ok":true},
 "geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[2,2],[4,2],[4,4],[2,4],[2,2]]]}},
{"type":"Feature","properties":{"ten":"Đường Nguyễn Trãi","so":7,"dt":3.5,"ngay":"2023-12-31","ok":false},
 "geometry":{"type":"MultiPolygon","coordinates":[
  [[[20,0],[30,0],[30,10],[20,10],[20,0]],[[22,2],[24,2],[24,4],[22,4],[22,2]]],
  [[[40,0],[41,0],[41,1],[40,1],[40,0]]]]}},
{"type":"Feature","properties":{"ten":null,"so":null,"dt":null,"ngay":null,"ok":null},"geometry":null}
]}`

func rdNeedOgr(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		t.Fatal("ogr2ogr (gdal-bin) is not installed: make test installs it (apt-get install gdal-bin)")
	}
}

// ogr runs ogr2ogr with args, the last of which may be GeoJSON text to convert.
func rdOgr(t *testing.T, dir string, args ...string) {
	t.Helper()
	if last := args[len(args)-1]; strings.HasPrefix(last, "{") {
		in := filepath.Join(dir, "in-"+filepath.Base(t.Name())+".geojson")
		if err := os.WriteFile(in, []byte(last), 0o644); err != nil {
			t.Fatal(err)
		}
		args[len(args)-1] = in
	}
	out, err := exec.Command("ogr2ogr", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ogr2ogr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func rdReadAll(t *testing.T, src Source) []Feature {
	t.Helper()
	var all []Feature
	err := src.Read(context.Background(), func(b []Feature) error {
		if len(b) > batchSize {
			t.Errorf("batch of %d features", len(b))
		}
		all = append(all, b...)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return all
}

func rdProps(t *testing.T, f Feature) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(f.Props))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("feature %d: props %s: %v", f.N, f.Props, err)
	}
	return m
}

// decode checks the WKB is 2D and returns the geometry.
func rdDecode(t *testing.T, f Feature) geom.T {
	t.Helper()
	if f.WKB == nil {
		t.Fatalf("feature %d has no geometry (problem %q)", f.N, f.Problem)
	}
	if f.WKB[0] != 1 {
		t.Errorf("feature %d: WKB is not little-endian", f.N)
	}
	g, err := wkb.Unmarshal(f.WKB)
	if err != nil {
		t.Fatalf("feature %d: %v", f.N, err)
	}
	if g.Layout() != geom.XY {
		t.Errorf("feature %d: layout %v, want XY", f.N, g.Layout())
	}
	return g
}

func rdWantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func rdOpen(t *testing.T, path string, opt OpenOptions) Source {
	t.Helper()
	src, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", filepath.Base(path), err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// rdCheckParcels checks what was read from parcelsGeoJSON. GDAL 3.6 writes booleans to a .dbf
// as N(1) numbers, so a Shapefile's "ok" may be 1/0 rather than true/false.
func rdCheckParcels(t *testing.T, src Source) {
	t.Helper()
	fs := rdReadAll(t, src)
	if len(fs) != 3 {
		t.Fatalf("%d features, want 3", len(fs))
	}
	if want := []string{"ten", "so", "dt", "ngay", "ok"}; !reflect.DeepEqual(src.Keys(), want) {
		t.Errorf("Keys() = %q, want %q", src.Keys(), want)
	}
	for i, f := range fs {
		if f.N != int64(i+1) || f.Problem != "" {
			t.Errorf("feature %d: N=%d problem %q", i+1, f.N, f.Problem)
		}
	}

	p := rdProps(t, fs[0])
	if p["ten"] != parcelText {
		t.Errorf("ten = %q, want %q", p["ten"], parcelText)
	}
	is := func(v any, b bool) bool {
		n := map[bool]json.Number{true: "1", false: "0"}[b]
		return v == b || src.Format() == "Shapefile" && v == n
	}
	if p["so"] != json.Number("12") || p["dt"] != json.Number("105.25") || p["ngay"] != "2024-03-05" || !is(p["ok"], true) {
		t.Errorf("props %s: want so 12, dt 105.25, ngay \"2024-03-05\", ok true", fs[0].Props)
	}
	if p := rdProps(t, fs[1]); p["ten"] != "Đường Nguyễn Trãi" || !is(p["ok"], false) || p["dt"] != json.Number("3.5") {
		t.Errorf("feature 2 props %s", fs[1].Props)
	}
	for k, v := range rdProps(t, fs[2]) {
		if v != nil {
			t.Errorf("feature 3: %s = %v, want null", k, v)
		}
	}

	poly, ok := rdDecode(t, fs[0]).(*geom.Polygon)
	if !ok || poly.NumLinearRings() != 2 {
		t.Fatalf("feature 1: %T, want a Polygon with a hole", rdDecode(t, fs[0]))
	}
	if b := poly.LinearRing(1).Bounds(); b.Min(0) != 2 || b.Max(1) != 4 {
		t.Errorf("feature 1: hole bounds %v", b)
	}
	mp, ok := rdDecode(t, fs[1]).(*geom.MultiPolygon)
	if !ok || mp.NumPolygons() != 2 {
		t.Fatalf("feature 2: %T, want a MultiPolygon of 2", rdDecode(t, fs[1]))
	}
	// The hole belongs to the 20..30 square, not to the small one.
	for i := range 2 {
		p := mp.Polygon(i)
		switch p.Bounds().Min(0) {
		case 20:
			if p.NumLinearRings() != 2 || p.LinearRing(1).Bounds().Min(0) != 22 {
				t.Errorf("feature 2: polygon at x=20 has rings %v", p.Endss())
			}
		case 40:
			if p.NumLinearRings() != 1 {
				t.Errorf("feature 2: polygon at x=40 has %d rings", p.NumLinearRings())
			}
		default:
			t.Errorf("feature 2: unexpected polygon %v", p.Bounds())
		}
	}
	if fs[2].WKB != nil {
		t.Errorf("feature 3: WKB for a null shape")
	}
}

func TestShapefileUTF8(t *testing.T) {
	rdNeedOgr(t)
	dir := t.TempDir()
	shp := filepath.Join(dir, "thua_dat.shp")
	rdOgr(t, dir, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", "-a_srs", "EPSG:9209", shp, parcelsGeoJSON)
	src := rdOpen(t, shp, OpenOptions{})
	if src.Format() != "Shapefile" {
		t.Errorf("Format() = %q", src.Format())
	}
	rdCheckParcels(t, src)
	if src.SRID() != 9209 {
		t.Errorf("SRID() = %d, want 9209 (VN-2000 / TM-3 105-30)", src.SRID())
	}
	files := src.(interface{ Files() []string }).Files()
	if len(files) != 5 {
		t.Errorf("Files() = %q, want shp, shx, dbf, prj, cpg", files)
	}
}

func TestShapefileCP1258(t *testing.T) {
	rdNeedOgr(t)
	dir := t.TempDir()
	shp := filepath.Join(dir, "thua_dat.shp")
	rdOgr(t, dir, "-f", "ESRI Shapefile", "-lco", "ENCODING=CP1258", "-a_srs", "EPSG:9209", shp, parcelsGeoJSON)
	dbf, _ := os.ReadFile(filepath.Join(dir, "thua_dat.dbf"))
	if bytes.Contains(dbf, []byte("Thửa")) {
		t.Fatal("the fixture's .dbf is UTF-8, not CP1258")
	}
	rdCheckParcels(t, rdOpen(t, shp, OpenOptions{}))

	// Without its .cpg the reader cannot know; --encoding tells it.
	if err := os.Remove(filepath.Join(dir, "thua_dat.cpg")); err != nil {
		t.Fatal(err)
	}
	rdCheckParcels(t, rdOpen(t, shp, OpenOptions{Encoding: "windows-1258"}))
	err := rdOpen(t, shp, OpenOptions{}).Read(context.Background(), func([]Feature) error { return nil })
	rdWantErr(t, err, "not UTF-8", "--encoding")
}

func TestShapefileZip(t *testing.T) {
	rdNeedOgr(t)
	dir := t.TempDir()
	set := filepath.Join(dir, "set")
	os.Mkdir(set, 0o755)
	rdOgr(t, dir, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", "-a_srs", "EPSG:9209", filepath.Join(set, "thua_dat.shp"), parcelsGeoJSON)
	// Upper-case names, as sets copied from Windows often have, and a folder inside the zip.
	zipIt := func(name string, members map[string]string) string {
		p := filepath.Join(dir, name)
		f, _ := os.Create(p)
		zw := zip.NewWriter(f)
		for in, out := range members {
			w, _ := zw.Create(out)
			b, err := os.ReadFile(filepath.Join(set, in))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
		}
		zw.Close()
		f.Close()
		return p
	}
	full := map[string]string{}
	for _, ext := range []string{"shp", "shx", "dbf", "prj", "cpg"} {
		full["thua_dat."+ext] = "du_lieu/THUA_DAT." + strings.ToUpper(ext)
	}
	src := rdOpen(t, zipIt("thua_dat.zip", full), OpenOptions{})
	rdCheckParcels(t, src)
	if src.SRID() != 9209 {
		t.Errorf("SRID() = %d, want 9209", src.SRID())
	}
	if files := src.(interface{ Files() []string }).Files(); len(files) != 1 || filepath.Ext(files[0]) != ".zip" {
		t.Errorf("Files() = %q, want the zip", files)
	}

	two := map[string]string{"thua_dat.shp": "a.shp", "thua_dat.dbf": "a.dbf", "thua_dat.shx": "b/b.shp"}
	_, err := Open(zipIt("two.zip", two), OpenOptions{})
	rdWantErr(t, err, "2 Shapefiles", "a.shp", "b/b.shp")

	noDBF := map[string]string{"thua_dat.shp": "x.shp", "thua_dat.shx": "x.shx"}
	_, err = Open(zipIt("nodbf.zip", noDBF), OpenOptions{})
	rdWantErr(t, err, "x.dbf is missing")
}

func TestShapefileMissingDBF(t *testing.T) {
	rdNeedOgr(t)
	dir := t.TempDir()
	shp := filepath.Join(dir, "roads.shp")
	rdOgr(t, dir, "-f", "ESRI Shapefile", shp, parcelsGeoJSON)
	if err := os.Remove(filepath.Join(dir, "roads.dbf")); err != nil {
		t.Fatal(err)
	}
	_, err := Open(shp, OpenOptions{})
	rdWantErr(t, err, "roads.dbf is missing", ".shx and .dbf")
}

func TestShapefileLinesPointsWGS84(t *testing.T) {
	rdNeedOgr(t)
	dir := t.TempDir()
	lines := filepath.Join(dir, "duong.shp")
	rdOgr(t, dir, "-f", "ESRI Shapefile", "-a_srs", "EPSG:4326", lines, `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"ma":"01234"},"geometry":{"type":"MultiLineString","coordinates":[[[105.1,21.1,5],[105.2,21.2,6]],[[105.3,21.3,7],[105.4,21.4,8],[105.5,21.5,9]]]}},
{"type":"Feature","properties":{"ma":"2"},"geometry":{"type":"LineString","coordinates":[[106,10,1],[106.5,10.5,2]]}}]}`)
	src := rdOpen(t, lines, OpenOptions{})
	fs := rdReadAll(t, src)
	if src.SRID() != 4326 {
		t.Errorf("SRID() = %d, want 4326", src.SRID())
	}
	if len(fs) != 2 {
		t.Fatalf("%d features", len(fs))
	}
	if mls, ok := rdDecode(t, fs[0]).(*geom.MultiLineString); !ok || mls.NumLineStrings() != 2 || mls.LineString(1).Coord(2)[0] != 105.5 {
		t.Errorf("feature 1: %#v, want a MultiLineString of 2", rdDecode(t, fs[0]))
	}
	if ls, ok := rdDecode(t, fs[1]).(*geom.LineString); !ok || !reflect.DeepEqual(ls.FlatCoords(), []float64{106, 10, 106.5, 10.5}) {
		t.Errorf("feature 2: %#v, want a 2D LineString", rdDecode(t, fs[1]))
	}
	if p := rdProps(t, fs[0]); p["ma"] != "01234" {
		t.Errorf("ma = %#v, want the string \"01234\"", p["ma"])
	}

	points := filepath.Join(dir, "diem.shp")
	rdOgr(t, dir, "-f", "ESRI Shapefile", "-a_srs", "EPSG:32648", points, `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[580000.5,2300000.25,12]}}]}`)
	src = rdOpen(t, points, OpenOptions{})
	fs = rdReadAll(t, src)
	if pt, ok := rdDecode(t, fs[0]).(*geom.Point); !ok || pt.X() != 580000.5 || pt.Y() != 2300000.25 {
		t.Errorf("point: %#v", rdDecode(t, fs[0]))
	}
	if src.SRID() != 32648 {
		t.Errorf("SRID() = %d, want 32648", src.SRID())
	}
}

func TestShapefilePrj(t *testing.T) {
	cases := []struct {
		prj  string
		want int
	}{
		{`GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`, 4326},
		{`GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`, 4756},
		{`PROJCS["VN_2000_TM_3_105_30",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.5],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`, 9209},
		{`PROJCS["VN-2000 / TM-3 108-30",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",108.5],PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1]]`, 9218},
		{`PROJCS["VN_2000_UTM_Zone_48N",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`, 3405},
		{`PROJCS["WGS_1984_UTM_Zone_49N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",111.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`, 32649},
		{`PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]`, 3857},
		{`PROJCS["VN-2000 / TM-3 106-15",GEOGCS["VN-2000",AUTHORITY["EPSG","4756"]],PROJECTION["Transverse_Mercator"],AUTHORITY["EPSG","9212"]]`, 9212},
		{`PROJCS["VN-2000 / TM-3 105-45"]`, 9210},
	}
	for _, c := range cases {
		if got, err := prjToEPSG(c.prj); err != nil || got != c.want {
			t.Errorf("prjToEPSG(%.40s…) = %d, %v; want %d", c.prj, got, err, c.want)
		}
	}
	_, err := prjToEPSG(`PROJCS["Hanoi_1972_GK",GEOGCS["GCS_Hanoi_1972",DATUM["D_Hanoi_1972",SPHEROID["Krasovsky_1940",6378245.0,298.3]]],PROJECTION["Gauss_Kruger"],PARAMETER["Central_Meridian",105.0]]`)
	rdWantErr(t, err, "Hanoi_1972_GK", "not one this importer recognises")

	// Through the reader: an unknown .prj is an error that points to --srs.
	rdNeedOgr(t)
	dir := t.TempDir()
	shp := filepath.Join(dir, "hn72.shp")
	rdOgr(t, dir, "-f", "ESRI Shapefile", shp, parcelsGeoJSON)
	os.WriteFile(filepath.Join(dir, "hn72.prj"), []byte(`PROJCS["Hanoi_1972_GK",GEOGCS["GCS_Hanoi_1972",DATUM["D_Hanoi_1972",SPHEROID["Krasovsky_1940",6378245.0,298.3]]],PROJECTION["Gauss_Kruger"]]`), 0o644)
	_, err = Open(shp, OpenOptions{})
	rdWantErr(t, err, "hn72.prj", "--srs")
	// No .prj: SRID 0, and the importer asks for --srs.
	os.Remove(filepath.Join(dir, "hn72.prj"))
	if src := rdOpen(t, shp, OpenOptions{}); src.SRID() != 0 {
		t.Errorf("SRID() without .prj = %d, want 0", src.SRID())
	}
}

func TestShapefileEncodingLabels(t *testing.T) {
	for _, label := range []string{"UTF-8", "utf8", "65001"} {
		if e, ok := lookupEncoding(label); !ok || e != nil {
			t.Errorf("%q: want UTF-8", label)
		}
	}
	for _, label := range []string{"1258", "CP1258", "windows-1258", "ANSI 1252", "ISO-8859-1", "88591", "OEM 866", "latin1"} {
		if e, ok := lookupEncoding(label); !ok || e == nil {
			t.Errorf("%q: not recognised", label)
		}
	}
	if _, ok := lookupEncoding("TCVN3"); ok {
		t.Error("TCVN3 recognised")
	}
}

// Hand-built shapes: rings in unusual orders and a hole whose outer ring comes after it.
func TestShapefilePolygonRings(t *testing.T) {
	square := func(x0, y0, x1, y1 float64, cw bool) []float64 {
		if cw {
			return []float64{x0, y0, x0, y1, x1, y1, x1, y0, x0, y0}
		}
		return []float64{x0, y0, x1, y0, x1, y1, x0, y1, x0, y0}
	}
	w, problem := polygonWKB([][]float64{
		square(12, 2, 14, 4, false), // hole of the second outer ring, listed first
		square(0, 0, 10, 10, true),
		square(10, 0, 20, 10, true),
		square(2, 2, 4, 4, false),
	})
	if problem != "" {
		t.Fatal(problem)
	}
	g, err := wkb.Unmarshal(w)
	if err != nil {
		t.Fatal(err)
	}
	mp := g.(*geom.MultiPolygon)
	if mp.NumPolygons() != 2 || mp.Polygon(0).NumLinearRings() != 2 || mp.Polygon(1).NumLinearRings() != 2 ||
		mp.Polygon(0).LinearRing(1).Bounds().Min(0) != 2 || mp.Polygon(1).LinearRing(1).Bounds().Min(0) != 12 {
		t.Errorf("rings grouped as %v / %v", mp.Polygon(0).FlatCoords(), mp.Polygon(1).FlatCoords())
	}
	// An unclosed ring is closed; a two-point ring is the feature's problem.
	if _, problem := polygonWKB([][]float64{{0, 0, 1, 0, 1, 1}}); problem != "" {
		t.Errorf("unclosed triangle: %s", problem)
	}
	if _, problem := polygonWKB([][]float64{{0, 0, 1, 0}}); !strings.Contains(problem, "at least 4") {
		t.Errorf("two-point ring: %q", problem)
	}
}

func TestGeoPackage(t *testing.T) {
	rdNeedOgr(t)
	dir := t.TempDir()
	gpkg := filepath.Join(dir, "du_lieu.gpkg")
	rdOgr(t, dir, "-f", "GPKG", "-a_srs", "EPSG:9209", "-nln", "thua_dat", gpkg, parcelsGeoJSON)
	rdOgr(t, dir, "-f", "GPKG", "-update", "-a_srs", "EPSG:4326", "-nln", "diem", gpkg, `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"ten":"Chợ Bến Thành","tang":3,"cao":12.0,"mo":"2020-01-02"},"geometry":{"type":"Point","coordinates":[106.698,10.772,5.5]}},
{"type":"Feature","properties":{"ten":"Hồ Gươm","tang":null,"cao":7.25,"mo":null},"geometry":{"type":"Point","coordinates":[105.852,21.029,9]}}]}`)

	layers, err := GeoPackageLayers(gpkg)
	if err != nil || !reflect.DeepEqual(layers, []string{"diem", "thua_dat"}) {
		t.Errorf("GeoPackageLayers = %q, %v", layers, err)
	}
	_, err = Open(gpkg, OpenOptions{})
	rdWantErr(t, err, "2 layers", "diem", "thua_dat", "--layer")
	_, err = Open(gpkg, OpenOptions{Layer: "roads"})
	rdWantErr(t, err, `no layer "roads"`, "diem, thua_dat")

	src := rdOpen(t, gpkg, OpenOptions{Layer: "thua_dat"})
	if src.Format() != "GeoPackage" {
		t.Errorf("Format() = %q", src.Format())
	}
	rdCheckParcels(t, src)
	if src.SRID() != 9209 {
		t.Errorf("SRID() = %d, want 9209", src.SRID())
	}

	src = rdOpen(t, gpkg, OpenOptions{Layer: "diem"})
	fs := rdReadAll(t, src)
	if len(fs) != 2 || src.SRID() != 4326 {
		t.Fatalf("%d features, SRID %d", len(fs), src.SRID())
	}
	if pt, ok := rdDecode(t, fs[0]).(*geom.Point); !ok || pt.X() != 106.698 || pt.Y() != 10.772 {
		t.Errorf("point %#v: want 106.698 10.772 without Z", rdDecode(t, fs[0]))
	}
	p := rdProps(t, fs[0])
	if p["ten"] != "Chợ Bến Thành" || p["tang"] != json.Number("3") || p["cao"] != json.Number("12.0") || p["mo"] != "2020-01-02" {
		t.Errorf("props %s", fs[0].Props)
	}
	if p := rdProps(t, fs[1]); p["tang"] != nil || p["mo"] != nil {
		t.Errorf("props %s: want nulls", fs[1].Props)
	}
	if want := []string{"ten", "tang", "cao", "mo"}; !reflect.DeepEqual(src.Keys(), want) {
		t.Errorf("Keys() = %q, want %q (no fid, no geometry)", src.Keys(), want)
	}
}

func TestGeoPackageNotSQLite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fake.gpkg")
	os.WriteFile(p, []byte(`{"type":"FeatureCollection","features":[]}`), 0o644)
	_, err := Open(p, OpenOptions{})
	rdWantErr(t, err, "fake.gpkg is not a GeoPackage", "not an SQLite database")
}

func TestGeoPackageBlob(t *testing.T) {
	pt := geom.NewPoint(geom.XYZ).MustSetCoords(geom.Coord{1, 2, 3})
	body, _ := wkb.Marshal(pt, binary.BigEndian)
	header := []byte{'G', 'P', 0, 0b0000_0011} // little-endian header with an XY envelope
	header = binary.LittleEndian.AppendUint32(header, 4326)
	header = append(header, make([]byte, 32)...)
	w, problem := gpkgGeometry(append(header, body...))
	if problem != "" {
		t.Fatal(problem)
	}
	if g, err := wkb.Unmarshal(w); err != nil || !reflect.DeepEqual(g.FlatCoords(), []float64{1, 2}) {
		t.Errorf("%v %v", g, err)
	}
	if w, problem := gpkgGeometry([]byte{'G', 'P', 0, 0b0001_0001, 0, 0, 0, 0}); w != nil || problem != "" {
		t.Errorf("empty geometry: %v %q", w, problem)
	}
	if _, problem := gpkgGeometry([]byte("not a geometry")); problem == "" {
		t.Error("no problem for garbage")
	}
}

func rdWriteCSV(t *testing.T, name, text string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCSVLonLat(t *testing.T) {
	p := rdWriteCSV(t, "diem.csv", "\ufeffma;Tên;Kinh_Do;vi_do;so;ty_le;ok;ghi_chu\n"+
		"01234;Chợ Bến Thành;106.698;10.772;0;0.5;true;\n"+
		"2;\"Hồ Gươm; Hà Nội\";105,852;21.029;42;-1.25;FALSE;x\n"+
		"3;Sai;abc;21;1;1;true;\n")
	src := rdOpen(t, p, OpenOptions{})
	fs := rdReadAll(t, src)
	if src.Format() != "CSV" || src.SRID() != 4326 || len(fs) != 3 {
		t.Fatalf("%s, SRID %d, %d features", src.Format(), src.SRID(), len(fs))
	}
	if want := []string{"ma", "Tên", "so", "ty_le", "ok", "ghi_chu"}; !reflect.DeepEqual(src.Keys(), want) {
		t.Errorf("Keys() = %q, want %q", src.Keys(), want)
	}
	p0 := rdProps(t, fs[0])
	if p0["ma"] != "01234" || p0["Tên"] != "Chợ Bến Thành" || p0["so"] != json.Number("0") || p0["ty_le"] != json.Number("0.5") || p0["ok"] != true || p0["ghi_chu"] != nil {
		t.Errorf("props %s", fs[0].Props)
	}
	if _, ok := p0["Kinh_Do"]; ok {
		t.Error("the coordinate columns are copied into the properties")
	}
	if pt := rdDecode(t, fs[0]).(*geom.Point); pt.X() != 106.698 || pt.Y() != 10.772 {
		t.Errorf("point %v", pt.FlatCoords())
	}
	p1 := rdProps(t, fs[1])
	if p1["Tên"] != "Hồ Gươm; Hà Nội" || p1["so"] != json.Number("42") || p1["ok"] != false {
		t.Errorf("props %s", fs[1].Props)
	}
	if pt := rdDecode(t, fs[1]).(*geom.Point); pt.X() != 105.852 {
		t.Errorf("decimal comma: %v", pt.FlatCoords())
	}
	if fs[2].WKB != nil || fs[2].Problem != "Kinh_Do 'abc' is not a number" {
		t.Errorf("feature 3: problem %q", fs[2].Problem)
	}
}

func TestCSVWKT(t *testing.T) {
	p := rdWriteCSV(t, "thua.tsv", "id\tWKT\tten\n"+
		"1\tPOLYGON Z ((0 0 1, 10 0 1, 10 10 1, 0 0 1))\tmột\n"+
		"2\t\thai\n"+
		"3\tPOLYGON ((0 0, 1\tba\n")
	src := rdOpen(t, p, OpenOptions{})
	fs := rdReadAll(t, src)
	if src.SRID() != 0 || len(fs) != 3 {
		t.Fatalf("SRID %d, %d features", src.SRID(), len(fs))
	}
	if g := rdDecode(t, fs[0]); !reflect.DeepEqual(g.FlatCoords(), []float64{0, 0, 10, 0, 10, 10, 0, 0}) {
		t.Errorf("polygon %v", g.FlatCoords())
	}
	if fs[1].WKB != nil || fs[1].Problem != "" {
		t.Errorf("empty WKT: %v %q", fs[1].WKB, fs[1].Problem)
	}
	if fs[2].WKB != nil || !strings.Contains(fs[2].Problem, "WKT") {
		t.Errorf("broken WKT: problem %q", fs[2].Problem)
	}
	if want := []string{"id", "ten"}; !reflect.DeepEqual(src.Keys(), want) {
		t.Errorf("Keys() = %q", src.Keys())
	}

	// An EWKT SRID, x/y in metres, and named columns.
	p = rdWriteCSV(t, "a.csv", "geom,n\n\"SRID=9209;POINT(580000 2300000)\",1\n")
	if src := rdOpen(t, p, OpenOptions{}); len(rdReadAll(t, src)) != 1 || src.SRID() != 9209 {
		t.Errorf("EWKT SRID: %d", src.SRID())
	}
	p = rdWriteCSV(t, "b.csv", "x,y\n580000,2300000\n")
	if src := rdOpen(t, p, OpenOptions{}); len(rdReadAll(t, src)) != 1 || src.SRID() != 0 {
		t.Errorf("x/y in metres: SRID %d, want 0", src.SRID())
	}
	p = rdWriteCSV(t, "c.csv", "E,N,name\n105.5,21,a\n")
	if fs := rdReadAll(t, rdOpen(t, p, OpenOptions{LonColumn: "e", LatColumn: "N"})); fs[0].WKB == nil || string(fs[0].Props) != `{"name":"a"}` {
		t.Errorf("named columns: %q %s", fs[0].Problem, fs[0].Props)
	}
	_, err := Open(p, OpenOptions{LonColumn: "lon", LatColumn: "N"})
	rdWantErr(t, err, `no column "lon"`, "E, N, name")
	_, err = Open(rdWriteCSV(t, "d.csv", "a,b\n1,2\n"), OpenOptions{})
	rdWantErr(t, err, "no coordinate columns")
}

func TestWKB2D(t *testing.T) {
	poly := geom.NewPolygon(geom.XYZM).MustSetCoords([][]geom.Coord{{{0, 0, 1, 2}, {1, 0, 1, 2}, {1, 1, 1, 2}, {0, 0, 1, 2}}})
	mp := geom.NewMultiPolygon(geom.XYZM)
	mp.Push(poly)
	ls := geom.NewLineString(geom.XYM).MustSetCoords([]geom.Coord{{1, 2, 3}, {4, 5, 6}})
	gc := geom.NewGeometryCollection()
	gc.MustPush(geom.NewPoint(geom.XYZ).MustSetCoords(geom.Coord{7, 8, 9}), ls)

	// Each case with the number of ordinates left in 2D.
	cases := map[string]struct {
		g geom.T
		n int
	}{"multipolygon ZM": {mp, 8}, "linestring M": {ls, 4}, "collection": {gc, 6}}
	for name, c := range cases {
		g := c.g
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			iso, err := wkb.Marshal(g, order)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := ewkb.Marshal(g, order)
			for kind, in := range map[string][]byte{"ISO": iso, "EWKB": e} {
				out, err := wkbTo2D(nil, in)
				if err != nil {
					t.Fatalf("%s %s %v: %v", name, kind, order, err)
				}
				got, err := wkb.Unmarshal(out)
				if err != nil || got.Layout() != geom.XY || out[0] != 1 {
					t.Fatalf("%s %s %v: %v %v", name, kind, order, got, err)
				}
				n := 0
				if gc, ok := got.(*geom.GeometryCollection); ok {
					for _, part := range gc.Geoms() {
						n += len(part.FlatCoords())
					}
				} else {
					n = len(got.FlatCoords())
				}
				if n != c.n {
					t.Errorf("%s %s: %d ordinates, want %d", name, kind, n, c.n)
				}
			}
		}
	}
	// EWKB with an embedded SRID.
	pt := geom.NewPoint(geom.XYZ).MustSetCoords(geom.Coord{105.5, 21, 3}).SetSRID(4326)
	e, _ := ewkb.Marshal(pt, binary.BigEndian)
	out, err := wkbTo2D(nil, e)
	if g, _ := wkb.Unmarshal(out); err != nil || !reflect.DeepEqual(g.FlatCoords(), []float64{105.5, 21}) {
		t.Errorf("EWKB with SRID: %v %v", g, err)
	}

	iso, _ := wkb.Marshal(mp, binary.LittleEndian)
	if _, err := wkbTo2D(nil, iso[:len(iso)-3]); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: %v", err)
	}
	if _, err := wkbTo2D(nil, append(iso, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	huge := []byte{1, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}
	if _, err := wkbTo2D(nil, huge); err == nil {
		t.Error("a count larger than the blob accepted")
	}
	circular := []byte{1, 8, 0, 0, 0, 0, 0, 0, 0}
	if _, err := wkbTo2D(nil, circular); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("circular string: %v", err)
	}
	if _, err := wkbTo2D(nil, []byte{7, 1, 0, 0, 0}); err == nil || !strings.Contains(err.Error(), "byte order") {
		t.Errorf("bad byte order: %v", err)
	}
}

// dBase values GDAL does not write: logical fields, overflow stars, bad numbers and dates.
func TestShapefileDBFValues(t *testing.T) {
	s := &shpSource{set: &shpSet{stem: "t"}, encFrom: "t.cpg"}
	var rec []byte
	add := func(name string, typ byte, width, dec int, value string) {
		f := dbfField{name: name, key: append(appendJSONString(nil, name), ':'), typ: typ, off: 1 + len(rec), len: width, dec: dec}
		s.fields = append(s.fields, f)
		rec = append(rec, []byte(value+strings.Repeat(" ", width-len(value)))...)
	}
	add("l1", 'L', 1, 0, "T")
	add("l2", 'L', 1, 0, "n")
	add("l3", 'L', 1, 0, "?")
	add("big", 'N', 5, 0, "*****")
	add("dec", 'N', 10, 3, "    12.000")
	add("neg", 'N', 6, 0, "   -42")
	add("f", 'F', 12, 4, "1.5e3")
	add("d0", 'D', 8, 0, "00000000")
	add("c", 'C', 10, 0, "  lề  ")
	rec = append([]byte{' '}, rec...)
	got, problem, err := s.appendProps(nil, rec)
	if err != nil || problem != "" {
		t.Fatalf("%v %q", err, problem)
	}
	want := `{"l1":true,"l2":false,"l3":null,"big":null,"dec":12.0,"neg":-42,"f":1500.0,"d0":null,"c":"  lề"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	s.fields, rec = nil, nil
	add("n", 'N', 4, 0, "1,5")
	add("d", 'D', 8, 0, "20241399")
	rec = append([]byte{' '}, rec...)
	_, problem, _ = s.appendProps(nil, rec)
	if !strings.Contains(problem, `field n holds "1,5", which is not a number`) || !strings.Contains(problem, "field d holds \"20241399\", which is not a date") {
		t.Errorf("problem %q", problem)
	}
	s.fields, rec = nil, nil
	add("c", 'C', 4, 0, "\xff\xfe")
	rec = append([]byte{' '}, rec...)
	_, _, err = s.appendProps(nil, rec)
	rdWantErr(t, err, "field c is not UTF-8", "t.cpg")
}
