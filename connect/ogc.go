package connect

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// ogcConnector reads OGC API – Features. Endpoint is a collection's items URL
// (http://host/collections/roads/items). Options:
//
//   - limit: features per page (default 1000); the pages follow the links with rel=next (or a
//     Link header), ending at the last one or an empty page.
//   - follow_other_hosts: true to follow a link to another host than the endpoint's, without
//     the source's headers (by default such a link is refused: the credentials are the
//     endpoint's alone).
//   - crs: a CRS URI sent as the crs parameter (OGC API – Features part 2); its EPSG code is
//     the SRID unless srid says otherwise.
//   - srid: the coordinates' system (default 4326: the GeoJSON default, CRS84).
//   - watermark_filter (watermark detection): cql2 (default) sends
//     filter=<field> > '<cursor>' with filter-lang=cql2-text; datetime sends
//     datetime=<cursor>/.. (the feature's temporal property; its interval includes the cursor).
//
// Hash detection reads every feature; a feature's id is its key when its properties lack one.
type ogcConnector struct{}

// wfsConnector reads a WFS 2.0 GetFeature answer in GeoJSON. Endpoint is the WFS base URL.
// Options:
//
//   - typeNames (required): the feature type ("ws:roads").
//   - output_format: default application/json.
//   - srs_name: default EPSG:4326, which GeoServer answers in lon/lat (the urn form gives
//     lat/lon); its EPSG code is the SRID unless srid says otherwise.
//   - page_size: the count of a page (default 1000); startIndex grows until a page has fewer
//     features than count.
//   - sort_by: a sortBy parameter, for servers whose paging needs a stable order.
//
// Watermark detection sends a FES 2.0 PropertyIsGreaterThan filter on the watermark field.
type wfsConnector struct{}

func init() {
	Register("ogcapi", ogcConnector{})
	Register("wfs", wfsConnector{})
}

func (ogcConnector) Describe() string {
	return "OGC API – Features collection items URL; options limit (1000), crs, srid (4326), watermark_filter (cql2|datetime), follow_other_hosts (false); follows links rel=next"
}

func (wfsConnector) Describe() string {
	return "WFS 2.0 GetFeature in GeoJSON at the WFS base URL; options typeNames (required), output_format (application/json), srs_name (EPSG:4326), page_size (1000, count/startIndex paging), sort_by, srid; watermark by a FES 2.0 filter"
}

func (ogcConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	complete, err := jsonDetection("ogcapi", &cfg)
	if err != nil {
		return nil, err
	}
	if err := httpEndpoint("ogcapi", &cfg); err != nil {
		return nil, err
	}
	limit, err := jsonIntOption(&cfg, "limit", 1000, 1)
	if err != nil {
		return nil, err
	}
	kv := []string{"limit", strconv.Itoa(limit)}
	crs := cfg.Option("crs", "")
	if crs != "" {
		kv = append(kv, "crs", crs)
	}
	def := 4326
	if crs != "" {
		def = ogcCRSSRID(crs)
	}
	srid, err := jsonIntOption(&cfg, "srid", def, 0)
	if err != nil {
		return nil, err
	}
	if srid == 0 {
		return nil, fmt.Errorf("option crs %q has no EPSG code; give the option srid", crs)
	}
	if cfg.Detect == Watermark && cfg.Cursor != "" {
		switch f := cfg.Option("watermark_filter", "cql2"); f {
		case "cql2":
			kv = append(kv, "filter", ogcCQL2Name(cfg.WatermarkField)+" > '"+strings.ReplaceAll(cfg.Cursor, "'", "''")+"'", "filter-lang", "cql2-text")
		case "datetime":
			kv = append(kv, "datetime", cfg.Cursor+"/..")
		default:
			return nil, fmt.Errorf("option watermark_filter: %q; use cql2 or datetime", f)
		}
	}
	first, err := urlWithParams(cfg.Endpoint, false, kv...)
	if err != nil {
		return nil, err
	}
	return NewItems(&cfg, "OGC API Features", srid, complete, func(ctx context.Context, add func(*fastjson.Value) error) error {
		return ogcReadFeatures(ctx, &cfg, first, add)
	}), nil
}

