// Package spatial serves the warehouse's spatial layers over HTTP: their registry entries and
// quality reports now, the OGC API Features endpoints later. It reads layers only through the
// registry and never names a table the registry did not give it.
package spatial

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

var msgNoLayer = api.Msg("Không có lớp dữ liệu %q; xem danh sách tại /layers", "no layer %q; see /layers for the list")

// HandleLayers serves GET /layers: every registered layer with its data version.
func HandleLayers(reg *layers.Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"layers": reg.List()})
	})
}

// layerResponse is a layer with the quality report of its current data version.
type layerResponse struct {
	*layers.Layer
	Quality json.RawMessage `json:"qualityReport,omitempty"`
}

// HandleLayer serves GET /layers/{id}: the layer's definition and its latest quality report.
func HandleLayer(reg *layers.Registry, pool *pgxpool.Pool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("id")
		l, ok := reg.Get(id)
		if !ok {
			api.WriteError(w, r, api.NotFound(msgNoLayer, id))
			return
		}
		resp := layerResponse{Layer: l}
		err := pool.QueryRow(r.Context(), `SELECT report FROM imports WHERE layer_id = $1 ORDER BY data_version DESC, id DESC LIMIT 1`, id).Scan(&resp.Quality)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			api.WriteError(w, r, err)
			return
		}
		w.Header().Set("ETag", `"`+l.ID+`-v`+strconv.FormatInt(l.DataVersion, 10)+`"`)
		api.WriteJSON(w, http.StatusOK, resp)
	})
}
