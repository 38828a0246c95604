package spatial

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"

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
	var items [][]byte
	p, err := s.readPage(r.Context(), iq, collect(&items))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	raw := make([]json.RawMessage, len(items))
	feats := make([]htmlFeature, len(items))
	for i, item := range items {
		raw[i] = item
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.UseNumber()
		_ = dec.Decode(&feats[i])
	}
	fc, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": raw})
	q := r.URL.Query()
	pages := map[string]string{}
	for _, link := range s.itemsLinks(r, l, iq, q, p) {
		if link.Rel == "next" || link.Rel == "prev" {
			pages[link.Rel] = link.Href
		}
	}
	q.Set("f", "json")
	jsonURL := "/collections/" + url.PathEscape(l.ID) + "/items?" + q.Encode()
	q.Set("f", "csv")
	s.render(w, r, iq, "items", "items", web.Page{Title: l.Title, Data: map[string]any{
		"Layer": l, "Fields": iq.fields, "Features": feats, "GeoJSON": template.JS(fc),
		"JSONURL": jsonURL, "CSVURL": "/collections/" + url.PathEscape(l.ID) + "/items?" + q.Encode(),
		"Next": pages["next"], "Prev": pages["prev"],
	}}, p.n)
}
