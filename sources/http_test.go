package sources

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/internal/testdb"
)

// apiServer mounts the sources' handlers as server/routes.go does, without the admin and
// audit wrappers.
func apiServer(t *testing.T, pool *pgxpool.Pool, jobs *Jobs) *httptest.Server {
	t.Helper()
	a := NewAPI(pool, jobs)
	mux := http.NewServeMux()
	mux.Handle("GET /admin/sources", a.HandleList())
	mux.Handle("POST /admin/sources", a.HandleAdd())
	mux.Handle("GET /admin/sources/{source}", a.HandleGet())
	mux.Handle("PATCH /admin/sources/{source}", a.HandlePatch())
	mux.Handle("DELETE /admin/sources/{source}", a.HandleDelete())
	mux.Handle("POST /admin/sources/{source}/run", a.HandleRun())
	mux.Handle("POST /admin/sources/{source}/pause", a.HandleSetPaused(true))
	mux.Handle("POST /admin/sources/{source}/resume", a.HandleSetPaused(false))
	mux.Handle("GET /admin/sources/{source}/runs", a.HandleRuns())
	mux.Handle("GET /admin/sources/{source}/runs/{run}/rejects", a.HandleRejects())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	body   string
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(a.body), v); err != nil {
		t.Fatalf("answer %d %q: %v", a.status, a.body, err)
	}
}

func call(t *testing.T, srv *httptest.Server, method, path string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, string(b)}
}

func sourceBody(id, endpoint string) map[string]any {
	return map[string]any{"id": id, "entry": "dang-ky-doanh-nghiep", "collection": id, "itemType": "record",
		"connector": "test-memory", "endpoint": endpoint, "key": "ma_so_thue"}
}

const clearToken = "Bearer s3cret-token-4711"

