package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Statuses of requests and agreements as stored; an approved agreement is also "active" or
// "expired" by its dates (Agreement.State).
const (
	Submitted = "submitted"
	Approved  = "approved"
	Refused   = "refused"
	Revoked   = "revoked"
	Active    = "active"
	Expired   = "expired"
)

// ErrForbidden and ErrNotFound are wrapped by refusals that are about who asks (a 403) and
// by unknown requests or agreements (a 404); other errors are about what was asked (a 400).
var (
	ErrForbidden = errors.New("not allowed")
	ErrNotFound  = errors.New("not found")
)

// Request is an agency's online request to connect an application to an entry's default data
// (Decree 47/2020 Art. 35).
type Request struct {
	ID          int64      `json:"id"`
	Agency      string     `json:"agency"`
	Application string     `json:"application"`
	Entry       string     `json:"entry"`
	Purpose     string     `json:"purpose"`
	Fields      []string   `json:"fields"`
	Frequency   string     `json:"frequency,omitempty"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason,omitempty"`
	Submitted   time.Time  `json:"submitted"`
	Decided     *time.Time `json:"decided,omitempty"`
	DecidedBy   string     `json:"decidedBy,omitempty"`
}

// Agreement is an agreement to share an entry's specific data (Art. 38): purpose, fields, rows,
// dates, retention and deletion terms.
type Agreement struct {
	ID             int64               `json:"id"`
	Agency         string              `json:"agency"`
	Application    string              `json:"application"`
	Entry          string              `json:"entry"`
	Purpose        string              `json:"purpose"`
	Fields         []string            `json:"fields"`
	UnmaskPersonal bool                `json:"unmaskPersonal"`
	Rows           map[string][]string `json:"rows,omitempty"` // field → allowed values; nil for all rows
	Starts         time.Time           `json:"starts"`
	Ends           time.Time           `json:"ends"` // the last day it holds
	Retention      string              `json:"retention"`
	Status         string              `json:"status"`
	Reason         string              `json:"reason,omitempty"`
	Submitted      time.Time           `json:"submitted"`
	Decided        *time.Time          `json:"decided,omitempty"`
	DecidedBy      string              `json:"decidedBy,omitempty"`
}

// State is the agreement's status at t: an approved agreement is active from its first to its
// last day and expired after.
func (a Agreement) State(t time.Time) string {
	if a.Status != Approved {
		return a.Status
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case day.After(a.Ends):
		return Expired
	case day.Before(a.Starts):
		return Approved
	}
	return Active
}

// RequestInput is what an agency asks for.
type RequestInput struct {
	Application, Entry, Purpose string
	Fields                      []string // empty: every field the default category allows
	Frequency                   string   // e.g. daily, on-demand
}

// AgreementInput is what an agency proposes.
type AgreementInput struct {
	Application, Entry, Purpose string
	Fields                      []string
	UnmaskPersonal              bool
	Rows                        map[string][]string
	Starts, Ends                time.Time // Starts zero: today
	Retention                   string
}

// entryFields reads an entry's categories, owner and the fields of its collections (name →
// personal).
func entryFields(ctx context.Context, pool *pgxpool.Pool, entry string) (cats []string, owner string, autoApprove bool, fields map[string]bool, err error) {
	err = pool.QueryRow(ctx, `SELECT categories, owner_id, auto_approve FROM catalog_entries WHERE id = $1`, entry).Scan(&cats, &owner, &autoApprove)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", false, nil, fmt.Errorf("no catalogue entry %q", entry)
	}
	if err != nil {
		return nil, "", false, nil, err
	}
	rows, err := pool.Query(ctx, `SELECT f.name, bool_or(f.personal) FROM layer_fields f JOIN layers l ON l.id = f.layer_id
WHERE l.entry_id = $1 GROUP BY f.name`, entry)
	if err != nil {
		return nil, "", false, nil, err
	}
	fields = map[string]bool{}
	for rows.Next() {
		var name string
		var personal bool
		if err := rows.Scan(&name, &personal); err != nil {
			return nil, "", false, nil, err
		}
		fields[name] = personal
	}
	return cats, owner, autoApprove, fields, rows.Err()
}

