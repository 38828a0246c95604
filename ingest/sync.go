package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/layers"
)

// Sync makes an import a synchronisation with a source system (Options.Sync, mode "sync"):
// the staged items are compared with the collection by key and content, and only what differs
// is written — inserts, updates and deletions, each logged in layer_changes under the new data
// version for the change feed. A run that finds nothing to change writes nothing and keeps the
// data version. Items that fail validation are rejected (counted, with reasons) instead of
// failing the run, and keep their previous state in the collection.
type Sync struct {
	// Key is the collection field that identifies an item at the source.
	Key string
	// Complete: the staged items are everything the source holds; a key the collection has
	// and they lack was deleted at the source.
	Complete bool
	// Gone, called once the source is read, gives every key the source holds (nil when it
	// could not list them) and the keys it reports deleted.
	Gone func() (all, deleted []string)
	// Withdraw marks deleted items (field WithdrawnField set to the time) instead of deleting.
	Withdraw bool
	// AllowEmpty lets a complete read with no items at all empty the collection; otherwise
	// such a read (a source under maintenance answering an empty list) fails the run.
	AllowEmpty bool
	// BeforeCommit runs in the import's transaction once the collection is written, whether or
	// not anything changed: the source's cursor and run record commit with the data, or not at
	// all. hub_rejected (n, key, field, reason) holds the rejected rows at that point.
	BeforeCommit func(ctx context.Context, tx pgx.Tx, rep *Report) error
}

// WithdrawnField is the field a withdrawing sync sets on items gone from the source; an item
// that comes back has it cleared.
const WithdrawnField = "withdrawn_at"

// MaxRejects is how many rejected rows of a run are kept (with the run's record).
const MaxRejects = 1000

// ChangesKept is how long the change log of a collection is kept (a PostgreSQL interval).
const ChangesKept = "90 days"

