package policy_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/relations"
	"github.com/haiduong/hub/server"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The matrix: one entry (dat-dai, shared as default and specific) with an open layer of
// communes, a default layer of parcels with a personal field, a specific record collection of
// citizens linked to the communes, and a joined layer counting citizens per commune; callers
// of every kind; every data path, the change feed of two syncs of parcels and citizens too.
const (
	entry = "dat-dai"
	zoom  = 14
)

// The tile all the features fall in, and its centre.
var (
	tileX, tileY   = 13029, 7233
	lon0, lat0     = tileCentre(zoom, tileX, tileY)
	communeOf      = []string{"C1", "C1", "C2", "C2", "C3", "C3"} // parcels
	citizenCommune = []string{"C1", "C1", "C1", "C2", "C2", "C3"}
)

func tileCentre(z, x, y int) (lon, lat float64) {
	n := math.Exp2(float64(z))
	lon = (float64(x)+0.5)/n*360 - 180
	lat = math.Atan(math.Sinh(math.Pi*(1-2*(float64(y)+0.5)/n))) * 180 / math.Pi
	return
}

func square(lon, lat, d float64) string {
	return fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%[1]f,%[2]f],[%[3]f,%[2]f],[%[3]f,%[4]f],[%[1]f,%[4]f],[%[1]f,%[2]f]]]}`,
		lon-d, lat-d, lon+d, lat+d)
}

func citizenID(i int) string { return fmt.Sprintf("0010850123%02d", i) }

type matrix struct {
	srv  *httptest.Server
	pool *pgxpool.Pool
	keys map[string]string // principal → API key
	ids  map[string]string // principal → key id (the audit log's credential)
	// The change feed: by collection, the data version of the first sync and what the second
	// changed after it, by feature id.
	since   map[string]int64
	changes map[string][]change
}

// change is one item the matrix's second sync changed.
type change struct {
	fid          int64
	op           string // update or delete
	key, commune string // the source's key, the row's commune
	field, value string // an update: the personal field renamed, its new value
}

func ownerName(i int) string   { return fmt.Sprintf("Nguyễn Văn %c%d", 'A'+rune(i), i) }
func citizenName(i int) string { return fmt.Sprintf("Trần Thị %c", 'A'+rune(i)) }

// The syncs of the change feed: the first adds parcels 7 and 8 and citizens 6 and 7, one in C1
// and one in C2; the second renames an owner and a citizen in C1 and in C2 and drops the added
// ones (the source no longer has them).
var (
	addedCommune   = []string{"C1", "C2"}
	renamedOwner   = map[int]string{0: "Lê Văn A0", 2: "Lê Văn C2"} // parcels 1 (C1) and 3 (C2)
	renamedCitizen = map[int]string{1: "Lê Thị B", 3: "Lê Thị D"}   // citizens 1 (C1) and 3 (C2)
)

// personalValues are every personal value the matrix has held, with the commune of its row.
func personalValues() map[string]string {
	out := map[string]string{}
	parcels, citizens := append(slices.Clone(communeOf), addedCommune...), append(slices.Clone(citizenCommune), addedCommune...)
	for i, c := range parcels {
		out[ownerName(i)] = c
	}
	for i, c := range citizens {
		out[citizenID(i)], out[citizenName(i)] = c, c
	}
	for i, v := range renamedOwner {
		out[v] = communeOf[i]
	}
	for i, v := range renamedCitizen {
		out[v] = citizenCommune[i]
	}
	return out
}

// hubMask is the database's hub_mask: 001085012389 reads 0010******89.
func hubMask(v string) string {
	r := []rune(v)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:len(r)/3]) + strings.Repeat("*", len(r)-len(r)/3-2) + string(r[len(r)-2:])
}

func importQuery(t *setupT, pool *pgxpool.Pool, def layers.Layer, category string, keys []string, sql string) {
	t.Helper()
	importWith(t, pool, def, keys, sql, ingest.Options{Category: category})
}

// syncQuery synchronises a collection with the rows of sql as a source's sync does: only what
// differs is written, each change logged under the new data version for the change feed.
func syncQuery(t *setupT, pool *pgxpool.Pool, def layers.Layer, category, key string, keys []string, sql string) {
	t.Helper()
	importWith(t, pool, def, keys, sql, ingest.Options{Category: category, Mode: "sync", Sync: &ingest.Sync{Key: key, Complete: true}})
}

func importWith(t *setupT, pool *pgxpool.Pool, def layers.Layer, keys []string, sql string, opt ingest.Options) {
	t.Helper()
	srid := 4326
	if def.ItemType == layers.Record {
		srid = 0
	}
	opt.Collection, opt.Definition = def.ID, def
	if _, err := ingest.Import(context.Background(), pool, ingest.Query(pool, srid, keys, sql), def.ID, opt); err != nil {
		t.Fatalf("import %s (%s): %v", def.ID, opt.Mode, err)
	}
}

var (
	setupOnce sync.Once
	data      *matrix
)

// newMatrix loads the matrix's data once per package run and starts a hub on it.
func newMatrix(t *testing.T) *matrix {
	t.Helper()
	pool := testdb.Pool(t)
	setupOnce.Do(func() {
		st := &setupT{T: t}
		data = load(st, pool)
	})
	if data == nil {
		t.Fatal("matrix setup failed")
	}
	reg, err := layers.Load(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	m := *data
	m.pool = pool
	m.srv = httptest.NewServer(server.New(pool, reg, server.Config{Version: "test", TileCacheBytes: 8 << 20}))
	t.Cleanup(m.srv.Close)
	return &m
}

// setupT is the first test's T, for the shared setup.
type setupT struct{ *testing.T }

func load(t *setupT, pool *pgxpool.Pool) *matrix {
	t.Helper()
	ctx := context.Background()
	var communes []string
	for i, c := range []string{"C1", "C2", "C3"} {
		communes = append(communes, fmt.Sprintf(`SELECT ST_AsBinary(ST_GeomFromGeoJSON('%s')), json_build_object('code', '%s', 'name', 'Xã %s')`,
			square(lon0-0.006+float64(i)*0.006, lat0, 0.0029), c, c))
	}
	// The parcels and citizens, with those of the first sync (added) and the second's names.
	parcels := func(added bool, renamed map[int]string) string {
		var rows []string
		communes := communeOf
		if added {
			communes = append(slices.Clone(communes), addedCommune...)
		}
		for i, c := range communes {
			ci := int(c[1] - '1')
			name := ownerName(i)
			if v, ok := renamed[i]; ok {
				name = v
			}
			rows = append(rows, fmt.Sprintf(`SELECT ST_AsBinary(ST_GeomFromGeoJSON('%s')), json_build_object('so_thua', %d, 'commune_code', '%s', 'owner_name', '%s')`,
				square(lon0-0.006+float64(ci)*0.006, lat0-0.001+float64(i%2)*0.002, 0.0004), i+1, c, name))
		}
		return strings.Join(rows, " UNION ALL ")
	}
	citizens := func(added bool, renamed map[int]string) string {
		var rows []string
		communes := citizenCommune
		if added {
			communes = append(slices.Clone(communes), addedCommune...)
		}
		for i, c := range communes {
			name := citizenName(i)
			if v, ok := renamed[i]; ok {
				name = v
			}
			rows = append(rows, fmt.Sprintf(`SELECT NULL::bytea, json_build_object('citizen_id', '%s', 'full_name', '%s', 'commune_code', '%s')`,
				citizenID(i), name, c))
		}
		return strings.Join(rows, " UNION ALL ")
	}
	parcelsDef := layers.Layer{ID: "parcels-x", Title: "Thửa", EntryID: entry, MinZoom: 10, MaxZoom: 18, Fields: []layers.Field{
		{Name: "so_thua", Type: "integer"}, {Name: "commune_code", Type: "string"},
		{Name: "owner_name", Type: "string", Personal: true, Category: "specific"}}}
	parcelKeys := []string{"so_thua", "commune_code", "owner_name"}
	citizensDef := layers.Layer{ID: "citizens-x", Title: "Công dân", EntryID: entry, ItemType: layers.Record, KeyField: "citizen_id",
		Fields: []layers.Field{{Name: "citizen_id", Type: "string", Personal: true, Required: true}, {Name: "full_name", Type: "string", Personal: true},
			{Name: "commune_code", Type: "string"}}}
	citizenKeys := []string{"citizen_id", "full_name", "commune_code"}
	importQuery(t, pool, layers.Layer{ID: "communes-x", Title: "Xã", EntryID: entry, Fields: []layers.Field{
		{Name: "code", Type: "string"}, {Name: "name", Type: "string"}}}, "open", []string{"code", "name"}, strings.Join(communes, " UNION ALL "))
	importQuery(t, pool, parcelsDef, "default", parcelKeys, parcels(false, nil))
	importQuery(t, pool, citizensDef, "specific", citizenKeys, citizens(false, nil))

	importQuery(t, pool, layers.Layer{ID: "notices-x", Title: "Thông báo", EntryID: entry, ItemType: layers.Record, KeyField: "notice_no",
		Fields: []layers.Field{{Name: "notice_no", Type: "string"}, {Name: "commune_code", Type: "string"}}}, "open",
		[]string{"notice_no", "commune_code"}, `SELECT NULL::bytea, json_build_object('notice_no', 'TB-' || i, 'commune_code', 'C' || (1 + i % 3)) FROM generate_series(1, 5) i`)

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// Open records joined onto default parcels: the joined layer republishes the parcels'
	// geometry and fields, so it shares as they do, not as the open records.
	if err := relations.DefineJoin(ctx, tx, layers.Layer{ID: "notices-by-parcel", Title: "Thông báo theo thửa", MinZoom: 10, MaxZoom: 18},
		layers.Join{Base: "parcels-x", BaseField: "commune_code", Records: "notices-x", RecordsField: "commune_code",
			Aggregates: []layers.Aggregate{{Name: "notices", Op: "count"}}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := relations.SaveLink(ctx, tx, layers.Link{ID: "citizens-x-commune", Source: "citizens-x", SourceField: "commune_code",
		Target: "communes-x", TargetField: "code", Title: "Xã"}); err != nil {
		t.Fatal(err)
	}
	if err := relations.DefineJoin(ctx, tx, layers.Layer{ID: "citizens-by-commune", Title: "Công dân theo xã", MinZoom: 10, MaxZoom: 18},
		layers.Join{Base: "communes-x", BaseField: "code", Records: "citizens-x", RecordsField: "commune_code",
			Aggregates: []layers.Aggregate{{Name: "citizens", Op: "count"}}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	m := &matrix{pool: pool, keys: map[string]string{}, ids: map[string]string{}, since: map[string]int64{}, changes: map[string][]change{}}
	// The change feed: two syncs of the parcels and the citizens, after which the collections
	// hold what they held before, but for the new names. The feed since the first sync reports
	// the second's updates and deletions.
	syncQuery(t, pool, parcelsDef, "default", "so_thua", parcelKeys, parcels(true, nil))
	syncQuery(t, pool, citizensDef, "specific", "citizen_id", citizenKeys, citizens(true, nil))
	fids := map[string]map[string]int64{} // collection → key → feature id
	for _, c := range []struct{ id, key string }{{"parcels-x", "so_thua"}, {"citizens-x", "citizen_id"}} {
		var since int64
		var byKey map[string]int64
		if err := pool.QueryRow(ctx, `SELECT (SELECT data_version FROM layers WHERE id = $1), json_object_agg(`+c.key+`::text, fid)
