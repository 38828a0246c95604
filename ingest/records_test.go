package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/unicode/norm"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/relations"
)

// loadRecords imports path as a record collection, as hub import --records does.
func loadRecords(t *testing.T, pool *pgxpool.Pool, path string, open ingest.OpenOptions, opt ingest.Options) (*ingest.Report, error) {
	t.Helper()
	open.Records = true
	opt.Records = true
	src, err := ingest.Open(path, open)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return ingest.Import(context.Background(), pool, src, path, opt)
}

func mustLoadRecords(t *testing.T, pool *pgxpool.Pool, path string, open ingest.OpenOptions, opt ingest.Options) *ingest.Report {
	t.Helper()
	rep, err := loadRecords(t, pool, path, open, opt)
	if err != nil {
		t.Fatalf("import %s: %v", filepath.Base(path), err)
	}
	return rep
}

// enterprise is one row of the test register, as read back.
type enterprise struct {
	Fid        int64
	TaxCode    string
	Name       string
	Address    string
	Registered time.Time
	Capital    int64
}

func readEnterprises(t *testing.T, pool *pgxpool.Pool, table string) []enterprise {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT fid, ma_so_thue, ten_doanh_nghiep, dia_chi, ngay_dang_ky, von_dieu_le FROM `+
		pgx.Identifier{"data", table}.Sanitize()+` ORDER BY fid`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (enterprise, error) {
		var e enterprise
		err := r.Scan(&e.Fid, &e.TaxCode, &e.Name, &e.Address, &e.Registered, &e.Capital)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const enterprisesCSV = "Mã số thuế;Tên doanh nghiệp;Địa chỉ;Ngày đăng ký;Vốn điều lệ\n" +
	"0801234567;Công ty TNHH Thương mại Hải Dương;Số 12 đường Nguyễn Trãi, phường Trần Phú;15/03/2024;5000000000\n" +
	"0809876543;\"Công ty Cổ phần Sứ \"\"Hồng Hải\"\"; chi nhánh Chí Linh\";Thôn Đông, xã Thanh Miện;2023-12-31;1200000000\n" +
	"0800000019;Hợp tác xã Nông nghiệp Tứ Kỳ;\"Xóm 3,\nxã Tứ Kỳ\";1/2/2020;300000000\n"

var wantEnterprises = []enterprise{
	{1, "0801234567", "Công ty TNHH Thương mại Hải Dương", "Số 12 đường Nguyễn Trãi, phường Trần Phú", time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), 5000000000},
	{2, "0809876543", `Công ty Cổ phần Sứ "Hồng Hải"; chi nhánh Chí Linh`, "Thôn Đông, xã Thanh Miện", time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC), 1200000000},
	{3, "0800000019", "Hợp tác xã Nông nghiệp Tứ Kỳ", "Xóm 3,\nxã Tứ Kỳ", time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC), 300000000},
}

func TestRecordsCSV(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	// UTF-8 with the byte-order mark Excel writes ("CSV UTF-8"), semicolons, Vietnamese
	// headings, both date forms, a quoted value with quotes and one over two lines.
	path := write(t, "doanh-nghiep.csv", "\ufeff"+enterprisesCSV)
	rep := mustLoadRecords(t, pool, path, ingest.OpenOptions{}, ingest.Options{Collection: "enterprises",
		Definition: layers.Layer{Title: "Doanh nghiệp", EntryID: "dang-ky-doanh-nghiep", KeyField: "Mã số thuế"}})
	if rep.Features != 3 || rep.Inserted != 3 || rep.Total != 3 || rep.DataVersion != 1 || rep.ItemType != "record" ||
		rep.KeyField != "ma_so_thue" || rep.Format != "CSV" || rep.CRS != "" || !strings.HasPrefix(rep.Checksum, "sha256:") {
		t.Errorf("report: %+v", rep)
	}
	if s := rep.String(); !strings.Contains(s, "bản ghi (records):     3 đọc") || strings.Contains(s, "CRS") {
		t.Errorf("report text:\n%s", s)
	}
	if got := readEnterprises(t, pool, "enterprises"); !reflect.DeepEqual(got, wantEnterprises) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, wantEnterprises)
	}

	// The registry: a record collection with its key, and no geometry anywhere.
	var itemType, key string
	var geomCol, geomType, web *string
	var srid *int
	err := pool.QueryRow(ctx, `SELECT item_type, key_field, geometry_column, geometry_type, web_column, srid FROM layers WHERE id = 'enterprises'`).
		Scan(&itemType, &key, &geomCol, &geomType, &web, &srid)
	if err != nil || itemType != "record" || key != "ma_so_thue" || geomCol != nil || geomType != nil || web != nil || srid != nil {
		t.Errorf("layers row: %s %s %v %v %v %v (%v)", itemType, key, geomCol, geomType, web, srid, err)
	}
	var cols []string
	rows, _ := pool.Query(ctx, `SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'data.enterprises'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)
	cols, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	want := []string{"fid bigint", "ma_so_thue text", "ten_doanh_nghiep text", "dia_chi text", "ngay_dang_ky date", "von_dieu_le bigint"}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("columns %q, want %q", cols, want)
	}
	var unique, pkey bool
	_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_indexes WHERE schemaname = 'data' AND tablename = 'enterprises'
		AND indexdef LIKE 'CREATE UNIQUE INDEX % (ma_so_thue)'), EXISTS (SELECT FROM pg_indexes WHERE indexname = 'enterprises_pkey')`).Scan(&unique, &pkey)
	if !unique || !pkey {
		t.Errorf("unique key index %v, primary key %v", unique, pkey)
	}
	l, err := layers.LoadOne(ctx, pool, "enterprises")
	if err != nil || l == nil || !l.IsRecord() || l.KeyField != "ma_so_thue" || l.Features != 3 || len(l.Extent) != 0 {
		t.Fatalf("registry: %+v %v", l, err)
	}

	// The same register in the legacy Windows code page and in UTF-16 (Excel's "Unicode
	// text"), given with --encoding or recognised by its byte-order mark.
	cp, err := charmap.Windows1258.NewEncoder().String(cp1258Text(enterprisesCSV))
	if err != nil {
		t.Fatal(err)
	}
	mustLoadRecords(t, pool, write(t, "cp1258.csv", cp), ingest.OpenOptions{Encoding: "CP1258"}, ingest.Options{Collection: "enterprises-cp"})
	if got := readEnterprises(t, pool, "enterprises_cp"); !reflect.DeepEqual(got, wantEnterprises) {
		t.Errorf("CP1258: %+v", got)
	}
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(enterprisesCSV)
	mustLoadRecords(t, pool, write(t, "utf16.csv", u16), ingest.OpenOptions{}, ingest.Options{Collection: "enterprises-u16"})
	if got := readEnterprises(t, pool, "enterprises_u16"); !reflect.DeepEqual(got, wantEnterprises) {
		t.Errorf("UTF-16: %+v", got)
	}
	_, err = loadRecords(t, pool, write(t, "legacy.csv", cp), ingest.OpenOptions{}, ingest.Options{Collection: "enterprises-cp"})
	assertRefused(t, err, "not UTF-8", "--encoding")

	// With --records, coordinate columns are fields like the others.
	mustLoadRecords(t, pool, write(t, "schools.csv", "ma,ten,lon,lat\n01,Trường A,106.33,20.94\n"), ingest.OpenOptions{}, ingest.Options{Collection: "schools-csv"})
	var lon float64
	if err := pool.QueryRow(ctx, `SELECT lon FROM data.schools_csv`).Scan(&lon); err != nil || lon != 106.33 {
		t.Errorf("lon column: %v %v", lon, err)
	}
}

// cp1258Text spells Vietnamese as Windows-1258 does: the letters â ă ê ô ơ ư đ precomposed,
// tone marks combining.
func cp1258Text(s string) string {
	var b strings.Builder
	rs := []rune(norm.NFD.String(s))
	for i := 0; i < len(rs); {
		base, tones := []rune{rs[i]}, []rune(nil)
		for i++; i < len(rs) && unicodeMark(rs[i]); i++ {
			switch rs[i] {
			case 0x302, 0x306, 0x31b:
				base = append(base, rs[i])
			default:
				tones = append(tones, rs[i])
			}
		}
		b.WriteString(norm.NFC.String(string(base)))
		b.WriteString(string(tones))
	}
	return b.String()
}

func unicodeMark(r rune) bool { return r >= 0x300 && r <= 0x36f }

func TestRecordsJSON(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	check := func(table string, want string) {
		t.Helper()
		var got string
		err := pool.QueryRow(ctx, `SELECT string_agg(concat_ws('|', fid, so_dang_ky, ho_ten, can_nang_g, ngay_sinh, con_song), ';' ORDER BY fid) FROM `+
			pgx.Identifier{"data", table}.Sanitize()).Scan(&got)
		if err != nil || got != want {
			t.Errorf("%s: %q (%v), want %q", table, got, err, want)
		}
	}
	const want = "1|KS-00001|Nguyễn Thị Mai|3100|2024-03-15|t;2|KS-00002|Trần Văn Đức|2950|2024-03-16|f"
	def := layers.Layer{KeyField: "so_dang_ky"}
	a := `{"so_dang_ky": "KS-00001", "ho_ten": "Nguyễn Thị Mai", "can_nang_g": 3100, "ngay_sinh": "2024-03-15", "con_song": true}`
	b := `{"so_dang_ky": "KS-00002", "ho_ten": "Trần Văn Đức", "can_nang_g": 2950, "ngay_sinh": "16/03/2024", "con_song": false}`

	// A top-level array.
	rep := mustLoadRecords(t, pool, write(t, "births.json", "["+a+",\n"+b+"]"), ingest.OpenOptions{}, ingest.Options{Collection: "births-array", Definition: def})
	if rep.Format != "JSON" || rep.Features != 2 {
		t.Errorf("array: %+v", rep)
	}
	check("births_array", want)
	// An object holding the array, as APIs answer.
	mustLoadRecords(t, pool, write(t, "api.json", `{"total": 2, "links": [{"href": "x"}], "data": [`+a+`, `+b+`], "page": 1}`),
		ingest.OpenOptions{}, ingest.Options{Collection: "births-wrapped", Definition: def})
	check("births_wrapped", want)
	// JSON Lines, with the .jsonl and the .ndjson extension and as .json.
	for i, name := range []string{"births.jsonl", "births.ndjson", "lines.json"} {
		id := []string{"births-jsonl", "births-ndjson", "births-lines"}[i]
		rep := mustLoadRecords(t, pool, write(t, name, a+"\n"+b+"\n"), ingest.OpenOptions{}, ingest.Options{Collection: id, Definition: def})
		if rep.Format != "JSON lines" {
			t.Errorf("%s: format %q", name, rep.Format)
		}
		check(strings.ReplaceAll(id, "-", "_"), want)
	}
	// GeoJSON features without geometry, and with one that --records leaves out.
	feature := func(props, geometry string) string {
		return `{"type": "Feature", "geometry": ` + geometry + `, "properties": ` + props + `}`
	}
	rep = mustLoadRecords(t, pool, write(t, "births.geojson", fc(feature(a, "null"), feature(b, `{"type": "Point", "coordinates": [106.3, 20.9]}`))),
		ingest.OpenOptions{}, ingest.Options{Collection: "births-geojson", Definition: def})
	if rep.GeometryIgnored != 1 || len(rep.Notes) != 1 {
		t.Errorf("geometry ignored: %d %q", rep.GeometryIgnored, rep.Notes)
	}
	check("births_geojson", want)

	// Without --records the same file is not silently stripped: into the record collection
	// it is refused, and records without geometry do not make a new layer.
	p := write(t, "births.geojson", fc(feature(a, "null"), feature(b, `{"type": "Point", "coordinates": [106.3, 20.9]}`)))
	before := state(t, pool, "births-geojson")
	_, err := load(t, pool, p, ingest.Options{Collection: "births-geojson"})
	assertRefused(t, err, "row 2: the file has geometries", "--records")
	if after := state(t, pool, "births-geojson"); after != before {
		t.Errorf("refused file changed the collection: %s → %s", before, after)
	}
	_, err = load(t, pool, write(t, "plain.json", "["+a+","+b+"]"), ingest.Options{Collection: "births-new"})
	assertRefused(t, err, "the file has no geometry", "--records")
	_, err = ingest.Open(write(t, "plain.csv", "ma,ten\n1,Một\n"), ingest.OpenOptions{})
	assertRefused(t, err, "no coordinate columns", "--records")
	_, err = load(t, pool, write(t, "nogeom.geojson", fc(feature(`{"ten": "A"}`, "null"))), ingest.Options{Collection: "places-nogeom"})
	assertRefused(t, err, "--records")
}

func TestRecordsXLSX(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "truong-hoc.xlsx")
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Trường học")
	vnDate := "dd/mm/yyyy"
	dateStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &vnDate})
	stamp, _ := f.NewStyle(&excelize.Style{NumFmt: 22})
	money, _ := f.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
	rows := [][]any{
		{"Mã trường", "Tên trường", "Ngày thành lập", "Số học sinh", "Diện tích (m²)", "Công lập", "Cập nhật"},
		{"01234", "Trường THCS Lê Quý Đôn", time.Date(1998, 9, 5, 0, 0, 0, 0, time.UTC), 812, 12500.5, true, time.Date(2024, 3, 15, 8, 7, 1, 0, time.UTC)},
		{"01235", "Trường Tiểu học Ngọc Châu", time.Date(2001, 2, 28, 0, 0, 0, 0, time.UTC), 1640, 9800.25, false, time.Date(2024, 3, 16, 17, 45, 59, 0, time.UTC)},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Trường học", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	// An inline string (not in the shared strings table).
	if err := f.SetCellDefault("Trường học", "B3", "Trường Tiểu học Ngọc Châu"); err != nil {
		t.Fatal(err)
	}
	_ = f.SetCellStyle("Trường học", "C2", "C3", dateStyle)
	_ = f.SetCellStyle("Trường học", "D2", "D3", money)
	_ = f.SetCellStyle("Trường học", "G2", "G3", stamp)
	f.NewSheet("Ghi chú")
	_ = f.SetSheetRow("Ghi chú", "A1", &[]any{"ma", "ghi_chu"})
	_ = f.SetSheetRow("Ghi chú", "A2", &[]any{"x", "Dữ liệu năm học 2024–2025"})
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}

	rep := mustLoadRecords(t, pool, path, ingest.OpenOptions{}, ingest.Options{Collection: "schools", Definition: layers.Layer{KeyField: "ma_truong"}})
	if rep.Format != "XLSX" || rep.Features != 2 {
		t.Errorf("report %+v", rep)
	}
	var got string
	err := pool.QueryRow(ctx, `SELECT string_agg(concat_ws('|', ma_truong, ten_truong, ngay_thanh_lap, so_hoc_sinh, dien_tich_m2, cong_lap,
		to_char(cap_nhat, 'YYYY-MM-DD HH24:MI:SS')), ';' ORDER BY fid) FROM data.schools`).Scan(&got)
	want := "01234|Trường THCS Lê Quý Đôn|1998-09-05|812|12500.5|t|2024-03-15 08:07:01;" +
		"01235|Trường Tiểu học Ngọc Châu|2001-02-28|1640|9800.25|f|2024-03-16 17:45:59"
	if err != nil || got != want {
		t.Errorf("read back %q (%v)\nwant        %q", got, err, want)
	}
	var types string
	_ = pool.QueryRow(ctx, `SELECT string_agg(name || ':' || type, ',' ORDER BY position) FROM layer_fields WHERE layer_id = 'schools'`).Scan(&types)
	if types != "ma_truong:string,ten_truong:string,ngay_thanh_lap:date,so_hoc_sinh:integer,dien_tich_m2:number,cong_lap:boolean,cap_nhat:datetime" {
		t.Errorf("field types %s", types)
	}

	// Another sheet by name (--layer).
	mustLoadRecords(t, pool, path, ingest.OpenOptions{Layer: "Ghi chú"}, ingest.Options{Collection: "school-notes"})
	_ = pool.QueryRow(ctx, `SELECT ghi_chu FROM data.school_notes`).Scan(&got)
	if got != "Dữ liệu năm học 2024–2025" {
		t.Errorf("second sheet: %q", got)
	}
	_, err = ingest.Open(path, ingest.OpenOptions{Layer: "Học sinh"})
	assertRefused(t, err, `no sheet "Học sinh"`, "Trường học, Ghi chú")

	// A value that does not fit its column's type is named by row, column and cell.
	before := state(t, pool, "schools")
	_ = f.SetCellValue("Trường học", "D3", "nhiều")
	_ = f.SetCellValue("Trường học", "C2", "31/02/2020")
	_ = f.SaveAs(path)
	_, err = loadRecords(t, pool, path, ingest.OpenOptions{}, ingest.Options{Collection: "schools"})
	assertRefused(t, err, `row 1, column ngay_thanh_lap (cell C2): value "31/02/2020" is not of type date`,
		`row 2, column so_hoc_sinh (cell D3): value "nhiều" is not of type integer`, "the collection is unchanged")
	if after := state(t, pool, "schools"); after != before {
		t.Errorf("refused sheet changed the collection: %s → %s", before, after)
	}
}

func TestRecordKeys(t *testing.T) {
	pool := testdb.Pool(t)
	def := ingest.Options{Collection: "licences", Definition: layers.Layer{KeyField: "so_giay_phep"}}
	mustLoadRecords(t, pool, write(t, "ok.csv", "so_giay_phep,chu_the\nGP-1,Nguyễn Văn An\nGP-2,Lê Thị Bình\n"), ingest.OpenOptions{}, def)
	before := state(t, pool, "licences")

	var rows strings.Builder
	rows.WriteString("so_giay_phep,chu_the\n")
	for _, k := range []string{"GP-7", "GP-8", "", "GP-7", "GP-9", "GP-7", "  ", "GP-8", "GP-7", "GP-7", "GP-7", "GP-7"} {
		rows.WriteString(k + ",x\n")
	}
	_, err := loadRecords(t, pool, write(t, "dup.csv", rows.String()), ingest.OpenOptions{}, def)
	assertRefused(t, err,
		"row 3, column so_giay_phep (line 4): the key is empty",
		"row 7, column so_giay_phep (line 8): the key is empty",
		"row 4, column so_giay_phep (line 5): key 'GP-7' is not unique: rows 1, 4, 6, 9, 10 and 2 more",
		"row 8, column so_giay_phep (line 9): key 'GP-8' is not unique: rows 2, 8",
		"4 problem(s)")
	if after := state(t, pool, "licences"); after != before {
		t.Errorf("refused file changed the collection: %s → %s", before, after)
	}
	// Only repeated keys: the unique index finds them, the report names them.
	for _, mode := range []string{"replace", "upsert"} {
		_, err = loadRecords(t, pool, write(t, "dup2.csv", "so_giay_phep,chu_the\nGP-5,a\nGP-6,b\nGP-5,c\n"), ingest.OpenOptions{},
			ingest.Options{Collection: "licences", Mode: mode})
		assertRefused(t, err, "row 3, column so_giay_phep (line 4): key 'GP-5' is not unique: rows 1, 3", "1 problem(s)")
		if after := state(t, pool, "licences"); after != before {
			t.Errorf("refused %s changed the collection: %s → %s", mode, before, after)
		}
	}
	// A key field that is in neither the collection nor the file.
	_, err = loadRecords(t, pool, write(t, "ok2.csv", "so,chu_the\n1,a\n"), ingest.OpenOptions{}, ingest.Options{Collection: "licences-2", Definition: layers.Layer{KeyField: "so_giay_phep"}})
	assertRefused(t, err, "column so_giay_phep: the key field is not a field")
	// Appending a key that is already there.
	_, err = loadRecords(t, pool, write(t, "more.csv", "so_giay_phep,chu_the\nGP-3,An\nGP-2,Bình\n"), ingest.OpenOptions{}, ingest.Options{Collection: "licences", Mode: "append"})
	assertRefused(t, err, "row 2, column so_giay_phep (line 3): key 'GP-2' is already in the collection (fid 2): use --mode upsert")
	if after := state(t, pool, "licences"); after != before {
		t.Errorf("refused append changed the collection: %s → %s", before, after)
	}
}

func TestRecordBadRows(t *testing.T) {
	pool := testdb.Pool(t)
	def := layers.Layer{KeyField: "so_dinh_danh", Fields: []layers.Field{
		{Name: "so_dinh_danh", Type: "string", Required: true},
		{Name: "ho_ten", Type: "string", Personal: true},
		{Name: "ngay_sinh", Type: "date"},
		{Name: "so_con", Type: "integer"},
	}}
	good := "so_dinh_danh,ho_ten,ngay_sinh,so_con\n030199000001,Phạm Văn Hùng,05/01/1990,2\n030199000002,Vũ Thị Lan,1985-07-20,\n"
	rep := mustLoadRecords(t, pool, write(t, "good.csv", good), ingest.OpenOptions{}, ingest.Options{Collection: "residents-test", Definition: def})
	if rep.DataVersion != 1 {
		t.Fatalf("version %d", rep.DataVersion)
	}
	before := state(t, pool, "residents-test")
	header := "so_dinh_danh,ho_ten,ngay_sinh,so_con\n"
	cases := []struct {
		name, content string
		wants         []string
	}{
		{"short row", header + "030199000003,Đỗ Văn Nam,01/01/2000,1\n030199000004,Lê Văn Tám,02/02/2002\n",
			[]string{"row 2 (line 3): expected 4 columns, found 3"}},
		{"long row", header + "030199000003,Đỗ Văn Nam,01/01/2000,1,x\n", []string{"row 1 (line 2): expected 4 columns, found 5"}},
		{"quote never closed", header + "030199000003,Đỗ Văn Nam,01/01/2000,1\n030199000004,\"Lê Văn Tám,02/02/2002,1\n030199000005,Hà,03/03/2003,\"0\"\n",
			[]string{"row 2 (line 3): expected 4 columns, found 2", "is a closing quote missing"}},
		{"quote never closed in the last column", header + "030199000003,Đỗ Văn Nam,01/01/2000,\"1\n030199000005,Hà,03/03/2003,0\n",
			[]string{"row 1, column so_con (line 2): the quoted value that starts here is never closed"}},
		{"text in an integer column", header + "030199000003,Đỗ Văn Nam,01/01/2000,abc\n", []string{`row 1, column so_con (line 2): value "abc" is not of type integer`}},
		{"no such day", header + "030199000003,Đỗ Văn Nam,01/01/2000,1\n030199000004,Lê Văn Tám,31/02/2020,1\n030199000005,Hà,2021-02-29,0\n",
			[]string{`row 2, column ngay_sinh (line 3): value "31/02/2020" is not of type date (write 2024-03-15 or 15/03/2024)`,
				`row 3, column ngay_sinh (line 4): value "2021-02-29" is not of type date`}},
		{"not a date", header + "030199000003,Đỗ Văn Nam,March 2000,1\n", []string{`row 1, column ngay_sinh (line 2): value "March 2000" is not of type date`}},
		{"required key", header + ",Đỗ Văn Nam,01/01/2000,1\n", []string{"row 1, column so_dinh_danh (line 2): required value is missing", "the key is empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadRecords(t, pool, write(t, "bad.csv", c.content), ingest.OpenOptions{}, ingest.Options{Collection: "residents-test"})
			assertRefused(t, err, append(c.wants, "nothing was imported")...)
			var ve *ingest.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%T, want a ValidationError", err)
			}
			if after := state(t, pool, "residents-test"); after != before {
				t.Errorf("the refused file changed the collection: %s → %s", before, after)
			}
		})
	}
	var personal bool
	_ = pool.QueryRow(context.Background(), `SELECT personal FROM layer_fields WHERE layer_id = 'residents-test' AND name = 'ho_ten'`).Scan(&personal)
	if !personal {
		t.Error("the personal field lost its mark")
	}
}

func TestRecordsUpsert(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	def := layers.Layer{KeyField: "ma_so_thue", Title: "Doanh nghiệp"}
	mustLoadRecords(t, pool, write(t, "a.csv", "ma_so_thue,ten,so_lao_dong\n0801,Công ty A,10\n0802,Công ty B,20\n"),
		ingest.OpenOptions{}, ingest.Options{Collection: "firms", Definition: def})
	// No --key: the collection's key field serves; no --records: the registry says records.
	src, err := ingest.Open(write(t, "b.csv", "ma_so_thue,ten,so_lao_dong,nganh\n0802,Công ty B (đổi tên),25,C10\n0803,Công ty C,5,G46\n"), ingest.OpenOptions{Records: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.Import(ctx, pool, src, "b.csv", ingest.Options{Collection: "firms", Mode: "upsert"})
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 1 || rep.Updated != 1 || rep.Total != 3 || rep.DataVersion != 2 || rep.ItemType != "record" {
		t.Errorf("upsert: %+v", rep)
	}
	var got string
	_ = pool.QueryRow(ctx, `SELECT string_agg(concat_ws('|', fid, ma_so_thue, ten, so_lao_dong, nganh), ';' ORDER BY fid) FROM data.firms`).Scan(&got)
	// The update took a number from the fid sequence too (INSERT … ON CONFLICT does).
	if got != "1|0801|Công ty A|10;2|0802|Công ty B (đổi tên)|25|C10;4|0803|Công ty C|5|G46" {
		t.Errorf("after upsert: %s", got)
	}
	var reports int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM imports WHERE layer_id = 'firms' AND report ->> 'itemType' = 'record'`).Scan(&reports)
	if reports != 2 {
		t.Errorf("%d quality reports", reports)
	}
}

