package tiles

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
)

// link is an OGC link that may be a URI template.
type link struct {
	Href      string `json:"href"`
	Rel       string `json:"rel"`
	Type      string `json:"type,omitempty"`
	Title     string `json:"title,omitempty"`
	Templated bool   `json:"templated,omitempty"`
}

// attribution joins the layers' attributions, once each.
func attribution(ls []*layers.Layer) string {
	var parts []string
	for _, l := range ls {
		if l.Attribution != "" && !slices.Contains(parts, l.Attribution) {
			parts = append(parts, l.Attribution)
		}
	}
	return strings.Join(parts, "; ")
}

func mvtFieldType(t string) string {
	switch t {
	case "integer", "number":
		return "Number"
	case "boolean":
		return "Boolean"
	}
	return "String"
}

// bounds is the union of the layers' WGS 84 extents (the province when none is known).
func bounds(ls []*layers.Layer) []float64 {
	var b []float64
	for _, l := range ls {
		if len(l.Extent) != 4 {
			continue
		}
		if b == nil {
			b = append([]float64(nil), l.Extent...)
			continue
		}
		b[0], b[1], b[2], b[3] = min(b[0], l.Extent[0]), min(b[1], l.Extent[1]), max(b[2], l.Extent[2]), max(b[3], l.Extent[3])
	}
	if b == nil {
		b = []float64{106.12, 20.68, 106.62, 21.24}
	}
	return b
}

// tileJSON describes ls as TileJSON 3.0.0 for MapLibre and other web clients.
func tileJSON(name, description, template string, vs []*policy.View) map[string]any {
	ls := layersOf(vs)
	var vls []map[string]any
	for _, v := range vs {
		l := v.Layer
		fields := map[string]string{}
		for _, f := range v.Fields() {
			if f.Type != "json" {
				fields[f.Name] = mvtFieldType(f.Type)
			}
		}
		vls = append(vls, map[string]any{"id": l.ID, "description": l.Title, "fields": fields, "minzoom": l.MinZoom, "maxzoom": l.MaxZoom})
	}
	b := bounds(ls)
	return map[string]any{
		"tilejson":      "3.0.0",
		"name":          name,
		"description":   description,
		"scheme":        "xyz",
		"tiles":         []string{template},
		"vector_layers": vls,
		"minzoom":       minZoom(ls),
		"maxzoom":       maxZoom(ls),
		"bounds":        b,
		"center":        []float64{(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, float64(max(minZoom(ls), 9))},
		"attribution":   attribution(ls),
	}
}

// tileset is the OGC API – Tiles tileset metadata of ls.
func tileset(title, self, template string, vs []*policy.View, base string) map[string]any {
	ls := layersOf(vs)
	var lays []map[string]any
	for _, v := range vs {
		l := v.Layer
		props := map[string]any{}
		for _, f := range v.Fields() {
			props[f.Name] = map[string]any{"type": jsonSchemaType(f.Type), "title": f.Title}
		}
		lays = append(lays, map[string]any{
			"id": l.ID, "title": l.Title, "dataType": "vector", "geometryDimension": dimension(l.GeomType),
			"minTileMatrix": strconv.Itoa(l.MinZoom), "maxTileMatrix": strconv.Itoa(l.MaxZoom),
			"propertiesSchema": map[string]any{"type": "object", "properties": props},
		})
	}
	b := bounds(ls)
	return map[string]any{
		"title":            title,
		"dataType":         "vector",
		"crs":              "http://www.opengis.net/def/crs/EPSG/0/3857",
		"tileMatrixSetURI": TMSURI,
		"boundingBox":      map[string]any{"lowerLeft": b[:2], "upperRight": b[2:], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
		"layers":           lays,
		"links": []link{
			{Href: self, Rel: "self", Type: "application/json"},
			{Href: self + sep(self) + "f=tilejson", Rel: "alternate", Type: "application/vnd.mapbox.tile+json", Title: "TileJSON"},
			{Href: base + "/tileMatrixSets/" + TMSID, Rel: "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", Type: "application/json"},
			{Href: template, Rel: "item", Type: mvtType, Templated: true, Title: "Ô bản đồ vector — vector tiles"},
		},
	}
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

func jsonSchemaType(t string) string {
	switch t {
	case "integer", "number", "boolean":
		return t
	}
	return "string"
}

func dimension(geomType string) int {
	switch {
	case strings.Contains(geomType, "Point"):
		return 0
	case strings.Contains(geomType, "Line"):
		return 1
	}
	return 2
}

// HandleCollectionTilesets serves GET /collections/{id}/tiles.
func (s *Service) HandleCollectionTilesets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _, err := s.collectionRequest(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		l := v.Layer
		base := api.BaseURL(r)
		self := base + "/collections/" + url.PathEscape(l.ID) + "/tiles"
		api.WriteJSON(w, http.StatusOK, tilesets(self, l.Title, base))
	})
}

func tilesets(self, title, base string) map[string]any {
	return map[string]any{
		"tilesets": []map[string]any{{
			"title": title, "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "tileMatrixSetURI": TMSURI,
			"links": []link{
				{Href: self + "/" + TMSID, Rel: "self", Type: "application/json"},
				{Href: base + "/tileMatrixSets/" + TMSID, Rel: "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", Type: "application/json"},
			},
		}},
		"links": []link{{Href: self, Rel: "self", Type: "application/json"}},
	}
}

// HandleCollectionTileset serves GET /collections/{id}/tiles/{tms} (f=tilejson for TileJSON).
func (s *Service) HandleCollectionTileset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, q, err := s.collectionRequest(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		l := v.Layer
		if r.PathValue("tms") != TMSID {
			api.WriteError(w, r, api.NotFound(msgNoTMS))
			return
		}
		base := api.BaseURL(r)
		self := base + "/collections/" + url.PathEscape(l.ID) + "/tiles/" + TMSID
		template := self + "/{z}/{y}/{x}"
		switch q.Get("f") {
		case "tilejson":
			api.WriteJSONType(w, http.StatusOK, "application/json", tileJSON(l.ID, l.Title, template, []*policy.View{v}))
		case "", "json":
			api.WriteJSON(w, http.StatusOK, tileset(l.Title, self, self+"/{tileMatrix}/{tileRow}/{tileCol}", []*policy.View{v}, base))
		default:
			api.WriteError(w, r, api.BadParam("f", api.MsgBadChoice, "f", q.Get("f"), "json, tilejson"))
		}
	})
}

