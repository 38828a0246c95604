package tiles_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testaccess"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/server"
	"github.com/haiduong/hub/tiles"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// A road in VN-2000 crossing the edge between two z16 tiles, and parcels around it.
const (
	z    = 16
	lon0 = 106.3300
	lat0 = 20.9400
)

var setupOnce sync.Once

func setup(t *testing.T) {
	t.Helper()
	setupOnce.Do(func() {
		pool := testdb.Pool(t)
		ctx := context.Background()
		// The road runs east–west through the tile corner at (lon0, lat0), given in VN-2000.
		var e0, n0, e1, n1 float64
		if err := pool.QueryRow(ctx, `SELECT ST_X(a), ST_Y(a), ST_X(b), ST_Y(b) FROM
			(SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 9209) a, ST_Transform(ST_SetSRID(ST_MakePoint($3, $2), 4326), 9209) b) s`,
			lon0-0.012, lat0, lon0+0.012).Scan(&e0, &n0, &e1, &n1); err != nil {
			t.Fatal(err)
		}
		road := fmt.Sprintf(`{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:9209"}}, "features": [
		 {"type": "Feature", "properties": {"road_no": "ĐT.392", "secret": "x"}, "geometry": {"type": "LineString", "coordinates": [[%f, %f], [%f, %f]]}}]}`, e0, n0, e1, n1)
		importFile(t, "roads-test", road, layers.Layer{Title: "Đường thử", MinZoom: 10, MaxZoom: 20, Fields: []layers.Field{
			{Name: "road_no", Type: "string"}, {Name: "secret", Type: "string", Personal: true, Category: "specific"}}})
		var fs []string
		for i := 0; i < 40; i++ {
			x, y := lon0-0.002+float64(i%8)*0.0005, lat0-0.001+float64(i/8)*0.0005
			fs = append(fs, fmt.Sprintf(`{"type": "Feature", "properties": {"so_thua": %d, "land_use": "LUC"}, "geometry": {"type": "Polygon", "coordinates": [[[%f, %f], [%f, %f], [%f, %f], [%f, %f], [%f, %f]]]}}`,
				i+1, x, y, x+0.0004, y, x+0.0004, y+0.0004, x, y+0.0004, x, y))
		}
		importFile(t, "parcels-test", `{"type": "FeatureCollection", "features": [`+strings.Join(fs, ",")+`]}`,
			layers.Layer{Title: "Thửa thử", MinZoom: 14, MaxZoom: 22})
	})
}

