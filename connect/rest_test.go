package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/haiduong/hub/ingest"
)

// Helpers shared by the connector tests of rest_test.go, ogc_test.go and hub_test.go.

const jsonTestToken = "Bearer s3cret-t0ken"

// jsonRead opens a connector and reads everything its Fetch gives: the features' properties
// (decoded) and geometries.
func jsonRead(t *testing.T, typ string, cfg Config) (*Fetch, []map[string]any, [][]byte, error) {
	t.Helper()
	c, err := Get(typ)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Open(context.Background(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	var mu sync.Mutex
	var props []map[string]any
	var wkbs [][]byte
	err = f.Read(context.Background(), func(b []ingest.Feature) error {
		mu.Lock()
		defer mu.Unlock()
		for _, x := range b {
			if x.Problem != "" {
				return fmt.Errorf("feature %d: %s", x.N, x.Problem)
			}
			d := json.NewDecoder(bytes.NewReader(x.Props))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				return fmt.Errorf("feature %d: props %s: %v", x.N, x.Props, err)
			}
			props = append(props, m)
			wkbs = append(wkbs, x.WKB)
		}
		return nil
	})
	return f, props, wkbs, err
}

func jsonMustRead(t *testing.T, typ string, cfg Config) (*Fetch, []map[string]any, [][]byte) {
	t.Helper()
	f, props, wkbs, err := jsonRead(t, typ, cfg)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return f, props, wkbs
}

// jsonSameKeys checks that the items' field values are exactly want, each once.
func jsonSameKeys(t *testing.T, props []map[string]any, field string, want []string) {
	t.Helper()
	var got []string
	for _, p := range props {
		got = append(got, fmt.Sprint(p[field]))
	}
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if len(got) != len(w) {
		t.Fatalf("%d items, want %d", len(got), len(w))
	}
	for i := range got {
		if got[i] != w[i] {
			t.Fatalf("item keys differ at %d: got %q, want %q (duplicates or missing)", i, got[i], w[i])
		}
	}
}

func jsonKeys(prefix string, n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = prefix + strconv.Itoa(i)
	}
	return k
}

func jsonWrite(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func jsonQueryInt(r *http.Request, name string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return n
	}
	return def
}

// jsonWindow is the part of items from start, n long.
func jsonWindow[T any](items []T, start, n int) []T {
	start = min(max(start, 0), len(items))
	return items[start:min(start+n, len(items))]
}

// restServer is a REST API whose items the tests change between runs.
type restServer struct {
	*httptest.Server
	mu       sync.Mutex
	items    []map[string]any
	size     int // page size of the styles where the server decides
	noAuth   int // requests without the token
	requests []string
	garble   int // the page (1-based request count) answered with broken JSON
	fail     bool
}

