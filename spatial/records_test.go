package spatial_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testaccess"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/relations"
	"github.com/haiduong/hub/server"
)

// recordsHub is a hub on a database of its own with two generations of administrative units
// (A1, A2 until 2025-07-01; B1, which merged them, from then), a record collection of births
// registered in them before and after the merger, time-aware links from the births to the
// units, and a joined layer counting births per old unit.
type recordsHub struct {
	srv  *httptest.Server
	pool *pgxpool.Pool
}

const nBirths = 300

func newRecordsHub(t *testing.T) *recordsHub {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	square := func(code, name string, x0, x1 float64) string {
		return fmt.Sprintf(`{"type": "Feature", "properties": {"code": %q, "name": %q}, "geometry": {"type": "Polygon",
			"coordinates": [[[%g, 20.90], [%g, 20.90], [%g, 20.92], [%g, 20.92], [%g, 20.90]]]}}`, code, name, x0, x1, x1, x0, x0)
	}
	unitFields := []layers.Field{{Name: "code", Type: "string", Title: "Mã"}, {Name: "name", Type: "string", Title: "Tên"}}
	importGeoJSON(t, pool, "units-old", `{"type": "FeatureCollection", "features": [`+square("A1", "Xã Đoàn Kết", 106.30, 106.32)+","+
		square("A2", "Xã Thanh Giang", 106.32, 106.34)+`]}`, layers.Layer{Title: "Xã (đến 2025)", Fields: unitFields})
	importGeoJSON(t, pool, "units-new", `{"type": "FeatureCollection", "features": [`+square("B1", "Xã Thanh Miện", 106.30, 106.34)+`]}`,
		layers.Layer{Title: "Xã (từ 2025)", Fields: unitFields})
	importBirths(t, pool, 1, nBirths, "replace")

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merger := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range []layers.Link{
		{ID: "births-old", Source: "births", SourceField: "commune_code", Target: "units-old", TargetField: "code",
			Title: "Xã nơi đăng ký", TimeField: "registered_on", ValidTo: &merger},
		{ID: "births-new", Source: "births", SourceField: "commune_code", Target: "units-new", TargetField: "code",
			Title: "Xã nơi đăng ký", TimeField: "registered_on", ValidFrom: &merger},
	} {
		if err := relations.SaveLink(ctx, tx, k); err != nil {
			t.Fatal(err)
		}
	}
	err = relations.DefineJoin(ctx, tx, layers.Layer{ID: "births-per-unit", Title: "Số trẻ em gái đăng ký khai sinh theo xã"},
		layers.Join{Base: "units-old", BaseField: "code", Records: "births", RecordsField: "commune_code", Filter: "sex = 'Nữ'",
			Aggregates: []layers.Aggregate{
				{Name: "births", Op: "count", Title: "Số trẻ đăng ký"},
				{Name: "mean_weight_g", Op: "avg", Field: "weight_g", Title: "Cân nặng trung bình (g)"},
				{Name: "last_registered", Op: "max", Field: "registered_on"},
				{Name: "last_name", Op: "latest", Field: "child_name", OrderBy: "registered_on"},
			}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(testaccess.As(testaccess.Connected(t, pool), server.New(pool, reg, server.Config{Version: "test"})))
	t.Cleanup(srv.Close)
	return &recordsHub{srv: srv, pool: pool}
}

func importGeoJSON(t *testing.T, pool *pgxpool.Pool, id, content string, def layers.Layer) {
	t.Helper()
	src := ingest.Query(pool, 4326, []string{"code", "name"}, `
SELECT ST_AsBinary(ST_GeomFromGeoJSON(f->'geometry')), (f->'properties')::json
FROM jsonb_array_elements($1::jsonb->'features') f`, content)
	if _, err := ingest.Import(context.Background(), pool, src, id, ingest.Options{Collection: id, Definition: def, Category: testaccess.OpenUnlessEntry(def)}); err != nil {
		t.Fatal(err)
	}
}

// importBirths loads births number from..to: registered every third day from 2024-01-01, in
// A1 or A2 before the merger and in B1 after it. Names carry commas and quotes for the CSV.
func importBirths(t *testing.T, pool *pgxpool.Pool, from, to int, mode string) {
	t.Helper()
	src := ingest.Query(pool, 0, []string{"reg_no", "child_name", "sex", "weight_g", "registered_on", "commune_code", "mother_name"}, `
SELECT NULL::bytea, json_build_object(
    'reg_no', 'KS-' || lpad(i::text, 5, '0'),
    'child_name', 'Nguyễn Thị "Mai", số ' || i,
    'sex', CASE WHEN i % 3 = 0 THEN 'Nam' ELSE 'Nữ' END,
    'weight_g', 2600 + (i * 37) % 1200,
    'registered_on', d,
    'commune_code', CASE WHEN d >= date '2025-07-01' THEN 'B1' WHEN i % 2 = 0 THEN 'A1' ELSE 'A2' END,
    'mother_name', 'Trần Thị Hoa ' || i)
FROM generate_series($1::int, $2::int) i, LATERAL (SELECT date '2024-01-01' + i * 3 AS d) x`, from, to)
	def := layers.Layer{ItemType: layers.Record, KeyField: "reg_no", EntryID: "ho-tich", Title: "Đăng ký khai sinh", Fields: []layers.Field{
		{Name: "reg_no", Type: "string", Title: "Số đăng ký", Required: true},
		{Name: "child_name", Type: "string", Title: "Họ tên trẻ"},
		{Name: "sex", Type: "string", Title: "Giới tính"},
		{Name: "weight_g", Type: "integer", Title: "Cân nặng (g)"},
		{Name: "registered_on", Type: "date", Title: "Ngày đăng ký"},
		{Name: "commune_code", Type: "string", Title: "Mã xã"},
		{Name: "mother_name", Type: "string", Title: "Họ tên mẹ", Personal: true, Category: "specific"},
	}}
	opt := ingest.Options{Collection: "births", Definition: def, Mode: mode}
	if mode == "upsert" {
		opt.Key = "reg_no"
	}
	if _, err := ingest.Import(context.Background(), pool, src, "births", opt); err != nil {
		t.Fatal(err)
	}
}

type record struct {
	ID         any            `json:"id"` // a natural key, or a layer's feature id
	Geometry   any            `json:"geometry"`
	Properties map[string]any `json:"properties"`
	Links      []struct {
		Href, Rel, Title string
		NumberMatched    *int64 `json:"numberMatched"`
	} `json:"links"`
}

type recordPage struct {
	Features      []record `json:"features"`
	NumberMatched *int     `json:"numberMatched"`
	Links         []struct{ Href, Rel string }
}

func (p recordPage) next() string {
	for _, l := range p.Links {
		if l.Rel == "next" {
			return l.Href
		}
	}
	return ""
}

func (r record) related() []string {
	var out []string
	for _, l := range r.Links {
		if l.Rel == "related" {
			out = append(out, l.Href)
		}
	}
	return out
}

func (h *recordsHub) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordCollection(t *testing.T) {
	h := newRecordsHub(t)
	base := h.srv.URL

	var c map[string]any
	if res := getJSON(t, base+"/collections/births", &c); res.StatusCode != 200 {
		t.Fatalf("collection: %d %s", res.StatusCode, res.Header.Get("X-Body"))
	}
	if c["itemType"] != "record" || c["keyField"] != "reg_no" || c["crs"] != nil || c["storageCrs"] != nil || c["featureCount"] != float64(nBirths) {
		t.Errorf("collection = %v", c)
	}

	// The schema lists every field, the personal one too (metadata is public), marked so.
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	getJSON(t, base+"/collections/births/schema", &schema)
	if p := schema.Properties["mother_name"]; p["x-hub-personal"] != true || p["x-hub-category"] != "specific" {
		t.Errorf("schema of mother_name = %v", p)
	}
	if p := schema.Properties["reg_no"]; p["x-ogc-role"] != "id" || p["title"] != "Số đăng ký" {
		t.Errorf("schema of reg_no = %v", p)
	}
	if _, ok := schema.Properties["geometry"]; ok {
		t.Error("a record collection's schema has a geometry")
	}

	// Lookup by natural key: the record, no geometry, no personal data.
	var r record
	if res := getJSON(t, base+"/collections/births/items/KS-00007", &r); res.StatusCode != 200 {
		t.Fatalf("lookup: %d %s", res.StatusCode, res.Header.Get("X-Body"))
	}
	if r.ID != "KS-00007" || r.Geometry != nil || r.Properties["child_name"] != `Nguyễn Thị "Mai", số 7` || r.Properties["weight_g"] != float64(2600+7*37) {
		t.Errorf("record = %+v", r)
	}
	if _, ok := r.Properties["mother_name"]; ok {
		t.Error("a personal field is served to an anonymous caller")
	}
	for _, k := range []string{"no-such", "KS-99999"} {
		if res := getJSON(t, base+"/collections/births/items/"+k, nil); res.StatusCode != 404 {
			t.Errorf("unknown key %s: %d", k, res.StatusCode)
		}
	}

	// Filters, sorting and paging, checked against SQL.
	wantOld := h.count(t, `SELECT count(*) FROM data.births WHERE registered_on < date '2025-07-01' AND sex = 'Nữ'`)
	var keys []string
	u := base + "/collections/births/items?limit=7&sortby=-weight_g&filter=" + url.QueryEscape("registered_on < DATE('2025-07-01') AND sex = 'Nữ'")
	prevWeight := 1e9
	for u != "" {
		var p recordPage
		if res := getJSON(t, u, &p); res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", u, res.StatusCode, res.Header.Get("X-Body"))
		}
		if p.NumberMatched == nil || *p.NumberMatched != wantOld {
			t.Fatalf("numberMatched = %v, want %d", p.NumberMatched, wantOld)
		}
		for _, f := range p.Features {
			if w := f.Properties["weight_g"].(float64); w > prevWeight {
				t.Fatalf("not sorted by -weight_g: %v after %v", w, prevWeight)
			} else {
				prevWeight = w
			}
			keys = append(keys, fmt.Sprint(f.ID))
		}
		u = p.next()
	}
	slices.Sort(keys)
	if len(keys) != wantOld || len(slices.Compact(keys)) != wantOld {
		t.Errorf("paging returned %d keys (%d distinct), want %d", len(keys), len(slices.Compact(keys)), wantOld)
	}

	// Bad input: a 400 that names the parameter; the server stays up.
	for _, q := range []string{"filter=" + url.QueryEscape("weight_g >"), "bbox=106,20,107,21", "crs=" + url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/3857"),
		"filter=" + url.QueryEscape("mother_name = 'x'"), "f=xml"} {
		res := getJSON(t, base+"/collections/births/items?"+q, nil)
		if res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, res.StatusCode)
		}
	}
	if res := getJSON(t, base+"/collections/births/items?sortby=mother_name", nil); res.StatusCode != 403 {
		t.Errorf("sortby a field the caller may not read: %d, want 403", res.StatusCode)
	}
	if res := getJSON(t, base+"/collections/births/tiles/WebMercatorQuad/10/450/820", nil); res.StatusCode != 404 {
		t.Errorf("tiles of a record collection: %d, want 404", res.StatusCode)
	}
}

