package connect

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// hubServer is another hub's collection "parcels": its items and its change feed.
type hubServer struct {
	*httptest.Server
	mu       sync.Mutex
	version  int
	reload   int            // the version of the last full reload: older cursors get 410
	rows     map[string]int // key → area
	log      []hubChange
	requests []string
	noAuth   int
	garble   int
	fail     bool
}

type hubChange struct {
	version int
	id, op  string
}

func newHubServer(t *testing.T, n int) *hubServer {
	s := &hubServer{version: 3, reload: 3, rows: map[string]int{}}
	for i := range n {
		s.rows["p"+strconv.Itoa(i)] = i
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *hubServer) change(id, op string, area int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	s.log = append(s.log, hubChange{s.version, id, op})
	if op == "delete" {
		delete(s.rows, id)
	} else {
		s.rows[id] = area
	}
}

func (s *hubServer) feature(id, op string) map[string]any {
	f := map[string]any{"type": "Feature", "id": id, "properties": nil, "geometry": nil}
	if op != "" {
		f["change"] = op
	}
	if op == "delete" { // a deletion names its item by its key, as the hub's feed does
		f["properties"] = map[string]any{"parcel": id}
	} else {
		f["properties"] = map[string]any{"area": s.rows[id]}
		f["geometry"] = map[string]any{"type": "Point", "coordinates": []any{106, 10 + float64(s.rows[id])/1e4}}
	}
	return f
}

func (s *hubServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RequestURI())
	if r.Header.Get("Authorization") != jsonTestToken {
		s.noAuth++
	}
	if s.fail {
		http.Error(w, `{"code":"internal","description":"boom"}`, http.StatusInternalServerError)
		return
	}
	if s.garble > 0 && len(s.requests) == s.garble {
		w.Write([]byte("<html>oops</html>"))
		return
	}
	limit, offset := jsonQueryInt(r, "limit", 10), jsonQueryInt(r, "offset", 0)
	w.Header().Set("Content-Type", "application/geo+json")
	switch r.URL.Path {
	case "/collections/parcels/changes":
		since := jsonQueryInt(r, "since", -1)
		if since < s.reload {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			fmt.Fprintf(w, `{"code":"changes-gone","description":"reloaded at %d","dataVersion":%d}`, s.reload, s.version)
			return
		}
		var changes []hubChange
		for _, c := range s.log {
			if c.version > since {
				changes = append(changes, c)
			}
		}
		feats := []any{}
		for _, c := range jsonWindow(changes, offset, limit) {
			feats = append(feats, s.feature(c.id, c.op))
		}
		body := map[string]any{"type": "FeatureCollection", "collection": "parcels", "since": since, "dataVersion": s.version, "features": feats}
		if offset+limit < len(changes) { // a relative link
			body["links"] = []any{map[string]any{"rel": "next", "href": fmt.Sprintf("changes?since=%d&limit=%d&offset=%d", since, limit, offset+limit)}}
		}
		jsonWrite(w, body)
	case "/collections/parcels/items":
		keys := make([]string, 0, len(s.rows))
		for k := range s.rows {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		feats := []any{}
		for _, k := range jsonWindow(keys, offset, limit) {
			feats = append(feats, s.feature(k, ""))
		}
		body := map[string]any{"type": "FeatureCollection", "features": feats}
		if offset+limit < len(keys) {
			body["links"] = []any{map[string]any{"rel": "next", "href": fmt.Sprintf("%s/collections/parcels/items?limit=%d&offset=%d", s.URL, limit, offset+limit)}}
		}
		jsonWrite(w, body)
	default:
		http.NotFound(w, r)
	}
}

func (s *hubServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.noAuth, s.garble, s.fail = nil, 0, 0, false
}

func TestHubFeed(t *testing.T) {
	s := newHubServer(t, 2345)
	cfg := Config{Endpoint: s.URL + "/collections/parcels/", Detect: Feed, Key: "parcel", Headers: map[string]string{"Authorization": jsonTestToken}}

	// The first run: since=0 is older than the file import, so the whole collection is read.
	f, props, wkbs := jsonMustRead(t, "hub", cfg)
	jsonSameKeys(t, props, "parcel", jsonKeys("p", 2345))
	if !f.Complete || f.Cursor != "3" || len(f.Deleted) != 0 || wkbs[0] == nil {
		t.Fatalf("first run: complete %v, cursor %q, deleted %v", f.Complete, f.Cursor, f.Deleted)
	}
	if len(s.requests) != 4 || !strings.HasPrefix(s.requests[0], "/collections/parcels/changes?") || !strings.Contains(s.requests[0], "since=0") ||
		!strings.Contains(s.requests[1], "/collections/parcels/items?limit=1000") || s.noAuth != 0 {
		t.Fatalf("first run requests %v (%d without auth)", s.requests, s.noAuth)
	}

	// Changes, read two a page.
	s.change("new1", "insert", 9001)
	s.change("p5", "update", 5005)
	s.change("p7", "delete", 0)
	s.change("new2", "insert", 9002)
	s.change("p8", "delete", 0)
	s.reset()
	cfg.Cursor, cfg.Options = f.Cursor, map[string]string{"limit": "2"}
	f, props, _ = jsonMustRead(t, "hub", cfg)
	jsonSameKeys(t, props, "parcel", []string{"new1", "p5", "new2"})
	for _, p := range props {
		if p["parcel"] == "p5" && fmt.Sprint(p["area"]) != "5005" {
			t.Errorf("p5: %v", p)
		}
	}
	if f.Complete || f.Cursor != "8" || strings.Join(f.Deleted, ",") != "p7,p8" {
		t.Fatalf("feed run: complete %v, cursor %q, deleted %v", f.Complete, f.Cursor, f.Deleted)
	}
	if len(s.requests) != 3 || !strings.Contains(s.requests[0], "since=3") || !strings.Contains(s.requests[0], "limit=2") || s.noAuth != 0 {
		t.Fatalf("feed run requests %v", s.requests)
	}

	// Nothing changed: no items, the cursor is the feed's version.
	s.reset()
	cfg.Cursor = f.Cursor
	f, props, _ = jsonMustRead(t, "hub", cfg)
	if len(props) != 0 || len(f.Deleted) != 0 || f.Cursor != "8" || f.Complete {
		t.Fatalf("quiet run: %d items, deleted %v, cursor %q", len(props), f.Deleted, f.Cursor)
	}

	// A full reload at the source: 410, the whole collection, the reload's version.
	s.mu.Lock()
	s.version++
	s.reload = s.version
	s.rows["p1"] = 1111
	s.mu.Unlock()
	s.reset()
	cfg.Options = map[string]string{"limit": "500"}
	f, props, _ = jsonMustRead(t, "hub", cfg)
	want := []string{"new1", "new2"}
	for i := range 2345 {
		if i != 7 && i != 8 { // deleted
			want = append(want, "p"+strconv.Itoa(i))
		}
	}
	jsonSameKeys(t, props, "parcel", want)
	if !f.Complete || f.Cursor != "9" || len(f.Deleted) != 0 {
		t.Fatalf("reload run: complete %v, cursor %q, deleted %v", f.Complete, f.Cursor, f.Deleted)
	}
}

func TestHubHashAndErrors(t *testing.T) {
	s := newHubServer(t, 120)
	cfg := Config{Endpoint: s.URL + "/collections/parcels", Detect: Hash, Key: "parcel", Options: map[string]string{"limit": "50"}}
	f, props, _ := jsonMustRead(t, "hub", cfg)
	jsonSameKeys(t, props, "parcel", jsonKeys("p", 120))
	if !f.Complete || f.Cursor != "" || len(s.requests) != 3 || !strings.HasPrefix(s.requests[0], "/collections/parcels/items?") {
		t.Fatalf("hash: complete %v, cursor %q, requests %v", f.Complete, f.Cursor, s.requests)
	}

	cfg.Detect, cfg.Cursor, cfg.Options = Feed, "3", map[string]string{"limit": "2"}
	for i := range 6 {
		s.change("n"+strconv.Itoa(i), "insert", i)
	}
	s.reset()
	s.garble = 2
	_, _, _, err := jsonRead(t, "hub", cfg)
	if err == nil || !strings.Contains(err.Error(), "page 2 of "+s.URL+"/collections/parcels/changes?") || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("garbled page: %v", err)
	}
	s.reset()
	s.fail = true
	_, _, _, err = jsonRead(t, "hub", cfg)
	if err == nil || !strings.Contains(err.Error(), "page 1 of "+s.URL+"/collections/parcels/changes?") || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("500: %v", err)
	}
	s.reset()
	cfg.Detect = Watermark
	if _, _, _, err = jsonRead(t, "hub", cfg); err == nil {
		t.Fatal("watermark: no error")
	}
}

