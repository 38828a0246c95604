package ingest

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// querySource reads features from a SQL query that returns (geometry as WKB, properties as a
// JSON object), so that data derived inside the database goes through the same validation
// and swap as a file.
type querySource struct {
	pool *pgxpool.Pool
	sql  string
	args []any
	srid int
	keys []string
}

// Query returns a Source over sql, whose rows are (wkb bytea, props json); srid is the
// geometries' system and keys the properties' order.
func Query(pool *pgxpool.Pool, srid int, keys []string, sql string, args ...any) Source {
	return &querySource{pool: pool, sql: sql, args: args, srid: srid, keys: keys}
}

func (q *querySource) Format() string { return "SQL query" }
func (q *querySource) SRID() int      { return q.srid }
func (q *querySource) Keys() []string { return q.keys }
func (q *querySource) Close() error   { return nil }

func (q *querySource) Read(ctx context.Context, emit func([]Feature) error) error {
	rows, err := q.pool.Query(ctx, q.sql, q.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var n int64
	batch := make([]Feature, 0, batchSize)
	for rows.Next() {
		var wkb, props []byte
		if err := rows.Scan(&wkb, &props); err != nil {
			return err
		}
		n++
		batch = append(batch, Feature{N: n, WKB: wkb, Props: props})
		if len(batch) == batchSize {
			if err := emit(batch); err != nil {
				return err
			}
			batch = make([]Feature, 0, batchSize)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}
