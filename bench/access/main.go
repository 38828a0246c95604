// Command access measures what the access policy and the audit log cost (access issue): the
// same tile and items requests on land-parcels served
//
//	off: to an anonymous caller while the collection is open — no restriction, nothing logged;
//	key: to a connected agency's API key while the collection is open — authentication and the
//	     policy's decision, but open data is not logged;
//	on:  to that key while the collection takes its entry's categories (default) — the policy's
//	     view, and one audit record committed before each answer;
//
// in the same run against the same data, the modes interleaved case by case, their order
// alternating (the policy is switched with layers.SetPolicy, what `hub layers policy` runs, and
// every hub is polled until it follows). The items and tile statements run directly through
// pgx give the physical reference. The audit log is counted before and after every keyed run:
// the answers served and the records written are printed side by side.
//
//	HUB_BENCH_KEY=hub_… go run ./bench/access -url http://127.0.0.1:A -cold http://127.0.0.1:B \
//	    -agency AGENCY -application APP -duration 12s
//
// -url is a hub with its tile cache on, -cold one with it off (bench/access.sh starts both).
// It never fails on a timing.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/maptile"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/bench/internal/measure"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/spatial"
	"github.com/haiduong/hub/tiles"
)

func main() {
	warmURL := flag.String("url", "http://127.0.0.1:8080", "hub with its tile cache on")
	coldURL := flag.String("cold", "", "hub with its tile cache off (cold tiles; skipped when empty)")
	coll := flag.String("collection", "land-parcels", "collection")
	agency := flag.String("agency", "", "the connected agency whose key is in HUB_BENCH_KEY")
	app := flag.String("application", "", "its application")
	dur := flag.Duration("duration", 12*time.Second, "time per measurement")
	nWarm := flag.Int("warm-tiles", 500, "distinct tiles repeated with the cache warm")
	nCold := flag.Int("cold-tiles", 5000, "distinct random tiles with the cache off")
	limit := flag.Int("limit", 100, "features per items page")
	flag.Parse()
	key := os.Getenv("HUB_BENCH_KEY")
	if key == "" || *agency == "" || *app == "" {
		log.Fatal("give the connected agency's key in HUB_BENCH_KEY and -agency, -application")
	}
	ctx := context.Background()
	pool, _, _ := measure.Collection(ctx, *coll)
	b := &bench{ctx: ctx, pool: pool, coll: *coll, key: key, dur: *dur,
		hubs:   []string{*warmURL},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}}
	if *coldURL != "" {
		b.hubs = append(b.hubs, *coldURL)
	}

	// The open snapshot of the layer: what direct SQL reads (policy.Open()), and the agency's
	// view of the default one, to say whether the policy changes the statement at all.
	b.set(false)
	openReg, openL := b.reg, b.layer
	b.set(true)
	pol, err := policy.NewDecider(pool).For(ctx, access.Principal{Kind: access.Agency, Agency: *agency, Application: *app})
	if err != nil {
		log.Fatal(err)
	}
	if v := pol.View(b.layer); !v.Readable() || !v.Logged {
		log.Fatalf("%s/%s cannot read %s as default data (readable %v, logged %v): connect it first", *agency, *app, *coll, v.Readable(), v.Logged)
	}
	probe := url.Values{"limit": {strconv.Itoa(*limit)}}
	openSQL, _, err1 := spatial.BenchmarkQuery(openReg, policy.Open(), openL, probe, 1)
	viewSQL, _, err2 := spatial.BenchmarkQuery(b.reg, pol, b.layer, probe, 1)
	if err1 != nil || err2 != nil {
		log.Fatalf("items statement: %v %v", err1, err2)
	}
	sameSQL := "the same statement as the open one"
	if openSQL != viewSQL {
		sameSQL = "a different statement from the open one (a subquery of the view)"
	}

	warmTiles := b.tiles(*nWarm, 3)
	coldTiles := b.tiles(*nCold, 5)
	centers := b.centers(2000, 7)
	var maxFID int64
	if err := pool.QueryRow(ctx, "SELECT max(fid) FROM "+openL.QualifiedTable()).Scan(&maxFID); err != nil {
		log.Fatal(err)
	}

	// An audit record is committed before each "on" answer: the commit's cost is the disk's.
	var version, syncCommit, fsync string
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync')`).
		Scan(&version, &syncCommit, &fsync); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d features, zoom %d–%d; %s per run; hubs, clients and PostgreSQL %s (synchronous_commit=%s, fsync=%s) on the same %d CPUs\n",
		*coll, openL.Features, minZoom(openL), maxZoom, *dur, version, syncCommit, fsync, runtime.NumCPU())
	fmt.Printf("off = anonymous caller, %s open (no restriction, no audit)\n", *coll)
	fmt.Printf("key = the same key while %s is open: authentication and policy, nothing to log\n", *coll)
	fmt.Printf("on  = key of %s/%s (approved request), %s %v: policy view + one audit record per answer\n",
		*agency, *app, *coll, b.layer.Categories)
	fmt.Printf("the agency's items statement is %s\n\n", sameSQL)
	fmt.Printf("%-44s %4s %10s %10s %8s %8s %8s %9s %9s\n", "", "conc", "req/s", "items/s", "p50 ms", "p99 ms", "mean KB", "served", "audited")

	tileURL := func(base string) func(t maptile.Tile) string {
		return func(t maptile.Tile) string {
			return fmt.Sprintf("%s/collections/%s/tiles/WebMercatorQuad/%d/%d/%d", base, *coll, t.Z, t.Y, t.X)
		}
	}
	reverse := false // alternate the order of the modes, so that none always runs on a warmer machine
	for _, c := range []int{8, 32} {
		fmt.Printf("tiles, cache warm (%d tiles repeated)\n", len(warmTiles))
		b.modes(&reverse, c, func(r *rand.Rand) string { return tileURL(*warmURL)(warmTiles[r.IntN(len(warmTiles))]) },
			func(withKey bool) { b.fill(warmTiles, tileURL(*warmURL), withKey) }, tileStatus, false)
	}
	if *coldURL != "" {
		for _, c := range []int{8, 32} {
			fmt.Printf("tiles, cache off (%d random tiles)\n", len(coldTiles))
			views := []*policy.View{policy.Open().View(openL)}
			tile := func(r *rand.Rand) (int, int, error) {
				t := coldTiles[r.IntN(len(coldTiles))]
				var mvt []byte
				sql, args := tiles.SQL(views, int(t.Z), int(t.X), int(t.Y))
				err := pool.QueryRow(ctx, sql, args...).Scan(&mvt)
				return len(mvt), 0, err
			}
			b.sqlRun(c, warmup, tile) // the database's buffers, not the first measurement, pay for reading the table
			b.line("direct SQL (pgx), same tile statement", c, b.sqlRun(c, b.dur, tile), false, -1)
			b.modes(&reverse, c, func(r *rand.Rand) string { return tileURL(*coldURL)(coldTiles[r.IntN(len(coldTiles))]) },
				nil, tileStatus, false)
		}
	}

	// Items: a page at a random keyset position, and a 300 m box around a random parcel.
	pageParams := func(r *rand.Rand) (url.Values, int64) {
		return url.Values{"limit": {strconv.Itoa(*limit)}}, 1 + r.Int64N(max(1, maxFID-int64(*limit)))
	}
	boxParams := func(r *rand.Rand) (url.Values, int64) {
		c := centers[r.IntN(len(centers))]
		return url.Values{"limit": {strconv.Itoa(*limit)},
			"bbox": {fmt.Sprintf("%f,%f,%f,%f", c[0]-0.0015, c[1]-0.0015, c[0]+0.0015, c[1]+0.0015)}}, 0
	}
	for _, kind := range []struct {
		name   string
		params func(*rand.Rand) (url.Values, int64)
	}{
		{fmt.Sprintf("items, limit=%d at random cursor positions", *limit), pageParams},
		{fmt.Sprintf("items, limit=%d in a 300 m bbox", *limit), boxParams},
	} {
		fmt.Println(kind.name)
		page := func(r *rand.Rand) (int, int, error) {
			q, after := kind.params(r)
			sql, args, err := spatial.BenchmarkQuery(openReg, policy.Open(), openL, q, after)
			if err != nil {
				return 0, 0, err
			}
			rows, err := pool.Query(ctx, sql, args...)
			if err != nil {
				return 0, 0, err
			}
			defer rows.Close()
			n, size := 0, 0
			for rows.Next() {
				if n < *limit { // the statement reads one more row to know whether a next page exists
					size += len(rows.RawValues()[0])
					n++
				}
			}
			return size, n, rows.Err()
		}
		b.sqlRun(8, warmup, page)
		b.line("direct SQL (pgx), same items statement", 8, b.sqlRun(8, b.dur, page), true, -1)
		b.modes(&reverse, 8, func(r *rand.Rand) string {
			q, after := kind.params(r)
			if after > 0 {
				q.Set("cursor", spatial.CursorAfter(after))
			}
			return *warmURL + "/collections/" + *coll + "/items?" + q.Encode()
		}, nil, itemsStatus, true)
	}

	fmt.Printf("\n\"on\" runs, cache fills included: %d answers served, %d audit records written", b.served, b.audited)
	if b.served == b.audited {
		fmt.Println(" — equal")
	} else {
		fmt.Println(" — NOT EQUAL")
	}
	fmt.Printf("key on the open collection: %d audit records written (open data is not logged)\n", b.strayRecords)
	if !b.protected {
		b.set(true) // leave the collection as it was found: its entry's categories
	}
}

