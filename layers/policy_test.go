package layers_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// openEntry is a catalogue entry shared as open data (#2, the provincial web portal): a
// collection without a category of its own is open through it.
const openEntry = "cong-thong-tin-dien-tu-tinh"

// makeCollection registers (or resets) a record collection of the open entry: code and name
// without a category of their own, citizen_id personal and shared by agreement only.
func makeCollection(t *testing.T, pool *pgxpool.Pool, id string) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	l := &layers.Layer{ID: id, Title: "Thử chính sách", EntryID: openEntry, ItemType: layers.Record,
		Table: strings.ReplaceAll(id, "-", "_"), IDColumn: "fid", MaxZoom: 22,
		Fields: []layers.Field{
			{Name: "code", Type: "string"},
			{Name: "name", Type: "string"},
			{Name: "citizen_id", Type: "string", Category: layers.Specific, Personal: true},
		}}
	if err := layers.Save(ctx, tx, l, ""); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func str(s string) *string { return &s }
func yes() *bool           { b := true; return &b }
func no() *bool            { b := false; return &b }

// state is a collection's policy as the registry computes it: its categories, then each field's
// effective category, "+personal" for personal ones.
func state(t *testing.T, pool *pgxpool.Pool, id string) (string, int64) {
	t.Helper()
	l, err := layers.LoadOne(context.Background(), pool, id)
	if err != nil || l == nil {
		t.Fatalf("load %s: %v %v", id, l, err)
	}
	s := strings.Join(l.Categories, ",")
	for _, f := range l.Fields {
		s += " " + f.Name + "=" + f.Category
		if f.Personal {
			s += "+personal"
		}
	}
	return s, l.DataVersion
}

