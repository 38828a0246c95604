// Command features measures the features API against the same SQL run directly through pgx,
// in the same run: pages of limit=1000 at random keyset positions, and bbox queries.
//
//	go run ./bench/features -url http://127.0.0.1:8080 -collection land-parcels -duration 20s
//
// It reports items/s and p50/p99 latency for each; it never fails on a timing.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/haiduong/hub/bench/internal/measure"
	"github.com/haiduong/hub/spatial"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "hub to measure")
	coll := flag.String("collection", "land-parcels", "collection")
	dur := flag.Duration("duration", 20*time.Second, "time per measurement")
	conc := flag.Int("c", 8, "concurrent clients")
	limit := flag.Int("limit", 1000, "features per page")
	flag.Parse()
	ctx := context.Background()
	pool, reg, l := measure.Collection(ctx, *coll)
	var maxFID int64
	if err := pool.QueryRow(ctx, "SELECT max(fid) FROM "+l.QualifiedTable()).Scan(&maxFID); err != nil {
		log.Fatal(err)
	}
	pol, client := measure.Caller(ctx, pool, &http.Transport{MaxIdleConnsPerHost: *conc})
	// Both sides must read the same table.
	var served struct {
		FeatureCount int64 `json:"featureCount"`
	}
	if res, err := client.Get(*base + "/collections/" + *coll); err != nil {
		log.Fatal(err)
	} else {
		json.NewDecoder(res.Body).Decode(&served)
		res.Body.Close()
	}
	if served.FeatureCount != l.Features {
		log.Fatalf("the hub at %s serves %d features of %s, the database here has %d: point both at the same database (HUB_DATABASE_URL)", *base, served.FeatureCount, *coll, l.Features)
	}
	// Boxes about 300 m wide around features picked at random, so that they hold data.
	var centers [][2]float64
	rows, err := pool.Query(ctx, `SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) c FROM `+
		l.QualifiedTable()+` TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 2000) s`)
	if err != nil {
		log.Fatal(err)
	}
	for rows.Next() {
		var c [2]float64
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			log.Fatal(err)
		}
		centers = append(centers, c)
	}
	rows.Close()
	randomBox := func(r *rand.Rand) []float64 {
		c := centers[r.IntN(len(centers))]
		return []float64{c[0] - 0.0015, c[1] - 0.0015, c[0] + 0.0015, c[1] + 0.0015}
	}
	// The three kinds of request: a page at a random keyset position, a 300 m box around a
	// random parcel, and that box with a CQL2 filter.
	params := func(r *rand.Rand, kind string) (url.Values, int64) {
		q := url.Values{"limit": {fmt.Sprint(*limit)}}
		if kind == "page" {
			return q, r.Int64N(max(1, maxFID-int64(*limit)))
		}
		b := randomBox(r)
		q.Set("bbox", fmt.Sprintf("%f,%f,%f,%f", b[0], b[1], b[2], b[3]))
		if kind == "cql2" {
			q.Set("filter", "land_use IN ('LUC', 'ONT', 'ODT') AND dien_tich > 150 AND NOT ACCENTI(commune_code) LIKE '9%'")
		}
		return q, 0
	}
	httpPage := func(r *rand.Rand, kind string) (int, error) {
		q, after := params(r, kind)
		if after > 0 {
			q.Set("cursor", spatial.CursorAfter(after))
		}
		res, err := client.Get(*base + "/collections/" + *coll + "/items?" + q.Encode())
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 {
			return 0, fmt.Errorf("status %d", res.StatusCode)
		}
		return int(n), err
	}
	sqlPage := func(r *rand.Rand, kind string) (int, error) {
		q, after := params(r, kind)
		sql, args, err := spatial.BenchmarkQuery(reg, pol, l, q, after)
		if err != nil {
			return 0, err
		}
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n += len(rows.RawValues()[0])
		}
		return n, rows.Err()
	}
	fmt.Printf("%s, %d features, %d clients, %s each, limit=%d\n", *coll, l.Features, *conc, *dur, *limit)
	measure.Header()
	for _, m := range []struct {
		name string
		run  func(*rand.Rand, string) (int, error)
		kind string
	}{
		{"pages, direct SQL (pgx)", sqlPage, "page"},
		{"pages, hub /items", httpPage, "page"},
		{"bbox 300 m, direct SQL", sqlPage, "bbox"},
		{"bbox 300 m, hub /items", httpPage, "bbox"},
		{"bbox + CQL2, direct SQL", sqlPage, "cql2"},
		{"bbox + CQL2, hub /items", httpPage, "cql2"},
	} {
		perRequest := *limit
		if m.kind != "page" {
			perRequest = 0 // a box holds what it holds
		}
		measure.Report(m.name, *conc, *dur, perRequest, func(r *rand.Rand) error { _, err := m.run(r, m.kind); return err })
	}
}
