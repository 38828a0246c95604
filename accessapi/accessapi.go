// Package accessapi is the HTTP face of access control: a consuming agency files and follows
// its requests and agreements, an owner works through the queue of its entries and reads the
// audit records of its entries, and the operator manages agencies, applications and keys
// (admin.go) and reads the whole audit log (auditapi.go). Who is asking comes from the
// request's principal (server's authentication); what is allowed is decided in package access.
// Every administrative action is written to the audit log before it is answered.
package accessapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/catalog"
)

var (
	msgRefused     = api.Msg("Không thực hiện được: %s", "cannot do that: %s")
	msgBadID       = api.Msg("Mã %q không phải là số", "id %q is not a number")
	msgUnavailable = api.Msg("Cơ sở dữ liệu tạm thời không truy cập được; thử lại sau", "the database cannot be reached now; try again later")
	msgNotLogged   = api.Msg("Không ghi được nhật ký truy cập, nên thao tác %s không được xác nhận; kiểm tra trạng thái trước khi thử lại sau",
		"the audit log cannot be written, so %s is not confirmed; check the state before trying again later")
)

// Service serves the access API on a database, logging administrative actions to log.
type Service struct {
	pool    *pgxpool.Pool
	log     *audit.Log
	catalog *catalog.Store
}

// New returns the service. log must be started; while it cannot write, every administrative
// action is answered with a 503.
func New(pool *pgxpool.Pool, log *audit.Log) *Service {
	return &Service{pool: pool, log: log, catalog: catalog.NewStore(pool)}
}

// Actor names a principal in the audit log: "agency:so-tai-chinh", or "admin" for the operator.
func Actor(p access.Principal) string {
	if p.Kind == access.Admin && p.Agency == "" {
		return access.Admin // Principal.String would say "admin:"
	}
	return p.String()
}

// ActionRecord is the audit record of an administrative action by p. Its Query is the path of
// the resource acted on ("/admin/keys/hub_abcd2345", "/access/requests/12"), the same whether
// the action came over HTTP or from the command line, so that the log says which key was made
// or which request was approved.
func ActionRecord(p access.Principal, operation, path string) audit.Record {
	return audit.Record{Principal: Actor(p), CredentialID: p.Credential, Application: p.Application,
		Operation: operation, Query: path}
}

// answer writes the audit record of an action that has been done, then answers with body.
//
// Why after the action and before the answer: the record must say what was done — the new key's
// id, the request's number and entry, the status — and that exists only once the action has
// run; the access functions commit on their own, so action and record cannot share one
// transaction. Recording before the answer means no caller ever sees a success that is not in
// the log: if the record cannot be written the answer is a 503 saying the action is not
// confirmed (never "done, but not logged"), and undo, when given, takes back what can be taken
// back (a new key is revoked before its secret is ever shown). Log and action share the
// database, so a database that is down fails the action itself first; what is left is a log
// that fails between the two (closed at shutdown, its queue full), which the 503 reports.
func (s *Service) answer(w http.ResponseWriter, r *http.Request, rec audit.Record, status int, body any, undo func(context.Context) error) {
	rec.Status = status
	if err := s.log.Record(r.Context(), rec); err != nil {
		slog.ErrorContext(r.Context(), "administrative action not logged", "operation", rec.Operation, "resource", rec.Query, "err", err)
		if undo != nil {
			// The request's context may be what ended; the undo must still run.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
			defer cancel()
			if uerr := undo(ctx); uerr != nil {
				slog.ErrorContext(r.Context(), "undo of an unlogged action failed", "operation", rec.Operation, "resource", rec.Query, "err", uerr)
			}
		}
		api.WriteError(w, r, api.Errorf(http.StatusServiceUnavailable, "AuditUnavailable", msgNotLogged, rec.Operation))
		return
	}
	api.WriteJSON(w, status, body)
}

// caller is the principal of r, or a 401 for an anonymous one.
func caller(r *http.Request) (access.Principal, error) {
	p := access.From(r.Context())
	if p.Kind == access.Anonymous {
		return p, api.Errorf(http.StatusUnauthorized, "Unauthorized", api.MsgUnauthorized)
	}
	return p, nil
}

// fail maps access's refusals to statuses: who asks (403), what is unknown (404), what was
// asked (400). A database that cannot be reached is not the caller's mistake: a 503.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusBadRequest, "InvalidParameterValue"
	switch {
	case unreachable(err):
		slog.ErrorContext(r.Context(), "access action failed", "err", err)
		api.WriteError(w, r, api.Errorf(http.StatusServiceUnavailable, "Unavailable", msgUnavailable))
		return
	case errors.Is(err, access.ErrForbidden):
		status, code = http.StatusForbidden, "Forbidden"
	case errors.Is(err, access.ErrNotFound):
		status, code = http.StatusNotFound, "NotFound"
	}
	api.WriteError(w, r, api.Errorf(status, code, msgRefused, err.Error()))
}

// unreachable says whether err is the database failing (no connection, a timeout) rather than
// a refusal of what was asked.
func unreachable(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err)
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
		rec := ActionRecord(p, "requests.submit", fmt.Sprintf("/access/requests/%d", req.ID))
		rec.EntryID = req.Entry
		s.answer(w, r, rec, http.StatusCreated, req, nil)
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
		rec := ActionRecord(p, "agreements.submit", fmt.Sprintf("/access/agreements/%d", ag.ID))
		rec.EntryID = ag.Entry
		s.answer(w, r, rec, http.StatusCreated, ag, nil)
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
		var entry, filer string // the entry and the requesting agency, for the audit record
		switch {
		case kind == "requests" && (action == "approve" || action == "refuse"):
			var req access.Request
			req, err = access.DecideRequest(ctx, s.pool, p, id, action == "approve", in.Reason)
			out, entry, filer = req, req.Entry, req.Agency
		case kind == "requests" && action == "revoke":
			var req access.Request
			req, err = access.RevokeRequest(ctx, s.pool, p, id, in.Reason)
			out, entry, filer = req, req.Entry, req.Agency
		case kind == "agreements" && (action == "approve" || action == "refuse"):
			var ag access.Agreement
			ag, err = access.DecideAgreement(ctx, s.pool, p, id, action == "approve", in.Reason)
			out, entry, filer = ag, ag.Entry, ag.Agency
		case kind == "agreements" && action == "revoke":
			var ag access.Agreement
			ag, err = access.RevokeAgreement(ctx, s.pool, p, id, in.Reason)
			out, entry, filer = ag, ag.Entry, ag.Agency
		default:
			api.WriteError(w, r, api.NotFound(api.Msg("Không có thao tác %s", "no such action: %s"), kind+"/"+action))
			return
		}
		if err != nil {
			fail(w, r, err)
			return
		}
		rec := ActionRecord(p, kind+"."+decision(action, p, filer), fmt.Sprintf("/access/%s/%d", kind, id))
		rec.EntryID = entry
		s.answer(w, r, rec, http.StatusOK, out, nil)
	})
}

// decision names a decision in the audit log: approve, refuse, revoke — or withdraw when the
// requesting agency itself ends what it filed.
func decision(action string, p access.Principal, filer string) string {
	if action == "revoke" && p.Kind == access.Agency && p.Agency == filer {
		return "withdraw"
	}
	return action
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