func newRESTServer(t *testing.T, n int) *restServer {
	s := &restServer{size: 1000}
	for i := range n {
		s.items = append(s.items, map[string]any{"id": i, "name": fmt.Sprintf("item %d", i), "pos": map[string]any{"x": 105 + float64(i)/10000, "y": fmt.Sprint(21 + float64(i)/10000)}, "updated": i % 100})
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *restServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RequestURI())
	if r.Header.Get("Authorization") != jsonTestToken {
		s.noAuth++
	}
	if s.fail {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "database exploded; your token %s is fine", jsonTestToken)
		return
	}
	if s.garble > 0 && len(s.requests) == s.garble {
		w.Write([]byte(`{"data": [{"id": 1}, {"id"`))
		return
	}
	q := r.URL.Query()
	items := s.items
	if since := q.Get("since"); since != "" {
		cut, _ := strconv.Atoi(since)
		items = nil
		for _, it := range s.items {
			if it["updated"].(int) > cut {
				items = append(items, it)
			}
		}
	}
	switch r.URL.Path {
	case "/none":
		jsonWrite(w, items)
	case "/offset":
		jsonWrite(w, jsonWindow(items, jsonQueryInt(r, "offset", 0), jsonQueryInt(r, "limit", 10)))
	case "/page": // pages from 0
		size := jsonQueryInt(r, "per_page", 10)
		jsonWrite(w, map[string]any{"result": map[string]any{"rows": jsonWindow(items, jsonQueryInt(r, "p", 0)*size, size)}})
	case "/cursor":
		start := 0
		if c := q.Get("after"); c != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(c, "c"))
		}
		page := jsonWindow(items, start, jsonQueryInt(r, "limit", s.size))
		var next any
		if start+len(page) < len(items) {
			next = fmt.Sprintf("c%d", start+len(page))
		}
		jsonWrite(w, map[string]any{"data": page, "meta": map[string]any{"next": next}})
	case "/next": // relative next links at links.next
		start := jsonQueryInt(r, "start", 0)
		body := map[string]any{"items": jsonWindow(items, start, s.size), "links": map[string]any{}}
		if start+s.size < len(items) {
			body["links"] = map[string]any{"next": fmt.Sprintf("next?start=%d", start+s.size)}
		}
		jsonWrite(w, body)
	case "/linkheader":
		start := jsonQueryInt(r, "start", 0)
		if start+s.size < len(items) {
			w.Header().Add("Link", fmt.Sprintf(`<%s/linkheader?start=%d>; rel="next", </linkheader?start=0>; rel="first"`, s.URL, start+s.size))
		}
		jsonWrite(w, jsonWindow(items, start, s.size))
	case "/features": // GeoJSON with an OGC links array
		start := jsonQueryInt(r, "start", 0)
		var feats []any
		for _, it := range jsonWindow(items, start, s.size) {
			feats = append(feats, map[string]any{"type": "Feature", "id": it["id"], "properties": map[string]any{"name": it["name"]},
				"geometry": map[string]any{"type": "Point", "coordinates": []any{it["pos"].(map[string]any)["x"], 21}}})
		}
		links := []any{map[string]any{"rel": "self", "href": r.URL.String()}}
		if start+s.size < len(items) {
			links = append(links, map[string]any{"rel": "next", "type": "text/html", "href": "/html"},
				map[string]any{"rel": "next", "type": "application/geo+json", "href": fmt.Sprintf("/features?start=%d", start+s.size)})
		}
		jsonWrite(w, map[string]any{"type": "FeatureCollection", "features": feats, "links": links})
	case "/loop":
		jsonWrite(w, map[string]any{"items": []any{map[string]any{"id": 1}}, "next": "/loop?x=1"})
	default:
		http.NotFound(w, r)
	}
}

func (s *restServer) reset(size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.size, s.noAuth, s.requests = size, 0, nil
}

func TestRestPagingStyles(t *testing.T) {
	s := newRESTServer(t, 2345)
	want := jsonKeys("", 2345)
	for _, size := range []int{1000, 7} {
		ps := strconv.Itoa(size)
		np := (2345 + size - 1) / size // pages with items
		for _, c := range []struct {
			name, path string
			opt        map[string]string
			pages      int
		}{
			{"none", "/none", map[string]string{"paging": "none"}, 1},
			{"default", "/none", nil, 1},
			{"offset", "/offset", map[string]string{"paging": "offset", "page_size": ps}, np + 1},
			{"page", "/page", map[string]string{"paging": "page", "page_param": "p", "first_page": "0", "limit_param": "per_page", "page_size": ps, "items_path": "result.rows"}, np + 1},
			{"cursor", "/cursor", map[string]string{"paging": "cursor", "cursor_param": "after", "cursor_path": "meta.next", "limit_param": "limit", "page_size": ps}, np},
			{"next", "/next", map[string]string{"next_path": "links.next"}, np},
			{"link header", "/linkheader", map[string]string{"paging": "next"}, np},
			{"links array", "/features", map[string]string{"paging": "next"}, np},
		} {
			t.Run(c.name+"/"+ps, func(t *testing.T) {
				s.reset(size)
				f, props, _ := jsonMustRead(t, "rest", Config{Endpoint: s.URL + c.path, Options: c.opt, Detect: Hash, Key: "id",
					Headers: map[string]string{"Authorization": jsonTestToken}})
				jsonSameKeys(t, props, "id", want)
				if !f.Complete || f.Cursor != "" || len(f.Deleted) != 0 {
					t.Errorf("complete %v, cursor %q, deleted %v", f.Complete, f.Cursor, f.Deleted)
				}
				if s.noAuth != 0 {
					t.Errorf("%d requests without the Authorization header", s.noAuth)
				}
				if len(s.requests) != c.pages {
					t.Errorf("%d requests, want %d: %v", len(s.requests), c.pages, jsonWindow(s.requests, 0, 4))
				}
			})
		}
	}
}

