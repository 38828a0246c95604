package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/internal/testaccess"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
	"github.com/haiduong/hub/server"
	"github.com/haiduong/hub/web"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const installHint = "install the browser driver: npm ci --prefix web/testdata (playwright-core; it drives Debian's chromium: apt-get install chromium)"

// browserResult is what testdata/map.mjs reports.
type browserResult struct {
	ConsoleErrors []string
	Tiles         []struct {
		URL    string
		Status int
	}
	Glyphs []struct {
		URL    string
		Status int
	}
	Labels     []string
	Steps      []string
	LayerItems []string
	KeyShown   string
	LegendRows int
	Results    []string
	Province   view
	Found      view
	Parcel     view
	Popup      struct{ Title, Text, Link string }
	Error      string
}

type view struct {
	Zoom   float64
	Center [2]float64
}

// TestMapPageInChromium opens /map in headless Chromium against the real hub on the sample
// data: the page must load without a console error, draw tiles, find a commune by a name
// typed without accents and show a parcel's attributes on a click.
func TestMapPageInChromium(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: %v; %s", err, installHint)
	}
	if _, err := os.Stat("testdata/node_modules/playwright-core/package.json"); err != nil {
		t.Fatalf("%v; %s", err, installHint)
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%v; %s", err, installHint)
	}

	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := sample.Build(ctx, pool, sample.Options{Parcels: 2000, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	key := testaccess.Connected(t, pool)
	srv := httptest.NewServer(testaccess.As(key, server.New(pool, reg, server.Config{Version: "test", TileCacheBytes: 64 << 20})))
	defer srv.Close()

	// A point well inside the largest parcel: the click at the centre of the view lands on it.
	parcels, _ := reg.Get("land-parcels")
	var lon, lat float64
	var fid int64
	if err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT fid, ST_X(p), ST_Y(p) FROM (
		SELECT fid, ST_Transform(ST_PointOnSurface(geom), 4326) p FROM %s ORDER BY dien_tich DESC LIMIT 1) x`,
		parcels.QualifiedTable())).Scan(&fid, &lon, &lat); err != nil {
		t.Fatal(err)
	}

	// The browser gets a minute whatever happens (each step in map.mjs has its own 20 s).
	bctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(bctx, node, "testdata/map.mjs", srv.URL, fmt.Sprint(lon), fmt.Sprint(lat), dir)
	// A planner of a connected agency: parcels and the other default layers are its to see.
	cmd.Env = append(os.Environ(), "HUB_CHROMIUM="+chromium, "HUB_KEY="+key)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("map.mjs: %v\n%s\n%s", err, stderr.String(), raw)
	}
	var res browserResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("map.mjs output: %v: %s", err, raw)
	}
	if res.Error != "" {
		t.Fatalf("in the browser, after %v: %s\nconsole errors: %q", res.Steps, res.Error, res.ConsoleErrors)
	}
	if len(res.ConsoleErrors) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(res.ConsoleErrors, "\n"))
	}

	// The page starts on the province, lists every layer with a legend.
	if res.Province.Zoom < 8 || res.Province.Zoom > 11 || !inProvince(res.Province.Center) {
		t.Errorf("the map opens on %+v, not on the province", res.Province)
	}
	// The key box shows the key's public id, never the secret.
	if res.KeyShown != key[:12] {
		t.Errorf("the map shows the key as %q, want its id %q", res.KeyShown, key[:12])
	}
	if len(res.LayerItems) != len(reg.Spatial()) || res.LegendRows < 20 {
		t.Errorf("layer list %v with %d legend rows; want the %d layers with their classes", res.LayerItems, res.LegendRows, len(reg.Spatial()))
	}

	// Place names are drawn, in Vietnamese, with glyphs the hub served.
	if !slices.ContainsFunc(res.Labels, func(s string) bool { return strings.ContainsAny(s, "ăâđêôơưĂÂĐÊÔƠƯ") }) {
		t.Errorf("no Vietnamese place name is drawn on the province view: %q", res.Labels)
	}
	if len(res.Glyphs) == 0 {
		t.Error("no glyphs were requested")
	}
	for _, g := range res.Glyphs {
		if g.Status != http.StatusOK && g.Status != http.StatusNotModified {
			t.Errorf("glyphs %s: %d", g.URL, g.Status)
		}
	}

	// Tiles were asked for and drawn.
	drawn := 0
	for _, tl := range res.Tiles {
		if tl.Status == http.StatusOK {
			drawn++
		}
		if tl.Status >= 400 {
			t.Errorf("tile %s: %d", tl.URL, tl.Status)
		}
	}
	if drawn == 0 {
		t.Errorf("no tile came back with data: %v", res.Tiles)
	}
	if share := inked(t, filepath.Join(dir, "province.png")); share < 0.02 {
		t.Errorf("the province view is nearly blank: %.1f%% of its pixels differ from the background", share*100)
	}
	if share := inked(t, filepath.Join(dir, "parcels.png")); share < 0.5 {
		t.Errorf("the parcel view at z16 is not covered by parcels: %.1f%% of its pixels differ from the background", share*100)
	}

	// "thanh mien" finds Thanh Miện and the map goes there.
	if len(res.Results) == 0 || !strings.HasPrefix(res.Results[0], "Xã Thanh Miện") {
		t.Errorf("search results for thanh mien: %q", res.Results)
	}
	if res.Found.Zoom <= res.Province.Zoom || !inProvince(res.Found.Center) {
		t.Errorf("after the search the map shows %+v (province view %+v)", res.Found, res.Province)
	}

	// The click shows the parcel with its Vietnamese field titles and links to its page.
	if !strings.HasPrefix(res.Popup.Title, "Thửa đất") || !strings.Contains(res.Popup.Text, "Mục đích sử dụng đất") {
		t.Errorf("popup: %+v", res.Popup)
	}
	if !regexp.MustCompile(`^/collections/land-parcels/items/\d+\?f=html$`).MatchString(res.Popup.Link) {
		t.Fatalf("popup link %q", res.Popup.Link)
	}
	page, err := http.Get(srv.URL + res.Popup.Link)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: %d %s", res.Popup.Link, page.StatusCode, page.Header.Get("Content-Type"))
	}
}

// TestMapPageFormats: the page is HTML by default (the landing page links it as text/html),
// its links as JSON on ?f=json, and any other parameter is refused.
func TestMapPageFormats(t *testing.T) {
	h := web.HandleMap()
	for _, c := range []struct {
		url, accept string
		status      int
		ctype       string
	}{
		{"/map", "*/*", 200, "text/html"},
		{"/map?f=html", "application/json", 200, "text/html"},
		{"/map?f=json", "text/html", 200, "application/json"},
		{"/map?f=xml", "", 400, "application/json"},
		{"/map?zoom=3", "", 400, "application/json"},
	} {
		req := httptest.NewRequest("GET", c.url, nil)
		req.Header.Set("Accept", c.accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("%s (Accept %s): %d %s, want %d %s", c.url, c.accept, rec.Code, rec.Header().Get("Content-Type"), c.status, c.ctype)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/map?f=html", nil))
	for _, want := range []string{`id="map"`, `id="find-q"`, `id="layers"`, `/static/vendor/maplibre-gl/maplibre-gl.js`, `/static/map.js`, `/static/map.css`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("the map page lacks %s", want)
		}
	}
}

func inProvince(c [2]float64) bool {
	return c[0] > 106.12 && c[0] < 106.62 && c[1] > 20.68 && c[1] < 21.24
}

// inked is the share of a screenshot's pixels that are not the map's background (#F4F1EA).
func inked(t *testing.T, path string) float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !near(img, x, y, 0xF4, 0xF1, 0xEA) {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func near(img image.Image, x, y int, r, g, b uint32) bool {
	pr, pg, pb, _ := img.At(x, y).RGBA()
	d := func(a, b uint32) uint32 {
		if a > b {
			return a - b
		}
		return b - a
	}
	return d(pr>>8, r)+d(pg>>8, g)+d(pb>>8, b) < 12
}
