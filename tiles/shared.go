package tiles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/haiduong/hub/database"
)

// Shared is a tile cache that several hub processes share (Redis). Keys carry the layers'
// data versions, like the in-process cache, so an import needs no invalidation: entries of
// old versions expire.
type Shared struct {
	rdb *redis.Client
	ttl time.Duration
}

const sharedPrefix = "hub:tile:"

// OpenShared connects to the Redis at url (redis://host:port/db).
func OpenShared(ctx context.Context, url string) (*Shared, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("HUB_REDIS_URL %q: %v", url, err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s is unreachable: %v", opt.Addr, err)
	}
	return &Shared{rdb: rdb, ttl: 24 * time.Hour}, nil
}

// Close closes the connection.
func (s *Shared) Close() error { return s.rdb.Close() }

// get returns a tile (raw and gzipped) or false; a Redis failure is a miss, never an error
// for the caller: the database can always build the tile.
func (s *Shared) get(ctx context.Context, key string) (*entry, bool) {
	if s == nil {
		return nil, false
	}
	vals, err := s.rdb.HMGet(ctx, sharedPrefix+key, "raw", "gz").Result()
	if err != nil || len(vals) != 2 || vals[0] == nil {
		if err != nil && !errors.Is(err, redis.Nil) {
			slog.WarnContext(ctx, "shared tile cache", "err", err)
		}
		return nil, false
	}
	e := &entry{key: key, etag: etag(key)}
	if s, ok := vals[0].(string); ok {
		e.raw = []byte(s)
	}
	if s, ok := vals[1].(string); ok && s != "" {
		e.gz = []byte(s)
	}
	return e, true
}

func (s *Shared) put(ctx context.Context, e *entry) {
	if s == nil {
		return
	}
	k := sharedPrefix + e.key
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, k, "raw", e.raw, "gz", e.gz)
	pipe.Expire(ctx, k, s.ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		slog.WarnContext(ctx, "shared tile cache", "err", err)
	}
}

// Purge deletes every shared tile and returns how many.
func (s *Shared) Purge(ctx context.Context) (int, error) {
	n := 0
	iter := s.rdb.Scan(ctx, 0, sharedPrefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := s.rdb.Unlink(ctx, batch...).Err(); err != nil {
				return n, err
			}
			n += len(batch)
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	if len(batch) > 0 {
		if err := s.rdb.Unlink(ctx, batch...).Err(); err != nil {
			return n, err
		}
		n += len(batch)
	}
	return n, nil
}

// PurgeChannel is the NOTIFY channel that tells every hub process to empty its tile cache.
const PurgeChannel = "hub_tiles_purge"

// Listen empties the in-process cache whenever `hub tiles purge` asks, until ctx ends.
func (s *Service) Listen(ctx context.Context, pool *pgxpool.Pool) {
	// Also when listening (re)starts: a purge may have been missed meanwhile.
	database.Listen(ctx, pool, PurgeChannel, func(string) error {
		s.cache.purge()
		return nil
	})
}
