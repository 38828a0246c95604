package sources

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/connect"
)

// The operator's API for sources: what "hub sources" does on the command line, over HTTP.
// Every handler must be mounted behind the server's requireAdmin, the writing ones inside its
// audited wrapper too:
//
//	GET    /admin/sources[?collection=&entry=]         the sources, with their last runs
//	POST   /admin/sources                              add one (201); 409 when the id is taken
//	GET    /admin/sources/{source}                     one, with its last run
//	PATCH  /admin/sources/{source}                     change the fields given (JSON merge patch)
//	DELETE /admin/sources/{source}                     remove it and its runs (the collection stays)
//	POST   /admin/sources/{source}/run[?wait=true]     queue a run, or run it in the request
//	POST   /admin/sources/{source}/pause | /resume     stop or restart its schedule
//	GET    /admin/sources/{source}/runs[?limit=]       its runs, newest first
//	GET    /admin/sources/{source}/runs/{run}/rejects[?limit=]   the rows a run refused
//
// The path names the source {source}, not {id}: the audit wrapper files an {id} as an entry or
// a collection, and a source is neither; its record names the source by the path.
//
// Credentials (header values, the secret) are given in clear or as env:NAME and sealed before
// they are stored; answers show "env:NAME" or "(encrypted)", and no message repeats a value.

// API serves the sources' administrative endpoints.
type API struct {
	pool *pgxpool.Pool
	jobs *Jobs
}

// NewAPI returns the handlers; jobs (or its client) may be nil when the job queue could not
// be made: a queued run is then refused with a 503, a run with ?wait=true still works.
func NewAPI(pool *pgxpool.Pool, jobs *Jobs) *API { return &API{pool: pool, jobs: jobs} }

const (
	defaultRunsLimit    = 20
	maxRunsLimit        = 500
	defaultRejectsLimit = 100
	maxRejectsLimit     = 1000 // the store keeps a thousand a run
	// Encrypted is how answers show a credential stored encrypted; given back in a PATCH it
	// keeps the stored value.
	Encrypted = "(encrypted)"
)

// The English half of a refusal carries the detail, which is English text from the checks;
// "%.0s" consumes the argument in the Vietnamese half without printing it twice.
var (
	msgNoSource   = api.Msg("Không có nguồn dữ liệu %q; xem GET /admin/sources", "no source %q; see GET /admin/sources")
	msgNoRun      = api.Msg("Nguồn dữ liệu %[1]q không có lần chạy %[2]s; xem GET /admin/sources/%[1]s/runs", "source %[1]q has no run %[2]s; see GET /admin/sources/%[1]s/runs")
	msgBadSource  = api.Msg("Định nghĩa nguồn dữ liệu không hợp lệ%.0s", "invalid source definition: %s")
	msgBadField   = api.Msg("Trường %[1]q không hợp lệ%.0[2]s", "field %[1]q: %[2]s")
	msgNotAField  = api.Msg("Trường %[1]q không thuộc định nghĩa nguồn dữ liệu; các trường: %[2]s", "%[1]q is not a field of a source's definition; the fields are: %[2]s")
	msgNoEntry    = api.Msg("Danh mục không có mục %q; xem GET /catalog", "entry %q is not in the catalogue; see GET /catalog")
	msgExists     = api.Msg("Nguồn dữ liệu %[1]q đã có; sửa bằng PATCH /admin/sources/%[1]s hoặc xóa trước", "source %[1]q exists; change it with PATCH /admin/sources/%[1]s or delete it first")
	msgRename     = api.Msg("Không đổi được mã nguồn dữ liệu (%[1]q thành %[2]q); thêm nguồn mới rồi xóa nguồn cũ", "a source's id cannot change (%[1]q to %[2]q); add a new source and delete the old one")
	msgRunning    = api.Msg("Nguồn dữ liệu %q đang được đồng bộ; xem GET /admin/sources/%[1]s/runs", "source %q is being synchronised already; see GET /admin/sources/%[1]s/runs")
	msgNoQueue    = api.Msg("Hàng đợi công việc không hoạt động; chạy ngay bằng ?wait=true", "the job queue is not available; run the source in the request with ?wait=true")
	reasonWaiting = "a run is waiting or under way"
)