func importFile(t *testing.T, id, content string, def layers.Layer) {
	t.Helper()
	p := filepath.Join(t.TempDir(), id+".geojson")
	os.WriteFile(p, []byte(content), 0o644)
	src, err := ingest.Open(p, ingest.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := ingest.Import(context.Background(), testdb.Pool(t), src, p, ingest.Options{Collection: id, Definition: def, Category: testaccess.OpenUnlessEntry(def)}); err != nil {
		t.Fatal(err)
	}
}

func newHub(t *testing.T, cacheBytes int) (*httptest.Server, context.CancelFunc) {
	t.Helper()
	setup(t)
	pool := testdb.Pool(t)
	reg, err := layers.Load(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go reg.Listen(ctx)
	srv := httptest.NewServer(testaccess.As(testaccess.Connected(t, pool), server.New(pool, reg, server.Config{Version: "test", TileCacheBytes: cacheBytes})))
	t.Cleanup(func() { srv.Close(); cancel() })
	return srv, cancel
}

type tileResponse struct {
	status int
	header http.Header
	body   []byte
}

func fetch(t *testing.T, url string, headers ...string) tileResponse {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// No transparent gunzip: the test checks what the server sends.
	res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return tileResponse{res.StatusCode, res.Header, b}
}

func decode(t *testing.T, b []byte) map[string]*mvt.Layer {
	t.Helper()
	ls, err := mvt.Unmarshal(b)
	if err != nil {
		t.Fatalf("not a vector tile: %v", err)
	}
	out := map[string]*mvt.Layer{}
	for _, l := range ls {
		out[l.Name] = l
	}
	return out
}

func tileOf(lon, lat float64, zoom int) maptile.Tile {
	return maptile.At([2]float64{lon, lat}, maptile.Zoom(zoom))
}

func tilePath(base, coll string, tl maptile.Tile) string {
	if coll == "" {
		return fmt.Sprintf("%s/tiles/WebMercatorQuad/%d/%d/%d", base, tl.Z, tl.Y, tl.X)
	}
	return fmt.Sprintf("%s/collections/%s/tiles/WebMercatorQuad/%d/%d/%d", base, coll, tl.Z, tl.Y, tl.X)
}

func TestTileContent(t *testing.T) {
	srv, _ := newHub(t, 0)
	// The road crosses the boundary between the tiles west and east of lon0 (lon0 is inside
	// one tile; the road spans ±0.012°, beyond its neighbours): it must be in each of them.
	tl := tileOf(lon0, lat0, z)
	for dx := -1; dx <= 1; dx++ {
		tt := maptile.New(uint32(int(tl.X)+dx), tl.Y, tl.Z)
		r := fetch(t, tilePath(srv.URL, "roads-test", tt))
		if r.status != 200 || r.header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" {
			t.Fatalf("tile %v: %d %s", tt, r.status, r.header.Get("Content-Type"))
		}
		l := decode(t, r.body)["roads-test"]
		if l == nil || len(l.Features) != 1 {
			t.Fatalf("tile %v: road layer %v", tt, l)
		}
		f := l.Features[0]
		if f.Properties["road_no"] != "ĐT.392" || f.Properties["secret"] != nil {
			t.Errorf("properties %v: want road_no and no personal field", f.Properties)
		}
		if id, ok := f.ID.(float64); !ok || id != 1 {
			if uid, ok := f.ID.(uint64); !ok || uid != 1 {
				t.Errorf("feature id %v (%T), want the fid 1", f.ID, f.ID)
			}
		}
		// The line runs beyond the tile into the buffer on both sides, so it joins its neighbours.
		b := f.Geometry.Bound()
		if b.Min[0] > 0 || b.Max[0] < 4096 {
			t.Errorf("tile %v: the road spans x %.0f–%.0f, want beyond 0 and 4096 (buffer)", tt, b.Min[0], b.Max[0])
		}
	}

	r := fetch(t, tilePath(srv.URL, "", tl)+"?collections=parcels-test,roads-test")
	ls := decode(t, r.body)
	if ls["parcels-test"] == nil || ls["roads-test"] == nil || len(ls["parcels-test"].Features) == 0 {
		t.Errorf("dataset tile layers: %v", ls)
	}

	for _, c := range []struct {
		path   string
		status int
	}{
		{tilePath(srv.URL, "parcels-test", maptile.New(0, 0, 15)), 204},             // nothing there
		{tilePath(srv.URL, "parcels-test", tileOf(lon0, lat0, 12)), 404},            // below the layer's zoom range
		{srv.URL + "/collections/parcels-test/tiles/WebMercatorQuad/3/8/1", 404},    // outside the matrix
		{srv.URL + "/collections/parcels-test/tiles/WebMercatorQuad/15/abc/1", 400}, // bad path
		{srv.URL + "/collections/parcels-test/tiles/OtherQuad/15/1/1", 404},         // unknown tile matrix set
		{srv.URL + "/collections/nope/tiles/WebMercatorQuad/15/1/1", 404},           // unknown collection
		{srv.URL + "/tiles/WebMercatorQuad/15/1/1?collections=nope", 400},           // unknown layer in a set
		{tilePath(srv.URL, "parcels-test", tileOf(lon0, lat0, 16)) + ".pbf", 200},   // suffixes accepted
		{tilePath(srv.URL, "parcels-test", tileOf(lon0, lat0, 16)) + "?foo=1", 400}, // unknown parameter
	} {
		if r := fetch(t, c.path); r.status != c.status {
			t.Errorf("%s: %d, want %d", strings.TrimPrefix(c.path, srv.URL), r.status, c.status)
		}
	}
}

func TestCacheFreshness(t *testing.T) {
	srv, _ := newHub(t, 16<<20)
	url := tilePath(srv.URL, "parcels-test", tileOf(lon0, lat0, 16))
	first := fetch(t, url, "Accept-Encoding", "gzip")
	if first.status != 200 || first.header.Get("Content-Encoding") != "gzip" || first.header.Get("ETag") == "" {
		t.Fatalf("first: %d %v", first.status, first.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(first.body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	n0 := len(decode(t, raw)["parcels-test"].Features)
	if r := fetch(t, url, "If-None-Match", first.header.Get("ETag")); r.status != 304 {
		t.Errorf("If-None-Match: %d, want 304", r.status)
	}
	plain := fetch(t, url)
	if plain.header.Get("Content-Encoding") != "" || !bytes.Equal(plain.body, raw) {
		t.Errorf("without Accept-Encoding the tile must come plain and equal")
	}

	// Concurrent requests for a tile nobody has asked for yet: one query.
	var metricsBefore = queries(t, srv.URL)
	other := tilePath(srv.URL, "parcels-test", tileOf(lon0+0.001, lat0+0.001, 18))
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); fetch(t, other) }()
	}
	wg.Wait()
	if got := queries(t, srv.URL) - metricsBefore; got != 1 {
		t.Errorf("20 concurrent requests for a new tile ran %d queries, want 1", got)
	}

	// An import makes every hub serve the new data at once, without waiting for the cache.
	more := fmt.Sprintf(`{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"so_thua": 99, "land_use": "ONT"},
	  "geometry": {"type": "Polygon", "coordinates": [[[%[1]f, %[2]f], [%[3]f, %[2]f], [%[3]f, %[4]f], [%[1]f, %[4]f], [%[1]f, %[2]f]]]}}]}`,
		lon0+0.0001, lat0+0.0001, lon0+0.0002, lat0+0.0002)
	mp := filepath.Join(t.TempDir(), "more2.geojson")
	os.WriteFile(mp, []byte(more), 0o644)
	src, _ := ingest.Open(mp, ingest.OpenOptions{})
	if _, err := ingest.Import(context.Background(), testdb.Pool(t), src, mp, ingest.Options{Collection: "parcels-test", Mode: "append"}); err != nil {
		t.Fatal(err)
	}
	src.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := fetch(t, url)
		if r.status == 200 && r.header.Get("ETag") != first.header.Get("ETag") {
			if n := len(decode(t, r.body)["parcels-test"].Features); n != n0+1 {
				t.Errorf("after the import the tile has %d parcels, want %d", n, n0+1)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tile did not change within 5 s of the import")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func queries(t *testing.T, base string) int64 {
	t.Helper()
	r := fetch(t, base+"/metrics")
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, "hub_tile_queries_total ") {
			var n float64
			fmt.Sscan(strings.TrimPrefix(line, "hub_tile_queries_total "), &n)
			return int64(n)
		}
	}
	t.Fatal("no hub_tile_queries_total in /metrics")
	return 0
}

func TestTileJSONAndMetadata(t *testing.T) {
	srv, _ := newHub(t, 0)
	var tj struct {
		TileJSON     string    `json:"tilejson"`
		Tiles        []string  `json:"tiles"`
		Bounds       []float64 `json:"bounds"`
		MinZoom      int       `json:"minzoom"`
		VectorLayers []struct {
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"vector_layers"`
	}
	r := fetch(t, srv.URL+"/collections/roads-test/tiles/WebMercatorQuad?f=tilejson")
	if err := json.Unmarshal(r.body, &tj); err != nil {
		t.Fatal(err)
	}
	if tj.TileJSON != "3.0.0" || !strings.HasPrefix(tj.Tiles[0], srv.URL+"/collections/roads-test/tiles/WebMercatorQuad/{z}/{y}/{x}") ||
		len(tj.VectorLayers) != 1 || tj.VectorLayers[0].Fields["road_no"] != "String" || tj.VectorLayers[0].Fields["secret"] != "" ||
		math.Abs(tj.Bounds[0]-(lon0-0.012)) > 0.001 || tj.MinZoom != 10 {
		t.Errorf("TileJSON: %s", r.body)
	}
	r = fetch(t, srv.URL+"/tiles/WebMercatorQuad?collections=roads-test,parcels-test&f=tilejson")
	json.Unmarshal(r.body, &tj)
	if len(tj.VectorLayers) != 2 || !strings.Contains(tj.Tiles[0], "collections=roads-test%2Cparcels-test") {
		t.Errorf("dataset TileJSON: %s", r.body)
	}
	for _, p := range []string{"/tileMatrixSets", "/tileMatrixSets/WebMercatorQuad", "/collections/roads-test/tiles", "/collections/roads-test/tiles/WebMercatorQuad", "/tiles"} {
		if r := fetch(t, srv.URL+p); r.status != 200 || !json.Valid(r.body) {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	var conf struct{ ConformsTo []string }
	json.Unmarshal(fetch(t, srv.URL+"/conformance").body, &conf)
	if !strings.Contains(strings.Join(conf.ConformsTo, " "), "ogcapi-tiles-1/1.0/conf/mvt") {
		t.Errorf("conformance lacks the tiles classes")
	}
}

// The tile query can read the layer's spatial index on the Web Mercator geometry. The test
// table is too small for the planner to prefer an index, so sequential scans are switched off:
// this fails when the index is missing or the query's form cannot use it, not on a plan choice.
func TestTileQueryCanUseTheIndex(t *testing.T) {
	setup(t)
	pool := testdb.Pool(t)
	ctx := context.Background()
	l, err := layers.LoadOne(ctx, pool, "parcels-test")
	if err != nil || l == nil || l.WebColumn == "" {
		t.Fatalf("layer %v %v", l, err)
	}
	if _, err := pool.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	tl := tileOf(lon0, lat0, 16)
	sql, args := tiles.SQL([]*policy.View{policy.Open().View(l)}, 16, int(tl.X), int(tl.Y))
	rows, err := pool.Query(ctx, "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		rows.Scan(&line)
		plan.WriteString(line + "\n")
	}
	if !strings.Contains(plan.String(), "parcels_test_geom_web") {
		t.Errorf("the tile query does not use the geom_web index:\n%s", plan.String())
	}
}

// Two hub processes share tiles through Redis; "hub tiles purge" empties both caches.
func TestSharedCacheAndPurge(t *testing.T) {
	setup(t)
	ctx := context.Background()
	pool := testdb.Pool(t)
	shared, err := tiles.OpenShared(ctx, "redis://127.0.0.1:6379/9")
	if err != nil {
		t.Fatalf("%v (the tests need Redis on 127.0.0.1:6379)", err)
	}
	defer shared.Close()
	if _, err := shared.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := reg.Get("parcels-test")
	a := tiles.NewService(reg, pool, 8<<20, shared)
	b := tiles.NewService(reg, pool, 8<<20, shared)
	tl := tileOf(lon0, lat0, 17)
	sa, err := a.Build(ctx, l, 17, int(tl.X), int(tl.Y))
	if err != nil || sa == 0 {
		t.Fatalf("build: %d %v", sa, err)
	}
	sb, err := b.Build(ctx, l, 17, int(tl.X), int(tl.Y))
	if err != nil || sb != sa || b.Queries() != 0 {
		t.Errorf("the second process built the tile itself (%d queries) or got another one (%d vs %d bytes)", b.Queries(), sb, sa)
	}

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.Listen(lctx, pool)
	time.Sleep(200 * time.Millisecond)
	if n, err := shared.Purge(ctx); err != nil || n != 1 {
		t.Errorf("purged %d shared tiles (%v), want 1", n, err)
	}
	if _, err := pool.Exec(ctx, "NOTIFY "+tiles.PurgeChannel); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if entries, _, _, _ := b.CacheStats(); entries == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the process did not empty its cache on NOTIFY")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := b.Build(ctx, l, 17, int(tl.X), int(tl.Y)); err != nil || b.Queries() != 1 {
		t.Errorf("after the purge the tile must be built again: %d queries, %v", b.Queries(), err)
	}
	if got := tiles.Cover([]float64{106.3, 20.9, 106.31, 20.91}, 12, 13); len(got) < 2 {
		t.Errorf("cover: %v", got)
	}
}
