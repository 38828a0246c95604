// Package sample builds the demo warehouse: the real boundaries, waterways, roads, railways
// and buildings of the area (embedded, with their attribution), and generated but realistic
// land parcels, zoning plans, soil units, roads and bridges inside the real communes, in
// VN-2000 / TM-3 105°30′ (EPSG:9209), and generated record collections of the non-spatial
// catalogue entries (enterprises, schools, residents, births…) linked to the real communes by
// code. Everything goes through the importer, so the sample is validated like any delivery.
// The same seed gives the same data.
package sample

import (
	"context"
	"embed"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/layers"
)

//go:embed data/*.geojson data/*.csv
var files embed.FS

// Options size and seed the sample.
type Options struct {
	Parcels   int   // land parcels to generate
	Residents int   // residents (dan-cu) to generate; a million for benchmarks
	Seed      int64 // same seed, same data
	Log       io.Writer
}

// DefaultParcels keeps "make demo" well under a minute.
const DefaultParcels = 20000

// Build loads the sample into the database behind pool, replacing earlier sample layers.
func Build(ctx context.Context, pool *pgxpool.Pool, opt Options) error {
	if opt.Parcels <= 0 {
		opt.Parcels = DefaultParcels
	}
	if opt.Residents <= 0 {
		opt.Residents = DefaultResidents
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
	// Records come after the layers: public assets name generated parcels.
	if err := buildRecords(ctx, pool, opt); err != nil {
		return err
	}
	if err := relate(ctx, pool, opt.Log); err != nil {
		return err
	}
	if err := demoSource(ctx, pool, opt.Log); err != nil {
		return err
	}
	fmt.Fprintf(opt.Log, "sample ready in %.1f s\n", time.Since(start).Seconds())
	return nil
}

func report(w io.Writer, rep *ingest.Report) {
	if rep.ItemType == layers.Record {
		fmt.Fprintf(w, "  %-20s %8d records   v%d  %.1f s\n", rep.Layer, rep.Total, rep.DataVersion, float64(rep.DurationMS)/1000)
		return
	}
	fmt.Fprintf(w, "  %-16s %8d features  %-16s %s  v%d  %.1f s\n", rep.Layer, rep.Total, rep.GeometryType, rep.StorageCRS, rep.DataVersion, float64(rep.DurationMS)/1000)
}

// Loaded says whether the database already holds this sample: every collection Build makes,
// with as many parcels and residents as opt asks for.
func Loaded(ctx context.Context, pool *pgxpool.Pool, opt Options) (bool, error) {
	if opt.Parcels <= 0 {
		opt.Parcels = DefaultParcels
	}
	if opt.Residents <= 0 {
		opt.Residents = DefaultResidents
	}
	var ids []string
	for _, l := range realLayers() {
		ids = append(ids, l.id)
	}
	for _, g := range generatedLayers {
		ids = append(ids, g.id)
	}
	for _, c := range recordCollections {
		ids = append(ids, c.id)
	}
	for _, j := range joinedLayers() {
		ids = append(ids, j.def.ID)
	}
	var loaded bool
	err := pool.QueryRow(ctx, `
SELECT (SELECT count(*) FROM layers WHERE id = ANY ($1)) = cardinality($1)
   AND EXISTS (SELECT FROM layers WHERE id = 'land-parcels' AND feature_count = $2)
   AND EXISTS (SELECT FROM layers WHERE id = 'residents' AND feature_count = $3)`, ids, opt.Parcels, opt.Residents).Scan(&loaded)
	return loaded, err
}
