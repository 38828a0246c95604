package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
)

var (
	msgBadAuthorization = api.Msg("Tiêu đề Authorization phải là \"Bearer <khóa API hoặc mã thông báo>\"", "the Authorization header must be \"Bearer <API key or token>\"")
	msgBadCredential    = api.Msg("Thông tin xác thực bị từ chối: %s", "credential refused: %s")
)

// authenticate finds the principal of every request: anonymous without a credential, else
// from an API key or identity-provider token sent as "Authorization: Bearer …" or, for map
// tiles in a browser, as the key query parameter — which is removed from the request at once,
// so that no handler, cache key or log line ever holds it. A refused credential is a 401: a
// caller who sent one expects it to count, and silently serving it as anonymous would hide
// an expired or revoked key.
func authenticate(cfg Config, authn *access.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cred string
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, v, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(v) == "" {
				unauthorized(w, r, api.Errorf(http.StatusUnauthorized, "Unauthorized", msgBadAuthorization))
				return
			}
			cred = strings.TrimSpace(v)
		}
		// Parsing the query costs on every tile; only one that may hold a key is parsed.
		if strings.Contains(r.URL.RawQuery, "key=") {
			if q := r.URL.Query(); q.Has("key") {
				if cred == "" {
					cred = q.Get("key")
				}
				q.Del("key")
				r.URL.RawQuery = q.Encode()
			}
		}
		p := access.AnonymousPrincipal
		switch {
		case cred == "":
		case isAdminToken(cfg, cred):
			p = access.Principal{Kind: access.Admin, Credential: "admin-token"}
		default:
			var err error
			p, err = authn.Authenticate(r.Context(), cred)
			if access.IsCredentialError(err) {
				unauthorized(w, r, api.Errorf(http.StatusUnauthorized, "InvalidCredential", msgBadCredential, err.Error()))
				return
			}
			if err != nil {
				slog.ErrorContext(r.Context(), "authentication failed", "err", err)
				api.WriteError(w, r, api.Errorf(http.StatusServiceUnavailable, "Unavailable", api.Msg("Không kiểm tra được thông tin xác thực; thử lại sau", "cannot check credentials now; try again later")))
				return
			}
		}
		inner := r.WithContext(access.WithPrincipal(r.Context(), p))
		next.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the request log names the route the mux chose
	})
}

func isAdminToken(cfg Config, cred string) bool {
	sum := sha256.Sum256([]byte(cred))
	return len(cfg.AdminTokenSHA256) > 0 && subtle.ConstantTimeCompare(sum[:], cfg.AdminTokenSHA256) == 1
}

func unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hub", error="invalid_token"`)
	api.WriteError(w, r, err)
}

// requireAdmin lets through only callers with the admin bearer token.
func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if access.From(r.Context()).Kind != access.Admin {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hub"`)
			api.WriteError(w, r, api.Errorf(http.StatusUnauthorized, "Unauthorized", api.MsgUnauthorized))
			return
		}
		next.ServeHTTP(w, r)
	})
}
