package main_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/internal/testdb"
)

// TestSyncKilledDuringApply: a hub process killed (SIGKILL) while it applies a run leaves the
// collection, its data version and its change log as they were; the next run records the dead
// one as interrupted and applies the changes once.
func TestSyncKilledDuringApply(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	_, hub := hubOn(t, bin, dbURL)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// The agency's own table, here in the same server.
	if _, err := pool.Exec(ctx, `CREATE TABLE public.ho_kinh_doanh AS
SELECT lpad(i::text, 9, '0') AS ma, 'Hộ kinh doanh ' || i AS ten, i % 1000 AS von FROM generate_series(1, 150000) i`); err != nil {
		t.Fatal(err)
	}
	hub("sources", "add", "ho-kinh-doanh", "--entry", "dang-ky-doanh-nghiep", "--collection", "ho-kinh-doanh", "--records",
		"--connector", "postgres", "--endpoint", dbURL, "--option", "table=public.ho_kinh_doanh", "--key", "ma")
	hub("sources", "run", "ho-kinh-doanh")
	state := func() (string, int64, int64) {
		var sum string
		var version, changes int64
		err := pool.QueryRow(ctx, `SELECT (SELECT md5(string_agg(ma || ten || von, ',' ORDER BY ma)) FROM data.ho_kinh_doanh),
    l.data_version, (SELECT count(*) FROM layer_changes WHERE layer_id = l.id) FROM layers l WHERE l.id = 'ho-kinh-doanh'`).Scan(&sum, &version, &changes)
		if err != nil {
			t.Fatal(err)
		}
		return sum, version, changes
	}
	sum0, v0, c0 := state()

	if _, err := pool.Exec(ctx, `UPDATE public.ho_kinh_doanh SET von = von + 1 WHERE ma::int % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "sources", "run", "ho-kinh-doanh")
	run.Env = append(run.Environ(), "HUB_DATABASE_URL="+dbURL)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	// Kill it once it writes the collection (the merge reads the staged rows from hub_next).
	killed := false
	for deadline := time.Now().Add(60 * time.Second); !killed && time.Now().Before(deadline); {
		var applying bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity WHERE state = 'active'
    AND query LIKE '%hub_next%' AND query NOT LIKE '%pg_stat_activity%')`).Scan(&applying); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before it could be killed while applying", err)
		default:
		}
		if applying {
			if err := run.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !killed {
		t.Fatal("the run never reached its apply")
	}
	<-done
	// PostgreSQL rolls the dead connection's transaction back once it notices the client gone.
	var open int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%hub_next%' AND query NOT LIKE '%pg_stat_activity%'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
	}
	if sum, v, c := state(); sum != sum0 || v != v0 || c != c0 {
		t.Fatalf("the killed run left a trace: data %v, version %d → %d, changes %d → %d", sum != sum0, v0, v, c0, c)
	}
	out := hub("sources", "run", "ho-kinh-doanh")
	if !strings.Contains(out, "75000") {
		t.Fatalf("the run after the kill: %s", out)
	}
	var statuses []string
	rows, err := pool.Query(ctx, `SELECT status FROM sync_runs WHERE source_id = 'ho-kinh-doanh' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		statuses = append(statuses, s)
	}
	if strings.Join(statuses, ",") != "succeeded,interrupted,succeeded" {
		t.Fatalf("runs: %v", statuses)
	}
	var differ int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM public.ho_kinh_doanh s FULL JOIN data.ho_kinh_doanh d USING (ma)
WHERE s.ma IS NULL OR d.ma IS NULL OR (s.ten, s.von) IS DISTINCT FROM (d.ten, d.von::int)`).Scan(&differ); err != nil || differ != 0 {
		t.Fatalf("%d rows differ from the source after the run (%v)", differ, err)
	}
}
