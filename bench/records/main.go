// Command records measures record collections against the same SQL run directly through
// pgx, in the same run: lookups by natural key (/items/{key}) at one and eight clients, and
// filtered pages of records.
//
//	go run ./bench/records -url http://127.0.0.1:8080 -collection residents -duration 20s
//
// It reports requests/s and p50/p99 latency; it never fails on a timing.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/bench/internal/measure"
	"github.com/haiduong/hub/spatial"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "hub to measure")
	coll := flag.String("collection", "residents", "record collection")
	dur := flag.Duration("duration", 20*time.Second, "time per measurement")
	limit := flag.Int("limit", 1000, "records per filtered page")
	filter := flag.String("filter", "", "CQL2 filter of the pages (default: one commune_code value of the table)")
	flag.Parse()
	ctx := context.Background()
	pool, reg, l := measure.Collection(ctx, *coll)
	if l.KeyField == "" {
		log.Fatalf("%s is not a record collection with a key", *coll)
	}
	// Keys picked at random from the whole table, the same for both sides.
	var keys []string
	rows, err := pool.Query(ctx, `SELECT `+pgx.Identifier{l.KeyField}.Sanitize()+`::text FROM `+l.QualifiedTable()+` TABLESAMPLE SYSTEM (2) REPEATABLE (3) LIMIT 20000`)
	if err != nil {
		log.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if len(keys) == 0 {
		log.Fatalf("%s is empty", *coll)
	}
	if *filter == "" {
		var code string
		if err := pool.QueryRow(ctx, `SELECT commune_code FROM `+l.QualifiedTable()+` GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&code); err != nil {
			log.Fatalf("no commune_code to filter by (%v); give -filter", err)
		}
		*filter = fmt.Sprintf("commune_code = '%s'", code)
	}
	pol, client := measure.Caller(ctx, pool, &http.Transport{MaxIdleConnsPerHost: 8})
	get := func(u string) error {
		res, err := client.Get(u)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 {
			return fmt.Errorf("%s: status %d", u, res.StatusCode)
		}
		return nil
	}
	sql := func(stmt string, args []any, err error) error {
		if err != nil {
			return err
		}
		rows, err := pool.Query(ctx, stmt, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		if n == 0 {
			return fmt.Errorf("no row")
		}
		return rows.Err()
	}
	key := func(r *rand.Rand) string { return keys[r.IntN(len(keys))] }
	pageParams := url.Values{"limit": {fmt.Sprint(*limit)}, "filter": {*filter}}

	fmt.Printf("%s: %d records; lookups by %s; pages of %d with filter %s\n", *coll, l.Features, l.KeyField, *limit, *filter)
	measure.Header()
	for _, c := range []int{1, 8} {
		measure.Report(fmt.Sprintf("lookup, direct SQL, c=%d", c), c, *dur, 0, func(r *rand.Rand) error {
			return sql(spatial.BenchmarkLookup(reg, pol, l, key(r)))
		})
		measure.Report(fmt.Sprintf("lookup, hub /items/{key}, c=%d", c), c, *dur, 0, func(r *rand.Rand) error {
			return get(*base + "/collections/" + url.PathEscape(*coll) + "/items/" + url.PathEscape(key(r)))
		})
	}
	measure.Report("filtered page, direct SQL, c=8", 8, *dur, *limit, func(r *rand.Rand) error {
		return sql(spatial.BenchmarkQuery(reg, pol, l, pageParams, 0))
	})
	measure.Report("filtered page, hub /items, c=8", 8, *dur, *limit, func(r *rand.Rand) error {
		return get(*base + "/collections/" + url.PathEscape(*coll) + "/items?" + pageParams.Encode())
	})
}
