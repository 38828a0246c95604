package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fastjson"

	"github.com/haiduong/hub/connect"
	"github.com/haiduong/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// memory is a source system held in the test: a set of items by key, which the test changes
// between runs. Its connector reads it through connect.NewItems like the HTTP connectors do,
// in pages, and can fail on a page or stall, as a real source does.
type memory struct {
	mu      sync.Mutex
	items   map[string]map[string]any
	failAt  int           // fail on this page (1-based); 0: never
	stall   time.Duration // wait this long before each page
	changed map[string]bool
	deleted []string
}

var memories sync.Map // endpoint → *memory

type memConnector struct{}

func (memConnector) Describe() string { return "test source held in memory" }

func (memConnector) Open(ctx context.Context, cfg connect.Config) (*connect.Fetch, error) {
	v, ok := memories.Load(cfg.Endpoint)
	if !ok {
		return nil, fmt.Errorf("no source at %s", cfg.Endpoint)
	}
	m := v.(*memory)
	m.mu.Lock()
	keys := slices.Sorted(maps.Keys(m.items))
	items := map[string][]byte{}
	for k, it := range m.items {
		items[k], _ = json.Marshal(it)
	}
	changed, deleted := maps.Clone(m.changed), slices.Clone(m.deleted)
	failAt, stall := m.failAt, m.stall
	m.mu.Unlock()
	feed := cfg.Detect == connect.Feed
	f := connect.NewItems(&cfg, "test", 4326, !feed, func(ctx context.Context, add func(*fastjson.Value) error) error {
		page := 0
		for i, k := range keys {
			if feed && !changed[k] {
				continue
			}
			if i%10 == 0 {
				page++
				if page == failAt {
					return fmt.Errorf("page %d: the source answered 500", page)
				}
				select {
				case <-time.After(stall):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			v, err := fastjson.ParseBytes(items[k])
			if err != nil {
				return err
			}
			if err := add(v); err != nil {
				return err
			}
		}
		return nil
	})
	if feed {
		f.Deleted = deleted
		f.Cursor = fmt.Sprint(time.Now().UnixNano())
	}
	return f, nil
}

func init() { connect.Register("test-memory", memConnector{}) }

func newMemory(t *testing.T, n int) (*memory, string) {
	m := &memory{items: map[string]map[string]any{}, changed: map[string]bool{}}
	for i := 1; i <= n; i++ {
		k := fmt.Sprintf("%010d", i)
		m.items[k] = map[string]any{"ma_so_thue": k, "ten": fmt.Sprintf("Công ty %d", i), "von": i * 1000, "ma_xa": "10507"}
	}
	endpoint := "mem://" + t.Name()
	memories.Store(endpoint, m)
	return m, endpoint
}

func (m *memory) set(k string, it map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[k] = it
	m.changed[k] = true
}

func (m *memory) del(k string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, k)
	m.deleted = append(m.deleted, k)
}

// equalSource asserts that the collection holds exactly the source's items.
func equalSource(t *testing.T, pool *pgxpool.Pool, table string, m *memory) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT ma_so_thue, ten, von FROM data.`+table+` ORDER BY ma_so_thue`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var k, ten string
		var von int64
		if err := rows.Scan(&k, &ten, &von); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s|%s|%d", k, ten, von))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	var want []string
	for k, it := range m.items {
		want = append(want, fmt.Sprintf("%s|%s|%v", k, it["ten"], it["von"]))
	}
	m.mu.Unlock()
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("the collection differs from the source:\n got %d rows %.300v\nwant %d rows %.300v", len(got), got, len(want), want)
	}
}

func addSource(t *testing.T, pool *pgxpool.Pool, id, endpoint string, edit func(*Source)) *Source {
	t.Helper()
	s := &Source{ID: id, Entry: "dang-ky-doanh-nghiep", Collection: id, ItemType: "record", Connector: "test-memory",
		Endpoint: endpoint, Key: "ma_so_thue"}
	if edit != nil {
		edit(s)
	}
	if err := Save(context.Background(), pool, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSync(t *testing.T, pool *pgxpool.Pool, id string) *Run {
	t.Helper()
	run, err := Sync(context.Background(), pool, id, RunOptions{})
	if err != nil {
		t.Fatalf("sync %s: %v", id, err)
	}
	return run
}

func version(t *testing.T, pool *pgxpool.Pool, id string) (v, changes int64) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT data_version, (SELECT count(*) FROM layer_changes WHERE layer_id = $1) FROM layers WHERE id = $1`, id).Scan(&v, &changes)
	if err != nil {
		t.Fatal(err)
	}
	return v, changes
}

