// Package catalog is the province's shared-database catalogue: the 30 databases of the decision,
// their owner agencies and sharing categories, searchable without diacritics. It serves
// metadata only; the data of an entry is served (and guarded) by the packages that hold it.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/unicode/norm"
)

// The sharing categories of Decree 47/2020, in the decision's order.
var Categories = []string{"open", "default", "specific"}

// Kinds of entry: map-bearing (PostGIS) or records linked to places by attribute.
var Kinds = []string{"spatial", "nonspatial"}

// Agency is an organisation that owns (manages and operates) catalogue entries.
type Agency struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEn string `json:"nameEn"`
}

// Entry is one shared database of the catalogue.
type Entry struct {
	ID         string    `json:"id"`
	Number     int       `json:"number"`
	Name       string    `json:"name"`
	NameEn     string    `json:"nameEn"`
	Owner      Agency    `json:"owner"`
	Purpose    string    `json:"purpose"`
	Scope      string    `json:"scope"`
	Content    string    `json:"content"`
	Source     string    `json:"source"`
	Categories []string  `json:"categories"`
	Kind       string    `json:"kind"`
	Updated    time.Time `json:"updated"`
	// Connection says whether the hub holds the entry's data: the collections loaded from it,
	// and why there are none when there are none.
	Connection Connection `json:"connection"`
}

// Connection statuses.
const (
	Connected    = "connected"     // the entry's data is in the hub as collections
	NotConnected = "not-connected" // nothing loaded yet, or nothing to load (see Note)
)

// Connection is the state of an entry's data in the hub.
type Connection struct {
	Status      string   `json:"status"`
	Collections []string `json:"collections"`
	Note        string   `json:"note,omitempty"`
	// Sources are the source systems the hub synchronises the entry's collections from, with
	// their freshness (the last successful run) and the status of the last run.
	Sources []SourceStatus `json:"sources"`
}

// SourceStatus is a source system's connection as the public catalogue shows it: no endpoint,
// no error text (those are for administrators).
type SourceStatus struct {
	Source      string     `json:"source"`
	Collection  string     `json:"collection"`
	Connector   string     `json:"connector"`
	Schedule    *string    `json:"schedule"`
	Paused      bool       `json:"paused"`
	LastSuccess *time.Time `json:"lastSuccess"`
	LastRun     *time.Time `json:"lastRun"`
	Status      string     `json:"status"` // of the last run: succeeded, unchanged, failed, timed out, running, never run
}

// Filter selects entries; zero fields select everything.
type Filter struct {
	Q        string // words to find, diacritics and case ignored
	Owner    string // agency id
	Category string
	Kind     string
}

// Store reads and edits the catalogue in PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ErrNotFound is returned for an unknown entry or agency id.
var ErrNotFound = errors.New("not found")

const selectEntries = `
SELECT e.id, e.number, e.name, e.name_en, a.id, a.name, a.name_en,
       e.purpose, e.scope, e.content, e.source, e.categories, e.kind, e.updated_at,
       ARRAY(SELECT l.id FROM layers l WHERE l.entry_id = e.id ORDER BY l.id), e.connection_note,
       COALESCE((SELECT json_agg(json_build_object('source', s.id, 'collection', s.collection, 'connector', s.connector,
                     'schedule', s.schedule, 'paused', s.paused, 'lastSuccess', s.last_success_at,
                     'lastRun', r.started_at, 'status', COALESCE(r.status, 'never run')) ORDER BY s.id)
                 FROM sources s LEFT JOIN LATERAL (SELECT started_at, status FROM sync_runs WHERE source_id = s.id ORDER BY id DESC LIMIT 1) r ON true
                 WHERE s.entry_id = e.id), '[]')
FROM catalog_entries e JOIN agencies a ON a.id = e.owner_id`

// The owner's name is searched too ("giao thong" finds the transport department's entries), so
// the entry's stored vector is extended with it at query time; the catalogue is small enough
// that this costs nothing.
const searchVector = `(e.search || setweight(to_tsvector('simple', lower(hub_unaccent(a.name || ' ' || a.name_en))), 'B'))`