func checkFields(entry string, asked []string, fields map[string]bool, personalAllowed bool) error {
	for _, f := range asked {
		personal, ok := fields[f]
		switch {
		case !ok:
			return fmt.Errorf("entry %s has no field %q", entry, f)
		case personal && !personalAllowed:
			return fmt.Errorf("%s is personal data: it is shared only by an agreement (specific sharing), not by a request", f)
		}
	}
	return nil
}

func requireAgency(p Principal) error {
	if p.Kind != Agency || p.Agency == "" {
		return fmt.Errorf("%w: only an agency (with an API key or token) can ask for data", ErrForbidden)
	}
	return nil
}

// filing checks what every filing shares: an agency files, for its key's application unless
// it names one, for an entry shared in category, asking for fields the entry has (personal
// ones only when personalAllowed). It returns the entry's fields and whether it auto-approves.
func filing(ctx context.Context, pool *pgxpool.Pool, p Principal, app *string, entry, category string, asked []string, personalAllowed bool) (map[string]bool, bool, error) {
	if err := requireAgency(p); err != nil {
		return nil, false, err
	}
	if *app == "" {
		*app = p.Application // the key's own application
	}
	cats, _, auto, fields, err := entryFields(ctx, pool, entry)
	if err != nil {
		return nil, false, err
	}
	if category == "specific" && !slices.Contains(cats, category) {
		// An entry shared by default may still hold personal data or fields shared only by
		// agreement (the population database's citizen numbers): those need an agreement.
		var restricted bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM layer_fields f JOIN layers l ON l.id = f.layer_id
WHERE l.entry_id = $1 AND (f.personal OR f.category = 'specific' OR l.category = 'specific'))`, entry).Scan(&restricted)
		if err != nil {
			return nil, false, err
		}
		if restricted {
			cats = append(cats, category)
		}
	}
	if !slices.Contains(cats, category) {
		if category == "default" {
			return nil, false, fmt.Errorf("entry %s is shared as %s, not by default: its data needs an agreement", entry, strings.Join(cats, ", "))
		}
		return nil, false, fmt.Errorf("entry %s is shared as %s: an agreement is for specific sharing", entry, strings.Join(cats, ", "))
	}
	return fields, auto, checkFields(entry, asked, fields, personalAllowed)
}

// SubmitRequest files p's request. An entry whose owner auto-approves connects at once.
func SubmitRequest(ctx context.Context, pool *pgxpool.Pool, p Principal, in RequestInput) (Request, error) {
	_, auto, err := filing(ctx, pool, p, &in.Application, in.Entry, "default", in.Fields, false)
	if err != nil {
		return Request{}, err
	}
	status, decidedBy := Submitted, any(nil)
	if auto {
		status, decidedBy = Approved, "auto"
	}
	var id int64
	err = pool.QueryRow(ctx, `
INSERT INTO access_requests (agency_id, application_id, entry_id, purpose, fields, frequency, status, decided_by, decided_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8::text IS NULL THEN NULL ELSE now() END) RETURNING id`,
		p.Agency, in.Application, in.Entry, in.Purpose, nonNil(in.Fields), in.Frequency, status, decidedBy).Scan(&id)
	if err != nil {
		return Request{}, filingError(err, p, in.Application)
	}
	return getRequest(ctx, pool, id)
}

// SubmitAgreement files p's proposal of an agreement for an entry's specific data.
func SubmitAgreement(ctx context.Context, pool *pgxpool.Pool, p Principal, in AgreementInput) (Agreement, error) {
	fields, _, err := filing(ctx, pool, p, &in.Application, in.Entry, "specific", in.Fields, true)
	if err != nil {
		return Agreement{}, err
	}
	for f, vals := range in.Rows {
		if _, ok := fields[f]; !ok || len(vals) == 0 {
			return Agreement{}, fmt.Errorf("row restriction %q: name a field of entry %s and at least one value", f, in.Entry)
		}
	}
	if in.Starts.IsZero() {
		in.Starts = time.Now()
	}
	if !in.Ends.After(in.Starts) || in.Ends.Before(time.Now()) {
		return Agreement{}, errors.New("an agreement ends after it starts, and in the future")
	}
	if strings.TrimSpace(in.Retention) == "" {
		return Agreement{}, errors.New("say how long the data is kept and how it is deleted (retention)")
	}
	var rows any
	if in.Rows != nil {
		b, _ := json.Marshal(in.Rows)
		rows = string(b)
	}
	var id int64
	err = pool.QueryRow(ctx, `
INSERT INTO agreements (agency_id, application_id, entry_id, purpose, fields, unmask_personal, row_filter, starts_on, ends_on, retention)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::date, $9::date, $10) RETURNING id`,
		p.Agency, in.Application, in.Entry, in.Purpose, nonNil(in.Fields), in.UnmaskPersonal, rows,
		in.Starts.Format(time.DateOnly), in.Ends.Format(time.DateOnly), in.Retention).Scan(&id)
	if err != nil {
		return Agreement{}, filingError(err, p, in.Application)
	}
	return getAgreement(ctx, pool, id)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func filingError(err error, p Principal, app string) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "application_id_agency_id_fkey"):
		return fmt.Errorf("agency %s has no application %q (hub agencies app)", p.Agency, app)
	case strings.Contains(msg, "access_requests_open"):
		return fmt.Errorf("application %s already has a pending or approved request for this entry", app)
	case strings.Contains(msg, "purpose_check"):
		return errors.New("say what the data is for (purpose)")
	}
	return err
}

// The decisions. Owners (or the operator) approve, refuse and revoke; the requesting agency
// may withdraw its own. Refusing and revoking need a reason, which the requester sees.

// DecideRequest approves or refuses a submitted request.
func DecideRequest(ctx context.Context, pool *pgxpool.Pool, p Principal, id int64, approve bool, reason string) (Request, error) {
	if err := decide(ctx, pool, "access_requests", p, id, approve, reason); err != nil {
		return Request{}, err
	}
	return getRequest(ctx, pool, id)
}

// RevokeRequest ends a submitted or approved request.
func RevokeRequest(ctx context.Context, pool *pgxpool.Pool, p Principal, id int64, reason string) (Request, error) {
	if err := revoke(ctx, pool, "access_requests", p, id, reason); err != nil {
		return Request{}, err
	}
	return getRequest(ctx, pool, id)
}

// DecideAgreement approves or refuses a submitted agreement.
func DecideAgreement(ctx context.Context, pool *pgxpool.Pool, p Principal, id int64, approve bool, reason string) (Agreement, error) {
	if err := decide(ctx, pool, "agreements", p, id, approve, reason); err != nil {
		return Agreement{}, err
	}
	return getAgreement(ctx, pool, id)
}

// RevokeAgreement ends a submitted or approved agreement.
func RevokeAgreement(ctx context.Context, pool *pgxpool.Pool, p Principal, id int64, reason string) (Agreement, error) {
	if err := revoke(ctx, pool, "agreements", p, id, reason); err != nil {
		return Agreement{}, err
	}
	return getAgreement(ctx, pool, id)
}

// parties reads who filed a request or agreement, who owns its entry and its status.
func parties(ctx context.Context, pool *pgxpool.Pool, table string, id int64) (agency, owner, status string, err error) {
	err = pool.QueryRow(ctx, `SELECT t.agency_id, e.owner_id, t.status FROM `+pgx.Identifier{table}.Sanitize()+` t
