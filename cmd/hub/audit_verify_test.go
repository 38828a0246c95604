package main_test

import (
	"context"
	"strings"
	"testing"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/internal/testdb"
)

// TestAuditVerifyNamesTheEditedRow: someone with the database's owner role switches the
// append-only triggers off and edits one audit record; `hub audit verify` fails and names
// that record, and the records before it are still vouched for.
func TestAuditVerifyNamesTheEditedRow(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	hub, _ := hubOn(t, bin, dbURL)
	for _, id := range []string{"so-a", "so-b", "so-c", "so-d"} {
		if out, err := hub("agencies", "add", "--id", id, "--name", "Sở "+id); err != nil {
			t.Fatalf("agencies add: %v\n%s", err, out)
		}
	}
	if out, err := hub("audit", "verify"); err != nil || !strings.Contains(out, "intact: 4 records") {
		t.Fatalf("before: %v %s", err, out)
	}

	ctx := context.Background()
	pool, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// An ordinary UPDATE is refused by the database itself.
	if _, err := pool.Exec(ctx, `UPDATE audit_log SET rows = 0 WHERE seq = 3`); err == nil {
		t.Fatal("audit_log accepted an UPDATE")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, s := range []string{`ALTER TABLE audit_log DISABLE TRIGGER ALL`,
		`UPDATE audit_log SET principal = 'agency:so-x' WHERE seq = 3`,
		`ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_change`,
		`ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate`} {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := hub("audit", "verify")
	if err == nil {
		t.Fatalf("hub audit verify passed an edited log:\n%s", out)
	}
	if !strings.Contains(out, "broken at seq 3") || !strings.Contains(out, "the 2 records before it are intact") {
		t.Errorf("hub audit verify does not name the edited record:\n%s", out)
	}
}
