// Package styles serves the MapLibre style documents of the layers (OGC API – Styles shape):
// JSON files in this folder, readable and reviewable, with tile URLs made absolute for the
// caller. It reads layers only through the registry.
//
// A file names its tile URLs with the placeholder {base} (the scheme and host the caller
// used). When serving, each source gets the zoom range, bounds and attribution of its layers
// from the registry, and whatever names a layer that is not loaded is left out: a style whose
// only layer is missing is a 404, and the default style loses that layer.
package styles

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
)

// DefaultID is the style with every layer, the one the map page opens.
const DefaultID = "default"

const styleType = "application/vnd.mapbox.style+json"

//go:embed *.json
var files embed.FS

var msgNoStyle = api.Msg("Không có kiểu bản đồ %q; xem /styles", "no style %q; see /styles")

// Service serves styles.
type Service struct {
	reg  *layers.Registry
	gate *policy.Gate // nil: every caller is anonymous
}

// NewService returns the styles service.
func NewService(reg *layers.Registry) *Service { return &Service{reg: reg} }

// Guard fits each caller's styles to what it may read: a layer it cannot read is left out,
// so that its map asks for no tile it would be refused.
func (s *Service) Guard(g *policy.Gate) *Service {
	s.gate = g
	return s
}

// IDs lists the style files by id, the default first.
func IDs() []string {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		panic(err)
	}
	ids := []string{DefaultID}
	for _, n := range names {
		if id := strings.TrimSuffix(n, ".json"); id != DefaultID {
			ids = append(ids, id)
		}
	}
	return ids
}

// Style returns style id as served from base (e.g. "https://hub.example"), or false when
// there is no such style or none of its layers is loaded. Each call decodes the file afresh,
// so callers may change what they get.
func (s *Service) Style(id, base string, pol *policy.Policy) (map[string]any, bool) {
	raw, err := files.ReadFile(id + ".json")
	if err != nil {
		return nil, false
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		panic(fmt.Sprintf("styles: %s.json: %v", id, err)) // the tests parse every file
	}
	loaded := s.resolve(doc, base, func(id string) (*layers.Layer, bool) {
		l, ok := s.reg.Get(id)
		if !ok || !pol.View(l).Readable() {
			return nil, false
		}
		return l, true
	})
	return doc, loaded > 0 || id == DefaultID
}

// collectionsRe finds the collections a tile URL names: /collections/{id}/tiles/… or the
// dataset tiles' collections=a,b list.
var (
	collectionRe  = regexp.MustCompile(`/collections/([a-z0-9-]+)/tiles/`)
	collectionsRe = regexp.MustCompile(`([?&]collections=)([a-z0-9,-]*)`)
)

// resolve makes doc's sources absolute and fits them to the registry; it returns how many
// vector layers are left.
func (s *Service) resolve(doc map[string]any, base string, get func(id string) (*layers.Layer, bool)) int {
	if g, ok := doc["glyphs"].(string); ok {
		doc["glyphs"] = strings.ReplaceAll(g, "{base}", base)
	}
	sources, _ := doc["sources"].(map[string]any)
	dropped := map[string]bool{}
	for name, v := range sources {
		src, _ := v.(map[string]any)
		tiles, _ := src["tiles"].([]any)
		if src["type"] != "vector" || len(tiles) == 0 {
			continue
		}
		var ls []*layers.Layer
		for i, t := range tiles {
			u, _ := t.(string)
			u = strings.ReplaceAll(u, "{base}", base)
			if m := collectionRe.FindStringSubmatch(u); m != nil {
				if l, ok := get(m[1]); ok {
					ls = appendNew(ls, l)
				} else {
					u = ""
				}
			}
			// The dataset tiles refuse an unknown collection, so the list keeps the loaded ones.
			u = collectionsRe.ReplaceAllStringFunc(u, func(q string) string {
				m := collectionsRe.FindStringSubmatch(q)
				var ids []string
				for _, id := range strings.Split(m[2], ",") {
					if l, ok := get(id); ok {
						ids, ls = append(ids, id), appendNew(ls, l)
					}
				}
				return m[1] + strings.Join(ids, ",")
			})
			tiles[i] = u
		}
		if len(ls) == 0 || slices.Contains(tiles, any("")) {
			delete(sources, name)
			dropped[name] = true
			continue
		}
		fit(src, ls)
	}

	var kept []any
	vector := 0
	for _, v := range doc["layers"].([]any) {
		l, _ := v.(map[string]any)
		src, _ := l["source"].(string)
		if src == "" { // background
			kept = append(kept, l)
			continue
		}
		if dropped[src] {
			continue
		}
		sl, _ := l["source-layer"].(string)
		reg, ok := get(sl)
		if !ok {
			continue
		}
		// No layer is drawn outside its registry zoom range: below it the tiles lack the layer,
		// above it MapLibre would stretch the last tiles (an overview that hands over to the
		// detailed layer must stop). A layer's maxzoom is exclusive.
		if z, _ := l["minzoom"].(float64); z < float64(reg.MinZoom) {
			l["minzoom"] = reg.MinZoom
		}
		if z, ok := l["maxzoom"].(float64); reg.MaxZoom < 22 && (!ok || z > float64(reg.MaxZoom+1)) {
			l["maxzoom"] = reg.MaxZoom + 1
		}
		kept = append(kept, l)
		vector++
	}
	doc["layers"] = kept
	return vector
}

