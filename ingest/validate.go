package ingest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/relations"
)

// checkCRS refuses coordinates that cannot be in the declared system: degrees declared as
// VN-2000 metres, latitude/longitude in the wrong order, Northing given as X.
func (im *importer) checkCRS(ctx context.Context, box *extent) error {
	if box == nil {
		return nil // no geometry at all: validation reports each feature
	}
	xmin, ymin, xmax, ymax := &box.xmin, &box.ymin, &box.xmax, &box.ymax
	var geographic, vn2000 bool
	err := im.tx.QueryRow(ctx, `
SELECT srtext LIKE 'GEOGCS%', srtext LIKE '%VN-2000%' OR srtext LIKE '%Vietnam_2000%'
FROM spatial_ref_sys WHERE srid = $1`, im.srcSRID).Scan(&geographic, &vn2000)
	if err != nil {
		return err
	}
	refuse := func(format string, args ...any) error {
		return &ValidationError{Source: im.rep.Source, Count: 1, Problems: []Problem{{Reason: fmt.Sprintf(format, args...)}}}
	}
	ext := fmt.Sprintf("(%.6g %.6g, %.6g %.6g)", *xmin, *ymin, *xmax, *ymax)
	inVietnam := func(lonMin, latMin, lonMax, latMax float64) bool {
		return lonMin >= 100 && lonMax <= 118 && latMin >= 6 && latMax <= 25
	}
	// Coordinates exactly on the antimeridian or a pole often come out of projections a few
	// ulps beyond it (Natural Earth's Russia reaches 180.00000000000006).
	const eps = 1e-9
	if geographic {
		if *xmin < -180-eps || *xmax > 180+eps || *ymin < -90-eps || *ymax > 90+eps {
			if *ymin >= -180 && *ymax <= 180 && *xmin >= -90 && *xmax <= 90 {
				return refuse("coordinates %s are latitude, longitude: EPSG:%d files must give longitude first (GeoJSON always does) — swap the axes", ext, im.srcSRID)
			}
			return refuse("coordinates %s are outside longitude/latitude ranges, so they are not in EPSG:%d; if they are metres (e.g. VN-2000), give --srs EPSG:9209", ext, im.srcSRID)
		}
		if inVietnam(*ymin, *xmin, *ymax, *xmax) && !inVietnam(*xmin, *ymin, *xmax, *ymax) {
			return refuse("coordinates %s look like latitude, longitude of Viet Nam: EPSG:%d files must give longitude first — swap the axes", ext, im.srcSRID)
		}
		return nil
	}
	if *xmin >= -180 && *xmax <= 180 && *ymin >= -90 && *ymax <= 90 {
		return refuse("coordinates %s look like degrees of longitude/latitude, not metres of EPSG:%d; give --srs EPSG:4326 or fix the file's coordinate system", ext, im.srcSRID)
	}
	if !vn2000 {
		return nil
	}
	// VN-2000 data must fall in Viet Nam once transformed; if it does only with the axes
	// swapped, the file gives Northing first (surveyors call Northing "X").
	var lon0, lat0, lon1, lat1, slon0, slat0, slon1, slat1 float64
	err = im.tx.QueryRow(ctx, `
SELECT ST_XMin(a), ST_YMin(a), ST_XMax(a), ST_YMax(a), ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
FROM (SELECT ST_Transform(ST_MakeEnvelope($1, $2, $3, $4, $5), 4326) a,
             ST_Transform(ST_MakeEnvelope($2, $1, $4, $3, $5), 4326) b) s`,
		*xmin, *ymin, *xmax, *ymax, im.srcSRID).Scan(&lon0, &lat0, &lon1, &lat1, &slon0, &slat0, &slon1, &slat1)
	if err != nil {
		return refuse("coordinates %s cannot be transformed from EPSG:%d: %v", ext, im.srcSRID, err)
	}
	if inVietnam(lon0, lat0, lon1, lat1) {
		return nil
	}
	if inVietnam(slon0, slat0, slon1, slat1) {
		return refuse("coordinates %s give Northing before Easting: in EPSG:%d the first coordinate is the Easting (the surveyors' Y) — swap the axes", ext, im.srcSRID)
	}
	return refuse("coordinates %s fall outside Viet Nam in EPSG:%d (%.3f %.3f, %.3f %.3f in WGS 84): check the zone or give the right --srs", ext, im.srcSRID, lon0, lat0, lon1, lat1)
}

