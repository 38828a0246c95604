package ingest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // pure Go: no cgo in the hub binary
)

// gpkgSource reads one feature table of a GeoPackage, row by row through an SQLite cursor.
type gpkgSource struct {
	path    string
	db      *sql.DB
	table   string
	geomCol string
	cols    []gpkgColumn
	keys    []string
	srid    int
}

// gpkgColumn is an attribute column; typ is its declared type, upper case.
type gpkgColumn struct {
	name string
	typ  string
	key  []byte // `"name":`
}

// openGeoPackage opens the feature table opt.Layer, or the only one when opt.Layer is empty.
func openGeoPackage(path string, opt OpenOptions) (Source, error) {
	db, err := openGPKGDB(path)
	if err != nil {
		return nil, err
	}
	s := &gpkgSource{path: path, db: db}
	if err := s.open(opt.Layer, opt.SRID); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// GeoPackageLayers lists the feature tables of a GeoPackage, so that a command can import
// every layer of a file.
func GeoPackageLayers(path string) ([]string, error) {
	db, err := openGPKGDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return gpkgLayers(db, filepath.Base(path))
}

// openGPKGDB opens the file read-only, after checking it is an SQLite database at all: SQLite
// itself would only say "file is not a database" on the first query.
func openGPKGDB(path string) (*sql.DB, error) {
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 16)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return nil, fmt.Errorf("%s is not a GeoPackage: it is not an SQLite database (export it again from QGIS or with ogr2ogr -f GPKG)", base)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?mode=ro")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// gpkgLayers lists the tables registered as features in gpkg_contents.
func gpkgLayers(db *sql.DB, base string) ([]string, error) {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name IN ('gpkg_contents', 'gpkg_geometry_columns')`).Scan(&n); err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	if n < 2 {
		return nil, fmt.Errorf("%s is an SQLite database but not a GeoPackage: it has no gpkg_contents and gpkg_geometry_columns tables", base)
	}
	rows, err := db.Query(`SELECT c.table_name FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
		WHERE c.data_type = 'features' ORDER BY c.table_name`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no feature tables (layers with geometry)", base)
	}
	return out, nil
}

func (s *gpkgSource) open(layer string, userSRID int) error {
	base := filepath.Base(s.path)
	layers, err := gpkgLayers(s.db, base)
	if err != nil {
		return err
	}
	switch {
	case layer != "":
		for _, l := range layers {
			if l == layer || s.table == "" && strings.EqualFold(l, layer) {
				s.table = l
			}
		}
		if s.table == "" {
			return fmt.Errorf("%s has no layer %q; its layers are: %s (choose one with --layer)", base, layer, strings.Join(layers, ", "))
		}
	case len(layers) == 1:
		s.table = layers[0]
	default:
		return fmt.Errorf("%s has %d layers (%s); choose one with --layer NAME", base, len(layers), strings.Join(layers, ", "))
	}

	var srsID int64
	if err := s.db.QueryRow(`SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?`, s.table).Scan(&s.geomCol, &srsID); err != nil {
		return fmt.Errorf("%s, layer %s: %w", base, s.table, err)
	}
	if s.srid, err = s.epsg(srsID); err != nil && userSRID == 0 {
		return fmt.Errorf("%s, layer %s: %v; give the coordinate system with --srs EPSG:N", base, s.table, err)
	}

	rows, err := s.db.Query(`SELECT name, upper(type), pk FROM pragma_table_info(?)`, s.table)
	if err != nil {
		return fmt.Errorf("%s, layer %s: %w", base, s.table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c gpkgColumn
		var pk int
		if err := rows.Scan(&c.name, &c.typ, &pk); err != nil {
			return err
		}
		// The geometry is read separately; the integer primary key (fid) is the row's
		// identity in the file, not an attribute; BLOB columns have no JSON form worth keeping.
		if strings.EqualFold(c.name, s.geomCol) || pk > 0 && strings.HasPrefix(c.typ, "INT") || c.typ == "BLOB" {
			continue
		}
		c.key = append(appendJSONString(nil, c.name), ':')
		s.cols = append(s.cols, c)
		s.keys = append(s.keys, c.name)
	}
	return rows.Err()
}

// epsg maps a gpkg_spatial_ref_sys entry to an EPSG code. The GeoPackage's undefined
// systems (-1 Cartesian, 0 geographic) give 0, for which the importer asks for --srs.
func (s *gpkgSource) epsg(srsID int64) (int, error) {
	if srsID == 0 || srsID == -1 {
		return 0, nil
	}
	var org, def string
	var code int64
	err := s.db.QueryRow(`SELECT coalesce(organization, ''), coalesce(organization_coordsys_id, 0), coalesce(definition, '')
		FROM gpkg_spatial_ref_sys WHERE srs_id = ?`, srsID).Scan(&org, &code, &def)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("its coordinate system %d is not in gpkg_spatial_ref_sys", srsID)
	}
	if err != nil {
		return 0, err
	}
	if strings.EqualFold(org, "EPSG") && code > 0 {
		return int(code), nil
	}
	if def != "" && !strings.EqualFold(def, "undefined") {
		return prjToEPSG(def)
	}
	return 0, fmt.Errorf("its coordinate system %d (%s %d) has no EPSG code", srsID, org, code)
}

func (s *gpkgSource) Format() string  { return "GeoPackage" }
func (s *gpkgSource) SRID() int       { return s.srid }
func (s *gpkgSource) Keys() []string  { return s.keys }
func (s *gpkgSource) Files() []string { return []string{s.path} }
func (s *gpkgSource) Close() error    { return s.db.Close() }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func (s *gpkgSource) Read(ctx context.Context, emit func([]Feature) error) error {
	sel := []string{quoteIdent(s.geomCol)}
	for _, c := range s.cols {
		sel = append(sel, quoteIdent(c.name))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+quoteIdent(s.table))
	if err != nil {
		return fmt.Errorf("layer %s: %w", s.table, err)
	}
	defer rows.Close()
	vals := make([]any, len(sel))
	ptrs := make([]any, len(sel))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	batch := make([]Feature, 0, batchSize)
	var props []byte
	for n := int64(1); rows.Next(); n++ {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("layer %s, row %d: %w", s.table, n, err)
		}
		f := Feature{N: n}
		switch g := vals[0].(type) {
		case nil:
		case []byte:
			f.WKB, f.Problem = gpkgGeometry(g)
		default:
			f.Problem = fmt.Sprintf("the geometry column holds a %T, not a GeoPackage geometry blob", g)
		}
		f.GeometryProblem = f.Problem != ""
		props = append(props[:0], '{')
		for i, c := range s.cols {
			if i > 0 {
				props = append(props, ',')
			}
			props = append(props, c.key...)
			props = appendSQLiteValue(props, vals[i+1], c.typ)
		}
		f.Props = bytes.Clone(append(props, '}'))
		batch = append(batch, f)
		if len(batch) == batchSize {
			if err := emit(batch); err != nil {
				return err
			}
			batch = make([]Feature, 0, batchSize)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("layer %s: %w", s.table, err)
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// appendSQLiteValue writes a column value as typed JSON. SQLite types values, not columns,
// so the declared type only refines: BOOLEAN 0/1 become booleans, REAL stays real when whole,
// DATE and DATETIME (which the driver parses to time.Time) become ISO 8601 strings.
func appendSQLiteValue(dst []byte, v any, typ string) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case int64:
		if typ == "BOOLEAN" {
			return strconv.AppendBool(dst, v != 0)
		}
		if strings.HasPrefix(typ, "REAL") || strings.HasPrefix(typ, "DOUBLE") || strings.HasPrefix(typ, "FLOAT") {
			return appendJSONFloat(dst, float64(v), true)
		}
		return strconv.AppendInt(dst, v, 10)
	case float64:
		return appendJSONFloat(dst, v, true)
	case bool:
		return strconv.AppendBool(dst, v)
	case string:
		return appendJSONString(dst, v)
	case time.Time:
		if typ == "DATE" {
			return appendJSONString(dst, v.Format("2006-01-02"))
		}
		return appendJSONString(dst, v.Format(time.RFC3339Nano))
	case []byte:
		if utf8.Valid(v) {
			return appendJSONString(dst, string(v))
		}
		return appendJSONString(dst, base64.StdEncoding.EncodeToString(v))
	}
	return appendJSONString(dst, fmt.Sprint(v))
}

// gpkgGeometry reads a GeoPackage geometry blob: "GP", version, flags, srs_id, an optional
// envelope, then standard WKB (the GeoPackage allows either byte order and Z/M). The header's
// byte order flag only concerns srs_id and the envelope, which are not needed.
func gpkgGeometry(b []byte) ([]byte, string) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return nil, "the geometry is not a GeoPackage geometry blob (no \"GP\" header)"
	}
	if b[2] != 0 {
		return nil, fmt.Sprintf("GeoPackage geometry version %d is not supported", b[2])
	}
	flags := b[3]
	if flags&0x20 != 0 {
		return nil, "the geometry uses a GeoPackage extension type, which is not supported"
	}
	envelope := [...]int{0, 32, 48, 48, 64}
	ind := int(flags>>1) & 7
	if ind >= len(envelope) {
		return nil, fmt.Sprintf("the geometry header has an invalid envelope indicator %d", ind)
	}
	if flags&0x10 != 0 {
		return nil, "" // empty geometry
	}
	start := 8 + envelope[ind]
	if len(b) <= start {
		return nil, "the geometry blob is truncated"
	}
	w, err := wkbTo2D(make([]byte, 0, len(b)-start), b[start:])
	if err != nil {
		return nil, err.Error()
	}
	return w, ""
}
