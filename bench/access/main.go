// Command access measures what the access policy and the audit log cost (access issue): the
// same tile and items requests on land-parcels served
//
//	off: to an anonymous caller while the collection is open — no restriction, nothing logged;
//	key: to a connected agency's API key while the collection is open — authentication and the
//	     policy's decision, but open data is not logged;
//	on:  to that key while the collection takes its entry's categories (default) — the policy's
//	     view, and one audit record committed before each answer;
//
// and the same statement run directly through pgx (the physical reference), against the same
// data in the same run. Each case is measured in rounds: every side runs a slice of the time in
// each round, in the order sql, off, key, on and back, so that load from anything else on the
// machine falls on every side alike; the spread of the on/off ratio over the rounds is printed.
// The policy is switched with layers.SetPolicy (what `hub layers policy` runs) and every hub is
// polled until it follows. The audit log is counted around every keyed slice: the answers
// served and the records written are printed side by side.
//
//	HUB_BENCH_KEY=hub_… go run ./bench/access -url http://127.0.0.1:A -cold http://127.0.0.1:B -duration 12s
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
	"slices"
	"strconv"
	"strings"
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

const maxZoom = 18

// warmup is the unmeasured run of a case's statement before its measurements, so that reading
// the table into memory is not charged to whichever side runs first.
const warmup = 3 * time.Second

