package sources

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/internal/testdb"
)

// The connectors against source systems of their kind: each real connector reads a server the
// test starts on loopback (or a scratch PostgreSQL database) whose data the test changes between
// runs, and after every run the collection must hold exactly what the source holds — the same
// keys, every field's value, and for layers the same points. (The hub connector is tested
// against a real hub server elsewhere.)

// dataset is what a test source holds: items by key, each item's point for a layer, and items
// deleted at a source that reports deletions by a tombstone.
type dataset struct {
	mu     sync.Mutex
	items  map[string]map[string]any
	points map[string][2]float64
	tombs  map[string]map[string]any
}

func newDataset() *dataset {
	return &dataset{items: map[string]map[string]any{}, points: map[string][2]float64{}, tombs: map[string]map[string]any{}}
}

func (d *dataset) set(k string, props map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.items[k] = props
	delete(d.tombs, k)
}

func (d *dataset) setFeature(k string, props map[string]any, pt [2]float64) {
	d.set(k, props)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.points[k] = pt
}

func (d *dataset) del(k string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.items, k)
	delete(d.points, k)
}

// tomb deletes an item the way a watermark source shows it: still served, flagged deleted, its
// updated_at moved on.
func (d *dataset) tomb(k, at string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := maps.Clone(d.items[k])
	it["deleted"], it["updated_at"] = true, at
	d.tombs[k] = it
	delete(d.items, k)
	delete(d.points, k)
}

func (d *dataset) get(k string) map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.items[k])
}

// row is an item as a source serves it.
type row struct {
	key   string
	props map[string]any
	point *[2]float64
}

// rows are the items in key order, the tombstones among them when asked.
func (d *dataset) rows(withTombs bool) []row {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []row
	for k, it := range d.items {
		r := row{key: k, props: maps.Clone(it)}
		if p, ok := d.points[k]; ok {
			r.point = &p
		}
		out = append(out, r)
	}
	if withTombs {
		for k, it := range d.tombs {
			out = append(out, row{key: k, props: maps.Clone(it)})
		}
	}
	slices.SortFunc(out, func(a, b row) int { return strings.Compare(a.key, b.key) })
	return out
}

func (r row) feature() map[string]any {
	var g any
	if r.point != nil {
		g = map[string]any{"type": "Point", "coordinates": []float64{r.point[0], r.point[1]}}
	}
	return map[string]any{"type": "Feature", "id": r.key, "geometry": g, "properties": r.props}
}

// stamp is a watermark value: base time plus sec seconds, RFC 3339 in UTC.
func stamp(sec int) string {
	return time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second).Format(time.RFC3339)
}

var enterpriseNames = []string{
	"Công ty TNHH Thương mại Hải Dương", "Công ty Cổ phần Xây dựng Sao Đỏ", "Hợp tác xã Nông nghiệp Gia Lộc",
	"Công ty TNHH Cơ khí Chí Linh", "Công ty Cổ phần Gốm sứ Chu Đậu", "Doanh nghiệp tư nhân Vạn Phúc",
	"Công ty TNHH May mặc Kinh Môn", "Công ty Cổ phần Dược phẩm Tứ Kỳ", "Công ty TNHH Điện tử Nam Sách",
	"Công ty Cổ phần Vận tải Thanh Hà", "Công ty TNHH Thực phẩm Ninh Giang", "Công ty Cổ phần Đầu tư Cẩm Giàng",
}

// enterprise is the i-th enterprise of a business register: a tax code (with its leading zero),
// a Vietnamese name, an integer, a date, a commune code and a watermark.
func enterprise(i int) (string, map[string]any) {
	k := fmt.Sprintf("08%08d", 1000+i*37)
	return k, map[string]any{
		"ma_so_thue":  k,
		"ten":         enterpriseNames[i%len(enterpriseNames)],
		"von_dieu_le": 500_000_000 + i*125_000_000,
		"ngay_cap":    fmt.Sprintf("20%02d-%02d-%02d", 10+i%12, 1+i%12, 1+(i*3)%28),
		"ma_xa":       fmt.Sprintf("107%02d", i%30),
		"updated_at":  stamp(i),
	}
}

var bridgeNames = []string{"Cầu Phú Lương", "Cầu Lai Vu", "Cầu Hàn", "Cầu Bình", "Cầu Quang Thanh", "Cầu Triều",
	"Cầu Cậy", "Cầu Tràng", "Cầu Vĩnh Tuy", "Cầu Thanh Hà", "Cầu Mây", "Cầu Ràm"}

// bridge is the i-th bridge of a transport layer, a point near Hải Dương (lon ~106.3, lat ~20.9).
func bridge(i int) (string, map[string]any, [2]float64) {
	k := fmt.Sprintf("CAU-%03d", 390+i)
	return k, map[string]any{
		"ma":             k,
		"ten":            bridgeNames[i%len(bridgeNames)],
		"so_lan_xe":      2 + i%3,
		"ngay_thong_xe":  fmt.Sprintf("20%02d-%02d-%02d", 5+i%15, 1+i%12, 2+(i*5)%27),
		"don_vi_quan_ly": "Sở Giao thông vận tải Hải Dương",
		"updated_at":     stamp(i),
	}, [2]float64{106.3 + float64(i)*0.0123456789, 20.9 + float64(i)*0.00987654321}
}

func enterprises(n int) *dataset {
	d := newDataset()
	for i := range n {
		d.set(enterprise(i))
	}
	return d
}

func bridges(n int) *dataset {
	d := newDataset()
	for i := range n {
		d.setFeature(bridge(i))
	}
	return d
}

