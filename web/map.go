package web

import (
	"net/http"

	"github.com/haiduong/hub/api"
)

// mapLinks is what the map page is made of, for ?f=json (the layout links every page's JSON).
type mapLinks struct {
	Title string     `json:"title"`
	Links []api.Link `json:"links"`
}

// HandleMap serves GET /map: the planners' map. The page reads the layers, styles and tiles
// from the hub's own APIs (static/map.js), so the server renders only its frame. It is a page
// first: HTML unless ?f=json asks for its links.
func HandleMap() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, ok := pageFormat(w, r)
		if !ok {
			return
		}
		if format == api.HTML {
			Render(w, r, http.StatusOK, "map", Page{Title: "Bản đồ"})
			return
		}
		base := api.BaseURL(r)
		api.WriteJSON(w, http.StatusOK, mapLinks{
			Title: "Bản đồ — Map",
			Links: []api.Link{
				{Href: base + "/map", Rel: "self", Type: "text/html", Title: "Bản đồ — map"},
				{Href: base + "/styles/default?f=mapbox", Rel: "stylesheet", Type: "application/vnd.mapbox.style+json", Title: "Kiểu bản đồ — map style"},
				{Href: base + "/collections", Rel: "data", Type: "application/json", Title: "Lớp dữ liệu — layers"},
				{Href: base + "/tiles", Rel: "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", Type: "application/json", Title: "Ô bản đồ vector — vector tiles"},
			},
		})
	})
}

// pageFormat is the format a portal page is asked in: HTML first (a page), JSON (?f=json) for
// its links; false when the query is bad, the error written.
func pageFormat(w http.ResponseWriter, r *http.Request) (api.Format, bool) {
	q, err := api.Query(r, "f")
	if err == nil {
		var f api.Format
		if f, err = api.Negotiate(r, q, api.HTML, api.JSON); err == nil {
			return f, true
		}
	}
	api.WriteError(w, r, err)
	return "", false
}
