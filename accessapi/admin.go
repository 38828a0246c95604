package accessapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
)

// The operator's API: what "hub agencies" and "hub keys" do on the command line, over HTTP.
// Every handler here must be mounted behind the server's requireAdmin; each action that
// changes something is written to the audit log before it is answered (see answer).

var (
	msgNoAgency      = api.Msg("Không có cơ quan %q; xem GET /admin/agencies hoặc thêm bằng POST /admin/agencies", "no agency %q; see GET /admin/agencies or add it with POST /admin/agencies")
	msgNoApplication = api.Msg("Cơ quan %[1]s không có ứng dụng %[2]q (các ứng dụng: %[3]s); thêm bằng POST /admin/agencies/%[1]s/applications", "agency %[1]s has no application %[2]q (its applications: %[3]s); add it with POST /admin/agencies/%[1]s/applications")
	msgMissing       = api.Msg("Thiếu trường %q", "the field %q is required")
	msgBadExpiry     = api.Msg("Thời hạn %q không hợp lệ: ghi số ngày (90d), một ngày (2027-01-31) hoặc thời điểm RFC 3339, trong tương lai", "expires %q: give days (90d), a date (2027-01-31) or an RFC 3339 time, in the future")
	msgNoKey         = api.Msg("Không có khóa API %q; xem GET /admin/keys", "no API key %q; see GET /admin/keys")
)

// vietnam is the zone a bare date means (an expiry, an audit period): the hub serves Hải Dương,
// and Vietnam keeps UTC+7 all year, so a fixed zone needs no time-zone database.
var vietnam = time.FixedZone("ICT", 7*60*60)

// HandleAgencies serves GET /admin/agencies: every agency with its applications and the number
// of catalogue entries it owns.
func (s *Service) HandleAgencies() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		list, err := access.ListAgencies(r.Context(), s.pool)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"agencies": list})
	})
}

// HandleAddAgency serves POST /admin/agencies {"id", "name", "nameEn"}.
func (s *Service) HandleAddAgency() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			NameEn string `json:"nameEn"`
		}
		if err := api.Decode(r, &in); err != nil {
			api.WriteError(w, r, err)
			return
		}
		if err := access.AddAgency(r.Context(), s.pool, in.ID, in.Name, in.NameEn); err != nil {
			fail(w, r, err)
			return
		}
		out := access.AgencyInfo{ID: in.ID, Name: in.Name, NameEn: in.NameEn, Applications: []string{}}
		s.answer(w, r, ActionRecord(access.From(r.Context()), "agencies.add", "/admin/agencies/"+in.ID), http.StatusCreated, out, nil)
	})
}

// HandleAddApplication serves POST /admin/agencies/{id}/applications {"id", "name"}.
func (s *Service) HandleAddApplication() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := api.Decode(r, &in); err != nil {
			api.WriteError(w, r, err)
			return
		}
		agency := r.PathValue("id")
		if _, found, err := s.agency(r.Context(), agency); err != nil || !found {
			if err == nil {
				err = api.NotFound(msgNoAgency, agency) // the path names it: a 404, not a 400
			}
			api.WriteError(w, r, err)
			return
		}
		if err := access.AddApplication(r.Context(), s.pool, in.ID, agency, in.Name); err != nil {
			fail(w, r, err)
			return
		}
		out := map[string]string{"id": in.ID, "agency": agency, "name": in.Name}
		rec := ActionRecord(access.From(r.Context()), "applications.add", "/admin/agencies/"+agency+"/applications/"+in.ID)
		s.answer(w, r, rec, http.StatusCreated, out, nil)
	})
}

// HandleKeys serves GET /admin/keys[?agency=]: keys with their public ids, never a secret.
func (s *Service) HandleKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "agency")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		agency := q.Get("agency")
		if agency != "" {
			// An unknown agency would list no keys, which reads as "it has none".
			if _, found, err := s.agency(r.Context(), agency); err != nil || !found {
				if err == nil {
					err = api.BadParam("agency", msgNoAgency, agency)
				}
				api.WriteError(w, r, err)
				return
			}
		}
		keys, err := access.ListKeys(r.Context(), s.pool, agency)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"keys": keys})
	})
}