// changeEnterprises makes one insert, one update and one deletion at a register's source
// (the deletion a tombstone when tomb).
func changeEnterprises(d *dataset, tomb bool) {
	k, it := enterprise(20)
	it["updated_at"] = stamp(100)
	if tomb {
		it["deleted"] = false
	}
	d.set(k, it)
	k4, _ := enterprise(4)
	it = d.get(k4)
	it["ten"], it["von_dieu_le"], it["updated_at"] = "Công ty TNHH Cơ khí Chí Linh (đổi tên)", 7_777_000_000, stamp(101)
	d.set(k4, it)
	k7, _ := enterprise(7)
	if tomb {
		d.tomb(k7, stamp(102))
	} else {
		d.del(k7)
	}
}

// changeBridges makes one insert, one update (the name and the point) and one deletion.
func changeBridges(d *dataset) {
	k, it, pt := bridge(20)
	it["updated_at"] = stamp(100)
	d.setFeature(k, it, pt)
	k3, _, pt3 := bridge(3)
	it = d.get(k3)
	it["ten"], it["so_lan_xe"], it["updated_at"] = "Cầu Bình (mở rộng)", 6, stamp(101)
	d.setFeature(k3, it, [2]float64{pt3[0] + 0.000123456789, pt3[1] - 0.000987654321})
	k6, _, _ := bridge(6)
	d.del(k6)
}

// equalTable asserts that data.<table> holds exactly the dataset's items: the same keys, the
// same fields with the same values (compared as text: timestamps in UTC, dates as ISO), and
// for a layer the same points within 1e-9. Columns in skip are left out.
func equalTable(t *testing.T, pool *pgxpool.Pool, table, key string, d *dataset, skip ...string) {
	t.Helper()
	ctx := context.Background()
	crows, err := pool.Query(ctx, `SELECT column_name::text, data_type::text FROM information_schema.columns
WHERE table_schema = 'data' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	var names, exprs []string
	hasGeom := false
	for crows.Next() {
		var name, typ string
		if err := crows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		switch {
		case name == "fid" || name == "geom_web" || slices.Contains(skip, name):
			continue
		case name == "geom":
			hasGeom = true
			continue
		}
		id := pgx.Identifier{name}.Sanitize()
		e := id + "::text"
		switch typ {
		case "timestamp with time zone":
			e = `to_char(` + id + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`
		case "date":
			e = `to_char(` + id + `, 'YYYY-MM-DD')`
		}
		names, exprs = append(names, name), append(exprs, e)
	}
	if err := crows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("data.%s has no fields (or does not exist)", table)
	}
	want := d.rows(false)
	wantCols := map[string]bool{}
	for _, r := range want {
		for f := range r.props {
			wantCols[f] = true
		}
	}
	if got := slices.Sorted(slices.Values(names)); !slices.Equal(got, slices.Sorted(maps.Keys(wantCols))) {
		t.Fatalf("data.%s has the fields %v; the source has %v", table, got, slices.Sorted(maps.Keys(wantCols)))
	}
	geomSel := "NULL::float8, NULL::float8, NULL::text"
	if hasGeom {
		geomSel = "ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)), GeometryType(geom)"
	}
	rows, err := pool.Query(ctx, `SELECT `+geomSel+`, `+strings.Join(exprs, ", ")+` FROM data.`+pgx.Identifier{table}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	type point struct {
		x, y *float64
		typ  *string
	}
	var got []string
	points := map[string]point{}
	for rows.Next() {
		var p point
		vals := make([]*string, len(names))
		dest := []any{&p.x, &p.y, &p.typ}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		var k string
		fields := make([]string, len(names))
		for i, n := range names {
			v := "NULL"
			if vals[i] != nil {
				v = *vals[i]
			}
			if n == key {
				k = v
			}
			fields[i] = n + "=" + v
		}
		slices.Sort(fields)
		got = append(got, k+" | "+strings.Join(fields, "; "))
		if _, dup := points[k]; dup {
			t.Errorf("data.%s holds key %s twice", table, k)
		}
		points[k] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	var exp []string
	for _, r := range want {
		fields := make([]string, 0, len(names))
		for _, n := range names {
			fields = append(fields, n+"="+textOf(r.props[n]))
		}
		slices.Sort(fields)
		exp = append(exp, textOf(r.props[key])+" | "+strings.Join(fields, "; "))
	}
	if !slices.Equal(got, exp) {
		var b strings.Builder
		for _, g := range got {
			if !slices.Contains(exp, g) {
				fmt.Fprintf(&b, "\n  only in the collection: %s", g)
			}
		}
		for _, e := range exp {
			if !slices.Contains(got, e) {
				fmt.Fprintf(&b, "\n  only at the source:     %s", e)
			}
		}
		t.Fatalf("data.%s (%d rows) differs from the source (%d items):%s", table, len(got), len(exp), b.String())
	}
	for _, r := range want {
		p := points[textOf(r.props[key])]
		switch {
		case r.point == nil && hasGeom:
			t.Fatalf("data.%s is a layer; the source's item %s has no point", table, r.key)
		case r.point == nil:
		case p.x == nil || p.y == nil || p.typ == nil || *p.typ != "POINT":
			t.Fatalf("data.%s: item %s has no point (%v)", table, r.key, p.typ)
		case math.Abs(*p.x-r.point[0]) > 1e-9 || math.Abs(*p.y-r.point[1]) > 1e-9:
			t.Fatalf("data.%s: item %s is at %.12f %.12f; the source has %.12f %.12f", table, r.key, *p.x, *p.y, r.point[0], r.point[1])
		}
	}
}

// textOf is a source value as equalTable compares it.
func textOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// changesAt counts the collection's logged changes of a version by operation.
func changesAt(t *testing.T, pool *pgxpool.Pool, layer string, v int64) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT op, count(*)::int FROM layer_changes WHERE layer_id = $1 AND version = $2 GROUP BY op`, layer, v)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var op string
		var n int
		if err := rows.Scan(&op, &n); err != nil {
			t.Fatal(err)
		}
		out[op] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// changeRuns runs a source four times, checking after each that the collection equals the
// source: (1) the first run inserts the initial items; (2) with no change at the source it finds
// nothing to change, keeps the version and logs nothing; (3) after change — one insert, one
// update, one deletion — it applies exactly those as one new version with three logged
// changes; (4) once more, nothing. after, when set, is called after each run with its number.
func changeRuns(t *testing.T, pool *pgxpool.Pool, id string, initial int64, check, change func(), after func(n int, run *Run)) {
	t.Helper()
	step := func(n int) *Run {
		t.Helper()
		run := mustSync(t, pool, id)
		if run.Rejected != 0 {
			t.Fatalf("run %d rejected items: %+v", n, run.Rejects)
		}
		check()
		if after != nil {
			after(n, run)
		}
		return run
	}
	unchanged := func(n int, v1, c1 int64) {
		t.Helper()
		run := step(n)
		if run.Status != "unchanged" || run.Inserted+run.Updated+run.Deleted != 0 {
			t.Fatalf("run %d, nothing changed at the source: %+v", n, run)
		}
		if v, c := version(t, pool, id); v != v1 || c != c1 {
			t.Fatalf("run %d, nothing changed at the source: the version went %d → %d, the logged changes %d → %d", n, v1, v, c1, c)
		}
		if run.DataVersion == nil || *run.DataVersion != v1 {
			t.Fatalf("run %d reports data version %v; the collection is at %d", n, run.DataVersion, v1)
		}
	}

	run := step(1)
	if run.Status != "succeeded" || run.Read != initial || run.Inserted != initial || run.Updated+run.Deleted != 0 {
		t.Fatalf("run 1 (first) of %d items: %+v", initial, run)
	}
	v1, c1 := version(t, pool, id)
	unchanged(2, v1, c1)

	change()
	run = step(3)
	if run.Status != "succeeded" || run.Inserted != 1 || run.Updated != 1 || run.Deleted != 1 {
		t.Fatalf("run 3, one insert, one update and one deletion at the source: %+v", run)
	}
	v2, c2 := version(t, pool, id)
	if v2 != v1+1 || run.DataVersion == nil || *run.DataVersion != v2 {
		t.Fatalf("run 3: version %d → %d (the run says %v); want one new version", v1, v2, run.DataVersion)
	}
	if ops := changesAt(t, pool, id, v2); c2 != c1+3 || !maps.Equal(ops, map[string]int{"insert": 1, "update": 1, "delete": 1}) {
		t.Fatalf("run 3 logged %v under version %d (%d → %d in all); want one insert, one update, one delete", ops, v2, c1, c2)
	}
	unchanged(4, v2, c2)
}

// recordEntry is the catalogue entry of these tests' record collections: not
// dang-ky-doanh-nghiep, whose sources the API tests list and count.
const recordEntry = "thi-truong-lao-dong"

// connSource adds a source whose collection is id, after removing what an earlier run of the
// test (go test -count) left of it. A record collection of recordEntry unless edit says otherwise.
func connSource(t *testing.T, pool *pgxpool.Pool, id, endpoint string, edit func(*Source)) {
	t.Helper()
	ctx := context.Background()
	for _, sql := range []string{`DELETE FROM sources WHERE id = $1`, `DELETE FROM layers WHERE id = $1`} {
		if _, err := pool.Exec(ctx, sql, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS data.`+pgx.Identifier{strings.ReplaceAll(id, "-", "_")}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	addSource(t, pool, id, endpoint, func(s *Source) {
		s.Entry = recordEntry
		edit(s)
	})
}

