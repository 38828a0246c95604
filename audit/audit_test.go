package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// fresh opens a pool on a new migrated database of the test's own, so that seq starts at 1.
func fresh(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	u := testdb.Fresh(t)
	return open(t, u), u
}

func open(t testing.TB, u string) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func start(t testing.TB, pool *pgxpool.Pool, opts audit.Options) *audit.Log {
	t.Helper()
	l := audit.New(pool, opts)
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func rec(i int) audit.Record {
	n := int64(i % 7)
	return audit.Record{Principal: "agency:so-tai-chinh", CredentialID: "k_" + strconv.Itoa(i%3), EntryID: "dan-cu",
		Collection: "residents", Operation: "items", Query: "/collections/residents/items?limit=" + strconv.Itoa(i),
		Rows: &n, Status: 200}
}

// fill records n records from 16 goroutines.
func fill(t testing.TB, l *audit.Log, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				if err := l.Record(context.Background(), rec(i)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d records failed", failed.Load())
	}
}

func count(t testing.TB, pool *pgxpool.Pool) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// canonical is the package documentation's encoding, written again from the documentation: if
// the code and its documentation part ways, this test says so.
func canonical(prev []byte, r audit.Record) []byte {
	var b []byte
	b = append(b, prev...)
	put := func(v string, null bool) {
		if null {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	put("hub-audit-v1", false)
	put(strconv.FormatInt(r.Seq, 10), false)
	put(r.At.UTC().Format(time.RFC3339Nano), false)
	put(r.Principal, false)
	put(r.CredentialID, r.CredentialID == "")
	put(r.Application, r.Application == "")
	put(r.EntryID, r.EntryID == "")
	put(r.Collection, r.Collection == "")
	put(r.Operation, false)
	put(r.Query, r.Query == "")
	if r.Rows == nil {
		put("", true)
	} else {
		put(strconv.FormatInt(*r.Rows, 10), false)
	}
	put(strconv.Itoa(r.Status), r.Status == 0)
	put(r.ResponseDigest, r.ResponseDigest == "")
	sum := sha256.Sum256(b)
	return sum[:]
}

func TestRecordsChainAndVerify(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	l := start(t, pool, audit.Options{})

	at := time.Date(2025, 3, 1, 15, 4, 5, 123456789, time.FixedZone("ICT", 7*3600))
	digest := fmt.Sprintf("%x", sha256.Sum256([]byte("body")))
	in := []audit.Record{
		{At: at, Principal: "agency:so-tai-chinh", CredentialID: "hk_3f9a", Application: "thue-dien-tu",
			EntryID: "dang-ky-doanh-nghiep", Collection: "enterprises", Operation: "items",
			Query: "/collections/enterprises/items?key=hk_3f9a.SECRET&limit=10", Rows: new(int64(10)), Status: 200, ResponseDigest: digest},
		{Principal: "anonymous", Operation: "tiles", Collection: "land-parcels", Query: "/tiles/15/1/2?KEY=s3cret", Status: 403},
		{Principal: "admin", Operation: "keys.create", Rows: new(int64(0))},
	}
	for _, r := range in {
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := audit.Query(ctx, pool, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d records, want %d", len(out), len(in))
	}
	prev := make([]byte, 32)
	for i, r := range out {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d has seq %d", i, r.Seq)
		}
		if !bytes.Equal(r.PrevHash, prev) {
			t.Errorf("seq %d: prev_hash %x, want %x", r.Seq, r.PrevHash, prev)
		}
		if want := canonical(prev, r); !bytes.Equal(r.Hash, want) {
			t.Errorf("seq %d: hash %x, the documented encoding gives %x", r.Seq, r.Hash, want)
		}
		prev = r.Hash
		if strings.Contains(strings.ToLower(r.Query), "secret") {
			t.Errorf("seq %d stored a secret: %q", r.Seq, r.Query)
		}
	}
	got := out[0]
	if !got.At.Equal(at.Truncate(time.Microsecond)) || got.Principal != in[0].Principal || got.CredentialID != "hk_3f9a" ||
		got.Application != "thue-dien-tu" || got.EntryID != "dang-ky-doanh-nghiep" || got.Collection != "enterprises" ||
		got.Operation != "items" || got.Query != "/collections/enterprises/items?limit=10" || got.Rows == nil || *got.Rows != 10 ||
		got.Status != 200 || got.ResponseDigest != digest {
		t.Errorf("record 1 read back as %+v", got)
	}
	if out[1].Query != "/tiles/15/1/2" || out[1].Rows != nil || out[2].Status != 0 || out[2].Query != "" {
		t.Errorf("records 2 and 3 read back as %+v, %+v", out[1], out[2])
	}

	res, err := audit.Verify(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if res.Broken != nil || res.Records != 3 || res.Intact != 3 || res.LastSeq != 3 || !bytes.Equal(res.LastHash, out[2].Hash) {
		t.Errorf("verify: %+v, want 3 intact records ending with %x", res, out[2].Hash)
	}
}

func TestEmptyLogVerifies(t *testing.T) {
	res, err := audit.Verify(context.Background(), testdb.Pool(t)) // every other test has its own database
	if err != nil || res.Broken != nil || res.Records != 0 {
		t.Errorf("verify of an empty log: %+v, %v", res, err)
	}
}

// Two Logs on two pools stand for two hub processes writing at once.
func TestConcurrentWritersAreGapless(t *testing.T) {
	ctx := context.Background()
	pool, u := fresh(t)
	logs := []*audit.Log{start(t, pool, audit.Options{}), start(t, open(t, u), audit.Options{})}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range 16 { // 8 callers on each Log
		wg.Go(func() {
			for i := range 500 {
				r := rec(i)
				r.Query = fmt.Sprintf("/g%d/%d", g, i)
				if err := logs[g%2].Record(ctx, r); err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	var n, distinct, lo, hi int64
	err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT query), min(seq), max(seq) FROM audit_log`).Scan(&n, &distinct, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8000 || distinct != 8000 || lo != 1 || hi != 8000 {
		t.Errorf("%d records (%d distinct), seq %d..%d; want 8000, seq 1..8000", n, distinct, lo, hi)
	}
	res, err := audit.Verify(ctx, pool)
	if err != nil || res.Broken != nil || res.Intact != 8000 {
		t.Errorf("verify: %+v, %v", res, err)
	}
}

func TestAppendOnlyInTheDatabase(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	fill(t, start(t, pool, audit.Options{}), 3)
	for _, stmt := range []string{
		`UPDATE audit_log SET principal = 'someone-else' WHERE seq = 2`,
		`DELETE FROM audit_log WHERE seq = 2`,
		`TRUNCATE audit_log`,
	} {
		for _, replica := range []bool{false, true} {
			// The test's user owns the table and is a superuser; session_replication_role =
			// replica is the usual way to skip triggers.
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if replica {
				if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
					t.Fatal(err)
				}
			}
			_, err = tx.Exec(ctx, stmt)
			tx.Rollback(ctx)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s (replica %v): %v, want refused as append-only", stmt, replica, err)
			}
		}
	}
	if n := count(t, pool); n != 3 {
		t.Errorf("%d records left, want 3", n)
	}
}

// tamper runs stmts with the log's triggers disabled, as a superuser could.
func tamper(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	stmts = append([]string{`ALTER TABLE audit_log DISABLE TRIGGER ALL`}, stmts...)
	stmts = append(stmts, `ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_change`,
		`ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate`)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	fill(t, start(t, pool, audit.Options{}), 1500)
	recs, err := audit.Query(ctx, pool, audit.Filter{AfterSeq: 1233, Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	// A forger who changes record 1234 and gives it the hash of its new fields.
	forged := recs[0]
	forged.Principal = "anonymous"
	forgedHash := canonical(forged.PrevHash, forged)
	// Each case is undone from this copy before the next.
	if _, err := pool.Exec(ctx, `CREATE TABLE saved AS SELECT * FROM audit_log WHERE seq IN (1234, 1235)`); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name    string
		stmt    string
		seq     int64
		problem audit.Problem
	}{
		{"field changed", `UPDATE audit_log SET principal = 'anonymous' WHERE seq = 1234`, 1234, audit.HashMismatch},
		{"rows changed", `UPDATE audit_log SET rows = rows + 1 WHERE seq = 1234`, 1234, audit.HashMismatch},
		{"NULL made empty", `UPDATE audit_log SET application = '' WHERE seq = 1234`, 1234, audit.HashMismatch},
		{"time changed", `UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 1234`, 1234, audit.HashMismatch},
		{"middle record deleted", `DELETE FROM audit_log WHERE seq = 1234`, 1234, audit.MissingSeq},
		{"record rewritten with a matching hash",
			fmt.Sprintf(`UPDATE audit_log SET principal = 'anonymous', hash = '\x%x' WHERE seq = 1234`, forgedHash), 1235, audit.PrevHashMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			tamper(t, pool, c.stmt)
			res, err := audit.Verify(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			if res.Broken == nil || res.Broken.Seq != c.seq || res.Broken.Problem != c.problem {
				t.Errorf("verify: %+v, broken %v; want %s at seq %d", res, res.Broken, c.problem, c.seq)
			} else if res.Intact != c.seq-1 {
				t.Errorf("%d intact records, want %d", res.Intact, c.seq-1)
			}
			t.Log(res.Broken)

			tamper(t, pool, `DELETE FROM audit_log WHERE seq IN (1234, 1235)`, `INSERT INTO audit_log SELECT * FROM saved`)
			if res, err := audit.Verify(ctx, pool); err != nil || res.Broken != nil || res.Intact != 1500 {
				t.Fatalf("after undoing: %+v, %v", res, err)
			}
		})
	}
}

func TestFullQueueBlocksThenFails(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	l := start(t, pool, audit.Options{Queue: 10, Batch: 5})

	// Holding the writers' advisory lock stalls the writer as a slow database would.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7240047)`); err != nil {
		t.Fatal(err)
	}
	const callers, timeout = 100, 300 * time.Millisecond
	var wg sync.WaitGroup
	var nils, timedOut atomic.Int64
	began := time.Now()
	for i := range callers {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := l.Record(cctx, rec(i))
			switch {
			case err == nil:
				nils.Add(1)
			case errors.Is(err, audit.ErrUnavailable) && errors.Is(err, context.DeadlineExceeded):
				timedOut.Add(1)
				if d := time.Since(began); d < timeout {
					t.Errorf("failed after %v without waiting for room", d)
				}
			default:
				t.Errorf("Record: %v, want unavailable after the deadline", err)
			}
		})
	}
	time.Sleep(2 * timeout)
	// At most one batch in the writer's hands and a full queue are waiting; everyone else
	// waited for room until the deadline and was told no.
	if n := timedOut.Load(); n < callers-15 || n > callers-11 || nils.Load() != 0 {
		t.Errorf("with the writer stalled: %d timed out, %d succeeded; want 85..89 and 0", n, nils.Load())
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(7240047)`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := count(t, pool); nils.Load() != n || nils.Load()+timedOut.Load() != callers {
		t.Errorf("%d committed, %d nil returns, %d errors: every nil must be a committed record", n, nils.Load(), timedOut.Load())
	}
}

func TestDatabaseFailureIsAnError(t *testing.T) {
	ctx := context.Background()

	t.Run("database dropped", func(t *testing.T) {
		pool, u := fresh(t)
		l := start(t, pool, audit.Options{Timeout: 5 * time.Second})
		if err := l.Record(ctx, rec(1)); err != nil {
			t.Fatal(err)
		}
		p, _ := url.Parse(u)
		admin, err := pgx.Connect(ctx, testdb.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `DROP DATABASE `+pgx.Identifier{strings.TrimPrefix(p.Path, "/")}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := l.Record(ctx, rec(i)); !errors.Is(err, audit.ErrUnavailable) {
					t.Errorf("Record on a dropped database: %v, want ErrUnavailable", err)
				}
			})
		}
		wg.Wait()
	})

	t.Run("pool closed", func(t *testing.T) {
		_, u := fresh(t)
		pool, err := database.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		l := start(t, pool, audit.Options{})
		pool.Close()
		if err := l.Record(ctx, rec(1)); !errors.Is(err, audit.ErrUnavailable) {
			t.Errorf("Record on a closed pool: %v, want ErrUnavailable", err)
		}
	})

	t.Run("not migrated", func(t *testing.T) {
		pool := open(t, testdb.Empty(t))
		if err := audit.New(pool, audit.Options{}).Start(ctx); err == nil || !strings.Contains(err.Error(), "hub migrate") {
			t.Errorf("Start without audit_log: %v, want a hint to migrate", err)
		}
	})
}

func TestCloseFlushesAndRefusesLater(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	l := audit.New(pool, audit.Options{Wait: 50 * time.Millisecond})
	if err := l.Record(ctx, rec(0)); !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("Record before Start: %v", err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var nils atomic.Int64
	for i := range 200 {
		wg.Go(func() {
			if l.Record(ctx, rec(i)) == nil {
				nils.Add(1)
			}
		})
	}
	time.Sleep(10 * time.Millisecond) // most are queued, the writer lingers
	l.Close()
	wg.Wait()
	if n := count(t, pool); n != nils.Load() || n == 0 {
		t.Errorf("%d committed, %d nil returns", n, nils.Load())
	}
	if err := l.Record(ctx, rec(0)); !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("Record after Close: %v", err)
	}
	l.Close() // twice is harmless
}

func TestQueryFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	l := start(t, pool, audit.Options{})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		r := rec(i)
		r.At = t0.Add(time.Duration(i) * time.Hour)
		r.Principal = "agency:" + strconv.Itoa(i%2)
		r.EntryID = []string{"dan-cu", "dat-dai", "ho-tich"}[i%3]
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var pages [][]int64
	for after := int64(0); ; {
		recs, err := audit.Query(ctx, pool, audit.Filter{Entry: "dan-cu", Limit: 4, AfterSeq: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		var seqs []int64
		for _, r := range recs {
			seqs = append(seqs, r.Seq)
		}
		pages = append(pages, seqs)
		after = recs[len(recs)-1].Seq
	}
	if got := fmt.Sprint(pages); got != "[[1 4 7 10] [13 16 19 22] [25 28]]" {
		t.Errorf("dan-cu pages: %s", got)
	}
	recs, err := audit.Query(ctx, pool, audit.Filter{Principal: "agency:1", Collection: "residents", From: t0.Add(10 * time.Hour), To: t0.Add(15 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if got := fmt.Sprint(seqs); got != "[12 14]" {
		t.Errorf("agency:1 between hours 10 and 15: %s, want [12 14] (To is exclusive)", got)
	}
}

func TestStripCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"/collections/x/items":                        "/collections/x/items",
		"/collections/x/items?key=abc":                "/collections/x/items",
		"/collections/x/items?limit=5&key=abc&f=json": "/collections/x/items?limit=5&f=json",
		"/x?key=abc&limit=5":                          "/x?limit=5",
		"/x?limit=5&key=abc":                          "/x?limit=5",
		"/x?KEY=abc&Api_Key=d&access_token=e":         "/x",
		"/x?k%65y=abc&a=1":                            "/x?a=1",
		"/x?a=1;key=abc":                              "/x?a=1",
		"/x?monkey=1&keyword=2&key":                   "/x?monkey=1&keyword=2",
		"/x?filter=name%3D%27key%3Dx%27":              "/x?filter=name%3D%27key%3Dx%27",
		"/x?":                                         "/x",
	} {
		if got := audit.StripCredentials(in); got != want {
			t.Errorf("StripCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