// A deletion in the feed is reported by its key field's value when the feed gives it in the
// properties; not by its id alone (a feature id is no key), another property (another field) or
// a null key — those are counted as unmatched.
func TestHubFeedDeletionKeys(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/collections/parcels/changes" || r.URL.Query().Get("since") != "5" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/geo+json")
		io.WriteString(w, `{"type":"FeatureCollection","dataVersion":9,"features":[
{"type":"Feature","id":17,"change":"delete","geometry":null,"properties":{"parcel":"P-17"}},
{"type":"Feature","id":18,"change":"delete","geometry":null,"properties":null},
{"type":"Feature","id":19,"change":"delete","geometry":null,"properties":{"parcel":null}},
{"type":"Feature","id":20,"change":"delete","geometry":null,"properties":{"parcel":42}},
{"type":"Feature","id":"21","change":"delete","geometry":null},
{"type":"Feature","id":22,"change":"delete","geometry":null,"properties":{"other":"x"}},
{"type":"Feature","id":23,"change":"update","geometry":null,"properties":{"parcel":"P-23","area":5}}]}`)
	}))
	defer srv.Close()
	cfg := Config{Endpoint: srv.URL + "/collections/parcels", Detect: Feed, Key: "parcel", Cursor: "5"}
	f, props, _ := jsonMustRead(t, "hub", cfg)
	jsonSameKeys(t, props, "parcel", []string{"P-23"})
	if got := strings.Join(f.Deleted, ","); got != "P-17,42" || f.Unmatched != 4 || f.Cursor != "9" || f.Complete {
		t.Fatalf("deleted %s (%d unmatched), want P-17,42 (4); cursor %q; complete %v", got, f.Unmatched, f.Cursor, f.Complete)
	}
}