func appendNew(ls []*layers.Layer, l *layers.Layer) []*layers.Layer {
	if slices.Contains(ls, l) {
		return ls
	}
	return append(ls, l)
}

// fit gives a source the zoom range, bounds and attribution of its layers, so that MapLibre
// asks only for tiles that can hold data and credits the sources (OpenStreetMap's ODbL wants
// it on the map).
func fit(src map[string]any, ls []*layers.Layer) {
	minZ, maxZ := 22, 0
	var b []float64
	var credits []string
	for _, l := range ls {
		minZ, maxZ = min(minZ, l.MinZoom), max(maxZ, l.MaxZoom)
		if len(l.Extent) == 4 {
			if b == nil {
				b = slices.Clone(l.Extent)
			} else {
				b[0], b[1], b[2], b[3] = min(b[0], l.Extent[0]), min(b[1], l.Extent[1]), max(b[2], l.Extent[2]), max(b[3], l.Extent[3])
			}
		}
		if l.Attribution != "" && !slices.Contains(credits, l.Attribution) {
			credits = append(credits, l.Attribution)
		}
	}
	src["minzoom"], src["maxzoom"] = minZ, max(maxZ, minZ)
	if b != nil {
		src["bounds"] = b
	}
	if len(credits) > 0 {
		src["attribution"] = strings.Join(credits, "; ")
	}
}

// HandleList serves GET /styles.
func (s *Service) HandleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "f")
		if err == nil {
			_, err = api.OneOf(q, "f", "json")
		}
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		pol, err := s.gate.Policy(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		base := api.BaseURL(r)
		list := []map[string]any{}
		for _, id := range IDs() {
			doc, ok := s.Style(id, base, pol)
			if !ok {
				continue
			}
			title, _ := doc["name"].(string)
			meta, _ := doc["metadata"].(map[string]any)
			titleEn, _ := meta["hub:titleEn"].(string)
			href := base + "/styles/" + id
			list = append(list, map[string]any{
				"id": id, "title": title, "titleEn": titleEn,
				"links": []api.Link{
					{Href: href + "?f=mapbox", Rel: "stylesheet", Type: styleType, Title: "Kiểu MapLibre — MapLibre style"},
					{Href: href, Rel: "self", Type: "application/json", Title: title},
				},
			})
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{
			"styles":  list,
			"default": DefaultID,
			"links":   []api.Link{{Href: base + "/styles", Rel: "self", Type: "application/json", Title: "Các kiểu bản đồ — styles"}},
		})
	})
}

// HandleStyle serves GET /styles/{id}: the MapLibre style document.
func (s *Service) HandleStyle() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := api.Query(r, "f")
		var f string
		if err == nil {
			f, err = api.OneOf(q, "f", "mapbox", "json")
		}
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		pol, err := s.gate.Policy(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		id := r.PathValue("id")
		doc, ok := s.Style(id, api.BaseURL(r), pol)
		if !ok {
			api.WriteError(w, r, api.NotFound(msgNoStyle, id))
			return
		}
		// The style follows the registry (zoom ranges, loaded layers) and the caller's
		// rights: keep caches short and per caller.
		w.Header().Set("Cache-Control", "private, max-age=60")
		w.Header().Set("Vary", "Authorization")
		ct := "application/json"
		if f == "mapbox" {
			ct = styleType
		}
		api.WriteJSONType(w, http.StatusOK, ct, doc)
	})
}