func TestSyncInsertUpdateDeleteNoChange(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 95)
	addSource(t, pool, "doanh-nghiep-sync", ep, nil)

	run := mustSync(t, pool, "doanh-nghiep-sync")
	if run.Status != "succeeded" || run.Inserted != 95 || run.Read != 95 {
		t.Fatalf("first run: %+v", run)
	}
	equalSource(t, pool, "doanh_nghiep_sync", m)
	v1, _ := version(t, pool, "doanh-nghiep-sync")

	// No change: nothing written, the version kept.
	run = mustSync(t, pool, "doanh-nghiep-sync")
	if run.Status != "unchanged" || run.Unchanged != 95 || run.Inserted+run.Updated+run.Deleted != 0 {
		t.Fatalf("unchanged run: %+v", run)
	}
	if v, c := version(t, pool, "doanh-nghiep-sync"); v != v1 || c != 0 {
		t.Fatalf("an unchanged run moved the version %d → %d (changes %d)", v1, v, c)
	}

	// An insert, an update, a deletion.
	m.set("0000000200", map[string]any{"ma_so_thue": "0000000200", "ten": "Công ty mới", "von": 5, "ma_xa": "10507"})
	m.set("0000000007", map[string]any{"ma_so_thue": "0000000007", "ten": "Công ty 7 (đổi tên)", "von": 7000, "ma_xa": "10507"})
	m.del("0000000009")
	run = mustSync(t, pool, "doanh-nghiep-sync")
	if run.Status != "succeeded" || run.Inserted != 1 || run.Updated != 1 || run.Deleted != 1 || run.Unchanged != 93 {
		t.Fatalf("changing run: %+v", run)
	}
	equalSource(t, pool, "doanh_nghiep_sync", m)
	v2, c := version(t, pool, "doanh-nghiep-sync")
	if v2 != v1+1 || c != 3 || *run.DataVersion != v2 {
		t.Fatalf("version %d → %d with %d changes logged; want +1 and 3", v1, v2, c)
	}
	// Again: the same result, whatever the repetition.
	for range 2 {
		if run := mustSync(t, pool, "doanh-nghiep-sync"); run.Status != "unchanged" {
			t.Fatalf("repeated run: %+v", run)
		}
	}
	equalSource(t, pool, "doanh_nghiep_sync", m)
}

func TestSyncRejectsBadRowsKeepsTheirPreviousState(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 20)
	addSource(t, pool, "reject-sync", ep, nil)
	mustSync(t, pool, "reject-sync")
	// von is an integer field now; a text there is refused, and so is a repeated key.
	m.set("0000000003", map[string]any{"ma_so_thue": "0000000003", "ten": "Công ty 3", "von": "ba nghìn"})
	m.set("0000000004", map[string]any{"ma_so_thue": "0000000004", "ten": "Công ty 4 mới", "von": 4})
	// The source repeats a key (read after the first): the repeat is refused.
	m.set("zz-repeat", map[string]any{"ma_so_thue": "0000000004", "ten": "Công ty 4 lặp", "von": 44})
	run := mustSync(t, pool, "reject-sync")
	if run.Rejected != 2 || run.Updated != 1 || run.Deleted != 0 {
		t.Fatalf("run with a bad row: %+v", run)
	}
	if len(run.Rejects) != 2 || !strings.Contains(run.Rejects[0].Reason, "not of type integer") ||
		!strings.Contains(run.Rejects[1].Reason, "key 0000000004 repeats item") {
		t.Fatalf("rejects: %+v", run.Rejects)
	}
	rej, err := Rejects(context.Background(), pool, run.ID, 10)
	if err != nil || len(rej) != 2 || rej[0].Key != "0000000003" || rej[0].Field != "von" {
		t.Fatalf("stored rejects: %+v %v", rej, err)
	}
	m.mu.Lock()
	delete(m.items, "zz-repeat")
	m.mu.Unlock()
	var von int64
	if err := pool.QueryRow(context.Background(), `SELECT von FROM data.reject_sync WHERE ma_so_thue = '0000000003'`).Scan(&von); err != nil || von != 3000 {
		t.Fatalf("the rejected item lost its previous state: von %d, %v", von, err)
	}
}

