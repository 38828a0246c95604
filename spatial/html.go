package spatial

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/web"
)

// maxHTMLItems bounds a page rendered for a browser.
const maxHTMLItems = 1000

type htmlFeature struct {
	ID         any            `json:"id"`
	Properties map[string]any `json:"properties"`
}

// itemsHTML renders a page of features as a table with a small map. The page is bounded, so
// unlike the GeoJSON stream it is collected first.
func (s *Service) itemsHTML(w http.ResponseWriter, r *http.Request, l *layers.Layer, iq *itemsQuery) {
	iq.limit = min(iq.limit, maxHTMLItems)
	iq.crs = CRS{URI: CRS84URI, SRID: 4326, Degrees: true}
	sql, args := iq.sql()
	rows, err := s.pool.Query(r.Context(), sql, args...)
	if err != nil {
		api.WriteError(w, r, queryError(err))
		return
	}
	defer rows.Close()
	var raw []json.RawMessage
	var feats []htmlFeature
	var first, last []byte
	more := false
	back := iq.cursor != nil && iq.cursor.Back
	for rows.Next() {
		var f, k, n string
		var links []byte
		if err := rows.Scan(&f, &k, &n, &links); err != nil {
			api.WriteError(w, r, err)
			return
		}
		if total, _ := strconv.Atoi(n); back && len(raw) == 0 && !more && total > iq.limit {
			more = true // the extra row before the page
			continue
		}
		if !back && len(raw) == iq.limit {
			more = true
			break
		}
		if first == nil {
			first = []byte(k)
		}
		last = []byte(k)
		raw = append(raw, json.RawMessage(f))
		var hf htmlFeature
		dec := json.NewDecoder(strings.NewReader(f))
		dec.UseNumber()
		_ = dec.Decode(&hf)
		feats = append(feats, hf)
	}
	if err := rows.Err(); err != nil {
		api.WriteError(w, r, queryError(err))
		return
	}
	fc, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": raw})
	q := r.URL.Query()
	pages := map[string]string{}
	for _, link := range s.itemsLinks(r, l, iq, q, len(raw), first, last, more) {
		if link.Rel == "next" || link.Rel == "prev" {
			pages[link.Rel] = link.Href
		}
	}
	q.Set("f", "json")
	jsonURL := "/collections/" + url.PathEscape(l.ID) + "/items?" + q.Encode()
	q.Set("f", "csv")
	web.Render(w, r, http.StatusOK, "items", web.Page{Title: l.Title, Data: map[string]any{
		"Layer": l, "Fields": iq.fields, "Features": feats, "GeoJSON": template.JS(fc),
		"JSONURL": jsonURL, "CSVURL": "/collections/" + url.PathEscape(l.ID) + "/items?" + q.Encode(),
		"Next": pages["next"], "Prev": pages["prev"],
	}})
}
