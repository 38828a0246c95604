package connect

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// restConnector reads a REST/JSON API. Endpoint is the URL of the first page. Options:
//
//   - items_path: dot path to the items array in a page ("result.rows"); empty: the page is
//     the array, or its features (GeoJSON), items or data member.
//   - paging: next (default), none, offset, page or cursor.
//     offset: offset_param (default "offset") and limit_param (default "limit") = page_size
//     (default 1000); the offset grows by the items read.
//     page: page_param (default "page") from first_page (default 1), with limit_param = page_size.
//     cursor: cursor_param, the query parameter sent with the cursor that cursor_path (a dot
//     path in the response) gives; the last page is the one without a cursor.
//     next: the next page's URL at next_path in the body ("links.next", a links array with
//     rel=next), else the body's links, else a Link header with rel="next"; relative URLs
//     resolve against the page's. A single page when there is no such link.
//     A link to another host (scheme, host and port) than the endpoint's is refused, unless
//     follow_other_hosts is true: those pages are then read without the source's headers.
//     With cursor and next, limit_param (when given) is sent with page_size.
//     Every style stops at an empty page.
//   - lon, lat: dot paths to the coordinates of a point (numbers or numeric text), or
//     geometry_path: dot path to a GeoJSON geometry (an object, or JSON text); items that are
//     GeoJSON Features give their own geometry.
//   - srid: the coordinates' system (default 4326).
//   - since_param (watermark detection): the query parameter that is given the last run's
//     cursor (not sent on the first run, which reads everything).
//
// Hash detection reads everything; Watermark reads what changed since the cursor and keeps
// the greatest watermark; there is no change feed.
type restConnector struct{}

func init() { Register("rest", restConnector{}) }

func (restConnector) Describe() string {
	return "REST/JSON API at the endpoint URL; options items_path, paging (next|none|offset|page|cursor), offset_param, limit_param, page_size, page_param, first_page, cursor_param, cursor_path, next_path, follow_other_hosts (false), lon+lat or geometry_path, srid (4326), since_param (watermark)"
}

func (restConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	complete, err := jsonDetection("rest", &cfg)
	if err != nil {
		return nil, err
	}
	if err := httpEndpoint("rest", &cfg); err != nil {
		return nil, err
	}
	srid, err := jsonIntOption(&cfg, "srid", 4326, 0)
	if err != nil {
		return nil, err
	}
	size, err := jsonIntOption(&cfg, "page_size", 1000, 1)
	if err != nil {
		return nil, err
	}
	firstPage, err := jsonIntOption(&cfg, "first_page", 1, 0)
	if err != nil {
		return nil, err
	}
	itemsPath := cfg.Option("items_path", "")
	paging := cfg.Option("paging", "next")
	limitParam := cfg.Option("limit_param", "")
	var pageParam, cursorParam, cursorPath string
	switch paging {
	case "none", "next":
	case "offset":
		pageParam = cfg.Option("offset_param", "offset")
	case "page":
		pageParam = cfg.Option("page_param", "page")
	case "cursor":
		cursorParam, cursorPath = cfg.Option("cursor_param", ""), cfg.Option("cursor_path", "")
		if cursorParam == "" || cursorPath == "" {
			return nil, fmt.Errorf("the rest connector's cursor paging needs the options cursor_param and cursor_path")
		}
	default:
		return nil, fmt.Errorf("option paging: %q; use none, offset, page, cursor or next", paging)
	}
	if limitParam == "" && (paging == "offset" || paging == "page") {
		limitParam = "limit"
	}
	base := cfg.Endpoint
	if cfg.Detect == Watermark {
		since := cfg.Option("since_param", "")
		if since == "" {
			return nil, fmt.Errorf("the rest connector's watermark detection needs the option since_param (the query parameter given the last run's cursor)")
		}
		if cfg.Cursor != "" {
			if base, err = urlWithParams(base, false, since, cfg.Cursor); err != nil {
				return nil, err
			}
		}
	}
	// url is the URL of a page: base with the paging's parameters.
	url := func(kv ...string) string {
		if limitParam != "" {
			kv = append(kv, limitParam, strconv.Itoa(size))
		}
		u, _ := urlWithParams(base, false, kv...) // base is a URL: checked above
		return u
	}
	geom := restGeometry{lon: cfg.Option("lon", ""), lat: cfg.Option("lat", ""), path: cfg.Option("geometry_path", "")}
	if (geom.lon == "") != (geom.lat == "") {
		return nil, fmt.Errorf("the rest connector needs both options lon and lat, or neither")
	}
	read := func(ctx context.Context, add func(*fastjson.Value) error) error {
		pg := newJSONPager(&cfg, "application/json, application/geo+json;q=0.9")
		offset, page := 0, firstPage
		first := url()
		switch paging {
		case "none":
			first = base
		case "offset":
			first = url(pageParam, "0")
		case "page":
			first = url(pageParam, strconv.Itoa(page))
		}
		return pg.walk(ctx, first, func(u string, doc *fastjson.Value, h http.Header) (string, error) {
			items, err := pg.items(u, doc, itemsPath)
			if err != nil {
				return "", err
			}
			for _, v := range items {
				if err := add(geom.item(v)); err != nil {
					return "", err
				}
			}
			if len(items) == 0 {
				return "", nil
			}
			switch paging {
			case "offset":
				offset += len(items)
				return url(pageParam, strconv.Itoa(offset)), nil
			case "page":
				page++
				return url(pageParam, strconv.Itoa(page)), nil
			case "cursor":
				c := Text(doc.Get(strings.Split(cursorPath, ".")...))
				if c == "" {
					return "", nil
				}
				return url(cursorParam, c), nil
			case "next":
				return pg.next(u, doc, cfg.Option("next_path", ""), h)
			}
			return "", nil
		})
	}
	return NewItems(&cfg, "REST JSON", srid, complete, read), nil
}

