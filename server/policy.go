package server

import (
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

var msgBadPolicy = api.Msg("Không đổi được chính sách chia sẻ của %[1]q: %[2]s", "sharing policy of %[1]q not changed: %[3]s")

// handleSetPolicy serves PATCH /collections/{id}/policy (admin only): the collection's and its
// fields' sharing categories and which fields are personal, as layers.Policy JSON. It answers
// the collection as it now is; every hub process follows within moments (NOTIFY).
func handleSetPolicy(pool *pgxpool.Pool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		var p layers.Policy
		if err := api.Decode(r, &p); err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("id")
		err := layers.SetPolicy(r.Context(), pool, id, p)
		var pe *layers.PolicyError
		switch {
		case errors.Is(err, layers.ErrNotFound):
			err = api.NotFound(api.MsgNoCollection, id)
		case errors.As(err, &pe):
			err = api.Errorf(http.StatusBadRequest, "InvalidParameterValue", msgBadPolicy, id, pe.VI, pe.EN)
		}
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		// Read back from the database: this process's registry reloads asynchronously.
		l, err := layers.LoadOne(r.Context(), pool, id)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		api.WriteJSON(w, http.StatusOK, l)
	})
}
