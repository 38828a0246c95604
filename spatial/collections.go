package spatial

import (
	"net/http"
	"net/url"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/web"
)

// Conformance lists the classes this API implements, spelled as the standards spell them.
var Conformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
	"http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
	"http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
	"http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
	"http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
	"http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
	"http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
	"http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
	"http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
	"http://www.opengis.net/spec/cql2/1.0/conf/property-property",
	"http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
}

// Collection is the JSON of a collection.
type Collection struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Links       []api.Link `json:"links"`
	Extent      *extentDoc `json:"extent,omitempty"`
	ItemType    string     `json:"itemType"` // feature, or record for a collection without geometry
	CRS         []string   `json:"crs,omitempty"`
	StorageCRS  string     `json:"storageCrs,omitempty"`
	// Hub metadata beside the standard members.
	TitleEn      string `json:"titleEn,omitempty"`
	Entry        string `json:"catalogEntry,omitempty"`
	Attribution  string `json:"attribution,omitempty"`
	GeometryType string `json:"geometryType,omitempty"`
	KeyField     string `json:"keyField,omitempty"`
	DataVersion  int64  `json:"dataVersion"`
	Features     int64  `json:"featureCount"`
	MinZoom      *int   `json:"minZoom,omitempty"`
	MaxZoom      *int   `json:"maxZoom,omitempty"`
}

type extentDoc struct {
	Spatial  spatialExtent   `json:"spatial"`
	Temporal *temporalExtent `json:"temporal,omitempty"`
}

type spatialExtent struct {
	BBox [][]float64 `json:"bbox"`
	CRS  string      `json:"crs"`
}

type temporalExtent struct {
	Interval [][]*string `json:"interval"`
	TRS      string      `json:"trs"`
}

func (s *Service) collection(r *http.Request, l *layers.Layer) Collection {
	base := api.BaseURL(r) + "/collections/" + url.PathEscape(l.ID)
	c := Collection{
		ID: l.ID, Title: l.Title, TitleEn: l.TitleEn, Description: l.Description, ItemType: l.ItemType,
		Entry: l.EntryID, Attribution: l.Attribution, GeometryType: l.GeomType, KeyField: l.KeyField,
		DataVersion: l.DataVersion, Features: l.Features,
		Links: []api.Link{
			{Href: base, Rel: "self", Type: "application/json", Title: "Tập dữ liệu này — this collection"},
			{Href: base + "?f=html", Rel: "alternate", Type: "text/html", Title: "Dạng HTML — as HTML"},
			{Href: base + "/items", Rel: "items", Type: "application/geo+json", Title: "Các mục — items"},
			{Href: base + "/items?f=html", Rel: "items", Type: "text/html", Title: "Các mục (HTML) — items as HTML"},
			{Href: base + "/items?f=csv", Rel: "items", Type: "text/csv", Title: "Các mục (CSV) — items as CSV"},
			{Href: base + "/queryables", Rel: "http://www.opengis.net/def/rel/ogc/1.0/queryables", Type: "application/schema+json", Title: "Thuộc tính lọc được — queryables"},
			{Href: base + "/schema", Rel: "http://www.opengis.net/def/rel/ogc/1.0/schema", Type: "application/schema+json", Title: "Lược đồ — schema"},
		},
	}
	if l.EntryID != "" {
		c.Links = append(c.Links, api.Link{Href: api.BaseURL(r) + "/catalog/" + url.PathEscape(l.EntryID), Rel: "describedby", Type: "application/json", Title: "Cơ sở dữ liệu trong danh mục — catalogue entry"})
	}
	if l.IsRecord() {
		return c
	}
	c.StorageCRS = storageCRS(l.SRID).URI
	c.MinZoom, c.MaxZoom = &l.MinZoom, &l.MaxZoom
	for _, crs := range crsList(l.SRID) {
		c.CRS = append(c.CRS, crs.URI)
	}
	if len(l.Extent) == 4 {
		c.Extent = &extentDoc{Spatial: spatialExtent{BBox: [][]float64{l.Extent}, CRS: CRS84URI}}
		if l.Temporal != "" {
			c.Extent.Temporal = &temporalExtent{Interval: [][]*string{{nil, nil}}, TRS: "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
		}
	}
	return c
}

// HandleCollections serves GET /collections.
func (s *Service) HandleCollections() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, format, err := api.Request(r, api.JSONOrHTML)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		var cs []Collection
		for _, l := range s.reg.List() {
			cs = append(cs, s.collection(r, l))
		}
		base := api.BaseURL(r) + "/collections"
		doc := map[string]any{
			"collections": cs,
			"crs":         []string{CRS84URI},
			"links": []api.Link{
				{Href: base, Rel: "self", Type: "application/json", Title: "Danh sách lớp — collections"},
				{Href: base + "?f=html", Rel: "alternate", Type: "text/html", Title: "Dạng HTML — as HTML"},
			},
		}
		if format == api.HTML {
			web.Render(w, r, http.StatusOK, "collections", web.Page{Title: "Lớp dữ liệu không gian", Data: cs})
			return
		}
		api.WriteJSON(w, http.StatusOK, doc)
	})
}