// reject moves the staged items that fail the checks (and those the reader could not read, or
// whose key is empty or repeated) out of the staging table into hub_rejected.
func (im *importer) reject(ctx context.Context, parts []string, args []any) error {
	key := im.sourceKey(im.opt.Key)
	args = append(args, key, im.opt.Key)
	k, kf := len(args)-1, len(args)
	parts = append(parts, `SELECT n, NULL::text, 'the item could not be read' FROM hub_stage WHERE bad`)
	if im.opt.Key != im.target.KeyField { // validate checks the key field's own
		parts = append(parts, fmt.Sprintf(`SELECT n, $%d, 'the key is empty: every item needs its own key' FROM hub_stage WHERE COALESCE(btrim(props ->> $%d), '') = ''`, kf, k))
	}
	// Repeated keys: a hash aggregate finds the values (a million keys, no sort), the window
	// then ranks only their items.
	parts = append(parts, fmt.Sprintf(`SELECT n, $%[2]d, format('key %%s repeats item %%s', v, first) FROM (
  SELECT n, props ->> $%[1]d AS v, min(n) OVER (PARTITION BY props ->> $%[1]d) AS first FROM hub_stage
  WHERE props ->> $%[1]d IN (SELECT props ->> $%[1]d FROM hub_stage GROUP BY 1 HAVING count(*) > 1)) d
WHERE v IS NOT NULL AND n <> first`, k, kf))
	parts = append([]string{`SELECT NULL::bigint AS n, NULL::text AS field, NULL::text AS reason WHERE false`}, parts...)
	if _, err := im.tx.Exec(ctx, `CREATE TEMP TABLE hub_rejected (n bigint, key text, field text, reason text) ON COMMIT DROP`); err != nil {
		return err
	}
	sql := `INSERT INTO hub_rejected SELECT p.n, s.props ->> $` + fmt.Sprint(k) + `, p.field, p.reason
FROM (` + strings.Join(parts, "\nUNION ALL\n") + `) p JOIN hub_stage s USING (n)`
	if _, err := im.tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	// The reader's own reasons are better than "could not be read".
	for _, p := range im.problems {
		if _, err := im.tx.Exec(ctx, `UPDATE hub_rejected SET reason = $2, field = NULLIF($3, '') WHERE n = $1 AND reason = 'the item could not be read'`, p.Feature, p.Reason, p.Field); err != nil {
			return err
		}
	}
	im.problems, im.nProbs = nil, 0
	if err := im.tx.QueryRow(ctx, `WITH d AS (DELETE FROM hub_stage WHERE n IN (SELECT n FROM hub_rejected) RETURNING n) SELECT count(*) FROM d`).Scan(&im.rep.Rejected); err != nil {
		return err
	}
	rows, err := im.tx.Query(ctx, `SELECT n, COALESCE(field, ''), reason FROM hub_rejected ORDER BY n, field LIMIT 100`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p Problem
		if err := rows.Scan(&p.Feature, &p.Field, &p.Reason); err != nil {
			return err
		}
		im.rep.Rejects = append(im.rep.Rejects, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return nil
}

// merge applies a sync to an existing collection: it writes only the items that differ and
// logs each change.
func (im *importer) merge(ctx context.Context, tbl string, defs, cols, exprs []string, args []any) error {
	t, s := im.target, im.opt.Sync
	key := pgx.Identifier{im.opt.Key}.Sanitize()
	kf, _ := t.Field(im.opt.Key)
	// Only new fields alter the table: ALTER TABLE locks out every reader until the run
	// commits, even when the column is there already.
	for i, f := range t.Fields {
		if _, had := im.existing.Field(f.Name); had {
			continue
		}
		if _, err := im.tx.Exec(ctx, `ALTER TABLE `+tbl+` ADD COLUMN IF NOT EXISTS `+defs[i]); err != nil {
			return fmt.Errorf("add field: %w", err)
		}
	}
	if err := im.uniqueIndex(ctx, tbl, im.opt.Key, "the collection already holds repeated values of the source's key"); err != nil {
		return err
	}
	geomDef := ""
	if !im.records {
		geomDef = "geom geometry, "
	}
	stmts := []string{
		`CREATE TEMP TABLE hub_next (` + geomDef + strings.Join(defs, ", ") + `) ON COMMIT DROP`,
		`CREATE TEMP TABLE hub_changes (fid bigint NOT NULL, op text NOT NULL, key text, old jsonb) ON COMMIT DROP`,
	}
	for _, st := range stmts {
		if _, err := im.tx.Exec(ctx, st); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if _, err := im.tx.Exec(ctx, `INSERT INTO hub_next (`+strings.Join(cols, ", ")+`) SELECT `+strings.Join(exprs, ", ")+` FROM hub_stage`, args...); err != nil {
		return fmt.Errorf("sync %s: %w", t.ID, err)
	}
	if _, err := im.tx.Exec(ctx, `ANALYZE hub_next`); err != nil {
		return err
	}
	// A few changed items against a large collection are found by the key's index, one by one;
	// the planner, costing random reads high, would rather scan the whole table into a hash.
	// Forced here, the run costs what the changes do, not what the collection holds.
	var staged, total int64
	if err := im.tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM hub_next), feature_count FROM layers WHERE id = $1`, t.ID).Scan(&staged, &total); err != nil {
		return err
	}
	// Only the update and the insert, which join the staged items to the collection by key:
	// the deletions anti-join whole lists of keys, for which hash joins are right.
	planned := func(set string) error {
		if staged*20 >= total {
			return nil
		}
		for _, p := range []string{"enable_hashjoin", "enable_mergejoin"} {
			if _, err := im.tx.Exec(ctx, `SET LOCAL `+p+` `+set); err != nil {
				return err
			}
		}
		return nil
	}
	if err := planned("= off"); err != nil {
		return err
	}
	var sets, tcols, ncols []string
	for _, c := range cols {
		sets = append(sets, c+" = n."+c)
		tcols = append(tcols, "t."+c)
		ncols = append(ncols, "n."+c)
	}
	row := func(cs []string) string { return "ROW(" + strings.Join(cs, ", ") + ")" }
	var ext []float64
	extentOf := `(SELECT CASE WHEN e IS NOT NULL THEN ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] END FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, ` + fmt.Sprint(t.SRID) + `), 4326) e FROM w) x)`
	if im.records {
		extentOf = `NULL::float8[]`
	}
	counted := func(sql, op string, n *int64, args ...any) error {
		var e []float64
		err := im.tx.QueryRow(ctx, `WITH w AS (`+sql+`), c AS (INSERT INTO hub_changes SELECT fid, '`+op+`', key, old FROM w)
