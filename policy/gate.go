package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/layers"
)

var (
	msgNeedCredential = api.Msg("%s (%s) được chia sẻ %s: hãy gửi khóa API của một ứng dụng đã được cấp quyền (Authorization: Bearer …)",
		"%s (%s) is shared as %s data: send the API key of an application that was granted access (Authorization: Bearer …)")
	msgNotGranted = api.Msg("Ứng dụng %q của %s chưa được cấp quyền đọc %s (%s, chia sẻ %s). %s",
		"application %q of %s has no access to %s (%s, shared as %s). %s")
	msgFieldNotGranted = api.Msg("Trường %q của %s được chia sẻ %s; ứng dụng %q chưa được cấp quyền. %s",
		"field %q of %s is shared as %s data; application %q has no access to it. %s")
	msgMaskedKey = api.Msg("Trường khóa %q của %s là dữ liệu cá nhân được che với ứng dụng này; tra cứu theo khóa cần thỏa thuận cho phép xem dữ liệu cá nhân",
		"the key field %q of %s is personal data masked for this application; looking records up by it needs an agreement that unmasks personal data")
	msgUnlogged = api.Msg("Không ghi được nhật ký truy cập nên không trả dữ liệu; thử lại sau",
		"the access log cannot be written, so no data is served; try again later")
	msgPolicyUnavailable = api.Msg("Không đọc được quyền truy cập; thử lại sau", "cannot read access rights now; try again later")
)

// Gate is what every data handler goes through: the policy before it reads, the audit log
// after it has its answer and before it sends it. A nil Gate serves open data only.
type Gate struct {
	decider *Decider
	log     *audit.Log
	pool    *pgxpool.Pool
}

// NewGate returns a gate deciding with d and logging to log.
func NewGate(d *Decider, log *audit.Log) *Gate {
	return &Gate{decider: d, log: log, pool: d.pool}
}

// Policy returns the policy of r's principal.
func (g *Gate) Policy(r *http.Request) (*Policy, error) {
	if g == nil {
		return Open(), nil
	}
	p, err := g.decider.For(r.Context(), access.From(r.Context()))
	if err != nil {
		slog.ErrorContext(r.Context(), "grants unavailable", "err", err)
		return nil, api.Errorf(http.StatusServiceUnavailable, "Unavailable", msgPolicyUnavailable)
	}
	return p, nil
}

// View returns how pol reads l, or the 401/403 that says what would grant access.
func (g *Gate) View(ctx context.Context, pol *Policy, l *layers.Layer) (*View, error) {
	v := pol.View(l)
	if v.Readable() {
		return v, nil
	}
	return nil, g.deny(ctx, v, "")
}

// Deny is the 401/403 for a view the caller may read nothing of.
func (g *Gate) Deny(ctx context.Context, v *View) error { return g.deny(ctx, v, "") }

// DenyField is the 403 (or 401) for a field that exists but the view does not show.
func (g *Gate) DenyField(ctx context.Context, v *View, field string) error {
	return g.deny(ctx, v, field)
}

// DenyMaskedKey is the 403 for a lookup by a key the view masks.
func DenyMaskedKey(v *View) error {
	return api.Errorf(http.StatusForbidden, "Forbidden", msgMaskedKey, v.Layer.KeyField, v.Layer.ID)
}

// grantInfo is the "access" member of a refusal.
type grantInfo struct {
	Entry      string           `json:"entry"`
	Categories []string         `json:"categories"`
	Needs      string           `json:"needs"` // default: a request; specific: an agreement
	Apply      string           `json:"apply"` // where to file it
	Requests   []access.Request `json:"requests,omitempty"`
	Agreements []agreementState `json:"agreements,omitempty"`
}

type agreementState struct {
	ID     int64  `json:"id"`
	State  string `json:"state"`
	Ends   string `json:"ends"`
	Reason string `json:"reason,omitempty"`
}

func (g *Gate) deny(ctx context.Context, v *View, field string) error {
	l := v.Layer
	needs := "specific"
	if field == "" && byRequest(l.Categories) {
		needs = "default"
	}
	if f, ok := l.Field(field); ok && f.Category == "default" && !f.Personal {
		needs = "default"
	}
	info := grantInfo{Entry: l.EntryID, Categories: l.Categories, Needs: needs, Apply: "POST /access/requests"}
	if needs == "specific" {
		info.Apply = "POST /access/agreements"
	}
	p := access.From(ctx)
	if p.Kind != access.Agency {
		what := l.ID
		if field != "" {
			what = l.ID + "." + field
		}
		e := api.Errorf(http.StatusUnauthorized, "Unauthorized", msgNeedCredential, what, l.EntryID, needs)
		e.Access = info
		return e
	}
	hint := g.history(ctx, p, l.EntryID, needs, &info)
	var e *api.Error
	if field != "" {
		e = api.Errorf(http.StatusForbidden, "Forbidden", msgFieldNotGranted, field, l.ID, needs, p.Application, hint)
	} else {
		e = api.Errorf(http.StatusForbidden, "Forbidden", msgNotGranted, p.Application, p.Agency, l.ID, l.EntryID, needs, hint)
	}
	e.Access = info
	return e
}

