// Package testdb gives each test package a database of its own on the real PostgreSQL +
// PostGIS, cloned from a template that the embedded migrations built, so that packages run
// in parallel without seeing each other's data. It never skips: a test that needs the database
// fails when it cannot reach it.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/migrations"
)

// AdminURL is the server's maintenance database, from HUB_TEST_DATABASE_URL.
func AdminURL() string {
	if u := os.Getenv("HUB_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var pkgURL string

// Main creates the package's database, runs the tests and drops it.
func Main(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	name, err := create(ctx, true)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		os.Exit(1)
	}
	pkgURL = WithDatabase(AdminURL(), name)
	code := m.Run()
	_ = drop(context.Background(), name)
	os.Exit(code)
}

// URL is the package database's URL.
func URL() string {
	if pkgURL == "" {
		panic("testdb: call testdb.Main from TestMain")
	}
	return pkgURL
}

// Pool opens a pool on the package database, closed when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return open(t, URL())
}

// Fresh returns the URL of a new migrated database of t's own, dropped when t ends: for tests
// that change the schema or take the database away.
func Fresh(t testing.TB) string { return scratch(t, true) }

// Empty returns the URL of a new database with nothing in it, dropped when t ends.
func Empty(t testing.TB) string { return scratch(t, false) }

func scratch(t testing.TB, migrated bool) string {
	t.Helper()
	ctx := context.Background()
	name, err := create(ctx, migrated)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { _ = drop(context.Background(), name) })
	return WithDatabase(AdminURL(), name)
}

func open(t testing.TB, u string) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// WithDatabase returns u with its database name replaced.
func WithDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(fmt.Sprintf("testdb: HUB_TEST_DATABASE_URL must be a URL: %v", err))
	}
	p.Path = "/" + name
	return p.String()
}

// create makes a database named after the test binary; migrated ones are cloned from the
// template of the current migrations, which is built once under an advisory lock.
func create(ctx context.Context, migrated bool) (string, error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("cannot reach the test server %s: %w", database.Redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	name := "hubtest_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(strings.TrimSuffix(baseName(os.Args[0]), ".test"))) + "_" + random()
	if !migrated {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		return name, err
	}
	// Every test binary may race to build the template; the lock makes one build it.
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(7240001)`); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, `SELECT pg_advisory_unlock(7240001)`)
	tmpl := "hubtmpl_" + migrationsHash()
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, tmpl).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildTemplate(ctx, admin, tmpl); err != nil {
			return "", err
		}
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
	if err != nil {
		return "", fmt.Errorf("clone %s: %w", tmpl, err)
	}
	return name, nil
}

func buildTemplate(ctx context.Context, admin *pgx.Conn, tmpl string) error {
	work := tmpl + "_building"
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{work}.Sanitize()+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{work}.Sanitize()); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	pool, err := database.Open(ctx, WithDatabase(AdminURL(), work))
	if err != nil {
		return err
	}
	_, err = migrations.Up(ctx, pool)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	// Rename only when complete, so that a crash never leaves a half-built template in use.
	_, err = admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{work}.Sanitize()+" RENAME TO "+pgx.Identifier{tmpl}.Sanitize())
	if err != nil {
		return err
	}
	// Templates of older migrations are of no further use; the lock we hold keeps anyone from
	// cloning them now.
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'hubtmpl\_%' AND datname <> $1`, tmpl)
	if err != nil {
		return err
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, o := range old {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{o}.Sanitize()+" WITH (FORCE)")
	}
	return nil
}

func drop(ctx context.Context, name string) error {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// migrationsHash names the template after the migrations' content, so a changed migration
// gets a new template instead of a stale one.
func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Files, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func random() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
