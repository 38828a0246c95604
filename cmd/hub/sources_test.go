package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/sources"
)

// csvSource serves a CSV file as an agency's web server does: behind a bearer token, with an
// ETag, answering 304 to a request that holds the current one.
type csvSource struct {
	mu          sync.Mutex
	body        string
	notModified int
}

func (s *csvSource) set(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func (s *csvSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/broken.csv" {
		http.Error(w, "database down", http.StatusInternalServerError)
		return
	}
	if r.Header.Get("Authorization") != "Bearer file-t0ken" {
		http.Error(w, "who are you", http.StatusUnauthorized)
		return
	}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(s.body)))
	if r.Header.Get("If-None-Match") == etag {
		s.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "text/csv")
	fmt.Fprint(w, s.body)
}

// equalCSV asserts that the collection holds exactly the CSV's rows.
func equalCSV(t *testing.T, dbURL, table, body string) {
	t.Helper()
	want, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want = want[1:]
	slices.SortFunc(want, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	ctx := context.Background()
	pool, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, _ := pool.Query(ctx, `SELECT ma_so_thue::text, ten::text, von::text FROM data.`+table+` ORDER BY 1`)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		var k, ten, von string
		err := r.Scan(&k, &ten, &von)
		return []string{k, ten, von}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("the collection differs from the file:\n got %q\nwant %q", got, want)
	}
}

// TestSourcesCommands: a file source is added with its token read from the environment and a
// secret sealed, listed, run — the collection equals the file after an insert, an update and
// a deletion — and run again unchanged (the file answers 304); its runs are listed; it is
// paused and resumed; a failing source exits non-zero naming the failure; removing it leaves
// the collection. Nothing printed holds a credential.
func TestSourcesCommands(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	t.Setenv("HUB_SOURCE_TEST_FILE_TOKEN", "Bearer file-t0ken")
	t.Setenv("HUB_SECRET_KEY", "")
	runNoKey, _ := hubOn(t, bin, dbURL)
	t.Setenv("HUB_SECRET_KEY", "the hub's test key")
	run, hub := hubOn(t, bin, dbURL)

	src := &csvSource{body: "ma_so_thue,ten,von\n0801000001,Công ty A,100\n0801000002,Công ty B,200\n0801000003,Công ty C,300\n"}
	srv := httptest.NewServer(src)
	defer srv.Close()
	add := []string{"sources", "add", "doanh-nghiep-tep", "--entry", "dang-ky-doanh-nghiep", "--collection", "doanh-nghiep-tep",
		"--records", "--connector", "file", "--endpoint", srv.URL + "/doanh-nghiep.csv", "--header", "Authorization=env:HUB_SOURCE_TEST_FILE_TOKEN",
		"--secret", "cli-s3cret", "--key", "ma_so_thue", "--schedule", "0 2 * * *", "--title", "Doanh nghiệp (tệp)"}

	// A secret in clear needs the hub's key.
	if out, err := runNoKey(add...); err == nil || !strings.Contains(out, "HUB_SECRET_KEY") || strings.Contains(out, "cli-s3cret") {
		t.Fatalf("add without HUB_SECRET_KEY: %v %s", err, out)
	}
	out := hub(add...)
	if !strings.Contains(out, "Đã thêm nguồn doanh-nghiep-tep — source doanh-nghiep-tep added") {
		t.Fatalf("add: %s", out)
	}
	// Bad input is refused, naming what is wrong.
	if out, err := run("sources", "add", "bad-source", "--entry", "dang-ky-doanh-nghiep", "--collection", "bad-source",
		"--connector", "file", "--endpoint", srv.URL+"/x.csv", "--detect", "guess"); err == nil ||
		!strings.Contains(out, "key: name the source field") || !strings.Contains(out, `change detection "guess"`) {
		t.Fatalf("a bad source: %v %s", err, out)
	}

	out = hub("sources", "list")
	if !strings.Contains(out, "doanh-nghiep-tep") || !strings.Contains(out, "file") || !strings.Contains(out, "0 2 * * *") ||
		strings.Contains(out, "bad-source") {
		t.Fatalf("list: %s", out)
	}
	out = hub("sources", "show", "doanh-nghiep-tep")
	if !strings.Contains(out, `"Authorization": "env:HUB_SOURCE_TEST_FILE_TOKEN"`) || !strings.Contains(out, `"secret": "(encrypted)"`) ||
		!strings.Contains(out, `"records": "true"`) || strings.Contains(out, "cli-s3cret") || strings.Contains(out, "enc:") {
		t.Fatalf("show: %s", out)
	}

	out = hub("sources", "run", "doanh-nghiep-tep")
	if !strings.Contains(out, "succeeded") || !strings.Contains(out, "read 3, inserted 3, updated 0, deleted 0") || !strings.Contains(out, "data version") {
		t.Fatalf("first run: %s", out)
	}
	equalCSV(t, dbURL, "doanh_nghiep_tep", src.body)

	// One inserted, one updated, one deleted.
	src.set("ma_so_thue,ten,von\n0801000001,Công ty A,100\n0801000002,Công ty B (đổi tên),250\n0801000004,Công ty D,400\n")
	out = hub("sources", "run", "doanh-nghiep-tep")
	if !strings.Contains(out, "succeeded") || !strings.Contains(out, "read 3, inserted 1, updated 1, deleted 1, unchanged 1") {
		t.Fatalf("second run: %s", out)
	}
	equalCSV(t, dbURL, "doanh_nghiep_tep", src.body)

	out = hub("sources", "run", "doanh-nghiep-tep")
	if !strings.Contains(out, "không thay đổi — source doanh-nghiep-tep: unchanged") || src.notModified != 1 {
		t.Fatalf("third run (%d answers 304): %s", src.notModified, out)
	}
	equalCSV(t, dbURL, "doanh_nghiep_tep", src.body)

	out = hub("sources", "runs", "doanh-nghiep-tep")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || !strings.Contains(lines[1], "unchanged") ||
		!strings.Contains(lines[3], "succeeded") || !strings.Contains(lines[1], "manual") {
		t.Fatalf("runs: %s", out)
	}
	if out := hub("sources", "runs", "doanh-nghiep-tep", "--limit", "1"); strings.Count(strings.TrimSpace(out), "\n") != 1 {
		t.Fatalf("runs --limit 1: %s", out)
	}
	out = hub("sources", "list", "--collection", "doanh-nghiep-tep")
	if !strings.Contains(out, "unchanged") || strings.Contains(out, "paused") {
		t.Fatalf("list after the runs: %s", out)
	}

	hub("sources", "pause", "doanh-nghiep-tep")
	if out := hub("sources", "list"); !strings.Contains(out, "paused") {
		t.Fatalf("list after pause: %s", out)
	}
	// Replacing the definition keeps the source paused.
	hub(append(add, "--attempts", "5")...)
	if out := hub("sources", "show", "doanh-nghiep-tep"); !strings.Contains(out, `"paused": true`) || !strings.Contains(out, `"maxAttempts": 5`) {
		t.Fatalf("replaced source: %s", out)
	}
	hub("sources", "resume", "doanh-nghiep-tep")
	if out := hub("sources", "show", "doanh-nghiep-tep"); !strings.Contains(out, `"paused": false`) {
		t.Fatalf("after resume: %s", out)
	}

	// A source whose server fails: the command fails, saying so.
	hub("sources", "add", "tep-hong", "--entry", "dang-ky-doanh-nghiep", "--collection", "tep-hong", "--records",
		"--connector", "file", "--endpoint", srv.URL+"/broken.csv", "--key", "ma_so_thue")
	out, err := run("sources", "run", "tep-hong")
	if err == nil || !strings.Contains(out, "failed") || !strings.Contains(out, "500") || !strings.Contains(out, "thất bại") {
		t.Fatalf("a failing source: %v %s", err, out)
	}
	if out := hub("sources", "runs", "tep-hong"); !strings.Contains(out, "failed") || !strings.Contains(out, "500 Internal Server Error") {
		t.Fatalf("runs of a failing source: %s", out)
	}
	if out, err := run("sources", "run", "no-such-source"); err == nil || !strings.Contains(out, "no source") {
		t.Fatalf("run of nothing: %v %s", err, out)
	}

	hub("sources", "remove", "doanh-nghiep-tep")
	if out, err := run("sources", "show", "doanh-nghiep-tep"); err == nil || !strings.Contains(out, "no source") {
		t.Fatalf("show after remove: %v %s", err, out)
	}
	equalCSV(t, dbURL, "doanh_nghiep_tep", src.body)

	// Each change was logged, by the operator on the command line.
	ctx := context.Background()
	pool, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, _ := pool.Query(ctx, `SELECT operation FROM audit_log WHERE operation LIKE 'sources.%' AND principal = 'admin' ORDER BY seq`)
	ops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sources.add", "sources.run", "sources.run", "sources.run", "sources.pause", "sources.add", "sources.resume", "sources.add", "sources.delete"}
	if !slices.Equal(ops, want) {
		t.Errorf("audit records %v, want %v", ops, want)
	}
}

