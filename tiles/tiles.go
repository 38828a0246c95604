package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
)

// Conformance lists the OGC API – Tiles and TMS classes implemented.
var Conformance = []string{
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
	"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
	"http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
}

const mvtType = "application/vnd.mapbox-vector-tile"

var (
	msgBadTile   = api.Msg("Đường dẫn ô bản đồ không hợp lệ: %s", "invalid tile path: %s")
	msgNoTile    = api.Msg("Ô %d/%d/%d nằm ngoài lưới WebMercatorQuad", "tile %d/%d/%d is outside WebMercatorQuad")
	msgZoomRange = api.Msg("Lớp %s có ô ở mức thu phóng %d–%d", "collection %s has tiles at zoom %d–%d")
	msgNoTMS     = api.Msg("Chỉ có lưới WebMercatorQuad", "only the WebMercatorQuad tile matrix set is served")
	msgNeedColls = api.Msg("Hãy chọn lớp: collections=a,b", "name the layers: collections=a,b")
	msgNoTiles   = api.Msg("%s là tập bản ghi không có hình học nên không có ô bản đồ", "%s is a record collection without geometry, so it has no tiles")
)

// Service serves vector tiles.
type Service struct {
	reg    *layers.Registry
	pool   *pgxpool.Pool
	gate   *policy.Gate // nil: open data only
	cache  *cache
	shared *Shared // optional, shared by every hub process
	group  singleflight.Group
	// queries counts tiles built by the database (for tests and metrics).
	queries atomic.Int64
}

// NewService returns the tile service with an in-process cache of cacheBytes (0 disables it)
// and, when shared is not nil, a cache shared with the other hub processes.
func NewService(reg *layers.Registry, pool *pgxpool.Pool, cacheBytes int, shared *Shared) *Service {
	return &Service{reg: reg, pool: pool, cache: newCache(cacheBytes), shared: shared}
}

// Guard makes the service build each caller's tiles from what the access policy lets it
// read, logging every tile of non-open data.
func (s *Service) Guard(g *policy.Gate) *Service {
	s.gate = g
	return s
}

// Purge empties the in-process cache.
func (s *Service) Purge() { s.cache.purge() }

// Queries is how many tiles the database has built.
func (s *Service) Queries() int64 { return s.queries.Load() }

// tileKey names a tile of a set of layers at their current data versions, as read through
// views: after an import the key changes, so no process ever serves a stale tile, and callers
// who read differently never share a tile.
func tileKey(vs []*policy.View, z, x, y int) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s@%d:%s,", v.Layer.ID, v.Layer.DataVersion, v.Fingerprint())
	}
	fmt.Fprintf(&b, "/%d/%d/%d", z, x, y)
	return b.String()
}

