package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/layers"
)

// Options say where and how a file is imported.
type Options struct {
	Collection string // layer id
	Mode       string // replace (default), append or upsert
	Key        string // upsert key field
	SRID       int    // the file's CRS when it does not say, or to override what it says
	FixInvalid bool   // repair invalid geometries with ST_MakeValid instead of refusing them
	// Definition describes the layer: titles, entry, fields' metadata. Zero fields keep what
	// the registry has (or, for a new layer, take defaults from the file).
	Definition layers.Layer
	// Category overrides the entry's sharing categories for the whole layer (e.g. "open").
	Category string
	// Progress, when set, is called with the number of features read so far.
	Progress func(n int64)
}

var validID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Import reads src into the layer opt.Collection. It either commits the whole file, bumping
// the layer's data version and keeping a quality report, or changes nothing.
func Import(ctx context.Context, pool *pgxpool.Pool, src Source, name string, opt Options) (*Report, error) {
	rep := &Report{Layer: opt.Collection, Source: filepath.Base(name), Format: src.Format(), Mode: opt.Mode, Started: time.Now()}
	if rep.Mode == "" {
		rep.Mode = "replace"
	}
	if !validID.MatchString(opt.Collection) || len(opt.Collection) > 40 {
		return nil, fmt.Errorf("collection id %q: use lower-case letters, digits and hyphens (e.g. land-parcels)", opt.Collection)
	}
	switch rep.Mode {
	case "replace", "append":
	case "upsert":
		if opt.Key == "" {
			return nil, errors.New("--mode upsert needs --key FIELD: the field that identifies a feature")
		}
	default:
		return nil, fmt.Errorf("mode %q: use replace, append or upsert", rep.Mode)
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	// Index builds (two GiST indexes per layer) are much faster with room to work; the
	// default 64 MB is sized for a busy OLTP server, not a bulk load.
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '512MB'`); err != nil {
		return nil, err
	}
	// Concurrent imports into one layer queue up here instead of interleaving.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hub-import:' || $1))`, opt.Collection); err != nil {
		return nil, err
	}
	reg, err := layers.LoadOne(ctx, tx, opt.Collection)
	if err != nil {
		return nil, err
	}
	im := &importer{tx: tx, src: src, opt: opt, rep: rep, existing: reg}
	phases := []struct {
		name string
		run  func(context.Context) error
	}{
		{"read and copy", im.stage},
		{"plan", im.plan},
		{"validate", im.validate},
		{"write", im.apply},
		{"version", func(ctx context.Context) (err error) {
			rep.DataVersion, err = layers.Bump(ctx, tx, opt.Collection)
			return err
		}},
		{"report", im.finishReport},
	}
	rep.Phases = map[string]int64{}
	for _, ph := range phases {
		start := time.Now()
		if err := ph.run(ctx); err != nil {
			return nil, err
		}
		rep.Phases[ph.name] = time.Since(start).Milliseconds()
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit import: %w", err)
	}
	return rep, nil
}

type importer struct {
	tx       pgx.Tx
	src      Source
	opt      Options
	rep      *Report
	existing *layers.Layer // nil for a new layer

	problems []Problem
	nProbs   int64
	profile  *profile // property kinds and empty counts, learnt while reading
	srcSRID  int
	target   *layers.Layer
	columns  map[string]string // property key → column name
}

func (im *importer) problem(p Problem) {
	im.nProbs++
	if len(im.problems) < maxProblems {
		im.problems = append(im.problems, p)
	}
}

