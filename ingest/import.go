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
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/unicode/norm"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/relations"
)

// Options say where and how a file is imported.
type Options struct {
	Collection string // layer or record collection id
	Mode       string // replace (default), append or upsert
	// Key is the upsert key field; for a collection with a key field (Definition.KeyField or
	// the registry's) it defaults to that.
	Key        string
	SRID       int  // the file's CRS when it does not say, or to override what it says
	FixInvalid bool // repair invalid geometries with ST_MakeValid instead of refusing them
	// Records imports the file as a record collection (items without geometry): any geometry
	// the file has is ignored. Definition.ItemType = layers.Record says the same. Without
	// either, a collection that the registry holds as records still takes records, but a
	// file with geometry is then refused rather than silently stripped.
	Records bool
	// Definition describes the collection: titles, entry, fields' metadata, for a record
	// collection its ItemType (layers.Record) and natural key (KeyField: unique and never
	// empty). Zero fields keep what the registry has (or, for a new collection, take defaults
	// from the file).
	Definition layers.Layer
	// Category overrides the entry's sharing categories for the whole layer (e.g. "open").
	Category string
	// Progress, when set, is called with the number of features read so far.
	Progress func(n int64)
	// Sync, with mode "sync", makes the import a synchronisation with a source system: see Sync.
	Sync *Sync
}

