package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/haiduong/hub/api"
)

// What browsers on other origins may do. Credentials travel in the Authorization header (or the
// key parameter), never in cookies, so the hub never sends Access-Control-Allow-Credentials and
// "*" is safe: a page of another origin can only use a key it already holds.
const (
	corsMethods = "GET, POST, PATCH, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, If-None-Match, X-Request-Id"
	corsExpose  = "ETag, Link, Content-Crs, Retry-After, X-Request-Id"
	// corsMaxAge is how long a browser may keep a preflight's answer; Chromium caps it at 2 h.
	corsMaxAge = "7200"
)

var msgOriginRefused = api.Msg("Nguồn gốc %q không được phép gọi máy chủ này từ trình duyệt (HUB_CORS_ORIGINS)",
	"origin %q may not call this hub from a browser (HUB_CORS_ORIGINS)")

// cors lets web maps and portals of the listed origins call the hub from a browser: it answers
// preflight requests itself and marks every other answer, errors included (a 401 or 429 is
// then readable by the page's script). origins holds "scheme://host[:port]" values or "*";
// none leaves responses without CORS headers (same origin only). It must run before
// authenticate: a preflight carries no credential.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	wildcard := slices.Contains(origins, "*")
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if !wildcard {
			// The answer depends on the Origin: a shared cache must not give one origin's
			// answer to another.
			h.Add("Vary", "Origin")
		}
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
		ok := origin != "" && (wildcard || allowed[strings.ToLower(origin)])
		if ok {
			if wildcard {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
		}
		if !preflight {
			if ok {
				h.Set("Access-Control-Expose-Headers", corsExpose)
			}
			next.ServeHTTP(w, r)
			return
		}
		if !ok {
			api.WriteError(w, r, api.Errorf(http.StatusForbidden, "Forbidden", msgOriginRefused, origin))
			return
		}
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
	})
}
