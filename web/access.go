package web

import (
	"net/http"

	"github.com/haiduong/hub/api"
)

// accessPolicy keeps the API key the access page holds from going anywhere but this hub: the
// page may run only its own scripts and fetch only its own origin, and no form on it may post
// elsewhere. The icon of the layout is a data: URL.
const accessPolicy = "default-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
	"base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

// HandleAccess serves GET /portal/access: the page on which an agency files access requests
// (Decree 47/2020 Art. 35) and agreements (Art. 38), follows its own and, as an owner, decides
// those for its entries. The page talks to the /access API with the key the user pastes
// (static/access.js), so the server renders only its frame and never sees the key here.
func HandleAccess() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, ok := pageFormat(w, r)
		if !ok {
			return
		}
		if format == api.HTML {
			w.Header().Set("Content-Security-Policy", accessPolicy)
			w.Header().Set("Referrer-Policy", "no-referrer")
			Render(w, r, http.StatusOK, "access", Page{Title: "Yêu cầu khai thác dữ liệu"})
			return
		}
		base := api.BaseURL(r)
		api.WriteJSON(w, http.StatusOK, mapLinks{
			Title: "Yêu cầu và thỏa thuận khai thác dữ liệu — data access requests and agreements",
			Links: []api.Link{
				{Href: base + "/portal/access", Rel: "self", Type: "text/html", Title: "Yêu cầu khai thác dữ liệu — access requests"},
				{Href: base + "/access/requests", Rel: "related", Type: "application/json", Title: "Yêu cầu và thỏa thuận (cần khóa API) — requests and agreements (API key needed)"},
				{Href: base + "/access/grants", Rel: "related", Type: "application/json", Title: "Quyền khai thác hiện có (cần khóa API) — current grants (API key needed)"},
				{Href: base + "/catalog", Rel: "http://www.opengis.net/def/rel/ogc/1.0/data-meta", Type: "application/json", Title: "Danh mục cơ sở dữ liệu dùng chung — shared-database catalogue"},
			},
		})
	})
}