func byRequest(cats []string) bool {
	for _, c := range cats {
		if c == "default" || c == "open" {
			return true
		}
	}
	return false
}

// history fills info with the application's requests and agreements for the entry and says,
// in one sentence, which would grant access or why the last one does not.
func (g *Gate) history(ctx context.Context, p access.Principal, entry, needs string, info *grantInfo) string {
	file := fmt.Sprintf("File one: %s with entry %q.", info.Apply, entry)
	if g == nil || entry == "" {
		return file
	}
	reqs, err1 := access.ListRequests(ctx, g.pool, access.Filter{Agency: p.Agency, Entry: entry})
	ags, err2 := access.ListAgreements(ctx, g.pool, access.Filter{Agency: p.Agency, Entry: entry})
	if err := errors.Join(err1, err2); err != nil {
		slog.WarnContext(ctx, "access history unavailable", "err", err)
		return file
	}
	var said []string
	for _, r := range reqs {
		if r.Application != p.Application {
			continue
		}
		info.Requests = append(info.Requests, r)
		switch r.Status {
		case access.Submitted:
			said = append(said, fmt.Sprintf("request %d awaits the owner's decision", r.ID))
		case access.Approved:
			if needs == "specific" {
				said = append(said, fmt.Sprintf("request %d connects to default data only; this needs an agreement", r.ID))
			} else {
				said = append(said, fmt.Sprintf("request %d is approved for other fields (%s)", r.ID, strings.Join(r.Fields, ", ")))
			}
		default:
			said = append(said, fmt.Sprintf("request %d was %s: %s", r.ID, r.Status, r.Reason))
		}
	}
	for _, a := range ags {
		if a.Application != p.Application {
			continue
		}
		st := agreementState{ID: a.ID, State: a.State(time.Now()), Ends: a.Ends.Format("2006-01-02"), Reason: a.Reason}
		info.Agreements = append(info.Agreements, st)
		switch st.State {
		case access.Expired:
			said = append(said, fmt.Sprintf("agreement %d ended on %s", a.ID, st.Ends))
		case access.Submitted:
			said = append(said, fmt.Sprintf("agreement %d awaits the owner's decision", a.ID))
		case access.Active:
			said = append(said, fmt.Sprintf("agreement %d is active but does not cover this", a.ID))
		case access.Approved:
			said = append(said, fmt.Sprintf("agreement %d starts on %s", a.ID, a.Starts.Format("2006-01-02")))
		default:
			said = append(said, fmt.Sprintf("agreement %d was %s: %s", a.ID, st.State, a.Reason))
		}
	}
	if len(said) == 0 {
		return file
	}
	return strings.Join(said, "; ") + ". " + file
}

// Digest is the hex SHA-256 of an answer's body, as the audit log keeps it.
func Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Record writes the log entries of an answer drawn from views before it is sent: one record per
// view that discloses non-open data, with rows[i] the rows view i disclosed and digest the
// body's Digest. Nothing is written for open data. The records of one answer (a map tile of
// many layers) are queued together, so they share one commit. An error is a 503 the handler
// must send instead of the body.
func (g *Gate) Record(r *http.Request, views []*View, op string, rows []int64, status int, digest func() string) error {
	var recs []audit.Record
	for i, v := range views {
		if !v.Logged {
			continue
		}
		if recs == nil {
			if g == nil || g.log == nil {
				return api.Errorf(http.StatusServiceUnavailable, "Unavailable", msgUnlogged)
			}
		}
		p := access.From(r.Context())
		n := rows[i]
		recs = append(recs, audit.Record{
			Principal: p.String(), CredentialID: p.Credential, Application: p.Application,
			EntryID: v.Layer.EntryID, Collection: v.Layer.ID, Operation: op, Query: r.URL.RequestURI(),
			Rows: &n, Status: status,
		})
	}
	if len(recs) == 0 {
		return nil
	}
	d := digest()
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	for i := range recs {
		recs[i].ResponseDigest = d
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.log.Record(r.Context(), recs[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		slog.ErrorContext(r.Context(), "audit record failed", "err", err, "operation", op)
		return api.Errorf(http.StatusServiceUnavailable, "Unavailable", msgUnlogged)
	}
	return nil
}
