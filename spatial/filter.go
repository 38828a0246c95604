package spatial

import (
	"net/url"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

// parseFilter adds the CQL2 filter of the request to iq.
func (s *Service) parseFilter(iq *itemsQuery, visible []layers.Field, q url.Values) error {
	if q.Get("filter") == "" {
		for _, p := range []string{"filter-lang", "filter-crs"} {
			if q.Has(p) {
				return api.BadParam(p, api.Msg("%s cần có filter", "%s needs a filter"), p)
			}
		}
		return nil
	}
	return api.BadParam("filter", api.Msg("Bộ lọc CQL2 chưa được hỗ trợ", "CQL2 filters are not supported yet"))
}