SELECT (SELECT count(*) FROM w), `+extentOf, args...).Scan(n, &e)
		if err != nil {
			return fmt.Errorf("sync %s (%s): %w", t.ID, op, err)
		}
		if len(e) == 4 {
			ext = grow(ext, e)
		}
		return nil
	}
	// Every change keeps the item's key: the feed names a deleted item by it. An update or a
	// deletion keeps the row's fields as they were (without geometry or personal data), so that
	// the feed can tell a row-restricted reader of a row that left its rows.
	oldOf := func(alias string) string {
		// Built field by field: to_jsonb of the row would write its geometries as GeoJSON
		// only to drop them (most of an update's cost, measured). A call takes 100 arguments.
		var parts, pairs []string
		for _, f := range t.Fields {
			if f.Personal {
				continue
			}
			pairs = append(pairs, quoteLiteral(f.Name), alias+"."+pgx.Identifier{f.Name}.Sanitize())
			if len(pairs) == 80 {
				parts, pairs = append(parts, "jsonb_build_object("+strings.Join(pairs, ", ")+")"), nil
			}
		}
		if len(pairs) > 0 || len(parts) == 0 {
			parts = append(parts, "jsonb_build_object("+strings.Join(pairs, ", ")+")")
		}
		return "(" + strings.Join(parts, " || ") + ")"
	}
	returning := func(old string) string {
		r := " RETURNING t.fid, t." + key + "::text AS key, " + old + " AS old"
		if !im.records {
			r += ", t.geom"
		}
		return r
	}
	// A subquery of RETURNING reads the statement's snapshot: the row before the update, looked
	// up for the updated rows only.
	before := "(SELECT " + oldOf("o") + " FROM " + tbl + " o WHERE o.fid = t.fid)"
	if err := counted(`UPDATE `+tbl+` t SET `+strings.Join(sets, ", ")+` FROM hub_next n
WHERE t.`+key+` = n.`+key+` AND `+row(tcols)+` IS DISTINCT FROM `+row(ncols)+returning(before), "update", &im.rep.Updated); err != nil {
		return err
	}
	ins := `INSERT INTO ` + tbl + ` AS t (` + strings.Join(cols, ", ") + `) SELECT ` + strings.Join(ncols, ", ") + ` FROM hub_next n
WHERE NOT EXISTS (SELECT FROM ` + tbl + ` t WHERE t.` + key + ` = n.` + key + `)` + returning("NULL::jsonb")
	if err := counted(ins, "insert", &im.rep.Inserted); err != nil {
		return err
	}
	if err := planned("TO DEFAULT"); err != nil {
		return err
	}
	// Deletions: keys the source lacks (a complete read, a list of its keys) or says it deleted.
	// A rejected item is not a deleted one: it keeps its previous state.
	var gone []string
	var gargs []any
	var allKeys, deleted []string
	if s.Gone != nil {
		allKeys, deleted = s.Gone()
	}
	// Keys from the source are texts: compared as the key field's values ("01" is the integer
	// 1), a text that is no such value matching nothing.
	is := func(text string) string { return keyIs(kf.Type, text, "t."+key) }
	if kf.Type == "date" || kf.Type == "datetime" {
		if _, err := im.tx.Exec(ctx, dateFunctions); err != nil {
			return err
		}
	}
	if s.Complete {
		if staged == 0 && total > 0 && !s.AllowEmpty {
			if im.rep.Rejected > 0 {
				var first []string
				for _, p := range im.rep.Rejects[:min(3, len(im.rep.Rejects))] {
					first = append(first, p.String())
				}
				return fmt.Errorf("every item the source gave was refused (%d), which would delete the %d items of %s: nothing was applied. "+
					"Check the source's mapping against the collection's fields; the first refusals: %s", im.rep.Rejected, total, t.ID, strings.Join(first, "; "))
			}
			return fmt.Errorf("the source gave no items at all, which would delete all %d items of %s: a source under maintenance "+
				"often answers an empty list; if the source really is empty now, run again with the option allow_empty=true", total, t.ID)
		}
		gone = append(gone, `NOT EXISTS (SELECT FROM hub_next n WHERE n.`+key+` = t.`+key+`)
  AND NOT EXISTS (SELECT FROM hub_rejected r WHERE `+is("r.key")+`)`)
	}
	if allKeys != nil {
		gargs = append(gargs, allKeys)
		gone = append(gone, fmt.Sprintf(`NOT EXISTS (SELECT FROM unnest($%d::text[]) k WHERE %s)`, len(gargs), is("k")))
	}
	if len(deleted) > 0 {
		gargs = append(gargs, deleted)
		gone = append(gone, keyIn(kf.Type, fmt.Sprintf("$%d::text[]", len(gargs)), "t."+key))
	}
	if len(gone) > 0 {
		// An item the run has just written is not gone, whatever else the source says of it
		// (a feed that deleted it and then added it again).
		where := "((" + strings.Join(gone, ") OR (") + ")) AND NOT EXISTS (SELECT FROM hub_next n WHERE n." + key + " = t." + key + ")"
		del := `DELETE FROM ` + tbl + ` t WHERE ` + where + ` RETURNING t.fid, t.` + key + `::text AS key, ` + oldOf("t") + ` AS old`
		op := "delete"
		if s.Withdraw {
			w := pgx.Identifier{WithdrawnField}.Sanitize()
			del = `UPDATE ` + tbl + ` t SET ` + w + ` = now() WHERE t.` + w + ` IS NULL AND (` + where + `) RETURNING t.fid, t.` + key + `::text AS key, ` + before + ` AS old`
			op = "update"
		}
		if !im.records && !s.Withdraw {
			del += ", NULL::geometry AS geom"
		} else if !im.records {
			del += ", t.geom"
		}
		var n int64
		if err := counted(del, op, &n, gargs...); err != nil {
			return err
		}
		// Withdrawn items are updated ones (they stay, marked); they were not staged.
		im.rep.Unchanged = max(0, staged-im.rep.Inserted-im.rep.Updated)
		if s.Withdraw {
			im.rep.Updated += n
		} else {
			im.rep.Deleted = n
		}
	} else {
		im.rep.Unchanged = max(0, staged-im.rep.Inserted-im.rep.Updated)
	}
	im.changed = im.rep.Inserted+im.rep.Updated+im.rep.Deleted > 0
	im.grown = ext
	return nil
}

func grow(a, b []float64) []float64 {
	if a == nil {
		return b
	}
	return []float64{min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])}
}

// logChanges records the sync's changes under the new data version.
func (im *importer) logChanges(ctx context.Context) error {
	// Every change keeps the item's key (the feed names an item gone by the time it is read by
	// it), and the collection which field that is.
	if _, err := im.tx.Exec(ctx, `UPDATE layers SET change_key = $2 WHERE id = $1 AND change_key IS DISTINCT FROM $2`, im.target.ID, im.opt.Key); err != nil {
		return err
	}
	// The log is kept for ChangesKept: older versions are dropped and the feed starts after them
	// (a consumer that far behind reads the collection whole), which also bounds how long a
	// deleted row's fields stay.
	if _, err := im.tx.Exec(ctx, `WITH gone AS (
    SELECT max(data_version) AS v FROM imports WHERE layer_id = $1 AND finished_at < now() - $2::interval),