// valueExpr converts the property bound at $arg to a field's type. Dates and date-times may
// be ISO (2024-03-15) or Vietnamese (15/03/2024, 15/03/2024 08:30).
func valueExpr(t string, arg int) string {
	if t == "json" {
		return fmt.Sprintf("(props -> $%d)", arg)
	}
	e := fmt.Sprintf("(props ->> $%d)", arg)
	switch t {
	case "string":
		return e
	case "date":
		return fmt.Sprintf(`CASE WHEN strpos(%[1]s, '/') > 0 THEN to_date(%[1]s, 'DD/MM/YYYY') ELSE NULLIF(%[1]s, '')::date END`, e)
	case "datetime":
		return fmt.Sprintf(`CASE WHEN strpos(%[1]s, '/') > 0 THEN to_timestamp(%[1]s, 'DD/MM/YYYY HH24:MI:SS') ELSE NULLIF(%[1]s, '')::timestamptz END`, e)
	}
	return fmt.Sprintf("NULLIF(%s, '')::%s", e, layers.SQLType(t))
}

// typePattern is what the text of a value of type t must look like to convert.
var typePattern = map[string]string{
	"integer": `^\s*-?[0-9]{1,18}\s*$`,
	"number":  `^\s*-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$`,
	"boolean": `^(true|false|t|f|yes|no|y|n|1|0)$`,
}

// typeHint follows a refused value of a type with the forms the type takes.
var typeHint = map[string]string{
	"date":     " (write 2024-03-15 or 15/03/2024)",
	"datetime": " (write 2024-03-15 08:30, 2024-03-15T08:30:00+07:00 or 15/03/2024 08:30)",
}

// dateFunctions check, without failing on the first bad one, that date and date-time texts
// are real days (not 31/02/2020) in a form valueExpr converts.
const dateFunctions = `
CREATE OR REPLACE FUNCTION pg_temp.hub_ymd_ok(y int, m int, d int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF y < 1 OR m < 1 OR m > 12 OR d < 1 THEN
        RETURN false;
    END IF;
    RETURN d <= extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day');
END $$;
CREATE OR REPLACE FUNCTION pg_temp.hub_date_ok(v text, with_time boolean) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    p text[];
BEGIN
    p := regexp_match(v, '^\s*([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(.*)$');
    IF p IS NOT NULL THEN
        IF NOT pg_temp.hub_ymd_ok(p[1]::int, p[2]::int, p[3]::int) THEN
            RETURN false;
        END IF;
        RETURN p[4] ~ '^\s*$' OR with_time AND p[4] ~ '^[T ]([01]?[0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?\s*$';
    END IF;
    -- Vietnamese day/month/year, with a time of day for a date-time.
    p := regexp_match(v, '^\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(.*)$');
    IF p IS NULL OR NOT pg_temp.hub_ymd_ok(p[3]::int, p[2]::int, p[1]::int) THEN
        RETURN false;
    END IF;
    RETURN p[4] ~ '^\s*$' OR with_time AND p[4] ~ '^ +([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?\s*$';
END $$;`

// sourceKey is the property key that fills column col.
func (im *importer) sourceKey(col string) string {
	for k, c := range im.columns {
		if c == col && k != col {
			return k
		}
	}
	return col
}

