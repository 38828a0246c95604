// Package testaccess gives tests of the data paths a caller entitled to default data: an agency
// whose application is connected (an approved request) to every catalogue entry shared by
// default, and a handler that sends its key with every request. Tests of the paths' mechanics
// (paging, filters, tiles) use it; the policy's own tests (policy, server) build their
// principals one by one.
package testaccess

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/sample"
)

// Agency and Application are the connected consumer's ids.
const (
	Agency      = "test-consumer"
	Application = "test-app"
)

// Connected returns an API key of the connected consumer, creating the agency, its
// application and its approved requests (one per entry shared by default) when missing.
func Connected(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO agencies (id, name, name_en) VALUES ($1, 'Cơ quan thử nghiệm', 'Test consumer') ON CONFLICT DO NOTHING`, Agency)
	if err == nil {
		_, err = tx.Exec(ctx, `INSERT INTO applications (id, agency_id, name) VALUES ($1, $2, 'Ứng dụng thử') ON CONFLICT DO NOTHING`,
			Application, Agency)
	}
	if err == nil {
		err = sample.ConnectDefault(ctx, tx, Agency, Application, "kiểm thử — tests")
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		t.Fatalf("connected consumer: %v", err)
	}
	_, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: Agency, Application: Application, Label: "tests"})
	if err != nil {
		t.Fatalf("connected consumer's key: %v", err)
	}
	return secret
}

// As sends key as the bearer credential of every request that carries none.
func As(key string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && !r.URL.Query().Has("key") {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		h.ServeHTTP(w, r)
	})
}

// OpenUnlessEntry is the category a test layer is imported with: open when it belongs to no
// catalogue entry (no agency could be granted it otherwise), else its entry's.
func OpenUnlessEntry(def layers.Layer) string {
	if def.EntryID == "" {
		return "open"
	}
	return ""
}