// TestSourcesSecretFromStdin: "--secret -" takes the secret from standard input (out of the
// process list and the shell's history) and stores it sealed.
func TestSourcesSecretFromStdin(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	t.Setenv("HUB_SECRET_KEY", "the hub's test key")
	c := exec.Command(bin, "sources", "add", "stdin-secret", "--entry", "dang-ky-doanh-nghiep", "--collection", "stdin-secret",
		"--records", "--connector", "postgres", "--endpoint", "postgres://agency@127.0.0.1:5432/agency", "--option", "table=t",
		"--key", "ma", "--secret", "-")
	c.Env = append(os.Environ(), "HUB_DATABASE_URL="+dbURL)
	c.Stdin = strings.NewReader("pg-s3cret-from-stdin\n")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("add with --secret -: %v %s", err, out)
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var stored string
	if err := pool.QueryRow(context.Background(), `SELECT secret FROM sources WHERE id = 'stdin-secret'`).Scan(&stored); err != nil ||
		!strings.HasPrefix(stored, "enc:") || strings.Contains(stored, "s3cret") {
		t.Fatalf("stored secret %q (%v)", stored, err)
	}
	src, err := sources.Get(context.Background(), pool, "stdin-secret")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := sources.Reveal(src.Secret); err != nil || v != "pg-s3cret-from-stdin" {
		t.Fatalf("revealed %q (%v)", v, err)
	}
}
