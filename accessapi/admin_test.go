package accessapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/server"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const adminToken = "test-admin-token"

// hub is a real server on a database of the test's own, so that the audit log holds exactly
// what the test did.
type hub struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
}

// newHub starts the server on a fresh database. With a nil log it starts one of its own;
// an authenticator that listens lets a revocation take effect as in production.
func newHub(t *testing.T, log *audit.Log) *hub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := database.Open(ctx, testdb.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	t.Cleanup(cancel) // before the pool closes: the listeners stop first
	if log == nil {
		log = audit.New(pool, audit.Options{})
		if err := log.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(log.Close)
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	go reg.Listen(ctx)
	authn := access.NewAuthenticator(pool, nil)
	go authn.Listen(ctx)
	sum := sha256.Sum256([]byte(adminToken))
	srv := httptest.NewServer(server.New(pool, reg, server.Config{Version: "test", AdminTokenSHA256: sum[:], Auth: authn, Audit: log}))
	t.Cleanup(srv.Close)
	return &hub{t: t, url: srv.URL, pool: pool}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// decode reads the body into v, failing the test when it is not JSON.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

// do sends a request as who: "" is anonymous, anything else a bearer credential.
func (h *hub) do(method, path, who, body string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+who)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// owner reads the owner agency of a catalogue entry.
func (h *hub) owner(entry string) string {
	h.t.Helper()
	var owner string
	if err := h.pool.QueryRow(context.Background(), `SELECT owner_id FROM catalog_entries WHERE id = $1`, entry).Scan(&owner); err != nil {
		h.t.Fatal(err)
	}
	return owner
}

// logged is an audit record as the tests compare them.
type logged struct {
	Principal, Credential, Operation, Resource, Entry string
	Status                                            int
}

// auditLog reads every record of the log, in order.
func (h *hub) auditLog() []logged {
	h.t.Helper()
	rows, _ := h.pool.Query(context.Background(), `SELECT principal, COALESCE(credential_id, ''), operation, COALESCE(query, ''),
		COALESCE(entry_id, ''), COALESCE(status, 0) FROM audit_log ORDER BY seq`)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[logged])
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

type createdKey struct {
	ID      string     `json:"id"`
	Agency  string     `json:"agency"`
	Secret  string     `json:"secret"`
	Expires *time.Time `json:"expires"`
	Revoked *time.Time `json:"revoked"`
}

// TestAdminAPI: the operator registers an agency and its application and makes a key over
// HTTP; the key works as a bearer credential, lists show its id and never its secret, and once
// revoked it is refused. Anyone but the operator gets a 401, and mistakes a 400 saying what to
// fix.
func TestAdminAPI(t *testing.T) {
	h := newHub(t, nil)
	const agency = "ubnd-xa-thanh-mien"

	if r := h.do("POST", "/admin/agencies", adminToken, `{"id": "`+agency+`", "name": "UBND xã Thanh Miện", "nameEn": "Thanh Mien commune"}`); r.status != 201 {
		t.Fatalf("add agency: %s", r)
	}
	if r := h.do("POST", "/admin/agencies/"+agency+"/applications", adminToken, `{"id": "mot-cua", "name": "Một cửa"}`); r.status != 201 {
		t.Fatalf("add application: %s", r)
	}
	var agencies struct {
		Agencies []access.AgencyInfo `json:"agencies"`
	}
	h.do("GET", "/admin/agencies", adminToken, "").decode(t, &agencies)
	found := false
	for _, a := range agencies.Agencies {
		if a.ID == agency {
			found = a.Name == "UBND xã Thanh Miện" && a.NameEn == "Thanh Mien commune" && fmt.Sprint(a.Applications) == "[mot-cua]"
		}
	}
	if !found || len(agencies.Agencies) < 2 {
		t.Errorf("GET /admin/agencies does not show %s with its application: %+v", agency, agencies)
	}

	r := h.do("POST", "/admin/keys", adminToken, `{"agency": "`+agency+`", "application": "mot-cua", "label": "thử", "expires": "30d"}`)
	var k createdKey
	r.decode(t, &k)
	if r.status != 201 || !strings.HasPrefix(k.Secret, k.ID+"_") || k.Agency != agency || k.Expires == nil {
		t.Fatalf("create key: %s", r)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the secret's answer may be cached: Cache-Control %q", cc)
	}

	// The key speaks for its agency and application.
	var grants struct{ Principal access.Principal }
	r = h.do("GET", "/access/grants", k.Secret, "")
	r.decode(t, &grants)
	if r.status != 200 || grants.Principal.Agency != agency || grants.Principal.Application != "mot-cua" || grants.Principal.Credential != k.ID {
		t.Errorf("with the new key: %s", r)
	}

	// Lists show the public id, never the secret.
	secretPart := k.Secret[len(k.ID)+1:]
	for _, path := range []string{"/admin/keys", "/admin/keys?agency=" + agency} {
		r := h.do("GET", path, adminToken, "")
		var list struct{ Keys []createdKey }
		r.decode(t, &list)
		if r.status != 200 || len(list.Keys) != 1 || list.Keys[0].ID != k.ID || strings.Contains(string(r.body), secretPart) {
			t.Errorf("GET %s: %s", path, r)
		}
	}

	// Anyone but the operator is refused, the new key included.
	for _, c := range []struct{ method, path, who, body string }{
		{"GET", "/admin/agencies", "", ""},
		{"GET", "/admin/keys", k.Secret, ""},
		{"POST", "/admin/agencies", k.Secret, `{"id": "x", "name": "x"}`},
		{"POST", "/admin/agencies/" + agency + "/applications", "", `{"id": "x", "name": "x"}`},
		{"POST", "/admin/keys", k.Secret, `{"agency": "` + agency + `"}`},
		{"DELETE", "/admin/keys/" + k.ID, k.Secret, ""},
		{"POST", "/admin/keys/" + k.ID + "/revoke", "", ""},
	} {
		if r := h.do(c.method, c.path, c.who, c.body); r.status != 401 {
			t.Errorf("%s %s without the admin token: %s", c.method, c.path, r)
		}
	}

	// Mistakes: a 400 naming what to fix; unknown things a 404 where the path names them.
	for _, c := range []struct {
		method, path, body string
		status             int
		param, says        string
	}{
		{"POST", "/admin/keys", `{"agency": "no-such-agency"}`, 400, "agency", "no-such-agency"},
		{"POST", "/admin/keys", `{"application": "mot-cua"}`, 400, "agency", "agency"},
		{"POST", "/admin/keys", `{"agency": "` + agency + `", "application": "khong-co"}`, 400, "application", "mot-cua"},
		{"POST", "/admin/keys", `{"agency": "` + agency + `", "expires": "2000-01-01"}`, 400, "expires", "2000-01-01"},
		{"POST", "/admin/keys", `{"agency": "` + agency + `", "expires": "soon"}`, 400, "expires", "90d"},
		{"POST", "/admin/keys", `{"agency": "` + agency + `", "secret": "x"}`, 400, "", "secret"},
		{"GET", "/admin/keys?agency=no-such-agency", "", 400, "agency", "no-such-agency"},
		{"GET", "/admin/keys?agenc=x", "", 400, "agenc", "agenc"},
		{"POST", "/admin/agencies", `{"id": "` + agency + `", "name": "again"}`, 400, "", "exists already"},
		{"POST", "/admin/agencies", `{"id": "Bad Id", "name": "x"}`, 400, "", "lower-case"},
		{"POST", "/admin/agencies", `{"id": "so-moi"}`, 400, "", "needs a name"},
		{"POST", "/admin/agencies/no-such-agency/applications", `{"id": "x", "name": "x"}`, 404, "", "no-such-agency"},
		{"POST", "/admin/agencies/" + agency + "/applications", `{"id": "mot-cua", "name": "x"}`, 400, "", "exists already"},
		{"DELETE", "/admin/keys/hub_aaaaaaaa", "", 404, "", "hub_aaaaaaaa"},
	} {
		r := h.do(c.method, c.path, adminToken, c.body)
		var ex struct{ Code, Description, Parameter string }
		r.decode(t, &ex)
		if r.status != c.status || ex.Parameter != c.param || !strings.Contains(ex.Description, c.says) || !strings.Contains(ex.Description, " — ") {
			t.Errorf("%s %s %s: %s; want %d naming %q and saying %q in both languages", c.method, c.path, c.body, r, c.status, c.param, c.says)
		}
	}

	// Revoked, the key is refused at once (the authenticator hears of it by NOTIFY).
	r = h.do("DELETE", "/admin/keys/"+k.ID, adminToken, "")
	var revoked createdKey
	r.decode(t, &revoked)
	if r.status != 200 || revoked.ID != k.ID || revoked.Revoked == nil {
		t.Fatalf("revoke: %s", r)
	}
	if r := h.do("POST", "/admin/keys/"+k.ID+"/revoke", adminToken, ""); r.status != 200 {
		t.Errorf("revoking again: %s", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := h.do("GET", "/access/grants", k.Secret, "")
		if r.status == 401 && strings.Contains(string(r.body), "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked key is still accepted 5 s later: %s", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestActionsAreAudited: every administrative action over HTTP — agencies, applications, keys,
// and the filings and decisions of requests and agreements — leaves exactly one audit record
// naming who did it, with which credential, on what; refused attempts leave none; no record
// holds a key's secret.
func TestActionsAreAudited(t *testing.T) {
	h := newHub(t, nil)
	const consumer = "ubnd-xa-thanh-mien"
	labour, land := h.owner("thi-truong-lao-dong"), h.owner("dat-dai")

	h.do("POST", "/admin/agencies", adminToken, `{"id": "`+consumer+`", "name": "UBND xã Thanh Miện"}`)
	h.do("POST", "/admin/agencies/"+consumer+"/applications", adminToken, `{"id": "mot-cua", "name": "Một cửa"}`)
	h.do("POST", "/admin/agencies", adminToken, `{"id": "`+consumer+`", "name": "again"}`) // refused: not logged
	newKey := func(agency, app string) createdKey {
		var k createdKey
		r := h.do("POST", "/admin/keys", adminToken, fmt.Sprintf(`{"agency": %q, "application": %q}`, agency, app))
		if r.decode(t, &k); r.status != 201 {
			t.Fatalf("key for %s: %s", agency, r)
		}
		return k
	}
	cons, labourKey, landKey := newKey(consumer, "mot-cua"), newKey(labour, ""), newKey(land, "")

	request := func(who string) int64 {
		var req struct{ ID int64 }
		r := h.do("POST", "/access/requests", who, `{"entry": "thi-truong-lao-dong", "purpose": "Theo dõi thất nghiệp"}`)
		if r.decode(t, &req); r.status != 201 {
			t.Fatalf("filing: %s", r)
		}
		return req.ID
	}
	act := func(who, kind string, id int64, action, body string, status int) {
		t.Helper()
		if r := h.do("POST", fmt.Sprintf("/access/%s/%d/%s", kind, id, action), who, body); r.status != status {
			t.Errorf("%s %d %s: %s, want %d", kind, id, action, r, status)
		}
	}
	first := request(cons.Secret)
	act(cons.Secret, "requests", first, "approve", "", 403) // not the owner: refused, not logged
	act(labourKey.Secret, "requests", first, "refuse", `{"reason": "Thiếu mục đích cụ thể"}`, 200)
	second := request(cons.Secret)
	act(labourKey.Secret, "requests", second, "approve", "", 200)
	act(cons.Secret, "requests", second, "revoke", `{"reason": "Không còn cần"}`, 200) // the requester's own: a withdrawal

	var ag struct{ ID int64 }
	r := h.do("POST", "/access/agreements", cons.Secret,
		`{"entry": "dat-dai", "purpose": "Cấp phép xây dựng", "ends": "2099-12-31", "retention": "Lưu 5 năm, sau đó xóa"}`)
	if r.decode(t, &ag); r.status != 201 {
		t.Fatalf("agreement: %s", r)
	}
	act(landKey.Secret, "agreements", ag.ID, "approve", "", 200)
	act(landKey.Secret, "agreements", ag.ID, "revoke", `{"reason": "Hết hợp tác"}`, 200)
	h.do("DELETE", "/admin/keys/"+cons.ID, adminToken, "")

	admin := func(op, resource string, status int) logged {
		return logged{"admin", "admin-token", op, resource, "", status}
	}
	as := func(agency string, k createdKey, op, resource, entry string) logged {
		return logged{"agency:" + agency, k.ID, op, resource, entry, 201}
	}
	want := []logged{
		admin("agencies.add", "/admin/agencies/"+consumer, 201),
		admin("applications.add", "/admin/agencies/"+consumer+"/applications/mot-cua", 201),
		admin("keys.create", "/admin/keys/"+cons.ID, 201),
		admin("keys.create", "/admin/keys/"+labourKey.ID, 201),
		admin("keys.create", "/admin/keys/"+landKey.ID, 201),
		as(consumer, cons, "requests.submit", fmt.Sprintf("/access/requests/%d", first), "thi-truong-lao-dong"),
		{"agency:" + labour, labourKey.ID, "requests.refuse", fmt.Sprintf("/access/requests/%d", first), "thi-truong-lao-dong", 200},
		as(consumer, cons, "requests.submit", fmt.Sprintf("/access/requests/%d", second), "thi-truong-lao-dong"),
		{"agency:" + labour, labourKey.ID, "requests.approve", fmt.Sprintf("/access/requests/%d", second), "thi-truong-lao-dong", 200},
		{"agency:" + consumer, cons.ID, "requests.withdraw", fmt.Sprintf("/access/requests/%d", second), "thi-truong-lao-dong", 200},
		as(consumer, cons, "agreements.submit", fmt.Sprintf("/access/agreements/%d", ag.ID), "dat-dai"),
		{"agency:" + land, landKey.ID, "agreements.approve", fmt.Sprintf("/access/agreements/%d", ag.ID), "dat-dai", 200},
		{"agency:" + land, landKey.ID, "agreements.revoke", fmt.Sprintf("/access/agreements/%d", ag.ID), "dat-dai", 200},
		admin("keys.revoke", "/admin/keys/"+cons.ID, 200),
	}
	got := h.auditLog()
	if len(got) != len(want) {
		t.Errorf("%d audit records, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("record %d: %+v\n                 want %+v", i+1, got[i], want[i])
		}
	}
	var leaked int
	for _, k := range []createdKey{cons, labourKey, landKey} {
		var n int
		h.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE position($1 IN row(audit_log.*)::text) > 0`,
			k.Secret[len(k.ID)+1:]).Scan(&n)
		leaked += n
	}
	if leaked != 0 {
		t.Errorf("%d audit records hold a key's secret", leaked)
	}
	if res, err := audit.Verify(context.Background(), h.pool); err != nil || res.Broken != nil || res.Records != int64(len(want)) {
		t.Errorf("audit verify: %+v %v", res, err)
	}
}

// TestUnloggedActionsAreRefused: when the audit log cannot be written, an administrative action
// is answered with a 503, never a success, and a new key is revoked before anyone sees its
// secret.
func TestUnloggedActionsAreRefused(t *testing.T) {
	broken := audit.New(nil, audit.Options{}) // never started: every Record fails with ErrUnavailable
	h := newHub(t, broken)
	ctx := context.Background()
	if err := access.AddAgency(ctx, h.pool, "ubnd-xa-thanh-mien", "UBND xã Thanh Miện", ""); err != nil {
		t.Fatal(err)
	}
	r := h.do("POST", "/admin/keys", adminToken, `{"agency": "ubnd-xa-thanh-mien"}`)
	if r.status != 503 || strings.Contains(string(r.body), "hub_") || !strings.Contains(string(r.body), "keys.create") {
		t.Errorf("a key while the log is down: %s", r)
	}
	keys, err := access.ListKeys(ctx, h.pool, "ubnd-xa-thanh-mien")
	if err != nil || len(keys) != 1 || keys[0].Revoked == nil {
		t.Errorf("the unlogged key is not revoked: %+v %v", keys, err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/admin/agencies", `{"id": "so-moi", "name": "Sở mới"}`},
		{"POST", "/admin/agencies/ubnd-xa-thanh-mien/applications", `{"id": "mot-cua", "name": "Một cửa"}`},
	} {
		if r := h.do(c.method, c.path, adminToken, c.body); r.status != 503 {
			t.Errorf("%s %s while the log is down: %s", c.method, c.path, r)
		}
	}
	if n := len(h.auditLog()); n != 0 {
		t.Errorf("%d records from a log that was never started", n)
	}
}