// restGeometry makes plain items with coordinates (lon, lat) or a geometry (path) GeoJSON
// Features, which Items reads.
type restGeometry struct {
	lon, lat, path string
	arena          fastjson.Arena
	parser         fastjson.Parser
}

func (g *restGeometry) item(v *fastjson.Value) *fastjson.Value {
	if (g.lon == "" && g.path == "") || v.Type() != fastjson.TypeObject || string(v.GetStringBytes("type")) == "Feature" {
		return v
	}
	a := &g.arena
	a.Reset()
	var geom *fastjson.Value
	if g.path != "" {
		geom = v.Get(strings.Split(g.path, ".")...)
		if geom != nil && geom.Type() == fastjson.TypeString { // GeoJSON as text
			if s := strings.TrimSpace(string(geom.GetStringBytes())); s == "" {
				geom = nil
			} else if p, err := g.parser.Parse(s); err == nil {
				geom = p
			}
		}
	} else {
		x, y := v.Get(strings.Split(g.lon, ".")...), v.Get(strings.Split(g.lat, ".")...)
		if strings.TrimSpace(Text(x)) != "" && strings.TrimSpace(Text(y)) != "" {
			geom = a.NewObject()
			geom.Set("type", a.NewString("Point"))
			c := a.NewArray()
			c.SetArrayItem(0, restNumber(a, x))
			c.SetArrayItem(1, restNumber(a, y))
			geom.Set("coordinates", c)
		}
	}
	if geom == nil {
		geom = a.NewNull()
	}
	f := a.NewObject()
	f.Set("type", a.NewString("Feature"))
	f.Set("properties", v)
	f.Set("geometry", geom)
	return f
}

// restNumber is a coordinate: a number, or text holding one (other text is left for the geometry
// reader to report).
func restNumber(a *fastjson.Arena, v *fastjson.Value) *fastjson.Value {
	if v.Type() == fastjson.TypeString {
		if x, err := strconv.ParseFloat(strings.TrimSpace(string(v.GetStringBytes())), 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
			return a.NewNumberFloat64(x)
		}
	}
	return v
}
