package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haiduong/hub/internal/testaccess"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/sources"
)

// agencyAPI is an agency's REST API of enterprises, paged by offset, whose data the test edits.
type agencyAPI struct {
	mu    sync.Mutex
	items map[string]map[string]any
}

func (a *agencyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.items))
	for k := range a.items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	lim, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	page := []map[string]any{}
	for i := off; i < len(keys) && i < off+lim; i++ {
		page = append(page, a.items[keys[i]])
	}
	json.NewEncoder(w).Encode(map[string]any{"data": page})
}

func (a *agencyAPI) set(k, name string, von int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.items[k] = map[string]any{"ma_so_thue": k, "ten": name, "von": von}
}

func (a *agencyAPI) del(k string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.items, k)
}

type feedPage struct {
	Since       int64 `json:"since"`
	DataVersion int64 `json:"dataVersion"`
	Features    []struct {
		ID         any            `json:"id"`
		Change     string         `json:"change"`
		Properties map[string]any `json:"properties"`
	} `json:"features"`
	Links []struct{ Rel, Href string } `json:"links"`
	Code  string                       `json:"code"`
	Desc  string                       `json:"description"`
}

func feed(t *testing.T, url string, headers map[string]string) (int, feedPage) {
	t.Helper()
	r := do(t, "GET", url, headers, "")
	var p feedPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%s: %d %s", url, r.status, r.body)
	}
	return r.status, p
}