// Adding a source through the API: its header, given in clear, is stored encrypted and shown
// as "(encrypted)"; a run in the request fills the collection; pause, resume, runs and
// rejects answer; unknown sources are 404s; no answer repeats the credential.
func TestAPIAddRunPauseRuns(t *testing.T) {
	t.Setenv(KeyEnv, "a test key, long enough")
	t.Setenv("HUB_SOURCE_TEST_PASSWORD", "pw")
	pool := testdb.Pool(t)
	ctx := context.Background()
	m, ep := newMemory(t, 25)
	srv := apiServer(t, pool, nil)

	body := sourceBody("api-added", ep)
	body["headers"] = map[string]string{"authorization": clearToken, "X-Agency": "env:HUB_SOURCE_TEST_PASSWORD"}
	body["schedule"] = "0 2 * * *"
	a := call(t, srv, "POST", "/admin/sources", body)
	if a.status != http.StatusCreated {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	var got Source
	a.decode(t, &got)
	if got.Headers["Authorization"] != Encrypted || got.Headers["X-Agency"] != "env:HUB_SOURCE_TEST_PASSWORD" ||
		got.ItemType != "record" || got.Detect != "hash" || got.Schedule != "0 2 * * *" || got.Paused {
		t.Fatalf("added source: %s", a.body)
	}
	var stored string
	if err := pool.QueryRow(ctx, `SELECT headers->>'Authorization' FROM sources WHERE id = 'api-added'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "enc:") || strings.Contains(stored, "s3cret") {
		t.Fatalf("stored header %q: want it sealed", stored)
	}
	if v, err := Reveal(stored); err != nil || v != clearToken {
		t.Fatalf("the sealed header does not open to what was given: %v", err)
	}
	// The same id again is a conflict, not a silent replacement.
	if a := call(t, srv, "POST", "/admin/sources", body); a.status != http.StatusConflict {
		t.Fatalf("adding an existing id: %d %s", a.status, a.body)
	}

	a = call(t, srv, "POST", "/admin/sources/api-added/run?wait=true", nil)
	if a.status != http.StatusOK {
		t.Fatalf("run: %d %s", a.status, a.body)
	}
	var run Run
	a.decode(t, &run)
	if run.Status != "succeeded" || run.Inserted != 25 || run.Read != 25 || run.Trigger != "api" || run.DataVersion == nil {
		t.Fatalf("run: %s", a.body)
	}
	equalSource(t, pool, "api_added", m)
	m.set("0000000003", map[string]any{"ma_so_thue": "0000000003", "ten": "đổi", "von": 3})
	m.del("0000000004")
	a = call(t, srv, "POST", "/admin/sources/api-added/run?wait=true", nil)
	a.decode(t, &run)
	if a.status != http.StatusOK || run.Updated != 1 || run.Deleted != 1 || run.Unchanged != 23 {
		t.Fatalf("second run: %d %s", a.status, a.body)
	}
	equalSource(t, pool, "api_added", m)

	a = call(t, srv, "GET", "/admin/sources/api-added", nil)
	a.decode(t, &got)
	if a.status != 200 || got.LastRun == nil || got.LastRun.ID != run.ID || got.LastSuccessAt == nil {
		t.Fatalf("get: %d %s", a.status, a.body)
	}

	for _, step := range []struct {
		verb   string
		paused bool
	}{{"pause", true}, {"resume", false}, {"pause", true}} {
		a := call(t, srv, "POST", "/admin/sources/api-added/"+step.verb, nil)
		a.decode(t, &got)
		var paused bool
		if err := pool.QueryRow(ctx, `SELECT paused FROM sources WHERE id = 'api-added'`).Scan(&paused); err != nil {
			t.Fatal(err)
		}
		if a.status != 200 || got.Paused != step.paused || paused != step.paused {
			t.Fatalf("%s: %d %s (stored %v)", step.verb, a.status, a.body, paused)
		}
	}

	a = call(t, srv, "GET", "/admin/sources/api-added/runs", nil)
	var runs struct{ Runs []Run }
	a.decode(t, &runs)
	if a.status != 200 || len(runs.Runs) != 2 || runs.Runs[0].ID != run.ID || runs.Runs[1].Inserted != 25 {
		t.Fatalf("runs: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "GET", "/admin/sources/api-added/runs?limit=1", nil); !strings.Contains(a.body, `"inserted":0`) || strings.Count(a.body, `"trigger"`) != 1 {
		t.Fatalf("runs?limit=1: %s", a.body)
	}
	if a := call(t, srv, "GET", "/admin/sources/api-added/runs?limit=501", nil); a.status != 400 || !strings.Contains(a.body, "limit") {
		t.Fatalf("runs?limit=501: %d %s", a.status, a.body)
	}
	a = call(t, srv, "GET", "/admin/sources/api-added/runs/"+itoa(run.ID)+"/rejects", nil)
	if a.status != 200 || !strings.Contains(a.body, `"rejects":[]`) {
		t.Fatalf("rejects: %d %s", a.status, a.body)
	}

	// Other tests of the package add sources to the same entry: this one is among them, once.
	a = call(t, srv, "GET", "/admin/sources?entry=dang-ky-doanh-nghiep", nil)
	var list struct {
		Sources    []Source
		Connectors []struct{ Type, Description string }
	}
	a.decode(t, &list)
	mine := 0
	for _, s := range list.Sources {
		if s.Entry != "dang-ky-doanh-nghiep" {
			t.Fatalf("list by entry holds %s of %s", s.ID, s.Entry)
		}
		if s.ID == "api-added" {
			mine++
		}
	}
	if a.status != 200 || mine != 1 || len(list.Connectors) == 0 {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "GET", "/admin/sources?collection=nothing-here", nil); !strings.Contains(a.body, `"sources":[]`) {
		t.Fatalf("list of another collection: %s", a.body)
	}

	// Unknown sources, unknown runs.
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/sources/no-such"}, {"PATCH", "/admin/sources/no-such"}, {"DELETE", "/admin/sources/no-such"},
		{"POST", "/admin/sources/no-such/run?wait=true"}, {"POST", "/admin/sources/no-such/pause"},
		{"POST", "/admin/sources/no-such/resume"}, {"GET", "/admin/sources/no-such/runs"},
		{"GET", "/admin/sources/no-such/runs/1/rejects"}, {"GET", "/admin/sources/api-added/runs/999999/rejects"},
		{"GET", "/admin/sources/api-added/runs/x/rejects"},
	} {
		var b any
		if c.method == "PATCH" {
			b = map[string]any{"title": "x"}
		}
		if a := call(t, srv, c.method, c.path, b); a.status != 404 || !strings.Contains(a.body, "NotFound") {
			t.Errorf("%s %s: %d %s", c.method, c.path, a.status, a.body)
		}
	}

	// Delete: gone, and its runs with it; the collection stays.
	if a := call(t, srv, "DELETE", "/admin/sources/api-added", nil); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "GET", "/admin/sources/api-added", nil); a.status != 404 {
		t.Fatalf("deleted source: %d %s", a.status, a.body)
	}
	equalSource(t, pool, "api_added", m)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Bad definitions are refused with a 400 naming the field, and never repeat a credential.
func TestAPIRefusesBadInput(t *testing.T) {
	pool := testdb.Pool(t)
	_, ep := newMemory(t, 1)
	srv := apiServer(t, pool, nil)
	with := func(edit func(map[string]any)) map[string]any {
		b := sourceBody("api-bad", ep)
		b["headers"] = map[string]string{"Authorization": clearToken}
		edit(b)
		return b
	}
	t.Setenv(KeyEnv, "")
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"no key to seal with", with(func(map[string]any) {}), "HUB_SECRET_KEY"},
	}
	for _, c := range cases {
		a := call(t, srv, "POST", "/admin/sources", c.body)
		if a.status != 400 || !strings.Contains(a.body, c.want) || strings.Contains(a.body, "s3cret") {
			t.Errorf("%s: %d %s; want a 400 saying %q", c.name, a.status, a.body, c.want)
		}
	}
	t.Setenv(KeyEnv, "a test key, long enough")
	cases = []struct {
		name string
		body map[string]any
		want string
	}{
		{"no key field", with(func(b map[string]any) { delete(b, "key") }), "key: name the source field"},
		{"bad id", with(func(b map[string]any) { b["id"] = "Bad Id" }), `id \"Bad Id\"`},
		{"bad detection", with(func(b map[string]any) { b["detect"] = "guess" }), "change detection"},
		{"watermark without field", with(func(b map[string]any) { b["detect"] = "watermark" }), "watermark field"},
		{"unknown connector", with(func(b map[string]any) { b["connector"] = "ftp" }), `connector \"ftp\"`},
		{"bad schedule", with(func(b map[string]any) { b["schedule"] = "10s" }), "once a minute"},
		{"bad time limit", with(func(b map[string]any) { b["timeLimit"] = "soon" }), `timeLimit`},
		{"wrong type", with(func(b map[string]any) { b["srid"] = "EPSG:4326" }), `srid`},
		{"state field", with(func(b map[string]any) { b["cursor"] = "42" }), `\"cursor\" is not a field`},
		{"unknown entry", with(func(b map[string]any) { b["entry"] = "no-such-entry" }), "no-such-entry"},
		{"a stored form", with(func(b map[string]any) { b["secret"] = "enc:abc" }), "secret"},
		{"a redacted value", with(func(b map[string]any) { b["headers"] = map[string]string{"X-Key": Encrypted} }), "X-Key"},
		{"bad env name", with(func(b map[string]any) { b["secret"] = "env:NOT A NAME" }), "environment variable"},
	}
	for _, c := range cases {
		a := call(t, srv, "POST", "/admin/sources", c.body)
		if a.status != 400 || !strings.Contains(a.body, c.want) || strings.Contains(a.body, "s3cret") {
			t.Errorf("%s: %d %s; want a 400 saying %q", c.name, a.status, a.body, c.want)
		}
	}
	if a := call(t, srv, "GET", "/admin/sources/api-bad", nil); a.status != 404 {
		t.Fatalf("a refused source was stored: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "POST", "/admin/sources", "not an object"); a.status != 400 {
		t.Errorf("a body that is no object: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "GET", "/admin/sources?colection=x", nil); a.status != 400 || !strings.Contains(a.body, "colection") {
		t.Errorf("a misspelt parameter: %d %s", a.status, a.body)
	}
}

// PATCH changes the fields given: a new header is sealed, "(encrypted)" keeps one, null
// removes one; the id cannot change; a bad change is refused and nothing is stored.
func TestAPIPatch(t *testing.T) {
	t.Setenv(KeyEnv, "a test key, long enough")
	pool := testdb.Pool(t)
	ctx := context.Background()
	_, ep := newMemory(t, 5)
	srv := apiServer(t, pool, nil)
	body := sourceBody("api-patched", ep)
	body["headers"] = map[string]string{"Authorization": clearToken, "X-Old": "old-value"}
	body["options"] = map[string]string{"records": "true", "layer": "a"}
	if a := call(t, srv, "POST", "/admin/sources", body); a.status != 201 {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	var before string
	pool.QueryRow(ctx, `SELECT headers->>'Authorization' FROM sources WHERE id = 'api-patched'`).Scan(&before)

	a := call(t, srv, "PATCH", "/admin/sources/api-patched", map[string]any{
		"title":    "Đăng ký doanh nghiệp",
		"headers":  map[string]any{"Authorization": Encrypted, "X-Old": nil, "x-new": "new-s3cret"},
		"options":  map[string]any{"layer": nil},
		"schedule": "15m",
	})
	if a.status != 200 || strings.Contains(a.body, "s3cret") {
		t.Fatalf("patch: %d %s", a.status, a.body)
	}
	var got Source
	a.decode(t, &got)
	if got.Title != "Đăng ký doanh nghiệp" || got.Schedule != "15m" || len(got.Headers) != 2 || got.Headers["X-New"] != Encrypted ||
		got.Options["records"] != "true" || len(got.Options) != 1 || got.Key != "ma_so_thue" {
		t.Fatalf("patched: %s", a.body)
	}
	var auth, xnew string
	pool.QueryRow(ctx, `SELECT headers->>'Authorization', headers->>'X-New' FROM sources WHERE id = 'api-patched'`).Scan(&auth, &xnew)
	if auth != before {
		t.Fatal(`"(encrypted)" did not keep the stored header`)
	}
	if v, err := Reveal(xnew); err != nil || v != "new-s3cret" {
		t.Fatalf("new header: %v", err)
	}
	// null resets a field: no schedule.
	a = call(t, srv, "PATCH", "/admin/sources/api-patched", map[string]any{"schedule": nil, "secret": "env:HUB_SOURCE_SOME_PASSWORD"})
	got = Source{}
	a.decode(t, &got)
	if a.status != 200 || got.Schedule != "" || got.Secret != "env:HUB_SOURCE_SOME_PASSWORD" {
		t.Fatalf("patch with null: %d %s", a.status, a.body)
	}
	for name, c := range map[string]struct {
		body map[string]any
		want string
	}{
		"rename":    {map[string]any{"id": "other"}, "cannot change"},
		"bad":       {map[string]any{"deletions": "burn"}, "deletions"},
		"no key":    {map[string]any{"key": nil}, "key: name"},
		"not field": {map[string]any{"lastRun": nil}, "lastRun"},
	} {
		if a := call(t, srv, "PATCH", "/admin/sources/api-patched", c.body); a.status != 400 || !strings.Contains(a.body, c.want) {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	a = call(t, srv, "GET", "/admin/sources/api-patched", nil)
	got = Source{}
	a.decode(t, &got)
	if got.Deletions != "delete" || got.Key != "ma_so_thue" {
		t.Fatalf("a refused patch was stored: %s", a.body)
	}
}

// Running through the API: queued (once) through the job queue, 503 without one; in the
// request, a failing source is a 502 with its run, one over its time limit a 504, and a run
// while another is under way a 409.
func TestAPIRunOutcomes(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 30)
	addSource(t, pool, "api-run", ep, func(s *Source) { s.TimeLimit = Duration(time.Second) })

	if a := call(t, apiServer(t, pool, nil), "POST", "/admin/sources/api-run/run", nil); a.status != 503 || !strings.Contains(a.body, "wait=true") {
		t.Fatalf("queued run without a queue: %d %s", a.status, a.body)
	}
	jobs, err := NewJobs(pool, JobOptions{InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := apiServer(t, pool, jobs)
	a := call(t, srv, "POST", "/admin/sources/api-run/run", nil)
	if a.status != http.StatusAccepted || !strings.Contains(a.body, `"queued":true`) {
		t.Fatalf("queued run: %d %s", a.status, a.body)
	}
	a = call(t, srv, "POST", "/admin/sources/api-run/run", nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, `"queued":false`) || !strings.Contains(a.body, "waiting or under way") {
		t.Fatalf("second queued run: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "POST", "/admin/sources/no-such/run", nil); a.status != 404 {
		t.Fatalf("queued run of nothing: %d %s", a.status, a.body)
	}
	if a := call(t, srv, "POST", "/admin/sources/api-run/run?wait=maybe", nil); a.status != 400 {
		t.Fatalf("wait=maybe: %d %s", a.status, a.body)
	}

	m.failAt = 2
	a = call(t, srv, "POST", "/admin/sources/api-run/run?wait=true", nil)
	var run Run
	a.decode(t, &run)
	if a.status != http.StatusBadGateway || run.Status != "failed" || !strings.Contains(run.Error, "500") {
		t.Fatalf("failing source: %d %s", a.status, a.body)
	}

	// A slow source: the first run goes over its time limit, the second finds it under way.
	m.failAt = 0
	m.stall = 400 * time.Millisecond
	var wg sync.WaitGroup
	var first answer
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = call(t, srv, "POST", "/admin/sources/api-run/run?wait=true", nil)
	}()
	time.Sleep(150 * time.Millisecond)
	second := call(t, srv, "POST", "/admin/sources/api-run/run?wait=true", nil)
	wg.Wait()
	if second.status != http.StatusConflict || !strings.Contains(second.body, "synchronised already") {
		t.Fatalf("run while one is under way: %d %s", second.status, second.body)
	}
	first.decode(t, &run)
	if first.status != http.StatusGatewayTimeout || run.Status != "timed out" {
		t.Fatalf("run over its time limit: %d %s", first.status, first.body)
	}
}