func main() {
	warmURL := flag.String("url", "http://127.0.0.1:8080", "hub with its tile cache on")
	coldURL := flag.String("cold", "", "hub with its tile cache off (cold tiles; skipped when empty)")
	coll := flag.String("collection", "land-parcels", "collection")
	dur := flag.Duration("duration", 12*time.Second, "time per side and case, over all rounds")
	rounds := flag.Int("rounds", 4, "rounds each case's time is cut into")
	nWarm := flag.Int("warm-tiles", 500, "distinct tiles repeated with the cache warm")
	nCold := flag.Int("cold-tiles", 5000, "distinct random tiles with the cache off")
	limit := flag.Int("limit", 100, "features per items page")
	flag.Parse()
	key := os.Getenv("HUB_BENCH_KEY")
	if key == "" {
		log.Fatal("give the API key of an agency connected to the collection's entry in HUB_BENCH_KEY (bench/access.sh makes one)")
	}
	ctx := context.Background()
	pool, _, _ := measure.Collection(ctx, *coll)
	principal, err := access.NewAuthenticator(pool, nil).Authenticate(ctx, key)
	if err != nil {
		log.Fatalf("HUB_BENCH_KEY: %v", err)
	}
	b := &bench{ctx: ctx, pool: pool, coll: *coll, key: key, slice: *dur / time.Duration(*rounds), rounds: *rounds,
		hubs:   []string{*warmURL},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}}
	if *coldURL != "" {
		b.hubs = append(b.hubs, *coldURL)
	}

	// The open snapshot of the layer is what direct SQL reads (policy.Open()); the agency's view
	// of the default one says whether the policy changes the items statement at all.
	b.set(false)
	openReg, openL := b.reg, b.layer
	b.set(true)
	pol, err := policy.NewDecider(pool).For(ctx, principal)
	if err != nil {
		log.Fatal(err)
	}
	if v := pol.View(b.layer); !v.Readable() || !v.Logged {
		log.Fatalf("%s cannot read %s as default data (readable %v, logged %v): connect it first", principal, *coll, v.Readable(), v.Logged)
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
	fmt.Printf("%s: %d features, tiles at z%d–%d; %s per side and case in %d rounds; hubs, clients and PostgreSQL %s\n",
		*coll, openL.Features, minZoom(openL), maxZoom, *dur, *rounds, version)
	fmt.Printf("(synchronous_commit=%s, fsync=%s) on the same %d CPUs\n", syncCommit, fsync, runtime.NumCPU())
	fmt.Printf("off = anonymous caller, %s open: no restriction, no audit\n", *coll)
	fmt.Printf("key = key of %s (application %s) while %s is open: authentication and policy, nothing to log\n",
		principal, principal.Application, *coll)
	fmt.Printf("on  = the same key, %s %v (approved request): policy view + one audit record per answer\n",
		*coll, b.layer.Categories)
	fmt.Printf("the agency's items statement is %s\n\n", sameSQL)
	fmt.Printf("%-44s %4s %10s %10s %8s %8s %8s %9s %9s\n", "", "conc", "req/s", "items/s", "p50 ms", "p99 ms", "mean KB", "served", "audited")

	tileURL := func(base string, t maptile.Tile) string {
		return fmt.Sprintf("%s/collections/%s/tiles/WebMercatorQuad/%d/%d/%d", base, *coll, t.Z, t.Y, t.X)
	}
	for _, c := range []int{8, 32} {
		fmt.Printf("tiles, cache warm (%d tiles repeated)\n", len(warmTiles))
		b.compare(c, nil, func(r *rand.Rand) string { return tileURL(*warmURL, warmTiles[r.IntN(len(warmTiles))]) },
			func(withKey bool) {
				b.fill(warmTiles, func(t maptile.Tile) string { return tileURL(*warmURL, t) }, withKey)
			},
			tileStatus, false)
	}
	if *coldURL != "" {
		views := []*policy.View{policy.Open().View(openL)}
		tile := func(r *rand.Rand) (int, int, error) {
			t := coldTiles[r.IntN(len(coldTiles))]
			var mvt []byte
			sql, args := tiles.SQL(views, int(t.Z), int(t.X), int(t.Y))
			err := pool.QueryRow(ctx, sql, args...).Scan(&mvt)
			return len(mvt), 0, err
		}
		b.sqlRun(8, warmup, tile)
		for _, c := range []int{8, 32} {
			fmt.Printf("tiles, cache off (%d random tiles)\n", len(coldTiles))
			b.compare(c, tile, func(r *rand.Rand) string { return tileURL(*coldURL, coldTiles[r.IntN(len(coldTiles))]) },
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
		{fmt.Sprintf("items, limit=%d in a 300 m bbox around a random parcel", *limit), boxParams},
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
		b.compare(8, page, func(r *rand.Rand) string {
			q, after := kind.params(r)
			if after > 0 {
				q.Set("cursor", spatial.CursorAfter(after))
			}
			return *warmURL + "/collections/" + *coll + "/items?" + q.Encode()
		}, nil, itemsStatus, true)
	}

	fmt.Printf("\n\"on\" slices, cache fills included: %d answers served, %d audit records written", b.served, b.audited)
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
	slice  time.Duration // one side's time in one round
	rounds int

	protected bool // the collection is at its entry's categories, not open
	epoch     int  // counts policy switches: a switch changes the tile cache's keys
	filled    map[string]int
	reg       *layers.Registry
	layer     *layers.Layer

	served, audited int // over every "on" slice, cache fills included
	strayRecords    int // audit records written during keyed slices on the open collection: 0
}

// side is one of what a case compares: direct SQL, or the hub serving one way.
type side struct {
	name      string
	direct    bool
	protected bool // the collection takes its entry's categories (default), not open
	key       bool
}

var (
	direct = side{name: "direct SQL (pgx), same statement", direct: true}
	off    = side{name: "off: anonymous, collection open"}
	keyed  = side{name: "key, collection open (policy, no audit)", key: true}
	on     = side{name: "on:  agency key, policy view + audit", protected: true, key: true}
)

// compare measures one case: the sides in rounds, each round in the order of the one before
// reversed (sql, off, key, on, on, key, off, sql…), so that each side runs as often early as
// late and no side always follows a policy switch. sql is the direct statement (nil: none).
// prepare runs before each hub slice (filling the cache). The audit log is counted around every
// keyed slice.
func (b *bench) compare(conc int, sql func(*rand.Rand) (int, int, error), next func(*rand.Rand) string,
	prepare func(withKey bool), ok func(int) bool, items bool) {
	sides := []side{off, keyed, on}
	if sql != nil {
		sides = append([]side{direct}, sides...)
	}
	total := map[side]*run{}
	rates := map[side][]float64{} // per round
	for _, s := range sides {
		total[s] = &run{audited: -1}
	}
	for round := range b.rounds {
		order := slices.Clone(sides)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			var res run
			if s.direct {
				res = b.sqlRun(conc, b.slice, sql)
			} else {
				if b.protected != s.protected {
					b.set(s.protected)
				}
				before := b.auditCount()
				if prepare != nil {
					prepare(s.key)
				}
				mid := b.auditCount()
				res = b.httpRun(conc, next, s.key, ok, items)
				if s.key {
					after := b.auditCount()
					res.audited = after - mid
					if s.protected {
						b.audited += after - before
						b.served += res.Served()
					} else {
						b.strayRecords += after - before
					}
				}
			}
			total[s].add(res)
			rates[s] = append(rates[s], res.Rate())
		}
	}
	for _, s := range sides {
		b.line(s.name, conc, *total[s], items)
	}
	for _, s := range []side{keyed, on} {
		o, x := total[off], total[s]
		if o.Served() == 0 || x.Served() == 0 {
			continue
		}
		name := "on/off"
		if s == keyed {
			name = "key/off"
		}
		var spread []string
		for i := range rates[s] {
			if rates[off][i] > 0 {
				spread = append(spread, fmt.Sprintf("%.0f", 100*rates[s][i]/rates[off][i]))
			}
		}
		fmt.Printf("  %-42s %4s %9.1f%% %10s %7.2f× %7.2f× %8s   rounds: %s %%\n", name, "", 100*x.Rate()/o.Rate(), "",
			x.Percentile(0.5)/o.Percentile(0.5), x.Percentile(0.99)/o.Percentile(0.99),
			fmt.Sprintf("%.2f/%.2f", x.meanKB(), o.meanKB()), strings.Join(spread, ", "))
	}
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
	b.epoch++
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

// fill requests every tile once as the next slice will, from 8 clients, unless that was done
// since the last policy switch (which changes the cache's keys): the slice then hits the cache.
func (b *bench) fill(list []maptile.Tile, tileURL func(maptile.Tile) string, withKey bool) {
	id := fmt.Sprintf("%p %v", &list[0], withKey)
	if b.filled == nil {
		b.filled = map[string]int{}
	}
	if b.filled[id] == b.epoch {
		return
	}
	b.filled[id] = b.epoch
	var wg sync.WaitGroup
	work := make(chan maptile.Tile)
	for range 8 {
		wg.Go(func() {
			for t := range work {
				status, body, err := b.get(tileURL(t), withKey)
				if err != nil || !tileStatus(status) {
					log.Fatalf("filling the cache: %s: %d %v %.300s", tileURL(t), status, err, body)
				}
			}
		})
	}
	for _, t := range list {
		work <- t
	}
	close(work)
	wg.Wait()
	if withKey && b.protected {
		b.served += len(list)
	}
}

// run is a measurement with the bytes and items its successful requests returned and, for a
// keyed hub side, the audit records written meanwhile (-1 otherwise).
type run struct {
	measure.Result
	bytes, items int64
	audited      int
}

func (r *run) add(o run) {
	r.Result.Add(o.Result)
	r.bytes += o.bytes
	r.items += o.items
	if o.audited >= 0 {
		r.audited = max(r.audited, 0) + o.audited
	}
}

func (r run) meanKB() float64 {
	if r.Served() == 0 {
		return 0
	}
	return float64(r.bytes) / float64(r.Served()) / 1024
}

// httpRun requests next's URLs from conc clients for one slice, with the key when withKey. A
// status ok does not accept is an error carrying the hub's body.
func (b *bench) httpRun(conc int, next func(*rand.Rand) string, withKey bool, ok func(int) bool, items bool) run {
	var mu sync.Mutex
	total := run{audited: -1}
	total.Result = measure.Run(conc, b.slice, func(r *rand.Rand) error {
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

// sqlRun runs one statement per request through the pool for dur; q returns the bytes and
// items read.
func (b *bench) sqlRun(conc int, dur time.Duration, q func(*rand.Rand) (int, int, error)) run {
	var mu sync.Mutex
	total := run{audited: -1}
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

// line prints one side's measurement; served and audited for keyed hub sides.
func (b *bench) line(name string, conc int, r run, items bool) {
	if r.Served() == 0 {
		fmt.Printf("  %-42s %4d  no successful request (%d errors; first: %v)\n", name, conc, r.Errors, r.FirstErr)
		return
	}
	perSec := "-"
	if items {
		perSec = fmt.Sprintf("%.0f", float64(r.items)/r.Duration.Seconds())
	}
	served, aud := "", ""
	if r.audited >= 0 {
		served, aud = strconv.Itoa(r.Served()), strconv.Itoa(r.audited)
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