// stage COPYs the file into a temporary table (feature number, geometry, properties).
func (im *importer) stage(ctx context.Context) error {
	if _, err := im.tx.Exec(ctx, `CREATE TEMP TABLE hub_stage (n bigint NOT NULL, bad boolean NOT NULL, geom geometry, props jsonb NOT NULL) ON COMMIT DROP`); err != nil {
		return err
	}
	batches := make(chan []Feature, 4)
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	im.profile = newProfile()
	go func() {
		err := im.src.Read(ctx, func(b []Feature) error {
			im.profile.add(b)
			mu.Lock()
			for _, f := range b {
				if f.Problem != "" {
					im.problem(Problem{Feature: f.N, Reason: f.Problem})
				}
			}
			mu.Unlock()
			select {
			case batches <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(batches)
		readErr <- err
	}()
	n, err := im.tx.CopyFrom(ctx, pgx.Identifier{"hub_stage"}, []string{"n", "bad", "geom", "props"}, &copySource{batches: batches, progress: im.opt.Progress})
	if err != nil {
		cancel()
		if rerr := <-readErr; rerr != nil && !errors.Is(rerr, context.Canceled) {
			return fmt.Errorf("%s: %w", im.rep.Source, rerr)
		}
		return fmt.Errorf("copy %s: %w", im.rep.Source, err)
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("%s: %w", im.rep.Source, err)
	}
	im.rep.Features = n
	if n == 0 {
		return &ValidationError{Source: im.rep.Source, Count: 1, Problems: []Problem{{Reason: "the file has no features"}}}
	}
	if cs, ok := im.src.(interface{ Checksum() []byte }); ok {
		im.rep.Checksum = "sha256:" + hex.EncodeToString(cs.Checksum())
	}
	return nil
}

// copySource feeds pgx's CopyFrom from the reader's batches. The geometry goes as raw WKB,
// which PostGIS's binary input accepts.
type copySource struct {
	batches  <-chan []Feature
	cur      []Feature
	i        int
	n        int64
	progress func(int64)
}

func (c *copySource) Next() bool {
	c.i++
	for c.i >= len(c.cur) {
		b, ok := <-c.batches
		if !ok {
			return false
		}
		c.cur, c.i = b, 0
		if c.progress != nil {
			c.progress(c.n + int64(len(b)))
		}
	}
	c.n++
	return true
}

func (c *copySource) Values() ([]any, error) {
	f := c.cur[c.i]
	var g any
	if f.WKB != nil {
		g = f.WKB
	}
	return []any{f.N, f.Problem != "", g, f.Props}, nil
}

func (c *copySource) Err() error { return nil }

// plan decides the target layer: its SRID, geometry type and the type of every field.
func (im *importer) plan(ctx context.Context) error {
	im.srcSRID = im.opt.SRID
	if im.srcSRID == 0 {
		im.srcSRID = im.src.SRID()
	}
	if im.srcSRID == 0 {
		return &ValidationError{Source: im.rep.Source, Count: 1, Problems: []Problem{{Reason: "the file does not say its coordinate system; give it with --srs EPSG:N"}}}
	}
	var sridKnown bool
	if err := im.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM spatial_ref_sys WHERE srid = $1)`, im.srcSRID).Scan(&sridKnown); err != nil {
		return err
	}
	if !sridKnown {
		return &ValidationError{Source: im.rep.Source, Count: 1, Problems: []Problem{{Reason: fmt.Sprintf("EPSG:%d is not a coordinate system this database knows", im.srcSRID)}}}
	}
	// One pass gives the geometry types and the extent the CRS check needs.
	rows, err := im.tx.Query(ctx, `SELECT t, n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT ST_GeometryType(geom) AS t, count(*) AS n, ST_Extent(geom) AS e FROM hub_stage WHERE geom IS NOT NULL GROUP BY 1) s`)
	if err != nil {
		return err
	}
	types := map[string]int64{}
	var ext *extent
	for rows.Next() {
		var gt string
		var n int64
		var e extent
		if err := rows.Scan(&gt, &n, &e.xmin, &e.ymin, &e.xmax, &e.ymax); err != nil {
			return err
		}
		types[strings.TrimPrefix(gt, "ST_")] = n
		ext = ext.union(e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := im.checkCRS(ctx, ext); err != nil {
		return err
	}

	t := &layers.Layer{}
	if im.existing != nil {
		*t = *im.existing
		t.Fields = slices.Clone(im.existing.Fields)
	} else {
		t.ID = im.opt.Collection
		t.Table = strings.ReplaceAll(im.opt.Collection, "-", "_")
		t.GeomColumn, t.IDColumn = "geom", "fid"
		t.SRID = im.srcSRID
		t.MinZoom, t.MaxZoom = 0, 22
		t.Title = im.opt.Collection
	}
	mergeDefinition(t, im.opt.Definition)
	if t.SRID == 0 {
		t.SRID = im.srcSRID
	}

	// Geometry type: one family per layer; polygons and lines are stored as Multi*.
	fileType, err := familyOf(types)
	if err != nil {
		return &ValidationError{Source: im.rep.Source, Count: 1, Problems: []Problem{{Reason: err.Error()}}}
	}
	// A layer keeps its geometry type: a file of another type is a mistake, not a redefinition.
	if im.existing == nil || t.GeomType == "" {
		t.GeomType = fileType
	}
	if family(t.GeomType) != family(fileType) && fileType != "" {
		return im.wrongType(ctx, t.GeomType)
	}
	if t.GeomType == "Point" && types["MultiPoint"] > 0 {
		t.GeomType = "MultiPoint"
	}

	// Field types: the registry's for known fields, inferred from the values for new ones.
	inferred := im.profile.types()
	im.columns = map[string]string{}
	known := map[string]bool{}
	for _, f := range t.Fields {
		known[f.Name] = true
	}
	order := keyOrder(im.src.Keys(), inferred)
	for _, k := range order {
		col := columnName(k)
		im.columns[k] = col
		if !known[col] {
			t.Fields = append(t.Fields, layers.Field{Name: col, Type: inferred[k]})
			known[col] = true
		}
	}
	// Known fields keep their registered type (values that do not fit are refused); a field
	// is never dropped by an import, so a file lacking a required field fails validation.
	for i := range t.Fields {
		if t.Fields[i].Type == "" {
			t.Fields[i].Type = "string"
			if ty, ok := inferred[t.Fields[i].Name]; ok {
				t.Fields[i].Type = ty
			}
		}
		if _, ok := im.columns[t.Fields[i].Name]; !ok {
			im.columns[t.Fields[i].Name] = t.Fields[i].Name
		}
	}
	if im.rep.Mode == "upsert" {
		if _, ok := t.Field(im.opt.Key); !ok {
			return &ValidationError{Source: im.rep.Source, Count: 1, Problems: []Problem{{Field: im.opt.Key, Reason: "the upsert key is not a field of the layer or the file"}}}
		}
	}
	im.target = t
	im.rep.GeometryType = t.GeomType
	im.rep.CRS = fmt.Sprintf("EPSG:%d", im.srcSRID)
	im.rep.StorageCRS = fmt.Sprintf("EPSG:%d", t.SRID)
	return nil
}

func (im *importer) wrongType(ctx context.Context, want string) error {
	rows, err := im.tx.Query(ctx, `SELECT n, ST_GeometryType(geom), count(*) OVER () FROM hub_stage
		WHERE geom IS NOT NULL AND NOT (ST_GeometryType(geom) = ANY ($1)) ORDER BY n LIMIT $2`, familyTypes(want), maxProblems)
	if err != nil {
		return err
	}
	ve := &ValidationError{Source: im.rep.Source}
	for rows.Next() {
		var n int64
		var gt string
		if err := rows.Scan(&n, &gt, &ve.Count); err != nil {
			return err
		}
		ve.Problems = append(ve.Problems, Problem{Feature: n, Reason: fmt.Sprintf("geometry is a %s; layer %s holds %s geometries", strings.TrimPrefix(gt, "ST_"), im.opt.Collection, want)})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return ve
}

func familyTypes(t string) []string {
	switch family(t) {
	case "point":
		return []string{"ST_Point", "ST_MultiPoint"}
	case "line":
		return []string{"ST_LineString", "ST_MultiLineString"}
	case "polygon":
		return []string{"ST_Polygon", "ST_MultiPolygon"}
	}
	return []string{"ST_GeometryCollection"}
}

func family(t string) string {
	switch t {
	case "Point", "MultiPoint":
		return "point"
	case "LineString", "MultiLineString":
		return "line"
	case "Polygon", "MultiPolygon":
		return "polygon"
	}
	return strings.ToLower(t)
}

func familyOf(types map[string]int64) (string, error) {
	fams := map[string]int64{}
	for t, n := range types {
		fams[family(t)] += n
	}
	switch len(fams) {
	case 0:
		return "", nil
	case 1:
		for f := range fams {
			switch f {
			case "point":
				return "Point", nil
			case "line":
				return "MultiLineString", nil
			case "polygon":
				return "MultiPolygon", nil
			}
			return "", fmt.Errorf("%s geometries cannot be stored in a layer; split them by type", f)
		}
	}
	var parts []string
	for f, n := range fams {
		parts = append(parts, fmt.Sprintf("%d %s", n, f))
	}
	slices.Sort(parts)
	return "", fmt.Errorf("the file mixes geometry types (%s); a layer holds one type: split the file", strings.Join(parts, ", "))
}

// mergeDefinition copies the non-zero parts of d onto t.
func mergeDefinition(t *layers.Layer, d layers.Layer) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&t.Title, d.Title)
	set(&t.TitleEn, d.TitleEn)
	set(&t.Description, d.Description)
	set(&t.EntryID, d.EntryID)
	set(&t.Temporal, d.Temporal)
	set(&t.Attribution, d.Attribution)
	if d.SRID != 0 {
		t.SRID = d.SRID
	}
	if d.MinZoom != 0 || d.MaxZoom != 0 {
		t.MinZoom, t.MaxZoom = d.MinZoom, d.MaxZoom
	}
	if len(d.Fields) > 0 {
		t.Fields = slices.Clone(d.Fields)
	}
}

var reservedColumns = map[string]bool{"fid": true, "geom": true}

// columnName is the column a property is stored in: its own name, unless it clashes with the
// hub's own columns or is too long for PostgreSQL.
func columnName(key string) string {
	if reservedColumns[strings.ToLower(key)] {
		key = "src_" + key
	}
	for len(key) > 63 {
		key = key[:len(key)-1]
	}
	return key
}

func keyOrder(first []string, all map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range first {
		if _, ok := all[k]; ok && !seen[k] {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range all {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// finishReport completes the quality report and keeps it with the new data version.
func (im *importer) finishReport(ctx context.Context) error {
	rep, t := im.rep, im.target
	tbl := pgx.Identifier{"data", t.Table}.Sanitize()
	var e []float64
	err := im.tx.QueryRow(ctx, `SELECT l.feature_count, COALESCE(l.extent, '{}'),
		(SELECT ARRAY[ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x)] FROM (SELECT ST_Extent(geom) x FROM `+tbl+`) s)
		FROM layers l WHERE l.id = $1`, t.ID).Scan(&rep.Total, &rep.ExtentWGS84, &e)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	rep.Extent = e
	// Empty values per field among the imported features.
	rep.Nulls, rep.NullRequired = map[string]int64{}, map[string]int64{}
	for _, f := range t.Fields {
		n := im.profile.emptyCount(im.sourceKey(f.Name))
		if n > 0 {
			rep.Nulls[f.Name] = n
		}
		if f.Required {
			rep.NullRequired[f.Name] = n
		}
	}
	if rep.Checksum == "" {
		rep.Checksum = fileChecksum(rep.Source, im.src)
	}
	rep.DurationMS = time.Since(rep.Started).Milliseconds()
	_, err = im.tx.Exec(ctx, `INSERT INTO imports (layer_id, data_version, started_at, source, format, mode, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, rep.DataVersion, rep.Started, rep.Source, rep.Format, rep.Mode, rep)
	return err
}

// fileChecksum hashes the files a reader read when it could not do so while reading.
func fileChecksum(name string, src Source) string {
	fs, ok := src.(interface{ Files() []string })
	if !ok {
		return ""
	}
	h := sha256.New()
	for _, p := range fs.Files() {
		f, err := os.Open(p)
		if err != nil {
			return ""
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return ""
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// extent is a bounding box of raw coordinates.
type extent struct{ xmin, ymin, xmax, ymax float64 }

func (e *extent) union(o extent) *extent {
	if e == nil {
		return &o
	}
	return &extent{min(e.xmin, o.xmin), min(e.ymin, o.ymin), max(e.xmax, o.xmax), max(e.ymax, o.ymax)}
}