func TestRecordLinks(t *testing.T) {
	h := newRecordsHub(t)
	base := h.srv.URL
	var fidA1, fidB1 int64
	ctx := context.Background()
	h.pool.QueryRow(ctx, `SELECT fid FROM data.units_old WHERE code = 'A1'`).Scan(&fidA1)
	h.pool.QueryRow(ctx, `SELECT fid FROM data.units_new WHERE code = 'B1'`).Scan(&fidB1)

	// A birth registered before the merger links to the unit of then, one after it to B1.
	var before, after record
	getJSON(t, base+"/collections/births/items/KS-00010", &before) // 2024-01-31, i even → A1
	getJSON(t, base+"/collections/births/items/KS-00200", &after)  // 2025-08-30 → B1
	if got, want := before.related(), []string{base + fmt.Sprintf("/collections/units-old/items/%d", fidA1)}; !slices.Equal(got, want) {
		t.Errorf("links before the merger = %v, want %v", got, want)
	}
	if got, want := after.related(), []string{base + fmt.Sprintf("/collections/units-new/items/%d", fidB1)}; !slices.Equal(got, want) {
		t.Errorf("links after the merger = %v, want %v", got, want)
	}

	// Each unit lists the births linked to it with their count, and the link returns exactly those.
	for _, tc := range []struct {
		unit string
		fid  int64
		sql  string
	}{
		{"units-old", fidA1, `SELECT count(*) FROM data.births WHERE commune_code = 'A1' AND registered_on < date '2025-07-01'`},
		{"units-new", fidB1, `SELECT count(*) FROM data.births WHERE commune_code = 'B1' AND registered_on >= date '2025-07-01'`},
	} {
		var f record
		getJSON(t, fmt.Sprintf("%s/collections/%s/items/%d", base, tc.unit, tc.fid), &f)
		want := h.count(t, tc.sql)
		var href string
		for _, l := range f.Links {
			if l.Rel == "related" && l.NumberMatched != nil {
				if *l.NumberMatched != int64(want) {
					t.Errorf("%s: numberMatched %d, want %d", tc.unit, *l.NumberMatched, want)
				}
				href = l.Href
			}
		}
		if href == "" {
			t.Fatalf("%s: no link to its births: %+v", tc.unit, f.Links)
		}
		var p recordPage
		if res := getJSON(t, href+"&limit=10000", &p); res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", href, res.StatusCode, res.Header.Get("X-Body"))
		}
		if len(p.Features) != want || want == 0 {
			t.Errorf("%s: the link returns %d births, want %d", tc.unit, len(p.Features), want)
		}
		// Every record returned points back at the unit.
		for _, r := range p.Features {
			if rel := r.related(); len(rel) != 1 || !strings.HasSuffix(rel[0], fmt.Sprintf("/collections/%s/items/%d", tc.unit, tc.fid)) {
				t.Fatalf("%s: record %s links to %v", tc.unit, r.ID, rel)
			}
		}
	}

	// The feature's page lists them too, for people.
	res, err := http.Get(fmt.Sprintf("%s/collections/units-old/items/%d?f=html", base, fidA1))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	wantA1 := h.count(t, `SELECT count(*) FROM data.births WHERE commune_code = 'A1' AND registered_on < date '2025-07-01'`)
	if !bytes.Contains(page, []byte(fmt.Sprintf("Đăng ký khai sinh (%d)", wantA1))) {
		t.Errorf("the HTML page of unit A1 does not list its %d births", wantA1)
	}

	// A page of units carries the counts too.
	var units recordPage
	getJSON(t, base+"/collections/units-old/items", &units)
	for _, f := range units.Features {
		code := f.Properties["code"].(string)
		want := h.count(t, `SELECT count(*) FROM data.births WHERE commune_code = $1 AND registered_on < date '2025-07-01'`, code)
		if len(f.Links) != 1 || f.Links[0].NumberMatched == nil || *f.Links[0].NumberMatched != int64(want) {
			t.Errorf("unit %s in a page: links %+v, want one with %d", code, f.Links, want)
		}
	}
}

