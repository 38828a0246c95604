package sources

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const columns = `s.id, s.entry_id, s.collection, s.item_type, s.title, s.connector, s.endpoint, s.options, s.headers,
	COALESCE(s.secret, ''), s.mapping, s.key_field, s.detect, COALESCE(s.watermark_field, ''), COALESCE(s.tombstone, ''),
	s.deletions, COALESCE(s.srid, 0), COALESCE(s.schedule, ''), s.time_limit, s.max_attempts, s.paused, s.next_run_at,
	COALESCE(s.cursor, ''), COALESCE(s.validator, ''), s.last_success_at,
	r.id, r.trigger, r.attempt, r.node, r.started_at, r.finished_at, r.status, r.read, r.inserted, r.updated, r.deleted,
	r.unchanged, r.rejected, r.data_version, COALESCE(r.error, '')`

const from = ` FROM sources s LEFT JOIN LATERAL (SELECT * FROM sync_runs WHERE source_id = s.id ORDER BY id DESC LIMIT 1) r ON true`

func scan(row pgx.Row) (*Source, error) {
	var s Source
	var limit time.Duration
	var r struct {
		id                                                    *int64
		trigger, node, status                                 *string
		attempt                                               *int
		started                                               *time.Time
		finished                                              *time.Time
		read, inserted, updated, deleted, unchanged, rejected *int64
		version                                               *int64
		err                                                   string
	}
	err := row.Scan(&s.ID, &s.Entry, &s.Collection, &s.ItemType, &s.Title, &s.Connector, &s.Endpoint, &s.Options, &s.Headers,
		&s.Secret, &s.Mapping, &s.Key, &s.Detect, &s.WatermarkField, &s.Tombstone,
		&s.Deletions, &s.SRID, &s.Schedule, &limit, &s.MaxAttempts, &s.Paused, &s.NextRunAt,
		&s.Cursor, &s.Validator, &s.LastSuccessAt,
		&r.id, &r.trigger, &r.attempt, &r.node, &r.started, &r.finished, &r.status, &r.read, &r.inserted, &r.updated, &r.deleted,
		&r.unchanged, &r.rejected, &r.version, &r.err)
	if err != nil {
		return nil, err
	}
	s.TimeLimit = Duration(limit)
	if r.id != nil {
		s.LastRun = &Run{ID: *r.id, Source: s.ID, Trigger: *r.trigger, Attempt: *r.attempt, Node: *r.node, Started: *r.started,
			Finished: r.finished, Status: *r.status, Counts: Counts{Read: *r.read, Inserted: *r.inserted, Updated: *r.updated,
				Deleted: *r.deleted, Unchanged: *r.unchanged, Rejected: *r.rejected}, DataVersion: r.version, Error: r.err}
	}
	return &s, nil
}