const maxZoom = 18

// warmup is the unmeasured run of a case's statement before its measurements.
const warmup = 3 * time.Second

func minZoom(l *layers.Layer) int { return max(14, l.MinZoom) }

func tileStatus(s int) bool  { return s == http.StatusOK || s == http.StatusNoContent }
func itemsStatus(s int) bool { return s == http.StatusOK }

// bench holds what every measurement shares.
type bench struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	client *http.Client
	hubs   []string
	coll   string
	key    string
	dur    time.Duration

	protected bool // the collection is at its entry's categories, not open
	reg       *layers.Registry
	layer     *layers.Layer

	served, audited int // over every "on" run, cache fills included
	strayRecords    int // audit records written during keyed runs on the open collection: 0
}

// set switches the collection's policy — open, or its entry's categories when protected — and
// waits until every hub serves it so: an anonymous page is a 200 when open, a 401 when not.
func (b *bench) set(protected bool) {
	cat, want := "open", http.StatusOK
	if protected {
		cat, want = "inherit", http.StatusUnauthorized
	}
	if err := layers.SetPolicy(b.ctx, b.pool, b.coll, layers.Policy{Category: &cat}); err != nil {
		log.Fatalf("set %s to %s: %v", b.coll, cat, err)
	}
	for _, h := range b.hubs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, body, err := b.get(h+"/collections/"+b.coll+"/items?limit=1", false)
			if err == nil && status == want {
				break
			}
			if time.Now().After(deadline) {
				log.Fatalf("%s still answers %d (%v) 10 s after %s became %s: %s", h, status, err, b.coll, cat, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if protected { // and the key reads it
			if status, body, err := b.get(h+"/collections/"+b.coll+"/items?limit=1", true); err != nil || status != http.StatusOK {
				log.Fatalf("%s answers the key %d (%v): %s", h, status, err, body)
			}
		}
	}
	reg, err := layers.Load(b.ctx, b.pool)
	if err != nil {
		log.Fatal(err)
	}
	l, ok := reg.Get(b.coll)
	if !ok {
		log.Fatalf("no collection %s", b.coll)
	}
	b.protected, b.reg, b.layer = protected, reg, l
}

// get fetches u, with the key when withKey, and returns the status and body.
func (b *bench) get(u string, withKey bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	if withKey {
		req.Header.Set("Authorization", "Bearer "+b.key)
	}
	res, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// auditCount is the number of rows in the audit log.
func (b *bench) auditCount() int {
	var n int
	if err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		log.Fatal(err)
	}
	return n
}

// fill requests every tile once as the next run will, so that the run hits the cache.
func (b *bench) fill(list []maptile.Tile, tileURL func(maptile.Tile) string, withKey bool) {
	for _, t := range list {
		status, body, err := b.get(tileURL(t), withKey)
		if err != nil || !tileStatus(status) {
			log.Fatalf("filling the cache: %s: %d %v %.300s", tileURL(t), status, err, body)
		}
		if withKey && b.protected {
			b.served++
		}
	}
}

// mode is how a run is served: the collection open or at its entry's categories, and the
// caller anonymous or the agency's key.
type mode struct {
	name      string
	protected bool // the collection takes its entry's categories (default), not open
	key       bool
}

var (
	off    = mode{"off: anonymous, collection open", false, false}
	keyed  = mode{"key, collection open (policy, no audit)", false, true}
	onMode = mode{"on:  agency key, policy view + audit", true, true}
)

// modes measures the same requests off, with the key on the open collection, and on — or in
// the reverse order, alternating between calls — counting the audit log around every keyed
// run. The middle mode authenticates and decides like "on" but discloses only open data, so
// writes no audit record: it separates the policy's share from the log's.
func (b *bench) modes(reverse *bool, conc int, next func(*rand.Rand) string, prepare func(withKey bool), ok func(int) bool, items bool) {
	order := []mode{off, keyed, onMode}
	if *reverse {
		order = []mode{onMode, keyed, off}
	}
	*reverse = !*reverse
	got := map[mode]run{}
	for _, m := range order {
		if b.protected != m.protected {
			b.set(m.protected)
		}
		before := b.auditCount()
		if prepare != nil {
			prepare(m.key)
		}
		mid := b.auditCount()
		res := b.httpRun(conc, next, m.key, ok, items)
		audited := -1
		if m.key {
			after := b.auditCount()
			audited = after - mid
			if m.protected {
				b.audited += after - before
				b.served += res.Served()
			} else {
				b.strayRecords += after - before
			}
		}
		got[m] = res
		b.line(m.name, conc, res, items, audited)
	}
	for _, m := range []mode{keyed, onMode} {
		o, x := got[off], got[m]
		if o.Served() == 0 || x.Served() == 0 {
			continue
		}
		name := "on/off"
		if m == keyed {
			name = "key on open/off"
		}
		fmt.Printf("  %-42s %4s %9.1f%% %10s %7.2f× %7.2f× %8s\n", name, "", 100*x.Rate()/o.Rate(), "",
			x.Percentile(0.5)/o.Percentile(0.5), x.Percentile(0.99)/o.Percentile(0.99),
			fmt.Sprintf("%.2f/%.2f", x.meanKB(), o.meanKB()))
	}
}

// run is one measurement with the bytes and items its successful requests returned.
type run struct {
	measure.Result
	bytes, items int64
}

func (r run) meanKB() float64 {
	if r.Served() == 0 {
		return 0
	}
	return float64(r.bytes) / float64(r.Served()) / 1024
}

// httpRun requests next's URLs from conc clients, with the key when withKey. A status ok does not
// accept is an error carrying the hub's body.
func (b *bench) httpRun(conc int, next func(*rand.Rand) string, withKey bool, ok func(int) bool, items bool) run {
	var mu sync.Mutex
	var total run
	total.Result = measure.Run(conc, b.dur, func(r *rand.Rand) error {
		u := next(r)
		status, body, err := b.get(u, withKey)
		if err != nil {
			return err
		}
		if !ok(status) {
			return fmt.Errorf("%s: status %d: %.400s", u, status, body)
		}
		n := 0
		if items {
			n = numberReturned(body)
		}
		mu.Lock()
		total.bytes += int64(len(body))
		total.items += int64(n)
		mu.Unlock()
		return nil
	})
	return total
}

// sqlRun runs one statement per request through the pool; q returns the bytes and items read.
func (b *bench) sqlRun(conc int, dur time.Duration, q func(*rand.Rand) (int, int, error)) run {
	var mu sync.Mutex
	var total run
	total.Result = measure.Run(conc, dur, func(r *rand.Rand) error {
		size, n, err := q(r)
		if err != nil {
			return err
		}
		mu.Lock()
		total.bytes += int64(size)
		total.items += int64(n)
		mu.Unlock()
		return nil
	})
	return total
}

// line prints one measurement; audited < 0 for runs that write no audit record.
func (b *bench) line(name string, conc int, r run, items bool, audited int) {
	if r.Served() == 0 {
		fmt.Printf("  %-42s %4d  no successful request (%d errors; first: %v)\n", name, conc, r.Errors, r.FirstErr)
		return
	}
	perSec := "-"
	if items {
		perSec = fmt.Sprintf("%.0f", float64(r.items)/r.Duration.Seconds())
	}
	served, aud := "", ""
	if audited >= 0 {
		served, aud = strconv.Itoa(r.Served()), strconv.Itoa(audited)
	}
	fmt.Printf("  %-42s %4d %10.1f %10s %8.2f %8.2f %8.2f %9s %9s\n", name, conc, r.Rate(), perSec,
		r.Percentile(0.5), r.Percentile(0.99), r.meanKB(), served, aud)
	if r.Errors > 0 {
		fmt.Printf("  %-42s %d errors; first: %v\n", "", r.Errors, r.FirstErr)
	}
}

// numberReturned reads the page's count, which follows its features.
func numberReturned(body []byte) int {
	const member = `"numberReturned":`
	i := bytes.LastIndex(body, []byte(member))
	if i < 0 {
		return 0
	}
	rest := body[i+len(member):]
	j := bytes.IndexFunc(rest, func(c rune) bool { return c < '0' || c > '9' })
	if j < 0 {
		j = len(rest)
	}
	n, _ := strconv.Atoi(string(rest[:j]))
	return n
}

// centers are points on n parcels picked at random (the same for a seed), in CRS84.
func (b *bench) centers(n int, seed uint64) [][2]float64 {
	rows, err := b.pool.Query(b.ctx, `SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) c FROM `+
		b.layer.QualifiedTable()+` TABLESAMPLE SYSTEM (5) REPEATABLE ($2) LIMIT $1) s`, n, float64(seed))
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	var out [][2]float64
	for rows.Next() {
		var c [2]float64
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			log.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		log.Fatalf("no parcels to put tiles and boxes on (%v)", err)
	}
	return out
}

// tiles are n tiles at random zooms in the layer's range up to z18, each around a random parcel
// (so over the parcels' extent, and holding data).
func (b *bench) tiles(n int, seed uint64) []maptile.Tile {
	r := rand.New(rand.NewPCG(seed, 2))
	zmin := minZoom(b.layer)
	var out []maptile.Tile
	for _, c := range b.centers(n, seed) {
		z := zmin + r.IntN(maxZoom-zmin+1)
		out = append(out, maptile.At(c, maptile.Zoom(z)))
	}
	return out
}
