package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/haiduong/hub/accessapi"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
)

const importUsage = `hub import --collection ID [--entry CATALOG_ID] [--title T] [--srs EPSG:N]
           [--records [--key-field FIELD]] [--mode replace|append|upsert [--key FIELD]]
           [--fix-invalid] [--layer NAME|SHEET] [--encoding CP1258|UTF-16] FILE

Loads FILE (GeoJSON, newline-delimited GeoJSON, Shapefile .shp or .zip, GeoPackage, CSV;
for records also JSON, JSON Lines and Excel .xlsx) into the collection ID. Either the whole
file is imported, or nothing changes.

With --records the collection holds records without geometry (enterprises, schools, births…):
no coordinate system is needed and any geometry in the file is left out; --key-field names
the natural key (e.g. tax_code), which must be present and unique in every row and is what
--mode upsert matches on unless --key says otherwise. A collection already registered as
records takes records without --records.
`

func importCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, dbURL := flags("import")
	fs.Usage = func() { fmt.Fprint(os.Stderr, importUsage); fs.PrintDefaults() }
	collection := fs.String("collection", "", "collection (layer) id, e.g. land-parcels")
	entry := fs.String("entry", "", "catalogue entry the collection belongs to, e.g. dat-dai")
	title := fs.String("title", "", "title of the collection (Vietnamese)")
	srs := fs.String("srs", "", "coordinate system of the file when it does not say, or to override it (EPSG:N)")
	mode := fs.String("mode", "replace", "replace, append or upsert")
	key := fs.String("key", "", "field identifying a feature (upsert); default: the record collection's key field")
	records := fs.Bool("records", false, "the file holds records without geometry (a record collection); geometry in the file is left out")
	keyField := fs.String("key-field", "", "natural key of a record collection, e.g. tax_code: present and unique in every row")
	fix := fs.Bool("fix-invalid", false, "repair invalid geometries with ST_MakeValid instead of refusing the file")
	layer := fs.String("layer", "", "GeoPackage layer (default: the only one) or XLSX sheet (default: the first)")
	encoding := fs.String("encoding", "", "text encoding of a CSV (default UTF-8, UTF-16 with a byte-order mark) or of a Shapefile without .cpg, e.g. CP1258")
	lon := fs.String("lon", "", "CSV column of longitudes or Eastings (default: detected)")
	lat := fs.String("lat", "", "CSV column of latitudes or Northings (default: detected)")
	wkt := fs.String("wkt", "", "CSV column of WKT geometries (default: detected)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *collection == "" {
		fs.Usage()
		return errors.New("give --collection and one FILE")
	}
	srid, err := parseSRS(*srs)
	if err != nil {
		return err
	}
	openOpt := ingest.OpenOptions{Layer: *layer, Encoding: *encoding, LonColumn: *lon, LatColumn: *lat, WKTColumn: *wkt, SRID: srid, Records: *records}
	pool, err := openMigrated(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	opt := ingest.Options{
		Collection: *collection, Mode: *mode, Key: *key, SRID: srid, FixInvalid: *fix, Records: *records,
		Definition: layers.Layer{Title: *title, EntryID: *entry, KeyField: *keyField},
	}
	// A collection registered as records takes records: its CSV columns are all fields.
	existing, err := layers.LoadOne(ctx, pool, *collection)
	if err != nil {
		return err
	}
	if existing != nil && existing.IsRecord() {
		openOpt.Records = true
	}
	// A GeoPackage with several layers and no --layer: each layer becomes a collection
	// named after it (ID-layer), each imported all or nothing.
	path := fs.Arg(0)
	if *layer == "" && strings.EqualFold(filepath.Ext(path), ".gpkg") {
		names, err := ingest.GeoPackageLayers(path)
		if err != nil {
			return err
		}
		if len(names) > 1 {
			for _, name := range names {
				o, lo := opt, openOpt
				lo.Layer = name
				o.Collection = *collection + "-" + slug(name)
				if err := importOne(ctx, pool, path, lo, o, stdout); err != nil {
					return fmt.Errorf("layer %s: %w", name, err)
				}
			}
			return nil
		}
	}
	return importOne(ctx, pool, path, openOpt, opt, stdout)
}

