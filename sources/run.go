package sources

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/connect"
	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/layers"
)

// Run is one synchronisation of a source.
type Run struct {
	ID       int64      `json:"id"`
	Source   string     `json:"source"`
	Trigger  string     `json:"trigger"` // manual, schedule, api, retry
	Attempt  int        `json:"attempt"`
	Node     string     `json:"node,omitempty"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	// Status: running, succeeded (data changed), unchanged, failed, timed out, interrupted
	// (the process died; found by the next run).
	Status string `json:"status"`
	Counts
	DataVersion  *int64 `json:"dataVersion,omitempty"`
	CursorBefore string `json:"cursorBefore,omitempty"`
	CursorAfter  string `json:"cursorAfter,omitempty"`
	Error        string `json:"error,omitempty"`
	// Notes say what a run that succeeded could not do.
	Notes string `json:"notes,omitempty"`
	// Rejects are the first refused rows (a run's answer; the store keeps a thousand).
	Rejects []ingest.Problem `json:"rejects,omitempty"`
	// Phases say where the run's time went, in milliseconds (a run's answer).
	Phases map[string]int64 `json:"phasesMs,omitempty"`
}

// version is the data version the run left, 0 when none.
func (r *Run) version() int64 {
	if r.DataVersion == nil {
		return 0
	}
	return *r.DataVersion
}

// Counts are what a run read and did.
type Counts struct {
	Read      int64 `json:"read"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Deleted   int64 `json:"deleted"`
	Unchanged int64 `json:"unchanged"`
	Rejected  int64 `json:"rejected"`
}

// ErrRunning says the source is being synchronised already (by this or another process).
var ErrRunning = errors.New("the source is being synchronised already")

// ErrTimedOut says a run exceeded its source's time limit and was stopped.
var ErrTimedOut = errors.New("the run exceeded the source's time limit and was stopped")

// RunOptions tune one run.
type RunOptions struct {
	Trigger string // manual (default), schedule, api, retry
	Attempt int
}

var node = func() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}()

// Sync runs a source once: it reads the source, applies the difference to the collection and
// records the run. Only one run of a source goes at a time across every hub process (an
// advisory lock on a connection held for the run, released by PostgreSQL if the process dies).
// The returned run says what happened; the error is the run's failure.
func Sync(ctx context.Context, pool *pgxpool.Pool, id string, opt RunOptions) (*Run, error) {
	if opt.Trigger == "" {
		opt.Trigger = "manual"
	}
	if opt.Attempt == 0 {
		opt.Attempt = 1
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('hub-sync:' || $1, 0))`, id).Scan(&locked); err != nil {
		return nil, err
	}
	if !locked {
		return nil, fmt.Errorf("source %s: %w", id, ErrRunning)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended('hub-sync:' || $1, 0))`, id)

	src, err := Get(ctx, pool, id)
	if err != nil {
		return nil, err
	}
	// A run still "running" while we hold the lock belonged to a process that died.
	if _, err := pool.Exec(ctx, `UPDATE sync_runs SET status = 'interrupted', finished_at = now(),
    error = 'the hub process running it stopped before it finished; nothing of it was applied'
WHERE source_id = $1 AND status = 'running'`, id); err != nil {
		return nil, err
	}
	run := &Run{Source: id, Trigger: opt.Trigger, Attempt: opt.Attempt, Node: node, Status: "running", CursorBefore: src.Cursor}
	if err := pool.QueryRow(ctx, `INSERT INTO sync_runs (source_id, trigger, attempt, node, cursor_before) VALUES ($1, $2, $3, $4, NULLIF($5, ''))
RETURNING id, started_at`, id, opt.Trigger, opt.Attempt, node, src.Cursor).Scan(&run.ID, &run.Started); err != nil {
		return nil, err
	}

	rctx, cancel := context.WithTimeoutCause(ctx, time.Duration(src.TimeLimit), ErrTimedOut)
	defer cancel()
	runErr := apply(rctx, pool, src, run)
	if runErr != nil {
		run.Status = "failed"
		if errors.Is(context.Cause(rctx), ErrTimedOut) {
			run.Status, runErr = "timed out", fmt.Errorf("%w (%s): %v", ErrTimedOut, time.Duration(src.TimeLimit), runErr)
		}
		run.Error = runErr.Error()
		if _, err := pool.Exec(context.Background(), `UPDATE sync_runs SET status = $2, finished_at = now(), read = $3, error = $4 WHERE id = $1`,
			run.ID, run.Status, run.Read, run.Error); err != nil {
			return run, errors.Join(runErr, err)
		}
		now := time.Now()
		run.Finished = &now
		return run, runErr
	}
	return run, nil
}

