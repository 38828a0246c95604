package spatial

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

// DefaultLimit and MaxLimit bound a page of items; a larger limit is lowered to MaxLimit.
const (
	DefaultLimit = 10
	MaxLimit     = 10000
)

var (
	msgLimit     = api.Msg("limit phải là số nguyên từ 1 đến %d", "limit must be an integer from 1 to %d")
	msgBBox      = api.Msg("bbox phải gồm 4 hoặc 6 số: minx,miny,maxx,maxy (%s)", "bbox must be 4 or 6 numbers: minx,miny,maxx,maxy (%s)")
	msgCRS       = api.Msg("Hệ tọa độ %q không được hỗ trợ cho lớp này; xem danh sách crs của /collections/%s", "CRS %q is not offered for this collection; see the crs list of /collections/%s")
	msgDatetime  = api.Msg("datetime không hợp lệ: %s; dùng RFC 3339, ví dụ 2025-07-01 hoặc 2024-01-01T00:00:00Z/..", "invalid datetime: %s; use RFC 3339 such as 2025-07-01 or 2024-01-01T00:00:00Z/..")
	msgNoTime    = api.Msg("Lớp %s không có thuộc tính thời gian nên không lọc được theo datetime", "collection %s has no temporal property to filter by datetime")
	msgProperty  = api.Msg("Thuộc tính %q không có trong lớp; các thuộc tính: %s", "unknown property %q; the collection has: %s")
	msgSortby    = api.Msg("sortby: %s", "sortby: %s")
	msgCursor    = api.Msg("cursor không hợp lệ hoặc thuộc truy vấn khác; hãy theo liên kết next/prev", "invalid cursor, or one from another query; follow the next/prev links")
	msgBool      = api.Msg("%s phải là true hoặc false", "%s must be true or false")
	msgNoFeature = api.Msg("Không có đối tượng %q trong lớp %s", "no feature %q in collection %s")
)

func parseLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, api.BadParam("limit", msgLimit, MaxLimit)
	}
	return min(n, MaxLimit), nil
}

// bbox is a box in the CRS named by bbox-crs.
type bbox struct {
	minx, miny, maxx, maxy float64
	crs                    CRS
}

func parseBBox(q url.Values, storageSRID int) (*bbox, error) {
	v := q.Get("bbox")
	if v == "" {
		if q.Has("bbox-crs") {
			return nil, api.BadParam("bbox-crs", api.Msg("bbox-crs cần có bbox", "bbox-crs needs bbox"))
		}
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return nil, api.BadParam("bbox", msgBBox, fmt.Sprintf("%d given", len(parts)))
	}
	nums := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, api.BadParam("bbox", msgBBox, fmt.Sprintf("%q is not a number", p))
		}
		nums[i] = f
	}
	if len(nums) == 6 { // minx, miny, minz, maxx, maxy, maxz: heights are not used
		nums = []float64{nums[0], nums[1], nums[3], nums[4]}
	}
	b := &bbox{minx: nums[0], miny: nums[1], maxx: nums[2], maxy: nums[3], crs: CRS{URI: CRS84URI, SRID: 4326, Degrees: true}}
	if c := q.Get("bbox-crs"); c != "" {
		crs, err := parseCRS(c, storageSRID)
		if err != nil {
			return nil, api.BadParam("bbox-crs", api.Msg("Hệ tọa độ %q không được hỗ trợ", "unsupported CRS %q"), c)
		}
		b.crs = crs
	}
	if b.crs.LatLon {
		b.minx, b.miny, b.maxx, b.maxy = b.miny, b.minx, b.maxy, b.maxx
	}
	if b.miny > b.maxy {
		return nil, api.BadParam("bbox", msgBBox, "the lower corner is above the upper one")
	}
	if b.crs.Degrees && (b.miny < -90 || b.maxy > 90) {
		return nil, api.BadParam("bbox", msgBBox, "latitude beyond ±90°")
	}
	return b, nil
}

// interval is a datetime filter; a nil end is open.
type interval struct{ start, end *time.Time }

func parseDatetime(v string) (*interval, error) {
	if v == "" {
		return nil, nil
	}
	one := func(s string) (*time.Time, error) {
		if s == ".." || s == "" {
			return nil, nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return &t, nil
			}
		}
		return nil, api.BadParam("datetime", msgDatetime, strconv.Quote(s))
	}
	a, b, isInterval := strings.Cut(v, "/")
	start, err := one(a)
	if err != nil {
		return nil, err
	}
	if !isInterval {
		if start == nil {
			return nil, api.BadParam("datetime", msgDatetime, strconv.Quote(v))
		}
		return &interval{start, start}, nil
	}
	end, err := one(b)
	if err != nil {
		return nil, err
	}
	if start != nil && end != nil && end.Before(*start) {
		return nil, api.BadParam("datetime", msgDatetime, "the interval ends before it starts")
	}
	if start == nil && end == nil {
		return nil, nil // "../..": no constraint
	}
	return &interval{start, end}, nil
}

func parseBool(q url.Values, name string) (bool, error) {
	switch q.Get(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, api.BadParam(name, msgBool, name)
}

// parseProperties selects fields by name, in the order asked.
func parseProperties(q url.Values, visible []layers.Field) ([]layers.Field, error) {
	if !q.Has("properties") {
		return visible, nil
	}
	var out []layers.Field
	for _, name := range strings.Split(q.Get("properties"), ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		f, ok := fieldByName(visible, name)
		if !ok {
			return nil, api.BadParam("properties", msgProperty, name, fieldNames(visible))
		}
		out = append(out, f)
	}
	return out, nil
}

// sortKey orders items by a field.
type sortKey struct {
	field layers.Field
	desc  bool
}

func parseSortby(q url.Values, visible []layers.Field) ([]sortKey, error) {
	v := q.Get("sortby")
	if v == "" {
		return nil, nil
	}
	var keys []sortKey
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		desc := strings.HasPrefix(part, "-")
		part = strings.TrimLeft(part, "+- ")
		if strings.HasSuffix(strings.ToUpper(part), " DESC") || strings.HasSuffix(strings.ToUpper(part), " ASC") {
			desc = strings.HasSuffix(strings.ToUpper(part), " DESC")
			part = strings.TrimSpace(part[:strings.LastIndexByte(part, ' ')])
		}
		f, ok := fieldByName(visible, part)
		if !ok {
			return nil, api.BadParam("sortby", msgSortby, fmt.Sprintf("unknown property %q; the collection has: %s", part, fieldNames(visible)))
		}
		if f.Type == "json" {
			return nil, api.BadParam("sortby", msgSortby, fmt.Sprintf("%q cannot be sorted", part))
		}
		keys = append(keys, sortKey{field: f, desc: desc})
	}
	return keys, nil
}

// cursor is where a page starts: the sort values and feature id of the row before it (or,
// going back, after it), tied to the sort it was made for.
type cursor struct {
	Sort   string            `json:"s"`
	Values []json.RawMessage `json:"v"`
	FID    int64             `json:"f"`
	Back   bool              `json:"b,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(q url.Values, sortSig string, nKeys int) (*cursor, error) {
	v := q.Get("cursor")
	if v == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	var c cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Sort != sortSig || len(c.Values) != nKeys {
		return nil, api.BadParam("cursor", msgCursor)
	}
	return &c, nil
}

func fieldByName(fields []layers.Field, name string) (layers.Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return layers.Field{}, false
}

func fieldNames(fields []layers.Field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