// HandleCreateKey serves POST /admin/keys {"agency", "application", "label", "expires"}: a 201
// whose body holds the key's secret, the only time it is shown. The secret goes to no log: the
// request log has no bodies, and the audit record names the key by its public id.
func (s *Service) HandleCreateKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Agency      string `json:"agency"`
			Application string `json:"application"`
			Label       string `json:"label"`
			Expires     string `json:"expires"`
		}
		if err := api.Decode(r, &in); err != nil {
			api.WriteError(w, r, err)
			return
		}
		if in.Agency == "" {
			api.WriteError(w, r, api.BadParam("agency", msgMissing, "agency"))
			return
		}
		now := time.Now()
		exp, err := ParseExpiry(in.Expires, now)
		if err != nil || (exp != nil && !exp.After(now)) {
			api.WriteError(w, r, api.BadParam("expires", msgBadExpiry, in.Expires))
			return
		}
		a, found, err := s.agency(r.Context(), in.Agency)
		switch {
		case err != nil:
			api.WriteError(w, r, err)
			return
		case !found:
			api.WriteError(w, r, api.BadParam("agency", msgNoAgency, in.Agency))
			return
		case in.Application != "" && !slices.Contains(a.Applications, in.Application):
			apps := strings.Join(a.Applications, ", ")
			if apps == "" {
				apps = "-"
			}
			api.WriteError(w, r, api.BadParam("application", msgNoApplication, in.Agency, in.Application, apps))
			return
		}
		k, secret, err := access.CreateKey(r.Context(), s.pool, access.NewKey{Agency: in.Agency, Application: in.Application, Label: in.Label, Expires: exp})
		if err != nil {
			fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store") // no proxy or browser cache keeps the secret
		w.Header().Set("Location", "/admin/keys/"+k.ID)
		out := struct {
			access.Key
			Secret string `json:"secret"`
			Note   string `json:"note"`
		}{k, secret, api.Msg("Khóa chỉ được hiển thị một lần này; hãy lưu giữ bí mật", "the key is shown this once; keep it secret").Format()}
		rec := ActionRecord(access.From(r.Context()), "keys.create", "/admin/keys/"+k.ID)
		// An unlogged key must not work: revoked before anyone has seen its secret.
		s.answer(w, r, rec, http.StatusCreated, out, func(ctx context.Context) error { return access.RevokeKey(ctx, s.pool, k.ID) })
	})
}

// HandleRevokeKey serves DELETE /admin/keys/{id} and POST /admin/keys/{id}/revoke: the key
// stops working at once in every hub process. Revoking a revoked key changes nothing and
// answers the same.
func (s *Service) HandleRevokeKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("id")
		err := access.RevokeKey(r.Context(), s.pool, id)
		if errors.Is(err, access.ErrNoKey) {
			api.WriteError(w, r, api.NotFound(msgNoKey, id))
			return
		}
		if err != nil {
			fail(w, r, err)
			return
		}
		keys, err := access.ListKeys(r.Context(), s.pool, "")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		i := slices.IndexFunc(keys, func(k access.Key) bool { return k.ID == id })
		if i < 0 { // it existed a moment ago; keys are never deleted
			api.WriteError(w, r, fmt.Errorf("key %s vanished after its revocation", id))
			return
		}
		s.answer(w, r, ActionRecord(access.From(r.Context()), "keys.revoke", "/admin/keys/"+id), http.StatusOK, keys[i], nil)
	})
}

// agency reads one agency with its applications.
func (s *Service) agency(ctx context.Context, id string) (access.AgencyInfo, bool, error) {
	list, err := access.ListAgencies(ctx, s.pool)
	if err != nil {
		return access.AgencyInfo{}, false, err
	}
	i := slices.IndexFunc(list, func(a access.AgencyInfo) bool { return a.ID == id })
	if i < 0 {
		return access.AgencyInfo{}, false, nil
	}
	return list[i], true, nil
}

// ParseExpiry reads when a key stops working: a number of days from now ("90d"), a date
// ("2027-01-31": the start of that day in Vietnam) or an RFC 3339 time; "" is never (nil).
// The command line and the admin API take the same forms.
func ParseExpiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	bad := fmt.Errorf("%q: give days (90d), a date (2027-01-31) or an RFC 3339 time", s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return nil, bad
		}
		t := now.AddDate(0, 0, n)
		return &t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, vietnam); err == nil {
		return &t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	return nil, bad
}