func TestSyncFailureLeavesWarehouseAsItWas(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	m, ep := newMemory(t, 50)
	addSource(t, pool, "fail-sync", ep, nil)
	mustSync(t, pool, "fail-sync")
	v1, _ := version(t, pool, "fail-sync")
	before := snapshot(t, pool, "fail_sync")

	m.set("0000000001", map[string]any{"ma_so_thue": "0000000001", "ten": "đổi", "von": 1})
	m.del("0000000002")
	m.failAt = 3
	run, err := Sync(ctx, pool, "fail-sync", RunOptions{})
	if err == nil || run.Status != "failed" || !strings.Contains(run.Error, "500") {
		t.Fatalf("a source failing mid-run: %+v, %v", run, err)
	}
	if v, _ := version(t, pool, "fail-sync"); v != v1 {
		t.Fatalf("a failed run moved the version")
	}
	if after := snapshot(t, pool, "fail_sync"); after != before {
		t.Fatal("a failed run changed the collection")
	}
	// The next run, the source healthy again, applies the changes once.
	m.failAt = 0
	run = mustSync(t, pool, "fail-sync")
	if run.Updated != 1 || run.Deleted != 1 {
		t.Fatalf("run after the failure: %+v", run)
	}
	equalSource(t, pool, "fail_sync", m)
}

func snapshot(t *testing.T, pool *pgxpool.Pool, table string) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), `SELECT md5(string_agg(t::text, ',' ORDER BY fid)) FROM data.`+table+` t`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSyncTimeLimitAndOneRunAtATime(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	m, ep := newMemory(t, 30)
	addSource(t, pool, "slow-sync", ep, func(s *Source) { s.TimeLimit = Duration(time.Second) })
	m.stall = 400 * time.Millisecond

	var wg sync.WaitGroup
	errs := make([]error, 2)
	runs := make([]*Run, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = Sync(ctx, pool, "slow-sync", RunOptions{})
		}()
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	if !errors.Is(errs[1], ErrRunning) {
		t.Fatalf("a second run of the same source started: %v", errs[1])
	}
	if !errors.Is(errs[0], ErrTimedOut) || runs[0].Status != "timed out" {
		t.Fatalf("a run over its time limit: %+v %v", runs[0], errs[0])
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('data.slow_sync') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("a timed-out first run left a table (%v)", err)
	}
	got, err := Get(ctx, pool, "slow-sync")
	if err != nil || got.LastRun.Status != "timed out" || got.LastSuccessAt != nil {
		t.Fatalf("source after timeout: %+v %v", got, err)
	}
}

func TestSyncWithdraw(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 10)
	addSource(t, pool, "withdraw-sync", ep, func(s *Source) { s.Deletions = "withdraw" })
	mustSync(t, pool, "withdraw-sync")
	gone := m.items["0000000005"]
	m.del("0000000005")
	if run := mustSync(t, pool, "withdraw-sync"); run.Updated != 1 || run.Deleted != 0 {
		t.Fatalf("withdrawing run: %+v", run)
	}
	var n int
	var withdrawn *time.Time
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `SELECT count(*), max(withdrawn_at) FROM data.withdraw_sync WHERE ma_so_thue = '0000000005'`).Scan(&n, &withdrawn); err != nil || n != 1 || withdrawn == nil {
		t.Fatalf("withdrawn item: %d %v %v", n, withdrawn, err)
	}
	if run := mustSync(t, pool, "withdraw-sync"); run.Status != "unchanged" {
		t.Fatalf("a withdrawn item is withdrawn again: %+v", run)
	}
	m.set("0000000005", gone)
	if run := mustSync(t, pool, "withdraw-sync"); run.Updated != 1 {
		t.Fatalf("an item back at the source: %+v", run)
	}
	if err := pool.QueryRow(ctx, `SELECT withdrawn_at FROM data.withdraw_sync WHERE ma_so_thue = '0000000005'`).Scan(&withdrawn); err != nil || withdrawn != nil {
		t.Fatalf("an item back at the source stays withdrawn: %v %v", withdrawn, err)
	}
}

