package spatial

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/web"
)

// Service serves OGC API – Features over the layer registry.
type Service struct {
	reg  *layers.Registry
	pool *pgxpool.Pool
	gate *policy.Gate // nil: open data only
}

// NewService returns the features service; without Guard it serves open data only.
func NewService(reg *layers.Registry, pool *pgxpool.Pool) *Service {
	return &Service{reg: reg, pool: pool}
}

// Guard makes the service serve each caller what the access policy lets it read, logging
// every access to non-open data.
func (s *Service) Guard(g *policy.Gate) *Service {
	s.gate = g
	return s
}

// exactCountLimit: a filtered count over a larger layer would make every page slow, so
// numberMatched is left out there instead of estimated (it must never lie).
const exactCountLimit = 200_000

func (s *Service) layer(id string) (*layers.Layer, error) {
	l, ok := s.reg.Get(id)
	if !ok {
		return nil, api.NotFound(api.MsgNoCollection, id)
	}
	return l, nil
}

// view finds the collection of the request's path and how its caller may read it: a 404 for
// no such collection, a 401/403 when the caller may read none of it.
func (s *Service) view(r *http.Request) (*policy.Policy, *policy.View, error) {
	l, err := s.layer(r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	pol, err := s.gate.Policy(r)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.gate.View(r.Context(), pol, l)
	return pol, v, err
}

// itemsParams are the query parameters of /items besides queryables.
var itemsParams = []string{"f", "limit", "bbox", "bbox-crs", "crs", "datetime", "properties", "skipGeometry", "sortby", "cursor",
	"filter", "filter-lang", "filter-crs"}

// HandleItems serves GET /collections/{id}/items.
func (s *Service) HandleItems() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol, v, err := s.view(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		l := v.Layer
		// Every field is a known parameter, so that one the caller may not read is refused
		// as such (403, saying what would grant it) rather than as unknown.
		allowed := append([]string(nil), itemsParams...)
		for _, f := range l.Fields {
			allowed = append(allowed, f.Name)
		}
		q, format, err := api.Request(r, itemFormats, allowed...)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		iq, err := s.parseItems(r.Context(), v, pol, q)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		iq.base = api.BaseURL(r)
		switch format {
		case api.HTML:
			s.itemsHTML(w, r, l, iq)
		case api.CSV:
			s.writeCSV(w, r, l, iq, q)
		default:
			s.writeItems(w, r, l, iq, q)
		}
	})
}

// hidden returns the first field the request names (as a queryable, in properties or sortby,
// as the time of datetime) that exists but the view does not show.
func hidden(v *policy.View, q url.Values) string {
	var names []string
	for _, f := range v.Layer.Fields {
		if q.Has(f.Name) {
			names = append(names, f.Name)
		}
	}
	for _, p := range []string{"properties", "sortby"} {
		for _, n := range strings.Split(q.Get(p), ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(n), " ") // "field DESC"
			names = append(names, strings.TrimLeft(name, "+-"))
		}
	}
	if q.Get("datetime") != "" && v.Layer.Temporal != "" {
		names = append(names, v.Layer.Temporal)
	}
	for _, n := range names {
		if _, exists := v.Layer.Field(n); exists {
			if _, shown := v.Column(n); !shown {
				return n
			}
		}
	}
	return ""
}

// itemFormats are the encodings of items: GeoJSON, HTML and CSV.
var itemFormats = []api.Format{api.JSON, api.HTML, api.CSV}

var msgNoGeometry = api.Msg("%s: %s là tập bản ghi, không có hình học", "%s: %s is a record collection, without geometry")

func (s *Service) parseItems(ctx context.Context, v *policy.View, pol *policy.Policy, q url.Values) (*itemsQuery, error) {
	if name := hidden(v, q); name != "" {
		return nil, s.gate.DenyField(ctx, v, name)
	}
	l, visible := v.Layer, v.Fields()
	iq := &itemsQuery{layer: l, view: v, policy: pol, crs: CRS{URI: CRS84URI, SRID: 4326, Degrees: true}}
	if s.reg != nil {
		iq.lookup = s.reg.Get
	}
	if l.IsRecord() {
		for _, p := range []string{"crs", "bbox", "bbox-crs", "filter-crs"} {
			if q.Has(p) {
				return nil, api.BadParam(p, msgNoGeometry, p, l.ID)
			}
		}
	}
	var err error
	if iq.limit, err = parseLimit(q); err != nil {
		return nil, err
	}
	if c := q.Get("crs"); c != "" {
		if iq.crs, err = parseCRS(c, l.SRID); err != nil {
			return nil, api.BadParam("crs", msgCRS, c, l.ID)
		}
	}
	if iq.fields, err = parseProperties(q, visible); err != nil {
		return nil, err
	}
	if iq.noGeom, err = parseBool(q, "skipGeometry"); err != nil {
		return nil, err
	}
	if iq.sort, err = parseSortby(q, visible); err != nil {
		return nil, err
	}
	b, err := parseBBox(q, l.SRID)
	if err != nil {
		return nil, err
	}
	if b != nil {
		iq.filterBBox(b)
	}
	iv, err := parseDatetime(q.Get("datetime"))
	if err != nil {
		return nil, err
	}
	if iv != nil {
		if l.Temporal == "" {
			return nil, api.BadParam("datetime", msgNoTime, l.ID)
		}
		iq.filterTime(iv)
	}
	// Queryables as plain parameters: ?land_use=LUC.
	for _, f := range visible {
		if v, ok := q[f.Name]; ok {
			iq.where = append(iq.where, fmt.Sprintf("%s = %s::%s", col(f.Name), iq.arg(v[0]), castOf(f)))
		}
	}
	if err := s.parseFilter(iq, visible, q); err != nil {
		return nil, err
	}
	if iq.cursor, err = parseCursor(q, iq.sortSignature(), len(iq.sort)); err != nil {
		return nil, err
	}
	return iq, nil
}

