// Package layers is the registry of published spatial layers: for each, its table, geometry
// column and type, native SRID, feature id, fields with their sharing category, zoom range and
// data version. The registry is read from the database and reloads when a definition or the
// data changes (LISTEN/NOTIFY), so every hub process serves a new import without a restart.
// It must not import an HTTP package.
package layers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Layer is one published spatial collection.
type Layer struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	TitleEn     string    `json:"titleEn"`
	Description string    `json:"description"`
	EntryID     string    `json:"entryId,omitempty"`
	Table       string    `json:"-"`
	GeomColumn  string    `json:"-"`
	WebColumn   string    `json:"-"` // the geometry in EPSG:3857 for tiles, "" if the table has none
	GeomType    string    `json:"geometryType"`
	SRID        int       `json:"srid"`
	IDColumn    string    `json:"-"`
	MinZoom     int       `json:"minZoom"`
	MaxZoom     int       `json:"maxZoom"`
	Temporal    string    `json:"temporalField,omitempty"`
	Attribution string    `json:"attribution,omitempty"`
	DataVersion int64     `json:"dataVersion"`
	Features    int64     `json:"featureCount"`
	Extent      []float64 `json:"extent,omitempty"` // WGS 84 minx, miny, maxx, maxy
	Updated     time.Time `json:"updated"`
	// Categories are the layer's sharing categories: its own override, else its entry's.
	Categories []string `json:"categories"`
	Fields     []Field  `json:"fields"`
}

// Field is one attribute of a layer.
type Field struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // string, integer, number, boolean, date, datetime, json
	Title   string `json:"title,omitempty"`
	TitleEn string `json:"titleEn,omitempty"`
	// Category is the field's effective sharing category: its own, else the least restrictive
	// of its layer's (a "default, specific" database shares base items by default).
	Category string `json:"category"`
	Personal bool   `json:"personal,omitempty"`
	Required bool   `json:"required,omitempty"`
	CodeList string `json:"codeList,omitempty"`
}

// Field returns the field named name.
func (l *Layer) Field(name string) (Field, bool) {
	for _, f := range l.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// QualifiedTable is the layer's table as a quoted SQL identifier.
func (l *Layer) QualifiedTable() string { return pgx.Identifier{"data", l.Table}.Sanitize() }

// loadAll reads every layer definition with its fields.
func loadAll(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) (map[string]*Layer, error) {
	rows, err := q.Query(ctx, `
SELECT l.id, l.title, l.title_en, l.description, COALESCE(l.entry_id, ''), l.table_name, l.geometry_column,
       l.geometry_type, l.srid, l.id_column, l.min_zoom, l.max_zoom, COALESCE(l.temporal_field, ''),
       l.attribution, l.data_version, l.feature_count, COALESCE(l.extent, '{}'), l.updated_at,
       CASE WHEN l.category IS NOT NULL THEN ARRAY[l.category] ELSE COALESCE(e.categories, ARRAY['default']) END,
       COALESCE(l.web_column, '')
FROM layers l LEFT JOIN catalog_entries e ON e.id = l.entry_id`)
	if err != nil {
		return nil, fmt.Errorf("load layers: %w", err)
	}
	out := map[string]*Layer{}
	for rows.Next() {
		l := &Layer{}
		if err := rows.Scan(&l.ID, &l.Title, &l.TitleEn, &l.Description, &l.EntryID, &l.Table, &l.GeomColumn,
			&l.GeomType, &l.SRID, &l.IDColumn, &l.MinZoom, &l.MaxZoom, &l.Temporal,
			&l.Attribution, &l.DataVersion, &l.Features, &l.Extent, &l.Updated, &l.Categories, &l.WebColumn); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load layers: %w", err)
		}
		out[l.ID] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load layers: %w", err)
	}
	rows, err = q.Query(ctx, `
SELECT layer_id, name, type, title, title_en, COALESCE(category, ''), personal, required, COALESCE(code_list, '')
FROM layer_fields ORDER BY layer_id, position`)
	if err != nil {
		return nil, fmt.Errorf("load layer fields: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var f Field
		if err := rows.Scan(&id, &f.Name, &f.Type, &f.Title, &f.TitleEn, &f.Category, &f.Personal, &f.Required, &f.CodeList); err != nil {
			return nil, fmt.Errorf("load layer fields: %w", err)
		}
		l, ok := out[id]
		if !ok {
			continue
		}
		if f.Category == "" {
			f.Category = l.Categories[0]
		}
		l.Fields = append(l.Fields, f)
	}
	return out, rows.Err()
}

// sortedIDs lists the ids of m in order.
func sortedIDs(m map[string]*Layer) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// LoadOne reads one layer's definition through q (e.g. an import's transaction); nil when
// there is no such layer.
func LoadOne(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, id string) (*Layer, error) {
	all, err := loadAll(ctx, q)
	if err != nil {
		return nil, err
	}
	return all[id], nil
}

// OpenFields are the fields served to every caller until the access policy decides per
// principal: personal data and fields shared only by specific agreement stay out.
func (l *Layer) OpenFields() []Field {
	var out []Field
	for _, f := range l.Fields {
		if !f.Personal && f.Category != "specific" {
			out = append(out, f)
		}
	}
	return out
}

// SQLType is the column type of a field type.
func SQLType(fieldType string) string {
	switch fieldType {
	case "integer":
		return "bigint"
	case "number":
		return "double precision"
	case "boolean":
		return "boolean"
	case "date":
		return "date"
	case "datetime":
		return "timestamptz"
	case "json":
		return "jsonb"
	}
	return "text"
}
