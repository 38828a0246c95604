// Package migrations holds the hub's numbered SQL migrations, embedded in the binary, and applies
// them with goose. It must not hold Go migrations: the schema is plain SQL a DBA can read.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// Files are the SQL migrations, in version order.
//
//go:embed *.sql
var Files embed.FS

// Result is one migration that Up applied.
type Result struct {
	Version int64
	Source  string
}

// Up applies every pending migration, each in its own transaction. Running it on an up-to-date
// database applies nothing.
func Up(ctx context.Context, pool *pgxpool.Pool) ([]Result, error) {
	p, db, err := provider(pool)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := p.Up(ctx)
	out := make([]Result, 0, len(res))
	for _, r := range res {
		out = append(out, Result{Version: r.Source.Version, Source: r.Source.Path})
	}
	if err != nil {
		return out, fmt.Errorf("migrate: %w", err)
	}
	// The job queue's own tables (River: the sources' schedules and retries), at the version
	// this binary's River expects.
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return out, fmt.Errorf("migrate job queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return out, fmt.Errorf("migrate job queue: %w", err)
	}
	return out, nil
}

// Version reports the newest applied migration and the newest one embedded in this binary.
func Version(ctx context.Context, pool *pgxpool.Pool) (applied, embedded int64, err error) {
	p, db, err := provider(pool)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	applied, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migration version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		embedded = srcs[len(srcs)-1].Version
	}
	return applied, embedded, nil
}

func provider(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	db := stdlib.OpenDBFromPool(pool)
	// The session lock makes concurrent "hub migrate" runs (several hub processes starting at
	// once) wait for each other instead of applying the same migration twice.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Files, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return p, db, nil
}
