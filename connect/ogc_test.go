package connect

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ogcServer serves GeoJSON features for the OGC API – Features and WFS tests; the tests
// change its features between runs.
type ogcServer struct {
	*httptest.Server
	mu       sync.Mutex
	updated  []time.Time // feature i is "r<i>", updated at updated[i]
	gone     map[int]bool
	noAuth   int
	requests []url.Values
	garble   int
	fail     bool
}

var ogcT0 = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)

func newOGCServer(t *testing.T, n int) *ogcServer {
	s := &ogcServer{gone: map[int]bool{}}
	for i := range n {
		s.updated = append(s.updated, ogcT0.Add(time.Duration(i%50)*time.Minute))
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

var (
	ogcCQL2Greater = regexp.MustCompile(`^updated > '(.*)'$`)
	ogcFESLiteral  = regexp.MustCompile(`^<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsGreaterThan><fes:ValueReference>updated</fes:ValueReference><fes:Literal>(.*)</fes:Literal></fes:PropertyIsGreaterThan></fes:Filter>$`)
)

func (s *ogcServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	s.requests = append(s.requests, q)
	if r.Header.Get("Authorization") != jsonTestToken {
		s.noAuth++
	}
	if s.fail {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if s.garble > 0 && len(s.requests) == s.garble {
		w.Write([]byte(`{"type":"FeatureCollection","features":[{]}`))
		return
	}
	// The filter: after is exclusive, from inclusive.
	var after, from time.Time
	var start, n int
	switch r.URL.Path {
	case "/collections/roads/items":
		if f := q.Get("filter"); f != "" {
			m := ogcCQL2Greater.FindStringSubmatch(f)
			if m == nil || q.Get("filter-lang") != "cql2-text" {
				http.Error(w, "bad filter "+f, http.StatusBadRequest)
				return
			}
			after, _ = time.Parse(time.RFC3339, m[1])
		}
		if d := q.Get("datetime"); d != "" {
			from, _ = time.Parse(time.RFC3339, strings.TrimSuffix(d, "/.."))
		}
		start, n = jsonQueryInt(r, "offset", 0), jsonQueryInt(r, "limit", 10)
	case "/wfs":
		if q.Get("service") != "WFS" || q.Get("request") != "GetFeature" || q.Get("version") != "2.0.0" || q.Get("typeNames") != "ws:roads" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if f := q.Get("FILTER"); f != "" {
			m := ogcFESLiteral.FindStringSubmatch(f)
			if m == nil {
				http.Error(w, "bad filter "+f, http.StatusBadRequest)
				return
			}
			after, _ = time.Parse(time.RFC3339, m[1])
		}
		start, n = jsonQueryInt(r, "startIndex", 0), jsonQueryInt(r, "count", 10)
	default:
		http.NotFound(w, r)
		return
	}
	var all []int
	for i, u := range s.updated {
		if u.After(after) && !u.Before(from) {
			all = append(all, i)
		}
	}
	var feats []any
	for _, i := range jsonWindow(all, start, n) {
		feats = append(feats, map[string]any{"type": "Feature", "id": "r" + strconv.Itoa(i),
			"properties": map[string]any{"name": fmt.Sprintf("road %d", i), "updated": s.updated[i].Format(time.RFC3339), "gone": s.gone[i]},
			"geometry":   map[string]any{"type": "LineString", "coordinates": []any{[]any{105, 21}, []any{105.1, 21 + float64(i)/1000}}}})
	}
	body := map[string]any{"type": "FeatureCollection", "features": feats, "numberMatched": len(all)}
	if r.URL.Path != "/wfs" && start+n < len(all) {
		next := r.URL.Query()
		next.Set("offset", strconv.Itoa(start+n))
		body["links"] = []any{map[string]any{"rel": "next", "type": "application/geo+json", "href": "http://" + r.Host + r.URL.Path + "?" + next.Encode()}}
	}
	jsonWrite(w, body)
}

func (s *ogcServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAuth, s.requests, s.garble, s.fail = 0, nil, 0, false
}

func TestOGCAPIPaging(t *testing.T) {
	s := newOGCServer(t, 2345)
	for _, limit := range []int{1000, 7} {
		s.reset()
		f, props, wkbs := jsonMustRead(t, "ogcapi", Config{Endpoint: s.URL + "/collections/roads/items", Detect: Hash, Key: "code",
			Headers: map[string]string{"Authorization": jsonTestToken}, Options: map[string]string{"limit": strconv.Itoa(limit)}})
		jsonSameKeys(t, props, "code", jsonKeys("r", 2345))
		if !f.Complete || f.SRID() != 4326 || wkbs[0] == nil {
			t.Errorf("complete %v, srid %d, geometry %x", f.Complete, f.SRID(), wkbs[0])
		}
		if want := (2345 + limit - 1) / limit; len(s.requests) != want {
			t.Errorf("limit %d: %d requests, want %d", limit, len(s.requests), want)
		}
		if s.noAuth != 0 {
			t.Errorf("%d requests without the Authorization header", s.noAuth)
		}
		for _, q := range s.requests {
			if q.Get("limit") != strconv.Itoa(limit) || q.Get("filter") != "" {
				t.Fatalf("request %v", q)
			}
		}
	}
}

func TestOGCAPIWatermark(t *testing.T) {
	s := newOGCServer(t, 300) // updated ogcT0 + i%50 minutes
	cfg := Config{Endpoint: s.URL + "/collections/roads/items", Detect: Watermark, Key: "code", WatermarkField: "updated", Tombstone: "gone",
		Options: map[string]string{"limit": "40"}}
	f, props, _ := jsonMustRead(t, "ogcapi", cfg)
	jsonSameKeys(t, props, "code", jsonKeys("r", 300))
	last := ogcT0.Add(49 * time.Minute).Format(time.RFC3339)
	if f.Complete || f.Cursor != last {
		t.Fatalf("first run: complete %v, cursor %q", f.Complete, f.Cursor)
	}
	if s.requests[0].Has("filter") || s.requests[0].Has("datetime") {
		t.Fatalf("first run filtered: %v", s.requests[0])
	}
	s.mu.Lock()
	s.updated[7] = ogcT0.Add(time.Hour)
	s.updated[8] = ogcT0.Add(2 * time.Hour)
	s.updated[9], s.gone[9] = ogcT0.Add(90*time.Minute), true
	s.mu.Unlock()
	s.reset()
	cfg.Cursor = f.Cursor
	f, props, _ = jsonMustRead(t, "ogcapi", cfg)
	jsonSameKeys(t, props, "code", []string{"r7", "r8"})
	if f.Cursor != ogcT0.Add(2*time.Hour).Format(time.RFC3339) || len(f.Deleted) != 1 || f.Deleted[0] != "r9" {
		t.Fatalf("second run: cursor %q, deleted %v", f.Cursor, f.Deleted)
	}
	if q := s.requests[0]; q.Get("filter") != "updated > '"+last+"'" || q.Get("filter-lang") != "cql2-text" {
		t.Fatalf("second run: request %v", q)
	}
	// The datetime filter includes the cursor.
	s.reset()
	cfg.Options["watermark_filter"] = "datetime"
	cfg.Cursor = ogcT0.Add(90 * time.Minute).Format(time.RFC3339)
	f, props, _ = jsonMustRead(t, "ogcapi", cfg)
	jsonSameKeys(t, props, "code", []string{"r8"})
	if q := s.requests[0]; q.Get("datetime") != cfg.Cursor+"/.." || q.Has("filter") {
		t.Fatalf("datetime run: request %v", q)
	}
}

func TestOGCAPIErrors(t *testing.T) {
	s := newOGCServer(t, 100)
	cfg := Config{Endpoint: s.URL + "/collections/roads/items", Detect: Hash, Options: map[string]string{"limit": "10"}}
	s.garble = 2
	_, _, _, err := jsonRead(t, "ogcapi", cfg)
	if err == nil || !strings.Contains(err.Error(), "page 2 of "+s.URL+"/collections/roads/items?") || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("garbled page: %v", err)
	}
	s.reset()
	s.fail = true
	_, _, _, err = jsonRead(t, "ogcapi", cfg)
	if err == nil || !strings.Contains(err.Error(), "page 1 of "+s.URL) || !strings.Contains(err.Error(), "500 Internal Server Error: internal error") {
		t.Fatalf("500: %v", err)
	}
	cfg.Detect = Feed
	if _, _, _, err = jsonRead(t, "ogcapi", cfg); err == nil || !strings.Contains(err.Error(), "no change feed") {
		t.Fatalf("feed: %v", err)
	}
}

func TestWFSPaging(t *testing.T) {
	s := newOGCServer(t, 2345)
	for _, c := range []struct{ size, requests int }{{1000, 3}, {7, 336}, {5000, 1}} {
		s.reset()
		f, props, _ := jsonMustRead(t, "wfs", Config{Endpoint: s.URL + "/wfs?SERVICE=wfs&map=/data/roads.map", Detect: Hash, Key: "fid",
			Headers: map[string]string{"Authorization": jsonTestToken}, Options: map[string]string{"typeNames": "ws:roads", "page_size": strconv.Itoa(c.size)}})
		jsonSameKeys(t, props, "fid", jsonKeys("r", 2345))
		if !f.Complete || f.SRID() != 4326 {
			t.Errorf("complete %v, srid %d", f.Complete, f.SRID())
		}
		if len(s.requests) != c.requests || s.noAuth != 0 {
			t.Fatalf("page size %d: %d requests (want %d), %d without auth", c.size, len(s.requests), c.requests, s.noAuth)
		}
		for i, q := range s.requests {
			if q.Get("startIndex") != strconv.Itoa(i*c.size) || q.Get("count") != strconv.Itoa(c.size) || q.Has("SERVICE") ||
				q.Get("map") != "/data/roads.map" || q.Get("outputFormat") != "application/json" || q.Get("srsName") != "EPSG:4326" {
				t.Fatalf("request %d: %v", i, q)
			}
		}
	}
	if _, _, _, err := jsonRead(t, "wfs", Config{Endpoint: s.URL + "/wfs"}); err == nil || !strings.Contains(err.Error(), "typeNames") {
		t.Fatalf("no typeNames: %v", err)
	}
	f, _, _ := jsonMustRead(t, "wfs", Config{Endpoint: s.URL + "/wfs", Options: map[string]string{"typeNames": "ws:roads", "srs_name": "urn:ogc:def:crs:EPSG::3405"}})
	if f.SRID() != 3405 {
		t.Fatalf("srid %d", f.SRID())
	}
}

func TestWFSWatermark(t *testing.T) {
	s := newOGCServer(t, 120)
	cfg := Config{Endpoint: s.URL + "/wfs", Detect: Watermark, Key: "fid", WatermarkField: "updated",
		Options: map[string]string{"typeNames": "ws:roads", "page_size": "50"}}
	f, props, _ := jsonMustRead(t, "wfs", cfg)
	jsonSameKeys(t, props, "fid", jsonKeys("r", 120))
	if f.Complete || f.Cursor != ogcT0.Add(49*time.Minute).Format(time.RFC3339) || s.requests[0].Has("FILTER") {
		t.Fatalf("first run: complete %v, cursor %q, request %v", f.Complete, f.Cursor, s.requests[0])
	}
	s.mu.Lock()
	s.updated[3] = ogcT0.Add(3 * time.Hour)
	s.mu.Unlock()
	s.reset()
	cfg.Cursor = f.Cursor
	f, props, _ = jsonMustRead(t, "wfs", cfg)
	jsonSameKeys(t, props, "fid", []string{"r3"})
	want := `<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsGreaterThan><fes:ValueReference>updated</fes:ValueReference><fes:Literal>` + cfg.Cursor + `</fes:Literal></fes:PropertyIsGreaterThan></fes:Filter>`
	if f.Cursor != ogcT0.Add(3*time.Hour).Format(time.RFC3339) || s.requests[0].Get("FILTER") != want {
		t.Fatalf("second run: cursor %q, request %v", f.Cursor, s.requests[0])
	}
}