// List returns the entries that match f. Entries whose text holds the words of f.Q as a phrase
// come first by relevance; when no entry holds the phrase, entries holding every word match.
func (s *Store) List(ctx context.Context, f Filter) ([]Entry, error) {
	words := Words(f.Q)
	if len(words) == 0 {
		return s.list(ctx, f, "")
	}
	phrase := tsQuery(words, " <-> ")
	entries, err := s.list(ctx, f, phrase)
	if err != nil || len(entries) > 0 || len(words) == 1 {
		return entries, err
	}
	return s.list(ctx, f, tsQuery(words, " & "))
}

func (s *Store) list(ctx context.Context, f Filter, tsq string) ([]Entry, error) {
	order := "e.number"
	if tsq != "" {
		order = "ts_rank(" + searchVector + ", to_tsquery('simple', hub_unaccent($1))) DESC, e.number"
	}
	sql := selectEntries + `
WHERE ($1 = '' OR ` + searchVector + ` @@ to_tsquery('simple', hub_unaccent($1)))
  AND ($2 = '' OR e.owner_id = $2)
  AND ($3 = '' OR $3 = ANY (e.categories))
  AND ($4 = '' OR e.kind = $4)
ORDER BY ` + order
	rows, err := s.pool.Query(ctx, sql, tsq, f.Owner, f.Category, f.Kind)
	if err != nil {
		return nil, fmt.Errorf("list catalogue: %w", err)
	}
	return pgx.CollectRows(rows, scanEntry)
}

