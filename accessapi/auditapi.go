package accessapi

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/catalog"
)

// The owners' view of the audit log (Decree 47/2020 Art. 45): an agency reads who took what of
// the entries it owns, the operator reads everything.

var (
	msgBadTime      = api.Msg("Giá trị %[2]q của %[1]s không hợp lệ: ghi thời điểm RFC 3339 (2025-03-01T08:00:00+07:00) hoặc một ngày (2025-03-01)", "%[1]s %[2]q: give an RFC 3339 time (2025-03-01T08:00:00+07:00) or a date (2025-03-01)")
	msgBadPeriod    = api.Msg("from phải trước to", "from must come before to")
	msgBadAfter     = api.Msg("Giá trị %q của after không hợp lệ: ghi số thứ tự (seq) của bản ghi cuối trang trước", "after %q: give the seq of the last record of the previous page")
	msgNotYourEntry = api.Msg("Chỉ cơ quan chủ quản của %q xem được nhật ký truy cập của nó", "only the owner of %q reads its audit records")
	msgOwnersOnly   = api.Msg("Nhật ký truy cập dành cho cơ quan chủ quản dữ liệu và người quản trị", "the audit log is for the owners of data and the operator")
)

const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000 // audit.Query's own bound
)

// auditRecord is an audit record as the API shows it.
type auditRecord struct {
	Seq            int64     `json:"seq"`
	At             time.Time `json:"at"`
	Principal      string    `json:"principal"`
	Credential     string    `json:"credential,omitempty"`
	Application    string    `json:"application,omitempty"`
	Entry          string    `json:"entry,omitempty"`
	Collection     string    `json:"collection,omitempty"`
	Operation      string    `json:"operation"`
	Query          string    `json:"query,omitempty"`
	Rows           *int64    `json:"rows,omitempty"`
	Status         int       `json:"status,omitempty"`
	ResponseDigest string    `json:"responseDigest,omitempty"`
	Hash           string    `json:"hash"` // hex; hub audit verify checks the chain
}

// HandleAudit serves GET /audit?from=&to=&agency=&collection=&entry=&limit=&after=: the records
// in seq order, {"records": [...], "next": URL} with next only when there are more. An agency
// sees the records of the entries it owns (asking for another's entry is a 403); the operator
// sees all; anonymous callers get a 401. agency narrows to what that agency did; from and to
// take an RFC 3339 time or a date (a day in Vietnam; to includes that whole day).
func (s *Service) HandleAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "from", "to", "agency", "collection", "entry", "limit", "after")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		p, err := caller(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		f, err := auditFilter(q)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		switch p.Kind {
		case access.Admin:
		case access.Agency:
			owned, err := s.ownedEntries(r.Context(), p.Agency)
			if err != nil {
				api.WriteError(w, r, err)
				return
			}
			if f.Entry != "" && !slices.Contains(owned, f.Entry) {
				api.WriteError(w, r, api.Errorf(http.StatusForbidden, "Forbidden", msgNotYourEntry, f.Entry))
				return
			}
			f.Entries = owned // never nil: owning no entry shows nothing
		default:
			api.WriteError(w, r, api.Errorf(http.StatusForbidden, "Forbidden", msgOwnersOnly))
			return
		}
		recs, err := audit.Query(r.Context(), s.pool, f)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		out := struct {
			Records []auditRecord `json:"records"`
			Next    string        `json:"next,omitempty"`
		}{Records: make([]auditRecord, len(recs))}
		for i, rec := range recs {
			out.Records[i] = auditRecord{Seq: rec.Seq, At: rec.At, Principal: rec.Principal, Credential: rec.CredentialID,
				Application: rec.Application, Entry: rec.EntryID, Collection: rec.Collection, Operation: rec.Operation,
				Query: rec.Query, Rows: rec.Rows, Status: rec.Status, ResponseDigest: rec.ResponseDigest, Hash: hex.EncodeToString(rec.Hash)}
		}
		if len(recs) == f.Limit {
			// A full page may be the last one: look one record further, so that next is only
			// given when it leads somewhere.
			last := recs[len(recs)-1].Seq
			more := f
			more.AfterSeq, more.Limit = last, 1
			rest, err := audit.Query(r.Context(), s.pool, more)
			if err != nil {
				api.WriteError(w, r, err)
				return
			}
			if len(rest) > 0 {
				nq := r.URL.Query()
				nq.Set("after", strconv.FormatInt(last, 10))
				out.Next = api.BaseURL(r) + r.URL.Path + "?" + nq.Encode()
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		api.WriteJSON(w, http.StatusOK, out)
	})
}

// auditFilter reads the query parameters of GET /audit.
func auditFilter(q url.Values) (audit.Filter, error) {
	f := audit.Filter{Entry: q.Get("entry"), Collection: q.Get("collection"), Limit: defaultAuditLimit}
	if a := q.Get("agency"); a != "" {
		f.Principal = access.Agency + ":" + a
	}
	var err error
	if f.From, err = auditTime(q, "from", false); err != nil {
		return f, err
	}
	if f.To, err = auditTime(q, "to", true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, api.BadParam("to", msgBadPeriod)
	}
	if q.Has("limit") {
		if f.Limit, err = api.Limit(q, "limit", 0, maxAuditLimit); err != nil {
			return f, err
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, api.BadParam("after", msgBadAfter, v)
		}
		f.AfterSeq = n
	}
	return f, nil
}

// auditTime reads from or to: an RFC 3339 time, or a date meaning the start of that day in
// Vietnam — for to, the end of it, since the period excludes to.
func auditTime(q url.Values, param string, endOfDay bool) (time.Time, error) {
	v := q.Get(param)
	if v == "" {
		return time.Time{}, nil
	}
	// An unencoded "+07:00" arrives as " 07:00": a query string reads + as a space.
	if t, err := time.Parse(time.RFC3339, strings.Replace(v, " ", "+", 1)); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, vietnam)
	if err != nil {
		return time.Time{}, api.BadParam(param, msgBadTime, param, v)
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// ownedEntries lists the catalogue entries an agency owns; never nil.
func (s *Service) ownedEntries(ctx context.Context, agency string) ([]string, error) {
	entries, err := s.catalog.List(ctx, catalog.Filter{Owner: agency})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids, nil
}