// Get loads one source with its last run.
func Get(ctx context.Context, q Querier, id string) (*Source, error) {
	s, err := scan(q.QueryRow(ctx, `SELECT `+columns+from+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("source %q: %w", id, ErrNotFound)
	}
	return s, err
}

// List loads the sources, of one collection or entry when given, with their last runs.
func List(ctx context.Context, q Querier, collection, entry string) ([]*Source, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+from+`
WHERE ($1 = '' OR s.collection = $1) AND ($2 = '' OR s.entry_id = $2) ORDER BY s.id`, collection, entry)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Source
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Save adds a source or replaces its definition (its cursor and runs are kept, unless the
// connector, endpoint or change detection changed: then the next run starts afresh).
func Save(ctx context.Context, q Querier, s *Source) error {
	if err := s.Check(); err != nil {
		return err
	}
	var srid, secret, wm, tomb, sched any
	if s.SRID != 0 {
		srid = s.SRID
	}
	for p, v := range map[*any]string{&secret: s.Secret, &wm: s.WatermarkField, &tomb: s.Tombstone, &sched: s.Schedule} {
		if v != "" {
			*p = v
		}
	}
	// The collection keeps its entry (who may read it follows from the entry).
	var entry *string
	err := q.QueryRow(ctx, `SELECT entry_id FROM layers WHERE id = $1`, s.Collection).Scan(&entry)
	switch {
	case err == nil && entry != nil && *entry != s.Entry:
		return fmt.Errorf("collection %s belongs to catalogue entry %s, not %s: a source cannot move it", s.Collection, *entry, s.Entry)
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	opts, hdrs, mapping := orEmpty(s.Options), orEmpty(s.Headers), orEmpty(s.Mapping)
	_, err = q.Exec(ctx, `
INSERT INTO sources (id, entry_id, collection, item_type, title, connector, endpoint, options, headers, secret, mapping,
    key_field, detect, watermark_field, tombstone, deletions, srid, schedule, time_limit, max_attempts, paused)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (id) DO UPDATE SET
    entry_id = EXCLUDED.entry_id, collection = EXCLUDED.collection, item_type = EXCLUDED.item_type, title = EXCLUDED.title,
    connector = EXCLUDED.connector, endpoint = EXCLUDED.endpoint, options = EXCLUDED.options, headers = EXCLUDED.headers,
    secret = EXCLUDED.secret, mapping = EXCLUDED.mapping, key_field = EXCLUDED.key_field, detect = EXCLUDED.detect,
    watermark_field = EXCLUDED.watermark_field, tombstone = EXCLUDED.tombstone, deletions = EXCLUDED.deletions,
    srid = EXCLUDED.srid, schedule = EXCLUDED.schedule, time_limit = EXCLUDED.time_limit,
    max_attempts = EXCLUDED.max_attempts, paused = EXCLUDED.paused, updated_at = now(),
    next_run_at = CASE WHEN sources.schedule IS DISTINCT FROM EXCLUDED.schedule THEN NULL ELSE sources.next_run_at END,
    cursor = CASE WHEN (sources.connector, sources.endpoint, sources.detect, sources.watermark_field)
                   IS DISTINCT FROM (EXCLUDED.connector, EXCLUDED.endpoint, EXCLUDED.detect, EXCLUDED.watermark_field)
                  THEN NULL ELSE sources.cursor END,
    validator = CASE WHEN (sources.connector, sources.endpoint) IS DISTINCT FROM (EXCLUDED.connector, EXCLUDED.endpoint)
                  THEN NULL ELSE sources.validator END`,
		s.ID, s.Entry, s.Collection, s.ItemType, s.Title, s.Connector, s.Endpoint, opts, hdrs, secret, mapping,
		s.Key, s.Detect, wm, tomb, s.Deletions, srid, sched, time.Duration(s.TimeLimit), s.MaxAttempts, s.Paused)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23503":
		return fmt.Errorf("entry %q is not in the catalogue", s.Entry)
	case errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "sources_collection":
		return fmt.Errorf("collection %s is fed by another source already: one source per collection (two would delete each other's items)", s.Collection)
	}
	return err
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// SetPaused pauses a source (its schedule stops; a run under way finishes) or resumes it.
func SetPaused(ctx context.Context, q Querier, id string, paused bool) error {
	tag, err := q.Exec(ctx, `UPDATE sources SET paused = $2, updated_at = now() WHERE id = $1`, id, paused)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("source %q: %w", id, ErrNotFound)
	}
	return err
}

// Delete removes a source and its runs; the collection keeps its data.
func Delete(ctx context.Context, q Querier, id string) error {
	tag, err := q.Exec(ctx, `DELETE FROM sources WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("source %q: %w", id, ErrNotFound)
	}
	return err
}

// Runs lists a source's latest runs, newest first.
func Runs(ctx context.Context, q Querier, id string, limit int) ([]Run, error) {
	rows, err := q.Query(ctx, `SELECT id, trigger, attempt, node, started_at, finished_at, status, read, inserted, updated, deleted,
    unchanged, rejected, data_version, COALESCE(cursor_before, ''), COALESCE(cursor_after, ''), COALESCE(error, ''),
    COALESCE(notes, '')
FROM sync_runs WHERE source_id = $1 ORDER BY id DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) {
		r := Run{Source: id}
		err := row.Scan(&r.ID, &r.Trigger, &r.Attempt, &r.Node, &r.Started, &r.Finished, &r.Status, &r.Read, &r.Inserted,
			&r.Updated, &r.Deleted, &r.Unchanged, &r.Rejected, &r.DataVersion, &r.CursorBefore, &r.CursorAfter, &r.Error, &r.Notes)
		return r, err
	})
}

// Rejects lists the rows a run refused.
func Rejects(ctx context.Context, q Querier, run int64, limit int) ([]Reject, error) {
	rows, err := q.Query(ctx, `SELECT n, COALESCE(key, ''), COALESCE(field, ''), reason FROM sync_rejects WHERE run_id = $1 ORDER BY n LIMIT $2`, run, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Reject])
}

// Reject is a row a run refused.
type Reject struct {
	N      int64  `json:"item"`
	Key    string `json:"key,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}
