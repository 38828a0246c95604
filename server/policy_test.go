package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

// TestPolicyAPI: the operator sets a collection's and its fields' sharing categories over HTTP;
// a personal field that would be open, an unknown field or category is a 400 that says why;
// the running hub serves the new categories at once.
func TestPolicyAPI(t *testing.T) {
	srv := newServer(t)
	pool := testdb.Pool(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A record collection of an open entry (#2), with a personal field shared by agreement.
	err = layers.Save(ctx, tx, &layers.Layer{ID: "policy-api", Title: "Thử chính sách", EntryID: "cong-thong-tin-dien-tu-tinh",
		ItemType: layers.Record, Table: "policy_api", IDColumn: "fid", MaxZoom: 22,
		Fields: []layers.Field{{Name: "code", Type: "string"}, {Name: "holder_id", Type: "string", Category: "specific", Personal: true}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	admin := map[string]string{"Authorization": "Bearer " + adminToken, "Content-Type": "application/json"}
	url := srv.URL + "/collections/policy-api/policy"
	for _, c := range []struct {
		name, url, body string
		headers         map[string]string
		status          int
		says            string
	}{
		{"anonymous", url, `{"category": "open"}`, nil, 401, "credential"},
		{"unknown collection", srv.URL + "/collections/khong-co/policy", `{"category": "open"}`, admin, 404, "khong-co"},
		{"misspelt member", url, `{"categorie": "open"}`, admin, 400, "categorie"},
		{"bad category", url, `{"category": "public"}`, admin, 400, `"public" is not a sharing category`},
		{"unknown field", url, `{"fields": {"ten": {"personal": true}}}`, admin, 400, `no field "ten"`},
		{"personal made open", url, `{"fields": {"holder_id": {"category": "open"}}}`, admin, 400, "never open"},
		{"personal inheriting the entry's open", url, `{"fields": {"code": {"personal": true}}}`, admin, 400,
			`inherit open sharing from catalogue entry "cong-thong-tin-dien-tu-tinh"`},
		{"empty", url, `{}`, admin, 400, "nothing to change"},
	} {
		r := do(t, "PATCH", c.url, c.headers, c.body)
		var ex struct{ Code, Description string }
		if err := json.Unmarshal(r.body, &ex); err != nil || r.status != c.status || !strings.Contains(ex.Description, c.says) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, r.status, r.body, c.status, c.says)
		}
	}

	r := do(t, "PATCH", url, admin, `{"category": "default", "fields": {"code": {"category": "inherit", "personal": true}}}`)
	var l layers.Layer
	if err := json.Unmarshal(r.body, &l); err != nil || r.status != 200 || l.Categories[0] != "default" {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	if f, _ := l.Field("code"); f.Category != "default" || !f.Personal {
		t.Errorf("code after PATCH: %+v", f)
	}
	// The change is an administrative action: one audit record, by the operator.
	var logged int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE operation = 'collections.policy' AND collection = 'policy-api'
	    AND principal = 'admin' AND status = 200`).Scan(&logged); err != nil || logged != 1 {
		t.Errorf("policy change logged %d times (%v), want once", logged, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		r := get(t, srv.URL+"/layers/policy-api")
		var served layers.Layer
		_ = json.Unmarshal(r.body, &served)
		if f, _ := served.Field("code"); r.status == 200 && f.Personal && f.Category == "default" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after the change the hub still serves %d %s", r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
