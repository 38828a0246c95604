// Package ingest loads files into the warehouse: readers for GeoJSON (also newline-delimited),
// Shapefile, GeoPackage, CSV, JSON records and XLSX turn features (or records, which have no
// geometry) into WKB and JSON properties, which are COPYed into a staging table, validated in
// SQL and swapped into the collection's table in one transaction. A failed import leaves the
// collection exactly as it was.
package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// Feature is one feature (or record) read from a file.
type Feature struct {
	N int64 // 1-based position in the file, for messages
	// Line is where the item starts: the line of a CSV file, the row of a sheet; 0 when the
	// format has no lines worth naming.
	Line  int64
	WKB   []byte // 2D WKB, nil when the feature has no geometry or a broken one
	Props []byte // a JSON object
	// Problem says why a feature could not be read (its geometry is then nil).
	Problem string
	// GeometryProblem says that Problem is about the geometry alone: it does not matter when
	// the file is imported as records, whose geometry is ignored.
	GeometryProblem bool
	// Column names the file's column that Problem is about, if one.
	Column string
}

// Source is a file being read.
type Source interface {
	// Read calls emit with batches of features until the input ends. A batch is emitted once
	// and may be retained by emit; emit may be called from several goroutines at once.
	Read(ctx context.Context, emit func([]Feature) error) error
	// SRID is the file's coordinate system (0 when the file does not say), known once Read
	// has returned.
	SRID() int
	// Keys lists property names in the file's order as far as it knows them.
	Keys() []string
	// Format names the format for reports ("GeoJSON", "Shapefile"…).
	Format() string
	Close() error
}

// OpenOptions tune how a file is read.
type OpenOptions struct {
	Layer string // GeoPackage layer or XLSX sheet; empty for the only (GeoPackage) or first (XLSX)
	// Encoding is the text encoding of a CSV file (default UTF-8, or UTF-16 when the file starts
	// with its byte-order mark) or of a Shapefile's DBF when there is no .cpg.
	Encoding string
	// CSV columns; empty to detect lon/lat (or x/y, kinh_do/vi_do) or WKT columns.
	LonColumn, LatColumn, WKTColumn string
	// SRID is the coordinate system the user gave (--srs): a reader then does not need to
	// recognise the file's own, which may be one no EPSG code describes.
	SRID int
	// Records says the file holds records, not features: a CSV's columns are all fields,
	// none is taken for coordinates, and a CSV without coordinate columns is no error. Give
	// it for a record collection (hub import --records, or an existing record collection).
	Records bool
}

const batchSize = 1000

// Open opens path with the reader its extension calls for.
func Open(path string, opt OpenOptions) (Source, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".geojson", ".json":
		return openGeoJSON(path, false)
	case ".ndjson", ".geojsonl", ".geojsons", ".geojsonseq", ".jsonl":
		return openGeoJSON(path, true)
	case ".xlsx", ".xlsm":
		return openXLSX(path, opt)
	case ".xls", ".ods":
		return nil, fmt.Errorf("%s: %s spreadsheets cannot be read; save the sheet as .xlsx (Excel Workbook) or .csv (CSV UTF-8)", path, ext)
	case ".shp", ".zip":
		return openShapefile(path, opt)
	case ".gpkg":
		return openGeoPackage(path, opt)
	case ".csv", ".tsv":
		return openCSV(path, opt)
	case ".dbf", ".shx", ".prj", ".cpg":
		return nil, fmt.Errorf("%s: open the .shp file of the set, not its %s", path, ext)
	}
	return nil, fmt.Errorf("%s: unknown file type %q; use .geojson, .json, .ndjson, .shp, .zip (Shapefile), .gpkg, .csv or .xlsx", path, ext)
}