JOIN catalog_entries e ON e.id = t.entry_id WHERE t.id = $1`, id).Scan(&agency, &owner, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("%w: no %s %d", ErrNotFound, strings.TrimSuffix(strings.ReplaceAll(table, "_", " "), "s"), id)
	}
	return
}

func decide(ctx context.Context, pool *pgxpool.Pool, table string, p Principal, id int64, approve bool, reason string) error {
	_, owner, status, err := parties(ctx, pool, table, id)
	if err != nil {
		return err
	}
	if p.Kind != Admin && (p.Kind != Agency || p.Agency != owner) {
		return fmt.Errorf("%w: only the owner of the entry (%s) decides", ErrForbidden, owner)
	}
	if status != Submitted {
		return fmt.Errorf("it is %s already; only a submitted one is decided", status)
	}
	next := Approved
	if !approve {
		next = Refused
		if strings.TrimSpace(reason) == "" {
			return errors.New("a refusal needs a reason, which the requesting agency sees")
		}
	}
	if table == "agreements" && approve {
		var ended bool
		if err := pool.QueryRow(ctx, `SELECT ends_on < current_date FROM agreements WHERE id = $1`, id).Scan(&ended); err != nil {
			return err
		}
		if ended {
			return errors.New("the agreement's last day has passed: refuse it and ask for a new one")
		}
	}
	return setStatus(ctx, pool, table, id, Submitted, next, reason, p)
}

func revoke(ctx context.Context, pool *pgxpool.Pool, table string, p Principal, id int64, reason string) error {
	agency, owner, status, err := parties(ctx, pool, table, id)
	if err != nil {
		return err
	}
	if p.Kind != Admin && (p.Kind != Agency || (p.Agency != owner && p.Agency != agency)) {
		return fmt.Errorf("%w: only the owner of the entry (%s) or the requesting agency (%s) can end it", ErrForbidden, owner, agency)
	}
	if status != Submitted && status != Approved {
		return fmt.Errorf("it is %s already", status)
	}
	if strings.TrimSpace(reason) == "" {
		return errors.New("say why it ends (reason)")
	}
	return setStatus(ctx, pool, table, id, status, Revoked, reason, p)
}

// decider names who decided: "agency:so-xay-dung", "admin" or "admin:" and the credential.
func decider(p Principal) string {
	if p.Kind == Admin && p.Agency == "" {
		if p.Credential != "" {
			return Admin + ":" + p.Credential
		}
		return Admin
	}
	return p.String()
}

// setStatus moves a request or agreement from status from to status to; if another decision
// came first, it says so instead of overwriting it.
func setStatus(ctx context.Context, pool *pgxpool.Pool, table string, id int64, from, to, reason string, p Principal) error {
	tag, err := pool.Exec(ctx, `UPDATE `+pgx.Identifier{table}.Sanitize()+`