// HandleCollection serves GET /collections/{id}.
func (s *Service) HandleCollection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, format, err := api.Request(r, api.JSONOrHTML)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		l, err := s.layer(r.PathValue("id"))
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		c := s.collection(r, l)
		if format == api.HTML {
			web.Render(w, r, http.StatusOK, "collection", web.Page{Title: l.Title, Data: map[string]any{"C": c, "Fields": l.OpenFields()}})
			return
		}
		api.WriteJSON(w, http.StatusOK, c)
	})
}

// HandleConformance serves GET /conformance: the features classes and those of the other
// building blocks (tiles) the server wires in.
func HandleConformance(more ...string) http.Handler {
	classes := append(append([]string(nil), Conformance...), more...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, format, err := api.Request(r, api.JSONOrHTML)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if format == api.HTML {
			web.Render(w, r, http.StatusOK, "conformance", web.Page{Title: "Chuẩn tuân thủ", Data: classes})
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"conformsTo": classes})
	})
}

// queryableSchema describes one queryable in JSON Schema.
type queryableSchema struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type,omitempty"`
	Format      string `json:"format,omitempty"`
	Role        string `json:"x-ogc-role,omitempty"`
}

func fieldSchema(f layers.Field) queryableSchema {
	qs := queryableSchema{Title: f.Title, Description: f.TitleEn}
	switch f.Type {
	case "integer":
		qs.Type = "integer"
	case "number":
		qs.Type = "number"
	case "boolean":
		qs.Type = "boolean"
	case "date":
		qs.Type, qs.Format = "string", "date"
	case "datetime":
		qs.Type, qs.Format = "string", "date-time"
	case "json":
		qs.Type = "object"
	default:
		qs.Type = "string"
	}
	return qs
}

// queryable is the /queryables entry of a field: its fieldSchema, except that a json field is
// an array. Filters read every json field as a JSON array (cql2.ParseType), the common case
// (the importer types a property json when its values are arrays or objects, and the registry
// does not say which): the array functions A_EQUALS, A_CONTAINS, A_CONTAINEDBY and A_OVERLAPS
// compare it, and a feature whose value is an object (or any other non-array) is selected by
// none of them, nor by their negation. The OpenAPI document keeps fieldSchema's "object" for
// the field's query parameter, which takes a JSON text (?tags=["a","b"], compared with jsonb
// equality) and which OpenAPI 3.0 could not declare an array without items.
func queryable(f layers.Field) queryableSchema {
	qs := fieldSchema(f)
	if f.Type == "json" {
		qs.Type = "array"
	}
	return qs
}

// geometryFormat is the Part 3 format name of a geometry type ("geometry-multipolygon").
func geometryFormat(t string) string {
	m := map[string]string{"Point": "point", "MultiPoint": "multipoint", "LineString": "linestring",
		"MultiLineString": "multilinestring", "Polygon": "polygon", "MultiPolygon": "multipolygon"}
	if v, ok := m[t]; ok {
		return "geometry-" + v
	}
	return "geometry-any"
}

