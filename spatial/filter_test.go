package spatial_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFilters(t *testing.T) {
	srv := hub(t)
	count := func(params url.Values) (int, int, string) {
		t.Helper()
		params.Set("limit", "1000")
		var c fc
		res := getJSON(t, srv.URL+"/collections/parcels/items?"+params.Encode(), &c)
		return res.StatusCode, len(c.Features), res.Header.Get("X-Body")
	}
	for _, c := range []struct {
		name   string
		params url.Values
		want   int
	}{
		{"cql2-text", url.Values{"filter": {"land_use = 'LUC' AND so_thua > 20"}}, 12},
		{"cql2-json", url.Values{"filter-lang": {"cql2-json"}, "filter": {`{"op": "and", "args": [{"op": "=", "args": [{"property": "land_use"}, "LUC"]}, {"op": ">", "args": [{"property": "so_thua"}, 20]}]}`}}, 12},
		{"cql-text alias (GDAL 3.6)", url.Values{"filter-lang": {"cql-text"}, "filter": {"land_use = 'LUC' AND so_thua > 20"}}, 12},
		{"LIKE, IN, BETWEEN", url.Values{"filter": {"land_use LIKE 'L%' AND so_thua IN (1, 4, 7, 10) AND dien_tich BETWEEN 800 AND 900"}}, 4},
		{"CASEI", url.Values{"filter": {"CASEI(land_use) = casei('luc')"}}, 19},
		{"ACCENTI (Vietnamese)", url.Values{"filter": {"ACCENTI(ghi_chu) = accenti('ghi chu 3')"}}, 8},
		{"arithmetic and property-property", url.Values{"filter": {"so_thua * 2 + 1 > dien_tich / 10"}}, 14},
		{"spatial in CRS84", url.Values{"filter": {"S_INTERSECTS(geometry, BBOX(106.32, 20.93, 106.34, 20.95))"}}, nParcels},
		{"spatial in VN-2000 (filter-crs)", url.Values{"filter-crs": {"http://www.opengis.net/def/crs/EPSG/0/9209"},
			"filter": {"S_WITHIN(geometry, POLYGON((585990 2316490, 586250 2316490, 586250 2316532, 585990 2316532, 585990 2316490)))"}}, 8},
		{"with bbox and a queryable parameter", url.Values{"land_use": {"ONT"}, "filter": {"so_thua < 30"}}, 10},
	} {
		status, n, body := count(c.params)
		if status != 200 || n != c.want {
			t.Errorf("%s: %d, %d features, want %d %s", c.name, status, n, c.want, body)
		}
	}
	var temples fc
	getJSON(t, srv.URL+"/collections/temples/items?filter="+url.QueryEscape("T_AFTER(ngay, DATE('2025-07-01')) AND ACCENTI(ten) LIKE accenti('%Con Son%')"), &temples)
	if len(temples.Features) != 1 {
		t.Errorf("temporal and accent-insensitive: %d features", len(temples.Features))
	}

	for _, c := range []struct {
		params url.Values
		param  string
		want   string
	}{
		{url.Values{"filter": {"land_use = 'LUC' AND"}}, "filter", "column"},
		{url.Values{"filter": {"owner_name = 'x'"}}, "filter", "owner_name"},
		{url.Values{"filter": {"so_thua = 'mười'"}}, "filter", ""},
		{url.Values{"filter-lang": {"sql"}, "filter": {"1=1"}}, "filter-lang", ""},
		{url.Values{"filter-lang": {"cql2-json"}, "filter": {"{"}}, "filter", ""},
		{url.Values{"filter-crs": {"EPSG:9209"}}, "filter-crs", ""},
		{url.Values{"filter": {"land_use = 'x''; DROP TABLE layers; --'"}}, "", ""},
	} {
		status, _, body := count(c.params)
		var ex struct{ Parameter, Description string }
		json.Unmarshal([]byte(body), &ex)
		if c.param == "" {
			if status != 200 {
				t.Errorf("%v: %d %s (a quoted value is only a value)", c.params, status, body)
			}
			continue
		}
		if status != 400 || ex.Parameter != c.param || !strings.Contains(ex.Description, c.want) {
			t.Errorf("%v: %d %s; want 400 naming %s and saying %q", c.params, status, body, c.param, c.want)
		}
	}
	var l fc
	if res := getJSON(t, srv.URL+"/collections/parcels/items?limit=1", &l); res.StatusCode != 200 {
		t.Fatal("the layer table was harmed")
	}
}

// GDAL's -where and -spat reach the server as filter and bbox: the server evaluates them.
func TestGDALPushesFiltersToTheServer(t *testing.T) {
	inner := hub(t)
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery)
		mu.Unlock()
		req, _ := http.NewRequest(r.Method, inner.URL+r.URL.RequestURI(), nil)
		req.Header = r.Header
		req.Host = r.Host // so that the hub's links lead back through this proxy
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		b := make([]byte, 32<<10)
		for {
			n, err := res.Body.Read(b)
			w.Write(b[:n])
			if err != nil {
				break
			}
		}
	}))
	defer proxy.Close()
	dst := filepath.Join(t.TempDir(), "luc.geojson")
	out, err := exec.Command("ogr2ogr", "-f", "GeoJSON", dst, "OAPIF:"+proxy.URL, "parcels",
		"-where", "land_use = 'LUC' AND so_thua > 20", "-spat", "106.32", "20.93", "106.34", "20.95").CombinedOutput()
	if err != nil {
		t.Fatalf("ogr2ogr: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(dst)
	var got fc
	json.Unmarshal(b, &got)
	if len(got.Features) != 12 {
		t.Errorf("ogr2ogr -where -spat: %d features, want 12", len(got.Features))
	}
	mu.Lock()
	defer mu.Unlock()
	pushed := false
	for _, q := range seen {
		v, _ := url.ParseQuery(q)
		if strings.Contains(v.Get("filter"), "LUC") && v.Get("bbox") != "" {
			pushed = true
		}
	}
	if !pushed {
		t.Errorf("GDAL did not send the filter and bbox to the server; requests: %v", seen)
	}
}