// importOne imports one source and writes its audit record ("import": the collection, the
// rows imported, the data version and the file's SHA-256).
func importOne(ctx context.Context, pool *pgxpool.Pool, path string, openOpt ingest.OpenOptions, opt ingest.Options, stdout io.Writer) error {
	var rep *ingest.Report
	err := logged(ctx, pool, func() (audit.Record, error) {
		r, err := load(ctx, pool, path, openOpt, opt)
		if err != nil {
			return audit.Record{}, err
		}
		rep = r
		rec := accessapi.ActionRecord(operator, "import", "/collections/"+rep.Layer+"?"+url.Values{
			"mode": {rep.Mode}, "source": {rep.Source}, "dataVersion": {strconv.FormatInt(rep.DataVersion, 10)}, "sha256": {rep.Checksum},
		}.Encode())
		rec.Collection, rec.Rows, rec.EntryID = rep.Layer, &rep.Features, opt.Definition.EntryID
		// The entry the collection belongs to (an earlier import may have named it) lets its
		// owner see the import in GET /audit.
		if l, err := layers.LoadOne(ctx, pool, rep.Layer); err == nil && l != nil && l.EntryID != "" {
			rec.EntryID = l.EntryID
		}
		return rec, nil
	}, nil)
	if rep != nil { // imported: the report is due even when logging failed
		fmt.Fprint(stdout, rep.String())
	}
	return err
}

// load imports one source, with a progress bar on a terminal.
func load(ctx context.Context, pool *pgxpool.Pool, path string, openOpt ingest.OpenOptions, opt ingest.Options) (*ingest.Report, error) {
	src, err := ingest.Open(path, openOpt)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if term.IsTerminal(int(os.Stderr.Fd())) {
		items := "features"
		if openOpt.Records {
			items = "records"
		}
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("đang nhập (importing) "+filepath.Base(path)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(items),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
		opt.Progress = func(n int64) { _ = bar.Set64(n) }
		defer bar.Finish()
	}
	return ingest.Import(ctx, pool, src, path, opt)
}

// slug turns a GeoPackage layer name into a collection id part.
func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

var srsPattern = regexp.MustCompile(`(?i)^(?:EPSG:)?(\d{4,6})$|/EPSG/0/(\d{4,6})$`)

// parseSRS reads "EPSG:9209", "9209" or an OGC CRS URI.
func parseSRS(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	m := srsPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("--srs %q: give an EPSG code such as EPSG:9209", s)
	}
	code := m[1] + m[2]
	return strconv.Atoi(code)
}

func sampleCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, dbURL := flags("sample")
	parcels := fs.Int("parcels", sample.DefaultParcels, "land parcels to generate")
	residents := fs.Int("residents", sample.DefaultResidents, "residents (dan-cu) to generate, e.g. 1000000 for benchmarks")
	seed := fs.Int64("seed", 1, "seed: the same seed gives the same data")
	ifMissing := fs.Bool("if-missing", false, "do nothing when this sample (every collection, these sizes) is already loaded (make demo)")
	demoKey := fs.Bool("demo-key", false, "also print an API key of the demo's planning office, connected to every default entry (make demo)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	opt := sample.Options{Parcels: *parcels, Residents: *residents, Seed: *seed, Log: stdout}
	if *ifMissing {
		loaded, err := sample.Loaded(ctx, pool, opt)
		if err != nil {
			return err
		}
		if loaded {
			fmt.Fprintln(stdout, "the sample warehouse is already loaded (hub sample rebuilds it)")
		}
		// The demo (make demo) of a warehouse loaded before the sample had its source gets it.
		if loaded && *demoKey {
			if err := sample.DemoSourceIfMissing(ctx, pool, stdout); err != nil {
				return err
			}
		}
		*ifMissing = loaded
	}
	if !*ifMissing {
		fmt.Fprintf(stdout, "building the sample warehouse (%d parcels, %d residents, seed %d)\n", *parcels, *residents, *seed)
		if err := sample.Build(ctx, pool, opt); err != nil {
			return err
		}
	}
	if *demoKey {
		key, err := sample.Consumer(ctx, pool)
		if err != nil {
			return err
		}
		// Anonymous visitors see open data only; the key shows what a connected agency sees.
		fmt.Fprintf(stdout, "API key of the demo planning office (%s, 30 days) — paste it in the key box of /map:\n%s\n",
			sample.ConsumerAgency, key)
	}
	return nil
}