FROM data.`+strings.ReplaceAll(c.id, "-", "_"), c.id).Scan(&since, &byKey); err != nil {
			t.Fatal(err)
		}
		m.since[c.id], fids[c.id] = since, byKey
	}
	syncQuery(t, pool, parcelsDef, "default", "so_thua", parcelKeys, parcels(false, renamedOwner))
	syncQuery(t, pool, citizensDef, "specific", "citizen_id", citizenKeys, citizens(false, renamedCitizen))
	for i, v := range renamedOwner {
		key := fmt.Sprint(i + 1)
		m.changes["parcels-x"] = append(m.changes["parcels-x"], change{fids["parcels-x"][key], "update", key, communeOf[i], "owner_name", v})
	}
	for i, v := range renamedCitizen {
		key := citizenID(i)
		m.changes["citizens-x"] = append(m.changes["citizens-x"], change{fids["citizens-x"][key], "update", key, citizenCommune[i], "full_name", v})
	}
	for j, c := range addedCommune {
		key := fmt.Sprint(len(communeOf) + j + 1)
		m.changes["parcels-x"] = append(m.changes["parcels-x"], change{fid: fids["parcels-x"][key], op: "delete", key: key, commune: c})
		key = citizenID(len(citizenCommune) + j)
		m.changes["citizens-x"] = append(m.changes["citizens-x"], change{fid: fids["citizens-x"][key], op: "delete", key: key, commune: c})
	}
	for _, cs := range m.changes {
		slices.SortFunc(cs, func(a, b change) int { return cmp.Compare(a.fid, b.fid) })
	}

	var other string
	if err := pool.QueryRow(ctx, `SELECT id FROM catalog_entries WHERE id <> $1 AND 'default' = ANY (categories) ORDER BY number LIMIT 1`, entry).Scan(&other); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	request := `INSERT INTO access_requests (agency_id, application_id, entry_id, purpose, status, decided_at, decided_by)
	            VALUES ($1, $1 || '-app', $2, 'thử', 'approved', now(), 'admin')`
	agreement := `INSERT INTO agreements (agency_id, application_id, entry_id, purpose, unmask_personal, row_filter, starts_on, ends_on, retention, status, reason, decided_at, decided_by)
	              VALUES ($1, $1 || '-app', $2, 'thử', $3, $4, $5, $6, 'xóa sau 1 năm', $7, $8, now(), 'admin')`
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for _, who := range []string{"connected", "holder", "unmasker", "revoked", "expired", "other", "holder5", "masker", "partial"} {
		agency := "mx-" + who
		exec(`INSERT INTO agencies (id, name) VALUES ($1, $1)`, agency)
		exec(`INSERT INTO applications (id, agency_id, name) VALUES ($1 || '-app', $1, 'app')`, agency)
		k, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: agency, Application: agency + "-app"})
		if err != nil {
			t.Fatal(err)
		}
		m.keys[who], m.ids[who] = secret, k.ID
		switch who {
		case "connected":
			exec(request, agency, entry)
		case "holder":
			exec(agreement, agency, entry, false, map[string][]string{"commune_code": {"C1"}}, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "approved", "")
		case "holder5": // several values: the planner then may order conditions differently
			exec(agreement, agency, entry, false, map[string][]string{"commune_code": {"C1", "Z1", "Z2", "Z3", "Z4"}}, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "approved", "")
		case "unmasker":
			exec(agreement, agency, entry, true, nil, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "approved", "")
		case "masker": // every row, personal fields masked
			exec(agreement, agency, entry, false, nil, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "approved", "")
		case "partial": // the communes of every row, and the rows of C1 whole and in clear
			exec(agreement, agency, entry, true, map[string][]string{"commune_code": {"C1"}}, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "approved", "")
			exec(agreement, agency, entry, false, nil, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "approved", "")
			exec(`UPDATE agreements SET fields = '{commune_code}' WHERE id = (SELECT max(id) FROM agreements WHERE agency_id = $1)`, agency) // the second
		case "revoked":
			exec(agreement, agency, entry, true, nil, today.AddDate(0, 0, -1), today.AddDate(1, 0, 0), "revoked", "hết nhu cầu — no longer needed")
		case "expired":
			exec(agreement, agency, entry, true, nil, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), "approved", "")
		case "other":
			exec(request, agency, other)
		}
	}
	return m
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (m *matrix) get(t *testing.T, who, path string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", m.srv.URL+path, nil)
	if who != "anonymous" {
		req.Header.Set("Authorization", "Bearer "+m.keys[who])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, b, res.Header}
}

type item struct {
	ID         any            `json:"id"`
	Properties map[string]any `json:"properties"`
	Links      []struct {
		Href, Rel     string
		NumberMatched *int `json:"numberMatched"`
	} `json:"links"`
}

type page struct {
	Features []item `json:"features"`
}

var principals = []string{"anonymous", "connected", "holder", "unmasker", "revoked", "expired", "other"}

// Readers checked only on the paths that name them: "masker" holds an agreement for every row
// with personal fields masked; "partial" one for the communes of every row and one for the rows
// of C1 whole and in clear.
var partReaders = []string{"masker", "partial"}

// refused are the principals that may read nothing of the entry beyond open data.
var refused = map[string]int{"anonymous": 401, "revoked": 403, "expired": 403, "other": 403}

var masked = regexp.MustCompile(`^.{1,4}\*+.{0,2}$`)

func propNames(props map[string]any) []string {
	var out []string
	for k := range props {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestMatrix(t *testing.T) {
	m := newMatrix(t)
	var c2Parcel int64
	if err := m.pool.QueryRow(context.Background(), `SELECT fid FROM data.parcels_x WHERE commune_code = 'C2' LIMIT 1`).Scan(&c2Parcel); err != nil {
		t.Fatal(err)
	}
	tile := fmt.Sprintf("/collections/parcels-x/tiles/WebMercatorQuad/%d/%d/%d", zoom, tileY, tileX)

	type want struct {
		status int
		rows   int      // features, records or tile features; -1: not checked
		fields []string // property names; nil: not checked
		masked []string // fields whose values must be masked
		clear  []string // fields whose values must be in clear
	}
	parcelFields := []string{"commune_code", "so_thua"}
	withOwner := []string{"commune_code", "owner_name", "so_thua"}
	citizenFields := []string{"citizen_id", "commune_code", "full_name"}
	paths := []struct {
		name, path string
		want       map[string]want // by principal; missing: refused[principal]
	}{
		{"items", "/collections/parcels-x/items", map[string]want{
			"connected": {200, 6, parcelFields, nil, nil},
			"holder":    {200, 2, withOwner, []string{"owner_name"}, nil},
			"unmasker":  {200, 6, withOwner, nil, []string{"owner_name"}},
		}},
		{"item", fmt.Sprintf("/collections/parcels-x/items/%d", c2Parcel), map[string]want{
			"connected": {200, 1, parcelFields, nil, nil},
			"holder":    {404, -1, nil, nil, nil}, // a row outside the agreement does not exist for it
			"unmasker":  {200, 1, withOwner, nil, []string{"owner_name"}},
		}},
		{"record lookup", "/collections/citizens-x/items/" + citizenID(0), map[string]want{
			"connected": {403, -1, nil, nil, nil},
			"holder":    {403, -1, nil, nil, nil}, // the key is masked for it: no guessing by lookup
			"unmasker":  {200, 1, citizenFields, nil, []string{"citizen_id", "full_name"}},
		}},
		{"records", "/collections/citizens-x/items", map[string]want{
			"connected": {403, -1, nil, nil, nil},
			"holder":    {200, 3, citizenFields, []string{"citizen_id", "full_name"}, nil},
			"unmasker":  {200, 6, citizenFields, nil, []string{"citizen_id", "full_name"}},
		}},
		{"csv", "/collections/citizens-x/items?f=csv", map[string]want{
			"connected": {403, -1, nil, nil, nil},
			"holder":    {200, 3, nil, nil, nil},
			"unmasker":  {200, 6, nil, nil, nil},
		}},
		{"tile", tile, map[string]want{
			"connected": {200, 6, parcelFields, nil, nil},
			"holder":    {200, 2, withOwner, []string{"owner_name"}, nil},
			"unmasker":  {200, 6, withOwner, nil, []string{"owner_name"}},
		}},
		{"tilejson", "/collections/parcels-x/tiles/WebMercatorQuad?f=tilejson", map[string]want{
			"connected": {200, -1, parcelFields, nil, nil},
			"holder":    {200, -1, withOwner, nil, nil},
			"unmasker":  {200, -1, withOwner, nil, nil},
		}},
		{"joined open records on default parcels", "/collections/notices-by-parcel/items", map[string]want{
			"connected": {200, 6, []string{"commune_code", "notices", "so_thua"}, nil, nil},
			"holder":    {403, -1, nil, nil, nil}, // a row restriction does not apply to a joined layer
			"unmasker":  {200, 6, []string{"commune_code", "notices", "so_thua"}, nil, nil},
		}},
		{"joined layer", "/collections/citizens-by-commune/items", map[string]want{
			"connected": {403, -1, nil, nil, nil},
			"holder":    {403, -1, nil, nil, nil}, // its row restriction cannot apply to aggregates
			"unmasker":  {200, 3, []string{"citizens", "code", "name"}, nil, nil},
		}},
		// The change feed since the first sync: the second's updates and deletions (rows: the
		// changes the reader is told of; fields, masked, clear: those of the updated items).
		{"changes", fmt.Sprintf("/collections/parcels-x/changes?since=%d", m.since["parcels-x"]), map[string]want{
			"connected": {200, 4, parcelFields, nil, nil},
			"holder":    {200, 2, withOwner, []string{"owner_name"}, nil}, // not the changes outside C1
			"unmasker":  {200, 4, withOwner, nil, []string{"owner_name"}},
			"masker":    {200, 4, withOwner, []string{"owner_name"}, nil},
			"partial":   {200, 4, withOwner, nil, nil}, // owner names in clear in C1, none elsewhere
		}},
		{"record changes", fmt.Sprintf("/collections/citizens-x/changes?since=%d", m.since["citizens-x"]), map[string]want{
			"connected": {403, -1, nil, nil, nil},
			"holder":    {200, 2, citizenFields, []string{"citizen_id", "full_name"}, nil},
			"unmasker":  {200, 4, citizenFields, nil, []string{"citizen_id", "full_name"}},
			"masker":    {200, 4, citizenFields, []string{"citizen_id", "full_name"}, nil},
			"partial":   {200, 4, citizenFields, nil, nil},
		}},
	}
	// How the feed names a deleted item: by its feature id alone, with properties null (the
	// partial reader sees the key field on some of its rows only), or by the source's key as the
	// reader sees it: the key's one property, and a record's id. The holder is told only of the
	// deletions of rows it could read (C1), by their key.
	deletedAs := map[string]map[string]string{
		"changes":        {"connected": "key", "holder": "key", "unmasker": "key", "masker": "key", "partial": "fid"},
		"record changes": {"holder": "masked key", "unmasker": "key", "masker": "masked key", "partial": "fid"},
	}
	changeKey := map[string]string{"parcels-x": "so_thua", "citizens-x": "citizen_id"}
	audited := func(t *testing.T, path string) (n int) {
		t.Helper()
		if err := m.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE operation = 'changes' AND query = $1`, path).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, p := range paths {
		for _, who := range append(slices.Clone(principals), partReaders...) {
			w, ok := p.want[who]
			if !ok && slices.Contains(partReaders, who) {
				continue
			}
			if !ok {
				w = want{status: refused[who], rows: -1}
			}
			t.Run(p.name+"/"+who, func(t *testing.T) {
				feed := strings.Contains(p.path, "/changes?")
				before := 0
				if feed {
					before = audited(t, p.path)
				}
				res := m.get(t, who, p.path)
				if res.status != w.status {
					t.Fatalf("%s as %s: %d, want %d: %s", p.path, who, res.status, w.status, res.body)
				}
				// No answer holds a personal value in clear, but to a reader that unmasks it.
				for v, commune := range personalValues() {
					if who != "unmasker" && (who != "partial" || commune != "C1") && bytes.Contains(res.body, []byte(v)) {
						t.Errorf("%s reads %q (a personal value of a row of %s) in clear: %s", who, v, commune, res.body)
					}
				}
				// The feed's answers with data are logged, one record each; refusals are not.
				if feed {
					n := 0
					if w.status == 200 {
						n = 1
					}
					if got := audited(t, p.path) - before; got != n {
						t.Errorf("%d audit records of operation changes, want %d", got, n)
					}
					var cred string
					var rows, status int
					if err := m.pool.QueryRow(context.Background(), `SELECT COALESCE(credential_id, ''), rows, status FROM audit_log
WHERE operation = 'changes' AND query = $1 ORDER BY seq DESC LIMIT 1`, p.path).Scan(&cred, &rows, &status); n == 1 &&
						(err != nil || cred != m.ids[who] || rows != w.rows || status != 200) {
						t.Errorf("audit record of %s: credential %q (want %q), %d rows (want %d), status %d: %v", who, cred, m.ids[who], rows, w.rows, status, err)
					}
				}
				if w.status >= 400 {
					checkRefusal(t, who, res)
					return
				}
				var props []map[string]any
				switch p.name {
				case "tile":
					ls, err := mvt.Unmarshal(res.body)
					if err != nil || len(ls) != 1 {
						t.Fatalf("tile: %v %d layers", err, len(ls))
					}
					for _, f := range ls[0].Features {
						props = append(props, f.Properties)
					}
				case "tilejson":
					var tj struct {
						VectorLayers []struct{ Fields map[string]string } `json:"vector_layers"`
					}
					json.Unmarshal(res.body, &tj)
					if got := propNames(toAny(tj.VectorLayers[0].Fields)); !slices.Equal(got, w.fields) {
						t.Errorf("TileJSON fields %v, want %v", got, w.fields)
					}
					return
				case "csv":
					lines := strings.Split(strings.TrimSpace(string(res.body)), "\n")
					if len(lines)-1 != w.rows {
						t.Errorf("CSV: %d rows, want %d", len(lines)-1, w.rows)
					}
					if who == "holder" && !strings.Contains(string(res.body), "0010******00") {
						t.Errorf("CSV for the holder shows citizen ids unmasked or not at all:\n%s", res.body)
					}
					if who == "holder" && strings.Contains(string(res.body), citizenID(0)) {
						t.Errorf("CSV for the holder shows a citizen id in clear")
					}
					return
				case "changes", "record changes":
					collection := strings.Split(p.path, "/")[2]
					var pg struct {
						Features []struct {
							ID         any            `json:"id"`
							Change     string         `json:"change"`
							Properties map[string]any `json:"properties"`
						} `json:"features"`
					}
					if err := json.Unmarshal(res.body, &pg); err != nil {
						t.Fatalf("%v: %s", err, res.body)
					}
					// In order of feature id, the changes of the rows the reader reads (or read,
					// for a deletion): the holder's are those of C1.
					var expect []change
					for _, c := range m.changes[collection] {
						if who != "holder" || c.commune == "C1" {
							expect = append(expect, c)
						}
					}
					if len(pg.Features) != w.rows || len(expect) != w.rows {
						t.Fatalf("%d changes, want %d: %s", len(pg.Features), len(expect), res.body)
					}
					key := changeKey[collection]
					for i, c := range expect {
						f := pg.Features[i]
						if f.Change != c.op {
							t.Errorf("feature %v: change %q, want %q of %s %s", f.ID, f.Change, c.op, key, c.key)
						}
						if c.op == "delete" {
							var id any = c.fid
							var props map[string]any
							switch deletedAs[p.name][who] {
							case "key":
								props = map[string]any{key: c.key}
								if collection == "citizens-x" {
									id = c.key
								}
							case "masked key":
								id, props = hubMask(c.key), map[string]any{key: hubMask(c.key)}
							}
							if fmt.Sprint(f.ID) != fmt.Sprint(id) || (f.Properties == nil) != (props == nil) || fmt.Sprint(f.Properties) != fmt.Sprint(props) {
								t.Errorf("deletion of %s %s (feature %d, %s) as %s: id %v, properties %s; want id %v, properties %s",
									key, c.key, c.fid, c.commune, who, f.ID, jsonOf(f.Properties), id, jsonOf(props))
							}
							continue
						}
						if f.Properties["commune_code"] != c.commune {
							t.Errorf("update of feature %d: commune %v, want %s", c.fid, f.Properties["commune_code"], c.commune)
						}
						// The new value as the reader sees it, and a record's key as its id (the
						// partial reader sees neither outside C1).
						seen := func(field, v string) any {
							switch {
							case !slices.Contains(w.fields, field) || who == "partial" && c.commune != "C1":
								return nil
							case slices.Contains(w.masked, field):
								return hubMask(v)
							}
							return v
						}
						value, id := seen(c.field, c.value), seen(key, c.key)
						if collection != "citizens-x" {
							id = c.fid
						}
						if f.Properties[c.field] != value || fmt.Sprint(f.ID) != fmt.Sprint(id) {
							t.Errorf("update of %s %s as %s: id %v, %s %v; want id %v, %v", key, c.key, who, f.ID, c.field, f.Properties[c.field], id, value)
						}
						props = append(props, f.Properties)
					}
					w.rows = -1 // counted above; the checks below are the updated items'

				case "item", "record lookup":
					var it item
					json.Unmarshal(res.body, &it)
					props = append(props, it.Properties)
				default:
					var pg page
					json.Unmarshal(res.body, &pg)
					for _, f := range pg.Features {
						props = append(props, f.Properties)
					}
				}
				if w.rows >= 0 && len(props) != w.rows {
					t.Errorf("%d rows, want %d", len(props), w.rows)
				}
				for _, pr := range props {
					if got := propNames(pr); w.fields != nil && !slices.Equal(got, w.fields) {
						t.Errorf("fields %v, want %v", got, w.fields)
					}
					for _, f := range w.masked {
						if s, _ := pr[f].(string); !masked.MatchString(s) || !strings.Contains(s, "*") {
							t.Errorf("%s = %q, want it masked", f, s)
						}
					}
					for _, f := range w.clear {
						if s, _ := pr[f].(string); strings.Contains(s, "*") || s == "" {
							t.Errorf("%s = %q, want it in clear", f, s)
						}
					}
					if who == "holder" && pr["commune_code"] != nil && pr["commune_code"] != "C1" {
						t.Errorf("the holder reads a row of %v, outside its agreement", pr["commune_code"])
					}
				}
			})
		}
	}

	// A filter that fails on a value (an overflow) must not run on rows the caller may not read:
	// its error would tell that such a row exists and what it holds.
	t.Run("filters see readable rows only", func(t *testing.T) {
		for _, who := range []string{"holder", "holder5"} {
			for _, f := range []string{"(so_thua * 3074457345618258602) IS NULL", "commune_code = 'C3' AND so_thua * 1844674407370955161 > 0"} {
				res := m.get(t, who, "/collections/parcels-x/items?filter="+url.QueryEscape(f))
				var pg page
				json.Unmarshal(res.body, &pg)
				if res.status != 200 || (strings.Contains(f, "C3") && len(pg.Features) != 0) {
					t.Errorf("%s, filter %s: %d %s", who, f, res.status, res.body)
				}
			}
		}
		// The same filter on rows the caller reads does fail: the test can tell.
		if res := m.get(t, "unmasker", "/collections/parcels-x/items?filter="+url.QueryEscape("(so_thua * 3074457345618258602) IS NULL")); res.status != 400 {
			t.Errorf("the overflow does not fail on readable rows (%d): the test proves nothing", res.status)
		}
	})

	// The map's tile of all layers: each caller gets the layers it may read; naming one it may
	// not is refused.
	t.Run("dataset tile", func(t *testing.T) {
		all := fmt.Sprintf("/tiles/WebMercatorQuad/%d/%d/%d", zoom, tileY, tileX)
		for who, want := range map[string][]string{
			"anonymous": {"communes-x"},
			"connected": {"communes-x", "parcels-x"},
			"unmasker":  {"citizens-by-commune", "communes-x", "parcels-x"},
		} {
			res := m.get(t, who, all)
			ls, err := mvt.Unmarshal(res.body)
			if res.status != 200 || err != nil {
				t.Fatalf("%s: %d %v", who, res.status, err)
			}
			var got []string
			for _, l := range ls {
				if strings.HasSuffix(l.Name, "-x") || l.Name == "citizens-by-commune" {
					got = append(got, l.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: layers %v, want %v", who, got, want)
			}
		}
		if res := m.get(t, "anonymous", all+"?collections=communes-x,parcels-x"); res.status != 401 {
			t.Errorf("anonymous naming parcels-x: %d, want 401", res.status)
		}
	})

	// Links: the open communes list their citizens only to those who may read them, counting
	// only the citizens each may read.
	t.Run("links", func(t *testing.T) {
		wantCounts := map[string]map[string]int{
			"holder":   {"C1": 3, "C2": 0, "C3": 0},
			"unmasker": {"C1": 3, "C2": 2, "C3": 1},
		}
		for _, who := range principals {
			res := m.get(t, who, "/collections/communes-x/items")
			if res.status != 200 {
				t.Fatalf("%s: communes %d: %s", who, res.status, res.body)
			}
			var pg page
			json.Unmarshal(res.body, &pg)
			for _, f := range pg.Features {
				code := f.Properties["code"].(string)
				var got *int
				for _, l := range f.Links {
					if l.Rel == "related" && strings.Contains(l.Href, "citizens-x") {
						got = l.NumberMatched
					}
				}
				want, linked := wantCounts[who][code]
				switch {
				case !linked && got != nil:
					t.Errorf("%s sees a link from %s to citizens it may not read (%d)", who, code, *got)
				case linked && (got == nil || *got != want):
					t.Errorf("%s: %s links to %v citizens, want %d", who, code, got, want)
				}
			}
		}
		// A citizen links to its commune for whoever reads the citizen.
		res := m.get(t, "holder", "/collections/citizens-x/items")
		var pg page
		json.Unmarshal(res.body, &pg)
		for _, f := range pg.Features {
			if !slices.ContainsFunc(f.Links, func(l struct {
				Href, Rel     string
				NumberMatched *int `json:"numberMatched"`
			}) bool {
				return strings.Contains(l.Href, "/collections/communes-x/items/")
			}) {
				t.Errorf("citizen %v: no link to its commune: %+v", f.ID, f.Links)
			}
		}
	})
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkRefusal: a 401 asks for a credential; a 403 says what would grant access, citing the
// caller's own revoked or ended agreement when it has one.
func checkRefusal(t *testing.T, who string, res response) {
	t.Helper()
	var ex struct {
		Code, Description string
		Access            map[string]any
	}
	if err := json.Unmarshal(res.body, &ex); err != nil {
		t.Fatalf("refusal body: %v: %s", err, res.body)
	}
	if res.status == 404 {
		return
	}
	if ex.Access["entry"] != entry && !strings.Contains(ex.Description, "masked") {
		t.Errorf("refusal names no entry: %s", res.body)
	}
	switch who {
	case "revoked":
		if !regexp.MustCompile(`agreement \d+ was revoked: hết nhu cầu`).MatchString(ex.Description) {
			t.Errorf("revoked: %s", ex.Description)
		}
	case "expired":
		if !regexp.MustCompile(`agreement \d+ ended on 2024-12-31`).MatchString(ex.Description) {
			t.Errorf("expired: %s", ex.Description)
		}
	case "anonymous":
		if !strings.Contains(ex.Description, "API key") {
			t.Errorf("anonymous: %s", ex.Description)
		}
	}
}

// Every answer drawn from non-open data leaves one audit record, written before the answer;
// open data leaves none. Under load the counts are equal.
func TestEveryAccessIsLogged(t *testing.T) {
	m := newMatrix(t)
	ctx := context.Background()
	count := func(cred string) int {
		var n int
		if err := m.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE credential_id = $1`, cred).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Open data: nothing logged.
	before := count(m.ids["connected"])
	if res := m.get(t, "connected", "/collections/communes-x/items"); res.status != 200 {
		t.Fatal(res.status)
	}
	if n := count(m.ids["connected"]); n != before {
		t.Errorf("open data logged: %d records", n-before)
	}
	// Open items whose links count specific records: the counts are logged, against the
	// collection they come from, and the answer is private.
	before = count(m.ids["unmasker"])
	res0 := m.get(t, "unmasker", "/collections/communes-x/items")
	var linked string
	m.pool.QueryRow(ctx, `SELECT string_agg(collection || ':' || rows, ',') FROM audit_log WHERE credential_id = $1 AND seq > (
		SELECT COALESCE(max(seq), 0) - 1 FROM audit_log WHERE credential_id = $1)`, m.ids["unmasker"]).Scan(&linked)
	if n := count(m.ids["unmasker"]) - before; n != 1 || linked != "citizens-x:0" || !strings.Contains(res0.header.Get("Cache-Control"), "private") {
		t.Errorf("open items with counts of specific records: %d records (%s), Cache-Control %q", n, linked, res0.header.Get("Cache-Control"))
	}

	// One access: one record with what was taken.
	res := m.get(t, "holder", "/collections/citizens-x/items")
	var rec struct {
		Principal, Application, Entry, Collection, Operation, Query, Digest string
		Rows, Status                                                        int64
	}
	err := m.pool.QueryRow(ctx, `SELECT principal, application, entry_id, collection, operation, query, response_digest, rows, status
FROM audit_log WHERE credential_id = $1 ORDER BY seq DESC LIMIT 1`, m.ids["holder"]).Scan(&rec.Principal, &rec.Application, &rec.Entry,
		&rec.Collection, &rec.Operation, &rec.Query, &rec.Digest, &rec.Rows, &rec.Status)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Principal != "agency:mx-holder" || rec.Application != "mx-holder-app" || rec.Entry != entry || rec.Collection != "citizens-x" ||
		rec.Operation != "items" || rec.Rows != 3 || rec.Status != 200 || rec.Query != "/collections/citizens-x/items" || len(rec.Digest) != 64 {
		t.Errorf("audit record %+v after %d bytes", rec, len(res.body))
	}

	// Two keys of one application share its policy (and its decided views), but each answer
	// is logged with the key that asked.
	k2, secret2, err := access.CreateKey(ctx, m.pool, access.NewKey{Agency: "mx-holder", Application: "mx-holder-app"})
	if err != nil {
		t.Fatal(err)
	}
	m.keys["holder2"] = secret2
	if res := m.get(t, "holder2", "/collections/citizens-x/items"); res.status != 200 || count(k2.ID) != 1 {
		t.Errorf("second key of the holder: %d, %d records with its id, want 1", res.status, count(k2.ID))
	}

	// The request log keeps no personal value: a lookup by citizen id logs the route, not the id.
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	lookup := m.get(t, "unmasker", "/collections/citizens-x/items/"+citizenID(4))
	m.get(t, "unmasker", "/collections/citizens-x/items/"+citizenID(4)+"x") // a 404
	slog.SetDefault(prev)
	if lookup.status != 200 || !strings.Contains(logs.String(), "/collections/citizens-x/items/…") {
		t.Errorf("lookup %d; request log:\n%s", lookup.status, logs.String())
	}
	if strings.Contains(logs.String(), citizenID(4)) {
		t.Errorf("the request log holds a citizen id:\n%s", logs.String())
	}

	// Load: 8 callers × 40 requests over items, CSV, tiles and lookups; every answer served
	// with data is one record.
	paths := []string{"/collections/parcels-x/items?limit=3", "/collections/citizens-x/items?f=csv",
		fmt.Sprintf("/collections/parcels-x/tiles/WebMercatorQuad/%d/%d/%d", zoom, tileY, tileX),
		"/collections/citizens-x/items/" + citizenID(3), "/collections/citizens-by-commune/items"}
	before = count(m.ids["unmasker"])
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				r := m.get(t, "unmasker", paths[(g+i)%len(paths)])
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	served := statuses[200] + statuses[204]
	if served != 8*40 {
		t.Errorf("statuses under load: %v", statuses)
	}
	if got := count(m.ids["unmasker"]) - before; got != served {
		t.Errorf("%d requests served with data, %d audit records written", served, got)
	}
}

// TestRevocationTakesEffectEverywhere: two hub processes (two servers, each with its own
// grants cache) serve the holder; the owner revokes its agreement; both refuse it within
// moments, without a restart. (Runs last: it changes the matrix's data.)
func TestRevocationTakesEffectEverywhere(t *testing.T) {
	a, b := newMatrix(t), newMatrix(t)
	for _, m := range []*matrix{a, b} {
		if res := m.get(t, "holder", "/collections/citizens-x/items"); res.status != 200 {
			t.Fatalf("before: %d %s", res.status, res.body)
		}
	}
	var id int64
	if err := a.pool.QueryRow(context.Background(), `SELECT id FROM agreements WHERE agency_id = 'mx-holder'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	owner := access.Principal{Kind: access.Admin, Credential: "admin-token"}
	if _, err := access.RevokeAgreement(context.Background(), a.pool, owner, id, "vi phạm thỏa thuận — breach"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, m := range []*matrix{a, b} {
		for {
			res := m.get(t, "holder", "/collections/citizens-x/items")
			if res.status == 403 {
				if !strings.Contains(string(res.body), fmt.Sprintf("agreement %d was revoked: vi phạm", id)) {
					t.Errorf("the refusal does not cite the revoked agreement: %s", res.body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("3 s after the revocation a hub still serves the holder: %d", res.status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
