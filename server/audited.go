package server

import (
	"log/slog"
	"net/http"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/accessapi"
	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/audit"
)

// audited logs an administrative action of next (operation op on the path's {id}, an entry
// when entry is true, else a collection) once it has succeeded and before its answer leaves:
// the answer is held, and replaced by a 503 when the record cannot be written, so that no
// caller sees a success the log does not hold. A refused action (4xx/5xx) changed nothing
// and is not logged.
func audited(log *audit.Log, op string, entry bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held := api.NewHeld()
		next.ServeHTTP(held, r)
		if held.Status < 400 {
			a := accessapi.ActionRecord(access.From(r.Context()), op, r.URL.Path)
			if entry {
				a.EntryID = r.PathValue("id")
			} else {
				a.Collection = r.PathValue("id")
			}
			a.Status = held.Status
			if err := log.Record(r.Context(), a); err != nil {
				slog.ErrorContext(r.Context(), "administrative action not logged", "operation", op, "err", err)
				api.WriteError(w, r, api.Errorf(http.StatusServiceUnavailable, "AuditUnavailable",
					api.Msg("Không ghi được nhật ký nên thao tác %s chưa được xác nhận; hãy kiểm tra trước khi thử lại",
						"the log could not be written, so %s is not confirmed; check the state before trying again"), op))
				return
			}
		}
		held.SendHeaders(w)
		w.Write(held.Body.Bytes())
	})
}