// ---- rest ----

// restRequest is what the REST test API saw of a request.
type restRequest struct {
	auth, offset, limit, since string
}

// restAPI is an agency's JSON API: {"ket_qua": {"tong_so": n, "danh_sach": [...]}}, paged by
// offset and limit, behind a bearer token; it honours updated_since (items changed after it,
// tombstones included) and can garble a page.
type restAPI struct {
	d      *dataset
	token  string
	mu     sync.Mutex
	garble int // the page (1-based) answered with broken JSON; 0: none
	seen   []restRequest
}

func (a *restAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	a.seen = append(a.seen, restRequest{auth: r.Header.Get("Authorization"), offset: q.Get("offset"), limit: q.Get("limit"), since: q.Get("updated_since")})
	garble := a.garble
	a.mu.Unlock()
	if r.URL.Path != "/api/v1/doanh-nghiep" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != a.token {
		http.Error(w, `{"loi": "chưa xác thực"}`, http.StatusUnauthorized)
		return
	}
	offset, err1 := strconv.Atoi(q.Get("offset"))
	limit, err2 := strconv.Atoi(q.Get("limit"))
	if err1 != nil || err2 != nil || offset < 0 || limit < 1 {
		http.Error(w, `{"loi": "offset, limit"}`, http.StatusBadRequest)
		return
	}
	var since time.Time
	if s := q.Get("updated_since"); s != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			http.Error(w, `{"loi": "updated_since"}`, http.StatusBadRequest)
			return
		}
	}
	var all []map[string]any
	for _, r := range a.d.rows(true) {
		if !since.IsZero() {
			at, _ := time.Parse(time.RFC3339, r.props["updated_at"].(string))
			if !at.After(since) {
				continue
			}
		}
		all = append(all, r.props)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if offset/limit+1 == garble {
		// Cut short, and echoing the token, as a broken proxy might.
		fmt.Fprintf(w, `{"ket_qua": {"token": %q, "tong_so": %d, "danh_sach": [{"ma_so_thue": "08`, a.token, len(all))
		return
	}
	page := []map[string]any{}
	if offset < len(all) {
		page = all[offset:min(offset+limit, len(all))]
	}
	json.NewEncoder(w).Encode(map[string]any{"ket_qua": map[string]any{"tong_so": len(all), "danh_sach": page}})
}

