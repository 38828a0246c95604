package sample

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/sources"
)

// The demo's source system: the Department of Finance's register of posted prices, a table in
// the department's own schema (here in the hub's database; an agency's database would be on its
// own server), synchronised by a scheduled source into a record collection — so that the demo
// shows a connection, its runs and its freshness in the catalogue, the portal and /health.
const (
	DemoSource     = "gia-niem-yet"
	demoCollection = "gia-niem-yet"
)

// demoSource makes the department's table from the latest observed prices and the source that
// keeps the collection in step with it, and runs it once. The source's endpoint is the hub's
// own database URL; one holding a password is not stored in a source, and the demo source is
// then left out.
func demoSource(ctx context.Context, pool *pgxpool.Pool, log io.Writer) error {
	for _, s := range []string{
		`CREATE SCHEMA IF NOT EXISTS so_tai_chinh`,
		`DROP TABLE IF EXISTS so_tai_chinh.gia_niem_yet`,
		`CREATE TABLE so_tai_chinh.gia_niem_yet AS
SELECT DISTINCT ON (commodity_code, market) commodity_code || '@' || market AS ma, commodity AS mat_hang, category AS nhom,
       unit AS don_vi, price_vnd AS gia, market AS cho, commune_code AS ma_xa, observed_on AS ngay_thu_thap,
       now() AS cap_nhat_luc
FROM data.market_prices ORDER BY commodity_code, market, observed_on DESC`,
		`ALTER TABLE so_tai_chinh.gia_niem_yet ADD PRIMARY KEY (ma)`,
	} {
		if _, err := pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("demo source table: %w", err)
		}
	}
	src := &sources.Source{ID: DemoSource, Entry: "quan-ly-gia", Collection: demoCollection, ItemType: "record",
		Title: "Giá niêm yết (đồng bộ từ hệ thống của Sở Tài chính)", Connector: "postgres",
		Endpoint: pool.Config().ConnString(), Options: map[string]string{"table": "so_tai_chinh.gia_niem_yet"},
		Key: "ma", Detect: "watermark", WatermarkField: "cap_nhat_luc", Schedule: "15m"}
	if err := sources.Save(ctx, pool, src); err != nil {
		fmt.Fprintf(log, "  demo source left out: %v\n", err)
		return nil
	}
	run, err := sources.Sync(ctx, pool, DemoSource, sources.RunOptions{})
	if err != nil {
		return fmt.Errorf("demo source: %w", err)
	}
	fmt.Fprintf(log, "  %-20s %8d records   v%d  (source %s, postgres, every 15 min)\n", demoCollection, run.Inserted+run.Unchanged, *run.DataVersion, DemoSource)
	return nil
}