// definition maps the JSON fields a caller may set (a source's definition, not the state its
// runs write) to their index in Source.
var definition = func() map[string]int {
	state := map[string]bool{"nextRunAt": true, "cursor": true, "validator": true, "lastSuccessAt": true, "lastRun": true}
	out := map[string]int{}
	t := reflect.TypeFor[Source]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && !state[name] {
			out[name] = i
		}
	}
	return out
}()

func badRequest(field string, m api.Message, args ...any) *api.Error {
	return &api.Error{Status: http.StatusBadRequest, Exception: api.Exception{Code: "InvalidParameterValue",
		Description: m.Format(args...), Parameter: field}}
}

// HandleList serves GET /admin/sources[?collection=&entry=]: the sources (credentials named,
// never shown) with their last runs, and the connector types there are.
func (a *API) HandleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "collection", "entry")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		list, err := List(r.Context(), a.pool, q.Get("collection"), q.Get("entry"))
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		out := make([]Source, 0, len(list))
		for _, s := range list {
			out = append(out, s.Public())
		}
		type connector struct {
			Type        string `json:"type"`
			Description string `json:"description"`
		}
		var conns []connector
		for _, t := range connect.Types() {
			c, _ := connect.Get(t)
			conns = append(conns, connector{t, c.Describe()})
		}
		w.Header().Set("Cache-Control", "no-store")
		api.WriteJSON(w, http.StatusOK, map[string]any{"sources": out, "connectors": conns})
	})
}

// HandleAdd serves POST /admin/sources: the body is a source's definition, its credentials in
// clear or as env:NAME. The answer is the stored source (201).
func (a *API) HandleAdd() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		var given map[string]json.RawMessage
		if err := api.Decode(r, &given); err != nil {
			api.WriteError(w, r, err)
			return
		}
		var s Source
		if err := edit(&s, given); err != nil {
			api.WriteError(w, r, err)
			return
		}
		if _, err := Get(r.Context(), a.pool, s.ID); err == nil {
			api.WriteError(w, r, api.Errorf(http.StatusConflict, "Conflict", msgExists, s.ID))
			return
		} else if !errors.Is(err, ErrNotFound) {
			api.WriteError(w, r, err)
			return
		}
		a.save(w, r, &s, http.StatusCreated)
	})
}

// HandleGet serves GET /admin/sources/{source}.
func (a *API) HandleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		a.writeSource(w, r)
	})
}

// HandlePatch serves PATCH /admin/sources/{source}: the fields given replace the stored ones,
// as a JSON merge patch — null resets a field; in headers, options and mapping, null removes
// one name and the names not given stay. A credential given anew is sealed; "(encrypted)"
// keeps the stored one. Changing the connector, endpoint or change detection makes the next
// run start afresh (see Save).
func (a *API) HandlePatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		stored, err := a.get(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		var given map[string]json.RawMessage
		if err := api.Decode(r, &given); err != nil {
			api.WriteError(w, r, err)
			return
		}
		s := *stored
		if err := edit(&s, given); err != nil {
			api.WriteError(w, r, err)
			return
		}
		if s.ID != stored.ID {
			api.WriteError(w, r, badRequest("id", msgRename, stored.ID, s.ID))
			return
		}
		a.save(w, r, &s, http.StatusOK)
	})
}

// save checks and stores s and answers with it as stored.
func (a *API) save(w http.ResponseWriter, r *http.Request, s *Source, status int) {
	if err := s.Check(); err != nil {
		api.WriteError(w, r, badRequest("", msgBadSource, err.Error()))
		return
	}
	var known bool
	if err := a.pool.QueryRow(r.Context(), `SELECT EXISTS (SELECT FROM catalog_entries WHERE id = $1)`, s.Entry).Scan(&known); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if !known {
		api.WriteError(w, r, badRequest("entry", msgNoEntry, s.Entry))
		return
	}
	if err := Save(r.Context(), a.pool, s); err != nil {
		api.WriteError(w, r, err)
		return
	}
	saved, err := Get(r.Context(), a.pool, s.ID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/admin/sources/"+saved.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, status, saved.Public())
}

// HandleDelete serves DELETE /admin/sources/{source}: the source and its runs go (204); the
// collection keeps its data.
func (a *API) HandleDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("source")
		if err := Delete(r.Context(), a.pool, id); err != nil {
			api.WriteError(w, r, notFound(err, id))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// HandleSetPaused serves POST /admin/sources/{source}/pause (paused) and /resume: the answer
// is the source.
func (a *API) HandleSetPaused(paused bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("source")
		if err := SetPaused(r.Context(), a.pool, id, paused); err != nil {
			api.WriteError(w, r, notFound(err, id))
			return
		}
		a.writeSource(w, r)
	})
}

