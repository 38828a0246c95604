package server

import (
	"net/http"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/web"
)

// landing is the OGC API landing page.
type landing struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Links       []api.Link `json:"links"`
}

func handleLanding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, format, err := api.Request(r, api.JSONOrHTML)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		base := api.BaseURL(r)
		l := landing{
			Title: "Kho cơ sở dữ liệu dùng chung Hải Dương — Hải Dương shared data hub",
			Description: "Kho và cổng dữ liệu dùng chung kết nối 30 cơ sở dữ liệu của tỉnh Hải Dương (nay thuộc thành phố Hải Phòng), " +
				"chia sẻ theo Nghị định 47/2020/NĐ-CP. — The warehouse and portal through which the agencies share the province's 30 databases.",
			Links: []api.Link{
				{Href: base + "/", Rel: "self", Type: "application/json", Title: "Trang này — this document"},
				{Href: base + "/?f=html", Rel: "alternate", Type: "text/html", Title: "Trang này dạng HTML — this document as HTML"},
				{Href: base + "/api", Rel: "service-desc", Type: "application/vnd.oai.openapi+json;version=3.0", Title: "Tài liệu API (OpenAPI 3.0) — API definition"},
				{Href: base + "/conformance", Rel: "conformance", Type: "application/json", Title: "Chuẩn tuân thủ — conformance classes"},
				{Href: base + "/map", Rel: "related", Type: "text/html", Title: "Bản đồ — map"},
				{Href: base + "/collections", Rel: "data", Type: "application/json", Title: "Lớp dữ liệu không gian — spatial collections"},
				{Href: base + "/catalog", Rel: "http://www.opengis.net/def/rel/ogc/1.0/data-meta", Type: "application/json", Title: "Danh mục cơ sở dữ liệu dùng chung — shared-database catalogue"},
				{Href: base + "/layers", Rel: "related", Type: "application/json", Title: "Sổ đăng ký lớp và báo cáo chất lượng — layer registry and quality reports"},
				{Href: base + "/agencies", Rel: "related", Type: "application/json", Title: "Cơ quan quản lý — owner agencies"},
				{Href: base + "/health", Rel: "status", Type: "application/json", Title: "Tình trạng hệ thống — health"},
				{Href: base + "/metrics", Rel: "monitor", Type: "text/plain", Title: "Số liệu vận hành (Prometheus) — metrics"},
			},
		}
		if format == api.HTML {
			web.Render(w, r, http.StatusOK, "landing", web.Page{Title: "Trang chủ", Data: l})
			return
		}
		api.WriteJSON(w, http.StatusOK, l)
	})
}
