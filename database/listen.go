package database

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen LISTENs on channel on a connection of its own until ctx ends, calling notify with
// each notification's payload. Notifications sent while no connection listened are lost, so
// notify is also called with "" each time listening (re)starts: the caller then refreshes
// whatever it keeps. A dropped connection is retried with a growing pause.
func Listen(ctx context.Context, pool *pgxpool.Pool, channel string, notify func(payload string) error) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, channel, notify)
		if ctx.Err() != nil {
			return
		}
		slog.Warn("listening stopped; reconnecting", "channel", channel, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, channel string, notify func(string) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTENing connection must not go back to the pool for other work.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	if err := notify(""); err != nil {
		return err
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if err := notify(n.Payload); err != nil {
			return err
		}
	}
}