// validate runs every check on the staged features in SQL and refuses the import with the
// first problems and their count when any fails.
func (im *importer) validate(ctx context.Context) error {
	var parts []string
	args := []any{}
	arg := func(v any) int { args = append(args, v); return len(args) }
	t := im.target

	if !im.records {
		parts = append(parts, `SELECT n, NULL::text AS field, 'no geometry' AS reason FROM hub_stage WHERE geom IS NULL AND NOT bad`)
		parts = append(parts, `SELECT n, NULL, 'empty geometry' FROM hub_stage WHERE ST_IsEmpty(geom)`)
		if !im.opt.FixInvalid {
			parts = append(parts, `SELECT n, NULL, 'invalid geometry: ' || ST_IsValidReason(geom) || ' (use --fix-invalid to repair)' FROM hub_stage WHERE geom IS NOT NULL AND NOT ST_IsValid(geom)`)
		}
	}
	inferred := im.profile.types()
	dates := false
	for _, f := range t.Fields {
		key := im.sourceKey(f.Name)
		it, seen := inferred[key]
		isDate := f.Type == "date" || f.Type == "datetime"
		needsType := seen && !compatible(it, f.Type) && (typePattern[f.Type] != "" || isDate)
		if !f.Required && f.CodeList == "" && !needsType {
			continue
		}
		k := arg(key)
		fname := arg(f.Name)
		if f.Required {
			parts = append(parts, fmt.Sprintf(`SELECT n, $%d, 'required value is missing' FROM hub_stage WHERE COALESCE(props ->> $%d, '') = ''`, fname, k))
		}
		if f.CodeList != "" {
			l := arg(f.CodeList)
			parts = append(parts, fmt.Sprintf(`SELECT n, $%[1]d, format('code %%L is not in the %%s code list', props ->> $%[2]d, $%[3]d::text)
FROM hub_stage WHERE COALESCE(props ->> $%[2]d, '') <> ''
  AND NOT EXISTS (SELECT FROM code_lists c WHERE c.list = $%[3]d AND c.code = props ->> $%[2]d)`, fname, k, l))
		}
		if needsType {
			valid := ""
			if isDate {
				dates = true
				valid = fmt.Sprintf(`pg_temp.hub_date_ok(props ->> $%d, %t)`, k, f.Type == "datetime")
			} else {
				valid = fmt.Sprintf(`lower(props ->> $%d) ~ $%d`, k, arg(typePattern[f.Type]))
			}
			parts = append(parts, fmt.Sprintf(`SELECT n, $%[1]d, format('value %%s is not of type %%s%%s', props -> $%[2]d, $%[3]d::text, $%[4]d::text)
FROM hub_stage WHERE COALESCE(props ->> $%[2]d, '') <> '' AND NOT (%[5]s)`, fname, k, arg(f.Type), arg(typeHint[f.Type]), valid))
		}
	}
	if t.KeyField != "" {
		k := arg(im.sourceKey(t.KeyField))
		parts = append(parts, fmt.Sprintf(`SELECT n, $%[2]d, 'the key is empty: every item needs its own key' FROM hub_stage WHERE COALESCE(btrim(props ->> $%[1]d), '') = ''`, k, arg(t.KeyField)))
	}
	if im.rep.Mode == "upsert" && im.opt.Key != t.KeyField {
		k := arg(im.sourceKey(im.opt.Key))
		fname := arg(im.opt.Key)
		parts = append(parts, fmt.Sprintf(`SELECT n, $%[2]d, 'the upsert key is missing' FROM hub_stage WHERE COALESCE(props ->> $%[1]d, '') = ''`, k, fname))
		parts = append(parts, fmt.Sprintf(`SELECT n, $%[2]d, format('key %%s repeats feature %%s', v, first) FROM (
  SELECT n, props ->> $%[1]d AS v, min(n) OVER (PARTITION BY props ->> $%[1]d) AS first FROM hub_stage) d
WHERE v IS NOT NULL AND n <> first`, k, fname))
	}
	if dates {
		if _, err := im.tx.Exec(ctx, dateFunctions); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
	}
	if im.opt.Sync != nil {
		if err := im.reject(ctx, parts, args); err != nil {
			return err
		}
		if im.opt.FixInvalid && !im.records {
			return im.repair(ctx)
		}
		return nil
	}
	if len(parts) > 0 {
		if err := im.runChecks(ctx, parts, args); err != nil {
			return err
		}
	}
	// Repeated keys are left to the key's unique index, which the write builds anyway (a
	// grouping pass here would cost a million-record import seconds): only a file refused for
	// other reasons is searched for them now, so that its report is complete.
	if im.nProbs > 0 && t.KeyField != "" {
		if err := im.keyDiagnostics(ctx); err != nil {
			return err
		}
	}
	if im.nProbs > 0 {
		slices.SortStableFunc(im.problems, func(a, b Problem) int { return int(a.Feature - b.Feature) })
		if len(im.problems) > maxProblems {
			im.problems = im.problems[:maxProblems]
		}
		return &ValidationError{Source: im.rep.Source, Problems: im.problems, Count: im.nProbs, Records: im.records}
	}
	if im.opt.FixInvalid && !im.records {
		return im.repair(ctx)
	}
	return nil
}

