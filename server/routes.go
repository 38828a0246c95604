package server

import (
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/haiduong/hub/accessapi"
	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/catalog"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/sources"
	"github.com/haiduong/hub/spatial"
	"github.com/haiduong/hub/styles"
	"github.com/haiduong/hub/styles/glyphs"
	"github.com/haiduong/hub/tiles"
	"github.com/haiduong/hub/web"
)

// routes lists the hub's whole HTTP surface.
func routes(mux *http.ServeMux, pool *pgxpool.Pool, cfg Config, metrics *prometheus.Registry, cat *catalog.Store, reg *layers.Registry) {
	mux.Handle("GET /{$}", handleLanding())
	mux.Handle("GET /health", handleHealth(pool, cfg.Version))
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	mux.Handle("GET /static/", web.Static())

	mux.Handle("GET /catalog", catalog.HandleList(cat))
	mux.Handle("POST /catalog", requireAdmin(audited(cfg.Audit, "catalog.create", true, catalog.HandleCreate(cat))))
	mux.Handle("GET /catalog/{id}", catalog.HandleGet(cat))
	mux.Handle("PATCH /catalog/{id}", requireAdmin(audited(cfg.Audit, "catalog.update", true, catalog.HandlePatch(cat))))
	mux.Handle("GET /agencies", catalog.HandleAgencies(cat))

	// Every data path goes through one gate: the access policy, then the audit log.
	gate := policy.NewGate(cfg.Policy, cfg.Audit)
	features := spatial.NewService(reg, pool).Guard(gate)
	tileService := cfg.Tiles
	if tileService == nil {
		tileService = tiles.NewService(reg, pool, cfg.TileCacheBytes, nil)
	}
	tileService.Guard(gate)
	registerTileMetrics(metrics, tileService)
	mux.Handle("GET /conformance", spatial.HandleConformance(tiles.Conformance...))
	mux.Handle("GET /api", features.HandleAPI(nil))
	mux.Handle("GET /collections", features.HandleCollections())
	mux.Handle("GET /collections/{id}", features.HandleCollection())
	mux.Handle("GET /collections/{id}/items", features.HandleItems())
	mux.Handle("GET /collections/{id}/items/{featureId}", features.HandleItem())
	mux.Handle("GET /collections/{id}/queryables", features.HandleQueryables())
	mux.Handle("GET /collections/{id}/schema", features.HandleSchema())
	mux.Handle("GET /collections/{id}/changes", features.HandleChanges())
	mux.Handle("PATCH /collections/{id}/policy", requireAdmin(audited(cfg.Audit, "collections.policy", false, handleSetPolicy(pool))))

	mux.Handle("GET /collections/{id}/tiles", tileService.HandleCollectionTilesets())
	mux.Handle("GET /collections/{id}/tiles/{tms}", tileService.HandleCollectionTileset())
	mux.Handle("GET /collections/{id}/tiles/{tms}/{z}/{y}/{x}", tileService.HandleCollectionTile())
	mux.Handle("GET /tiles", tileService.HandleDatasetTilesets())
	mux.Handle("GET /tiles/{tms}", tileService.HandleDatasetTileset())
	mux.Handle("GET /tiles/{tms}/{z}/{y}/{x}", tileService.HandleDatasetTile())
	mux.Handle("GET /tileMatrixSets", tiles.HandleTileMatrixSets())
	mux.Handle("GET /tileMatrixSets/{tms}", tiles.HandleTileMatrixSet())

	styleService := styles.NewService(reg).Guard(gate)
	mux.Handle("GET /styles", styleService.HandleList())
	mux.Handle("GET /styles/{id}", styleService.HandleStyle())
	mux.Handle("GET /styles/glyphs/{fontstack}/{range}", glyphs.Handler())
	mux.Handle("GET /map", web.HandleMap())
	mux.Handle("GET /portal/access", web.HandleAccess())

	accessAPI := accessapi.New(pool, cfg.Audit)
	mux.Handle("GET /access/requests", accessAPI.HandleList())
	mux.Handle("POST /access/requests", accessAPI.HandleSubmitRequest())
	mux.Handle("POST /access/agreements", accessAPI.HandleSubmitAgreement())
	mux.Handle("POST /access/{kind}/{id}/{action}", accessAPI.HandleAction())
	mux.Handle("GET /access/grants", accessAPI.HandleGrants())
	mux.Handle("GET /admin/agencies", requireAdmin(accessAPI.HandleAgencies()))
	mux.Handle("POST /admin/agencies", requireAdmin(accessAPI.HandleAddAgency()))
	mux.Handle("POST /admin/agencies/{id}/applications", requireAdmin(accessAPI.HandleAddApplication()))
	mux.Handle("GET /admin/keys", requireAdmin(accessAPI.HandleKeys()))
	mux.Handle("POST /admin/keys", requireAdmin(accessAPI.HandleCreateKey()))
	mux.Handle("DELETE /admin/keys/{id}", requireAdmin(accessAPI.HandleRevokeKey()))
	mux.Handle("POST /admin/keys/{id}/revoke", requireAdmin(accessAPI.HandleRevokeKey()))
	mux.Handle("GET /audit", accessAPI.HandleAudit())

	// Sources: the reads for the operator, the changes audited too. The path's source is
	// {source}, neither an entry nor a collection, so the records name it by their path only.
	sourcesAPI := sources.NewAPI(pool, cfg.Jobs)
	mux.Handle("GET /admin/sources", requireAdmin(sourcesAPI.HandleList()))
	mux.Handle("POST /admin/sources", requireAdmin(audited(cfg.Audit, "sources.add", false, sourcesAPI.HandleAdd())))
	mux.Handle("GET /admin/sources/{source}", requireAdmin(sourcesAPI.HandleGet()))
	mux.Handle("PATCH /admin/sources/{source}", requireAdmin(audited(cfg.Audit, "sources.update", false, sourcesAPI.HandlePatch())))
	mux.Handle("DELETE /admin/sources/{source}", requireAdmin(audited(cfg.Audit, "sources.delete", false, sourcesAPI.HandleDelete())))
	mux.Handle("POST /admin/sources/{source}/run", requireAdmin(audited(cfg.Audit, "sources.run", false, sourcesAPI.HandleRun())))
	mux.Handle("POST /admin/sources/{source}/pause", requireAdmin(audited(cfg.Audit, "sources.pause", false, sourcesAPI.HandleSetPaused(true))))
	mux.Handle("POST /admin/sources/{source}/resume", requireAdmin(audited(cfg.Audit, "sources.resume", false, sourcesAPI.HandleSetPaused(false))))
	mux.Handle("GET /admin/sources/{source}/runs", requireAdmin(sourcesAPI.HandleRuns()))
	mux.Handle("GET /admin/sources/{source}/runs/{run}/rejects", requireAdmin(sourcesAPI.HandleRejects()))

	mux.Handle("GET /layers", spatial.HandleLayers(reg))
	mux.Handle("GET /layers/{id}", spatial.HandleLayer(reg, pool))

	mux.Handle("/", handleNoRoute(mux))
}

// handleNoRoute answers paths and methods the mux does not know with an OGC exception in JSON
// instead of Go's plain-text 404/405.
func handleNoRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A path known for another method is a 405, as the standard mux would say.
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				w.Header().Set("Allow", m)
				api.WriteError(w, r, api.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", api.MsgBadMethod, r.Method, r.URL.Path))
				return
			}
		}
		api.WriteError(w, r, api.NotFound(api.MsgNoRoute, r.URL.Path))
	})
}
