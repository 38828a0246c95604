package connect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/valyala/fastjson"
)

// hubConnector reads another hub's collection. Endpoint is the collection's URL
// (http://host/collections/parcels). Options: limit (features per page, default 1000), srid
// (default 4326), follow_other_hosts (default false: a link to another host than the
// endpoint's is refused; true follows it without the source's headers).
//
// Feed detection reads the change feed, {endpoint}/changes?since=<cursor>&limit=N (since=0
// on the first run), following its links with rel=next: inserted and updated features are
// the items (the feature id is the key when the properties lack it), deleted ones go to
// Fetch.Deleted — by their key field's value when the feed gives it in their properties
// ({"change":"delete","id":…,"properties":{"<key>":…}}, when the hub lets the reader see the
// key), else by their id —, and the cursor becomes the dataVersion of the last page. When
// the feed answers 410 Gone (the cursor is older than the collection's last full reload),
// the run reads the whole collection from {endpoint}/items instead, as a complete fetch, and
// the cursor becomes the dataVersion of the 410 answer. Hash detection reads
// {endpoint}/items.
type hubConnector struct{}

func init() { Register("hub", hubConnector{}) }

func (hubConnector) Describe() string {
	return "another hub's collection URL: its change feed (feed; a full read on 410 Gone) or all its items (hash); options limit (1000), srid (4326), follow_other_hosts (false)"
}

func (hubConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	switch cfg.Detect {
	case Feed, Hash, "":
	default:
		return nil, fmt.Errorf("the hub connector reads the other hub's change feed (feed) or all its items (hash), not %q", cfg.Detect)
	}
	if err := httpEndpoint("hub", &cfg); err != nil {
		return nil, err
	}
	limit, err := jsonIntOption(&cfg, "limit", 1000, 1)
	if err != nil {
		return nil, err
	}
	srid, err := jsonIntOption(&cfg, "srid", 4326, 0)
	if err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.Endpoint) // checked above
	at := func(path string, kv ...string) string {
		u, _ := urlWithParams(base.JoinPath(path).String(), false, kv...)
		return u
	}
	items := at("items", "limit", strconv.Itoa(limit))
	// The cursor is the feed's version, not a watermark or tombstone of the items.
	cfg.WatermarkField, cfg.Tombstone = "", ""
	if cfg.Detect != Feed {
		return NewItems(&cfg, "hub collection", srid, true, func(ctx context.Context, add func(*fastjson.Value) error) error {
			return ogcReadFeatures(ctx, &cfg, items, add)
		}), nil
	}
	since := cfg.Cursor
	if since == "" {
		since = "0"
	}
	var f *Fetch
	f = NewItems(&cfg, "hub change feed", srid, false, func(ctx context.Context, add func(*fastjson.Value) error) error {
		pg := newJSONPager(&cfg, "application/geo+json, application/json;q=0.9")
		var version string
		err := pg.walk(ctx, at("changes", "since", since, "limit", strconv.Itoa(limit)), func(u string, doc *fastjson.Value, h http.Header) (string, error) {
			changes, err := pg.items(u, doc, "features")
			if err != nil {
				return "", err
			}
			for _, c := range changes {
				if string(c.GetStringBytes("change")) != "delete" {
					if err := add(c); err != nil {
						return "", err
					}
					continue
				}
				// A deletion the feed names by feature id alone (the caller does not see the
				// key on every row it reads) cannot be matched to an item here: it is counted
				// in the run's notes, and the item stays until a full read (detect hash).
				if key := hubDeletedKey(c, cfg.Key); key != "" {
					f.Deleted = append(f.Deleted, key)
				} else {
					f.Unmatched++
				}
			}
			if version = Text(doc.Get("dataVersion")); version == "" {
				return "", pg.errorf(u, "the change feed has no dataVersion")
			}
			return pg.next(u, doc, "", h)
		})
		var gone *httpStatusError
		if !errors.As(err, &gone) || gone.status != http.StatusGone {
			if err == nil {
				f.Cursor = version
			}
			return err
		}
		if gone.page != 1 {
			return fmt.Errorf("%w (the collection was reloaded while its changes were read; run again)", err)
		}
		// The changes since the cursor are gone: read the whole collection.
		var p fastjson.Parser
		v, perr := p.ParseBytes(gone.body)
		if perr != nil || Text(v.Get("dataVersion")) == "" {
			return fmt.Errorf("%w (and the answer gives no dataVersion to read the whole collection at)", err)
		}
		version = Text(v.Get("dataVersion"))
		f.Complete, f.Deleted = true, nil
		if err := ogcReadFeatures(ctx, &cfg, items, add); err != nil {
			return err
		}
		f.Cursor = version
		return nil
	})
	return f, nil
}

// hubDeletedKey is the key of a deletion in the feed: its property named as the source's key,
// else "" — an id alone may be a feature id, and another property another field: neither is
// a key here.
func hubDeletedKey(c *fastjson.Value, key string) string {
	props := c.Get("properties")
	if key == "" || props == nil || props.Type() != fastjson.TypeObject {
		return ""
	}
	return Text(props.Get(key))
}