d AS (DELETE FROM layer_changes WHERE layer_id = $1 AND version <= (SELECT v FROM gone))
UPDATE layers SET changes_from = (SELECT v FROM gone) WHERE id = $1 AND changes_from < (SELECT v FROM gone)`,
		im.target.ID, ChangesKept); err != nil {
		return err
	}
	_, err := im.tx.Exec(ctx, `INSERT INTO layer_changes (layer_id, version, fid, op, key, old)
SELECT $1, $2, fid, op, key, old FROM (
    SELECT fid, (array_agg(op ORDER BY CASE op WHEN 'delete' THEN 0 WHEN 'insert' THEN 1 ELSE 2 END))[1] AS op, min(key) AS key,
           (array_agg(old) FILTER (WHERE old IS NOT NULL))[1] AS old
    FROM hub_changes GROUP BY fid) c`,
		im.target.ID, im.rep.DataVersion)
	return err
}

// keyOf is the SQL converting a key given as text to a key field's value: "01" is the
// integer 1, 15/03/2024 the date 2024-03-15; a text that is no value of the type is NULL (and
// matches nothing). JSON keys are compared as their text forms: keyOf is then the text, and
// colOf the column as text. Date keys need dateFunctions in the transaction.
func keyOf(typ, text string) string {
	switch typ {
	case "integer", "number":
		return fmt.Sprintf("CASE WHEN btrim(%[1]s) ~ '%[2]s' THEN btrim(%[1]s)::%[3]s END", text, typePattern[typ], layers.SQLType(typ))
	case "boolean":
		return fmt.Sprintf("CASE WHEN lower(btrim(%[1]s)) ~ '%[2]s' THEN lower(btrim(%[1]s))::boolean END", text, typePattern[typ])
	case "date":
		return fmt.Sprintf("CASE WHEN pg_temp.hub_date_ok(%[1]s, false) THEN CASE WHEN strpos(%[1]s, '/') > 0 THEN to_date(%[1]s, 'DD/MM/YYYY') ELSE %[1]s::date END END", text)
	case "datetime":
		return fmt.Sprintf("CASE WHEN pg_temp.hub_date_ok(%[1]s, true) THEN CASE WHEN strpos(%[1]s, '/') > 0 THEN to_timestamp(%[1]s, 'DD/MM/YYYY HH24:MI:SS') ELSE %[1]s::timestamptz END END", text)
	}
	return text
}

func colOf(typ, col string) string {
	switch typ {
	case "integer", "number", "boolean", "string", "date", "datetime":
		return col
	}
	return col + "::text"
}

// keyIs is the SQL condition that a key given as text is column col's value.
func keyIs(typ, text, col string) string { return colOf(typ, col) + " = " + keyOf(typ, text) }

// keyIn is the SQL condition that column col's value is one of an array of keys given as
// texts: a semi-join the key's index serves.
func keyIn(typ, array, col string) string {
	return colOf(typ, col) + " IN (SELECT " + keyOf(typ, "k") + " FROM unnest(" + array + ") k)"
}

// quoteLiteral is s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
