package styles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/internal/testaccess"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
	"github.com/haiduong/hub/server"
	"github.com/haiduong/hub/styles"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The validator is the style spec's own, at the version the vendored MapLibre GL JS 4.7.1
// bundles (testdata/package.json).
const (
	validator   = "testdata/node_modules/@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs"
	installHint = "install the MapLibre style validator: npm ci --prefix styles/testdata (needs Node.js and the npm registry)"
)

// validate runs gl-style-validate on the files and returns its complaints, one per line.
func validate(t *testing.T, paths ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): %s", err, installHint)
	}
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("%v: %s", err, installHint)
	}
	out, err := exec.Command(node, append([]string{validator}, paths...)...).CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("gl-style-validate: %v: %s", err, installHint)
	}
	return strings.TrimSpace(string(out))
}

func TestStyleFilesAreValid(t *testing.T) {
	// A broken style proves the validator runs and reports, rather than passing everything.
	control := filepath.Join(t.TempDir(), "broken.json")
	os.WriteFile(control, []byte(`{"version": 8, "sources": {}, "layers": [{"id": "x", "type": "fill", "source": "nowhere"}]}`), 0o644)
	if out := validate(t, control); !strings.Contains(out, "nowhere") {
		t.Fatalf("the validator did not catch a missing source: %q", out)
	}
	var paths []string
	for _, id := range styles.IDs() {
		raw, err := os.ReadFile(id + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Errorf("%s.json does not parse: %v", id, err)
		}
		paths = append(paths, id+".json")
	}
	if out := validate(t, paths...); out != "" {
		t.Errorf("style files invalid against the MapLibre style spec:\n%s", out)
	}
}

var (
	sampleOnce sync.Once
	sampleErr  error
)

// hub serves the whole hub on the sample data (built once per package database).
func hub(t *testing.T) (*httptest.Server, *layers.Registry, *pgxpool.Pool) {
	t.Helper()
	pool := testdb.Pool(t)
	ctx := context.Background()
	sampleOnce.Do(func() { sampleErr = sample.Build(ctx, pool, sample.Options{Parcels: 2000, Seed: 1}) })
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(testaccess.As(testaccess.Connected(t, pool), server.New(pool, reg, server.Config{Version: "test"})))
	t.Cleanup(srv.Close)
	return srv, reg, pool
}

func get(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, body)
		}
	}
	return res
}

type styleDoc struct {
	Name     string                    `json:"name"`
	Sources  map[string]map[string]any `json:"sources"`
	Layers   []map[string]any          `json:"layers"`
	Metadata map[string]any            `json:"metadata"`
}

// gets lists the properties an expression reads with ["get", name].
func gets(v any, out map[string]bool) {
	switch e := v.(type) {
	case []any:
		if len(e) == 2 && e[0] == "get" {
			if s, ok := e[1].(string); ok {
				out[s] = true
			}
		}
		for _, x := range e {
			gets(x, out)
		}
	case map[string]any:
		for _, x := range e {
			gets(x, out)
		}
	}
}

// arms returns the labels of a ["match", ["get", field], …] colour expression, keyed as the
// legend keys them ("LUC,LUK" for an array label).
func arms(e []any) (field string, labels []string) {
	if len(e) < 4 || e[0] != "match" {
		return "", nil
	}
	g, _ := e[1].([]any)
	if len(g) != 2 || g[0] != "get" {
		return "", nil
	}
	field, _ = g[1].(string)
	for i := 2; i+1 < len(e); i += 2 {
		switch l := e[i].(type) {
		case string:
			labels = append(labels, l)
		case []any:
			var parts []string
			for _, p := range l {
				parts = append(parts, fmt.Sprint(p))
			}
			labels = append(labels, strings.Join(parts, ","))
		}
	}
	return field, labels
}

func colourOf(l map[string]any) []any {
	paint, _ := l["paint"].(map[string]any)
	for _, k := range []string{"fill-color", "line-color", "circle-color"} {
		if e, ok := paint[k].([]any); ok {
			return e
		}
	}
	return nil
}

