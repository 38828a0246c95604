// Package database opens the hub's PostgreSQL connection pool with the settings every serving
// connection needs, and turns connection failures into one line a user can act on.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is used when HUB_DATABASE_URL is not set: the local server, database "hub".
const DefaultURL = "postgres://postgres@127.0.0.1:5432/hub?sslmode=disable"

// URLFromEnv returns HUB_DATABASE_URL or DefaultURL.
func URLFromEnv() string {
	if u := os.Getenv("HUB_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Open connects to the database at url and checks that it answers.
//
// Serving connections run with jit=off and max_parallel_workers_per_gather=0: with PostgreSQL's
// defaults a tile query forks parallel workers and JIT-compiles, which made tiles 2–3× slower on
// the reference machine (see BASELINE.md).
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL %q is not a valid libpq URL or DSN: %s", Redact(url), cause(err))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	// pgxpool's default (4 on this 2-core machine) queues requests behind one slow query; the
	// URL's pool_max_conns still wins.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	rp := cfg.ConnConfig.RuntimeParams
	setDefault(rp, "jit", "off")
	setDefault(rp, "max_parallel_workers_per_gather", "0")
	// pgx prepares every statement; after five runs PostgreSQL may switch to a generic plan,
	// which for a tile or a bbox query cannot see the envelope and trades the bitmap scan for
	// a slower index scan (measured 8 → 10 ms on a z15 parcel tile). Planning each time costs
	// a fraction of a millisecond.
	setDefault(rp, "plan_cache_mode", "force_custom_plan")
	setDefault(rp, "application_name", "hub")
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %s", Redact(url), cause(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s is unreachable: %s", Redact(url), cause(err))
	}
	return pool, nil
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// cause reduces pgx's nested connection errors to their innermost message, which is the one
// that says what to fix ("connection refused", "database \"x\" does not exist").
func cause(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "dial") {
		msg = msg[i+2:]
	}
	return msg
}

// Redact hides the password of a database URL so that it can be logged or printed.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		// A keyword/value DSN: drop any password=… pair.
		var parts []string
		for _, f := range strings.Fields(raw) {
			if strings.HasPrefix(strings.ToLower(f), "password=") {
				f = "password=xxxxx"
			}
			parts = append(parts, f)
		}
		return strings.Join(parts, " ")
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
