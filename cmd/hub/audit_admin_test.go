package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/internal/testdb"
)

// TestCommandLineActionsAreAudited: the operator's commands — agencies, keys, requests and
// imports — each leave one audit record naming the action and what it made, by "admin" on the
// "command line"; an import records its collection, entry and rows; a key's secret is printed
// but never logged.
func TestCommandLineActionsAreAudited(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	_, hub := hubOn(t, bin, dbURL)
	hub("agencies", "add", "--id", "ubnd-xa-thanh-mien", "--name", "UBND xã Thanh Miện")
	hub("agencies", "app", "--agency", "ubnd-xa-thanh-mien", "--id", "mot-cua", "--name", "Một cửa")
	out := hub("keys", "create", "--agency", "ubnd-xa-thanh-mien", "--application", "mot-cua", "--expires", "2099-12-31")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	id := secret[:len("hub_")+8]
	hub("keys", "revoke", id)
	hub("requests", "submit", "--agency", "ubnd-xa-thanh-mien", "--application", "mot-cua", "--entry", "dang-ky-doanh-nghiep",
		"--purpose", "Tra cứu doanh nghiệp")
	hub("requests", "refuse", "1", "--reason", "Thiếu căn cứ")
	csv := filepath.Join(t.TempDir(), "doanh-nghiep.csv")
	if err := os.WriteFile(csv, []byte("ma_so_thue,ten\n0801234567,Công ty A\n0801234568,Công ty B\n0801234569,Công ty C\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hub("import", "--collection", "doanh-nghiep-thu", "--records", "--key-field", "ma_so_thue", "--entry", "dang-ky-doanh-nghiep", csv)

	ctx := context.Background()
	pool, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	type logged struct {
		Principal, Credential, Operation, Resource, Entry, Collection string
		Rows                                                          int64
	}
	rows, _ := pool.Query(ctx, `SELECT principal, COALESCE(credential_id, ''), operation, COALESCE(query, ''), COALESCE(entry_id, ''),
		COALESCE(collection, ''), COALESCE(rows, -1) FROM audit_log ORDER BY seq`)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[logged])
	if err != nil {
		t.Fatal(err)
	}
	cli := func(op, resource, entry string) logged {
		return logged{"admin", "command line", op, resource, entry, "", -1}
	}
	want := []logged{
		cli("agencies.add", "/admin/agencies/ubnd-xa-thanh-mien", ""),
		cli("applications.add", "/admin/agencies/ubnd-xa-thanh-mien/applications/mot-cua", ""),
		cli("keys.create", "/admin/keys/"+id, ""),
		cli("keys.revoke", "/admin/keys/"+id, ""),
		cli("requests.submit", "/access/requests/1?agency=ubnd-xa-thanh-mien&application=mot-cua", "dang-ky-doanh-nghiep"),
		cli("requests.refuse", "/access/requests/1", "dang-ky-doanh-nghiep"),
	}
	if len(got) != len(want)+1 {
		t.Fatalf("%d audit records, want %d: %+v", len(got), len(want)+1, got)
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("record %d: %+v\n                 want %+v", i+1, got[i], w)
		}
	}
	imp := got[len(want)]
	if imp.Operation != "import" || imp.Collection != "doanh-nghiep-thu" || imp.Entry != "dang-ky-doanh-nghiep" || imp.Rows != 3 ||
		!strings.HasPrefix(imp.Resource, "/collections/doanh-nghiep-thu?") || !strings.Contains(imp.Resource, "sha256=") ||
		!strings.Contains(imp.Resource, "mode=replace") {
		t.Errorf("import record: %+v", imp)
	}
	var leaked int
	pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE position($1 IN row(audit_log.*)::text) > 0`, secret[len(id)+1:]).Scan(&leaked)
	if leaked != 0 {
		t.Errorf("%d audit records hold the key's secret", leaked)
	}
	if out := hub("audit", "verify"); !strings.Contains(out, "intact: 7 records") {
		t.Errorf("audit verify: %s", out)
	}
}
