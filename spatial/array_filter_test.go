package spatial_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

// markets is a layer whose tags and stalls are JSON arrays, except in two markets: one has no
// tags (null) and one an object; the importer types both properties json.
const markets = `{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"ten": "Chợ Mới", "tags": ["lúa", "cá", "rau"], "stalls": [12, 20]}, "geometry": {"type": "Point", "coordinates": [106.31, 20.94]}},
  {"type": "Feature", "properties": {"ten": "Chợ Cũ", "tags": ["lúa", "gạo"], "stalls": [5]}, "geometry": {"type": "Point", "coordinates": [106.32, 20.94]}},
  {"type": "Feature", "properties": {"ten": "Chợ Phiên", "tags": ["cá"], "stalls": [20.0]}, "geometry": {"type": "Point", "coordinates": [106.33, 20.94]}},
  {"type": "Feature", "properties": {"ten": "Chợ Đêm", "tags": [], "stalls": []}, "geometry": {"type": "Point", "coordinates": [106.34, 20.94]}},
  {"type": "Feature", "properties": {"ten": "Chợ Quê", "tags": null, "stalls": null}, "geometry": {"type": "Point", "coordinates": [106.35, 20.94]}},
  {"type": "Feature", "properties": {"ten": "Chợ Tết", "tags": {"mặt hàng": "hoa"}, "stalls": 3}, "geometry": {"type": "Point", "coordinates": [106.36, 20.94]}},
  {"type": "Feature", "properties": {"ten": "Chợ Hoa", "tags": ["hoa", "cá", "lúa"], "stalls": [3, 12]}, "geometry": {"type": "Point", "coordinates": [106.37, 20.94]}}]}`