// writeItems answers with the page as a FeatureCollection: PostGIS builds each Feature, Go
// only joins them. Open data is streamed as the rows arrive; an answer with non-open data is
// held (a page is bounded) until its audit record is written.
func (s *Service) writeItems(w http.ResponseWriter, r *http.Request, l *layers.Layer, iq *itemsQuery, q url.Values) {
	ctx := r.Context()
	h := w.Header()
	h.Set("Content-Type", "application/geo+json")
	if !l.IsRecord() {
		h.Set("Content-Crs", "<"+iq.crs.URI+">")
	}
	var held bytes.Buffer
	var out io.Writer = w
	if iq.logged() {
		out = &held
	} else {
		h.Set("Vary", "Authorization")
	}
	bw := bufio.NewWriterSize(out, 128<<10)
	started := false
	p, err := s.readPage(ctx, iq, func(item, links []byte) {
		if started {
			bw.WriteByte(',')
		} else {
			started = true
			bw.WriteString(`{"type":"FeatureCollection","features":[`)
		}
		writeWithLinks(bw, item, iq.linksJSON(links))
	})
	if err != nil {
		if out == w && started {
			// Too late for a status: end the body so the client sees a broken document, not a short one.
			slog.ErrorContext(ctx, "items stream failed", "collection", l.ID, "err", err)
			panic(http.ErrAbortHandler)
		}
		api.WriteError(w, r, err)
		return
	}
	if !started {
		bw.WriteString(`{"type":"FeatureCollection","features":[`)
	}
	bw.WriteString(`],"numberReturned":`)
	bw.WriteString(strconv.Itoa(p.n))
	if matched, ok := s.numberMatched(ctx, l, iq); ok {
		bw.WriteString(`,"numberMatched":`)
		bw.WriteString(strconv.FormatInt(matched, 10))
	}
	bw.WriteString(`,"timeStamp":"` + time.Now().UTC().Format(time.RFC3339) + `","links":`)
	b, _ := json.Marshal(s.itemsLinks(r, l, iq, q, p))
	bw.Write(b)
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		slog.DebugContext(ctx, "client went away", "err", err)
	}
	if out != w {
		s.send(w, r, iq, "items", p.n, held.Bytes())
	}
}

// numberMatched is exact: the registry's count when nothing filters, a count(*) on layers
// small enough, and absent otherwise.
func (s *Service) numberMatched(ctx context.Context, l *layers.Layer, iq *itemsQuery) (int64, bool) {
	if len(iq.where) == 0 && !iq.view.Restricted() {
		return l.Features, true
	}
	if l.Features > exactCountLimit {
		return 0, false
	}
	sql, args := iq.countSQL()
	var n int64
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		slog.WarnContext(ctx, "count failed", "collection", l.ID, "err", err)
		return 0, false
	}
	return n, true
}

