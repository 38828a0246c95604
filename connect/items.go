package connect

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/haiduong/hub/ingest"
)

// Items is an ingest.Source fed by a connector's pages: read is called once and calls add
// for every item (a GeoJSON Feature or a plain JSON object). Items maps properties, turns
// tombstoned items into deletions and follows the watermark.
type Items struct {
	fetch  *Fetch
	format string
	srid   int
	cfg    *Config
	read   func(ctx context.Context, add func(*fastjson.Value) error) error
	keys   []string
	seen   map[string]bool
	n      int64
	batch  []ingest.Feature
	emit   func([]ingest.Feature) error
	mark   watermark
}

// NewItems makes the Fetch of a JSON source whose pages read walks.
func NewItems(cfg *Config, format string, srid int, complete bool, read func(ctx context.Context, add func(*fastjson.Value) error) error) *Fetch {
	f := &Fetch{Complete: complete}
	it := &Items{fetch: f, format: format, srid: srid, cfg: cfg, read: read, seen: map[string]bool{}}
	f.Source = it
	return f
}

func (it *Items) SRID() int      { return it.srid }
func (it *Items) Keys() []string { return it.keys }
func (it *Items) Close() error   { return nil }

func (it *Items) Format() string { return it.format }

// Read walks the pages, emitting features in batches.
func (it *Items) Read(ctx context.Context, emit func([]ingest.Feature) error) error {
	it.emit = emit
	if err := it.read(ctx, it.add); err != nil {
		return err
	}
	if len(it.batch) > 0 {
		if err := emit(it.batch); err != nil {
			return err
		}
	}
	if it.mark.set {
		it.fetch.Cursor = it.mark.text
	}
	return nil
}

func (it *Items) add(v *fastjson.Value) error {
	it.n++
	f := ingest.ItemFeature(v, it.n)
	props := v
	if string(v.GetStringBytes("type")) == "Feature" {
		props = v.Get("properties")
		if props == nil {
			props = &fastjson.Value{}
		}
		// A feature's id is its key when its properties do not hold one.
		if id := v.Get("id"); id != nil && it.cfg.Key != "" && props.Type() == fastjson.TypeObject && props.Get(it.cfg.Key) == nil {
			props.Set(it.cfg.Key, id)
		}
	}
	if f.Problem == "" || f.GeometryProblem {
		if it.cfg.WatermarkField != "" {
			it.mark.add(props.Get(strings.Split(it.cfg.WatermarkField, ".")...))
		}
		if it.cfg.Tombstone != "" && truthy(props.Get(strings.Split(it.cfg.Tombstone, ".")...)) {
			if k := props.Get(strings.Split(it.cfg.Key, ".")...); k != nil {
				it.fetch.Deleted = append(it.fetch.Deleted, Text(k))
			}
			it.n--
			return nil
		}
		f.Props = MapProps(props, it.cfg.Mapping)
	}
	if len(it.keys) == 0 || len(it.seen) < 1000 {
		if o, err := fastjson.ParseBytes(f.Props); err == nil {
			if obj, err := o.Object(); err == nil {
				obj.Visit(func(k []byte, _ *fastjson.Value) {
					if !it.seen[string(k)] {
						it.seen[string(k)] = true
						it.keys = append(it.keys, string(k))
					}
				})
			}
		}
	}
	it.batch = append(it.batch, f)
	if len(it.batch) >= 1000 {
		b := it.batch
		it.batch = nil
		return it.emit(b)
	}
	return nil
}

// MapProps builds the properties of an item: with a mapping, each field read from its path
// (dot-separated members) in v; without, v's members as they are.
func MapProps(v *fastjson.Value, mapping map[string]string) []byte {
	if v == nil || v.Type() != fastjson.TypeObject {
		return []byte("{}")
	}
	if len(mapping) == 0 {
		return v.MarshalTo(nil)
	}
	var a fastjson.Arena
	o := a.NewObject()
	for field, path := range mapping {
		if x := v.Get(strings.Split(path, ".")...); x != nil {
			o.Set(field, x)
		}
	}
	return o.MarshalTo(nil)
}

// Text is a JSON value as text: a string's contents, a number or boolean as written.
func Text(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	if v.Type() == fastjson.TypeString {
		return string(v.GetStringBytes())
	}
	if v.Type() == fastjson.TypeNull {
		return ""
	}
	return string(v.MarshalTo(nil))
}

func truthy(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeNumber:
		return v.GetFloat64() != 0
	case fastjson.TypeString:
		s := strings.ToLower(string(v.GetStringBytes()))
		return s == "true" || s == "1" || s == "yes" || s == "t" || s == "y"
	}
	return false
}

// watermark keeps the greatest watermark value seen: numbers compare as numbers, date-times
// as instants, other text as text.
type watermark struct {
	set  bool
	text string
}

func (w *watermark) add(v *fastjson.Value) {
	s := Text(v)
	if s == "" {
		return
	}
	if !w.set || Later(s, w.text) {
		w.set, w.text = true, s
	}
}

// Later reports whether watermark value a comes after b.
func Later(a, b string) bool {
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			return x > y
		}
	}
	if x, ok := instant(a); ok {
		if y, ok := instant(b); ok {
			return x.After(y)
		}
	}
	return a > b
}

func instant(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