// take returns the requests seen since the last take.
func (a *restAPI) take() []restRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.seen
	a.seen = nil
	return s
}

const restToken = "Bearer tok-rest-8f3a2c91"

// restSource starts the REST API over d and adds a source reading it with the token, in pages
// of 3.
func restSource(t *testing.T, pool *pgxpool.Pool, id string, d *dataset, edit func(*Source)) *restAPI {
	t.Helper()
	t.Setenv("HUB_SOURCE_TEST_REST_TOKEN", restToken)
	api := &restAPI{d: d, token: restToken}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	connSource(t, pool, id, srv.URL+"/api/v1/doanh-nghiep", func(s *Source) {
		s.Connector = "rest"
		s.Headers = map[string]string{"Authorization": "env:HUB_SOURCE_TEST_REST_TOKEN"}
		s.Options = map[string]string{"items_path": "ket_qua.danh_sach", "paging": "offset", "page_size": "3"}
		if edit != nil {
			edit(s)
		}
	})
	return api
}

// restPages checks one run's requests: each with the token and the page size, at offsets
// 0, 3, 6… growing by the items read, up to the empty page past them.
func restPages(t *testing.T, run int, reqs []restRequest, items int, since string) {
	t.Helper()
	var want []restRequest
	for off := 0; ; {
		want = append(want, restRequest{auth: restToken, offset: strconv.Itoa(off), limit: "3", since: since})
		n := min(3, items-off)
		if n <= 0 {
			break
		}
		off += n
	}
	if !slices.Equal(reqs, want) {
		t.Fatalf("run %d: the API saw %+v; want %+v", run, reqs, want)
	}
}

func TestConnectorREST(t *testing.T) {
	pool := testdb.Pool(t)
	d := enterprises(10)
	api := restSource(t, pool, "conn-rest", d, nil)
	changeRuns(t, pool, "conn-rest", 10,
		func() { equalTable(t, pool, "conn_rest", "ma_so_thue", d) },
		func() { changeEnterprises(d, false) },
		func(n int, run *Run) { restPages(t, n, api.take(), 10, "") })
}

func TestConnectorRESTWatermark(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	d := newDataset()
	for i := range 10 {
		k, it := enterprise(i)
		it["deleted"] = false
		d.set(k, it)
	}
	api := restSource(t, pool, "conn-rest-wm", d, func(s *Source) {
		s.Detect, s.WatermarkField, s.Tombstone = "watermark", "updated_at", "deleted"
		s.Options["since_param"] = "updated_since"
	})
	// The cursor each run leaves, the updated_since each sends, the items each reads.
	cursors := []string{stamp(9), stamp(9), stamp(102), stamp(102)}
	since := []string{"", stamp(9), stamp(9), stamp(102)}
	read := []int64{10, 0, 2, 0}
	served := []int{10, 0, 3, 0} // the tombstone too
	changeRuns(t, pool, "conn-rest-wm", 10,
		func() { equalTable(t, pool, "conn_rest_wm", "ma_so_thue", d) },
		func() { changeEnterprises(d, true) },
		func(n int, run *Run) {
			restPages(t, n, api.take(), served[n-1], since[n-1])
			src, err := Get(ctx, pool, "conn-rest-wm")
			if err != nil {
				t.Fatal(err)
			}
			if src.Cursor != cursors[n-1] || run.CursorAfter != cursors[n-1] || run.CursorBefore != since[n-1] {
				t.Fatalf("run %d: cursor %q → %q, the source keeps %q; want %q → %q", n, run.CursorBefore, run.CursorAfter, src.Cursor, since[n-1], cursors[n-1])
			}
			if run.Read != read[n-1] {
				t.Fatalf("run %d read %d items; want %d (those changed after the cursor)", n, run.Read, read[n-1])
			}
		})
}

// A page that is not JSON fails the run and leaves the collection, its version and its change
// log as they were; the next run, the page mended, applies the change once.
func TestConnectorGarbledPage(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	d := enterprises(10)
	api := restSource(t, pool, "conn-garbled", d, nil)
	check := func() { equalTable(t, pool, "conn_garbled", "ma_so_thue", d) }
	mustSync(t, pool, "conn-garbled")
	check()
	if run := mustSync(t, pool, "conn-garbled"); run.Status != "unchanged" {
		t.Fatalf("run 2: %+v", run)
	}
	v1, c1 := version(t, pool, "conn-garbled")
	before := snapshot(t, pool, "conn_garbled")

	changeEnterprises(d, false)
	api.mu.Lock()
	api.garble = 2
	api.mu.Unlock()
	run, err := Sync(ctx, pool, "conn-garbled", RunOptions{})
	if err == nil || run.Status != "failed" || !strings.Contains(run.Error, "page 2") || !strings.Contains(run.Error, "not JSON") {
		t.Fatalf("run 3, page 2 garbled: %+v, %v", run, err)
	}
	// The error quotes the page, which echoes the token: the token is blanked.
	if !strings.Contains(run.Error, "ket_qua") || strings.Contains(run.Error, "tok-rest-8f3a2c91") {
		t.Fatalf("the run's error should quote the page without the token: %s", run.Error)
	}
	if v, c := version(t, pool, "conn-garbled"); v != v1 || c != c1 {
		t.Fatalf("a failed run moved the version %d → %d, the changes %d → %d", v1, v, c1, c)
	}
	if after := snapshot(t, pool, "conn_garbled"); after != before {
		t.Fatal("a failed run changed the collection")
	}
	if src, err := Get(ctx, pool, "conn-garbled"); err != nil || src.LastRun.Status != "failed" {
		t.Fatalf("the source's last run: %+v, %v", src.LastRun, err)
	}

	api.mu.Lock()
	api.garble = 0
	api.mu.Unlock()
	run = mustSync(t, pool, "conn-garbled")
	if run.Status != "succeeded" || run.Inserted != 1 || run.Updated != 1 || run.Deleted != 1 {
		t.Fatalf("run 4, the page mended: %+v", run)
	}
	check()
	v2, c2 := version(t, pool, "conn-garbled")
	if ops := changesAt(t, pool, "conn-garbled", v2); v2 != v1+1 || c2 != c1+3 || !maps.Equal(ops, map[string]int{"insert": 1, "update": 1, "delete": 1}) {
		t.Fatalf("run 4: version %d → %d, changes %v (%d → %d)", v1, v2, ops, c1, c2)
	}
	if run := mustSync(t, pool, "conn-garbled"); run.Status != "unchanged" {
		t.Fatalf("run 5: %+v", run)
	}
	check()
}