func (s *Service) itemsLinks(r *http.Request, l *layers.Layer, iq *itemsQuery, q url.Values, p *page) []api.Link {
	n, first, last, more := p.n, p.first, p.last, p.more
	base := api.BaseURL(r) + "/collections/" + url.PathEscape(l.ID) + "/items"
	with := func(set map[string]string) string {
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		for k, val := range set {
			if val == "" {
				v.Del(k)
			} else {
				v.Set(k, val)
			}
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	links := []api.Link{
		{Href: with(nil), Rel: "self", Type: "application/geo+json", Title: "Trang này — this page"},
		{Href: with(map[string]string{"f": "html"}), Rel: "alternate", Type: "text/html", Title: "Dạng HTML — as HTML"},
		{Href: api.BaseURL(r) + "/collections/" + url.PathEscape(l.ID), Rel: "collection", Type: "application/json", Title: l.Title},
	}
	back := iq.cursor != nil && iq.cursor.Back
	hasNext := (more && !back) || (back && n > 0)
	hasPrev := (iq.cursor != nil && !back && n > 0) || (back && more)
	sig := iq.sortSignature()
	mk := func(row []byte, backwards bool) string {
		var vals []json.RawMessage
		if json.Unmarshal(row, &vals) != nil || len(vals) == 0 {
			return ""
		}
		fid, _ := strconv.ParseInt(string(vals[len(vals)-1]), 10, 64)
		return cursor{Sort: sig, Values: vals[:len(vals)-1], FID: fid, Back: backwards}.encode()
	}
	if hasNext && last != nil {
		links = append(links, api.Link{Href: with(map[string]string{"cursor": mk(last, false), "f": q.Get("f")}), Rel: "next", Type: "application/geo+json", Title: "Trang sau — next page"})
	}
	if hasPrev && first != nil {
		links = append(links, api.Link{Href: with(map[string]string{"cursor": mk(first, true), "f": q.Get("f")}), Rel: "prev", Type: "application/geo+json", Title: "Trang trước — previous page"})
	}
	return links
}

// HandleItem serves GET /collections/{id}/items/{featureId}: a feature by its id, a record
// by its natural key.
func (s *Service) HandleItem() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol, v, err := s.view(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		l := v.Layer
		q, format, err := api.Request(r, api.JSONOrHTML, "crs", "properties", "skipGeometry")
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		idText := r.PathValue("featureId")
		iq, err := s.parseItems(r.Context(), v, pol, q)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		iq.base, iq.limit = api.BaseURL(r), 1
		if l.KeyField != "" {
			// Matching a value the caller gives against one it may only see masked would
			// let it test guesses: lookups need the key in clear.
			if !v.InClear(l.KeyField) {
				api.WriteError(w, r, policy.DenyMaskedKey(v))
				return
			}
			iq.key = &idText
		} else {
			fid, err := strconv.ParseInt(idText, 10, 64)
			if err != nil {
				api.WriteError(w, r, api.NotFound(msgNoFeature, idText, l.ID))
				return
			}
			iq.featureID = &fid
		}
		sql, args := iq.sql()
		var feature, keyset, n string
		var linkData []byte
		err = s.pool.QueryRow(r.Context(), sql, args...).Scan(&feature, &keyset, &n, &linkData)
		if errors.Is(err, pgx.ErrNoRows) {
			api.WriteError(w, r, api.NotFound(msgNoFeature, idText, l.ID))
			return
		}
		if err != nil {
			// A key that cannot be of the key's type names no record.
			if qe := queryError(err); qe != err {
				err = api.NotFound(msgNoFeature, idText, l.ID)
			}
			api.WriteError(w, r, err)
			return
		}
		related := iq.itemLinks(linkData)
		if format == api.HTML {
			// People follow the links to pages, not to JSON.
			pages := make([]itemLink, len(related))
			for i, k := range related {
				pages[i] = k
				if u, err := url.Parse(k.Href); err == nil {
					q := u.Query()
					q.Set("f", "html")
					u.RawQuery = q.Encode()
					pages[i].Href = u.String()
				}
			}
			s.render(w, r, iq, "item", "feature", web.Page{Title: l.Title + " — " + idText, Data: map[string]any{
				"Layer": l, "Feature": json.RawMessage(feature), "ID": idText, "Links": pages}}, 1)
			return
		}
		self := iq.base + "/collections/" + url.PathEscape(l.ID)
		links := []itemLink{
			{Link: api.Link{Href: self + "/items/" + url.PathEscape(idText), Rel: "self", Type: "application/geo+json"}},
			{Link: api.Link{Href: self + "/items/" + url.PathEscape(idText) + "?f=html", Rel: "alternate", Type: "text/html"}},
			{Link: api.Link{Href: self, Rel: "collection", Type: "application/json", Title: l.Title}},
		}
		w.Header().Set("Content-Type", "application/geo+json")
		if !l.IsRecord() {
			w.Header().Set("Content-Crs", "<"+iq.crs.URI+">")
		}
		// Callers who read differently get different bytes: the view is part of the tag.
		w.Header().Set("ETag", `"`+s.versionTag(l)+"-"+v.Fingerprint()+"-"+url.PathEscape(idText)+`"`)
		all, _ := json.Marshal(append(links, related...))
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		writeWithLinks(bw, []byte(feature), all)
		bw.WriteByte('\n')
		bw.Flush()
		s.send(w, r, iq, "item", 1, buf.Bytes())
	})
}

// versionTag names the data an item of l is built from: its data version and those of the
// collections its links read (a backlink's count changes with the records).
func (s *Service) versionTag(l *layers.Layer) string {
	tag := fmt.Sprintf("%s-v%d", l.ID, l.DataVersion)
	for _, k := range append(slices.Clone(l.Links), l.Backlinks...) {
		for _, id := range []string{k.Source, k.Target} {
			if o, ok := s.reg.Get(id); ok && id != l.ID {
				tag += fmt.Sprintf("-%d", o.DataVersion)
			}
		}
	}
	return tag
}

// queryError turns a database refusal caused by the caller's values into a 400.
func queryError(err error) error {
	msg := err.Error()
	for _, hint := range []string{"invalid input syntax", "out of range", "22P02", "22007", "22008", "22003"} {
		if strings.Contains(msg, hint) {
			return api.Errorf(http.StatusBadRequest, "InvalidParameterValue", api.Msg("Giá trị không hợp lệ: %s", "invalid value: %s"), msg)
		}
	}
	return err
}
