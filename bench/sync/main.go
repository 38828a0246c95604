// Command sync measures source synchronisation (see bench/sync.sh): an initial sync of a large
// source table and incremental syncs after 1 % of it changed, by content hash and by
// watermark, against the same row moves done directly in SQL.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/sources"
)

func main() {
	srcURL := flag.String("source", "", "the source database's URL")
	rows := flag.Int("rows", 1_000_000, "rows in the source table")
	flag.Parse()
	ctx := context.Background()
	hub, err := database.Open(ctx, database.URLFromEnv())
	check(err)
	src, err := database.Open(ctx, *srcURL)
	check(err)
	prepareSource(ctx, src, *rows)

	for _, s := range []*sources.Source{
		{ID: "bench-hash", Detect: "hash", Options: map[string]string{"query": "SELECT * FROM doanh_nghiep WHERE NOT deleted"}},
		{ID: "bench-watermark", Detect: "watermark", WatermarkField: "updated_at", Tombstone: "deleted",
			Options: map[string]string{"table": "doanh_nghiep", "deletions": "none"}},
		// Deletions seen by listing the source's keys (no tombstones needed): reads every key.
		{ID: "bench-keys", Detect: "watermark", WatermarkField: "updated_at",
			Options: map[string]string{"query": "SELECT * FROM doanh_nghiep WHERE NOT deleted", "deletions": "keys"}},
	} {
		s.Entry, s.Collection, s.Connector, s.Endpoint, s.Key = "dang-ky-doanh-nghiep", s.ID, "postgres", *srcURL, "ma_so_thue"
		_, err := hub.Exec(ctx, `DELETE FROM sources WHERE id = $1`, s.ID)
		check(err)
		_, err = hub.Exec(ctx, `DELETE FROM layers WHERE id = $1`, s.ID)
		check(err)
		_, err = hub.Exec(ctx, `DROP TABLE IF EXISTS data.`+tableOf(s.Collection))
		check(err)
		check(sources.Save(ctx, hub, s))
	}
	resetSource(ctx, src, *rows)
	fmt.Printf("source: %d rows (doanh_nghiep: key, 4 text and 2 number fields, a date-time, a point)\n\n", *rows)
	fmt.Printf("%-44s %10s %12s %10s %s\n", "run", "seconds", "rows/s read", "changed", "counts")

	sqlInitial := timeIt(func() { sqlCopy(ctx, src, hub, "SELECT * FROM doanh_nghiep WHERE NOT deleted", "bench_sql_copy", true) })
	report("SQL: COPY source → hub table + key index", sqlInitial, int64(*rows), 0, "")
	for _, id := range []string{"bench-hash", "bench-watermark", "bench-keys"} {
		runSync(ctx, hub, id, "initial")
	}
	for _, id := range []string{"bench-hash", "bench-watermark", "bench-keys"} {
		runSync(ctx, hub, id, "no change")
	}
	since := changeSource(ctx, src, *rows)
	sqlIncr := timeIt(func() {
		sqlCopy(ctx, src, hub, fmt.Sprintf("SELECT * FROM doanh_nghiep WHERE updated_at > '%s'", since.Format(time.RFC3339Nano)), "bench_sql_changes", false)
		_, err := hub.Exec(ctx, `
WITH u AS (INSERT INTO data.bench_sql_copy SELECT * FROM data.bench_sql_changes c WHERE NOT c.deleted
           ON CONFLICT (ma_so_thue) DO UPDATE SET ten = EXCLUDED.ten, von = EXCLUDED.von, updated_at = EXCLUDED.updated_at RETURNING 1)
DELETE FROM data.bench_sql_copy t USING data.bench_sql_changes c WHERE c.deleted AND t.ma_so_thue = c.ma_so_thue`)
		check(err)
	})
	report("SQL: COPY the changed rows + upsert/delete", sqlIncr, 10_000, 10_000, "")
	for _, id := range []string{"bench-hash", "bench-watermark", "bench-keys"} {
		runSync(ctx, hub, id, "1% changed")
	}
	for _, id := range []string{"bench-hash", "bench-watermark", "bench-keys"} {
		runSync(ctx, hub, id, "no change")
	}
	for _, other := range []string{"bench_watermark", "bench_keys"} {
		var a, b, differ int64
		check(hub.QueryRow(ctx, `SELECT (SELECT count(*) FROM data.bench_hash), (SELECT count(*) FROM data.`+other+`)`).Scan(&a, &b))
		check(hub.QueryRow(ctx, `SELECT count(*) FROM data.bench_hash h FULL JOIN data.`+other+` w USING (ma_so_thue)
WHERE h.ma_so_thue IS NULL OR w.ma_so_thue IS NULL OR (h.ten, h.von, h.updated_at) IS DISTINCT FROM (w.ten, w.von, w.updated_at)`).Scan(&differ))
		fmt.Printf("after the runs: hash %d rows, %s %d rows, rows that differ between them %d\n", a, other, b, differ)
	}
}

