package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	anyOrigin := startHub(t, Config{CORSOrigins: []string{"*"}})
	listed := startHub(t, Config{CORSOrigins: []string{"https://gis.haiduong.gov.vn/", "http://localhost:5173"}})
	none := startHub(t, Config{})
	preflight := map[string]string{"Origin": "https://gis.haiduong.gov.vn", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "authorization, if-none-match"}
	from := func(origin string) map[string]string { return map[string]string{"Origin": origin} }

	cases := []struct {
		name               string
		url, method        string
		header             map[string]string
		status             int
		allowOrigin, vary  string
		preflight, exposes bool
	}{
		{"preflight, any origin", anyOrigin.URL + "/collections/roads/items", "OPTIONS", preflight, 204, "*", "", true, false},
		{"GET, any origin", anyOrigin.URL + "/conformance", "GET", from("https://example.org"), 200, "*", "", false, true},
		{"refused credential stays readable", anyOrigin.URL + "/conformance?key=hub_bad_key", "GET", from("https://example.org"), 401, "*", "", false, true},
		{"GET without Origin", anyOrigin.URL + "/conformance", "GET", nil, 200, "", "", false, false},
		{"preflight, listed origin", listed.URL + "/catalog/dat-dai", "OPTIONS", preflight, 204, "https://gis.haiduong.gov.vn", "Origin", true, false},
		{"GET, listed origin", listed.URL + "/conformance", "GET", from("http://localhost:5173"), 200, "http://localhost:5173", "Origin", false, true},
		{"GET, other origin", listed.URL + "/conformance", "GET", from("https://evil.example"), 200, "", "Origin", false, false},
		{"preflight, other origin", listed.URL + "/conformance", "OPTIONS", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, 403, "", "Origin", false, false},
		{"GET without Origin, listed", listed.URL + "/conformance", "GET", nil, 200, "", "Origin", false, false},
		{"no CORS configured", none.URL + "/conformance", "GET", from("https://example.org"), 200, "", "", false, false},
		{"no CORS: preflight is not answered", none.URL + "/conformance", "OPTIONS", preflight, 405, "", "", false, false},
	}
	for _, c := range cases {
		status, h, body := fetch(t, "127.0.0.1", c.method, c.url, c.header)
		if status != c.status || h.Get("Access-Control-Allow-Origin") != c.allowOrigin || h.Get("Vary") != c.vary {
			t.Errorf("%s: %d, Allow-Origin %q, Vary %q; want %d, %q, %q (%s)", c.name, status,
				h.Get("Access-Control-Allow-Origin"), h.Get("Vary"), c.status, c.allowOrigin, c.vary, body)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: Allow-Credentials sent; credentials never travel as cookies", c.name)
		}
		methods, headers := h.Get("Access-Control-Allow-Methods"), h.Get("Access-Control-Allow-Headers")
		if c.preflight != (methods != "") ||
			c.preflight && (!strings.Contains(methods, "PATCH") || !strings.Contains(headers, "Authorization") ||
				!strings.Contains(headers, "If-None-Match") || h.Get("Access-Control-Max-Age") == "") {
			t.Errorf("%s: Allow-Methods %q, Allow-Headers %q, Max-Age %q", c.name, methods, headers, h.Get("Access-Control-Max-Age"))
		}
		expose := h.Get("Access-Control-Expose-Headers")
		if c.exposes != (expose != "") || c.exposes && !(strings.Contains(expose, "ETag") && strings.Contains(expose, "Link") &&
			strings.Contains(expose, "Content-Crs") && strings.Contains(expose, "Retry-After")) {
			t.Errorf("%s: Expose-Headers %q", c.name, expose)
		}
	}
	// A page calling with its key: the preflight lets Authorization through and the answer is
	// readable with its ETag.
	status, h, _ := fetch(t, "127.0.0.1", "GET", anyOrigin.URL+"/health", map[string]string{"Origin": "https://example.org", "Authorization": "Bearer " + testAdminToken})
	if status != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET with a bearer token from a page: %d %v", status, h)
	}
}
