// Package sample builds the demo warehouse: the real boundaries, waterways, roads, railways
// and buildings of the area (embedded, with their attribution), and generated but realistic
// land parcels, zoning plans, soil units, roads and bridges inside the real communes, in
// VN-2000 / TM-3 105°30′ (EPSG:9209). Everything goes through the importer, so the sample is
// validated like any delivery. The same seed gives the same data.
package sample

import (
	"context"
	"embed"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
)

//go:embed data/*.geojson data/*.csv
var files embed.FS

// Options size and seed the sample.
type Options struct {
	Parcels int   // land parcels to generate
	Seed    int64 // same seed, same data
	Log     io.Writer
}

// DefaultParcels keeps "make demo" well under a minute.
const DefaultParcels = 20000

// Build loads the sample into the database behind pool, replacing earlier sample layers.
func Build(ctx context.Context, pool *pgxpool.Pool, opt Options) error {
	if opt.Parcels <= 0 {
		opt.Parcels = DefaultParcels
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	start := time.Now()
	for _, l := range realLayers() {
		if err := loadReal(ctx, pool, l, opt.Log); err != nil {
			return fmt.Errorf("sample layer %s: %w", l.id, err)
		}
	}
	if err := generate(ctx, pool, opt); err != nil {
		return err
	}
	fmt.Fprintf(opt.Log, "sample ready in %.1f s\n", time.Since(start).Seconds())
	return nil
}

func report(w io.Writer, rep *ingest.Report) {
	fmt.Fprintf(w, "  %-16s %8d features  %-16s %s  v%d  %.1f s\n", rep.Layer, rep.Total, rep.GeometryType, rep.StorageCRS, rep.DataVersion, float64(rep.DurationMS)/1000)
}