// describedLayer is the collection of a request for one of its descriptions (queryables,
// schema), which take no parameter but f.
func (s *Service) describedLayer(r *http.Request) (*layers.Layer, error) {
	if _, err := api.Query(r, "f"); err != nil {
		return nil, err
	}
	return s.layer(r.PathValue("id"))
}

// HandleQueryables serves GET /collections/{id}/queryables.
func (s *Service) HandleQueryables() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := s.describedLayer(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		props := map[string]queryableSchema{}
		if !l.IsRecord() {
			props[geometryQueryable] = queryableSchema{Title: "Hình học — geometry", Format: geometryFormat(l.GeomType), Role: "primary-geometry"}
		}
		// What the caller may filter on: the fields it reads (the open ones when it reads none).
		fields := l.OpenFields()
		if pol, err := s.gate.Policy(r); err == nil {
			if v := pol.View(l); v.Readable() {
				fields = v.Fields()
			}
		}
		for _, f := range fields {
			props[f.Name] = queryable(f)
		}
		doc := map[string]any{
			"$schema":              "https://json-schema.org/draft/2020-12/schema",
			"$id":                  api.BaseURL(r) + "/collections/" + url.PathEscape(l.ID) + "/queryables",
			"type":                 "object",
			"title":                l.Title,
			"properties":           props,
			"additionalProperties": false,
		}
		api.WriteJSONType(w, http.StatusOK, "application/schema+json", doc)
	})
}

// geometryQueryable is the name filters use for a layer's geometry.
const geometryQueryable = "geometry"

// schemaProperty is one property of /schema: its queryable description plus what users of
// a shared database must know about it (OGC API – Features Part 5 shape, hub extensions).
type schemaProperty struct {
	queryableSchema
	Seq      int    `json:"x-ogc-propertySeq"`
	Category string `json:"x-hub-category,omitempty"`
	Personal bool   `json:"x-hub-personal,omitempty"`
	CodeList string `json:"x-hub-codeList,omitempty"`
}

// HandleSchema serves GET /collections/{id}/schema: every field of the collection — also
// those the caller may not read, since metadata is public and data is not — with its type,
// Vietnamese and English labels, sharing category and whether it is personal data.
func (s *Service) HandleSchema() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := s.describedLayer(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		props := map[string]schemaProperty{}
		seq := 1
		if l.IsRecord() {
			if l.KeyField == "" {
				props["id"] = schemaProperty{queryableSchema: queryableSchema{Title: "Mã — id", Type: "integer", Role: "id"}, Seq: seq}
				seq++
			}
		} else {
			props["id"] = schemaProperty{queryableSchema: queryableSchema{Title: "Mã đối tượng — feature id", Type: "integer", Role: "id"}, Seq: seq}
			props[geometryQueryable] = schemaProperty{queryableSchema: queryableSchema{Title: "Hình học — geometry", Format: geometryFormat(l.GeomType), Role: "primary-geometry"}, Seq: seq + 1}
			seq += 2
		}
		var required []string
		for _, f := range l.Fields {
			p := schemaProperty{queryableSchema: fieldSchema(f), Seq: seq, Category: f.Category, Personal: f.Personal, CodeList: f.CodeList}
			seq++
			switch f.Name {
			case l.KeyField:
				p.Role = "id"
			case l.Temporal:
				p.Role = "primary-instant"
			}
			props[f.Name] = p
			if f.Required || f.Name == l.KeyField {
				required = append(required, f.Name)
			}
		}
		doc := map[string]any{
			"$schema":    "https://json-schema.org/draft/2020-12/schema",
			"$id":        api.BaseURL(r) + "/collections/" + url.PathEscape(l.ID) + "/schema",
			"type":       "object",
			"title":      l.Title,
			"properties": props,
		}
		if len(required) > 0 {
			doc["required"] = required
		}
		api.WriteJSONType(w, http.StatusOK, "application/schema+json", doc)
	})
}
