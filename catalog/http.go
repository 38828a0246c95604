package catalog

import (
	"errors"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/web"
)

var (
	msgNoEntry  = api.Msg("Không có cơ sở dữ liệu %q trong danh mục", "no catalogue entry %q")
	msgAgency   = api.Msg("Không có cơ quan mã %q; xem danh sách tại /agencies", "no agency with id %q; see /agencies for the list")
	msgQTooLong = api.Msg("Từ khóa tìm kiếm dài quá %d ký tự", "search text longer than %d characters")
	msgInvalid  = api.Msg("Trường %q không hợp lệ: %s", "invalid field %q: %s")
)

const maxQ = 200

// listResponse is the JSON of GET /catalog.
type listResponse struct {
	Entries        []Entry    `json:"entries"`
	NumberMatched  int        `json:"numberMatched"`
	NumberReturned int        `json:"numberReturned"`
	Links          []api.Link `json:"links"`
}

// HandleList serves GET /catalog: every entry matching q, owner, category and kind.
func HandleList(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, format, err := api.Request(r, api.JSONOrHTML, "q", "owner", "category", "kind")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		f, err := filterFrom(r, s, q)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		entries, err := s.List(r.Context(), f)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if format == api.HTML {
			agencies, err := s.Agencies(r.Context())
			if err != nil {
				api.WriteError(w, r, err)
				return
			}
			web.Render(w, r, http.StatusOK, "catalog", web.Page{Title: "Danh mục cơ sở dữ liệu dùng chung", Data: map[string]any{
				"Entries": entries, "Filter": f, "Agencies": agencies, "Categories": Categories}})
			return
		}
		self := api.BaseURL(r) + r.URL.RequestURI()
		api.WriteJSON(w, http.StatusOK, listResponse{
			Entries: entries, NumberMatched: len(entries), NumberReturned: len(entries),
			Links: []api.Link{{Href: self, Rel: "self", Type: "application/json"}},
		})
	})
}

func filterFrom(r *http.Request, s *Store, q map[string][]string) (Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := Filter{Q: get("q"), Owner: get("owner"), Category: get("category"), Kind: get("kind")}
	if utf8.RuneCountInString(f.Q) > maxQ {
		return f, api.BadParam("q", msgQTooLong, maxQ)
	}
	if f.Category != "" && !slices.Contains(Categories, f.Category) {
		return f, api.BadParam("category", api.MsgBadChoice, "category", f.Category, "open, default, specific")
	}
	if f.Kind != "" && !slices.Contains(Kinds, f.Kind) {
		return f, api.BadParam("kind", api.MsgBadChoice, "kind", f.Kind, "spatial, nonspatial")
	}
	if f.Owner != "" {
		if _, err := s.Agency(r.Context(), f.Owner); errors.Is(err, ErrNotFound) {
			return f, api.BadParam("owner", msgAgency, f.Owner)
		} else if err != nil {
			return f, err
		}
	}
	return f, nil
}

// HandleGet serves GET /catalog/{id}.
func HandleGet(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, format, err := api.Request(r, api.JSONOrHTML)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("id")
		e, err := s.Get(r.Context(), id)
		if errors.Is(err, ErrNotFound) {
			err = api.NotFound(msgNoEntry, id)
		}
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if format == api.HTML {
			web.Render(w, r, http.StatusOK, "entry", web.Page{Title: e.Name, Data: e})
			return
		}
		api.WriteJSON(w, http.StatusOK, e)
	})
}

// HandleAgencies serves GET /agencies.
func HandleAgencies(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r, "f"); err != nil {
			api.WriteError(w, r, err)
			return
		}
		as, err := s.Agencies(r.Context())
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"agencies": as})
	})
}

// HandlePatch serves PATCH /catalog/{id}: a JSON object with the fields to change.
func HandlePatch(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Patch
		if err := api.Decode(r, &p); err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("id")
		e, err := s.Update(r.Context(), id, p)
		writeEdit(w, r, http.StatusOK, id, e, err)
	})
}

// HandleCreate serves POST /catalog: a new entry with its id.
func HandleCreate(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"id"`
			Patch
		}
		if err := api.Decode(r, &body); err != nil {
			api.WriteError(w, r, err)
			return
		}
		e, err := s.Create(r.Context(), body.ID, body.Patch)
		if err == nil {
			w.Header().Set("Location", "/catalog/"+e.ID)
		}
		writeEdit(w, r, http.StatusCreated, body.ID, e, err)
	})
}

func writeEdit(w http.ResponseWriter, r *http.Request, status int, id string, e Entry, err error) {
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrNotFound):
		err = api.NotFound(msgNoEntry, id)
	case errors.As(err, &ve):
		err = api.Errorf(http.StatusBadRequest, "InvalidParameterValue", msgInvalid, ve.Field, ve.Reason)
	}
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, status, e)
}
