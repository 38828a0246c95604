package connect

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haiduong/hub/ingest"
)

// fileServed is one file of the test server.
type fileServed struct {
	body    []byte
	etag    string // empty: no ETag
	modTime time.Time
	ctype   string
}

// fileServer serves files by path with ETag and Last-Modified (and answers 304 to a
// matching If-None-Match or If-Modified-Since).
type fileServer struct {
	*httptest.Server
	mu      sync.Mutex
	files   map[string]fileServed
	headers []http.Header
}

func newFileServer(t *testing.T) *fileServer {
	s := &fileServer{files: map[string]fileServed{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f, ok := s.files[r.URL.Path]
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if f.etag != "" {
			w.Header().Set("ETag", f.etag)
		}
		if f.ctype != "" {
			w.Header().Set("Content-Type", f.ctype)
		}
		http.ServeContent(w, r, "", f.modTime, bytes.NewReader(f.body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fileServer) put(path string, f fileServed) {
	s.mu.Lock()
	s.files[path] = f
	s.mu.Unlock()
}

func (s *fileServer) lastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[len(s.headers)-1]
}

func fileOpen(t *testing.T, cfg Config) (*Fetch, error) {
	t.Helper()
	c, err := Get("file")
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Open(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}

func fileRead(t *testing.T, f *Fetch) ([]ingest.Feature, []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var all []ingest.Feature
	err := f.Read(context.Background(), func(b []ingest.Feature) error {
		mu.Lock()
		all = append(all, b...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	slices.SortFunc(all, func(a, b ingest.Feature) int { return int(a.N - b.N) })
	var props []map[string]any
	for _, ft := range all {
		if ft.Problem != "" {
			t.Errorf("feature %d: %s", ft.N, ft.Problem)
		}
		var m map[string]any
		if err := json.Unmarshal(ft.Props, &m); err != nil {
			t.Fatalf("feature %d: props %s: %v", ft.N, ft.Props, err)
		}
		props = append(props, m)
	}
	return all, props
}

const fileCSV1 = `ma,ten,kinh_do,vi_do,so_lao_dong
DN-1,Công ty Hải Dương Xanh,106.3,20.9,12
DN-2,Hợp tác xã Cẩm Giàng,106.31,20.91,8
`

const fileCSV2 = fileCSV1 + `DN-3,Doanh nghiệp Tứ Kỳ,106.32,20.92,40
`

func TestFileCSVETag(t *testing.T) {
	s := newFileServer(t)
	s.put("/du-lieu/doanh_nghiep.csv", fileServed{body: []byte(fileCSV1), etag: `"v1"`, modTime: time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)})
	cfg := Config{Endpoint: s.URL + "/du-lieu/doanh_nghiep.csv", Detect: Hash, Key: "ma",
		Headers: map[string]string{"Authorization": "Bearer thu-nghiem"}}
	f, err := fileOpen(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.lastHeader().Get("Authorization"); got != "Bearer thu-nghiem" {
		t.Errorf("the server got Authorization %q", got)
	}
	feats, props := fileRead(t, f)
	if len(feats) != 2 || !f.Complete {
		t.Fatalf("read %d features, Complete %v; want 2 and a complete read", len(feats), f.Complete)
	}
	if !bytes.Equal(feats[0].WKB, ingest.PointWKB(106.3, 20.9)) {
		t.Errorf("WKB %x, want the point 106.3 20.9", feats[0].WKB)
	}
	if props[0]["ten"] != "Công ty Hải Dương Xanh" || props[1]["ma"] != "DN-2" {
		t.Errorf("props %v", props)
	}
	if f.Validator != `etag:"v1"` {
		t.Errorf("Validator %q, want etag:\"v1\"", f.Validator)
	}
	tmp := f.Source.(*scrubSource).Source.(*fileSource).path
	if filepath.Ext(tmp) != ".csv" {
		t.Errorf("temporary file %s, want a .csv", tmp)
	}
	f.Close()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file %s is left after Close (%v)", tmp, err)
	}

	// Unchanged: the validator makes the server answer 304.
	cfg.Validator = f.Validator
	if _, err := fileOpen(t, cfg); !errors.Is(err, ErrNotModified) {
		t.Fatalf("second run: %v, want ErrNotModified", err)
	}
	if got := s.lastHeader().Get("If-None-Match"); got != `"v1"` {
		t.Errorf("If-None-Match %q", got)
	}

	// Changed: read again, with the new validator.
	s.put("/du-lieu/doanh_nghiep.csv", fileServed{body: []byte(fileCSV2), etag: `"v2"`, modTime: time.Date(2024, 3, 2, 8, 0, 0, 0, time.UTC)})
	f, err = fileOpen(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if feats, _ := fileRead(t, f); len(feats) != 3 || f.Validator != `etag:"v2"` {
		t.Errorf("changed file: %d features, Validator %q; want 3 and etag:\"v2\"", len(feats), f.Validator)
	}
}

const fileGeoJSON = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"Ten":"Chùa Thanh Mai","Cap_xep_hang":"CẤP QUỐC GIA","nam":1329},"geometry":{"type":"Point","coordinates":[106.463335,21.21751]}},
{"type":"Feature","properties":{"Ten":"Côn Sơn","Cap_xep_hang":"CẤP QUỐC GIA","nam":1300},"geometry":{"type":"Point","coordinates":[106.38198,21.150689]}}
]}`

func TestFileGeoJSONLastModifiedMapping(t *testing.T) {
	s := newFileServer(t)
	mod := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	// No extension in the URL: the format comes from the option, or the content type.
	s.put("/tai-ve", fileServed{body: []byte(fileGeoJSON), modTime: mod})
	s.put("/api/di-tich", fileServed{body: []byte(fileGeoJSON), modTime: mod, ctype: "application/geo+json"})
	cfg := Config{Endpoint: s.URL + "/tai-ve?id=7", Options: map[string]string{"format": "geojson"},
		Mapping: map[string]string{"ten": "Ten", "xep_hang": "Cap_xep_hang"}}
	f, err := fileOpen(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	feats, props := fileRead(t, f)
	if len(feats) != 2 || feats[1].WKB == nil || f.SRID() != 4326 {
		t.Fatalf("read %d features, SRID %d", len(feats), f.SRID())
	}
	want := map[string]any{"ten": "Côn Sơn", "xep_hang": "CẤP QUỐC GIA"}
	if fmt.Sprint(props[1]) != fmt.Sprint(want) {
		t.Errorf("mapped props %v, want %v", props[1], want)
	}
	if !slices.Equal(f.Keys(), []string{"ten", "xep_hang"}) {
		t.Errorf("Keys %q, want the mapped fields", f.Keys())
	}
	if f.Validator != "modified:"+mod.Format(http.TimeFormat) {
		t.Errorf("Validator %q", f.Validator)
	}

	cfg.Validator = f.Validator
	if _, err := fileOpen(t, cfg); !errors.Is(err, ErrNotModified) {
		t.Fatalf("second run: %v, want ErrNotModified", err)
	}
	if got := s.lastHeader().Get("If-Modified-Since"); got != mod.Format(http.TimeFormat) {
		t.Errorf("If-Modified-Since %q", got)
	}
	s.put("/tai-ve", fileServed{body: []byte(fileGeoJSON), modTime: mod.Add(time.Hour)})
	f, err = fileOpen(t, cfg)
	if err != nil {
		t.Fatalf("changed file: %v", err)
	}
	if f.Validator != "modified:"+mod.Add(time.Hour).Format(http.TimeFormat) {
		t.Errorf("new Validator %q", f.Validator)
	}

	f, err = fileOpen(t, Config{Endpoint: s.URL + "/api/di-tich"})
	if err != nil {
		t.Fatalf("by content type: %v", err)
	}
	if feats, props := fileRead(t, f); len(feats) != 2 || props[0]["Ten"] != "Chùa Thanh Mai" || props[0]["nam"] != float64(1329) {
		t.Errorf("unmapped props %v", props)
	}
}

func TestFileShapefileZip(t *testing.T) {
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		t.Fatal("ogr2ogr (gdal-bin) is not installed: make test installs it (apt-get install gdal-bin)")
	}
	src := "/work/shared/data/poi/chilinh_historic_sites.geojson"
	if _, err := os.Stat(src); err != nil {
		// Outside the shared data, build from the test's own GeoJSON.
		src = filepath.Join(t.TempDir(), "di_tich.geojson")
		if err := os.WriteFile(src, []byte(fileGeoJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var names []string // the source's Ten, in order
	{
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var fc struct {
			Features []struct {
				Properties struct{ Ten string }
			}
		}
		if err := json.Unmarshal(b, &fc); err != nil {
			t.Fatal(err)
		}
		for _, f := range fc.Features {
			names = append(names, f.Properties.Ten)
		}
	}
	want := len(names)
	dir := t.TempDir()
	shp := filepath.Join(dir, "di_tich.shp")
	if out, err := exec.Command("ogr2ogr", "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", shp, src).CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr: %v\n%s", err, out)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, ext := range []string{".shp", ".shx", ".dbf", ".prj", ".cpg"} {
		b, err := os.ReadFile(strings.TrimSuffix(shp, ".shp") + ext)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create("di_tich" + ext)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	s := newFileServer(t)
	s.put("/chi-linh/di_tich.zip", fileServed{body: buf.Bytes(), etag: `W/"zip-1"`, modTime: time.Now()})
	cfg := Config{Endpoint: s.URL + "/chi-linh/di_tich.zip", Detect: Hash, Mapping: map[string]string{"ten": "Ten"}}
	f, err := fileOpen(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	feats, props := fileRead(t, f)
	if len(feats) != want || want == 0 {
		t.Fatalf("read %d features, want %d", len(feats), want)
	}
	if f.SRID() != 4326 || f.Format() != "Shapefile" {
		t.Errorf("SRID %d Format %q", f.SRID(), f.Format())
	}
	for i, ft := range feats {
		if ft.WKB == nil || props[i]["ten"] == nil || len(props[i]) != 1 {
			t.Errorf("feature %d: WKB %x props %v", ft.N, ft.WKB, props[i])
		}
	}
	for i := range props {
		if props[i]["ten"] != names[i] {
			t.Errorf("feature %d: ten %v, want %q", i+1, props[i]["ten"], names[i])
		}
	}
	if f.Validator != `etag:W/"zip-1"` {
		t.Errorf("Validator %q", f.Validator)
	}
	cfg.Validator = f.Validator
	if _, err := fileOpen(t, cfg); !errors.Is(err, ErrNotModified) {
		t.Errorf("second run: %v, want ErrNotModified", err)
	}
}

func TestFileErrors(t *testing.T) {
	s := newFileServer(t)
	s.put("/khong-ro", fileServed{body: []byte(fileCSV1), modTime: time.Now(), ctype: "application/octet-stream"})
	s.put("/hong.geojson", fileServed{body: []byte(`{"type":"FeatureCollection","features":[{"type":`), modTime: time.Now()})
	s.put("/diem.csv", fileServed{body: []byte(fileCSV1), modTime: time.Now()})
	want := func(err error, parts ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("no error, want one saying %q", parts)
			return
		}
		t.Log(err)
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not say %q", err, p)
			}
		}
		if strings.Contains(err.Error(), "bi-mat") || strings.Contains(err.Error(), os.TempDir()+"/hub-source") {
			t.Errorf("error %q shows a token or the temporary file", err)
		}
	}
	_, err := fileOpen(t, Config{Endpoint: s.URL + "/khong-co.csv?token=bi-mat"})
	want(err, "404", "/khong-co.csv")
	if errors.Is(err, ErrNotModified) {
		t.Error("404 is ErrNotModified")
	}
	_, err = fileOpen(t, Config{Endpoint: s.URL + "/diem.csv", Detect: Watermark, WatermarkField: "ngay"})
	want(err, "hash")
	_, err = fileOpen(t, Config{Endpoint: s.URL + "/khong-ro"})
	want(err, "option format")
	_, err = fileOpen(t, Config{Endpoint: s.URL + "/diem.csv", Options: map[string]string{"format": "kml"}})
	want(err, "format", "kml")
	_, err = fileOpen(t, Config{Endpoint: s.URL + "/diem.csv", Options: map[string]string{"srs": "VN-2000"}})
	want(err, "srs", "EPSG")
	_, err = fileOpen(t, Config{Endpoint: "ftp://example.com/a.csv"})
	want(err, "http")
	_, err = fileOpen(t, Config{Endpoint: s.URL + "/ban-do.shp"})
	want(err, "zip")
	_, err = fileOpen(t, Config{Endpoint: "http://127.0.0.1:1/a.csv?token=bi-mat"})
	want(err, "cannot download")

	s.put("/khong-toa-do.csv", fileServed{body: []byte("ma,ten\nDN-1,Công ty\n"), modTime: time.Now()})
	_, err = fileOpen(t, Config{Endpoint: s.URL + "/khong-toa-do.csv"})
	want(err, "khong-toa-do.csv")

	// A broken file fails the read, naming the URL rather than the temporary file.
	f, err := fileOpen(t, Config{Endpoint: s.URL + "/hong.geojson"})
	if err == nil {
		err = f.Read(context.Background(), func([]ingest.Feature) error { return nil })
	}
	want(err, "hong.geojson")

	// Options reach the reader: the CSV read as records has no geometry.
	f, err = fileOpen(t, Config{Endpoint: s.URL + "/diem.csv", Options: map[string]string{"records": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	feats, props := fileRead(t, f)
	if len(feats) != 2 || feats[0].WKB != nil || props[0]["kinh_do"] == nil {
		t.Errorf("records: %d features, WKB %x, props %v", len(feats), feats[0].WKB, props[0])
	}
}
