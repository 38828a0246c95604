package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/auth/oidc"
	"github.com/haiduong/hub/auth/oidc/oidctest"
	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/server"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const adminToken = "test-admin-token"

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	sum := sha256.Sum256([]byte(adminToken))
	pool := testdb.Pool(t)
	reg, err := layers.Load(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go reg.Listen(ctx)
	srv := httptest.NewServer(server.New(pool, reg, server.Config{Version: "test", AdminTokenSHA256: sum[:]}))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, headers map[string]string, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

func get(t *testing.T, url string) response { return do(t, "GET", url, nil, "") }

type entry struct {
	ID     string `json:"id"`
	Number int    `json:"number"`
	Name   string `json:"name"`
	Owner  struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"owner"`
	Purpose, Scope, Content, Source, Kind string
	Categories                            []string `json:"categories"`
}

type list struct {
	Entries       []entry `json:"entries"`
	NumberMatched int     `json:"numberMatched"`
}

func decodeList(t *testing.T, r response) []int {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var l list
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	if l.NumberMatched != len(l.Entries) {
		t.Errorf("numberMatched %d but %d entries", l.NumberMatched, len(l.Entries))
	}
	var ns []int
	for _, e := range l.Entries {
		ns = append(ns, e.Number)
	}
	slices.Sort(ns)
	return ns
}

func TestCatalogJSON(t *testing.T) {
	srv := newServer(t)
	r := get(t, srv.URL+"/catalog")
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if bytes.ContainsAny(r.body, "ƣƢ") {
		t.Error(`the catalogue contains "ƣ"`)
	}
	var l list
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	if l.NumberMatched != 30 || len(l.Entries) != 30 {
		t.Fatalf("numberMatched %d, %d entries; want 30", l.NumberMatched, len(l.Entries))
	}
	e := l.Entries[13]
	if e.Number != 14 || e.ID != "dat-dai" || e.Owner.Name != "Sở Tài nguyên và Môi trường" || e.Kind != "spatial" ||
		!slices.Equal(e.Categories, []string{"default", "specific"}) || e.Purpose == "" || e.Source == "" {
		t.Errorf("entry 14 = %+v", e)
	}

	for q, want := range map[string][]int{
		"dat+dai":                   {14, 29},
		"giao%20thong":              {25, 26},
		"%C4%91%E1%BA%A5t+%C4%91ai": {14, 29}, // "đất đai"
	} {
		if got := decodeList(t, get(t, srv.URL+"/catalog?q="+q)); !slices.Equal(got, want) {
			t.Errorf("q=%s: entries %v, want %v", q, got, want)
		}
	}
	if got := decodeList(t, get(t, srv.URL+"/catalog?kind=spatial&category=specific")); !slices.Equal(got, []int{14, 22}) {
		t.Errorf("spatial+specific: %v", got)
	}
	if got := decodeList(t, get(t, srv.URL+"/catalog?owner=so-giao-thong-van-tai")); !slices.Equal(got, []int{25, 26}) {
		t.Errorf("owner filter: %v", got)
	}

	one := get(t, srv.URL+"/catalog/ha-tang-giao-thong")
	var e26 entry
	if err := json.Unmarshal(one.body, &e26); err != nil || one.status != 200 || e26.Number != 26 {
		t.Errorf("GET /catalog/ha-tang-giao-thong: %d %s", one.status, one.body)
	}
}

func TestErrors(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		path   string
		status int
		param  string
	}{
		{"/catalog?foo=1", 400, "foo"},
		{"/catalog?category=public", 400, "category"},
		{"/catalog?kind=raster", 400, "kind"},
		{"/catalog?owner=so-khong-ton-tai", 400, "owner"},
		{"/catalog?f=xml", 400, "f"},
		{"/catalog?q=a&q=b", 400, "q"},
		{"/catalog?q=" + strings.Repeat("a", 201), 400, "q"},
		{"/catalog/dat-dai?limit=5", 400, "limit"},
		{"/?bogus", 400, "bogus"},
		{"/health?x=1", 400, "x"},
		{"/catalog/khong-co", 404, ""},
		{"/no/such/path", 404, ""},
	}
	for _, c := range cases {
		r := get(t, srv.URL+c.path)
		var ex struct{ Code, Description, Parameter string }
		if err := json.Unmarshal(r.body, &ex); err != nil {
			t.Errorf("%s: body is not an OGC exception: %s", c.path, r.body)
			continue
		}
		if r.status != c.status || ex.Parameter != c.param || ex.Code == "" || ex.Description == "" {
			t.Errorf("%s: %d %+v; want %d naming %q", c.path, r.status, ex, c.status, c.param)
		}
	}
	if r := do(t, "DELETE", srv.URL+"/catalog/dat-dai", nil, ""); r.status != 405 {
		t.Errorf("DELETE /catalog/dat-dai: %d, want 405", r.status)
	}
}

func TestHTML(t *testing.T) {
	srv := newServer(t)
	browser := map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	for _, c := range []struct{ path, want string }{
		{"/", "Cổng dữ liệu dùng chung"},
		{"/catalog", "Cơ sở dữ liệu về Đất đai"},
		{"/catalog?q=giao+thong", "Cơ sở dữ liệu kết cấu hạ tầng giao thông"},
		{"/catalog/tho-nhuong", "thổ nhưỡng"},
	} {
		r := do(t, "GET", srv.URL+c.path, browser, "")
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s as a browser: %d %s, want HTML containing %q", c.path, r.status, r.header.Get("Content-Type"), c.want)
		}
	}
	r := get(t, srv.URL+"/catalog?q=giao+thong&f=html")
	if strings.Contains(string(r.body), "Cơ sở dữ liệu về Đất đai") || !strings.Contains(string(r.body), "giấy phép lái xe") {
		t.Error("HTML search result does not list exactly the transport entries")
	}
	for _, accept := range []string{"*/*", "application/json", ""} {
		r := do(t, "GET", srv.URL+"/catalog", map[string]string{"Accept": accept}, "")
		if r.header.Get("Content-Type") != "application/json" {
			t.Errorf("Accept %q gave %s, want JSON", accept, r.header.Get("Content-Type"))
		}
	}
	if r := get(t, srv.URL+"/static/hub.css"); r.status != 200 {
		t.Errorf("stylesheet: %d", r.status)
	}
}

func TestLanding(t *testing.T) {
	srv := newServer(t)
	r := get(t, srv.URL+"/")
	var l struct {
		Title string
		Links []struct{ Href, Rel string }
	}
	if err := json.Unmarshal(r.body, &l); err != nil || l.Title == "" {
		t.Fatalf("landing: %s", r.body)
	}
	rels := map[string]string{}
	for _, k := range l.Links {
		rels[k.Rel] = k.Href
	}
	if rels["self"] == "" || rels["data"] != srv.URL+"/collections" || rels["service-desc"] != srv.URL+"/api" || rels["conformance"] != srv.URL+"/conformance" {
		t.Errorf("landing links %v", rels)
	}
	for _, href := range rels {
		if res := get(t, href); res.status != 200 {
			t.Errorf("link %s: %d", href, res.status)
		}
	}
}

func TestEditCatalogue(t *testing.T) {
	srv := newServer(t)
	patch := `{"scope": "Khu vực tỉnh Hải Dương cũ, thành phố Hải Phòng"}`
	if r := do(t, "PATCH", srv.URL+"/catalog/quy-hoach", nil, patch); r.status != 401 {
		t.Errorf("PATCH without a credential: %d, want 401", r.status)
	}
	if r := do(t, "PATCH", srv.URL+"/catalog/quy-hoach", map[string]string{"Authorization": "Bearer wrong"}, patch); r.status != 401 {
		t.Errorf("PATCH with a wrong token: %d, want 401", r.status)
	}
	auth := map[string]string{"Authorization": "Bearer " + adminToken, "Content-Type": "application/json"}
	if r := do(t, "PATCH", srv.URL+"/catalog/quy-hoach", auth, patch); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	var e entry
	_ = json.Unmarshal(get(t, srv.URL+"/catalog/quy-hoach").body, &e)
	if e.Scope != "Khu vực tỉnh Hải Dương cũ, thành phố Hải Phòng" {
		t.Errorf("scope after PATCH: %q", e.Scope)
	}
	for _, bad := range []string{`{"scop": "x"}`, `{"categories": ["secret"]}`, `{"kind": "raster"}`, `{`} {
		if r := do(t, "PATCH", srv.URL+"/catalog/quy-hoach", auth, bad); r.status != 400 {
			t.Errorf("PATCH %s: %d, want 400", bad, r.status)
		}
	}
	create := `{"id": "di-tich", "number": 31, "name": "Cơ sở dữ liệu di tích", "ownerId": "so-van-hoa-the-thao-va-du-lich", "categories": ["open"], "kind": "nonspatial"}`
	if r := do(t, "POST", srv.URL+"/catalog", auth, create); r.status != 201 || r.header.Get("Location") != "/catalog/di-tich" {
		t.Errorf("POST: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/catalog", auth, create); r.status != 400 {
		t.Errorf("POST of a duplicate: %d, want 400", r.status)
	}
}

func TestMetricsAndLogs(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	srv := newServer(t)
	r := do(t, "GET", srv.URL+"/catalog?kind=spatial", map[string]string{"X-Request-Id": "abc-123"}, "")
	if r.header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("request id not echoed: %q", r.header.Get("X-Request-Id"))
	}
	get(t, srv.URL+"/catalog?bad=1")
	m := string(get(t, srv.URL+"/metrics").body)
	for _, want := range []string{
		`hub_http_requests_total{method="GET",route="GET /catalog",status="200"} 1`,
		`hub_http_requests_total{method="GET",route="GET /catalog",status="400"} 1`,
		`hub_http_request_duration_seconds_bucket{method="GET",route="GET /catalog"`,
		`hub_db_pool_max_connections`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["request_id"] == "abc-123" {
			found = rec["status"] == float64(200) && rec["route"] == "GET /catalog" && rec["duration_ms"] != nil
		}
	}
	if !found {
		t.Errorf("no JSON log line with the request id, status, route and latency:\n%s", logs.String())
	}
}

func TestHealthFollowsTheDatabase(t *testing.T) {
	ctx := context.Background()
	dbURL := testdb.Fresh(t)
	pool, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(pool, reg, server.Config{Version: "test"}))
	defer srv.Close()

	r := get(t, srv.URL+"/health")
	var h server.Health
	if err := json.Unmarshal(r.body, &h); err != nil || r.status != 200 || h.Database.Status != "up" || h.Database.PostGIS == "" {
		t.Fatalf("healthy database: %d %s", r.status, r.body)
	}

	// Take the database away under the running server.
	admin, err := database.Open(ctx, testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, _ := neturl.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := admin.Exec(ctx, `DROP DATABASE "`+name+`" WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	r = get(t, srv.URL+"/health")
	if err := json.Unmarshal(r.body, &h); err != nil || r.status != 503 || h.Database.Status != "down" {
		t.Errorf("database gone: %d %s, want 503", r.status, r.body)
	}
	if strings.Contains(string(r.body), name) {
		t.Error("/health reveals the database URL")
	}
	// The server stays up and says so cleanly.
	if r := get(t, srv.URL+"/catalog"); r.status != 500 || !strings.Contains(string(r.body), "ServerError") {
		t.Errorf("catalogue without a database: %d %s", r.status, r.body)
	}
}

// A layer imported while the hub runs is served at once, with its quality report.
func TestNewLayerServedWithoutRestart(t *testing.T) {
	srv := newServer(t)
	if r := get(t, srv.URL+"/layers/temples"); r.status != 404 {
		t.Fatalf("before import: %d", r.status)
	}
	path := filepath.Join(t.TempDir(), "temples.geojson")
	content := `{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"ten": "Đền Kiếp Bạc"}, "geometry": {"type": "Point", "coordinates": [106.4412, 21.1306]}}]}`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.Open(path, ingest.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pool := testdb.Pool(t)
	if _, err := ingest.Import(context.Background(), pool, src, path, ingest.Options{Collection: "temples"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := get(t, srv.URL+"/layers/temples")
		if r.status == 200 {
			var l struct {
				DataVersion   int64 `json:"dataVersion"`
				FeatureCount  int64 `json:"featureCount"`
				QualityReport struct {
					Features int64  `json:"features"`
					Checksum string `json:"checksum"`
				} `json:"qualityReport"`
			}
			if err := json.Unmarshal(r.body, &l); err != nil || l.DataVersion != 1 || l.FeatureCount != 1 ||
				l.QualityReport.Features != 1 || !strings.HasPrefix(l.QualityReport.Checksum, "sha256:") {
				t.Errorf("layer: %s", r.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running hub did not serve the new layer within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCredentials: a request is anonymous without a credential; an API key in the header or
// the key parameter names its agency and is removed from the query; a wrong, revoked or
// malformed credential is a 401 that says why, never a silent anonymous answer.
func TestCredentials(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := access.AddAgency(ctx, pool, "so-thu-nghiem", "Sở Thử nghiệm", ""); err != nil {
		t.Fatal(err)
	}
	k, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: "so-thu-nghiem"})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(s string) map[string]string { return map[string]string{"Authorization": s} }
	for _, c := range []struct {
		name    string
		url     string
		headers map[string]string
		status  int
	}{
		{"anonymous", "/collections", nil, 200},
		{"key in the header", "/collections", bearer("Bearer " + secret), 200},
		{"key as a parameter (removed before the handler, which refuses unknown parameters)", "/collections?key=" + secret, nil, 200},
		{"unknown key", "/collections", bearer("Bearer hub_aaaaaaaa_" + strings.Repeat("a", 32)), 401},
		{"unknown key as a parameter", "/catalog?key=hub_zzzzzzzz_" + strings.Repeat("b", 32), nil, 401},
		{"not a bearer", "/collections", bearer("Basic dXNlcjpwYXNz"), 401},
		{"empty bearer", "/collections", bearer("Bearer "), 401},
		{"the admin token on a data path", "/collections", bearer("Bearer " + adminToken), 200},
		{"an agency key cannot edit the catalogue", "/catalog/quy-hoach", bearer("Bearer " + secret), 401},
	} {
		method := "GET"
		if strings.HasPrefix(c.name, "an agency key cannot edit") {
			method = "PATCH"
		}
		r := do(t, method, srv.URL+c.url, c.headers, `{"scope": "x"}`)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		if r.status == 401 && !strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	if err := access.RevokeKey(ctx, pool, k.ID); err != nil {
		t.Fatal(err)
	}
	// This server's authenticator does not listen (no Listen in server.New): its cache may hold
	// the key, so ask a fresh server, as a new process would see it.
	srv2 := newServer(t)
	r := do(t, "GET", srv2.URL+"/collections", bearer("Bearer "+secret), "")
	if r.status != 401 || !strings.Contains(string(r.body), "revoked") {
		t.Errorf("a revoked key: %d %s", r.status, r.body)
	}
}

// TestIdentityProviderTokens: with an identity provider configured, its tokens name the
// agency; a bad one is a 401 and an unreachable provider a 503.
func TestIdentityProviderTokens(t *testing.T) {
	ctx := context.Background()
	idp := oidctest.New(t)
	v, err := oidc.New(ctx, idp.Issuer(), idp.Audience())
	if err != nil {
		t.Fatal(err)
	}
	pool := testdb.Pool(t)
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(pool, reg, server.Config{Version: "test", Auth: access.NewAuthenticator(pool, v)}))
	t.Cleanup(srv.Close)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	good := idp.Token(map[string]any{"sub": "nguyen.van.a", "agency": "so-tai-chinh", "azp": "qlts"})
	if r := do(t, "GET", srv.URL+"/collections", bearer(good), ""); r.status != 200 {
		t.Errorf("a good token: %d %s", r.status, r.body)
	}
	expired := idp.Token(map[string]any{"sub": "x", "agency": "so-tai-chinh", "exp": time.Now().Add(-time.Hour)})
	if r := do(t, "GET", srv.URL+"/collections", bearer(expired), ""); r.status != 401 || !strings.Contains(string(r.body), "expired") {
		t.Errorf("an expired token: %d %s", r.status, r.body)
	}
	noAgency := idp.Token(map[string]any{"sub": "x"})
	if r := do(t, "GET", srv.URL+"/collections", bearer(noAgency), ""); r.status != 401 {
		t.Errorf("a token naming no agency: %d %s", r.status, r.body)
	}
	idp.Rotate() // a key the verifier has not seen: it must fetch the keys again…
	fresh := idp.Token(map[string]any{"sub": "x", "agency": "so-tai-chinh"})
	idp.Close() // …from a provider that is down
	if r := do(t, "GET", srv.URL+"/collections", bearer(fresh), ""); r.status != 503 {
		t.Errorf("a token while the provider is down: %d %s", r.status, r.body)
	}
}

// TestAccessRequestsAPI: a consuming agency files a request with its key, the owner sees it in
// its queue and approves it, and the consumer's grants then include it; others are refused.
func TestAccessRequestsAPI(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	pool := testdb.Pool(t)
	var owner string
	if err := pool.QueryRow(ctx, `SELECT owner_id FROM catalog_entries WHERE id = 'thi-truong-lao-dong'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if err := access.AddAgency(ctx, pool, "ubnd-xa-api", "UBND xã API", ""); err != nil {
		t.Fatal(err)
	}
	if err := access.AddApplication(ctx, pool, "viec-lam", "ubnd-xa-api", "Việc làm xã"); err != nil {
		t.Fatal(err)
	}
	key := func(agency, app string) map[string]string {
		_, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: agency, Application: app})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"Authorization": "Bearer " + secret, "Content-Type": "application/json"}
	}
	consumer, ownerKey := key("ubnd-xa-api", "viec-lam"), key(owner, "")

	body := `{"application": "viec-lam", "entry": "thi-truong-lao-dong", "purpose": "Theo dõi thất nghiệp", "frequency": "monthly"}`
	if r := do(t, "POST", srv.URL+"/access/requests", nil, body); r.status != 401 {
		t.Errorf("anonymous filing: %d", r.status)
	}
	r := do(t, "POST", srv.URL+"/access/requests", consumer, body)
	var req struct {
		ID     int64
		Status string
	}
	if json.Unmarshal(r.body, &req); r.status != 201 || req.Status != "submitted" {
		t.Fatalf("filing: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/access/requests", consumer, `{"entry": "nope", "purpose": "x", "application": "viec-lam"}`); r.status != 400 {
		t.Errorf("filing for an unknown entry: %d %s", r.status, r.body)
	}
	action := func(who map[string]string, path, body string) response {
		return do(t, "POST", fmt.Sprintf("%s/access/requests/%d/%s", srv.URL, req.ID, path), who, body)
	}
	if r := action(consumer, "approve", ""); r.status != 403 {
		t.Errorf("the requester approving its own request: %d %s", r.status, r.body)
	}
	var queue struct {
		ToDecide struct{ Requests []struct{ ID int64 } } `json:"toDecide"`
	}
	if r := do(t, "GET", srv.URL+"/access/requests?status=submitted", ownerKey, ""); json.Unmarshal(r.body, &queue) != nil ||
		len(queue.ToDecide.Requests) != 1 || queue.ToDecide.Requests[0].ID != req.ID {
		t.Errorf("owner's queue: %d %s", r.status, r.body)
	}
	if r := action(ownerKey, "approve", ""); r.status != 200 || !strings.Contains(string(r.body), `"approved"`) {
		t.Fatalf("owner approving: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/access/grants", consumer, ""); r.status != 200 || !strings.Contains(string(r.body), fmt.Sprintf(`"request %d"`, req.ID)) {
		t.Errorf("grants: %d %s", r.status, r.body)
	}
	if r := action(ownerKey, "revoke", `{"reason": ""}`); r.status != 400 {
		t.Errorf("revoking without a reason: %d %s", r.status, r.body)
	}
	if r := action(ownerKey, "revoke", `{"reason": "Hết thời hạn hợp tác"}`); r.status != 200 {
		t.Errorf("revoking: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/access/requests/999999/approve", ownerKey, ""); r.status != 404 {
		t.Errorf("an unknown request: %d %s", r.status, r.body)
	}
}
