// Package accessapi is the HTTP face of access requests and agreements: a consuming agency
// files and follows its own, an owner works through the queue of its entries, and both end
// them with a reason. Who is asking comes from the request's principal (server's
// authentication); what is allowed is decided in package access.
package accessapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
)

var (
	msgRefused = api.Msg("Không thực hiện được: %s", "cannot do that: %s")
	msgBadID   = api.Msg("Mã %q không phải là số", "id %q is not a number")
)

// Service serves the requests API on a database.
type Service struct{ pool *pgxpool.Pool }

// New returns the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// caller is the principal of r, or a 401 for an anonymous one.
func caller(r *http.Request) (access.Principal, error) {
	p := access.From(r.Context())
	if p.Kind == access.Anonymous {
		return p, api.Errorf(http.StatusUnauthorized, "Unauthorized", api.MsgUnauthorized)
	}
	return p, nil
}

// fail maps access's refusals to statuses: who asks (403), what is unknown (404), what was
// asked (400).
func fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusBadRequest, "InvalidParameterValue"
	switch {
	case errors.Is(err, access.ErrForbidden):
		status, code = http.StatusForbidden, "Forbidden"
	case errors.Is(err, access.ErrNotFound):
		status, code = http.StatusNotFound, "NotFound"
	}
	api.WriteError(w, r, api.Errorf(status, code, msgRefused, err.Error()))
}

// HandleList serves GET /access/requests: the caller's own requests and agreements and, for an
// owner, those for its entries (?status= narrows); the operator sees all.
func (s *Service) HandleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "status", "entry")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		p, err := caller(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		base := access.Filter{Entry: q.Get("entry"), Status: q.Get("status")}
		views := map[string]access.Filter{"all": base}
		if p.Kind != access.Admin {
			mine, toDecide := base, base
			mine.Agency, toDecide.Owner = p.Agency, p.Agency
			views = map[string]access.Filter{"mine": mine, "toDecide": toDecide}
		}
		out := map[string]any{}
		for name, f := range views {
			reqs, err := access.ListRequests(r.Context(), s.pool, f)
			if err == nil {
				var ags []access.Agreement
				ags, err = access.ListAgreements(r.Context(), s.pool, f)
				out[name] = map[string]any{"requests": reqs, "agreements": ags}
			}
			if err != nil {
				api.WriteError(w, r, err)
				return
			}
		}
		api.WriteJSON(w, http.StatusOK, out)
	})
}

// HandleSubmitRequest serves POST /access/requests.
func (s *Service) HandleSubmitRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Application string   `json:"application"`
			Entry       string   `json:"entry"`
			Purpose     string   `json:"purpose"`
			Fields      []string `json:"fields"`
			Frequency   string   `json:"frequency"`
		}
		p, ok := s.prepare(w, r, &in)
		if !ok {
			return
		}
		req, err := access.SubmitRequest(r.Context(), s.pool, p, access.RequestInput{Application: in.Application, Entry: in.Entry,
			Purpose: in.Purpose, Fields: in.Fields, Frequency: in.Frequency})
		if err != nil {
			fail(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusCreated, req)
	})
}

// HandleSubmitAgreement serves POST /access/agreements.
func (s *Service) HandleSubmitAgreement() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Application    string              `json:"application"`
			Entry          string              `json:"entry"`
			Purpose        string              `json:"purpose"`
			Fields         []string            `json:"fields"`
			UnmaskPersonal bool                `json:"unmaskPersonal"`
			Rows           map[string][]string `json:"rows"`
			Starts         string              `json:"starts"`
			Ends           string              `json:"ends"`
			Retention      string              `json:"retention"`
		}
		p, ok := s.prepare(w, r, &in)
		if !ok {
			return
		}
		a := access.AgreementInput{Application: in.Application, Entry: in.Entry, Purpose: in.Purpose, Fields: in.Fields,
			UnmaskPersonal: in.UnmaskPersonal, Rows: in.Rows, Retention: in.Retention}
		for _, d := range []struct {
			name, text string
			into       *time.Time
		}{{"starts", in.Starts, &a.Starts}, {"ends", in.Ends, &a.Ends}} {
			if d.text == "" {
				continue
			}
			t, err := time.Parse(time.DateOnly, d.text)
			if err != nil {
				api.WriteError(w, r, api.BadParam(d.name, api.MsgBadBody, d.name+" must be a date such as 2027-12-31"))
				return
			}
			*d.into = t
		}
		ag, err := access.SubmitAgreement(r.Context(), s.pool, p, a)
		if err != nil {
			fail(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusCreated, ag)
	})
}

// HandleAction serves POST /access/{kind}/{id}/{action}: approve, refuse or revoke a request
// (kind "requests") or an agreement ("agreements"), with {"reason": …} where one is needed.
func (s *Service) HandleAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		p, err := caller(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if r.ContentLength != 0 { // approving needs no body
			if err := api.Decode(r, &in); err != nil {
				api.WriteError(w, r, err)
				return
			}
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			api.WriteError(w, r, api.NotFound(msgBadID, r.PathValue("id")))
			return
		}
		ctx, kind, action := r.Context(), r.PathValue("kind"), r.PathValue("action")
		var out any
		switch {
		case kind == "requests" && (action == "approve" || action == "refuse"):
			out, err = access.DecideRequest(ctx, s.pool, p, id, action == "approve", in.Reason)
		case kind == "requests" && action == "revoke":
			out, err = access.RevokeRequest(ctx, s.pool, p, id, in.Reason)
		case kind == "agreements" && (action == "approve" || action == "refuse"):
			out, err = access.DecideAgreement(ctx, s.pool, p, id, action == "approve", in.Reason)
		case kind == "agreements" && action == "revoke":
			out, err = access.RevokeAgreement(ctx, s.pool, p, id, in.Reason)
		default:
			api.WriteError(w, r, api.NotFound(api.Msg("Không có thao tác %s", "no such action: %s"), kind+"/"+action))
			return
		}
		if err != nil {
			fail(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, out)
	})
}

// HandleGrants serves GET /access/grants: what the caller's application may read now.
func (s *Service) HandleGrants() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		p, err := caller(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		g, err := access.Grants(r.Context(), s.pool, p.Agency, p.Application, time.Now())
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"principal": p, "grants": g})
	})
}

// prepare checks the caller and decodes the body.
func (s *Service) prepare(w http.ResponseWriter, r *http.Request, into any) (access.Principal, bool) {
	p, err := caller(r)
	if err == nil {
		err = api.Decode(r, into)
	}
	if err != nil {
		api.WriteError(w, r, err)
		return p, false
	}
	return p, true
}