func TestRecordsAndLayersDoNotMix(t *testing.T) {
	pool := testdb.Pool(t)
	mustLoad(t, pool, write(t, "p.geojson", fc(point(106.3, 20.9, `{"ma": "A"}`))), ingest.Options{Collection: "mix-layer"})
	mustLoadRecords(t, pool, write(t, "r.csv", "ma\nA\n"), ingest.OpenOptions{}, ingest.Options{Collection: "mix-records"})
	layerBefore, recordsBefore := state(t, pool, "mix-layer"), state(t, pool, "mix-records")

	_, err := loadRecords(t, pool, write(t, "r.csv", "ma\nB\n"), ingest.OpenOptions{}, ingest.Options{Collection: "mix-layer"})
	assertRefused(t, err, "mix-layer is a layer with geometry", "records cannot replace")
	_, err = load(t, pool, write(t, "p.geojson", fc(point(106.3, 20.9, `{"ma": "B"}`))),
		ingest.Options{Collection: "mix-records", Definition: layers.Layer{ItemType: layers.Feature}})
	assertRefused(t, err, "mix-records holds records", "a layer cannot replace them")
	_, err = load(t, pool, write(t, "p.geojson", fc(point(106.3, 20.9, `{"ma": "B"}`))), ingest.Options{Collection: "mix-records"})
	assertRefused(t, err, "is a record collection, without geometry", "--records")
	// A file without geometry into a layer keeps today's answer: every feature named.
	_, err = load(t, pool, write(t, "n.geojson", fc(`{"type": "Feature", "geometry": null, "properties": {"ma": "C"}}`)), ingest.Options{Collection: "mix-layer"})
	assertRefused(t, err, "feature 1: no geometry")
	if layerBefore != state(t, pool, "mix-layer") || recordsBefore != state(t, pool, "mix-records") {
		t.Error("a refused import changed a collection")
	}
}