// HandleRun serves POST /admin/sources/{source}/run. It queues a run (202 {"queued": true}, or
// 200 {"queued": false} when one waits or runs already). With ?wait=true it runs the source in
// the request and answers the run: 200 when it applied or found nothing changed, 502 when the
// source failed, 504 when it went over its time limit, 409 when a run is under way.
func (a *API) HandleRun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "wait")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		wait, err := api.OneOf(q, "wait", "true", "false")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("source")
		w.Header().Set("Cache-Control", "no-store")
		if wait != "true" {
			if a.jobs == nil || a.jobs.Client == nil {
				api.WriteError(w, r, api.Errorf(http.StatusServiceUnavailable, "Unavailable", msgNoQueue))
				return
			}
			queued, err := Enqueue(r.Context(), a.pool, a.jobs.Client, id, "api")
			switch {
			case err != nil:
				api.WriteError(w, r, notFound(err, id))
			case queued:
				api.WriteJSON(w, http.StatusAccepted, map[string]any{"source": id, "queued": true})
			default:
				api.WriteJSON(w, http.StatusOK, map[string]any{"source": id, "queued": false, "reason": reasonWaiting})
			}
			return
		}
		// The run goes on if the caller leaves: its own time limit bounds it, and a run cut
		// short by a closed connection would only have to be made again.
		run, err := Sync(context.WithoutCancel(r.Context()), a.pool, id, RunOptions{Trigger: "api"})
		switch {
		case errors.Is(err, ErrNotFound):
			api.WriteError(w, r, api.NotFound(msgNoSource, id))
		case errors.Is(err, ErrRunning):
			api.WriteError(w, r, api.Errorf(http.StatusConflict, "Conflict", msgRunning, id))
		case err != nil && run == nil:
			api.WriteError(w, r, err)
		case err != nil && (run.Status == "timed out" || errors.Is(err, ErrTimedOut)):
			api.WriteJSON(w, http.StatusGatewayTimeout, run)
		case err != nil:
			api.WriteJSON(w, http.StatusBadGateway, run)
		default:
			api.WriteJSON(w, http.StatusOK, run)
		}
	})
}

// HandleRuns serves GET /admin/sources/{source}/runs[?limit=]: the latest runs, newest first
// (20 unless limit says, at most 500).
func (a *API) HandleRuns() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, limit, err := a.listing(r, defaultRunsLimit, maxRunsLimit)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		runs, err := Runs(r.Context(), a.pool, s.ID, limit)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if runs == nil {
			runs = []Run{}
		}
		w.Header().Set("Cache-Control", "no-store")
		api.WriteJSON(w, http.StatusOK, map[string]any{"source": s.ID, "runs": runs})
	})
}

// HandleRejects serves GET /admin/sources/{source}/runs/{run}/rejects[?limit=]: the rows the
// run refused, with the reasons (100 unless limit says, at most 1000).
func (a *API) HandleRejects() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, limit, err := a.listing(r, defaultRejectsLimit, maxRejectsLimit)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		id, runParam := r.PathValue("source"), r.PathValue("run")
		run, err := strconv.ParseInt(runParam, 10, 64)
		var found bool
		if err == nil {
			err = a.pool.QueryRow(r.Context(), `SELECT EXISTS (SELECT FROM sync_runs WHERE id = $1 AND source_id = $2)`, run, id).Scan(&found)
			if err != nil {
				api.WriteError(w, r, err)
				return
			}
		}
		if !found {
			api.WriteError(w, r, api.NotFound(msgNoRun, id, runParam))
			return
		}
		rejects, err := Rejects(r.Context(), a.pool, run, limit)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if rejects == nil {
			rejects = []Reject{}
		}
		w.Header().Set("Cache-Control", "no-store")
		api.WriteJSON(w, http.StatusOK, map[string]any{"source": id, "run": run, "rejects": rejects})
	})
}

