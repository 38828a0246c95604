package spatial

import (
	"errors"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/spatial/cql2"
)

var (
	msgFilterSyntax = api.Msg("Bộ lọc CQL2 sai cú pháp ở %s", "CQL2 syntax error at %s")
	msgFilter       = api.Msg("Bộ lọc CQL2 không dùng được: %s", "CQL2 filter cannot be applied: %s")
	msgFilterLang   = api.Msg("filter-lang %q không được hỗ trợ; dùng cql2-text hoặc cql2-json", "filter-lang %q is not supported; use cql2-text or cql2-json")
	msgNeedsFilter  = api.Msg("%s cần có filter", "%s needs a filter")
)

// parseFilter adds the request's CQL2 filter to iq: parsed into the typed AST, compiled to SQL
// with every value a bind parameter and every identifier from the registry.
func (s *Service) parseFilter(iq *itemsQuery, visible []layers.Field, q url.Values) error {
	src := q.Get("filter")
	if src == "" {
		for _, p := range []string{"filter-lang", "filter-crs"} {
			if q.Has(p) {
				return api.BadParam(p, msgNeedsFilter, p)
			}
		}
		return nil
	}
	var e cql2.Expr
	var err error
	switch lang := q.Get("filter-lang"); lang {
	case "", "cql2-text", "cql-text":
		e, err = cql2.ParseText(src)
	case "cql2-json":
		e, err = cql2.ParseJSON([]byte(src))
	default:
		return api.BadParam("filter-lang", msgFilterLang, lang)
	}
	var se *cql2.SyntaxError
	if errors.As(err, &se) {
		return api.BadParam("filter", msgFilterSyntax, se.Error())
	}
	if err != nil {
		return api.BadParam("filter", msgFilter, err.Error())
	}
	t := target(iq.layer, visible)
	if c := q.Get("filter-crs"); c != "" {
		crs, err := parseCRS(c, iq.layer.SRID)
		if err != nil {
			return api.BadParam("filter-crs", msgCRS, c, iq.layer.ID)
		}
		t.LiteralSRID, t.LiteralLatLon = crs.SRID, crs.LatLon
	}
	sql, args, err := cql2.SQL(e, t, len(iq.args)+1)
	if err != nil {
		return api.BadParam("filter", msgFilter, err.Error())
	}
	iq.where = append(iq.where, iq.view.Guard(sql, "t"))
	iq.args = append(iq.args, args...)
	return nil
}

// target is what a filter on l may name: the fields the caller sees and the geometry. Every
// registry type has a filter type; json fields (jsonb) are arrays, for the array functions
// (cql2.ParseType).
func target(l *layers.Layer, visible []layers.Field) cql2.Target {
	t := cql2.Target{
		Properties:  map[string]cql2.Property{},
		StorageSRID: l.SRID,
		Unaccent:    "hub_unaccent",
	}
	if !l.IsRecord() {
		t.Geometry = "t." + pgx.Identifier{l.GeomColumn}.Sanitize()
	}
	for _, f := range visible {
		if ty, ok := cql2.ParseType(f.Type); ok {
			t.Properties[f.Name] = cql2.Property{Column: col(f.Name), Type: ty}
		}
	}
	return t
}
