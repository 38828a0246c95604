package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

// benchFile writes n jittered parcels (WGS 84) as a GeoJSON FeatureCollection.
func benchFile(b *testing.B, n int) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(`{"type": "FeatureCollection", "features": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",\n")
		}
		x, y := 106.2+float64(i%1000)*0.0003, 20.8+float64(i/1000)*0.0003
		fmt.Fprintf(&sb, `{"type": "Feature", "properties": {"so_to": %d, "so_thua": %d, "land_use": "LUC", "dien_tich": %.1f, "commune_code": "10507"}, "geometry": {"type": "Polygon", "coordinates": [[[%.7f, %.7f], [%.7f, %.7f], [%.7f, %.7f], [%.7f, %.7f], [%.7f, %.7f]]]}}`,
			i/1000+1, i%1000+1, 900.0+float64(i%97), x, y, x+0.00028, y, x+0.00028, y+0.00028, x, y+0.00028, x, y)
	}
	sb.WriteString("]}")
	p := filepath.Join(b.TempDir(), "parcels.geojson")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkImportGeoJSON is the whole import: parse, COPY, validate, swap, report.
// Compare with BenchmarkCopyOnly (the physical limit: the same rows COPYed with no parsing
// or checks) and with ogr2ogr in bench/import.sh.
//
//	go test ./ingest -run '^$' -bench Import -benchtime 5x
func BenchmarkImportGeoJSON(b *testing.B) {
	const n = 50000
	path := benchFile(b, n)
	pool := testdb.Pool(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := ingest.Open(path, ingest.OpenOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ingest.Import(context.Background(), pool, src, path, ingest.Options{Collection: "bench-import"}); err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "features/s")
}

// BenchmarkCopyOnly COPYs already-encoded rows (WKB and JSON) into a table.
func BenchmarkCopyOnly(b *testing.B) {
	const n = 50000
	path := benchFile(b, n)
	pool := testdb.Pool(b)
	ctx := context.Background()
	src, _ := ingest.Open(path, ingest.OpenOptions{})
	var rows [][]any
	_ = src.Read(ctx, func(fs []ingest.Feature) error {
		for _, f := range fs {
			rows = append(rows, []any{f.N, f.WKB, f.Props})
		}
		return nil
	})
	src.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_copy (n bigint, geom geometry, props jsonb)`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pool.Exec(ctx, `TRUNCATE bench_copy`); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, []string{"n", "geom", "props"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "features/s")
}

// recordsFile writes n enterprise records as a CSV: Vietnamese text, Vietnamese dates, a
// unique tax code.
func recordsFile(b *testing.B, n int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "doanh-nghiep.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("\ufeffMã số thuế,Tên doanh nghiệp,Địa chỉ,Mã xã,Ngày đăng ký,Vốn điều lệ,Số lao động,Tình trạng\n")
	status := []string{"Đang hoạt động", "Tạm ngừng kinh doanh", "Đã giải thể"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "08%08d,Công ty TNHH Thương mại và Dịch vụ Hải Dương số %d,\"Số %d đường Nguyễn Trãi, phường Trần Phú\",%05d,%02d/%02d/%d,%d,%d,%s\n",
			i, i, i%500, 10507+i%265, i%28+1, i%12+1, 1995+i%30, (i%1000+1)*100000000, i%300, status[i%3])
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkImportRecords is the bulk path of record collections: a 1,000,000-row CSV read,
// COPYed, checked (key present and unique, types), written, indexed (primary and unique key).
//
//	go test ./ingest -run '^$' -bench ImportRecords -benchtime 1x
func BenchmarkImportRecords(b *testing.B) {
	const n = 1000000
	path := recordsFile(b, n)
	pool := testdb.Pool(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := ingest.Open(path, ingest.OpenOptions{Records: true})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := ingest.Import(context.Background(), pool, src, path, ingest.Options{Collection: "bench-records", Records: true,
			Definition: layers.Layer{KeyField: "ma_so_thue"}})
		if err != nil {
			b.Fatal(err)
		}
		src.Close()
		if rep.Total != n {
			b.Fatalf("%d records", rep.Total)
		}
		b.Logf("phases (ms): %v", rep.Phases)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