func TestSyncFeedAppliesOnlyChanges(t *testing.T) {
	pool := testdb.Pool(t)
	m, ep := newMemory(t, 40)
	addSource(t, pool, "feed-sync", ep, nil)
	mustSync(t, pool, "feed-sync") // a complete first read
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `UPDATE sources SET detect = 'feed' WHERE id = 'feed-sync'`); err != nil {
		t.Fatal(err)
	}
	m.set("0000000011", map[string]any{"ma_so_thue": "0000000011", "ten": "đổi", "von": 11})
	m.set("0000000099", map[string]any{"ma_so_thue": "0000000099", "ten": "mới", "von": 99})
	m.del("0000000012")
	run := mustSync(t, pool, "feed-sync")
	if run.Read != 2 || run.Inserted != 1 || run.Updated != 1 || run.Deleted != 1 || run.CursorAfter == "" {
		t.Fatalf("feed run: %+v", run)
	}
	equalSource(t, pool, "feed_sync", m)
	// The feed replayed (a retry after a crash): the same result.
	if _, err := pool.Exec(ctx, `UPDATE sources SET cursor = NULL WHERE id = 'feed-sync'`); err != nil {
		t.Fatal(err)
	}
	if run := mustSync(t, pool, "feed-sync"); run.Status != "unchanged" {
		t.Fatalf("replayed feed: %+v", run)
	}
	equalSource(t, pool, "feed_sync", m)
}