func TestSetPolicy(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	const id = "policy-steps"
	makeCollection(t, pool, id)
	// Steps on one collection, in order: each either changes the state to want or is refused
	// naming refused (and then changes nothing).
	steps := []struct {
		name    string
		p       layers.Policy
		refused string // a part of the refusal; "" when the change is made
		want    string
	}{
		{"nothing to change", layers.Policy{}, "nothing to change", ""},
		{"bad collection category", layers.Policy{Category: str("public")}, `"public" is not a sharing category`, ""},
		{"bad field category", layers.Policy{Fields: map[string]layers.FieldPolicy{"name": {Category: str("secret")}}}, "fields.name.category", ""},
		{"unknown field", layers.Policy{Fields: map[string]layers.FieldPolicy{"no_such": {Personal: yes()}}}, `no field "no_such"`, ""},
		{"field without a change", layers.Policy{Fields: map[string]layers.FieldPolicy{"name": {}}}, "nothing to change", ""},
		{"personal field made open", layers.Policy{Fields: map[string]layers.FieldPolicy{"citizen_id": {Category: str("open")}}},
			"citizen_id holds personal data, which is never open", ""},
		{"personal field inheriting the entry's open", layers.Policy{Fields: map[string]layers.FieldPolicy{"citizen_id": {Category: str("inherit")}}},
			`inherit open sharing from catalogue entry "` + openEntry + `"`, ""},
		{"field marked personal while the entry is open", layers.Policy{Fields: map[string]layers.FieldPolicy{"name": {Personal: yes()}}},
			"personal field name would inherit open sharing from catalogue entry", ""},
		{"personal with a category of its own", layers.Policy{Fields: map[string]layers.FieldPolicy{"name": {Category: str("default"), Personal: yes()}}},
			"", "open code=open name=default+personal citizen_id=specific+personal"},
		{"collection by agreement", layers.Policy{Category: str("specific")},
			"", "specific code=specific name=default+personal citizen_id=specific+personal"},
		{"code personal, inheriting specific", layers.Policy{Fields: map[string]layers.FieldPolicy{"code": {Personal: yes()}}},
			"", "specific code=specific+personal name=default+personal citizen_id=specific+personal"},
		{"collection open with a personal field inheriting", layers.Policy{Category: str("open")},
			`personal field code would inherit open sharing from collection "` + id + `"`, ""},
		{"collection back to its entry's", layers.Policy{Category: str("inherit")},
			"inherit open sharing from catalogue entry", ""},
		{"code no longer personal, collection open", layers.Policy{Category: str("open"), Fields: map[string]layers.FieldPolicy{"code": {Personal: no()}}},
			"", "open code=open name=default+personal citizen_id=specific+personal"},
		{"not personal any more, then open", layers.Policy{Fields: map[string]layers.FieldPolicy{"citizen_id": {Category: str("open"), Personal: no()}}},
			"", "open code=open name=default+personal citizen_id=open"},
		{"personal again while open", layers.Policy{Fields: map[string]layers.FieldPolicy{"citizen_id": {Personal: yes()}}},
			"citizen_id holds personal data", ""},
	}
	before, version := state(t, pool, id)
	for _, s := range steps {
		err := layers.SetPolicy(ctx, pool, id, s.p)
		after, v := state(t, pool, id)
		if s.refused != "" {
			var pe *layers.PolicyError
			if !errors.As(err, &pe) || !strings.Contains(pe.EN, s.refused) || pe.VI == "" {
				t.Errorf("%s: %v; want a refusal saying %q", s.name, err, s.refused)
			}
			if after != before || v != version {
				t.Errorf("%s: refused but changed %q (v%d) into %q (v%d)", s.name, before, version, after, v)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		if after != s.want {
			t.Errorf("%s: %q, want %q", s.name, after, s.want)
		}
		// Tiles and ETags are keyed on the data version: what is served changed, so it must.
		if v != version+1 {
			t.Errorf("%s: data version %d, want %d", s.name, v, version+1)
		}
		before, version = after, v
	}
	if err := layers.SetPolicy(ctx, pool, "no-such-collection", layers.Policy{Category: str("open")}); !errors.Is(err, layers.ErrNotFound) {
		t.Errorf("unknown collection: %v, want ErrNotFound", err)
	}
}

// TestSetPolicyConcurrent: opening the collection and marking a field personal are each fine
// alone; run together they must not both pass, or a personal field would be open.
func TestSetPolicyConcurrent(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	const id = "policy-race"
	for i := 0; i < 10; i++ {
		makeCollection(t, pool, id)
		if err := layers.SetPolicy(ctx, pool, id, layers.Policy{Category: str("specific")}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, p := range []layers.Policy{
			{Category: str("open")},
			{Fields: map[string]layers.FieldPolicy{"name": {Personal: yes()}}},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = layers.SetPolicy(ctx, pool, id, p)
			}()
		}
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("round %d: both changes passed", i)
		}
		s, _ := state(t, pool, id)
		if strings.Contains(s, "name=open+personal") {
			t.Fatalf("round %d: %s", i, s)
		}
	}
}

// TestPolicyReachesRegistry: a running registry (as in every hub process) serves the new
// categories within moments of the change, through the NOTIFY of the tables' triggers.
func TestPolicyReachesRegistry(t *testing.T) {
	pool := testdb.Pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const id = "policy-notify"
	makeCollection(t, pool, id)
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	go reg.Listen(ctx)
	if l, ok := reg.Get(id); !ok || l.Categories[0] != "open" {
		t.Fatalf("before: %+v", l)
	}
	if err := layers.SetPolicy(ctx, pool, id, layers.Policy{Category: str("specific"),
		Fields: map[string]layers.FieldPolicy{"code": {Category: str("default")}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		l, _ := reg.Get(id)
		code, _ := l.Field("code")
		name, _ := l.Field("name")
		if l.Categories[0] == "specific" && code.Category == "default" && name.Category == "specific" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after the change the registry still has %v, code %s, name %s", l.Categories, code.Category, name.Category)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
