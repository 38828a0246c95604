// Package styles serves the MapLibre style documents of the layers (OGC API – Styles shape):
// JSON files in this folder, readable and reviewable, with tile URLs made absolute for the
// caller. It reads layers only through the registry.
package styles

import (
	"net/http"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

// Service serves styles.
type Service struct{ reg *layers.Registry }

// NewService returns the styles service.
func NewService(reg *layers.Registry) *Service { return &Service{reg: reg} }

// HandleList serves GET /styles.
func (s *Service) HandleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]any{"styles": []any{}})
	})
}

// HandleStyle serves GET /styles/{id}.
func (s *Service) HandleStyle() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, r, api.NotFound(api.Msg("Không có kiểu bản đồ %q", "no style %q"), r.PathValue("id")))
	})
}
