package spatial

import (
	"net/http"

	"github.com/haiduong/hub/api"
)

// filterLangs are the filter languages /items accepts. "cql-text" is the pre-standard name
// that GDAL 3.6 looks for in the OpenAPI document before it pushes -where to the server; it
// is read as cql2-text.
var filterLangs = []string{"cql2-text", "cql2-json", "cql-text"}

func param(name, in, desc string, schema map[string]any, required bool) map[string]any {
	p := map[string]any{"name": name, "in": in, "description": desc, "schema": schema, "required": required}
	if in == "query" {
		p["style"], p["explode"] = "form", false
	}
	return p
}

var str = map[string]any{"type": "string"}

// commonItemParams are the parameters of every /items path.
func commonItemParams() []any {
	return []any{
		param("f", "query", "Định dạng — response format", map[string]any{"type": "string", "enum": []string{"json", "html"}}, false),
		param("limit", "query", "Số đối tượng tối đa mỗi trang — features per page", map[string]any{"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit}, false),
		param("bbox", "query", "Hộp bao minx,miny,maxx,maxy (4 hoặc 6 số) — bounding box", map[string]any{"type": "array", "minItems": 4, "maxItems": 6, "items": map[string]any{"type": "number"}}, false),
		param("bbox-crs", "query", "Hệ tọa độ của bbox — CRS of bbox", map[string]any{"type": "string", "format": "uri"}, false),
		param("crs", "query", "Hệ tọa độ kết quả — CRS of the response", map[string]any{"type": "string", "format": "uri"}, false),
		param("datetime", "query", "Thời điểm hoặc khoảng thời gian (RFC 3339) — instant or interval", str, false),
		param("properties", "query", "Thuộc tính trả về — properties to return", map[string]any{"type": "array", "items": str}, false),
		param("skipGeometry", "query", "Bỏ hình học — leave out geometries", map[string]any{"type": "boolean", "default": false}, false),
		param("sortby", "query", "Sắp xếp, ví dụ -dien_tich,so_thua — sort keys, + ascending, - descending", map[string]any{"type": "array", "items": str}, false),
		param("cursor", "query", "Vị trí trang (theo liên kết next/prev) — page position from next/prev links", str, false),
		param("filter", "query", "Bộ lọc CQL2 — CQL2 filter", str, false),
		param("filter-lang", "query", "Ngôn ngữ bộ lọc — filter language", map[string]any{"type": "string", "enum": filterLangs, "default": "cql2-text"}, false),
		param("filter-crs", "query", "Hệ tọa độ của hình học trong bộ lọc — CRS of geometries in the filter", map[string]any{"type": "string", "format": "uri"}, false),
	}
}

// HandleAPI serves GET /api: the OpenAPI 3.0 document of the whole service, with every
// collection's paths and its queryables as parameters.
func (s *Service) HandleAPI(extra map[string]any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r, "f"); err != nil {
			api.WriteError(w, r, err)
			return
		}
		ok := func(desc, mediaType string) map[string]any {
			return map[string]any{"200": map[string]any{"description": desc, "content": map[string]any{mediaType: map[string]any{}}},
				"400": map[string]any{"description": "Tham số sai — bad parameter"}}
		}
		get := func(summary, opID, mediaType string, params []any) map[string]any {
			return map[string]any{"get": map[string]any{"summary": summary, "operationId": opID, "parameters": params, "responses": ok(summary, mediaType)}}
		}
		paths := map[string]any{
			"/":             get("Trang chủ — landing page", "getLandingPage", "application/json", nil),
			"/conformance":  get("Chuẩn tuân thủ — conformance classes", "getConformance", "application/json", nil),
			"/api":          get("Tài liệu OpenAPI — this document", "getAPI", "application/vnd.oai.openapi+json;version=3.0", nil),
			"/collections":  get("Các lớp dữ liệu — collections", "getCollections", "application/json", nil),
			"/health":       get("Tình trạng — health", "getHealth", "application/json", nil),
			"/catalog":      get("Danh mục cơ sở dữ liệu — catalogue", "getCatalog", "application/json", []any{param("q", "query", "Tìm kiếm không dấu — search", str, false)}),
			"/catalog/{id}": get("Một cơ sở dữ liệu — catalogue entry", "getCatalogEntry", "application/json", []any{param("id", "path", "Mã — id", str, true)}),
		}
		for k, v := range extra {
			paths[k] = v
		}
		for _, l := range s.reg.List() {
			base := "/collections/" + l.ID
			params := commonItemParams()
			for _, f := range l.OpenFields() {
				sch := fieldSchema(f)
				params = append(params, param(f.Name, "query", f.Title+" — "+f.TitleEn+" (bằng — equals)", map[string]any{"type": sch.Type}, false))
			}
			paths[base] = get(l.Title, "describeCollection-"+l.ID, "application/json", nil)
			paths[base+"/items"] = get(l.Title+": các đối tượng — features", "getFeatures-"+l.ID, "application/geo+json", params)
			paths[base+"/items/{featureId}"] = get(l.Title+": một đối tượng — one feature", "getFeature-"+l.ID, "application/geo+json",
				[]any{param("featureId", "path", "Mã đối tượng — feature id", map[string]any{"type": "integer"}, true),
					param("crs", "query", "Hệ tọa độ kết quả — CRS of the response", map[string]any{"type": "string", "format": "uri"}, false)})
			paths[base+"/queryables"] = get(l.Title+": thuộc tính lọc được — queryables", "getQueryables-"+l.ID, "application/schema+json", nil)
			paths[base+"/changes"] = get(l.Title+": thay đổi từ một phiên bản — changes since a data version", "getChanges-"+l.ID, "application/geo+json",
				[]any{param("since", "query", "Phiên bản dữ liệu hoặc thời điểm RFC 3339 — data version or RFC 3339 time", str, true),
					param("limit", "query", "Số thay đổi mỗi trang — changes per page", map[string]any{"type": "integer", "minimum": 1}, false),
					param("after", "query", "Tiếp tục sau đối tượng (từ liên kết next) — continue after (from the next link)", map[string]any{"type": "integer"}, false),
					param("until", "query", "Phiên bản cuối của lần đọc (từ liên kết next) — the read's last version (from the next link)", map[string]any{"type": "integer"}, false)})
		}
		doc := map[string]any{
			"openapi": "3.0.3",
			"info": map[string]any{
				"title":       "Kho dữ liệu dùng chung Hải Dương — shared data hub API",
				"version":     "1.0",
				"description": "OGC API – Features (Parts 1, 2) over the province's shared databases.",
			},
			"servers": []any{map[string]any{"url": api.BaseURL(r)}},
			"paths":   paths,
		}
		api.WriteJSONType(w, http.StatusOK, "application/vnd.oai.openapi+json;version=3.0", doc)
	})
}
