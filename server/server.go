// Package server assembles the hub's HTTP surface: every route in routes.go, and the
// middleware every request passes through (request id, structured log, metrics, recovery).
// Handlers live in the packages that own their data; this package only wires them.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/catalog"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/sources"
	"github.com/haiduong/hub/tiles"
)

// Config is what the server needs besides the database.
type Config struct {
	Version string
	// AdminTokenSHA256 is the SHA-256 of the bearer token that may edit the catalogue; empty
	// disables editing. Only the hash is kept in memory. (The access issue replaces this with
	// agencies and API keys.)
	AdminTokenSHA256 []byte
	// TileCacheBytes bounds the in-process tile cache; 0 disables it.
	TileCacheBytes int
	// Tiles, when set, is the tile service to serve (with its shared cache and purge
	// listener, which the caller runs); otherwise one is made from TileCacheBytes.
	Tiles *tiles.Service
	// Auth turns credentials into principals (its cache kept by the caller's Listen);
	// otherwise one without identity-provider tokens is made.
	Auth *access.Authenticator
	// Audit is the access log every non-open access and administrative action is written to
	// (started by the caller, closed after the server stops); otherwise New starts one that
	// lives as long as the process.
	Audit *audit.Log
	// RateLimit bounds each credential's (and each anonymous address's) request rate; zero
	// rates are unlimited.
	RateLimit RateLimit
	// CORSOrigins are the origins whose pages may call the hub from a browser ("*": any);
	// empty: none (same origin only).
	CORSOrigins []string
	// Policy decides what each principal reads (its grants cache kept by the caller's
	// Listen); otherwise New makes one that listens as long as the process lives.
	Policy *policy.Decider
	// Jobs is the job queue's client (sources' runs are enqueued through it); otherwise New
	// makes one that only enqueues, for the workers of whichever hub process runs them.
	Jobs *sources.Jobs
}

// New returns the hub's HTTP handler. reg must be kept current by its caller (reg.Listen).
func New(pool *pgxpool.Pool, reg *layers.Registry, cfg Config) http.Handler {
	metricsReg := prometheus.NewRegistry()
	m := newMetrics(metricsReg, pool)
	if cfg.Audit == nil {
		cfg.Audit = audit.New(pool, audit.Options{})
		if err := cfg.Audit.Start(context.Background()); err != nil {
			// Every non-open answer will then be a 503: no data is served unlogged.
			slog.Error("audit log not started", "err", err)
		}
	}
	if cfg.Policy == nil {
		cfg.Policy = policy.NewDecider(pool)
		go cfg.Policy.Listen(context.Background())
	}
	if cfg.Jobs == nil {
		jobs, err := sources.NewJobs(pool, sources.JobOptions{InsertOnly: true})
		if err != nil {
			slog.Error("job queue client not made", "err", err) // runs asked for by API then fail with 503
		}
		cfg.Jobs = jobs
	}
	mux := http.NewServeMux()
	routes(mux, pool, cfg, metricsReg, catalog.NewStore(pool), reg)
	authn := cfg.Auth
	if authn == nil {
		authn = access.NewAuthenticator(pool, nil)
	}
	var h http.Handler = mux
	h = m.instrument(h)
	h = rateLimit(cfg.RateLimit, metricsReg, h)
	h = authenticate(cfg, authn, h)
	h = cors(cfg.CORSOrigins, h)
	h = logRequests(h)
	h = recoverPanics(h)
	h = requestID(h)
	return h
}

// Health reports the database's state.
type Health struct {
	Status   string         `json:"status"`
	Version  string         `json:"version"`
	Database DatabaseHealth `json:"database"`
	Sources  *SourcesHealth `json:"sources,omitempty"`
}

// SourcesHealth is the source systems part of /health: which are failing (their last run
// failed, timed out or was interrupted). Reasons are for administrators (/admin/sources).
type SourcesHealth struct {
	Status  string   `json:"status"` // ok, or failing when one is
	Total   int      `json:"total"`
	Paused  int      `json:"paused"`
	Failing []string `json:"failing"`
}

// DatabaseHealth is the database part of /health.
type DatabaseHealth struct {
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latencyMs"`
	PostGIS   string  `json:"postgis,omitempty"`
	Error     string  `json:"error,omitempty"`
	Pool      struct {
		Total    int32 `json:"total"`
		Idle     int32 `json:"idle"`
		Acquired int32 `json:"acquired"`
		Max      int32 `json:"max"`
	} `json:"pool"`
}

func handleHealth(pool *pgxpool.Pool, version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		h := Health{Status: "ok", Version: version}
		st := pool.Stat()
		h.Database.Pool.Total, h.Database.Pool.Idle = st.TotalConns(), st.IdleConns()
		h.Database.Pool.Acquired, h.Database.Pool.Max = st.AcquiredConns(), st.MaxConns()
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := pool.QueryRow(ctx, `SELECT postgis_lib_version()`).Scan(&h.Database.PostGIS)
		h.Database.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
		status := http.StatusOK
		if err != nil {
			h.Status, h.Database.Status = "unavailable", "down"
			// The cause, not the URL: /health is public and the URL may hold credentials.
			h.Database.Error = "database unreachable"
			status = http.StatusServiceUnavailable
		} else {
			h.Database.Status = "up"
			if states, err := sources.States(ctx, pool, false); err == nil && len(states) > 0 {
				sh := &SourcesHealth{Status: "ok", Total: len(states), Failing: []string{}}
				for _, s := range states {
					if s.Paused {
						sh.Paused++
					}
					if s.Failing() {
						sh.Failing = append(sh.Failing, s.ID)
						sh.Status = "failing"
					}
				}
				h.Sources = sh
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		api.WriteJSON(w, status, h)
	})
}