func TestJoinedLayer(t *testing.T) {
	h := newRecordsHub(t)
	base := h.srv.URL
	check := func(stage string) {
		t.Helper()
		var p recordPage
		if res := getJSON(t, base+"/collections/births-per-unit/items?sortby=code", &p); res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", stage, res.StatusCode, res.Header.Get("X-Body"))
		}
		if len(p.Features) != 2 {
			t.Fatalf("%s: %d units, want 2", stage, len(p.Features))
		}
		for _, f := range p.Features {
			code := f.Properties["code"].(string)
			var n int
			var mean *float64
			var last *time.Time
			var lastName *string
			err := h.pool.QueryRow(context.Background(), `
SELECT count(*), round(avg(weight_g)::numeric, 4)::float8, max(registered_on),
       (array_agg(child_name ORDER BY registered_on DESC))[1]
FROM data.births WHERE commune_code = $1 AND sex = 'Nữ'`, code).Scan(&n, &mean, &last, &lastName)
			if err != nil {
				t.Fatal(err)
			}
			if f.Properties["births"] != float64(n) || f.Properties["mean_weight_g"] != *mean ||
				f.Properties["last_registered"] != last.Format(time.DateOnly) || f.Properties["last_name"] != *lastName {
				t.Errorf("%s: %s = %v; SQL says %d, %v, %v, %v", stage, code, f.Properties, n, *mean, last, *lastName)
			}
		}
	}
	check("after the definition")
	var v0 int64
	h.pool.QueryRow(context.Background(), `SELECT data_version FROM layers WHERE id = 'births-per-unit'`).Scan(&v0)

	// More births: the joined layer is rebuilt in the same import, with a new version.
	importBirths(t, h.pool, nBirths+1, nBirths+40, "append")
	reg, _ := layers.Load(context.Background(), h.pool)
	l, _ := reg.Get("births-per-unit")
	if l.DataVersion <= v0 {
		t.Errorf("data version %d after an import of births, was %d", l.DataVersion, v0)
	}
	// The running hub sees it (LISTEN/NOTIFY reload) within a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var c map[string]any
		getJSON(t, base+"/collections/births-per-unit", &c)
		if c["dataVersion"] == float64(l.DataVersion) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	check("after appending births")

	// Served like any layer: tiles with the figures.
	res, err := http.Get(base + "/collections/births-per-unit/tiles/WebMercatorQuad/12/1804/3257")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("mean_weight_g")) {
		t.Errorf("joined layer tile: %d, %d bytes", res.StatusCode, len(body))
	}
}

func TestRecordsCSV(t *testing.T) {
	h := newRecordsHub(t)
	res, err := http.Get(h.srv.URL + "/collections/births/items?f=csv&limit=50&sortby=reg_no")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Error("the CSV does not start with a UTF-8 BOM; Excel would garble Vietnamese")
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "id,reg_no,child_name,sex,weight_g,registered_on,commune_code" {
		t.Errorf("header = %s", got)
	}
	if len(rows) != 51 || rows[1][0] != "KS-00001" || rows[1][2] != `Nguyễn Thị "Mai", số 1` || rows[1][3] != "Nữ" || rows[1][5] != "2024-01-04" {
		t.Errorf("%d rows; first %v", len(rows), rows[1])
	}
	if !strings.Contains(res.Header.Get("Link"), `rel="next"`) {
		t.Errorf("no next page in the Link header: %q", res.Header.Get("Link"))
	}
}
