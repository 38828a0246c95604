// Package relations declares, as data, how collections relate: attribute links (a record's
// field naming a feature: enterprises.commune_code → wards.code) and joined layers (a layer's
// geometry with figures aggregated from a record collection: enterprises per ward). It keeps
// a joined layer's table in step with both sides, inside the transaction that changes them,
// so a reader never sees figures of an older import than the records it can read.
package relations

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/layers"
)

// SaveLink declares (or redefines) a link inside tx. Both ends must exist with fields of the
// same type, and the time field, if any, must be a date or datetime of the source. The
// fields on both ends are indexed so that following a link, or counting what links to an
// item, is an index lookup.
func SaveLink(ctx context.Context, tx pgx.Tx, k layers.Link) error {
	src, tgt, err := linkEnds(ctx, tx, k)
	if err != nil {
		return err
	}
	var from, to any
	if k.ValidFrom != nil {
		from = *k.ValidFrom
	}
	if k.ValidTo != nil {
		to = *k.ValidTo
	}
	var timeField any
	if k.TimeField != "" {
		timeField = k.TimeField
	}
	_, err = tx.Exec(ctx, `
INSERT INTO collection_links (id, source_id, source_field, target_id, target_field, title, title_en, time_field, valid_from, valid_to)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz::date, $10::timestamptz::date)
ON CONFLICT (id) DO UPDATE SET source_id = EXCLUDED.source_id, source_field = EXCLUDED.source_field,
    target_id = EXCLUDED.target_id, target_field = EXCLUDED.target_field, title = EXCLUDED.title,
    title_en = EXCLUDED.title_en, time_field = EXCLUDED.time_field, valid_from = EXCLUDED.valid_from,
    valid_to = EXCLUDED.valid_to`,
		k.ID, k.Source, k.SourceField, k.Target, k.TargetField, k.Title, k.TitleEn, timeField, from, to)
	if err != nil {
		return fmt.Errorf("link %s: %w", k.ID, err)
	}
	if err := IndexField(ctx, tx, src, k.SourceField); err != nil {
		return err
	}
	return IndexField(ctx, tx, tgt, k.TargetField)
}

func linkEnds(ctx context.Context, tx pgx.Tx, k layers.Link) (src, tgt *layers.Layer, err error) {
	if src, err = layers.LoadOne(ctx, tx, k.Source); err != nil {
		return nil, nil, err
	}
	if tgt, err = layers.LoadOne(ctx, tx, k.Target); err != nil {
		return nil, nil, err
	}
	switch {
	case src == nil:
		return nil, nil, fmt.Errorf("link %s: no collection %q", k.ID, k.Source)
	case tgt == nil:
		return nil, nil, fmt.Errorf("link %s: no collection %q", k.ID, k.Target)
	}
	sf, ok := src.Field(k.SourceField)
	if !ok {
		return nil, nil, fmt.Errorf("link %s: %s has no field %q", k.ID, src.ID, k.SourceField)
	}
	tf, ok := tgt.Field(k.TargetField)
	if !ok {
		return nil, nil, fmt.Errorf("link %s: %s has no field %q", k.ID, tgt.ID, k.TargetField)
	}
	if sf.Type != tf.Type {
		return nil, nil, fmt.Errorf("link %s: %s.%s is %s but %s.%s is %s; linked fields must have one type",
			k.ID, src.ID, sf.Name, sf.Type, tgt.ID, tf.Name, tf.Type)
	}
	if k.TimeField != "" {
		f, ok := src.Field(k.TimeField)
		if !ok || (f.Type != "date" && f.Type != "datetime") {
			return nil, nil, fmt.Errorf("link %s: the time field %q must be a date or datetime field of %s", k.ID, k.TimeField, src.ID)
		}
	} else if k.ValidFrom != nil || k.ValidTo != nil {
		return nil, nil, fmt.Errorf("link %s: a validity window needs a time field", k.ID)
	}
	if k.ValidFrom != nil && k.ValidTo != nil && !k.ValidFrom.Before(*k.ValidTo) {
		return nil, nil, fmt.Errorf("link %s: the window ends before it starts", k.ID)
	}
	return src, tgt, nil
}

// IndexField makes sure field of l has a btree index (idempotent; the name is derived from
// table and field, so a replaced table gets it again under the same name).
func IndexField(ctx context.Context, tx pgx.Tx, l *layers.Layer, field string) error {
	if field == l.KeyField {
		return nil // the key has its unique index
	}
	name := indexName(l.Table, field)
	_, err := tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()+` ON `+l.QualifiedTable()+
		` (`+pgx.Identifier{field}.Sanitize()+`)`)
	if err != nil {
		return fmt.Errorf("index %s.%s: %w", l.ID, field, err)
	}
	return nil
}

// IndexLinks gives a btree index to every field of l that links or joined layers read: its
// links' sources, its backlinks' targets, and the fields joined layers join on, except the
// key (it has its unique index). It is idempotent. An import calls it after writing, since
// replacing a collection builds a new table.
func IndexLinks(ctx context.Context, tx pgx.Tx, l *layers.Layer) error {
	var fields []string
	for _, k := range l.Links {
		fields = append(fields, k.SourceField)
	}
	for _, k := range l.Backlinks {
		fields = append(fields, k.TargetField)
	}
	rows, err := tx.Query(ctx, `SELECT base_field FROM joined_layers WHERE base_id = $1
UNION SELECT records_field FROM joined_layers WHERE records_id = $1`, l.ID)
	if err != nil {
		return fmt.Errorf("index linked fields of %s: %w", l.ID, err)
	}
	joined, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("index linked fields of %s: %w", l.ID, err)
	}
	fields = append(fields, joined...)
	slices.Sort(fields)
	for _, f := range slices.Compact(fields) {
		if _, ok := l.Field(f); !ok {
			continue
		}
		if err := IndexField(ctx, tx, l, f); err != nil {
			return err
		}
	}
	return nil
}

// indexName keeps an index name within PostgreSQL's 63 bytes and unique per table and field.
func indexName(table, field string) string {
	name := table + "_" + field + "_idx"
	if len(name) > 63 {
		sum := 0
		for _, c := range name {
			sum = sum*31 + int(c)
		}
		name = fmt.Sprintf("%s_%08x_idx", name[:50], uint32(sum))
	}
	return name
}

// marshalAggregates is the aggregates column's JSON.
func marshalAggregates(a []layers.Aggregate) string {
	b, _ := json.Marshal(a)
	return string(b)
}
