package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// Schedules and retries are River jobs in PostgreSQL. A periodic "schedule" job, which River
// runs on its elected leader only, enqueues a sync job for every source that is due (once per
// due time: the source's next run moves on in the same transaction); a job asked for by the
// API is unique per source while one waits or runs; and the run itself holds the source's
// advisory lock — so however many hub processes work the queue, one source runs once at a
// time. Scheduled jobs are not unique: a job left "running" by a process that died (until
// River rescues it) must not keep the source's next due time from running it. A failed run
// is retried by River with backoff, up to the source's attempts; a run over its time limit is
// not retried.

// SyncArgs is the job that synchronises one source.
type SyncArgs struct {
	Source  string `json:"source" river:"unique"`
	Trigger string `json:"trigger"`
}

func (SyncArgs) Kind() string { return "hub_sync" }

// ScheduleArgs is the periodic job that enqueues the sources that are due.
type ScheduleArgs struct{}

func (ScheduleArgs) Kind() string { return "hub_sync_schedule" }

const queue = "sync"

func syncOpts(attempts int, unique bool) *river.InsertOpts {
	o := &river.InsertOpts{Queue: queue, MaxAttempts: attempts}
	if unique {
		o.UniqueOpts = river.UniqueOpts{ByArgs: true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled}}
	}
	return o
}

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Timeout is the source's own time limit, enforced by the run.
func (w *syncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return -1 }

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	trigger := job.Args.Trigger
	if job.Attempt > 1 {
		trigger = "retry"
		// A run that succeeded since this job first failed (by hand, or on schedule) has done
		// what the retry would: retrying would only fail again on what the failure was.
		var done bool
		if err := w.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM sync_runs WHERE source_id = $1
    AND status IN ('succeeded', 'unchanged') AND started_at > $2)`, job.Args.Source, job.CreatedAt).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	run, err := Sync(ctx, w.pool, job.Args.Source, RunOptions{Trigger: trigger, Attempt: job.Attempt})
	switch {
	case err == nil:
		w.log.Info("sync", "source", job.Args.Source, "status", run.Status, "inserted", run.Inserted, "updated", run.Updated,
			"deleted", run.Deleted, "rejected", run.Rejected, "version", run.version())
		return nil
	case errors.Is(err, ErrRunning):
		return nil // the run under way serves
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrTimedOut):
		w.log.Warn("sync", "source", job.Args.Source, "error", err)
		return river.JobCancel(err)
	}
	w.log.Warn("sync", "source", job.Args.Source, "attempt", job.Attempt, "error", err)
	return err
}

type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	pool   *pgxpool.Pool
	client func() *river.Client[pgx.Tx]
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	_, err := EnqueueDue(ctx, w.pool, w.client(), time.Now())
	return err
}

// EnqueueDue enqueues a sync job for every unpaused source whose time has come and moves its
// next run on. It returns the sources enqueued.
func EnqueueDue(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx], now time.Time) ([]string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	rows, err := tx.Query(ctx, `SELECT id, schedule, max_attempts FROM sources
WHERE NOT paused AND schedule IS NOT NULL AND (next_run_at IS NULL OR next_run_at <= $1) ORDER BY id FOR UPDATE SKIP LOCKED`, now)
	if err != nil {
		return nil, err
	}
	type due struct {
		id, schedule string
		attempts     int
	}
	dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (d due, err error) {
		return d, r.Scan(&d.id, &d.schedule, &d.attempts)
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, d := range dues {
		sched, err := ParseSchedule(d.schedule)
		if err != nil {
			continue // Save refuses such schedules; a hand-edited row waits for its fix
		}
		if _, err := tx.Exec(ctx, `UPDATE sources SET next_run_at = $2 WHERE id = $1`, d.id, sched.Next(now)); err != nil {
			return nil, err
		}
		if _, err := client.InsertTx(ctx, tx, SyncArgs{Source: d.id, Trigger: "schedule"}, syncOpts(d.attempts, false)); err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", d.id, err)
		}
		ids = append(ids, d.id)
	}
	return ids, tx.Commit(ctx)
}

// Enqueue asks for a run of a source now (an admin's "run"); it returns false when one is
// waiting or running already.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx], id, trigger string) (bool, error) {
	src, err := Get(ctx, pool, id)
	if err != nil {
		return false, err
	}
	res, err := client.Insert(ctx, SyncArgs{Source: src.ID, Trigger: trigger}, syncOpts(src.MaxAttempts, true))
	if err != nil {
		return false, err
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// Jobs is the hub process's share of the job queue.
type Jobs struct {
	Client *river.Client[pgx.Tx]
}

// JobOptions tune the queue.
type JobOptions struct {
	Workers int           // concurrent sync runs in this process (default 2); 0 < Workers
	Tick    time.Duration // how often due sources are looked for (default 30 s)
	Logger  *slog.Logger
	// InsertOnly makes a client that enqueues but runs nothing (a CLI, a hub without workers).
	InsertOnly bool
}

// NewJobs makes the queue client; Start begins working it.
func NewJobs(pool *pgxpool.Pool, opt JobOptions) (*Jobs, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	j := &Jobs{}
	// River's own chatter (every retry, every leadership change) stays below warnings; the
	// runs log what they did.
	cfg := &river.Config{Logger: slog.New(quiet{opt.Logger.Handler()}).With("component", "jobs")}
	if !opt.InsertOnly {
		if opt.Workers <= 0 {
			opt.Workers = 2
		}
		if opt.Tick <= 0 {
			opt.Tick = 30 * time.Second
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, &syncWorker{pool: pool, log: opt.Logger})
		river.AddWorker(workers, &scheduleWorker{pool: pool, client: func() *river.Client[pgx.Tx] { return j.Client }})
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{queue: {MaxWorkers: opt.Workers}, river.QueueDefault: {MaxWorkers: 1}}
		cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(opt.Tick),
			func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
		cfg.FetchPollInterval = time.Second
	}
	// A job whose process died stays "running" (and, unique, keeps its source from being
	// queued) until River rescues it: as soon as no run can still be alive.
	cfg.RescueStuckJobsAfter = rescueAfter(pool)
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	j.Client = client
	return j, nil
}

// quiet passes on warnings and errors only.
type quiet struct{ slog.Handler }

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.Handler.Enabled(ctx, l)
}

func (q quiet) WithAttrs(a []slog.Attr) slog.Handler { return quiet{q.Handler.WithAttrs(a)} }
func (q quiet) WithGroup(n string) slog.Handler      { return quiet{q.Handler.WithGroup(n)} }

// rescueAfter is the longest time limit of the sources (or the default's) and a margin.
func rescueAfter(pool *pgxpool.Pool) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	longest := 30 * time.Minute
	var l *time.Duration
	if err := pool.QueryRow(ctx, `SELECT max(time_limit) FROM sources`).Scan(&l); err == nil && l != nil && *l > longest {
		longest = *l
	}
	return longest + 5*time.Minute
}