func TestServedStyles(t *testing.T) {
	srv, reg, pool := hub(t)
	ctx := context.Background()

	var list struct {
		Styles []struct {
			ID, Title string
			Links     []struct{ Href, Rel, Type string }
		}
		Default string
	}
	if res := get(t, srv.URL+"/styles", &list); res.StatusCode != 200 {
		t.Fatalf("/styles: %d", res.StatusCode)
	}
	if list.Default != "default" || len(list.Styles) != len(styles.IDs()) {
		t.Fatalf("/styles: default %q, %d styles, want every one of %v", list.Default, len(list.Styles), styles.IDs())
	}
	docs := map[string]styleDoc{}
	dir := t.TempDir()
	var served []string
	for _, s := range list.Styles {
		var sheet string
		for _, l := range s.Links {
			if l.Rel == "stylesheet" && l.Type == "application/vnd.mapbox.style+json" {
				sheet = l.Href
			}
		}
		if s.Title == "" || sheet != srv.URL+"/styles/"+s.ID+"?f=mapbox" {
			t.Errorf("style %s: title %q, stylesheet link %q", s.ID, s.Title, sheet)
			continue
		}
		var doc styleDoc
		res := get(t, sheet, &doc)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.mapbox.style+json" {
			t.Errorf("%s: %d %s", sheet, res.StatusCode, res.Header.Get("Content-Type"))
		}
		docs[s.ID] = doc
		raw, _ := json.Marshal(doc)
		if strings.Contains(string(raw), "{base}") {
			t.Errorf("style %s still has the {base} placeholder", s.ID)
		}
		// Validate what MapLibre receives too: absolute URLs, zoom ranges from the registry.
		var full map[string]any
		get(t, sheet, &full)
		raw, _ = json.Marshal(full)
		p := filepath.Join(dir, s.ID+".json")
		os.WriteFile(p, raw, 0o644)
		served = append(served, p)
	}
	if out := validate(t, served...); out != "" {
		t.Errorf("served styles invalid against the MapLibre style spec:\n%s", out)
	}

	t.Run("sources and fields", func(t *testing.T) {
		for id, doc := range docs {
			for name, src := range doc.Sources {
				tilesURL, _ := src["tiles"].([]any)
				if len(tilesURL) != 1 || !strings.HasPrefix(fmt.Sprint(tilesURL[0]), srv.URL+"/") {
					t.Errorf("style %s source %s: tiles %v are not absolute URLs of the hub", id, name, src["tiles"])
				}
				if src["minzoom"] == nil || src["maxzoom"] == nil || src["bounds"] == nil || src["attribution"] == nil {
					t.Errorf("style %s source %s lacks the registry's zoom range, bounds or attribution: %v", id, name, src)
				}
			}
			for _, l := range doc.Layers {
				if l["type"] == "background" {
					continue
				}
				sl, _ := l["source-layer"].(string)
				lay, ok := reg.Get(sl)
				if !ok {
					t.Errorf("style %s layer %s: source-layer %q is no collection", id, l["id"], sl)
					continue
				}
				if z, _ := l["minzoom"].(float64); z < float64(lay.MinZoom) {
					t.Errorf("style %s layer %s: minzoom %v below the layer's %d", id, l["id"], z, lay.MinZoom)
				}
				if z, ok := l["maxzoom"].(float64); lay.MaxZoom < 22 && (!ok || z > float64(lay.MaxZoom+1)) {
					t.Errorf("style %s layer %s: maxzoom %v above the layer's %d", id, l["id"], l["maxzoom"], lay.MaxZoom)
				}
				if fmt.Sprint(doc.Sources[l["source"].(string)]["tiles"]) == "" {
					t.Errorf("style %s layer %s: no source", id, l["id"])
				}
				used := map[string]bool{}
				gets([]any{l["filter"], l["paint"], l["layout"]}, used)
				for f := range used {
					if fd, ok := lay.Field(f); !ok || fd.Personal || fd.Category == "specific" {
						t.Errorf("style %s layer %s reads %q, not a field served in %s's tiles", id, l["id"], f, sl)
					}
				}
			}
		}
	})

	t.Run("default has every layer, as each layer's own style draws it", func(t *testing.T) {
		def := docs["default"]
		in := map[string]bool{}
		for _, l := range def.Layers {
			if sl, ok := l["source-layer"].(string); ok {
				in[sl] = true
			}
		}
		for _, l := range reg.Spatial() {
			if !in[l.ID] {
				t.Errorf("the default style does not draw %s", l.ID)
			}
			if _, ok := docs[l.ID]; !ok {
				t.Errorf("layer %s has no style of its own (styles/%s.json)", l.ID, l.ID)
			}
		}
		own := map[string]map[string]any{}
		for id, doc := range docs {
			if id == "default" {
				continue
			}
			for _, l := range doc.Layers {
				own[l["id"].(string)] = l
			}
		}
		for _, l := range def.Layers {
			if l["type"] == "background" {
				continue
			}
			o, ok := own[l["id"].(string)]
			if !ok {
				t.Errorf("default layer %s is in no layer's style", l["id"])
				continue
			}
			a, b := strip(l), strip(o)
			if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
				t.Errorf("default layer %s differs from its layer's style (edit both files):\n default: %s\n own:     %s", l["id"], ja, jb)
			}
		}
		src := fmt.Sprint(def.Sources["hub"]["tiles"])
		if !strings.Contains(src, srv.URL+"/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=") {
			t.Errorf("default style source: %s", src)
		}
	})

	t.Run("legends and colours cover the data", func(t *testing.T) {
		var landUse []string
		rows, err := pool.Query(ctx, `SELECT code FROM code_lists WHERE list = 'land-use'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			rows.Scan(&c)
			landUse = append(landUse, c)
		}
		rows.Close()
		for id, doc := range docs {
			if id == "default" {
				continue
			}
			for _, l := range doc.Layers {
				field, labels := arms(colourOf(l))
				if field == "" {
					continue
				}
				meta, _ := l["metadata"].(map[string]any)
				legend, _ := meta["hub:legend"].(map[string]any)
				for _, lb := range append(slices.Clone(labels), "*") {
					if e, _ := legend[lb].([]any); len(e) != 2 {
						t.Errorf("style %s layer %s: no legend entry [vi, en] for %q", id, l["id"], lb)
					}
				}
				if len(legend) != len(labels)+1 {
					t.Errorf("style %s layer %s: legend has %d entries for %d colours and the rest", id, l["id"], len(legend), len(labels))
				}
				coloured := map[string]bool{}
				for _, lb := range labels {
					for _, v := range strings.Split(lb, ",") {
						coloured[v] = true
					}
				}
				lay, _ := reg.Get(l["source-layer"].(string))
				if fd, _ := lay.Field(field); fd.CodeList == "land-use" {
					for _, c := range landUse {
						if !coloured[c] {
							t.Errorf("style %s: land-use code %s has no colour", id, c)
						}
					}
				}
				// Every value in the sample data has its own colour, not the fallback's.
				rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT DISTINCT %[1]s::text FROM %[2]s WHERE %[1]s IS NOT NULL`, pgx.Identifier{field}.Sanitize(), lay.QualifiedTable()))
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var v string
					rows.Scan(&v)
					if !coloured[v] {
						t.Errorf("style %s layer %s: value %q of %s has no colour of its own", id, l["id"], v, field)
					}
				}
				rows.Close()
			}
		}
	})

	t.Run("tile URLs answer", func(t *testing.T) {
		// A z14 tile over the sample parcels, from every style's template.
		parcels, _ := reg.Get("land-parcels")
		x, y := tileOf((parcels.Extent[0]+parcels.Extent[2])/2, (parcels.Extent[1]+parcels.Extent[3])/2, 14)
		for id, doc := range docs {
			for _, src := range doc.Sources {
				tmpl := fmt.Sprint(src["tiles"].([]any)[0])
				z := 14
				if mz, _ := src["minzoom"].(float64); int(mz) > z {
					z = int(mz)
				}
				tx, ty := x>>(14-min(z, 14)), y>>(14-min(z, 14))
				u := strings.NewReplacer("{z}", fmt.Sprint(z), "{x}", fmt.Sprint(tx), "{y}", fmt.Sprint(ty)).Replace(tmpl)
				if res := get(t, u, nil); res.StatusCode != 200 && res.StatusCode != 204 {
					t.Errorf("style %s: %s: %d", id, u, res.StatusCode)
				}
			}
		}
		u := strings.NewReplacer("{z}", "14", "{x}", fmt.Sprint(x), "{y}", fmt.Sprint(y)).Replace(fmt.Sprint(docs["default"].Sources["hub"]["tiles"].([]any)[0]))
		if res := get(t, u, nil); res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" {
			t.Errorf("default style tile over the parcels %s: %d %s", u, res.StatusCode, res.Header.Get("Content-Type"))
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		var e struct{ Code, Description, Parameter string }
		if res := get(t, srv.URL+"/styles/nope", &e); res.StatusCode != 404 || e.Code != "NotFound" {
			t.Errorf("/styles/nope: %d %+v", res.StatusCode, e)
		}
		e.Parameter = ""
		if res := get(t, srv.URL+"/styles/default?zoom=3", &e); res.StatusCode != 400 || e.Parameter != "zoom" {
			t.Errorf("/styles/default?zoom=3: %d %+v", res.StatusCode, e)
		}
		for _, u := range []string{"/styles?f=xml", "/styles/roads?f=sld", "/styles?x=1"} {
			if res := get(t, srv.URL+u, &e); res.StatusCode != 400 {
				t.Errorf("%s: %d", u, res.StatusCode)
			}
		}
		if res := get(t, srv.URL+"/styles/roads?f=json", nil); res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("/styles/roads?f=json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})

	// Last: it takes a layer out of the package's database.
	t.Run("a layer that is not loaded", func(t *testing.T) {
		if _, err := pool.Exec(ctx, `DELETE FROM layers WHERE id = 'buildings'`); err != nil {
			t.Fatal(err)
		}
		if err := reg.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if res := get(t, srv.URL+"/styles/buildings", nil); res.StatusCode != 404 {
			t.Errorf("/styles/buildings without the layer: %d", res.StatusCode)
		}
		get(t, srv.URL+"/styles", &list)
		for _, s := range list.Styles {
			if s.ID == "buildings" {
				t.Error("/styles lists the style of a layer that is not loaded")
			}
		}
		var def styleDoc
		get(t, srv.URL+"/styles/default", &def)
		var full map[string]any
		get(t, srv.URL+"/styles/default", &full)
		raw, _ := json.Marshal(full)
		if strings.Contains(string(raw), "buildings") {
			t.Errorf("the default style still names buildings: %s", raw)
		}
		if len(def.Layers) != len(docs["default"].Layers)-1 {
			t.Errorf("default style: %d layers, want %d", len(def.Layers), len(docs["default"].Layers)-1)
		}
		p := filepath.Join(t.TempDir(), "default.json")
		os.WriteFile(p, raw, 0o644)
		if out := validate(t, p); out != "" {
			t.Errorf("default style without buildings is invalid:\n%s", out)
		}
	})
}

// strip leaves out what the default style may set differently: its one source and which
// layers start hidden.
func strip(l map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range l {
		c[k] = v
	}
	delete(c, "source")
	if lay, ok := c["layout"].(map[string]any); ok {
		m := map[string]any{}
		for k, v := range lay {
			if k != "visibility" {
				m[k] = v
			}
		}
		c["layout"] = m
		if len(m) == 0 {
			delete(c, "layout")
		}
	}
	return c
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// tileOf is the WebMercatorQuad tile holding lon, lat at zoom z.
func tileOf(lon, lat float64, z int) (x, y int) {
	n := math.Exp2(float64(z))
	rad := lat * math.Pi / 180
	return int((lon + 180) / 360 * n), int((1 - math.Log(math.Tan(rad)+1/math.Cos(rad))/math.Pi) / 2 * n)
}
