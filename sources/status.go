package sources

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State is a source's health at a glance: what /health and the metrics show.
type State struct {
	ID          string
	Paused      bool
	Status      string // of the last run; "never run" when none
	LastSuccess *time.Time
	Runs        map[string]int64 // runs by status
	Rows        Counts           // summed over the runs
}

// Failing says the source's last run failed or timed out.
func (s State) Failing() bool {
	return s.Status == "failed" || s.Status == "timed out" || s.Status == "interrupted"
}

// States reads every source's state: the last run of each and, with totals, what all its runs
// did (one pass over them, for the metrics; /health does without).
func States(ctx context.Context, q Querier, totals bool) ([]State, error) {
	sums := `'{}'::jsonb, 0, 0, 0, 0, 0, 0`
	join := ``
	if totals {
		sums = `COALESCE(t.runs, '{}'), COALESCE(t.read, 0), COALESCE(t.inserted, 0), COALESCE(t.updated, 0),
    COALESCE(t.deleted, 0), COALESCE(t.unchanged, 0), COALESCE(t.rejected, 0)`
		join = `
LEFT JOIN LATERAL (SELECT jsonb_object_agg(status, n) AS runs, sum(read) AS read, sum(inserted) AS inserted,
    sum(updated) AS updated, sum(deleted) AS deleted, sum(unchanged) AS unchanged, sum(rejected) AS rejected
    FROM (SELECT status, count(*) AS n, sum(read) AS read, sum(inserted) AS inserted, sum(updated) AS updated,
          sum(deleted) AS deleted, sum(unchanged) AS unchanged, sum(rejected) AS rejected
          FROM sync_runs WHERE source_id = s.id GROUP BY status) c) t ON true`
	}
	rows, err := q.Query(ctx, `SELECT s.id, s.paused, COALESCE(l.status, 'never run'), s.last_success_at, `+sums+`
FROM sources s
LEFT JOIN LATERAL (SELECT status FROM sync_runs WHERE source_id = s.id ORDER BY id DESC LIMIT 1) l ON true`+join+`
ORDER BY s.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []State
	for rows.Next() {
		var st State
		r := &st.Rows
		if err := rows.Scan(&st.ID, &st.Paused, &st.Status, &st.LastSuccess, &st.Runs,
			&r.Read, &r.Inserted, &r.Updated, &r.Deleted, &r.Unchanged, &r.Rejected); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// Collector exports the sources' states at scrape time, read from the database, so that every
// hub process reports the same figures whichever ran the syncs.
type Collector struct {
	q                            Querier
	runs, rows, success, failing *prometheus.Desc
}

// NewCollector makes the sources' metrics collector.
func NewCollector(q Querier) *Collector {
	return &Collector{q: q,
		runs:    prometheus.NewDesc("hub_sync_runs_total", "Source synchronisation runs by outcome.", []string{"source", "status"}, nil),
		rows:    prometheus.NewDesc("hub_sync_rows_total", "Rows read and written by a source's runs, by what happened to them.", []string{"source", "op"}, nil),
		success: prometheus.NewDesc("hub_sync_last_success_timestamp_seconds", "When the source was last synchronised successfully (0: never).", []string{"source"}, nil),
		failing: prometheus.NewDesc("hub_sync_failing", "1 when the source's last run failed or timed out.", []string{"source"}, nil),
	}
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.runs
	ch <- c.rows
	ch <- c.success
	ch <- c.failing
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	states, err := States(ctx, c.q, true)
	if err != nil {
		return // the database's own health shows in /health and the pool metrics
	}
	for _, s := range states {
		for status, n := range s.Runs {
			ch <- prometheus.MustNewConstMetric(c.runs, prometheus.CounterValue, float64(n), s.ID, status)
		}
		for op, n := range map[string]int64{"read": s.Rows.Read, "inserted": s.Rows.Inserted, "updated": s.Rows.Updated,
			"deleted": s.Rows.Deleted, "unchanged": s.Rows.Unchanged, "rejected": s.Rows.Rejected} {
			ch <- prometheus.MustNewConstMetric(c.rows, prometheus.CounterValue, float64(n), s.ID, op)
		}
		var ts float64
		if s.LastSuccess != nil {
			ts = float64(s.LastSuccess.UnixMilli()) / 1000
		}
		ch <- prometheus.MustNewConstMetric(c.success, prometheus.GaugeValue, ts, s.ID)
		var f float64
		if s.Failing() {
			f = 1
		}
		ch <- prometheus.MustNewConstMetric(c.failing, prometheus.GaugeValue, f, s.ID)
	}
}