// apply reads the source and applies what it read in one transaction, the run's record and
// the source's cursor included.
func apply(ctx context.Context, pool *pgxpool.Pool, src *Source, run *Run) error {
	cfg, err := src.config()
	if err != nil {
		return err
	}
	c, err := connect.Get(src.Connector)
	if err != nil {
		return err
	}
	fetch, err := c.Open(ctx, cfg)
	if errors.Is(err, connect.ErrNotModified) {
		return finishUnchanged(ctx, pool, src, run)
	}
	if err != nil {
		return err
	}
	defer fetch.Close()
	def := layers.Layer{EntryID: src.Entry, Title: src.Title, ItemType: layers.Feature}
	if src.ItemType == "record" {
		def.ItemType, def.KeyField = layers.Record, src.CollectionKey()
	}
	// The source names the entry and title of the collection it makes; after that they are
	// the registry's (an operator may retitle it or file it under another entry).
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM layers WHERE id = $1)`, src.Collection).Scan(&exists); err != nil {
		return err
	}
	if exists {
		def.EntryID, def.Title = "", ""
	}
	// The key may be renamed by the import (a heading "Mã số thuế" is stored as ma_so_thue).
	sync := &ingest.Sync{
		Key:      src.CollectionKey(),
		Complete: fetch.Complete,
		Withdraw: src.Deletions == "withdraw",
		// A complete read with no items empties the collection only when the source says so.
		AllowEmpty: src.Options["allow_empty"] == "true",
		Gone:       func() ([]string, []string) { return fetch.AllKeys, fetch.Deleted },
		BeforeCommit: func(ctx context.Context, tx pgx.Tx, rep *ingest.Report) error {
			return finish(ctx, tx, src, run, fetch, rep)
		},
	}
	// The report names the source, not its endpoint (a connection string may hold a user name).
	_, err = ingest.Import(ctx, pool, fetch, "source "+src.ID, ingest.Options{
		Collection: src.Collection, Mode: "sync", SRID: src.SRID, Records: src.ItemType == "record",
		Definition: def, Sync: sync, FixInvalid: src.Options["fix_invalid"] == "true",
	})
	return err
}

// finish records a run that applied, inside its transaction.
func finish(ctx context.Context, tx pgx.Tx, src *Source, run *Run, fetch *connect.Fetch, rep *ingest.Report) error {
	run.Counts = Counts{Read: rep.Features, Inserted: rep.Inserted, Updated: rep.Updated, Deleted: rep.Deleted,
		Unchanged: rep.Unchanged, Rejected: rep.Rejected}
	run.Status = "unchanged"
	if rep.Inserted+rep.Updated+rep.Deleted > 0 {
		run.Status = "succeeded"
	}
	v := rep.DataVersion
	run.DataVersion = &v
	run.Rejects = rep.Rejects
	run.Phases = rep.Phases
	run.CursorAfter = fetch.Cursor
	// A watermark run that rejected rows keeps its cursor: the rows, once fixed at the source,
	// are read again (the run after applies what it already applied, which changes nothing).
	if run.CursorAfter == "" || rep.Rejected > 0 && src.Detect == connect.Watermark {
		run.CursorAfter = src.Cursor
	}
	if fetch.Unmatched > 0 {
		run.Notes = fmt.Sprintf("%d deletions named by feature id alone could not be matched to an item (the source's feed does not show "+
			"this hub the key on every row); those items stay until a run with detect hash", fetch.Unmatched)
	}
	now := time.Now()
	run.Finished = &now
	if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = $2, finished_at = now(), read = $3, inserted = $4, updated = $5,
    deleted = $6, unchanged = $7, rejected = $8, data_version = $9, cursor_after = NULLIF($10, ''), notes = NULLIF($11, '') WHERE id = $1`,
		run.ID, run.Status, run.Read, run.Inserted, run.Updated, run.Deleted, run.Unchanged, run.Rejected, v, run.CursorAfter, run.Notes); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sync_rejects (run_id, n, key, field, reason)
SELECT $1, n, key, field, reason FROM hub_rejected ORDER BY n LIMIT $2`, run.ID, ingest.MaxRejects); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sources SET cursor = NULLIF($2, ''), validator = COALESCE(NULLIF($3, ''), validator),
    last_success_at = now() WHERE id = $1`, src.ID, run.CursorAfter, fetch.Validator)
	return err
}

// finishUnchanged records a run whose source said it had not changed (a file's ETag).
func finishUnchanged(ctx context.Context, pool *pgxpool.Pool, src *Source, run *Run) error {
	run.Status, run.CursorAfter = "unchanged", src.Cursor
	now := time.Now()
	run.Finished = &now
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if err := tx.QueryRow(ctx, `SELECT data_version FROM layers WHERE id = $1`, src.Collection).Scan(&run.DataVersion); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'unchanged', finished_at = now(), data_version = $2, cursor_after = NULLIF($3, '')
WHERE id = $1`, run.ID, run.DataVersion, run.CursorAfter); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE sources SET last_success_at = now() WHERE id = $1`, src.ID); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// config is the source as its connector takes it, credentials resolved.
func (s *Source) config() (connect.Config, error) {
	opts := maps.Clone(s.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	// A record source's file is read as records (no coordinate columns looked for).
	if _, set := opts["records"]; !set && s.ItemType == "record" {
		opts["records"] = "true"
	}
	cfg := connect.Config{Endpoint: s.Endpoint, Options: opts, Detect: s.Detect, Key: s.Key,
		WatermarkField: s.WatermarkField, Tombstone: s.Tombstone, Cursor: s.Cursor, Validator: s.Validator,
		Mapping: s.Mapping, Headers: map[string]string{}}
	for h, stored := range s.Headers {
		v, err := Reveal(stored)
		if err != nil {
			return cfg, fmt.Errorf("header %s: %w", h, err)
		}
		cfg.Headers[h] = v
	}
	if s.Secret != "" {
		v, err := Reveal(s.Secret)
		if err != nil {
			return cfg, err
		}
		cfg.Secret = v
	}
	return cfg, nil
}
