package relations

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/spatial/cql2"
)

// DefineJoin declares the joined layer def (id, titles, entry, zoom range, attribution) as j
// and builds its table, inside tx. category overrides the entry's sharing categories ("" keeps
// them). The layer then reads like any other: features, tiles, styles.
func DefineJoin(ctx context.Context, tx pgx.Tx, def layers.Layer, j layers.Join, category string) error {
	base, recs, err := joinEnds(ctx, tx, j)
	if err != nil {
		return fmt.Errorf("joined layer %s: %w", def.ID, err)
	}
	l := def
	// A joined layer republishes the base's geometry and the records' aggregates: unless told
	// otherwise it belongs to the entry of the more restricted of the two and shares as that
	// one does, so it never opens what either keeps closed.
	from := recs
	if rank(leastRestrictive(base.Categories)) > rank(leastRestrictive(recs.Categories)) {
		from = base
	}
	if l.EntryID == "" {
		l.EntryID = from.EntryID
	}
	if category == "" {
		category = leastRestrictive(from.Categories)
	}
	l.ItemType = layers.Feature
	l.Table = strings.ReplaceAll(def.ID, "-", "_")
	l.GeomColumn, l.WebColumn, l.IDColumn = "geom", "geom_web", "fid"
	l.GeomType, l.SRID = base.GeomType, base.SRID
	if l.MaxZoom == 0 {
		l.MinZoom, l.MaxZoom = base.MinZoom, base.MaxZoom
	}
	if l.Attribution == "" {
		l.Attribution = strings.Trim(base.Attribution+"; "+recs.Attribution, "; ")
	}
	l.Fields, err = joinFields(base, recs, j)
	if err != nil {
		return fmt.Errorf("joined layer %s: %w", def.ID, err)
	}
	if err := layers.Save(ctx, tx, &l, category); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
INSERT INTO joined_layers (layer_id, base_id, base_field, records_id, records_field, filter, aggregates)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (layer_id) DO UPDATE SET base_id = EXCLUDED.base_id, base_field = EXCLUDED.base_field,
    records_id = EXCLUDED.records_id, records_field = EXCLUDED.records_field, filter = EXCLUDED.filter,
    aggregates = EXCLUDED.aggregates`,
		l.ID, j.Base, j.BaseField, j.Records, j.RecordsField, j.Filter, marshalAggregates(j.Aggregates))
	if err != nil {
		return fmt.Errorf("joined layer %s: %w", def.ID, err)
	}
	return build(ctx, tx, &l, base, recs, j)
}

// Refresh rebuilds, inside tx, every joined layer that reads collection changed (whose data
// tx has just replaced), bumping their data versions. It returns their ids.
func Refresh(ctx context.Context, tx pgx.Tx, changed string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT layer_id FROM joined_layers WHERE base_id = $1 OR records_id = $1 ORDER BY 1`, changed)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		l, err := layers.LoadOne(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		base, recs, err := joinEnds(ctx, tx, *l.Join)
		if err != nil {
			return nil, fmt.Errorf("joined layer %s: %w", id, err)
		}
		if err := build(ctx, tx, l, base, recs, *l.Join); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func joinEnds(ctx context.Context, tx pgx.Tx, j layers.Join) (base, recs *layers.Layer, err error) {
	if base, err = layers.LoadOne(ctx, tx, j.Base); err != nil {
		return nil, nil, err
	}
	if recs, err = layers.LoadOne(ctx, tx, j.Records); err != nil {
		return nil, nil, err
	}
	switch {
	case base == nil || base.IsRecord():
		return nil, nil, fmt.Errorf("the base %q is not a layer with geometry", j.Base)
	case recs == nil:
		return nil, nil, fmt.Errorf("no collection %q", j.Records)
	}
	bf, ok := base.Field(j.BaseField)
	if !ok {
		return nil, nil, fmt.Errorf("%s has no field %q", base.ID, j.BaseField)
	}
	rf, ok := recs.Field(j.RecordsField)
	if !ok {
		return nil, nil, fmt.Errorf("%s has no field %q", recs.ID, j.RecordsField)
	}
	if bf.Type != rf.Type {
		return nil, nil, fmt.Errorf("%s.%s is %s but %s.%s is %s", base.ID, bf.Name, bf.Type, recs.ID, rf.Name, rf.Type)
	}
	if len(j.Aggregates) == 0 {
		return nil, nil, fmt.Errorf("no aggregates: say what to compute (count, sum, avg, min, max, latest)")
	}
	return base, recs, nil
}

// joinFields are the joined layer's fields: the base's fields that are neither personal nor
// specific (a joined layer republishes them), then the aggregates.
func joinFields(base, recs *layers.Layer, j layers.Join) ([]layers.Field, error) {
	fields := base.OpenFields()
	for i := range fields {
		fields[i].Inherited = false // keep the base's category, not the joined layer's
	}
	for _, a := range j.Aggregates {
		if _, clash := base.Field(a.Name); clash || a.Name == "" {
			return nil, fmt.Errorf("aggregate name %q is empty or a field of %s", a.Name, base.ID)
		}
		typ, err := aggregateType(recs, a)
		if err != nil {
			return nil, err
		}
		// An aggregate of a field is shared as the field is; of personal data, not at all.
		var category string
		if f, ok := recs.Field(a.Field); ok {
			if f.Personal {
				return nil, fmt.Errorf("aggregate %s reads %s.%s, which is personal data", a.Name, recs.ID, f.Name)
			}
			category = f.Category
		}
		fields = append(fields, layers.Field{Name: a.Name, Type: typ, Title: a.Title, TitleEn: a.TitleEn, Category: category})
	}
	return fields, nil
}

// aggregateType checks a and returns the type of its result.
func aggregateType(recs *layers.Layer, a layers.Aggregate) (string, error) {
	if a.Op == "count" {
		if a.Field != "" {
			return "", fmt.Errorf("aggregate %s: count counts records; it takes no field", a.Name)
		}
		return "integer", nil
	}
	f, ok := recs.Field(a.Field)
	if !ok {
		return "", fmt.Errorf("aggregate %s: %s has no field %q", a.Name, recs.ID, a.Field)
	}
	if f.Personal {
		return "", fmt.Errorf("aggregate %s: %s is personal data", a.Name, f.Name)
	}
	numeric := f.Type == "integer" || f.Type == "number"
	switch a.Op {
	case "sum":
		if !numeric {
			return "", fmt.Errorf("aggregate %s: sum needs a number field; %s is %s", a.Name, f.Name, f.Type)
		}
		return f.Type, nil
	case "avg":
		if !numeric {
			return "", fmt.Errorf("aggregate %s: avg needs a number field; %s is %s", a.Name, f.Name, f.Type)
		}
		return "number", nil
	case "min", "max":
		return f.Type, nil
	case "latest":
		o, ok := recs.Field(a.OrderBy)
		if !ok {
			return "", fmt.Errorf("aggregate %s: latest needs orderBy, a field of %s", a.Name, recs.ID)
		}
		if o.Type == "json" {
			return "", fmt.Errorf("aggregate %s: %s cannot order records", a.Name, o.Name)
		}
		return f.Type, nil
	}
	return "", fmt.Errorf("aggregate %s: unknown op %q; use count, sum, avg, min, max or latest", a.Name, a.Op)
}

// aggregateSQL is the SQL of a over the records aliased r.
func aggregateSQL(a layers.Aggregate, typ string) string {
	f := "r." + pgx.Identifier{a.Field}.Sanitize()
	switch a.Op {
	case "count":
		return "count(*)"
	case "sum":
		return "sum(" + f + ")::" + layers.SQLType(typ)
	case "avg":
		return "round(avg(" + f + ")::numeric, 4)::double precision"
	case "latest":
		o := "r." + pgx.Identifier{a.OrderBy}.Sanitize()
		return fmt.Sprintf("(array_agg(%s ORDER BY %s DESC) FILTER (WHERE %s IS NOT NULL))[1]", f, o, o)
	}
	return a.Op + "(" + f + ")"
}

// build rebuilds l's table from base and recs beside the old one and swaps it in, then bumps
// l's data version. Everything a value comes from is an identifier from the registry or a
// bind parameter of the compiled filter.
func build(ctx context.Context, tx pgx.Tx, l, base, recs *layers.Layer, j layers.Join) error {
	var where string
	var args []any
	if strings.TrimSpace(j.Filter) != "" {
		e, err := cql2.ParseText(j.Filter)
		if err != nil {
			return fmt.Errorf("joined layer %s: filter: %w", l.ID, err)
		}
		t := cql2.Target{Properties: map[string]cql2.Property{}, Unaccent: "hub_unaccent"}
		for _, f := range recs.Fields {
			if ty, ok := cql2.ParseType(f.Type); ok {
				t.Properties[f.Name] = cql2.Property{Column: "r." + pgx.Identifier{f.Name}.Sanitize(), Type: ty}
			}
		}
		sql, a, err := cql2.SQL(e, t, 1)
		if err != nil {
			return fmt.Errorf("joined layer %s: filter: %w", l.ID, err)
		}
		where, args = " WHERE "+sql, a
	}
	id := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	var defs, cols, vals, aggs []string
	for _, f := range l.Fields {
		defs = append(defs, id(f.Name)+" "+layers.SQLType(f.Type))
		cols = append(cols, id(f.Name))
		a, ok := aggregateOf(j, f.Name)
		if !ok {
			vals = append(vals, "b."+id(f.Name))
			continue
		}
		aggs = append(aggs, aggregateSQL(a, f.Type)+" AS "+id(a.Name))
		v := "a." + id(a.Name)
		if a.Op == "count" {
			v = "COALESCE(" + v + ", 0)"
		}
		vals = append(vals, v)
	}
	next := l.Table + "__new"
	nextTbl, tbl := pgx.Identifier{"data", next}.Sanitize(), l.QualifiedTable()
	geomType := fmt.Sprintf("geometry(%s, %d)", base.GeomType, base.SRID)
	stmts := []string{
		`DROP TABLE IF EXISTS ` + nextTbl,
		`CREATE TABLE ` + nextTbl + ` (fid bigint PRIMARY KEY, geom ` + geomType + ` NOT NULL, geom_web geometry(` + base.GeomType +
			`, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED, ` + strings.Join(defs, ", ") + `)`,
		`INSERT INTO ` + nextTbl + ` (fid, geom, ` + strings.Join(cols, ", ") + `)
SELECT b.fid, b.` + id(base.GeomColumn) + `, ` + strings.Join(vals, ", ") + `
FROM ` + base.QualifiedTable() + ` b
LEFT JOIN (SELECT r.` + id(j.RecordsField) + ` AS k, ` + strings.Join(aggs, ", ") + `
           FROM ` + recs.QualifiedTable() + ` r` + where + ` GROUP BY 1) a ON a.k = b.` + id(j.BaseField),
		`CREATE INDEX ` + id(next+"_geom") + ` ON ` + nextTbl + ` USING gist (geom)`,
		`CREATE INDEX ` + id(next+"_geom_web") + ` ON ` + nextTbl + ` USING gist (geom_web)`,
		`DROP TABLE IF EXISTS ` + tbl,
		`ALTER TABLE ` + nextTbl + ` RENAME TO ` + id(l.Table),
		`ALTER INDEX data.` + id(next+"_pkey") + ` RENAME TO ` + id(l.Table+"_pkey"),
		`ALTER INDEX data.` + id(next+"_geom") + ` RENAME TO ` + id(l.Table+"_geom"),
		`ALTER INDEX data.` + id(next+"_geom_web") + ` RENAME TO ` + id(l.Table+"_geom_web"),
		`ANALYZE ` + tbl,
	}
	for i, s := range stmts {
		var a []any
		if strings.HasPrefix(s, "INSERT") {
			a = args
		}
		if _, err := tx.Exec(ctx, s, a...); err != nil {
			return fmt.Errorf("joined layer %s (step %d): %w", l.ID, i+1, err)
		}
	}
	if err := IndexLinks(ctx, tx, l); err != nil {
		return err
	}
	_, err := layers.Bump(ctx, tx, l.ID)
	return err
}

func aggregateOf(j layers.Join, name string) (layers.Aggregate, bool) {
	for _, a := range j.Aggregates {
		if a.Name == name {
			return a, true
		}
	}
	return layers.Aggregate{}, false
}

// leastRestrictive is the category that grants the rows of a collection shared as cats.
func leastRestrictive(cats []string) string {
	best := "specific"
	for _, c := range cats {
		if rank(c) < rank(best) {
			best = c
		}
	}
	return best
}

// rank orders the sharing categories from open (0) to specific (2).
func rank(category string) int {
	switch category {
	case "open":
		return 0
	case "default":
		return 1
	}
	return 2
}