// runChecks runs the checks' union, adding what it finds to the problems.
func (im *importer) runChecks(ctx context.Context, parts []string, args []any) error {
	// The first, empty, part types the columns for the parameters of the others.
	parts = append([]string{`SELECT NULL::bigint AS n, NULL::text AS field, NULL::text AS reason WHERE false`}, parts...)
	sql := `WITH p AS (` + strings.Join(parts, "\nUNION ALL\n") + `),
top AS (SELECT n, COALESCE(field, '') AS field, reason, count(*) OVER () AS total FROM p ORDER BY n, field LIMIT ` + fmt.Sprint(maxProblems) + `)
SELECT top.n, COALESCE(s.line, 0), top.field, top.reason, top.total
FROM top LEFT JOIN LATERAL (SELECT line FROM hub_stage WHERE n = top.n LIMIT 1) s ON true ORDER BY top.n, top.field`
	rows, err := im.tx.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	var sqlCount int64
	for rows.Next() {
		var p Problem
		if err := rows.Scan(&p.Feature, &p.Line, &p.Field, &p.Reason, &sqlCount); err != nil {
			return err
		}
		im.problems = append(im.problems, im.located(p, im.sourceKey(p.Field)))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	im.nProbs += sqlCount
	return nil
}

// keyDiagnostics looks for what breaks the uniqueness of the key field: keys repeated in the
// file and, when appending, keys already in the collection. It adds them to the problems.
func (im *importer) keyDiagnostics(ctx context.Context) error {
	t := im.target
	args := []any{im.sourceKey(t.KeyField), t.KeyField}
	parts := []string{
		// One problem per repeated value, naming its first rows; the grouping pass finds the
		// values, the second looks only for those.
		`SELECT rows[2], $2, format('key %L is not unique: rows %s%s', v, array_to_string(rows[1:5], ', '),
       CASE WHEN cardinality(rows) > 5 THEN format(' and %s more', cardinality(rows) - 5) ELSE '' END)
FROM (SELECT props ->> $1 AS v, array_agg(n ORDER BY n) AS rows FROM hub_stage
      WHERE props ->> $1 IN (SELECT props ->> $1 FROM hub_stage WHERE COALESCE(btrim(props ->> $1), '') <> ''
                             GROUP BY 1 HAVING count(*) > 1)
      GROUP BY 1) d`,
	}
	// Keys already in the collection, when appending (an upsert updates those).
	if im.existing == nil || im.rep.Mode != "append" {
		return im.runChecks(ctx, parts, args)
	}
	if _, ok := im.existing.Field(t.KeyField); ok {
		parts = append(parts, `SELECT s.n, $2, format('key %L is already in the collection (fid %s): use --mode upsert to update it', s.v, c.fid)
FROM (SELECT n, props ->> $1 AS v FROM hub_stage) s JOIN `+pgx.Identifier{"data", t.Table}.Sanitize()+` c ON c.`+pgx.Identifier{t.KeyField}.Sanitize()+`::text = s.v`)
	}
	return im.runChecks(ctx, parts, args)
}

// compatible reports whether values inferred as type from always convert to type to.
func compatible(from, to string) bool {
	return from == to || to == "string" || to == "json" ||
		to == "number" && from == "integer" || to == "datetime" && from == "date"
}

// repair makes invalid geometries valid, keeping only parts of the layer's dimension, and
// notes what it changed.
func (im *importer) repair(ctx context.Context) error {
	dim := map[string]int{"point": 1, "line": 2, "polygon": 3}[family(im.target.GeomType)]
	rows, err := im.tx.Query(ctx, `
WITH bad AS (
    SELECT n, ST_IsValidReason(geom) AS reason, ST_Area(geom) AS area_before, ST_NPoints(geom) AS points_before
    FROM hub_stage WHERE geom IS NOT NULL AND NOT ST_IsValid(geom))
UPDATE hub_stage s SET geom = ST_CollectionExtract(ST_MakeValid(s.geom), $1)
FROM bad WHERE s.n = bad.n
RETURNING s.n, bad.reason, ST_IsEmpty(s.geom), bad.area_before, ST_Area(s.geom), bad.points_before, ST_NPoints(s.geom)`, dim)
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	var fixed []Problem
	var collapsed []Problem
	for rows.Next() {
		var n int64
		var reason string
		var empty bool
		var areaBefore, areaAfter float64
		var ptsBefore, ptsAfter int
		if err := rows.Scan(&n, &reason, &empty, &areaBefore, &areaAfter, &ptsBefore, &ptsAfter); err != nil {
			return err
		}
		if empty {
			collapsed = append(collapsed, Problem{Feature: n, Reason: "invalid geometry (" + reason + ") collapses to nothing when repaired"})
			continue
		}
		change := fmt.Sprintf("%s; repaired with ST_MakeValid: %d → %d vertices", reason, ptsBefore, ptsAfter)
		if dim == 3 {
			change += fmt.Sprintf(", area %.6g → %.6g", areaBefore, areaAfter)
		}
		fixed = append(fixed, Problem{Feature: n, Reason: change})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(collapsed) > 0 {
		return &ValidationError{Source: im.rep.Source, Problems: collapsed[:min(len(collapsed), maxProblems)], Count: int64(len(collapsed))}
	}
	slices.SortFunc(fixed, func(a, b Problem) int { return int(a.Feature - b.Feature) })
	im.rep.Invalid, im.rep.RepairedN = int64(len(fixed)), int64(len(fixed))
	im.rep.Repaired = fixed[:min(len(fixed), maxProblems)]
	return nil
}

// geomExpr turns a staged geometry into the layer's SRID and type.
func (im *importer) geomExpr() string {
	g := fmt.Sprintf("ST_SetSRID(geom, %d)", im.srcSRID)
	if im.srcSRID != im.target.SRID {
		g = fmt.Sprintf("ST_Transform(%s, %d)", g, im.target.SRID)
	}
	if strings.HasPrefix(im.target.GeomType, "Multi") {
		g = "ST_Multi(" + g + ")"
	}
	return g
}

// apply writes the staged features into the collection's table according to the mode. When
// the key turns out not to be unique, it says where instead of failing with the index's error.
func (im *importer) apply(ctx context.Context) error {
	sp, err := im.tx.Begin(ctx) // a savepoint, to look at the staged data after a failure
	if err != nil {
		return err
	}
	err = im.write(ctx)
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || (pe.Code != "23505" && pe.Code != "21000") || im.target.KeyField == "" {
		if err != nil {
			return err
		}
		return sp.Commit(ctx)
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return rerr
	}
	if derr := im.keyDiagnostics(ctx); derr != nil {
		return derr
	}
	if im.nProbs == 0 {
		im.problem(Problem{Field: im.target.KeyField, Reason: "the key is not unique: " + pe.Message + " " + pe.Detail})
	}
	return &ValidationError{Source: im.rep.Source, Problems: im.problems, Count: im.nProbs, Records: im.records}
}

// write writes the staged features.
func (im *importer) write(ctx context.Context) error {
	t := im.target
	if !im.records && (im.existing == nil || im.rep.Mode == "replace") {
		t.WebColumn = "geom_web" // replace builds the table with it
	}
	// A sync that brings no new field leaves the definition alone: saving it would rewrite
	// the registry's rows and tell every hub process to reload, at every run.
	if im.rep.Mode != "sync" || im.existing == nil || im.opt.Category != "" || !reflect.DeepEqual(*t, *im.existing) {
		if err := layers.Save(ctx, im.tx, t, im.opt.Category); err != nil {
			return err
		}
	}
	tbl := pgx.Identifier{"data", t.Table}.Sanitize()
	var cols, exprs []string
	if !im.records {
		cols, exprs = []string{pgx.Identifier{"geom"}.Sanitize()}, []string{im.geomExpr()}
	}
	var args []any
	var defs []string
	for _, f := range t.Fields {
		args = append(args, im.sourceKey(f.Name))
		col := pgx.Identifier{f.Name}.Sanitize()
		cols = append(cols, col)
		exprs = append(exprs, valueExpr(f.Type, len(args)))
		defs = append(defs, col+" "+layers.SQLType(f.Type))
	}
	if im.existing == nil || im.rep.Mode == "replace" {
		if err := im.replace(ctx, tbl, defs, cols, exprs, args); err != nil {
			return err
		}
		im.changed = true
		return im.indexes(ctx, tbl)
	}
	if im.rep.Mode == "sync" {
		if err := im.merge(ctx, tbl, defs, cols, exprs, args); err != nil {
			return err
		}
		return im.indexes(ctx, tbl)
	}
	im.changed = true
	for _, d := range defs {
		if _, err := im.tx.Exec(ctx, `ALTER TABLE `+tbl+` ADD COLUMN IF NOT EXISTS `+d); err != nil {
			return fmt.Errorf("add field: %w", err)
		}
	}
	insert := `INSERT INTO ` + tbl + ` (` + strings.Join(cols, ", ") + `) SELECT ` + strings.Join(exprs, ", ") + ` FROM hub_stage`
	if im.rep.Mode == "upsert" {
		key := pgx.Identifier{im.opt.Key}.Sanitize()
		if err := im.uniqueIndex(ctx, tbl, im.opt.Key, "the layer already holds repeated values of this key, so it cannot be an upsert key"); err != nil {
			return err
		}
		var sets []string
		for _, c := range cols {
			sets = append(sets, c+" = EXCLUDED."+c)
		}
		insert += ` ON CONFLICT (` + key + `) DO UPDATE SET ` + strings.Join(sets, ", ")
	}
	err := im.tx.QueryRow(ctx, `WITH w AS (`+insert+` RETURNING (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w`, args...).Scan(&im.rep.Inserted, &im.rep.Updated)
	if err != nil {
		return fmt.Errorf("write %s: %w", t.ID, err)
	}
	return im.indexes(ctx, tbl)
}

// uniqueIndex makes sure field has a unique index (named after table and field, the name an
// upsert key's index has always had). The key field's failure is left to apply to explain.
func (im *importer) uniqueIndex(ctx context.Context, tbl, field, why string) error {
	idx := pgx.Identifier{shorten(im.target.Table+"_"+field, "_key")}.Sanitize()
	_, err := im.tx.Exec(ctx, `CREATE UNIQUE INDEX IF NOT EXISTS `+idx+` ON `+tbl+` (`+pgx.Identifier{field}.Sanitize()+`)`)
	switch {
	case err == nil:
		return nil
	case field == im.target.KeyField:
		return fmt.Errorf("%s: %w", why, err)
	}
	return im.refuse(Problem{Field: field, Reason: why + ": " + err.Error()})
}

// indexes gives the written table its key's unique index and its linked fields' indexes.
func (im *importer) indexes(ctx context.Context, tbl string) error {
	t := im.target
	if t.KeyField != "" {
		if err := im.uniqueIndex(ctx, tbl, t.KeyField, "the collection already holds repeated values of its key"); err != nil {
			return err
		}
	}
	if im.opt.Key != "" && im.opt.Key != t.KeyField {
		if err := im.uniqueIndex(ctx, tbl, im.opt.Key, "the layer already holds repeated values of this key, so it cannot be an upsert key"); err != nil {
			return err
		}
	}
	return relations.IndexLinks(ctx, im.tx, t)
}

// replace builds the new table beside the old one and swaps it in, so that readers of the
// collection see the old data until the import commits and never wait during the load.
func (im *importer) replace(ctx context.Context, tbl string, defs, cols, exprs []string, args []any) error {
	t := im.target
	next := t.Table + "__new"
	nextTbl := pgx.Identifier{"data", next}.Sanitize()
	geomDefs := ""
	if !im.records {
		geomDefs = `, geom geometry(` + t.GeomType + `, ` + fmt.Sprint(t.SRID) + `) NOT NULL` +
			`, geom_web geometry(` + t.GeomType + `, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED`
	}
	stmts := []string{
		`DROP TABLE IF EXISTS ` + nextTbl,
		`CREATE TABLE ` + nextTbl + ` (fid bigint GENERATED BY DEFAULT AS IDENTITY` + geomDefs + prefixed(", ", defs) + `)`,
	}
	for _, s := range stmts {
		if _, err := im.tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("create table for %s: %w", t.ID, err)
		}
	}
	tag, err := im.tx.Exec(ctx, `INSERT INTO `+nextTbl+` (fid`+prefixed(", ", cols)+`) SELECT n`+prefixed(", ", exprs)+` FROM hub_stage`, args...)
	if err != nil {
		return fmt.Errorf("write %s: %w", t.ID, err)
	}
	im.rep.Inserted = tag.RowsAffected()
	id := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	stmts = []string{
		`SELECT setval(pg_get_serial_sequence('` + strings.ReplaceAll(nextTbl, "'", "''") + `', 'fid'), ` + fmt.Sprint(max(im.maxN, 1)) + `)`,
		`ALTER TABLE ` + nextTbl + ` ADD CONSTRAINT ` + id(next+"_pkey") + ` PRIMARY KEY (fid)`,
	}
	if !im.records {
		stmts = append(stmts,
			`CREATE INDEX `+id(next+"_geom")+` ON `+nextTbl+` USING gist (geom)`,
			`CREATE INDEX `+id(next+"_geom_web")+` ON `+nextTbl+` USING gist (geom_web)`)
	}
	stmts = append(stmts,
		`DROP TABLE IF EXISTS `+tbl,
		`ALTER TABLE `+nextTbl+` RENAME TO `+id(t.Table),
		`ALTER INDEX data.`+id(next+"_pkey")+` RENAME TO `+id(t.Table+"_pkey"))
	if !im.records {
		stmts = append(stmts,
			`ALTER INDEX data.`+id(next+"_geom")+` RENAME TO `+id(t.Table+"_geom"),
			`ALTER INDEX data.`+id(next+"_geom_web")+` RENAME TO `+id(t.Table+"_geom_web"))
	}
	stmts = append(stmts,
		`ALTER SEQUENCE data.`+id(next+"_fid_seq")+` RENAME TO `+id(t.Table+"_fid_seq"),
		`ANALYZE `+tbl)
	for _, s := range stmts {
		if _, err := im.tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("swap in %s: %w", t.ID, err)
		}
	}
	return nil
}

func prefixed(sep string, parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return sep + strings.Join(parts, sep)
}

// shorten keeps an identifier with its suffix within PostgreSQL's 63 bytes.
func shorten(base, suffix string) string {
	if len(base)+len(suffix) > 63 {
		base = base[:63-len(suffix)]
	}
	return base + suffix
}
