package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
)

// pgAgency makes an agency's database: a PostGIS table of businesses and a records table of
// permits with updated_at and a deleted flag.
func pgAgency(t *testing.T) string {
	t.Helper()
	u := testdb.Fresh(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA so_kh;
CREATE TABLE so_kh.doanh_nghiep (
	id int PRIMARY KEY,
	ten text,
	von numeric(14,2),
	so_lao_dong int,
	ngay_thanh_lap date,
	cap_nhat timestamptz,
	"Ghi chú" text,
	geom geometry(Point, 4326)
);
INSERT INTO so_kh.doanh_nghiep VALUES
 (1, 'Công ty TNHH Hải Dương Xanh', 1500000.50, 12, '2020-05-01', '2024-03-01 08:00:00+07', 'Đã kiểm tra', ST_SetSRID(ST_MakePoint(106.3, 20.9), 4326)),
 (2, 'Hợp tác xã Cẩm Giàng', 250000, 8, '2018-11-20', '2024-03-02 09:30:00+07', NULL, ST_SetSRID(ST_MakePoint(106.31, 20.91), 4326)),
 (3, 'Doanh nghiệp tư nhân Tứ Kỳ', NULL, 40, NULL, '2024-03-03 10:00:00+07', 'không có vị trí', NULL);
CREATE TABLE public.giay_phep (
	ma text PRIMARY KEY,
	so_phien bigint NOT NULL,
	chu_so_huu text,
	updated_at timestamptz NOT NULL,
	deleted boolean NOT NULL DEFAULT false
);
INSERT INTO public.giay_phep VALUES
 ('GP-001', 1, 'Nguyễn Văn An', '2024-01-01 00:00:00+07', false),
 ('GP-002', 2, 'Trần Thị Bình', '2024-01-02 00:00:00+07', false),
 ('GP-003', 9, 'Lê Văn Cường', '2024-01-03 00:00:00+07', false),
 ('GP-004', 10, 'Phạm Thị Dung', '2024-01-04 00:00:00+07', true),
 ('GP-005', 11, 'Hoàng Văn Em', '2024-01-05 12:34:56.789+07', false),
 ('GP-006', 3, 'Vũ Thị Phương', '2023-12-01 00:00:00+07', true);
`)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func pgRead(t *testing.T, f *Fetch) []ingest.Feature {
	t.Helper()
	var all []ingest.Feature
	err := f.Read(context.Background(), func(b []ingest.Feature) error {
		all = append(all, b...)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return all
}

func pgOpen(t *testing.T, cfg Config) *Fetch {
	t.Helper()
	c, err := Get("postgres")
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pgProps(t *testing.T, f ingest.Feature) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(f.Props))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("feature %d: props %s: %v", f.N, f.Props, err)
	}
	return m
}

// pgByKey indexes features by a property.
func pgByKey(t *testing.T, fs []ingest.Feature, key string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, f := range fs {
		p := pgProps(t, f)
		out[pgText(p[key])] = p
	}
	return out
}

func pgText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPostgresHash(t *testing.T) {
	u := pgAgency(t)
	f := pgOpen(t, Config{Endpoint: u, Detect: Hash, Key: "id", Options: map[string]string{"table": "so_kh.doanh_nghiep", "page_size": "2"}})
	feats := pgRead(t, f)
	if len(feats) != 3 {
		t.Fatalf("read %d features, want 3", len(feats))
	}
	if !f.Complete || f.AllKeys != nil || f.Cursor != "" {
		t.Errorf("Complete %v AllKeys %v Cursor %q, want a complete read", f.Complete, f.AllKeys, f.Cursor)
	}
	if f.SRID() != 4326 {
		t.Errorf("SRID %d, want 4326", f.SRID())
	}
	if got, want := f.Keys(), []string{"id", "ten", "von", "so_lao_dong", "ngay_thanh_lap", "cap_nhat", "Ghi chú"}; !slices.Equal(got, want) {
		t.Errorf("Keys %q, want %q", got, want)
	}
	if f.Format() != "PostgreSQL" {
		t.Errorf("Format %q", f.Format())
	}
	for i, ft := range feats {
		if ft.N != int64(i+1) {
			t.Errorf("feature %d has N %d", i, ft.N)
		}
		if ft.Problem != "" {
			t.Errorf("feature %d: %s", ft.N, ft.Problem)
		}
	}
	byID := map[string]ingest.Feature{}
	for _, ft := range feats {
		byID[pgText(pgProps(t, ft)["id"])] = ft
	}
	one := byID["1"]
	if !bytes.Equal(one.WKB, ingest.PointWKB(106.3, 20.9)) {
		t.Errorf("WKB of 1 = %x, want the point 106.3 20.9", one.WKB)
	}
	if byID["2"].WKB == nil {
		t.Error("feature 2 has no geometry")
	}
	if byID["3"].WKB != nil {
		t.Errorf("feature 3 has geometry %x, want none", byID["3"].WKB)
	}
	p := pgProps(t, one)
	if _, has := p["geom"]; has {
		t.Error("the geometry column is among the properties")
	}
	if p["ten"] != "Công ty TNHH Hải Dương Xanh" || p["Ghi chú"] != "Đã kiểm tra" {
		t.Errorf("text props %v", p)
	}
	if n, ok := p["von"].(json.Number); !ok || n.String() != "1500000.50" {
		t.Errorf("von = %#v, want the number 1500000.50", p["von"])
	}
	if n, ok := p["so_lao_dong"].(json.Number); !ok || n.String() != "12" {
		t.Errorf("so_lao_dong = %#v, want the number 12", p["so_lao_dong"])
	}
	if p["ngay_thanh_lap"] != "2020-05-01" {
		t.Errorf("ngay_thanh_lap = %#v, want 2020-05-01", p["ngay_thanh_lap"])
	}
	ts, err := time.Parse(time.RFC3339, pgText(p["cap_nhat"]))
	if err != nil || !ts.Equal(time.Date(2024, 3, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("cap_nhat = %#v, want 2024-03-01T08:00:00+07:00 in ISO form (%v)", p["cap_nhat"], err)
	}
	if p3 := pgProps(t, byID["3"]); p3["von"] != nil || p3["ngay_thanh_lap"] != nil {
		t.Errorf("nulls: %v", p3)
	}
}

func TestPostgresWatermark(t *testing.T) {
	u := pgAgency(t)
	cfg := Config{Endpoint: u, Detect: Watermark, Key: "ma", WatermarkField: "updated_at", Tombstone: "deleted",
		Cursor: "2024-01-02 00:00:00+07", Options: map[string]string{"table": "giay_phep"}}
	f := pgOpen(t, cfg)
	feats := pgRead(t, f)
	got := pgByKey(t, feats, "ma")
	if len(feats) != 2 || got["GP-003"] == nil || got["GP-005"] == nil {
		t.Fatalf("read %v, want GP-003 and GP-005", got)
	}
	if f.Complete {
		t.Error("a watermark run says it read everything")
	}
	if f.SRID() != 0 || feats[0].WKB != nil {
		t.Error("records have geometry")
	}
	if !slices.Equal(f.Deleted, []string{"GP-004"}) {
		t.Errorf("Deleted %q, want GP-004 (tombstoned after the cursor)", f.Deleted)
	}
	ts, err := time.Parse("2006-01-02 15:04:05.999999-07", f.Cursor)
	if err != nil || !ts.Equal(time.Date(2024, 1, 5, 5, 34, 56, 789e6, time.UTC)) {
		t.Errorf("Cursor %q, want GP-005's updated_at (%v)", f.Cursor, err)
	}
	keys := slices.Clone(f.AllKeys)
	slices.Sort(keys)
	if want := []string{"GP-001", "GP-002", "GP-003", "GP-005"}; !slices.Equal(keys, want) {
		t.Errorf("AllKeys %q, want %q", keys, want)
	}
	if got["GP-005"]["chu_so_huu"] != "Hoàng Văn Em" || got["GP-005"]["deleted"] != false {
		t.Errorf("GP-005 = %v", got["GP-005"])
	}

	// The next run, from the cursor kept, reads nothing and keeps the cursor.
	cfg.Cursor = f.Cursor
	f2 := pgOpen(t, cfg)
	if feats := pgRead(t, f2); len(feats) != 0 || f2.Cursor != "" || len(f2.Deleted) != 0 {
		t.Errorf("a run from the cursor read %d features, Deleted %q, Cursor %q", len(feats), f2.Deleted, f2.Cursor)
	}

	// A numeric watermark compares as a number: 10 and 11 come after 9 (as text they would not).
	cfg = Config{Endpoint: u, Detect: Watermark, Key: "ma", WatermarkField: "so_phien", Cursor: "9",
		Options: map[string]string{"table": "public.giay_phep", "deletions": "none"}}
	f3 := pgOpen(t, cfg)
	got = pgByKey(t, pgRead(t, f3), "ma")
	if len(got) != 2 || got["GP-004"] == nil || got["GP-005"] == nil {
		t.Errorf("so_phien > 9 read %v, want GP-004 and GP-005", got)
	}
	if f3.Cursor != "11" || f3.AllKeys != nil {
		t.Errorf("Cursor %q AllKeys %q, want 11 and no key list", f3.Cursor, f3.AllKeys)
	}

	// The first run, with no cursor, reads everything.
	cfg.Cursor = ""
	f4 := pgOpen(t, cfg)
	if n := len(pgRead(t, f4)); n != 6 || f4.Cursor != "11" {
		t.Errorf("first run read %d rows, Cursor %q; want 6 and 11", n, f4.Cursor)
	}
}

func TestPostgresQuery(t *testing.T) {
	u := pgAgency(t)
	f := pgOpen(t, Config{Endpoint: u, Detect: Hash, Key: "ma_dn",
		Mapping: map[string]string{"ma": "ma_dn", "ten_dn": "ten"},
		Options: map[string]string{"query": "SELECT id AS ma_dn, ten, geom AS vi_tri FROM so_kh.doanh_nghiep WHERE so_lao_dong > 10;"}})
	feats := pgRead(t, f)
	got := pgByKey(t, feats, "ma")
	if len(feats) != 2 || got["1"] == nil || got["3"] == nil {
		t.Fatalf("query read %v, want 1 and 3", got)
	}
	if got["1"]["ten_dn"] != "Công ty TNHH Hải Dương Xanh" || len(got["1"]) != 2 {
		t.Errorf("mapped props %v, want ma and ten_dn only", got["1"])
	}
	if !slices.Equal(f.Keys(), []string{"ma", "ten_dn"}) {
		t.Errorf("Keys %q, want the mapped fields", f.Keys())
	}
	for _, ft := range feats {
		if (pgText(pgProps(t, ft)["ma"]) == "1") != (ft.WKB != nil) {
			t.Errorf("feature %s: geometry %x", ft.Props, ft.WKB)
		}
	}

	// The geometry option names the column; a table without geometry gives records.
	f = pgOpen(t, Config{Endpoint: u, Options: map[string]string{"table": "so_kh.doanh_nghiep", "geometry": "geom"}})
	if feats := pgRead(t, f); len(feats) != 3 || f.SRID() != 4326 {
		t.Errorf("geometry option: %d features SRID %d", len(feats), f.SRID())
	}
}

func TestPostgresErrors(t *testing.T) {
	u := pgAgency(t)
	c, _ := Get("postgres")
	const secret = "Mat-Khau-Bi-Mat-42"
	open := func(cfg Config) error {
		t.Helper()
		f, err := c.Open(context.Background(), cfg)
		if err == nil {
			f.Close()
			return errors.New("no error")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the password: %v", err)
		}
		return err
	}
	want := func(err error, parts ...string) {
		t.Helper()
		t.Log(err)
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not say %q", err, p)
			}
		}
	}
	opts := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	want(open(Config{Endpoint: u, Secret: secret, Options: opts("table", "so_kh.khong_co")}), `"so_kh.khong_co"`, "does not exist")
	want(open(Config{Endpoint: u, Secret: secret, Options: opts("table", "khong_co_schema.bang")}), "khong_co_schema.bang", "does not exist")
	want(open(Config{Endpoint: u, Options: nil}), "option table", "option query")
	want(open(Config{Endpoint: u, Options: opts("table", "giay_phep", "query", "SELECT 1")}), "not both")
	want(open(Config{Endpoint: u, Options: opts("query", "SELEC id FROM giay_phep")}), "option query", "syntax")
	want(open(Config{Endpoint: u, Options: opts("table", "giay_phep", "geometry", "geom")}), `"geom"`, "no such column", "ma, so_phien")
	want(open(Config{Endpoint: u, Options: opts("table", "giay_phep", "geometry", "chu_so_huu")}), "not a PostGIS geometry")
	want(open(Config{Endpoint: u, Detect: Feed, Options: opts("table", "giay_phep")}), "watermark")
	want(open(Config{Endpoint: u, Detect: Watermark, Options: opts("table", "giay_phep")}), "watermark field")
	want(open(Config{Endpoint: u, Detect: Watermark, WatermarkField: "sua_luc", Options: opts("table", "giay_phep")}), `"sua_luc"`, "not a column")
	want(open(Config{Endpoint: u, Detect: Watermark, WatermarkField: "so_phien", Cursor: "hôm qua", Options: opts("table", "giay_phep")}), "cursor", "bigint")
	want(open(Config{Endpoint: u, Options: opts("table", "giay_phep", "page_size", "0")}), "page_size")
	want(open(Config{Endpoint: u, Key: "ma", Tombstone: "xoa", Options: opts("table", "giay_phep")}), `"xoa"`)

	// Cannot connect: the error names the server and database, never the password, whether
	// it comes as the secret or in the connection string.
	err := open(Config{Endpoint: "postgres://postgres@127.0.0.1:1/so_kh_hd?sslmode=disable&connect_timeout=5", Secret: secret, Options: opts("table", "t")})
	want(err, "cannot connect", "127.0.0.1:1", "so_kh_hd")
	err = open(Config{Endpoint: "postgres://postgres:" + secret + "@127.0.0.1:1/so_kh_hd?sslmode=disable&connect_timeout=5", Options: opts("table", "t")})
	want(err, "cannot connect", "so_kh_hd")
	err = open(Config{Endpoint: "host=127.0.0.1 port=1 dbname=so_kh_hd password=" + secret + " sslmode=disable connect_timeout=5", Options: opts("table", "t")})
	want(err, "cannot connect", "so_kh_hd")
	err = open(Config{Endpoint: "postgres://postgres:" + secret + "@127.0.0.1:5432/khong_co_db?sslmode=disable", Options: opts("table", "t")})
	want(err, "cannot connect", "khong_co_db")

	// The server takes any password (trust); the secret set still never shows.
	f, err := c.Open(context.Background(), Config{Endpoint: u, Secret: secret, Options: opts("table", "giay_phep")})
	if err != nil {
		t.Fatalf("open with a secret: %v", err)
	}
	pgRead(t, f)
	f.Close()
}

// TestPostgresNoHubPassword: a password in the hub's own environment (PGPASSWORD) is never
// offered to a source's server: only the source's secret is.
func TestPostgresNoHubPassword(t *testing.T) {
	t.Setenv("PGPASSWORD", "the-hubs-own-password")
	c, err := Get("postgres")
	if err != nil {
		t.Fatal(err)
	}
	// A server that asks for a password in clear: what the connector offers is read.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- ""
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		conn.Read(buf) // the startup message
		// AuthenticationCleartextPassword: R, length 8, code 3.
		conn.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3})
		n, _ := conn.Read(buf)
		got <- string(buf[:max(n, 0)])
	}()
	_, err = c.Open(context.Background(), Config{Endpoint: "postgres://agency@" + ln.Addr().String() + "/agency?sslmode=disable",
		Detect: Hash, Options: map[string]string{"table": "t"}})
	if err == nil {
		t.Fatal("connected to a server that wanted a password")
	}
	if msg := <-got; strings.Contains(msg, "the-hubs-own-password") {
		t.Fatal("the hub's PGPASSWORD was sent to the source's server")
	}
}
