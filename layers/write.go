package layers

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Save writes a layer's definition and its fields inside tx (an import's transaction). Fields
// not listed are removed from the definition. The data version is left to Bump. An empty
// category keeps the layer's own: re-importing data never changes who may read it.
func Save(ctx context.Context, tx pgx.Tx, l *Layer, category string) error {
	var entry, temporal, cat, web, key, geomCol, geomType, srid any
	if !l.IsRecord() {
		geomCol, geomType, srid = l.GeomColumn, l.GeomType, l.SRID
	}
	if l.KeyField != "" {
		key = l.KeyField
	}
	itemType := l.ItemType
	if itemType == "" {
		itemType = Feature
	}
	if l.EntryID != "" {
		entry = l.EntryID
	}
	if l.Temporal != "" {
		temporal = l.Temporal
	}
	if category != "" {
		cat = category
	}
	if l.WebColumn != "" {
		web = l.WebColumn
	}
	_, err := tx.Exec(ctx, `
INSERT INTO layers (id, title, title_en, description, entry_id, table_name, geometry_column, geometry_type,
                    srid, id_column, min_zoom, max_zoom, temporal_field, category, attribution, web_column,
                    item_type, key_field)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, title_en = EXCLUDED.title_en, description = EXCLUDED.description,
    entry_id = EXCLUDED.entry_id, geometry_type = EXCLUDED.geometry_type, srid = EXCLUDED.srid,
    min_zoom = EXCLUDED.min_zoom, max_zoom = EXCLUDED.max_zoom, temporal_field = EXCLUDED.temporal_field,
    category = COALESCE(EXCLUDED.category, layers.category), attribution = EXCLUDED.attribution, web_column = EXCLUDED.web_column,
    item_type = EXCLUDED.item_type, key_field = EXCLUDED.key_field`,
		l.ID, l.Title, l.TitleEn, l.Description, entry, l.Table, geomCol, geomType,
		srid, l.IDColumn, l.MinZoom, l.MaxZoom, temporal, cat, l.Attribution, web, itemType, key)
	if err != nil {
		return fmt.Errorf("save layer %s: %w", l.ID, err)
	}
	names := make([]string, len(l.Fields))
	for i, f := range l.Fields {
		names[i] = f.Name
		var fcat, code any
		if f.Category != "" && !f.Inherited {
			fcat = f.Category
		}
		if f.CodeList != "" {
			code = f.CodeList
		}
		_, err := tx.Exec(ctx, `
INSERT INTO layer_fields (layer_id, name, position, type, title, title_en, category, personal, required, code_list)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (layer_id, name) DO UPDATE SET
    position = EXCLUDED.position, type = EXCLUDED.type, title = EXCLUDED.title, title_en = EXCLUDED.title_en,
    category = EXCLUDED.category, personal = EXCLUDED.personal, required = EXCLUDED.required,
    code_list = EXCLUDED.code_list`,
			l.ID, f.Name, i+1, f.Type, f.Title, f.TitleEn, fcat, f.Personal, f.Required, code)
		if err != nil {
			return fmt.Errorf("save field %s of layer %s: %w", f.Name, l.ID, err)
		}
	}
	_, err = tx.Exec(ctx, `DELETE FROM layer_fields WHERE layer_id = $1 AND NOT (name = ANY ($2))`, l.ID, names)
	return err
}

// Bump records that the layer's data was replaced: a new data version, its feature count and
// WGS 84 extent. Its changes are not itemised, so the change feed starts again from this
// version. It returns the new version.
func Bump(ctx context.Context, tx pgx.Tx, id string) (int64, error) {
	var l Layer
	if err := tx.QueryRow(ctx, `SELECT table_name, COALESCE(geometry_column, '') FROM layers WHERE id = $1`, id).Scan(&l.Table, &l.GeomColumn); err != nil {
		return 0, fmt.Errorf("bump layer %s: %w", id, err)
	}
	var version int64
	if l.GeomColumn == "" {
		err := tx.QueryRow(ctx, `
UPDATE layers SET data_version = data_version + 1, changes_from = data_version + 1, updated_at = now(),
    feature_count = (SELECT count(*) FROM `+l.QualifiedTable()+`)
WHERE id = $1 RETURNING data_version`, id).Scan(&version)
		if err != nil {
			return 0, fmt.Errorf("bump collection %s: %w", id, err)
		}
		return version, nil
	}
	err := tx.QueryRow(ctx, `
WITH s AS (
    SELECT count(*) AS n, ST_Transform(ST_SetSRID(ST_Extent(`+pgx.Identifier{l.GeomColumn}.Sanitize()+`)::geometry,
           (SELECT srid FROM layers WHERE id = $1)), 4326) AS e
    FROM `+l.QualifiedTable()+`)
UPDATE layers SET data_version = data_version + 1, changes_from = data_version + 1, updated_at = now(), feature_count = s.n,
    extent = CASE WHEN s.e IS NULL THEN NULL ELSE ARRAY[ST_XMin(s.e), ST_YMin(s.e), ST_XMax(s.e), ST_YMax(s.e)] END
FROM s WHERE id = $1
RETURNING data_version`, id).Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("bump layer %s: %w", id, err)
	}
	return version, nil
}

// BumpChanged records a change the caller itemises in layer_changes (a sync): a new data
// version, the feature count moved by delta, the extent grown to take in grown (WGS 84 minx,
// miny, maxx, maxy of the written features; nil when none has a geometry). It does not scan the
// table, so a small change to a large collection costs little; the extent may stay larger
// than the data after deletions until the next full import.
func BumpChanged(ctx context.Context, tx pgx.Tx, id string, delta int64, grown []float64) (int64, error) {
	var version int64
	err := tx.QueryRow(ctx, `
UPDATE layers SET data_version = data_version + 1, updated_at = now(), feature_count = feature_count + $2,
    extent = CASE WHEN $3::float8[] IS NULL THEN extent
                  WHEN extent IS NULL OR cardinality(extent) <> 4 THEN $3::float8[]
                  ELSE ARRAY[least(extent[1], $3[1]), least(extent[2], $3[2]), greatest(extent[3], $3[3]), greatest(extent[4], $3[4])] END
WHERE id = $1 RETURNING data_version`, id, delta, grown).Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("bump layer %s: %w", id, err)
	}
	return version, nil
}