func etag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// tile returns the tile of ls at z/x/y, from the cache or built once however many requests
// ask for it at the same time.
func (s *Service) tile(ctx context.Context, vs []*policy.View, z, x, y int) (*entry, error) {
	key := tileKey(vs, z, x, y)
	if e, ok := s.cache.get(key); ok {
		return e, nil
	}
	v, err, _ := s.group.Do(key, func() (any, error) {
		// Detach from one caller's cancellation: others may be waiting on the same tile.
		qctx := context.WithoutCancel(ctx)
		if e, ok := s.shared.get(qctx, key); ok {
			s.cache.put(e)
			return e, nil
		}
		var raw []byte
		sql, args := tileSQL(vs, z, x, y)
		if err := s.pool.QueryRow(qctx, sql, args...).Scan(&raw); err != nil {
			return nil, fmt.Errorf("tile %s: %w", key, err)
		}
		s.queries.Add(1)
		e := &entry{key: key, etag: etag(key), raw: raw}
		if s.shared != nil {
			e.gzipped() // other processes will want it; compress once for all
		}
		s.cache.put(e)
		s.shared.put(qctx, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// parseZXY reads {z}/{y}/{x}, with an optional .mvt or .pbf suffix on x.
func parseZXY(r *http.Request) (z, x, y int, err error) {
	if tms := r.PathValue("tms"); tms != TMSID {
		return 0, 0, 0, api.NotFound(msgNoTMS)
	}
	xs := strings.TrimSuffix(strings.TrimSuffix(r.PathValue("x"), ".mvt"), ".pbf")
	vals := make([]int, 3)
	for i, s := range []string{r.PathValue("z"), r.PathValue("y"), xs} {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, 0, api.BadParam("", msgBadTile, r.URL.Path)
		}
		vals[i] = n
	}
	z, y, x = vals[0], vals[1], vals[2]
	if !validTile(z, x, y) {
		return 0, 0, 0, api.NotFound(msgNoTile, z, y, x)
	}
	return z, x, y, nil
}

// write sends a tile: 204 when empty, gzip when the client takes it, an ETag from the data
// versions and views and 304 when the client has it already. A tile of non-open data is logged
// (with its features per layer) before it is sent, and private to the caller.
func (s *Service) write(w http.ResponseWriter, r *http.Request, vs []*policy.View, e *entry) {
	h := w.Header()
	tag := e.etag
	h.Set("ETag", tag)
	h.Set("Vary", "Accept-Encoding, Authorization")
	logged := slices.ContainsFunc(vs, func(v *policy.View) bool { return v.Logged })
	if logged {
		h.Set("Cache-Control", "private, max-age=60")
	} else {
		h.Set("Cache-Control", "public, max-age=60, stale-while-revalidate=600")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && (match == tag || match == "*" || slices.Contains(strings.Split(strings.ReplaceAll(match, " ", ""), ","), tag)) {
		w.WriteHeader(http.StatusNotModified) // discloses nothing the caller does not hold
		return
	}
	status := http.StatusOK
	if len(e.raw) == 0 {
		status = http.StatusNoContent
	}
	if logged {
		counts := e.featureCounts()
		rows := make([]int64, len(vs))
		for i, v := range vs {
			rows[i] = int64(counts[v.Layer.ID])
		}
		if err := s.gate.Record(r, vs, "tile", rows, status, e.digest); err != nil {
			api.WriteError(w, r, err)
			return
		}
	}
	if status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Content-Type", mvtType)
	body := e.raw
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = e.gzipped()
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// HandleCollectionTile serves GET /collections/{id}/tiles/{tms}/{z}/{y}/{x}.
func (s *Service) HandleCollectionTile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _, err := s.collectionRequest(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		l := v.Layer
		z, x, y, err := parseZXY(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if z < l.MinZoom || z > l.MaxZoom {
			api.WriteError(w, r, api.NotFound(msgZoomRange, l.ID, l.MinZoom, l.MaxZoom))
			return
		}
		vs := []*policy.View{v}
		e, err := s.tile(r.Context(), vs, z, x, y)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		s.write(w, r, vs, e)
	})
}

// layersParam resolves collections=a,b as the caller reads them: every named layer must be
// readable (else the 401/403 of the first that is not); without the parameter, every layer
// the caller may read.
func (s *Service) layersParam(r *http.Request, q url.Values) ([]*policy.View, error) {
	pol, err := s.gate.Policy(r)
	if err != nil {
		return nil, err
	}
	v := q.Get("collections")
	if v == "" {
		if q.Has("collections") {
			return nil, api.BadParam("collections", msgNeedColls)
		}
		var out []*policy.View
		var first *policy.View
		for _, l := range s.reg.Spatial() {
			vw := pol.View(l)
			if vw.Readable() {
				out = append(out, vw)
			} else if first == nil {
				first = vw
			}
		}
		if len(out) == 0 && first != nil {
			return nil, s.gate.Deny(r.Context(), first)
		}
		return out, nil
	}
	var out []*policy.View
	for _, id := range strings.Split(v, ",") {
		l, ok := s.reg.Get(strings.TrimSpace(id))
		if !ok {
			return nil, api.BadParam("collections", api.MsgNoCollection, id)
		}
		if l.IsRecord() {
			return nil, api.BadParam("collections", msgNoTiles, l.ID)
		}
		if slices.ContainsFunc(out, func(v *policy.View) bool { return v.Layer == l }) {
			continue
		}
		vw, err := s.gate.View(r.Context(), pol, l)
		if err != nil {
			return nil, err
		}
		out = append(out, vw)
	}
	return out, nil
}

// HandleDatasetTile serves GET /tiles/{tms}/{z}/{y}/{x}?collections=a,b: several layers in
// one tile, built in one round trip; layers outside their zoom range are left out.
func (s *Service) HandleDatasetTile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "collections", "f")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		z, x, y, err := parseZXY(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		vs, err := s.layersParam(r, q)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		var in []*policy.View
		for _, v := range vs {
			if z >= v.Layer.MinZoom && z <= v.Layer.MaxZoom {
				in = append(in, v)
			}
		}
		if len(in) == 0 {
			ls := layersOf(vs)
			api.WriteError(w, r, api.NotFound(msgZoomRange, strings.Join(ids(ls), ","), minZoom(ls), maxZoom(ls)))
			return
		}
		e, err := s.tile(r.Context(), in, z, x, y)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		s.write(w, r, in, e)
	})
}

func layersOf(vs []*policy.View) []*layers.Layer {
	out := make([]*layers.Layer, len(vs))
	for i, v := range vs {
		out[i] = v.Layer
	}
	return out
}

func ids(ls []*layers.Layer) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

func minZoom(ls []*layers.Layer) int {
	m := MaxZoom
	for _, l := range ls {
		m = min(m, l.MinZoom)
	}
	return m
}

func maxZoom(ls []*layers.Layer) int {
	m := 0
	for _, l := range ls {
		m = max(m, l.MaxZoom)
	}
	return m
}

// CacheStats reports the in-process cache: entries, bytes, hits and misses.
func (s *Service) CacheStats() (entries, bytes int, hits, misses uint64) { return s.cache.stats() }

// Build makes the tile of l at z/x/y as an anonymous caller reads it (through the caches) and
// returns its size.
func (s *Service) Build(ctx context.Context, l *layers.Layer, z, x, y int) (int, error) {
	e, err := s.tile(ctx, []*policy.View{policy.Open().View(l)}, z, x, y)
	if err != nil {
		return 0, err
	}
	return len(e.raw), nil
}

// Cover lists the tiles (z, x, y) over a WGS 84 extent at zooms z0–z1.
func Cover(extent []float64, z0, z1 int) [][3]int {
	if len(extent) != 4 {
		return nil
	}
	var out [][3]int
	for z := z0; z <= z1; z++ {
		x0, y1 := lonLatToTile(extent[0], extent[1], z)
		x1, y0 := lonLatToTile(extent[2], extent[3], z)
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				out = append(out, [3]int{z, x, y})
			}
		}
	}
	return out
}

// gzipped returns the tile compressed, compressing it the first time. Entries read from the
// shared cache arrive compressed already.
func (e *entry) gzipped() []byte {
	e.gzOnce.Do(func() {
		if e.gz != nil || len(e.raw) == 0 {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(e.raw)
		zw.Close()
		e.gz = buf.Bytes()
	})
	return e.gz
}

// collectionRequest checks the query of a /collections/{id}/tiles… request and finds its layer
// as the caller reads it.
func (s *Service) collectionRequest(r *http.Request) (*policy.View, url.Values, error) {
	q, err := api.Query(r, "f")
	if err != nil {
		return nil, nil, err
	}
	l, ok := s.reg.Get(r.PathValue("id"))
	if !ok {
		return nil, nil, api.NotFound(api.MsgNoCollection, r.PathValue("id"))
	}
	if l.IsRecord() {
		return nil, nil, api.NotFound(msgNoTiles, l.ID)
	}
	pol, err := s.gate.Policy(r)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.gate.View(r.Context(), pol, l)
	return v, q, err
}