// Words splits a search text into lower-case words of letters and digits. Diacritics are left
// for PostgreSQL's unaccent, which, unlike Unicode decomposition, also folds Đ/đ.
func Words(q string) []string {
	return strings.FieldsFunc(strings.ToLower(norm.NFC.String(q)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// tsQuery joins words into a to_tsquery text; list passes it through hub_unaccent, the same
// function that built the stored vectors. The last word matches as a prefix, so that a search
// box finds "giao thông" while the user is still typing "giao th".
func tsQuery(words []string, op string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		// Words hold only letters and digits, so quoting them is enough to keep to_tsquery's
		// operators out; the value still travels as a bind parameter.
		parts[i] = "'" + w + "'"
	}
	parts[len(parts)-1] += ":*"
	return strings.Join(parts, op)
}

func scanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	err := row.Scan(&e.ID, &e.Number, &e.Name, &e.NameEn, &e.Owner.ID, &e.Owner.Name, &e.Owner.NameEn,
		&e.Purpose, &e.Scope, &e.Content, &e.Source, &e.Categories, &e.Kind, &e.Updated,
		&e.Connection.Collections, &e.Connection.Note, &e.Connection.Sources)
	e.Connection.Status = NotConnected
	if len(e.Connection.Collections) > 0 {
		e.Connection.Status = Connected
	}
	return e, err
}

// Get returns one entry by id.
func (s *Store) Get(ctx context.Context, id string) (Entry, error) {
	rows, err := s.pool.Query(ctx, selectEntries+` WHERE e.id = $1`, id)
	if err != nil {
		return Entry{}, fmt.Errorf("get catalogue entry %s: %w", id, err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanEntry)
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	return e, err
}

// Agencies returns every agency, by name.
func (s *Store) Agencies(ctx context.Context) ([]Agency, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, name_en FROM agencies ORDER BY hub_unaccent(name)`)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Agency])
}

// Agency returns one agency by id.
func (s *Store) Agency(ctx context.Context, id string) (Agency, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, name_en FROM agencies WHERE id = $1`, id)
	if err != nil {
		return Agency{}, fmt.Errorf("get agency %s: %w", id, err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Agency])
	if errors.Is(err, pgx.ErrNoRows) {
		return Agency{}, ErrNotFound
	}
	return a, err
}

// Patch holds the fields of an entry to change; nil fields stay as they are.
type Patch struct {
	Number     *int      `json:"number"`
	Name       *string   `json:"name"`
	NameEn     *string   `json:"nameEn"`
	OwnerID    *string   `json:"ownerId"`
	Purpose    *string   `json:"purpose"`
	Scope      *string   `json:"scope"`
	Content    *string   `json:"content"`
	Source     *string   `json:"source"`
	Categories *[]string `json:"categories"`
	Kind       *string   `json:"kind"`
	// ConnectionNote says why the hub holds no data of the entry.
	ConnectionNote *string `json:"connectionNote"`
}

// ValidationError says which field of an edit is wrong and why.
type ValidationError struct{ Field, Reason string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Update applies p to the entry id and returns the entry as it now is.
func (s *Store) Update(ctx context.Context, id string, p Patch) (Entry, error) {
	if err := p.validate(); err != nil {
		return Entry{}, err
	}
	tag, err := s.pool.Exec(ctx, `
UPDATE catalog_entries SET
    number     = COALESCE($2, number),
    name       = COALESCE($3, name),
    name_en    = COALESCE($4, name_en),
    owner_id   = COALESCE($5, owner_id),
    purpose    = COALESCE($6, purpose),
    scope      = COALESCE($7, scope),
    content    = COALESCE($8, content),
    source     = COALESCE($9, source),
    categories = COALESCE($10, categories),
    kind       = COALESCE($11, kind),
    connection_note = COALESCE($12, connection_note),
    updated_at = now()
WHERE id = $1`, id, p.Number, p.Name, p.NameEn, p.OwnerID, p.Purpose, p.Scope, p.Content, p.Source, p.Categories, p.Kind, p.ConnectionNote)
	if err != nil {
		return Entry{}, constraintError(err)
	}
	if tag.RowsAffected() == 0 {
		return Entry{}, ErrNotFound
	}
	return s.Get(ctx, id)
}

// Create adds a new entry, as the decision foresees the catalogue being extended.
func (s *Store) Create(ctx context.Context, id string, p Patch) (Entry, error) {
	if !validSlug(id) {
		return Entry{}, &ValidationError{"id", "must be a lower-case ASCII slug such as 'ho-tich'"}
	}
	if p.Number == nil || p.Name == nil || p.OwnerID == nil || p.Categories == nil || p.Kind == nil {
		return Entry{}, &ValidationError{"number, name, ownerId, categories, kind", "are required for a new entry"}
	}
	if err := p.validate(); err != nil {
		return Entry{}, err
	}
	_, err := s.pool.Exec(ctx, `
INSERT INTO catalog_entries (id, number, name, name_en, owner_id, purpose, scope, content, source, categories, kind, connection_note)
VALUES ($1, $2, $3, COALESCE($4, ''), $5, COALESCE($6, ''), COALESCE($7, ''), COALESCE($8, ''), COALESCE($9, ''), $10, $11, COALESCE($12, ''))`,
		id, p.Number, p.Name, p.NameEn, p.OwnerID, p.Purpose, p.Scope, p.Content, p.Source, p.Categories, p.Kind, p.ConnectionNote)
	if err != nil {
		return Entry{}, constraintError(err)
	}
	return s.Get(ctx, id)
}

func (p Patch) validate() error {
	if p.Number != nil && *p.Number < 1 {
		return &ValidationError{"number", "must be a positive integer"}
	}
	if p.Name != nil && strings.TrimSpace(*p.Name) == "" {
		return &ValidationError{"name", "must not be empty"}
	}
	if p.Categories != nil {
		cs := *p.Categories
		if len(cs) == 0 || len(cs) > 3 {
			return &ValidationError{"categories", "must list one to three of open, default, specific"}
		}
		for _, c := range cs {
			if !slices.Contains(Categories, c) {
				return &ValidationError{"categories", fmt.Sprintf("unknown category %q; use open, default or specific", c)}
			}
		}
	}
	if p.Kind != nil && !slices.Contains(Kinds, *p.Kind) {
		return &ValidationError{"kind", "must be spatial or nonspatial"}
	}
	for _, s := range []*string{p.Name, p.NameEn, p.Purpose, p.Scope, p.Content, p.Source} {
		// U+01A3 is the PDF extraction's stand-in for "ư"; it is never right in Vietnamese.
		if s != nil && strings.ContainsAny(*s, "\u01a3\u01a2") {
			return &ValidationError{"text", `contains "ƣ" (U+01A3), a PDF extraction error for "ư"`}
		}
	}
	return nil
}

// constraintError turns the database's refusals into validation errors a caller can fix.
func constraintError(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return &ValidationError{pg.ConstraintName, "already used by another entry"}
		case "23503":
			return &ValidationError{"ownerId", "no agency with this id"}
		case "23514":
			return &ValidationError{pg.ConstraintName, "violates the catalogue's rules"}
		}
	}
	return fmt.Errorf("write catalogue entry: %w", err)
}

func validSlug(s string) bool {
	if s == "" || len(s) > 80 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