// The review's cases: an item deleted and added again in one feed read stays; integer keys
// given as other texts ("07" for 7) match; a complete read with no items does not empty the
// collection; a watermark run that rejected rows keeps its cursor; an unchanged run leaves the
// registry's rows alone; one source per collection.
func TestSyncEdgeCases(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	m, ep := newMemory(t, 12)
	addSource(t, pool, "edge-sync", ep, nil)
	mustSync(t, pool, "edge-sync")
	xmin := func() (x string) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT xmin::text || (SELECT string_agg(xmin::text, ',') FROM layer_fields WHERE layer_id = 'edge-sync') FROM layers WHERE id = 'edge-sync'`).Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	before := xmin()
	if run := mustSync(t, pool, "edge-sync"); run.Status != "unchanged" {
		t.Fatalf("%+v", run)
	}
	if after := xmin(); after != before {
		t.Fatalf("an unchanged run rewrote the collection's definition (%s → %s)", before, after)
	}

	// One source per collection.
	err := Save(ctx, pool, &Source{ID: "edge-other", Entry: "dang-ky-doanh-nghiep", Collection: "edge-sync", ItemType: "record",
		Connector: "test-memory", Endpoint: ep, Key: "ma_so_thue"})
	if err == nil || !strings.Contains(err.Error(), "another source") {
		t.Fatalf("a second source of one collection: %v", err)
	}
	// The collection keeps its entry.
	err = Save(ctx, pool, &Source{ID: "edge-sync", Entry: "thi-truong-lao-dong", Collection: "edge-sync", ItemType: "record",
		Connector: "test-memory", Endpoint: ep, Key: "ma_so_thue"})
	if err == nil || !strings.Contains(err.Error(), "belongs to catalogue entry dang-ky-doanh-nghiep") {
		t.Fatalf("a source moving its collection to another entry: %v", err)
	}

	// An empty complete read is refused, unless the source says empty is right.
	saved := m.items
	m.mu.Lock()
	m.items = map[string]map[string]any{}
	m.mu.Unlock()
	if _, err := Sync(ctx, pool, "edge-sync", RunOptions{}); err == nil || !strings.Contains(err.Error(), "allow_empty") {
		t.Fatalf("an empty complete read: %v", err)
	}
	if v, _ := version(t, pool, "edge-sync"); v != 1 {
		t.Fatalf("the empty read changed the collection (version %d)", v)
	}
	m.mu.Lock()
	m.items = saved
	m.mu.Unlock()

	// Feed: an item deleted and added again in the same read stays.
	if _, err := pool.Exec(ctx, `UPDATE sources SET detect = 'feed' WHERE id = 'edge-sync'`); err != nil {
		t.Fatal(err)
	}
	m.del("0000000003")
	m.set("0000000003", map[string]any{"ma_so_thue": "0000000003", "ten": "lại có", "von": 3})
	if run := mustSync(t, pool, "edge-sync"); run.Deleted != 0 || run.Updated != 1 {
		t.Fatalf("deleted then added again: %+v", run)
	}
	equalSource(t, pool, "edge_sync", m)

	// A deleted item's fields are kept for the feed's row restrictions, its personal ones not.
	if _, err := pool.Exec(ctx, `UPDATE layer_fields SET personal = true, category = 'specific' WHERE layer_id = 'edge-sync' AND name = 'ten'`); err != nil {
		t.Fatal(err)
	}
	m.del("0000000004")
	if run := mustSync(t, pool, "edge-sync"); run.Deleted != 1 {
		t.Fatalf("deletion: %+v", run)
	}
	var old string
	if err := pool.QueryRow(ctx, `SELECT old::text FROM layer_changes WHERE layer_id = 'edge-sync' AND op = 'delete' AND key = '0000000004'`).Scan(&old); err != nil ||
		strings.Contains(old, "Công ty 4") || !strings.Contains(old, "10507") {
		t.Fatalf("kept fields of a deleted item: %s (%v)", old, err)
	}
}

func TestSyncIntegerKeysAndRejectedWatermark(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	m := &memory{items: map[string]map[string]any{}, changed: map[string]bool{}}
	for i := 1; i <= 9; i++ {
		m.items[fmt.Sprint(i)] = map[string]any{"so": i, "ten": fmt.Sprint("Trường ", i), "hoc_sinh": i * 10}
	}
	memories.Store("mem://int-keys", m)
	if err := Save(ctx, pool, &Source{ID: "int-keys", Entry: "truong-lop-hoc-sinh", Collection: "int-keys", ItemType: "record",
		Connector: "test-memory", Endpoint: "mem://int-keys", Key: "so"}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, pool, "int-keys")
	if _, err := pool.Exec(ctx, `UPDATE sources SET detect = 'feed' WHERE id = 'int-keys'`); err != nil {
		t.Fatal(err)
	}
	// The source names the deleted school "07", the collection holds the integer 7.
	m.mu.Lock()
	delete(m.items, "7")
	m.deleted = []string{"07", "not a number"}
	m.mu.Unlock()
	if run := mustSync(t, pool, "int-keys"); run.Deleted != 1 {
		t.Fatalf("a deletion by another text of the key: %+v", run)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM data.int_keys WHERE so = 7`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("school 7 still there (%v)", err)
	}

	// Watermark detection: a run that rejected a row keeps its cursor, so the row is read
	// again once fixed.
	if _, err := pool.Exec(ctx, `UPDATE sources SET detect = 'watermark', watermark_field = 'so', cursor = '5' WHERE id = 'int-keys'`); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.deleted = nil
	m.changed = map[string]bool{"8": true}
	m.items["8"] = map[string]any{"so": 8, "ten": "Trường 8", "hoc_sinh": "nhiều"}
	m.mu.Unlock()
	run := mustSync(t, pool, "int-keys")
	if run.Rejected != 1 || run.CursorAfter != "5" {
		t.Fatalf("a watermark run with a rejected row: %+v", run)
	}
	if src, _ := Get(ctx, pool, "int-keys"); src.Cursor != "5" {
		t.Fatalf("cursor moved past a rejected row: %q", src.Cursor)
	}
}
