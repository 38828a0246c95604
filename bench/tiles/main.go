// Command tiles measures vector tiles: cold (the hub's cache off) against the same SQL sent
// straight through pgx in the same run, and warm (cache on), at several concurrencies, on
// random tiles at z12–z18 over the parcels.
//
//	go run ./bench/tiles -cold http://127.0.0.1:A -warm http://127.0.0.1:B -duration 15s
//
// It reports tiles/s and p50/p99; it never fails on a timing.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb/maptile"

	"github.com/haiduong/hub/bench/internal/measure"
	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/tiles"
)

func main() {
	cold := flag.String("cold", "", "hub with its tile cache off")
	warm := flag.String("warm", "", "hub with its tile cache on")
	peers := flag.String("peers", "", "other servers: name=URL template with {z}/{x}/{y}, comma-separated")
	coll := flag.String("collection", "land-parcels", "collection")
	dur := flag.Duration("duration", 15*time.Second, "time per measurement")
	concs := flag.String("c", "1,8,64", "concurrencies")
	nTiles := flag.Int("tiles", 2000, "distinct random tiles")
	flag.Parse()
	ctx := context.Background()
	pool, err := database.Open(ctx, database.URLFromEnv()+poolSize(*concs))
	if err != nil {
		log.Fatal(err)
	}
	l, err := layers.LoadOne(ctx, pool, *coll)
	if err != nil || l == nil {
		log.Fatalf("collection %s: %v", *coll, err)
	}
	// Random tiles at z12–z18 around random parcels.
	var list []maptile.Tile
	rows, err := pool.Query(ctx, `SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) c FROM `+
		l.QualifiedTable()+` TABLESAMPLE SYSTEM (1) REPEATABLE (3) LIMIT $1) s`, *nTiles)
	if err != nil {
		log.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for rows.Next() {
		var lon, lat float64
		rows.Scan(&lon, &lat)
		z := max(12+r.IntN(7), l.MinZoom)
		list = append(list, maptile.At([2]float64{lon, lat}, maptile.Zoom(z)))
	}
	rows.Close()
	pol, client := measure.Caller(ctx, pool, &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true})
	views := []*policy.View{pol.View(l)}
	get := func(url string) (int, error) {
		res, err := client.Get(url)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 && res.StatusCode != 204 {
			return 0, fmt.Errorf("status %d", res.StatusCode)
		}
		return int(n), err
	}
	hubURL := func(base string, t maptile.Tile) string {
		return fmt.Sprintf("%s/collections/%s/tiles/WebMercatorQuad/%d/%d/%d", base, *coll, t.Z, t.Y, t.X)
	}
	fmt.Printf("%s: %d features, %d random tiles at z12–z18 (min zoom %d), %s each\n", *coll, l.Features, len(list), l.MinZoom, *dur)
	fmt.Printf("%-34s %5s %10s %9s %9s %10s\n", "", "conc", "tiles/s", "p50 ms", "p99 ms", "mean KB")
	for _, cs := range strings.Split(*concs, ",") {
		c, _ := strconv.Atoi(cs)
		run("direct SQL (pgx), same statement", c, *dur, list, func(t maptile.Tile) (int, error) {
			var b []byte
			sql, args := tiles.SQL(views, int(t.Z), int(t.X), int(t.Y))
			err := pool.QueryRow(ctx, sql, args...).Scan(&b)
			return len(b), err
		})
		if *cold != "" {
			run("hub, cache off", c, *dur, list, func(t maptile.Tile) (int, error) { return get(hubURL(*cold, t)) })
		}
		if *warm != "" {
			for _, t := range list { // fill the cache
				get(hubURL(*warm, t))
			}
			run("hub, cache on (warm)", c, *dur, list, func(t maptile.Tile) (int, error) { return get(hubURL(*warm, t)) })
		}
		for _, p := range strings.Split(*peers, ",") {
			name, tmpl, ok := strings.Cut(p, "=")
			if !ok {
				continue
			}
			run(name, c, *dur, list, func(t maptile.Tile) (int, error) {
				u := strings.NewReplacer("{z}", fmt.Sprint(t.Z), "{x}", fmt.Sprint(t.X), "{y}", fmt.Sprint(t.Y)).Replace(tmpl)
				return get(u)
			})
		}
	}
}

// poolSize makes the pool large enough for the highest concurrency.
func poolSize(concs string) string {
	m := 8
	for _, c := range strings.Split(concs, ",") {
		n, _ := strconv.Atoi(c)
		m = max(m, n)
	}
	return fmt.Sprintf("&pool_max_conns=%d", m)
}

func run(name string, conc int, dur time.Duration, list []maptile.Tile, fetch func(maptile.Tile) (int, error)) {
	var mu sync.Mutex
	var lat []time.Duration
	var bytes, errs int
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 9))
			for time.Now().Before(deadline) {
				t := list[r.IntN(len(list))]
				start := time.Now()
				n, err := fetch(t)
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, d)
					bytes += n
				}
				mu.Unlock()
			}
		}(uint64(c))
	}
	wg.Wait()
	if len(lat) == 0 {
		fmt.Printf("%-34s %5d  no successful request (%d errors)\n", name, conc, errs)
		return
	}
	slices.Sort(lat)
	fmt.Printf("%-34s %5d %10.1f %9.2f %9.2f %10.1f", name, conc, float64(len(lat))/dur.Seconds(),
		float64(lat[len(lat)/2].Microseconds())/1000, float64(lat[len(lat)*99/100].Microseconds())/1000, float64(bytes)/float64(len(lat))/1024)
	if errs > 0 {
		fmt.Printf("  (%d errors)", errs)
	}
	fmt.Println()
}