// marketsHub starts a hub with the markets layer, imported once.
func marketsHub(t *testing.T) string {
	t.Helper()
	var exists bool
	_ = testdb.Pool(t).QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM layers WHERE id = 'markets')`).Scan(&exists)
	if !exists {
		load(t, "markets", markets, layers.Layer{Title: "Chợ"})
	}
	return hub(t).URL
}

// Array-valued properties through the API: the CQL2 array functions in text and JSON, both
// ways round, on strings and numbers, and a 400 for every other use of an array.
func TestArrayFilters(t *testing.T) {
	base := marketsHub(t) + "/collections/markets"
	names := func(params url.Values) (int, []string, string) {
		t.Helper()
		params.Set("limit", "1000")
		var c fc
		res := getJSON(t, base+"/items?"+params.Encode(), &c)
		var out []string
		for _, f := range c.Features {
			out = append(out, f.Properties["ten"].(string))
		}
		slices.Sort(out)
		return res.StatusCode, out, res.Header.Get("X-Body")
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, c := range []struct {
		filter string
		lang   string
		want   []string
	}{
		{filter: "A_CONTAINS(tags, ('lúa', 'cá'))", want: sorted("Chợ Mới", "Chợ Hoa")},
		{filter: "NOT A_CONTAINS(tags, ('lúa', 'cá'))", want: sorted("Chợ Cũ", "Chợ Phiên", "Chợ Đêm")},
		{filter: "A_CONTAINS(('lúa', 'cá', 'gạo'), tags)", want: sorted("Chợ Cũ", "Chợ Phiên", "Chợ Đêm")},
		{filter: "A_CONTAINEDBY(tags, ('lúa', 'cá', 'gạo'))", want: sorted("Chợ Cũ", "Chợ Phiên", "Chợ Đêm")},
		{filter: "A_CONTAINEDBY(('cá', 'lúa'), tags)", want: sorted("Chợ Mới", "Chợ Hoa")},
		{filter: "A_EQUALS(tags, ('lúa', 'gạo'))", want: sorted("Chợ Cũ")},
		{filter: "A_EQUALS(('gạo', 'lúa'), tags)", want: nil},
		{filter: "NOT A_EQUALS(tags, ('lúa', 'gạo'))", want: sorted("Chợ Mới", "Chợ Phiên", "Chợ Đêm", "Chợ Hoa")},
		{filter: "A_OVERLAPS(tags, ('gạo', 'hoa'))", want: sorted("Chợ Cũ", "Chợ Hoa")},
		{filter: "A_OVERLAPS(('gạo', 'hoa'), tags)", want: sorted("Chợ Cũ", "Chợ Hoa")},
		{filter: "NOT A_OVERLAPS(tags, ('gạo', 'hoa'))", want: sorted("Chợ Mới", "Chợ Phiên", "Chợ Đêm")},
		{filter: "A_CONTAINS(stalls, (20))", want: sorted("Chợ Mới", "Chợ Phiên")},
		{filter: "A_EQUALS(stalls, (20))", want: sorted("Chợ Phiên")},
		{filter: "A_CONTAINEDBY(stalls, (12.0, 20))", want: sorted("Chợ Mới", "Chợ Phiên", "Chợ Đêm")},
		{filter: "A_OVERLAPS(stalls, (3, 5))", want: sorted("Chợ Cũ", "Chợ Hoa")},
		{filter: "A_CONTAINS(tags, tags)", want: sorted("Chợ Mới", "Chợ Cũ", "Chợ Phiên", "Chợ Đêm", "Chợ Hoa")},
		{filter: "A_CONTAINS(tags, ('cá')) AND ten LIKE 'Chợ P%'", want: sorted("Chợ Phiên")},
		{filter: "tags IS NULL", want: sorted("Chợ Quê")},
		{lang: "cql2-json", filter: `{"op": "a_contains", "args": [{"property": "tags"}, ["lúa", "cá"]]}`, want: sorted("Chợ Mới", "Chợ Hoa")},
		{lang: "cql2-json", filter: `{"op": "a_overlaps", "args": [[3, 5], {"property": "stalls"}]}`, want: sorted("Chợ Cũ", "Chợ Hoa")},
	} {
		params := url.Values{"filter": {c.filter}}
		if c.lang != "" {
			params.Set("filter-lang", c.lang)
		}
		status, got, body := names(params)
		if status != 200 || !slices.Equal(got, c.want) {
			t.Errorf("%s: %d %q, want %q %s", c.filter, status, got, c.want, body)
		}
	}

	for _, c := range []struct{ filter, want string }{
		{"tags = 'lúa'", "compare arrays with A_EQUALS, A_CONTAINS, A_CONTAINEDBY or A_OVERLAPS"},
		{"tags = stalls", "compare arrays with A_EQUALS"},
		{"tags IN ('lúa', 'cá')", "compare arrays with A_EQUALS"},
		{"tags LIKE 'l%'", "LIKE needs a string on its left, but tags is an array"},
		{"CASEI(tags) = 'lúa'", "CASEI needs a string, but tags is an array"},
		{"stalls > 3", "compare arrays with A_EQUALS"},
		{"stalls + 1 = 2", "arithmetic needs numbers"},
		{"A_CONTAINS(tags, ten)", "A_CONTAINS needs two arrays, but ten is a string"},
		{"A_CONTAINS(tags, (ten))", "written as literals; ten is not one"},
		{"A_OVERLAPS(tags, (('lúa')))", "arrays of arrays are not supported"},
	} {
		status, _, body := names(url.Values{"filter": {c.filter}})
		var ex struct{ Parameter, Description string }
		json.Unmarshal([]byte(body), &ex)
		if status != 400 || ex.Parameter != "filter" || !strings.Contains(ex.Description, c.want) {
			t.Errorf("%s: %d %s; want 400 on filter saying %q", c.filter, status, body, c.want)
		}
	}

	// The queryables declare the arrays, and the conformance class is there.
	var qs struct{ Properties map[string]map[string]any }
	getJSON(t, base+"/queryables", &qs)
	if qs.Properties["tags"]["type"] != "array" || qs.Properties["stalls"]["type"] != "array" || qs.Properties["ten"]["type"] != "string" {
		t.Errorf("queryables: %v", qs.Properties)
	}
	var conf struct{ ConformsTo []string }
	getJSON(t, strings.TrimSuffix(base, "/collections/markets")+"/conformance", &conf)
	if !slices.Contains(conf.ConformsTo, "http://www.opengis.net/spec/cql2/1.0/conf/array-functions") {
		t.Errorf("conformance lacks array-functions: %v", conf.ConformsTo)
	}
}
