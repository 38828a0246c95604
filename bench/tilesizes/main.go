// Command tilesizes checks the tile budget: for every layer and every zoom from its minimum
// to z16, it builds up to -n tiles over the layer's extent (all of them when fewer) with the
// hub's own tile SQL and reports the largest. The goal is every tile under 500 KB.
//
//	HUB_DATABASE_URL=… go run ./bench/tilesizes
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/tiles"
)

func main() {
	n := flag.Int("n", 300, "tiles per layer and zoom at most")
	maxZ := flag.Int("maxzoom", 16, "highest zoom checked")
	flag.Parse()
	ctx := context.Background()
	pool, err := database.Open(ctx, database.URLFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	worst := 0
	fmt.Printf("%-24s %4s %6s %10s %10s\n", "layer", "z", "tiles", "max KB", "p99 KB")
	// measure builds up to n random tiles of ls at z over extent and prints the largest.
	measure := func(name string, ls []*layers.Layer, extent []float64, z int) {
		views := make([]*policy.View, len(ls))
		for i, l := range ls {
			views[i] = policy.Open().View(l)
		}
		cover := tiles.Cover(extent, z, z)
		r := rand.New(rand.NewPCG(uint64(z), 1))
		r.Shuffle(len(cover), func(i, j int) { cover[i], cover[j] = cover[j], cover[i] })
		cover = cover[:min(len(cover), *n)]
		var sizes []int
		for _, t := range cover {
			var b []byte
			sql, args := tiles.SQL(views, t[0], t[1], t[2])
			if err := pool.QueryRow(ctx, sql, args...).Scan(&b); err != nil {
				log.Fatal(err)
			}
			sizes = append(sizes, len(b))
		}
		slices.Sort(sizes)
		if len(sizes) == 0 {
			return
		}
		mx := sizes[len(sizes)-1]
		worst = max(worst, mx)
		fmt.Printf("%-24s %4d %6d %10.1f %10.1f\n", name, z, len(sizes), float64(mx)/1024, float64(sizes[len(sizes)*99/100])/1024)
	}
	var extent []float64
	for _, l := range reg.Spatial() {
		for z := l.MinZoom; z <= min(l.MaxZoom, *maxZ); z++ {
			measure(l.ID, []*layers.Layer{l}, l.Extent, z)
		}
		if len(l.Extent) == 4 {
			if extent == nil {
				extent = slices.Clone(l.Extent)
			}
			extent = []float64{min(extent[0], l.Extent[0]), min(extent[1], l.Extent[1]), max(extent[2], l.Extent[2]), max(extent[3], l.Extent[3])}
		}
	}
	// The dataset tile of the map page: every layer whose zoom range holds z, in one tile.
	for z := 8; z <= *maxZ; z++ {
		var ls []*layers.Layer
		for _, l := range reg.Spatial() {
			if l.MinZoom <= z && z <= l.MaxZoom {
				ls = append(ls, l)
			}
		}
		measure("(all layers)", ls, extent, z)
	}
	fmt.Printf("largest tile: %.1f KB\n", float64(worst)/1024)
}