// HandleDatasetTilesets serves GET /tiles.
func (s *Service) HandleDatasetTilesets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r, "f"); err != nil {
			api.WriteError(w, r, err)
			return
		}
		base := api.BaseURL(r)
		api.WriteJSON(w, http.StatusOK, tilesets(base+"/tiles", "Tất cả các lớp — all layers", base))
	})
}

// HandleDatasetTileset serves GET /tiles/{tms}?collections=a,b (f=tilejson for TileJSON).
func (s *Service) HandleDatasetTileset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "f", "collections")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if r.PathValue("tms") != TMSID {
			api.WriteError(w, r, api.NotFound(msgNoTMS))
			return
		}
		ls, err := s.layersParam(r, q)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		base := api.BaseURL(r)
		self := base + "/tiles/" + TMSID
		suffix := ""
		if c := q.Get("collections"); c != "" {
			suffix = "?collections=" + url.QueryEscape(c)
		}
		switch q.Get("f") {
		case "tilejson":
			api.WriteJSONType(w, http.StatusOK, "application/json", tileJSON("hub", "Kho dữ liệu dùng chung — shared data hub", self+"/{z}/{y}/{x}"+suffix, ls))
		case "", "json":
			api.WriteJSON(w, http.StatusOK, tileset("Kho dữ liệu dùng chung", self+suffix, self+"/{tileMatrix}/{tileRow}/{tileCol}"+suffix, ls, base))
		default:
			api.WriteError(w, r, api.BadParam("f", api.MsgBadChoice, "f", q.Get("f"), "json, tilejson"))
		}
	})
}

// HandleTileMatrixSets serves GET /tileMatrixSets.
func HandleTileMatrixSets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r, "f"); err != nil {
			api.WriteError(w, r, err)
			return
		}
		base := api.BaseURL(r)
		api.WriteJSON(w, http.StatusOK, map[string]any{"tileMatrixSets": []map[string]any{{
			"id": TMSID, "title": "Google Maps Compatible for the World", "uri": TMSURI,
			"links": []link{{Href: base + "/tileMatrixSets/" + TMSID, Rel: "self", Type: "application/json"}},
		}}})
	})
}

// HandleTileMatrixSet serves GET /tileMatrixSets/{tms}.
func HandleTileMatrixSet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r, "f"); err != nil {
			api.WriteError(w, r, err)
			return
		}
		if r.PathValue("tms") != TMSID {
			api.WriteError(w, r, api.NotFound(msgNoTMS))
			return
		}
		api.WriteJSON(w, http.StatusOK, tileMatrixSet())
	})
}