func tableOf(id string) string {
	b := []byte(id)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

func runSync(ctx context.Context, hub *pgxpool.Pool, id, what string) {
	start := time.Now()
	run, err := sources.Sync(ctx, hub, id, sources.RunOptions{})
	check(err)
	d := time.Since(start)
	report(fmt.Sprintf("hub %s: %s", id[6:], what), d, run.Read, run.Inserted+run.Updated+run.Deleted,
		fmt.Sprintf("+%d ~%d -%d =%d ✗%d v%d %v", run.Inserted, run.Updated, run.Deleted, run.Unchanged, run.Rejected, *run.DataVersion, run.Phases))
}

func report(name string, d time.Duration, read, changed int64, counts string) {
	fmt.Printf("%-44s %10.2f %12.0f %10d %s\n", name, d.Seconds(), float64(read)/d.Seconds(), changed, counts)
}

func timeIt(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// prepareSource makes the agency's table when it is missing.
func prepareSource(ctx context.Context, src *pgxpool.Pool, rows int) {
	var n int64
	if err := src.QueryRow(ctx, `SELECT count(*) FROM doanh_nghiep`).Scan(&n); err == nil && n >= int64(rows) {
		return
	}
	for _, s := range []string{
		`CREATE EXTENSION IF NOT EXISTS postgis`,
		`DROP TABLE IF EXISTS doanh_nghiep`,
		`CREATE TABLE doanh_nghiep (ma_so_thue text PRIMARY KEY, ten text NOT NULL, dia_chi text, nganh text, ma_xa text,
            von bigint, lao_dong integer, updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,
            geom geometry(Point, 4326))`,
	} {
		_, err := src.Exec(ctx, s)
		check(err)
	}
	log.Printf("making %d source rows", rows)
	_, err := src.Exec(ctx, `INSERT INTO doanh_nghiep
SELECT lpad(i::text, 10, '0'), 'Công ty TNHH Thương mại và Dịch vụ số ' || i, 'Số ' || (i % 300) || ' đường Nguyễn Lương Bằng, phường ' || (i % 40),
       (ARRAY['C10', 'G46', 'F41', 'A01', 'H49'])[1 + i % 5], (10507 + i % 250)::text, (i % 97) * 1000000, i % 500,
       '2026-01-01'::timestamptz + make_interval(secs => i), false,
       ST_SetSRID(ST_MakePoint(106.1 + (i % 1000) * 0.0005, 20.8 + (i / 1000) * 0.0003), 4326)
FROM generate_series(1, $1) i`, rows)
	check(err)
	_, err = src.Exec(ctx, `CREATE INDEX ON doanh_nghiep (updated_at)`)
	check(err)
	_, err = src.Exec(ctx, `ANALYZE doanh_nghiep`)
	check(err)
}

// resetSource undoes an earlier run's changes.
func resetSource(ctx context.Context, src *pgxpool.Pool, rows int) {
	_, err := src.Exec(ctx, `DELETE FROM doanh_nghiep WHERE ma_so_thue > lpad($1, 10, '0')`, fmt.Sprint(rows))
	check(err)
	_, err = src.Exec(ctx, `UPDATE doanh_nghiep SET deleted = false, ten = 'Công ty TNHH Thương mại và Dịch vụ số ' || ma_so_thue::bigint,
    von = (ma_so_thue::bigint % 97) * 1000000, updated_at = '2026-01-01'::timestamptz + make_interval(secs => ma_so_thue::bigint)
WHERE updated_at > '2026-06-01'`)
	check(err)
}

// changeSource changes 1 % of the source: 8,000 updates, 1,000 inserts, 1,000 deletions (a
// tombstone, as agencies' systems keep them). It returns the time before the changes.
func changeSource(ctx context.Context, src *pgxpool.Pool, rows int) time.Time {
	var before time.Time
	check(src.QueryRow(ctx, `SELECT max(updated_at) FROM doanh_nghiep`).Scan(&before))
	for _, s := range []string{
		`UPDATE doanh_nghiep SET ten = ten || ' (đổi tên)', von = von + 1, updated_at = now() WHERE ma_so_thue IN (
    SELECT lpad((1 + (i * 7919) % $1)::text, 10, '0') FROM generate_series(1, 8000) i)`,
		`UPDATE doanh_nghiep SET deleted = true, updated_at = now() WHERE ma_so_thue IN (
    SELECT lpad((1 + (i * 104729) % $1)::text, 10, '0') FROM generate_series(1, 1000) i) AND NOT ten LIKE '%(đổi tên)'`,
		`INSERT INTO doanh_nghiep SELECT lpad(($1 + i)::text, 10, '0'), 'Công ty mới ' || i, 'Số 1', 'G46', '10507', 1000, 5, now(), false,
    ST_SetSRID(ST_MakePoint(106.3, 20.9), 4326) FROM generate_series(1, 1000) i`,
	} {
		_, err := src.Exec(ctx, s, rows)
		check(err)
	}
	return before
}

// sqlCopy moves the rows of query from the source into table in the hub with COPY, the
// floor of any synchronisation's reading and writing.
func sqlCopy(ctx context.Context, src, hub *pgxpool.Pool, query, table string, index bool) {
	_, err := hub.Exec(ctx, `DROP TABLE IF EXISTS data.`+table)
	check(err)
	_, err = hub.Exec(ctx, `CREATE TABLE data.`+table+` (ma_so_thue text, ten text, dia_chi text, nganh text, ma_xa text,
    von bigint, lao_dong integer, updated_at timestamptz, deleted boolean, geom geometry(Point, 4326))`)
	check(err)
	sc, err := src.Acquire(ctx)
	check(err)
	defer sc.Release()
	hc, err := hub.Acquire(ctx)
	check(err)
	defer hc.Release()
	pr, pw := io.Pipe()
	go func() {
		_, err := sc.Conn().PgConn().CopyTo(ctx, pw, "COPY ("+query+") TO STDOUT (FORMAT binary)")
		pw.CloseWithError(err)
	}()
	_, err = hc.Conn().PgConn().CopyFrom(ctx, pr, "COPY data."+table+" FROM STDIN (FORMAT binary)")
	check(err)
	if index {
		_, err = hub.Exec(ctx, `ALTER TABLE data.`+table+` ADD PRIMARY KEY (ma_so_thue)`)
		check(err)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/sync:", err)
		os.Exit(1)
	}
}