// ---- ogcapi, wfs ----

// ogcAPI serves a collection's items as OGC API – Features does: GeoJSON pages of at most limit
// features, linked by rel=next (an HTML alternate first, as servers list them).
type ogcAPI struct {
	d      *dataset
	mu     sync.Mutex
	limits []string
}

func (a *ogcAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	a.limits = append(a.limits, q.Get("limit"))
	a.mu.Unlock()
	if r.URL.Path != "/collections/cau-duong/items" {
		http.NotFound(w, r)
		return
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 10000 {
		http.Error(w, `{"code": "InvalidParameterValue", "description": "limit"}`, http.StatusBadRequest)
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	rows := a.d.rows(false)
	features := []any{}
	for _, r := range rows[min(offset, len(rows)):min(offset+limit, len(rows))] {
		features = append(features, r.feature())
	}
	base := "http://" + r.Host + r.URL.Path
	links := []any{map[string]any{"rel": "self", "type": "application/geo+json", "href": r.URL.String()}}
	if offset+limit < len(rows) {
		links = append(links,
			map[string]any{"rel": "next", "type": "text/html", "href": fmt.Sprintf("%s.html?limit=%d&offset=%d", base, limit, offset+limit)},
			map[string]any{"rel": "next", "type": "application/geo+json", "href": fmt.Sprintf("%s?limit=%d&offset=%d", base, limit, offset+limit)})
	}
	w.Header().Set("Content-Type", "application/geo+json")
	json.NewEncoder(w).Encode(map[string]any{"type": "FeatureCollection", "numberMatched": len(rows),
		"numberReturned": len(features), "features": features, "links": links})
}

func TestConnectorOGCAPI(t *testing.T) {
	pool := testdb.Pool(t)
	d := bridges(10)
	api := &ogcAPI{d: d}
	srv := httptest.NewServer(api)
	defer srv.Close()
	connSource(t, pool, "conn-ogc", srv.URL+"/collections/cau-duong/items", func(s *Source) {
		s.Entry, s.ItemType, s.Connector, s.Key = "ha-tang-giao-thong", "feature", "ogcapi", "ma"
		s.Options = map[string]string{"limit": "4"}
	})
	changeRuns(t, pool, "conn-ogc", 10,
		func() { equalTable(t, pool, "conn_ogc", "ma", d) },
		func() { changeBridges(d) },
		func(n int, _ *Run) {
			api.mu.Lock()
			defer api.mu.Unlock()
			// 10 features in pages of 4: three pages, the last without a next link.
			if !slices.Equal(api.limits, []string{"4", "4", "4"}) {
				t.Fatalf("run %d: the pages were asked with limits %v; want 4, 4, 4", n, api.limits)
			}
			api.limits = nil
		})
}

// wfsServer answers WFS 2.0 GetFeature in GeoJSON, paged by startIndex and count.
type wfsServer struct {
	d     *dataset
	mu    sync.Mutex
	pages []string // startIndex/count of each request
}

func (s *wfsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.pages = append(s.pages, q.Get("startIndex")+"/"+q.Get("count"))
	s.mu.Unlock()
	count, err1 := strconv.Atoi(q.Get("count"))
	start, err2 := strconv.Atoi(q.Get("startIndex"))
	if r.URL.Path != "/geoserver/wfs" || q.Get("service") != "WFS" || q.Get("request") != "GetFeature" || q.Get("typeNames") != "gt:cau" ||
		q.Get("outputFormat") != "application/json" || err1 != nil || err2 != nil || count < 1 || start < 0 {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1"><ows:Exception exceptionCode="InvalidParameterValue"/></ows:ExceptionReport>`)
		return
	}
	rows := s.d.rows(false)
	features := []any{}
	for _, r := range rows[min(start, len(rows)):min(start+count, len(rows))] {
		f := r.feature()
		f["id"] = "cau." + r.key // GeoServer's feature id; the key is a property
		features = append(features, f)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"type": "FeatureCollection", "totalFeatures": len(rows), "numberMatched": len(rows),
		"numberReturned": len(features), "features": features,
		"crs": map[string]any{"type": "name", "properties": map[string]any{"name": "urn:ogc:def:crs:EPSG::4326"}}})
}

func TestConnectorWFS(t *testing.T) {
	pool := testdb.Pool(t)
	d := bridges(10)
	wfs := &wfsServer{d: d}
	srv := httptest.NewServer(wfs)
	defer srv.Close()
	connSource(t, pool, "conn-wfs", srv.URL+"/geoserver/wfs", func(s *Source) {
		s.Entry, s.ItemType, s.Connector, s.Key = "ha-tang-giao-thong", "feature", "wfs", "ma"
		s.Options = map[string]string{"typeNames": "gt:cau", "page_size": "4"}
	})
	changeRuns(t, pool, "conn-wfs", 10,
		func() { equalTable(t, pool, "conn_wfs", "ma", d) },
		func() { changeBridges(d) },
		func(n int, _ *Run) {
			wfs.mu.Lock()
			defer wfs.mu.Unlock()
			if !slices.Equal(wfs.pages, []string{"0/4", "4/4", "8/4"}) {
				t.Fatalf("run %d asked for the pages %v; want 0/4, 4/4, 8/4", n, wfs.pages)
			}
			wfs.pages = nil
		})
}

// ---- postgres ----

// pgRefill writes a bridges dataset into a table of the scratch database, whole.
func pgRefill(t *testing.T, db *pgxpool.Pool, table string, d *dataset) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM `+table); err != nil {
		t.Fatal(err)
	}
	for _, r := range d.rows(false) {
		p := r.props
		if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (ma, ten, so_lan_xe, ngay_thong_xe, don_vi_quan_ly, updated_at, geom)
VALUES ($1, $2, $3, $4::date, $5, $6::timestamptz, ST_SetSRID(ST_MakePoint($7, $8), 4326))`,
			p["ma"], p["ten"], p["so_lan_xe"], p["ngay_thong_xe"], p["don_vi_quan_ly"], p["updated_at"], r.point[0], r.point[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConnectorPostgres(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	srcURL := testdb.Fresh(t)
	db, err := pgxpool.New(ctx, srcURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Exec(ctx, `CREATE SCHEMA giao_thong;
CREATE TABLE giao_thong.cau (ma text PRIMARY KEY, ten text NOT NULL, so_lan_xe integer, ngay_thong_xe date,
    don_vi_quan_ly text, updated_at timestamptz NOT NULL, geom geometry(Point, 4326));
CREATE TABLE giao_thong.cau_wm (LIKE giao_thong.cau INCLUDING ALL);`); err != nil {
		t.Fatal(err)
	}

	t.Run("hash", func(t *testing.T) {
		d := bridges(10)
		pgRefill(t, db, "giao_thong.cau", d)
		connSource(t, pool, "conn-pg", srcURL, func(s *Source) {
			s.Entry, s.ItemType, s.Connector, s.Key = "ha-tang-giao-thong", "feature", "postgres", "ma"
			s.Options = map[string]string{"table": "giao_thong.cau", "page_size": "4"}
		})
		changeRuns(t, pool, "conn-pg", 10,
			func() { equalTable(t, pool, "conn_pg", "ma", d) },
			func() { changeBridges(d); pgRefill(t, db, "giao_thong.cau", d) },
			nil)
	})

	t.Run("watermark", func(t *testing.T) {
		d := bridges(10)
		pgRefill(t, db, "giao_thong.cau_wm", d)
		connSource(t, pool, "conn-pg-wm", srcURL, func(s *Source) {
			s.Entry, s.ItemType, s.Connector, s.Key = "ha-tang-giao-thong", "feature", "postgres", "ma"
			s.Detect, s.WatermarkField = "watermark", "updated_at"
			s.Options = map[string]string{"table": "giao_thong.cau_wm"}
		})
		var cursor string
		read := []int64{10, 0, 2, 0}
		changeRuns(t, pool, "conn-pg-wm", 10,
			func() { equalTable(t, pool, "conn_pg_wm", "ma", d) },
			func() { changeBridges(d); pgRefill(t, db, "giao_thong.cau_wm", d) },
			func(n int, run *Run) {
				src, err := Get(ctx, pool, "conn-pg-wm")
				if err != nil {
					t.Fatal(err)
				}
				// The cursor is the greatest updated_at read: the first run's, then the update's.
				want := []string{stamp(9), stamp(9), stamp(101), stamp(101)}[n-1]
				var ok bool
				if err := pool.QueryRow(ctx, `SELECT $1::timestamptz = $2::timestamptz`, src.Cursor, want).Scan(&ok); err != nil || !ok {
					t.Fatalf("run %d left the cursor %q; want %s (%v)", n, src.Cursor, want, err)
				}
				if run.CursorBefore != cursor || run.CursorAfter != src.Cursor {
					t.Fatalf("run %d: cursor %q → %q; the previous run left %q, the source keeps %q", n, run.CursorBefore, run.CursorAfter, cursor, src.Cursor)
				}
				cursor = src.Cursor
				if run.Read != read[n-1] {
					t.Fatalf("run %d read %d rows; want %d (those changed after the cursor)", n, run.Read, read[n-1])
				}
			})
	})
}

// ---- file ----

// fileServer serves one file with an ETag, answering 304 to a request that has it.
type fileServer struct {
	path, contentType string
	mu                sync.Mutex
	body              []byte
	etag              string
	full, notModified int
}

func (f *fileServer) set(body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body = body
	sum := sha256.Sum256(body)
	f.etag = fmt.Sprintf(`"%x"`, sum[:8])
}

func (f *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != f.path {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", f.etag)
	if r.Header.Get("If-None-Match") == f.etag {
		f.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.full++
	w.Header().Set("Content-Type", f.contentType)
	w.Write(f.body)
}

// counts are the full answers and 304s since the last call.
func (f *fileServer) counts() (full, notModified int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	full, notModified = f.full, f.notModified
	f.full, f.notModified = 0, 0
	return
}

// enterprisesCSV is the register as a CSV file.
func enterprisesCSV(d *dataset) []byte {
	var b strings.Builder
	w := csv.NewWriter(&b)
	cols := []string{"ma_so_thue", "ten", "von_dieu_le", "ngay_cap", "ma_xa", "updated_at"}
	w.Write(cols)
	for _, r := range d.rows(false) {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = textOf(r.props[c])
		}
		w.Write(rec)
	}
	w.Flush()
	return []byte(b.String())
}

func bridgesGeoJSON(d *dataset) []byte {
	features := []any{}
	for _, r := range d.rows(false) {
		features = append(features, r.feature())
	}
	b, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "name": "cau", "features": features})
	return b
}

// fileRuns checks a file source's runs: the unchanged ones answered 304 and read nothing.
func fileRuns(t *testing.T, pool *pgxpool.Pool, id string, f *fileServer) func(n int, run *Run) {
	return func(n int, run *Run) {
		t.Helper()
		full, nm := f.counts()
		if n%2 == 0 {
			if full != 0 || nm != 1 || run.Read != 0 {
				t.Fatalf("run %d of an unchanged file: %d downloads, %d answers 304, %d items read; want a 304 only", n, full, nm, run.Read)
			}
		} else if full != 1 || nm != 0 {
			t.Fatalf("run %d of a changed file: %d downloads, %d answers 304; want one download", n, full, nm)
		}
		src, err := Get(context.Background(), pool, id)
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		etag := f.etag
		f.mu.Unlock()
		if src.Validator != "etag:"+etag {
			t.Fatalf("run %d left the validator %q; the file's ETag is %s", n, src.Validator, etag)
		}
	}
}

func TestConnectorFile(t *testing.T) {
	pool := testdb.Pool(t)
	t.Run("csv", func(t *testing.T) {
		d := enterprises(10)
		f := &fileServer{path: "/du-lieu/doanh-nghiep.csv", contentType: "text/csv; charset=utf-8"}
		f.set(enterprisesCSV(d))
		srv := httptest.NewServer(f)
		defer srv.Close()
		connSource(t, pool, "conn-file-csv", srv.URL+f.path, func(s *Source) { s.Connector = "file" })
		changeRuns(t, pool, "conn-file-csv", 10,
			func() { equalTable(t, pool, "conn_file_csv", "ma_so_thue", d) },
			func() { changeEnterprises(d, false); f.set(enterprisesCSV(d)) },
			fileRuns(t, pool, "conn-file-csv", f))
	})
	t.Run("geojson", func(t *testing.T) {
		d := bridges(10)
		f := &fileServer{path: "/du-lieu/cau.geojson", contentType: "application/geo+json"}
		f.set(bridgesGeoJSON(d))
		srv := httptest.NewServer(f)
		defer srv.Close()
		connSource(t, pool, "conn-file-geojson", srv.URL+f.path, func(s *Source) {
			s.Entry, s.ItemType, s.Connector, s.Key = "ha-tang-giao-thong", "feature", "file", "ma"
		})
		changeRuns(t, pool, "conn-file-geojson", 10,
			func() { equalTable(t, pool, "conn_file_geojson", "ma", d) },
			func() { changeBridges(d); f.set(bridgesGeoJSON(d)) },
			fileRuns(t, pool, "conn-file-geojson", f))
	})
}

// A file source that withdraws: a row gone from the file keeps its row, marked withdrawn_at,
// until it comes back.
func TestConnectorFileWithdraw(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	d := enterprises(10)
	f := &fileServer{path: "/du-lieu/doanh-nghiep.csv", contentType: "text/csv"}
	f.set(enterprisesCSV(d))
	srv := httptest.NewServer(f)
	defer srv.Close()
	connSource(t, pool, "conn-file-withdraw", srv.URL+f.path, func(s *Source) { s.Connector, s.Deletions = "file", "withdraw" })
	withdrawn := func() map[string]time.Time {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT ma_so_thue, withdrawn_at FROM data.conn_file_withdraw WHERE withdrawn_at IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for rows.Next() {
			var k string
			var at time.Time
			if err := rows.Scan(&k, &at); err != nil {
				t.Fatal(err)
			}
			out[k] = at
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if run := mustSync(t, pool, "conn-file-withdraw"); run.Inserted != 10 {
		t.Fatalf("first run: %+v", run)
	}
	equalTable(t, pool, "conn_file_withdraw", "ma_so_thue", d, "withdrawn_at")
	if w := withdrawn(); len(w) != 0 {
		t.Fatalf("withdrawn after the first run: %v", w)
	}

	// A row leaves the file: it stays, withdrawn, as it was.
	k5, _ := enterprise(5)
	gone := d.get(k5)
	d.del(k5)
	f.set(enterprisesCSV(d))
	run := mustSync(t, pool, "conn-file-withdraw")
	if run.Status != "succeeded" || run.Updated != 1 || run.Inserted+run.Deleted != 0 {
		t.Fatalf("withdrawing run: %+v", run)
	}
	v, _ := version(t, pool, "conn-file-withdraw")
	if ops := changesAt(t, pool, "conn-file-withdraw", v); !maps.Equal(ops, map[string]int{"update": 1}) {
		t.Fatalf("withdrawing run logged %v", ops)
	}
	held := newDataset()
	for _, r := range d.rows(false) {
		held.set(r.key, r.props)
	}
	held.set(k5, gone)
	equalTable(t, pool, "conn_file_withdraw", "ma_so_thue", held, "withdrawn_at")
	w1 := withdrawn()
	if len(w1) != 1 || w1[k5].IsZero() {
		t.Fatalf("withdrawn: %v; want %s only", w1, k5)
	}

	// Another row changes: the withdrawn one is not withdrawn again.
	k2, _ := enterprise(2)
	it := d.get(k2)
	it["ten"] = "Hợp tác xã Nông nghiệp Gia Lộc (giải thể)"
	d.set(k2, it)
	held.set(k2, it)
	f.set(enterprisesCSV(d))
	if run := mustSync(t, pool, "conn-file-withdraw"); run.Updated != 1 || run.Inserted+run.Deleted != 0 {
		t.Fatalf("a run with a withdrawn row and a change: %+v", run)
	}
	equalTable(t, pool, "conn_file_withdraw", "ma_so_thue", held, "withdrawn_at")
	if w := withdrawn(); !maps.Equal(w, w1) {
		t.Fatalf("withdrawn: %v; want %v as before", w, w1)
	}

	// The row comes back: its mark is cleared.
	d.set(k5, gone)
	f.set(enterprisesCSV(d))
	if run := mustSync(t, pool, "conn-file-withdraw"); run.Updated != 1 || run.Inserted+run.Deleted != 0 {
		t.Fatalf("a row back in the file: %+v", run)
	}
	equalTable(t, pool, "conn_file_withdraw", "ma_so_thue", d, "withdrawn_at")
	if w := withdrawn(); len(w) != 0 {
		t.Fatalf("withdrawn after the row came back: %v", w)
	}
	if run := mustSync(t, pool, "conn-file-withdraw"); run.Status != "unchanged" {
		t.Fatalf("the same file again: %+v", run)
	}
}

// ---- xml ----

const soapNS = "http://lgsp.haiduong.gov.vn/"

// soapService is a provincial integration platform's SOAP 1.1 service listing enterprises page
// by page: <Trang> (page) and <SoBanGhi> (page size) in the request.
type soapService struct {
	d     *dataset
	mu    sync.Mutex
	pages []string // page/size of each call
}

var (
	soapPage = regexp.MustCompile(`<Trang>(\d+)</Trang>`)
	soapSize = regexp.MustCompile(`<SoBanGhi>(\d+)</SoBanGhi>`)
)

func (s *soapService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	pm, sm := soapPage.FindSubmatch(body), soapSize.FindSubmatch(body)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if r.Method != http.MethodPost || r.Header.Get("SOAPAction") != `"`+soapNS+`LayDanhSachDoanhNghiep"` ||
		!strings.Contains(string(body), "Envelope") || pm == nil || sm == nil {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Yêu cầu không hợp lệ (%s %s)</faultstring></soap:Fault></soap:Body></soap:Envelope>`,
			r.Method, xmlText(r.Header.Get("SOAPAction")))
		return
	}
	page, _ := strconv.Atoi(string(pm[1]))
	size, _ := strconv.Atoi(string(sm[1]))
	s.mu.Lock()
	s.pages = append(s.pages, fmt.Sprintf("%d/%d", page, size))
	s.mu.Unlock()
	rows := s.d.rows(false)
	from := min(max(page-1, 0)*size, len(rows))
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>`)
	fmt.Fprintf(&b, `<LayDanhSachDoanhNghiepResponse xmlns="%s"><LayDanhSachDoanhNghiepResult><TongSo>%d</TongSo><DanhSach>`, soapNS, len(rows))
	for _, r := range rows[from:min(from+size, len(rows))] {
		p := r.props
		fmt.Fprintf(&b, "\n<DoanhNghiep><MaSoThue>%s</MaSoThue><TenDoanhNghiep>%s</TenDoanhNghiep><VonDieuLe>%d</VonDieuLe>"+
			"<NgayCapPhep>%s</NgayCapPhep><DiaChi><SoNha>Số %d</SoNha><MaXa>%s</MaXa></DiaChi><NgayCapNhat>%s</NgayCapNhat></DoanhNghiep>",
			xmlText(p["ma_so_thue"].(string)), xmlText(p["ten"].(string)), p["von_dieu_le"], p["ngay_cap"], len(r.key), p["ma_xa"], p["updated_at"])
	}
	b.WriteString(`</DanhSach></LayDanhSachDoanhNghiepResult></LayDanhSachDoanhNghiepResponse></soap:Body></soap:Envelope>`)
	io.WriteString(w, b.String())
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func TestConnectorXMLSOAP(t *testing.T) {
	pool := testdb.Pool(t)
	d := enterprises(10)
	svc := &soapService{d: d}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	connSource(t, pool, "conn-xml", srv.URL+"/lgsp/DoanhNghiepService.asmx", func(s *Source) {
		s.Connector, s.Key = "xml", "MaSoThue"
		s.Options = map[string]string{
			"soap_action": soapNS + "LayDanhSachDoanhNghiep",
			"request":     `<LayDanhSachDoanhNghiep xmlns="` + soapNS + `"><Trang>{{page}}</Trang><SoBanGhi>{{page_size}}</SoBanGhi></LayDanhSachDoanhNghiep>`,
			"paging":      "page",
			"page_size":   "4",
			"record":      "Envelope/Body/LayDanhSachDoanhNghiepResponse/LayDanhSachDoanhNghiepResult/DanhSach/DoanhNghiep",
			"total_path":  "Envelope/Body/LayDanhSachDoanhNghiepResponse/LayDanhSachDoanhNghiepResult/TongSo",
		}
		s.Mapping = map[string]string{"ma_so_thue": "MaSoThue", "ten": "TenDoanhNghiep", "von_dieu_le": "VonDieuLe",
			"ngay_cap": "NgayCapPhep", "ma_xa": "DiaChi/MaXa", "updated_at": "NgayCapNhat"}
	})
	changeRuns(t, pool, "conn-xml", 10,
		func() { equalTable(t, pool, "conn_xml", "ma_so_thue", d) },
		func() { changeEnterprises(d, false) },
		func(n int, _ *Run) {
			svc.mu.Lock()
			defer svc.mu.Unlock()
			// 10 records in pages of 4; the stated total ends the paging.
			if !slices.Equal(svc.pages, []string{"1/4", "2/4", "3/4"}) {
				t.Fatalf("run %d called for the pages %v; want 1/4, 2/4, 3/4", n, svc.pages)
			}
			svc.pages = nil
		})
}