// ogcReadFeatures reads every feature of an OGC API items URL's pages.
func ogcReadFeatures(ctx context.Context, cfg *Config, first string, add func(*fastjson.Value) error) error {
	pg := newJSONPager(cfg, "application/geo+json, application/json;q=0.9")
	return pg.features(ctx, first, true, func(_ *fastjson.Value, items []*fastjson.Value) error {
		for _, v := range items {
			if err := add(v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (wfsConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	complete, err := jsonDetection("wfs", &cfg)
	if err != nil {
		return nil, err
	}
	if err := httpEndpoint("wfs", &cfg); err != nil {
		return nil, err
	}
	typeNames := cfg.Option("typeNames", "")
	if typeNames == "" {
		return nil, fmt.Errorf("the wfs connector needs the option typeNames (the feature type)")
	}
	count, err := jsonIntOption(&cfg, "page_size", 1000, 1)
	if err != nil {
		return nil, err
	}
	srs := cfg.Option("srs_name", "EPSG:4326")
	srid, err := jsonIntOption(&cfg, "srid", ogcCRSSRID(srs), 0)
	if err != nil {
		return nil, err
	}
	if srid == 0 {
		return nil, fmt.Errorf("option srs_name %q has no EPSG code; give the option srid", srs)
	}
	kv := []string{"service", "WFS", "version", "2.0.0", "request", "GetFeature", "typeNames", typeNames,
		"outputFormat", cfg.Option("output_format", "application/json"), "srsName", srs, "count", strconv.Itoa(count)}
	if s := cfg.Option("sort_by", ""); s != "" {
		kv = append(kv, "sortBy", s)
	}
	if cfg.Detect == Watermark && cfg.Cursor != "" {
		kv = append(kv, "FILTER", `<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsGreaterThan><fes:ValueReference>`+
			html.EscapeString(cfg.WatermarkField)+`</fes:ValueReference><fes:Literal>`+html.EscapeString(cfg.Cursor)+
			`</fes:Literal></fes:PropertyIsGreaterThan></fes:Filter>`)
	}
	base, err := urlWithParams(cfg.Endpoint, true, kv...)
	if err != nil {
		return nil, err
	}
	return NewItems(&cfg, "WFS GeoJSON", srid, complete, func(ctx context.Context, add func(*fastjson.Value) error) error {
		pg := newJSONPager(&cfg, "application/json, application/geo+json")
		index := 0
		first, _ := urlWithParams(base, true, "startIndex", "0")
		return pg.walk(ctx, first, func(u string, doc *fastjson.Value, _ http.Header) (string, error) {
			items, err := pg.items(u, doc, "features")
			if err != nil {
				return "", err
			}
			for _, v := range items {
				if err := add(v); err != nil {
					return "", err
				}
			}
			if len(items) < count {
				return "", nil
			}
			index += len(items)
			return urlWithParams(base, true, "startIndex", strconv.Itoa(index))
		})
	}), nil
}

var ogcEPSGCode = regexp.MustCompile(`(?i)EPSG(?::[\d.]*:|:|/[\d.]+/|/)(\d+)$`)

// ogcCRSSRID is the EPSG code of a CRS name or URI (EPSG:3405, urn:ogc:def:crs:EPSG::3405,
// http://www.opengis.net/def/crs/EPSG/0/3405; CRS84 is 4326), or 0.
func ogcCRSSRID(crs string) int {
	if strings.HasSuffix(strings.ToUpper(crs), "CRS84") {
		return 4326
	}
	if m := ogcEPSGCode.FindStringSubmatch(strings.TrimSpace(crs)); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var ogcCQL2Plain = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:]*$`)

// ogcCQL2Name is a property name in CQL2 text, double-quoted unless it is a plain identifier.
func ogcCQL2Name(name string) string {
	if ogcCQL2Plain.MatchString(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