SET status = $2, reason = $3, decided_at = now(), decided_by = $4 WHERE id = $1 AND status = $5`, id, to, reason, decider(p), from)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("it was decided meanwhile (it is no longer %s); list it again", from)
	}
	return err
}

const requestColumns = `id, agency_id, application_id, entry_id, purpose, fields, frequency, status, reason, submitted_at, decided_at, COALESCE(decided_by, '')`

func scanRequest(row pgx.CollectableRow) (Request, error) {
	var r Request
	err := row.Scan(&r.ID, &r.Agency, &r.Application, &r.Entry, &r.Purpose, &r.Fields, &r.Frequency, &r.Status, &r.Reason, &r.Submitted, &r.Decided, &r.DecidedBy)
	return r, err
}

func getRequest(ctx context.Context, pool *pgxpool.Pool, id int64) (Request, error) {
	rows, _ := pool.Query(ctx, `SELECT `+requestColumns+` FROM access_requests WHERE id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanRequest)
}

const agreementColumns = `id, agency_id, application_id, entry_id, purpose, fields, unmask_personal, row_filter, starts_on, ends_on,
retention, status, reason, submitted_at, decided_at, COALESCE(decided_by, '')`

func scanAgreement(row pgx.CollectableRow) (Agreement, error) {
	var a Agreement
	err := row.Scan(&a.ID, &a.Agency, &a.Application, &a.Entry, &a.Purpose, &a.Fields, &a.UnmaskPersonal, &a.Rows, &a.Starts, &a.Ends,
		&a.Retention, &a.Status, &a.Reason, &a.Submitted, &a.Decided, &a.DecidedBy)
	return a, err
}

