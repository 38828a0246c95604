package sources

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/internal/testdb"
)

func startJobs(t *testing.T, pool *pgxpool.Pool) *Jobs {
	t.Helper()
	j, err := NewJobs(pool, JobOptions{Tick: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = j.Client.Stop(ctx)
	})
	return j
}

func runsOf(t *testing.T, pool *pgxpool.Pool, id string) (total, finished int) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE status <> 'running') FROM sync_runs WHERE source_id = $1`, id).Scan(&total, &finished)
	if err != nil {
		t.Fatal(err)
	}
	return total, finished
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two hub processes (two job clients on one database) work the same schedule: the source
// runs once per due time, not once per process.
func TestScheduleTwoProcessesRunOnce(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 60)
	m.stall = 50 * time.Millisecond
	addSource(t, pool, "scheduled-sync", ep, func(s *Source) { s.Schedule = "1h" })
	// Two processes: each its own pool and job client.
	other, err := pgxpool.New(context.Background(), testdb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	startJobs(t, pool)
	startJobs(t, other)
	waitFor(t, "the scheduled source ran", 20*time.Second, func() bool { _, f := runsOf(t, pool, "scheduled-sync"); return f >= 1 })
	time.Sleep(1500 * time.Millisecond) // several ticks of both schedulers
	if total, _ := runsOf(t, pool, "scheduled-sync"); total != 1 {
		t.Fatalf("the source ran %d times for one due time", total)
	}
	equalSource(t, pool, "scheduled_sync", m)
	src, err := Get(context.Background(), pool, "scheduled-sync")
	if err != nil || src.NextRunAt == nil || time.Until(*src.NextRunAt) < 50*time.Minute {
		t.Fatalf("next run not moved on: %+v %v", src, err)
	}
}

// A failing source is retried by the queue, up to its attempts, each attempt recorded.
func TestScheduleRetriesAFailingSource(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 15)
	m.failAt = 1
	addSource(t, pool, "retried-sync", ep, func(s *Source) { s.MaxAttempts = 2 })
	j := startJobs(t, pool)
	if ok, err := Enqueue(context.Background(), pool, j.Client, "retried-sync", "api"); err != nil || !ok {
		t.Fatalf("enqueue: %v %v", ok, err)
	}
	if ok, err := Enqueue(context.Background(), pool, j.Client, "retried-sync", "api"); err != nil || ok {
		t.Fatalf("a second run was queued while one waits: %v %v", ok, err)
	}
	waitFor(t, "two attempts", 30*time.Second, func() bool { _, f := runsOf(t, pool, "retried-sync"); return f >= 2 })
	runs, err := Runs(context.Background(), pool, "retried-sync", 10)
	if err != nil || len(runs) != 2 || runs[0].Trigger != "retry" || runs[0].Attempt != 2 || runs[1].Status != "failed" {
		t.Fatalf("runs: %+v %v", runs, err)
	}
}

// A retry of a failed run is dropped when a run has succeeded since (by hand): it would only
// repeat what was done, or fail again on what the failure was.
func TestRetryAfterASuccessIsDropped(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	m, ep := newMemory(t, 10)
	m.failAt = 1
	addSource(t, pool, "retry-moot", ep, func(s *Source) { s.MaxAttempts = 3 })
	j := startJobs(t, pool)
	if ok, err := Enqueue(ctx, pool, j.Client, "retry-moot", "api"); err != nil || !ok {
		t.Fatalf("enqueue: %v %v", ok, err)
	}
	waitFor(t, "the first attempt failed", 20*time.Second, func() bool { _, f := runsOf(t, pool, "retry-moot"); return f >= 1 })
	m.failAt = 0
	mustSync(t, pool, "retry-moot")
	m.failAt = 1 // were the retry to run, it would fail
	waitFor(t, "the retry was worked", 30*time.Second, func() bool {
		var state string
		var attempt int
		err := pool.QueryRow(ctx, `SELECT state, attempt FROM river_job WHERE kind = 'hub_sync' AND args ->> 'source' = 'retry-moot' ORDER BY id DESC LIMIT 1`).Scan(&state, &attempt)
		return err == nil && state == "completed" && attempt >= 2
	})
	runs, err := Runs(ctx, pool, "retry-moot", 10)
	if err != nil || len(runs) != 2 || runs[0].Status != "succeeded" || runs[0].Trigger != "manual" {
		t.Fatalf("runs after the dropped retry: %+v %v", runs, err)
	}
}
