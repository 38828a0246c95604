package layers

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/database"
)

// Channel is the NOTIFY channel on which layer changes are announced.
const Channel = "hub_layers"

// Registry holds the current layer definitions. It is safe for concurrent use.
type Registry struct {
	pool *pgxpool.Pool

	mu      sync.RWMutex
	layers  map[string]*Layer
	changed chan struct{} // closed and replaced at every reload
}

// Load reads every layer definition from the database.
func Load(ctx context.Context, pool *pgxpool.Pool) (*Registry, error) {
	r := &Registry{pool: pool, changed: make(chan struct{})}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the definitions again.
func (r *Registry) Reload(ctx context.Context) error {
	m, err := loadAll(ctx, r.pool)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.layers = m
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return nil
}

// Get returns the layer with the given id. The Layer must not be modified.
func (r *Registry) Get(id string) (*Layer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	l, ok := r.layers[id]
	return l, ok
}

// List returns every layer, ordered by id.
func (r *Registry) List() []*Layer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Layer, 0, len(r.layers))
	for _, id := range sortedIDs(r.layers) {
		out = append(out, r.layers[id])
	}
	return out
}

// Spatial returns the layers with geometry (no record collections), ordered by id.
func (r *Registry) Spatial() []*Layer {
	var out []*Layer
	for _, l := range r.List() {
		if !l.IsRecord() {
			out = append(out, l)
		}
	}
	return out
}

// Changed returns a channel that is closed at the next reload: what caches wait on.
func (r *Registry) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

// Listen keeps the registry current until ctx ends: it LISTENs for layer changes and reloads
// on each notification, and when listening (re)starts, since changes may have come meanwhile.
// PostgreSQL delivers one notification per layer per transaction (identical payloads are
// folded), so an import costs one reload.
func (r *Registry) Listen(ctx context.Context) {
	database.Listen(ctx, r.pool, Channel, func(payload string) error {
		if err := r.Reload(ctx); err != nil {
			return err
		}
		slog.Debug("layer registry reloaded", "layer", payload)
		return nil
	})
}