var validID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Import reads src into the collection opt.Collection — a layer, or a record collection (see
// Options.Records). It either commits the whole file, bumping the collection's data version,
// rebuilding the joined layers made from it and keeping a quality report, or changes nothing.
func Import(ctx context.Context, pool *pgxpool.Pool, src Source, name string, opt Options) (*Report, error) {
	rep := &Report{Layer: opt.Collection, Source: filepath.Base(name), Format: src.Format(), Mode: opt.Mode, Started: time.Now()}
	if rep.Mode == "" {
		rep.Mode = "replace"
	}
	if !validID.MatchString(opt.Collection) || len(opt.Collection) > 40 {
		return nil, fmt.Errorf("collection id %q: use lower-case letters, digits and hyphens (e.g. land-parcels)", opt.Collection)
	}
	switch rep.Mode {
	case "replace", "append", "upsert":
	case "sync":
		if opt.Sync == nil || opt.Sync.Key == "" {
			return nil, errors.New("mode sync is for sources: it needs the source's key")
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
	// The key checks group a million keys; in memory that is one pass.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
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
	// Records are what the caller says (--records, a record definition) or what the registry
	// holds; a layer never turns into a record collection or back.
	asRecords := opt.Records || opt.Definition.ItemType == layers.Record
	if reg != nil && !reg.IsRecord() && asRecords {
		return nil, fmt.Errorf("collection %s is a layer with geometry (%s); records cannot replace or join its features: import them into a new collection, or delete the layer first",
			opt.Collection, reg.GeomType)
	}
	if reg != nil && reg.IsRecord() && opt.Definition.ItemType == layers.Feature {
		return nil, fmt.Errorf("collection %s holds records without geometry; a layer cannot replace them: import the layer into a new collection, or delete the records first", opt.Collection)
	}
	if rep.Mode == "upsert" && opt.Key == "" && opt.Definition.KeyField == "" && (reg == nil || reg.KeyField == "") {
		return nil, errors.New("--mode upsert needs --key FIELD: the field that identifies a feature (a record collection's --key-field serves)")
	}
	im := &importer{tx: tx, src: src, opt: opt, rep: rep, existing: reg,
		records: asRecords || reg != nil && reg.IsRecord(), dropGeometry: asRecords}
	rep.ItemType = layers.Feature
	if im.records {
		rep.ItemType = layers.Record
	}
	phases := []struct {
		name string
		run  func(context.Context) error
	}{
		{"read and copy", im.stage},
		{"plan", im.plan},
		{"validate", im.validate},
		{"write", im.apply},
		{"version", im.version},
		// Joined layers built from this collection (enterprises per commune) are rebuilt in
		// the same transaction, so no reader sees figures of other data than the records.
		{"joined layers", func(ctx context.Context) error {
			if !im.changed {
				return nil
			}
			ids, err := relations.Refresh(ctx, tx, opt.Collection)
			if len(ids) > 0 {
				rep.Notes = append(rep.Notes, "joined layers rebuilt — lớp kết hợp được dựng lại: "+strings.Join(ids, ", "))
			}
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
	if opt.Sync != nil && opt.Sync.BeforeCommit != nil {
		if err := opt.Sync.BeforeCommit(ctx, tx, rep); err != nil {
			return nil, err
		}
	}
	// A deadline reached now fails the import; once the commit is sent it is not interrupted,
	// so that what the caller is told is what happened.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if err := tx.Commit(commitCtx); err != nil {
		if commitCtx.Err() != nil {
			return nil, fmt.Errorf("commit import: the database did not answer in 5 minutes, so whether it applied is unknown; "+
				"the collection's data version tells, and a sync's next run applies whatever differs: %w", err)
		}
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
	// records: the collection holds records (no geometry); dropGeometry: the caller said so,
	// and geometry in the file is ignored rather than refused.
	records, dropGeometry bool

	problems []Problem
	nProbs   int64
	profile  *profile // property kinds and empty counts, learnt while reading
	// Items read with a geometry, with a geometry that could not be read, and the first of
	// either.
	geoms, geomProblems, firstGeom int64
	maxN                           int64 // the greatest feature number, the last fid of a replace
	srcSRID                        int
	target                         *layers.Layer
	columns                        map[string]string // property key → column name
	// changed: the write changed the collection (always, but for a sync that found nothing
	// to change); grown: a sync's written extent in WGS 84.
	changed bool
	grown   []float64
}

// version gives the collection its new data version: a replacing one for a file import or a
// first sync, an itemised one for a sync's changes, none when a sync changed nothing.
func (im *importer) version(ctx context.Context) (err error) {
	id := im.opt.Collection
	switch {
	case im.opt.Sync == nil || im.existing == nil:
		im.rep.DataVersion, err = layers.Bump(ctx, im.tx, id)
		return err
	case !im.changed:
		return im.tx.QueryRow(ctx, `SELECT data_version FROM layers WHERE id = $1`, id).Scan(&im.rep.DataVersion)
	}
	if im.rep.DataVersion, err = layers.BumpChanged(ctx, im.tx, id, im.rep.Inserted-im.rep.Deleted, im.grown); err != nil {
		return err
	}
	return im.logChanges(ctx)
}

func (im *importer) problem(p Problem) {
	im.nProbs++
	if len(im.problems) < maxProblems {
		im.problems = append(im.problems, p)
	}
}

// refuse is the error of a file refused for problems found before validation.
func (im *importer) refuse(problems ...Problem) error {
	return &ValidationError{Source: im.rep.Source, Count: int64(len(problems)), Problems: problems, Records: im.records}
}

// located adds the spreadsheet cell to a problem of a row of a sheet, whose Line is the row
// of the sheet.
func (im *importer) located(p Problem, key string) Problem {
	if cs, ok := im.src.(cellSource); ok && p.Line > 0 {
		p.Cell = cs.cell(key, p.Line)
		p.sheetRow = p.Cell == ""
	}
	return p
}

// cellSource is a spreadsheet: it names the cell holding a key's value in a sheet row.
type cellSource interface {
	cell(key string, row int64) string
}

// stage COPYs the file into a temporary table (feature number, line, geometry, properties).
func (im *importer) stage(ctx context.Context) error {
	if _, err := im.tx.Exec(ctx, `CREATE TEMP TABLE hub_stage (n bigint NOT NULL, line bigint, bad boolean NOT NULL, geom geometry, props jsonb NOT NULL) ON COMMIT DROP`); err != nil {
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
			for i := range b {
				f := &b[i]
				im.maxN = max(im.maxN, f.N)
				if f.WKB != nil || f.GeometryProblem {
					if f.WKB != nil {
						im.geoms++
					} else {
						im.geomProblems++
					}
					if im.firstGeom == 0 || f.N < im.firstGeom {
						im.firstGeom = f.N
					}
				}
				if im.records {
					// Records have no geometry: what the file has is ignored (or, without
					// --records, refused once the file is read).
					f.WKB = nil
					if f.GeometryProblem {
						f.Problem, f.GeometryProblem, f.Column = "", false, ""
					}
				}
				if f.Problem != "" {
					im.problem(im.located(Problem{Feature: f.N, Line: f.Line, Field: f.Column, Reason: f.Problem}, f.Column))
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
	readFailed := func(err error) error {
		var re *rowError
		if errors.As(err, &re) {
			return im.refuse(im.located(re.p, re.p.Field))
		}
		return fmt.Errorf("%s: %w", im.rep.Source, err)
	}
	n, err := im.tx.CopyFrom(ctx, pgx.Identifier{"hub_stage"}, []string{"n", "line", "bad", "geom", "props"}, &copySource{batches: batches, progress: im.opt.Progress})
	if err != nil {
		cancel()
		if rerr := <-readErr; rerr != nil && !errors.Is(rerr, context.Canceled) {
			return readFailed(rerr)
		}
		return fmt.Errorf("copy %s: %w", im.rep.Source, err)
	}
	if err := <-readErr; err != nil {
		return readFailed(err)
	}
	im.rep.Features = n
	im.rep.Format = im.src.Format() // a reader may learn its format from the content
	// A sync of an existing collection may find no change at all.
	if n == 0 && (im.opt.Sync == nil || im.existing == nil) {
		what := "features"
		if im.records {
			what = "records"
		}
		return im.refuse(Problem{Reason: "the file has no " + what})
	}
	if im.records && im.geoms+im.geomProblems > 0 {
		if !im.dropGeometry {
			return im.refuse(Problem{Feature: im.firstGeom, Reason: fmt.Sprintf(
				"the file has geometries (%d items), but %s is a record collection, without geometry: import it with --records to leave the geometry out",
				im.geoms+im.geomProblems, im.opt.Collection)})
		}
		im.rep.GeometryIgnored = im.geoms + im.geomProblems
		im.rep.Notes = append(im.rep.Notes, fmt.Sprintf("the geometry of %d items was left out: the collection holds records — hình học của %d bản ghi được bỏ qua", im.rep.GeometryIgnored, im.rep.GeometryIgnored))
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
	var g, line any
	if f.WKB != nil {
		g = f.WKB
	}
	if f.Line > 0 {
		line = f.Line
	}
	return []any{f.N, line, f.Problem != "", g, f.Props}, nil
}

func (c *copySource) Err() error { return nil }

// plan decides the target collection: for a layer its SRID and geometry type, and the type
// of every field.
func (im *importer) plan(ctx context.Context) error {
	var types map[string]int64
	if !im.records {
		var err error
		if types, err = im.planGeometry(ctx); err != nil {
			return err
		}
	}

	t := &layers.Layer{}
	if im.existing != nil {
		*t = *im.existing
		t.Fields = slices.Clone(im.existing.Fields)
	} else {
		t.ID = im.opt.Collection
		t.Table = strings.ReplaceAll(im.opt.Collection, "-", "_")
		t.IDColumn = "fid"
		t.MinZoom, t.MaxZoom = 0, 22
		t.Title = im.opt.Collection
		t.ItemType = layers.Feature
		if !im.records {
			t.GeomColumn = "geom"
			t.SRID = im.srcSRID
		}
	}
	mergeDefinition(t, im.opt.Definition)
	if im.records {
		t.ItemType = layers.Record
		t.GeomColumn, t.GeomType, t.WebColumn, t.SRID = "", "", "", 0
	} else if err := im.planGeometryType(ctx, t, types); err != nil {
		return err
	}

	// Field types: the registry's for known fields, inferred from the values for new ones.
	inferred := im.profile.types()
	im.columns = map[string]string{}
	known := map[string]bool{}
	used := map[string]bool{} // columns the file's keys have taken
	for _, f := range t.Fields {
		known[f.Name] = true
	}
	order := keyOrder(im.src.Keys(), inferred)
	// Keys that are their own column name first, so that "ten" keeps its name beside "Tên".
	slices.SortStableFunc(order, func(a, b string) int {
		return cmpBool(known[a] || columnName(a) == a, known[b] || columnName(b) == b)
	})
	for _, k := range order {
		col := k
		if !known[k] {
			col = columnName(k)
			base := col
			for i := 2; used[strings.ToLower(col)]; i++ {
				col = shorten(base, fmt.Sprintf("_%d", i))
			}
		}
		im.columns[k] = col
		used[strings.ToLower(col)] = true
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
			if ty, ok := inferred[im.sourceKey(t.Fields[i].Name)]; ok {
				t.Fields[i].Type = ty
			}
		}
		if _, ok := im.columns[t.Fields[i].Name]; !ok {
			im.columns[t.Fields[i].Name] = t.Fields[i].Name
		}
	}
	if im.records && len(t.Fields) == 0 {
		return im.refuse(Problem{Reason: "the file has no columns: a record needs at least one field"})
	}
	if t.KeyField != "" {
		key, ok := im.resolveField(t, t.KeyField)
		if !ok {
			return im.refuse(Problem{Field: t.KeyField, Reason: "the key field is not a field of the collection nor a column of the file; the fields are: " + fieldNames(t)})
		}
		t.KeyField = key
	}
	if im.opt.Sync != nil {
		im.opt.Key = im.opt.Sync.Key
		if _, ok := t.Field(WithdrawnField); im.opt.Sync.Withdraw && !ok {
			t.Fields = append(t.Fields, layers.Field{Name: WithdrawnField, Type: "datetime", Title: "Rút khỏi nguồn", TitleEn: "Withdrawn from the source"})
		}
	}
	if im.rep.Mode == "upsert" || im.rep.Mode == "sync" {
		if im.opt.Key == "" {
			im.opt.Key = t.KeyField
		}
		if im.opt.Key == "" {
			return errors.New("--mode upsert needs --key FIELD: the field that identifies a feature (a record collection's --key-field serves)")
		}
		key, ok := im.resolveField(t, im.opt.Key)
		if !ok {
			return im.refuse(Problem{Field: im.opt.Key, Reason: "the upsert key is not a field of the layer or the file"})
		}
		im.opt.Key = key
	}
	im.target = t
	im.rep.KeyField = t.KeyField
	if !im.records {
		im.rep.GeometryType = t.GeomType
		im.rep.CRS = fmt.Sprintf("EPSG:%d", im.srcSRID)
		im.rep.StorageCRS = fmt.Sprintf("EPSG:%d", t.SRID)
	}
	return nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// resolveField finds the field name meant: a field of t, or a column of the file by its
// heading ("Mã số thuế" for ma_so_thue).
func (im *importer) resolveField(t *layers.Layer, name string) (string, bool) {
	if _, ok := t.Field(name); ok {
		return name, true
	}
	if col, ok := im.columns[name]; ok {
		return col, true
	}
	if col := columnName(name); col != name {
		if _, ok := t.Field(col); ok {
			return col, true
		}
	}
	return "", false
}

func fieldNames(t *layers.Layer) string {
	names := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// planGeometry finds the file's SRID and the geometry types it holds, and checks that its
// coordinates can be in that system.
func (im *importer) planGeometry(ctx context.Context) (map[string]int64, error) {
	if im.geoms == 0 && im.geomProblems == 0 && im.nProbs == 0 {
		if im.existing == nil {
			return nil, im.refuse(Problem{Reason: fmt.Sprintf("the file has no geometry: none of its %d items has coordinates. "+
				"To load a table without geometry (a register, a list) as a record collection, import it with --records (and --key-field FIELD for its natural key)", im.rep.Features)})
		}
		// Into an existing layer: validation names every feature without geometry.
		im.srcSRID = im.existing.SRID
	}
	if im.srcSRID == 0 {
		im.srcSRID = im.opt.SRID
	}
	if im.srcSRID == 0 {
		im.srcSRID = im.src.SRID()
	}
	if im.srcSRID == 0 {
		return nil, im.refuse(Problem{Reason: "the file does not say its coordinate system; give it with --srs EPSG:N"})
	}
	var sridKnown bool
	if err := im.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM spatial_ref_sys WHERE srid = $1)`, im.srcSRID).Scan(&sridKnown); err != nil {
		return nil, err
	}
	if !sridKnown {
		return nil, im.refuse(Problem{Reason: fmt.Sprintf("EPSG:%d is not a coordinate system this database knows", im.srcSRID)})
	}
	// One pass gives the geometry types and the extent the CRS check needs.
	rows, err := im.tx.Query(ctx, `SELECT t, n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT ST_GeometryType(geom) AS t, count(*) AS n, ST_Extent(geom) AS e FROM hub_stage WHERE geom IS NOT NULL GROUP BY 1) s`)
	if err != nil {
		return nil, err
	}
	types := map[string]int64{}
	var ext *extent
	for rows.Next() {
		var gt string
		var n int64
		var e extent
		if err := rows.Scan(&gt, &n, &e.xmin, &e.ymin, &e.xmax, &e.ymax); err != nil {
			return nil, err
		}
		types[strings.TrimPrefix(gt, "ST_")] = n
		ext = ext.union(e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return types, im.checkCRS(ctx, ext)
}

// planGeometryType decides the layer's geometry type: one family per layer; polygons and
// lines are stored as Multi*.
func (im *importer) planGeometryType(ctx context.Context, t *layers.Layer, types map[string]int64) error {
	if t.SRID == 0 {
		t.SRID = im.srcSRID
	}
	fileType, err := familyOf(types)
	if err != nil {
		return im.refuse(Problem{Reason: err.Error()})
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
	return nil
}

func (im *importer) wrongType(ctx context.Context, want string) error {
	rows, err := im.tx.Query(ctx, `SELECT n, ST_GeometryType(geom), count(*) OVER () FROM hub_stage
		WHERE geom IS NOT NULL AND NOT (ST_GeometryType(geom) = ANY ($1)) ORDER BY n LIMIT $2`, familyTypes(want), maxProblems)
	if err != nil {
		return err
	}
	ve := &ValidationError{Source: im.rep.Source, Records: im.records}
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
	set(&t.KeyField, d.KeyField)
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

var reservedColumns = map[string]bool{"fid": true, "geom": true, "geom_web": true}

// plainName is a property name that is a column name as it is.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// columnName is the column a property is stored in: its own name when that is a plain
// identifier (NAME, so_thua), else an ASCII identifier made from it — Vietnamese without its
// tone marks, lower case, words joined by "_" ("Mã số thuế" → ma_so_thue) — unless it clashes
// with the hub's own columns (src_ prefix) or is too long for PostgreSQL.
func columnName(key string) string {
	if !plainName.MatchString(key) {
		key = asciiName(key)
	}
	if reservedColumns[strings.ToLower(key)] {
		key = "src_" + key
	}
	for len(key) > 63 {
		key = key[:len(key)-1]
	}
	return key
}

// asciiName turns a heading into a lower-case ASCII identifier (compatibility forms are
// decomposed too: m² → m2).
func asciiName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		r = unicode.ToLower(r)
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	name := b.String()
	switch {
	case name == "":
		return "field"
	case name[0] >= '0' && name[0] <= '9':
		return "c_" + name
	}
	return name
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
	// A sync's report does not scan the collection: a small change to a large one stays small.
	if im.records || im.opt.Sync != nil {
		if err := im.tx.QueryRow(ctx, `SELECT feature_count, COALESCE(extent, '{}') FROM layers WHERE id = $1`, t.ID).Scan(&rep.Total, &rep.ExtentWGS84); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	} else {
		var e []float64
		err := im.tx.QueryRow(ctx, `SELECT l.feature_count, COALESCE(l.extent, '{}'),
		(SELECT ARRAY[ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x)] FROM (SELECT ST_Extent(geom) x FROM `+tbl+`) s)
		FROM layers l WHERE l.id = $1`, t.ID).Scan(&rep.Total, &rep.ExtentWGS84, &e)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		rep.Extent = e
	}
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
	if !im.changed {
		return nil // the sync wrote nothing: no new version to report on
	}
	_, err := im.tx.Exec(ctx, `INSERT INTO imports (layer_id, data_version, started_at, source, format, mode, report)
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