func TestRestGeometry(t *testing.T) {
	s := newRESTServer(t, 30)
	s.items[3]["pos"] = map[string]any{"x": "", "y": ""}
	_, props, wkbs := jsonMustRead(t, "rest", Config{Endpoint: s.URL + "/none", Detect: Hash, Options: map[string]string{"lon": "pos.x", "lat": "pos.y"}})
	for i, p := range props {
		id, _ := strconv.Atoi(fmt.Sprint(p["id"]))
		if id == 3 {
			if wkbs[i] != nil {
				t.Errorf("item 3 without coordinates has a geometry")
			}
			continue
		}
		if w := ingest.PointWKB(105+float64(id)/10000, 21+float64(id)/10000); !bytes.Equal(wkbs[i], w) {
			t.Fatalf("item %d: WKB %x, want %x", id, wkbs[i], w)
		}
		if p["name"] != fmt.Sprintf("item %d", id) {
			t.Fatalf("item %d: props %v", id, p)
		}
	}
	// GeoJSON features give their geometry and their id as the key.
	s.items[3]["pos"] = s.items[4]["pos"]
	s.reset(10)
	f, props, wkbs := jsonMustRead(t, "rest", Config{Endpoint: s.URL + "/features", Detect: Hash, Key: "code"})
	jsonSameKeys(t, props, "code", jsonKeys("", 30))
	if wkbs[0] == nil || f.SRID() != 4326 {
		t.Errorf("geometry %x, srid %d", wkbs[0], f.SRID())
	}
	// A geometry at a path, as an object or JSON text.
	s.mu.Lock()
	for i, it := range s.items {
		g := map[string]any{"type": "Point", "coordinates": []any{100 + i, 10}}
		if i%2 == 1 {
			b, _ := json.Marshal(g)
			it["shape"] = string(b)
		} else {
			it["shape"] = g
		}
	}
	s.mu.Unlock()
	f, props, wkbs = jsonMustRead(t, "rest", Config{Endpoint: s.URL + "/none", Detect: Hash, Options: map[string]string{"geometry_path": "shape", "srid": "9210"}})
	for i, p := range props {
		id, _ := strconv.Atoi(fmt.Sprint(p["id"]))
		if !bytes.Equal(wkbs[i], ingest.PointWKB(float64(100+id), 10)) {
			t.Fatalf("item %d: WKB %x", id, wkbs[i])
		}
	}
	if f.SRID() != 9210 {
		t.Errorf("srid %d", f.SRID())
	}
}