// TestRecordsFromQuery imports records the way the sample generator does: a SQL source with
// no geometry and a full definition, personal fields included.
func TestRecordsFromQuery(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.src_enterprises AS
		SELECT '08' || lpad(i::text, 8, '0') AS tax_code, 'Công ty số ' || i AS name, 'Nguyễn Văn ' || i AS legal_rep,
		       date '2020-01-01' + i AS registered_on, (i * 1000000)::bigint AS capital_vnd
		FROM generate_series(1, 500) i`); err != nil {
		t.Fatal(err)
	}
	keys := []string{"tax_code", "name", "legal_rep", "registered_on", "capital_vnd"}
	def := layers.Layer{ItemType: layers.Record, KeyField: "tax_code", EntryID: "dang-ky-doanh-nghiep", Title: "Doanh nghiệp", TitleEn: "Enterprises",
		Fields: []layers.Field{
			{Name: "tax_code", Type: "string", Title: "Mã số thuế", Required: true},
			{Name: "name", Type: "string", Title: "Tên"},
			{Name: "legal_rep", Type: "string", Title: "Người đại diện", Personal: true, Category: "specific"},
			{Name: "registered_on", Type: "date", Title: "Ngày đăng ký"},
			{Name: "capital_vnd", Type: "integer", Title: "Vốn điều lệ"},
		}}
	src := ingest.Query(pool, 0, keys, `SELECT NULL::bytea, to_json(t) FROM (SELECT tax_code, name, legal_rep, registered_on, capital_vnd FROM public.src_enterprises ORDER BY tax_code) t`)
	rep, err := ingest.Import(ctx, pool, src, "sample:enterprises", ingest.Options{Collection: "enterprises", Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Features != 500 || rep.Total != 500 || rep.Format != "SQL query" || rep.ItemType != "record" {
		t.Errorf("report %+v", rep)
	}
	l, _ := layers.LoadOne(ctx, pool, "enterprises")
	if l == nil || !l.IsRecord() || l.KeyField != "tax_code" || l.EntryID != "dang-ky-doanh-nghiep" || len(l.Fields) != 5 ||
		!l.Fields[2].Personal || l.Fields[2].Category != "specific" || l.Fields[3].Type != "date" {
		t.Fatalf("registry: %+v", l)
	}
	var first string
	_ = pool.QueryRow(ctx, `SELECT concat_ws('|', fid, tax_code, legal_rep, registered_on, capital_vnd) FROM data.enterprises ORDER BY fid LIMIT 1`).Scan(&first)
	if first != "1|0800000001|Nguyễn Văn 1|2020-01-02|1000000" {
		t.Errorf("first record %s", first)
	}
}

// TestLinkIndexes checks that linked fields are indexed, and stay so when an import replaces
// the table.
func TestLinkIndexes(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	communes := fc(point(106.33, 20.94, `{"code": "10507", "name": "Phường Cẩm Thượng"}`), point(106.31, 20.93, `{"code": "10510", "name": "Phường Bình Hàn"}`))
	mustLoad(t, pool, write(t, "c.geojson", communes), ingest.Options{Collection: "link-communes"})
	mustLoadRecords(t, pool, write(t, "e.csv", "tax_code,commune_code\n0801,10507\n0802,10510\n"), ingest.OpenOptions{},
		ingest.Options{Collection: "link-firms", Definition: layers.Layer{KeyField: "tax_code"}})
	if _, err := pool.Exec(ctx, `INSERT INTO collection_links (id, source_id, source_field, target_id, target_field)
		VALUES ('firm-commune', 'link-firms', 'commune_code', 'link-communes', 'code')`); err != nil {
		t.Fatal(err)
	}
	indexes := func() string {
		var s string
		_ = pool.QueryRow(ctx, `SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'data'
			AND tablename IN ('link_communes', 'link_firms')`).Scan(&s)
		return s
	}
	// Declared after the data was loaded: the declaring transaction indexes both ends.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"link-firms", "link-communes"} {
		l, err := layers.LoadOne(ctx, tx, id)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // idempotent
			if err := relations.IndexLinks(ctx, tx, l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	const want = "link_communes_code_idx,link_communes_geom,link_communes_geom_web,link_communes_pkey,link_firms_commune_code_idx,link_firms_pkey,link_firms_tax_code_key"
	if got := indexes(); got != want {
		t.Errorf("after the declaration: %s\nwant %s", got, want)
	}
	// Replacing either side builds a new table: the import indexes it again.
	mustLoad(t, pool, write(t, "c2.geojson", communes), ingest.Options{Collection: "link-communes"})
	mustLoadRecords(t, pool, write(t, "e2.csv", "tax_code,commune_code\n0801,10507\n"), ingest.OpenOptions{}, ingest.Options{Collection: "link-firms"})
	if got := indexes(); got != want {
		t.Errorf("after replacing: %s\nwant %s", got, want)
	}
}

func TestReadXLSXDates(t *testing.T) {
	// A workbook as a Vietnamese office writes it: a title row is not supported, but a sheet
	// whose first rows are empty is.
	path := filepath.Join(t.TempDir(), "d.xlsx")
	f := excelize.NewFile()
	_ = f.SetSheetRow("Sheet1", "B3", &[]any{"ngày", "giờ", "mã"})
	d := "d-mmm-yy"
	custom, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &d})
	clock, _ := f.NewStyle(&excelize.Style{NumFmt: 20})
	_ = f.SetSheetRow("Sheet1", "B4", &[]any{time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 0.5, "007"})
	_ = f.SetCellStyle("Sheet1", "B4", "B4", custom)
	_ = f.SetCellStyle("Sheet1", "C4", "C4", clock)
	_ = f.SetCellValue("Sheet1", "F4", "lạc chỗ")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.Open(path, ingest.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []ingest.Feature
	if err := src.Read(context.Background(), func(b []ingest.Feature) error { got = append(got, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(src.Keys(), []string{"column_1", "ngày", "giờ", "mã"}) || len(got) != 1 {
		t.Fatalf("keys %q, %d rows", src.Keys(), len(got))
	}
	if p := string(got[0].Props); p != `{"column_1":null,"ngày":"2025-07-01","giờ":"12:00:00","mã":"007"}` || got[0].Line != 4 ||
		got[0].Problem != `cell F4 holds "lạc chỗ", but column F has no header` {
		t.Errorf("row: %s line %d problem %q", p, got[0].Line, got[0].Problem)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestRecordsManyRows reads a CSV of several batches, encoded on several goroutines: fids
// follow the file's order, and a problem far down names its row.
func TestRecordsManyRows(t *testing.T) {
	pool := testdb.Pool(t)
	var b strings.Builder
	b.WriteString("ma,ten,so\n")
	for i := 1; i <= 3500; i++ {
		fmt.Fprintf(&b, "K%05d,Hộ số %d,%d\n", i, i, i)
	}
	rep := mustLoadRecords(t, pool, write(t, "many.csv", b.String()), ingest.OpenOptions{}, ingest.Options{Collection: "many", Definition: layers.Layer{KeyField: "ma"}})
	var bad int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM data.many WHERE ma <> 'K' || lpad(fid::text, 5, '0') OR so <> fid`).Scan(&bad)
	if rep.Total != 3500 || bad != 0 {
		t.Errorf("%d records, %d out of order", rep.Total, bad)
	}
	b.WriteString("K00007,Hộ trùng,1\nK03501,Hộ cuối,x\n")
	_, err := loadRecords(t, pool, write(t, "many2.csv", b.String()), ingest.OpenOptions{}, ingest.Options{Collection: "many"})
	assertRefused(t, err, `row 3502, column so (line 3503): value "x" is not of type integer`, "row 3501, column ma (line 3502): key 'K00007' is not unique: rows 7, 3501")
}
