// Package layers is the registry of published collections: the spatial layers and the
// record collections (non-spatial databases). For each, its table, geometry column and type
// and native SRID (layers only), feature id or natural key, fields with their sharing
// category, zoom range, data version, and the attribute links between collections. The registry is read from the database and reloads when a definition or the
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

// Item types: a layer's items are features (with geometry), a record collection's are records.
const (
	Feature = "feature"
	Record  = "record"
)

// Layer is one published collection: a spatial layer or, when ItemType is Record, a record
// collection without geometry (then GeomColumn, GeomType and SRID are empty).
type Layer struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	TitleEn     string `json:"titleEn"`
	Description string `json:"description"`
	EntryID     string `json:"entryId,omitempty"`
	ItemType    string `json:"itemType"`
	Table       string `json:"-"`
	GeomColumn  string `json:"-"`
	WebColumn   string `json:"-"` // the geometry in EPSG:3857 for tiles, "" if the table has none
	GeomType    string `json:"geometryType,omitempty"`
	SRID        int    `json:"srid,omitempty"`
	IDColumn    string `json:"-"`
	// KeyField is the natural key items are looked up by (tax code, school code…); "" means
	// the numeric feature id.
	KeyField    string    `json:"keyField,omitempty"`
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
	// Links are the attribute links from this collection's fields; Backlinks those that
	// point at it.
	Links     []Link `json:"links,omitempty"`
	Backlinks []Link `json:"backlinks,omitempty"`
	// Join is set on a joined layer: the declaration its table is built from.
	Join *Join `json:"join,omitempty"`
}

// IsRecord says whether the collection holds records (no geometry).
func (l *Layer) IsRecord() bool { return l.ItemType == Record }

// Link says that SourceField of collection Source holds values of TargetField of Target
// (enterprises.commune_code → communes.code), for the source items whose TimeField falls in
// [ValidFrom, ValidTo) when TimeField is set.
type Link struct {
	ID          string     `json:"id"`
	Source      string     `json:"source"`
	SourceField string     `json:"sourceField"`
	Target      string     `json:"target"`
	TargetField string     `json:"targetField"`
	Title       string     `json:"title,omitempty"`
	TitleEn     string     `json:"titleEn,omitempty"`
	TimeField   string     `json:"timeField,omitempty"`
	ValidFrom   *time.Time `json:"validFrom,omitempty"`
	ValidTo     *time.Time `json:"validTo,omitempty"`
}

// Join declares a joined layer: Base's geometry with Aggregates of the Records collection's
// items whose RecordsField equals BaseField, the records narrowed by Filter (CQL2 text).
type Join struct {
	Base         string      `json:"base"`
	BaseField    string      `json:"baseField"`
	Records      string      `json:"records"`
	RecordsField string      `json:"recordsField"`
	Filter       string      `json:"filter,omitempty"`
	Aggregates   []Aggregate `json:"aggregates"`
}

// Aggregate is one figure of a joined layer: Op (count, sum, avg, min, max, or latest: the
// Field of the record with the greatest OrderBy) over the joined records.
type Aggregate struct {
	Name    string `json:"name"`
	Op      string `json:"op"`
	Field   string `json:"field,omitempty"`
	OrderBy string `json:"orderBy,omitempty"`
	Title   string `json:"title,omitempty"`
	TitleEn string `json:"titleEn,omitempty"`
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
	// Inherited says Category is not the field's own but its layer's: saving the field again
	// (a re-import) keeps it inherited, so a later change of the layer's or entry's category
	// still reaches it.
	Inherited bool   `json:"-"`
	Personal  bool   `json:"personal,omitempty"`
	Required  bool   `json:"required,omitempty"`
	CodeList  string `json:"codeList,omitempty"`
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

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadAll reads every layer definition with its fields, links and joins.
func loadAll(ctx context.Context, q querier) (map[string]*Layer, error) {
	rows, err := q.Query(ctx, `
SELECT l.id, l.title, l.title_en, l.description, COALESCE(l.entry_id, ''), l.table_name, COALESCE(l.geometry_column, ''),
       COALESCE(l.geometry_type, ''), COALESCE(l.srid, 0), l.id_column, l.min_zoom, l.max_zoom, COALESCE(l.temporal_field, ''),
       l.attribution, l.data_version, l.feature_count, COALESCE(l.extent, '{}'), l.updated_at,
       CASE WHEN l.category IS NOT NULL THEN ARRAY[l.category] ELSE COALESCE(e.categories, ARRAY['default']) END,
       COALESCE(l.web_column, ''), l.item_type, COALESCE(l.key_field, '')
FROM layers l LEFT JOIN catalog_entries e ON e.id = l.entry_id`)
	if err != nil {
		return nil, fmt.Errorf("load layers: %w", err)
	}
	out := map[string]*Layer{}
	for rows.Next() {
		l := &Layer{}
		if err := rows.Scan(&l.ID, &l.Title, &l.TitleEn, &l.Description, &l.EntryID, &l.Table, &l.GeomColumn,
			&l.GeomType, &l.SRID, &l.IDColumn, &l.MinZoom, &l.MaxZoom, &l.Temporal,
			&l.Attribution, &l.DataVersion, &l.Features, &l.Extent, &l.Updated, &l.Categories, &l.WebColumn,
			&l.ItemType, &l.KeyField); err != nil {
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
			f.Category, f.Inherited = l.Categories[0], true
		}
		if f.Personal && f.Category == "open" {
			f.Category = "specific" // personal data is never open, whatever the layer says
		}
		l.Fields = append(l.Fields, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load layer fields: %w", err)
	}
	if err := loadLinks(ctx, q, out); err != nil {
		return nil, err
	}
	return out, loadJoins(ctx, q, out)
}

// loadLinks attaches every link to its source (Links) and its target (Backlinks).
func loadLinks(ctx context.Context, q querier, out map[string]*Layer) error {
	rows, err := q.Query(ctx, `
SELECT id, source_id, source_field, target_id, target_field, title, title_en, COALESCE(time_field, ''),
       valid_from::timestamptz, valid_to::timestamptz
FROM collection_links ORDER BY id`)
	if err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	links, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Link, error) {
		var k Link
		err := row.Scan(&k.ID, &k.Source, &k.SourceField, &k.Target, &k.TargetField, &k.Title, &k.TitleEn,
			&k.TimeField, &k.ValidFrom, &k.ValidTo)
		return k, err
	})
	if err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	for _, k := range links {
		if s, ok := out[k.Source]; ok {
			s.Links = append(s.Links, k)
		}
		if t, ok := out[k.Target]; ok {
			t.Backlinks = append(t.Backlinks, k)
		}
	}
	return nil
}

// loadJoins attaches their declaration to the joined layers.
func loadJoins(ctx context.Context, q querier, out map[string]*Layer) error {
	rows, err := q.Query(ctx, `SELECT layer_id, base_id, base_field, records_id, records_field, filter, aggregates FROM joined_layers`)
	if err != nil {
		return fmt.Errorf("load joined layers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		j := &Join{}
		if err := rows.Scan(&id, &j.Base, &j.BaseField, &j.Records, &j.RecordsField, &j.Filter, &j.Aggregates); err != nil {
			return fmt.Errorf("load joined layers: %w", err)
		}
		if l, ok := out[id]; ok {
			l.Join = j
		}
	}
	return rows.Err()
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
func LoadOne(ctx context.Context, q querier, id string) (*Layer, error) {
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
