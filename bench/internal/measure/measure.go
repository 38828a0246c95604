// Package measure runs a request function from concurrent clients for a fixed time and prints
// the rate and latency percentiles: what every bench/ command reports. It never fails on a
// timing; it only measures.
package measure

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/layers"
)

// Report runs run from conc clients for dur and prints a line named name: requests/s, items/s
// (requests/s × perRequest, when perRequest > 0), p50 and p99 in milliseconds.
func Report(name string, conc int, dur time.Duration, perRequest int, run func(*rand.Rand) error) {
	res := Run(conc, dur, run)
	if res.Served() == 0 {
		fmt.Fprintf(os.Stderr, "%s: no successful request (%d errors; first: %v)\n", name, res.Errors, res.FirstErr)
		return
	}
	items := "-"
	if perRequest > 0 {
		items = fmt.Sprintf("%.0f", res.Rate()*float64(perRequest))
	}
	fmt.Printf("%-32s %10.1f %12s %9.2f %9.2f", name, res.Rate(), items, res.Percentile(0.5), res.Percentile(0.99))
	if res.Errors > 0 {
		fmt.Printf("  (%d errors; first: %v)", res.Errors, res.FirstErr)
	}
	fmt.Println()
}

// Header prints the column titles of Report's lines.
func Header() {
	fmt.Printf("%-32s %10s %12s %9s %9s\n", "", "requests/s", "items/s", "p50 ms", "p99 ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Collection opens the database of HUB_DATABASE_URL and finds collection id in its registry:
// what every benchmark that compares the hub with direct SQL starts from. It exits on failure.
func Collection(ctx context.Context, id string) (*pgxpool.Pool, *layers.Registry, *layers.Layer) {
	pool, err := database.Open(ctx, database.URLFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	l, ok := reg.Get(id)
	if !ok {
		log.Fatalf("no collection %s in this database", id)
	}
	return pool, reg, l
}