func getAgreement(ctx context.Context, pool *pgxpool.Pool, id int64) (Agreement, error) {
	rows, _ := pool.Query(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanAgreement)
}

// Filter selects requests or agreements: a consumer's own (Agency) or an owner's queue (Owner).
type Filter struct{ Agency, Owner, Entry, Status string }

const filterWhere = ` t WHERE ($1 = '' OR t.agency_id = $1)
  AND ($2 = '' OR t.entry_id IN (SELECT id FROM catalog_entries WHERE owner_id = $2))
  AND ($3 = '' OR t.entry_id = $3) AND ($4 = '' OR t.status = $4) ORDER BY t.id`

// ListRequests lists requests, oldest first.
func ListRequests(ctx context.Context, pool *pgxpool.Pool, f Filter) ([]Request, error) {
	rows, _ := pool.Query(ctx, `SELECT `+requestColumns+` FROM access_requests`+filterWhere, f.Agency, f.Owner, f.Entry, f.Status)
	return pgx.CollectRows(rows, scanRequest)
}

// ListAgreements lists agreements, oldest first.
func ListAgreements(ctx context.Context, pool *pgxpool.Pool, f Filter) ([]Agreement, error) {
	rows, _ := pool.Query(ctx, `SELECT `+agreementColumns+` FROM agreements`+filterWhere, f.Agency, f.Owner, f.Entry, f.Status)
	return pgx.CollectRows(rows, scanAgreement)
}

// Grant is what an application may read of an entry beyond open data, and why.
type Grant struct {
	Entry    string              `json:"entry"`
	Category string              `json:"category"` // default (a request) or specific (an agreement)
	Fields   []string            `json:"fields"`   // empty: every field the category allows
	Unmask   bool                `json:"unmaskPersonal,omitempty"`
	Rows     map[string][]string `json:"rows,omitempty"`
	Source   string              `json:"source"` // "request 12", "agreement 5": what a 403 cites
}

// GrantSet is what one application may read beyond open data.
type GrantSet []Grant

// For returns the grants that cover an entry (a request, an agreement, or both).
func (g GrantSet) For(entry string) []Grant {
	var out []Grant
	for _, x := range g {
		if x.Entry == entry {
			out = append(out, x)
		}
	}
	return out
}

// Grants lists what an agency's application may read at t: its approved requests and its
// active agreements. Enforcement reads this (cached per process, forgotten on NOTIFY).
func Grants(ctx context.Context, pool *pgxpool.Pool, agency, application string, t time.Time) (GrantSet, error) {
	var out GrantSet
	reqs, err := ListRequests(ctx, pool, Filter{Agency: agency, Status: Approved})
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if r.Application == application {
			out = append(out, Grant{Entry: r.Entry, Category: "default", Fields: r.Fields, Source: fmt.Sprintf("request %d", r.ID)})
		}
	}
	ags, err := ListAgreements(ctx, pool, Filter{Agency: agency, Status: Approved})
	if err != nil {
		return nil, err
	}
	for _, a := range ags {
		if a.Application == application && a.State(t) == Active {
			out = append(out, Grant{Entry: a.Entry, Category: "specific", Fields: a.Fields, Unmask: a.UnmaskPersonal, Rows: a.Rows,
				Source: fmt.Sprintf("agreement %d", a.ID)})
		}
	}
	return out, nil
}