func table(t *testing.T, name string) []string {
	t.Helper()
	rows, err := testdb.Pool(t).Query(context.Background(), `SELECT ma_so_thue || '|' || ten || '|' || von FROM data.`+name+` ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestChangeFeed: a collection synchronised from an agency's API tells consumers what changed
// since a version, under the access policy, in pages; another hub follows it with the hub
// connector and keeps an exact copy.
func TestChangeFeed(t *testing.T) {
	srv := newServer(t)
	pool := testdb.Pool(t)
	ctx := context.Background()
	api := &agencyAPI{items: map[string]map[string]any{}}
	for i := 1; i <= 12; i++ {
		api.set(fmt.Sprintf("08000000%02d", i), fmt.Sprintf("Công ty TNHH số %d", i), i*100)
	}
	origin := httptest.NewServer(api)
	defer origin.Close()
	save := func(s *sources.Source) {
		t.Helper()
		if err := sources.Save(ctx, pool, s); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(id string) *sources.Run {
		t.Helper()
		run, err := sources.Sync(ctx, pool, id, sources.RunOptions{})
		if err != nil {
			t.Fatalf("sync %s: %v", id, err)
		}
		return run
	}
	save(&sources.Source{ID: "dn-goc", Entry: "dang-ky-doanh-nghiep", Collection: "dn-goc", ItemType: "record",
		Connector: "rest", Endpoint: origin.URL + "/doanh-nghiep", Key: "ma_so_thue",
		Options: map[string]string{"items_path": "data", "paging": "offset", "page_size": "5"}})
	sync("dn-goc")

	key := testaccess.Connected(t, pool)
	auth := map[string]string{"Authorization": "Bearer " + key}
	url := srv.URL + "/collections/dn-goc/changes"
	deadline := time.Now().Add(3 * time.Second)
	for get(t, srv.URL+"/collections/dn-goc").status != 200 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the registry hears of the new collection
	}

	// Shared by default: an anonymous caller is told what would grant it.
	if st, p := feed(t, url+"?since=0", nil); st != 401 || !strings.Contains(p.Desc, "dang-ky-doanh-nghiep") {
		t.Fatalf("anonymous feed: %d %+v", st, p)
	}
	// Before the first sync's full load the feed sends the consumer to the items.
	st, p := feed(t, url+"?since=0", auth)
	if st != 410 || p.DataVersion != 1 || !strings.Contains(p.Desc, "/collections/dn-goc/items") {
		t.Fatalf("feed before the full load: %d %+v", st, p)
	}
	if st, p := feed(t, url+"?since=1", auth); st != 200 || len(p.Features) != 0 || p.DataVersion != 1 {
		t.Fatalf("feed with nothing new: %d %+v", st, p)
	}
	before := time.Now()
	time.Sleep(10 * time.Millisecond)

	api.set("0800000013", "Công ty mới", 1300)
	api.set("0800000002", "Công ty TNHH số 2 (đổi tên)", 200)
	api.del("0800000005")
	if run := sync("dn-goc"); run.Inserted != 1 || run.Updated != 1 || run.Deleted != 1 {
		t.Fatalf("origin sync: %+v", run)
	}
	// The three changes, one a page, the pages bounded by the first one's version.
	got := map[string]string{}
	next := url + "?since=1&limit=1"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("the feed's pages do not end")
		}
		st, p := feed(t, next, auth)
		if st != 200 || p.DataVersion != 2 || len(p.Features) > 1 {
			t.Fatalf("feed page: %d %+v", st, p)
		}
		next = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				next = l.Href
			}
		}
		for _, f := range p.Features {
			got[fmt.Sprint(f.ID)] = f.Change
			// Every change names the item by its key: a deletion too, as its one property.
			if f.Properties["ma_so_thue"] != f.ID || f.Change == "delete" && len(f.Properties) != 1 {
				t.Errorf("changed item without its key or current state: %+v", f)
			}
		}
	}
	want := map[string]string{"0800000013": "insert", "0800000002": "update", "0800000005": "delete"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes since 1: %v; want %v", got, want)
	}
	// A time is the version the collection had then.
	if st, p := feed(t, url+"?since="+before.UTC().Format(time.RFC3339Nano), auth); st != 200 || len(p.Features) != 3 {
		t.Fatalf("feed since a time: %d %+v", st, p)
	}
	if st, p := feed(t, url+"?since=yesterday", auth); st != 400 || !strings.Contains(p.Desc, "since") {
		t.Fatalf("a bad since: %d %+v", st, p)
	}
	// A version the collection has not reached: its copy is of another collection of that name.
	if st, p := feed(t, url+"?since=99", auth); st != 410 || p.DataVersion != 2 || !strings.Contains(p.Desc, "made anew") {
		t.Fatalf("since ahead of the collection: %d %+v", st, p)
	}
	// Every answer that disclosed default data is in the audit log.
	var logged int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE operation = 'changes' AND collection = 'dn-goc' AND status = 200`).Scan(&logged); err != nil || logged < 5 {
		t.Fatalf("feed answers logged: %d (%v)", logged, err)
	}

	// Another hub (here the same one, into another collection) follows the feed.
	t.Setenv("HUB_SOURCE_TEST_HUB_KEY", "Bearer "+key)
	save(&sources.Source{ID: "dn-ban-sao", Entry: "dang-ky-doanh-nghiep", Collection: "dn-ban-sao", ItemType: "record",
		Connector: "hub", Endpoint: srv.URL + "/collections/dn-goc", Key: "ma_so_thue", Detect: "feed",
		Headers: map[string]string{"Authorization": "env:HUB_SOURCE_TEST_HUB_KEY"}})
	if run := sync("dn-ban-sao"); run.Inserted != 12 || run.CursorAfter != "2" {
		t.Fatalf("copy's first sync: %+v", run)
	}
	if a, b := table(t, "dn_goc"), table(t, "dn_ban_sao"); !slices.Equal(a, b) {
		t.Fatalf("copy differs:\n%v\n%v", a, b)
	}
	api.set("0800000014", "Công ty thứ 14", 1400)
	api.set("0800000003", "Công ty TNHH số 3 (đổi vốn)", 333)
	api.del("0800000013")
	sync("dn-goc")
	if run := sync("dn-ban-sao"); run.Read != 2 || run.Inserted != 1 || run.Updated != 1 || run.Deleted != 1 || run.CursorAfter != "3" {
		t.Fatalf("copy's feed sync: %+v", run)
	}
	if a, b := table(t, "dn_goc"), table(t, "dn_ban_sao"); !slices.Equal(a, b) {
		t.Fatalf("copy differs after the feed:\n%v\n%v", a, b)
	}
	if run := sync("dn-ban-sao"); run.Status != "unchanged" {
		t.Fatalf("copy with nothing new: %+v", run)
	}

	// The catalogue shows the entry's connections and their freshness.
	r := get(t, srv.URL+"/catalog/dang-ky-doanh-nghiep")
	var e struct {
		Connection struct {
			Sources []struct {
				Source, Status string
				LastSuccess    *time.Time
			}
		}
	}
	if err := json.Unmarshal(r.body, &e); err != nil || len(e.Connection.Sources) != 2 || e.Connection.Sources[1].Status != "succeeded" ||
		e.Connection.Sources[1].LastSuccess == nil {
		t.Fatalf("catalogue entry's sources: %s", r.body)
	}
	if r := get(t, srv.URL+"/catalog/dang-ky-doanh-nghiep?f=html"); !strings.Contains(string(r.body), "Đồng bộ từ nguồn") ||
		!strings.Contains(string(r.body), "dn-ban-sao (hub)") {
		t.Fatalf("the portal's entry page lacks its sources")
	}
	// A failing source shows on /health.
	origin.Close()
	if _, err := sources.Sync(ctx, pool, "dn-goc", sources.RunOptions{}); err == nil {
		t.Fatal("a sync of a stopped source succeeded")
	}
	var h struct {
		Sources struct {
			Status  string
			Failing []string
		}
	}
	if r := get(t, srv.URL+"/health"); json.Unmarshal(r.body, &h) != nil || h.Sources.Status != "failing" || !slices.Contains(h.Sources.Failing, "dn-goc") {
		t.Fatalf("health with a failing source: %s", r.body)
	}
	if r := get(t, srv.URL+"/metrics"); !strings.Contains(string(r.body), `hub_sync_failing{source="dn-goc"} 1`) ||
		!strings.Contains(string(r.body), `hub_sync_runs_total{source="dn-ban-sao",status="succeeded"} 2`) {
		t.Fatalf("metrics lack the sources' state")
	}
}