func TestRestWatermark(t *testing.T) {
	s := newRESTServer(t, 500) // updated = id % 100
	cfg := Config{Endpoint: s.URL + "/offset", Detect: Watermark, Key: "id", WatermarkField: "updated", Tombstone: "gone",
		Options: map[string]string{"paging": "offset", "page_size": "100", "since_param": "since"}}
	f, props, _ := jsonMustRead(t, "rest", cfg)
	jsonSameKeys(t, props, "id", jsonKeys("", 500))
	if f.Complete || f.Cursor != "99" {
		t.Fatalf("first run: complete %v, cursor %q", f.Complete, f.Cursor)
	}
	for _, r := range s.requests {
		if strings.Contains(r, "since=") {
			t.Fatalf("the first run sent since: %s", r)
		}
	}
	// Changes: two updated, one new, one deleted (tombstone).
	s.mu.Lock()
	s.items[10]["updated"] = 120
	s.items[20]["updated"] = 150
	s.items[30]["updated"], s.items[30]["gone"] = 130, true
	s.items = append(s.items, map[string]any{"id": 500, "name": "new", "updated": 140})
	s.mu.Unlock()
	s.reset(0)
	cfg.Cursor = f.Cursor
	f, props, _ = jsonMustRead(t, "rest", cfg)
	jsonSameKeys(t, props, "id", []string{"10", "20", "500"})
	if f.Cursor != "150" || f.Complete || len(f.Deleted) != 1 || f.Deleted[0] != "30" {
		t.Fatalf("second run: cursor %q, complete %v, deleted %v", f.Cursor, f.Complete, f.Deleted)
	}
	for _, r := range s.requests {
		if !strings.Contains(r, "since=99") {
			t.Fatalf("a request without since=99: %s", r)
		}
	}
	// Nothing new: no items, the cursor stays.
	cfg.Cursor = f.Cursor
	f, props, _ = jsonMustRead(t, "rest", cfg)
	if len(props) != 0 || f.Cursor != "" {
		t.Fatalf("third run: %d items, cursor %q", len(props), f.Cursor)
	}
	// Watermark needs since_param.
	delete(cfg.Options, "since_param")
	if _, _, _, err := jsonRead(t, "rest", cfg); err == nil || !strings.Contains(err.Error(), "since_param") {
		t.Fatalf("no since_param: %v", err)
	}
}

func TestRestErrors(t *testing.T) {
	s := newRESTServer(t, 2345)
	hdr := map[string]string{"Authorization": jsonTestToken}
	cfg := Config{Endpoint: s.URL + "/offset?api_key=k3y-v4lue", Detect: Hash, Headers: hdr, Options: map[string]string{"paging": "offset"}}
	s.garble = 2
	_, _, _, err := jsonRead(t, "rest", cfg)
	if err == nil || !strings.Contains(err.Error(), "page 2 of "+s.URL+"/offset?") || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("garbled page 2: %v", err)
	}
	t.Log(err)
	if strings.Contains(err.Error(), "k3y-v4lue") {
		t.Fatalf("the error shows the api key: %v", err)
	}
	s.garble, s.fail = 0, true
	_, _, _, err = jsonRead(t, "rest", cfg)
	if err == nil || !strings.Contains(err.Error(), "page 1 of "+s.URL+"/offset") || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "database exploded") {
		t.Fatalf("500: %v", err)
	}
	t.Log(err)
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "k3y-v4lue") {
		t.Fatalf("the error shows a secret: %v", err)
	}
	s.fail = false
	if _, _, _, err = jsonRead(t, "rest", Config{Endpoint: s.URL + "/loop", Options: map[string]string{"next_path": "next"}}); err == nil || !strings.Contains(err.Error(), "already read") {
		t.Fatalf("loop: %v", err)
	}
	if _, _, _, err = jsonRead(t, "rest", Config{Endpoint: s.URL + "/nothing", Headers: hdr}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
	if _, _, _, err = jsonRead(t, "rest", Config{Endpoint: s.URL + "/page", Options: map[string]string{"items_path": "result.missing"}}); err == nil || !strings.Contains(err.Error(), `no items array at "result.missing"`) {
		t.Fatalf("no items: %v", err)
	}
	if _, _, _, err = jsonRead(t, "rest", Config{Endpoint: s.URL + "/none", Detect: Feed}); err == nil || err.Error() != "the rest connector has no change feed; use hash or watermark" {
		t.Fatalf("feed: %v", err)
	}
	if _, _, _, err = jsonRead(t, "rest", Config{Endpoint: s.URL + "/none", Options: map[string]string{"paging": "sideways"}}); err == nil {
		t.Fatal("unknown paging: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ := Get("rest")
	f, err := c.Open(ctx, Config{Endpoint: s.URL + "/none"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Read(ctx, func([]ingest.Feature) error { return nil }); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
}