// listing reads what a list under a source takes: its only parameter, limit, and the source.
func (a *API) listing(r *http.Request, def, max int) (*Source, int, error) {
	q, err := api.Query(r, "limit")
	if err != nil {
		return nil, 0, err
	}
	limit, err := api.Limit(q, "limit", def, max)
	if err != nil {
		return nil, 0, err
	}
	s, err := a.get(r)
	return s, limit, err
}

// get loads the path's source, a 404 when there is none.
func (a *API) get(r *http.Request) (*Source, error) {
	id := r.PathValue("source")
	s, err := Get(r.Context(), a.pool, id)
	return s, notFound(err, id)
}

// notFound turns ErrNotFound into the caller's 404.
func notFound(err error, id string) error {
	if errors.Is(err, ErrNotFound) {
		return api.NotFound(msgNoSource, id)
	}
	return err
}

// edit sets the fields given on s, the others left as they are. null resets a field; in
// headers, options and mapping it removes one name, and names not given stay (a JSON merge
// patch). Credentials are sealed; "(encrypted)" keeps the one stored. Errors name the field
// and never repeat a credential.
func edit(s *Source, given map[string]json.RawMessage) error {
	for _, name := range slices.Sorted(maps.Keys(given)) {
		raw := given[name]
		i, ok := definition[name]
		if !ok {
			return badRequest(name, msgNotAField, name, strings.Join(slices.Sorted(maps.Keys(definition)), ", "))
		}
		null := string(bytes.TrimSpace(raw)) == "null"
		var err error
		switch name {
		case "headers":
			s.Headers, err = mergeMap(s.Headers, raw, null, headerName, func(h, v, stored string) (string, error) {
				if h == "" {
					return "", errors.New("a header needs a name")
				}
				return sealGiven("header "+h, v, stored)
			})
		case "options", "mapping":
			m := &s.Options
			if name == "mapping" {
				m = &s.Mapping
			}
			*m, err = mergeMap(*m, raw, null, strings.TrimSpace, func(k, v, _ string) (string, error) {
				if k == "" {
					return "", errors.New("a name is empty")
				}
				return v, nil
			})
		case "secret":
			var v *string
			if err = json.Unmarshal(raw, &v); err == nil {
				if v == nil || *v == "" {
					s.Secret = ""
				} else {
					s.Secret, err = sealGiven("the secret", *v, s.Secret)
				}
			}
		default:
			f := reflect.ValueOf(s).Elem().Field(i)
			if null {
				f.SetZero()
			} else {
				err = json.Unmarshal(raw, f.Addr().Interface())
			}
		}
		if err != nil {
			return badRequest(name, msgBadField, name, cleanJSONError(err))
		}
	}
	return nil
}

// mergeMap applies a JSON object of names to strings (or null: remove the name) to m. norm
// gives a name's stored spelling; set turns a given value into the stored one (stored is the
// name's present value).
func mergeMap(m map[string]string, raw json.RawMessage, null bool, norm func(string) string, set func(k, v, stored string) (string, error)) (map[string]string, error) {
	if null {
		return nil, nil
	}
	var given map[string]*string
	if err := json.Unmarshal(raw, &given); err != nil {
		return m, err
	}
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(given)) {
		key := norm(k)
		if given[k] == nil {
			delete(out, key)
			continue
		}
		v, err := set(key, *given[k], out[key])
		if err != nil {
			return m, err
		}
		out[key] = v
	}
	return out, nil
}

// headerName is a header's stored spelling (Authorization, X-Api-Key).
func headerName(h string) string { return http.CanonicalHeaderKey(strings.TrimSpace(h)) }

// sealGiven turns a credential a caller gave into its stored form; "(encrypted)" keeps the
// stored one. Messages name what, never the value.
func sealGiven(what, v, stored string) (string, error) {
	switch {
	case v == Encrypted:
		if strings.HasPrefix(stored, "enc:") {
			return stored, nil
		}
		return "", fmt.Errorf("%s: %q stands for a value stored encrypted, and there is none; give the value in clear or as env:NAME", what, Encrypted)
	case strings.HasPrefix(v, "enc:"):
		return "", fmt.Errorf("%s: give the value in clear or as env:NAME, not a stored form", what)
	}
	sealed, err := Seal(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return sealed, nil
}

// cleanJSONError drops the "json: " prefix of a decoding error.
func cleanJSONError(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

// writeSource answers the source of the request's path as it is now.
func (a *API) writeSource(w http.ResponseWriter, r *http.Request) {
	s, err := a.get(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, s.Public())
}
