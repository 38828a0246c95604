package sample

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

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

// DemoSourceIfMissing adds the demo source to a sample warehouse that lacks it.
func DemoSourceIfMissing(ctx context.Context, pool *pgxpool.Pool, log io.Writer) error {
	var has bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM sources WHERE id = $1)`, DemoSource).Scan(&has); err != nil || has {
		return err
	}
	return demoSource(ctx, pool, log)
}

// demoSource makes the department's table from the latest observed prices and the source that
// keeps the collection in step with it, and runs it once. The source reaches the hub's own
// database as an agency's would be reached: by host, port, database and user — a password
// is never put in a source's endpoint (it would be its sealed secret), so where the hub's
// database needs one the demo source is left out. Its run failing does not fail the sample:
// the run and its reason are recorded, and /health shows the source failing.
func demoSource(ctx context.Context, pool *pgxpool.Pool, log io.Writer) error {
	if pool.Config().ConnConfig.Password != "" {
		fmt.Fprintln(log, "  demo source left out: the hub's database needs a password, which a demo source would hold")
		return nil
	}
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
		Endpoint: endpointOf(pool), Options: map[string]string{"table": "so_tai_chinh.gia_niem_yet"},
		Key: "ma", Detect: "watermark", WatermarkField: "cap_nhat_luc", Schedule: "15m"}
	if err := sources.Save(ctx, pool, src); err != nil {
		fmt.Fprintf(log, "  demo source left out: %v\n", err)
		return nil
	}
	run, err := sources.Sync(ctx, pool, DemoSource, sources.RunOptions{})
	if err != nil {
		fmt.Fprintf(log, "  demo source %s: its first run failed: %v\n", DemoSource, err)
		return nil
	}
	fmt.Fprintf(log, "  %-20s %8d records   v%d  (source %s, postgres, every 15 min)\n", demoCollection, run.Inserted+run.Unchanged, *run.DataVersion, DemoSource)
	return nil
}

// endpointOf is the URL of pool's database from its host, port, database and user only (no
// password, no pool or session settings).
func endpointOf(pool *pgxpool.Pool) string {
	c := pool.Config().ConnConfig
	u := url.URL{Scheme: "postgres", User: url.User(c.User), Path: "/" + c.Database}
	q := url.Values{}
	if strings.HasPrefix(c.Host, "/") { // a Unix socket directory
		q.Set("host", c.Host)
		q.Set("port", strconv.Itoa(int(c.Port)))
	} else {
		u.Host = net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	}
	if c.TLSConfig == nil {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}
