package web

import "net/http"

// HandleMap serves GET /map: the planners' map. The page reads the layers, styles and tiles
// from the hub's own APIs.
func HandleMap() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Render(w, r, http.StatusOK, "map", Page{Title: "Bản đồ"})
	})
}
