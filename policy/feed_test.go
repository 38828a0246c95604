package policy_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/server"
)

// TestFeedRowsMovingOut: under a row restriction (the holder reads commune C1), an item that
// moved out of the reader's rows is a deletion to it, one that moved in is its current state,
// and one that moved between rows it cannot read is not told of; a reader of every row sees
// each as an update.
func TestFeedRowsMovingOut(t *testing.T) {
	m := newMatrix(t)
	pool := m.pool
	def := layers.Layer{ID: "moves-x", Title: "Điểm dời", EntryID: entry, ItemType: layers.Record, KeyField: "code",
		Fields: []layers.Field{{Name: "code", Type: "string", Required: true}, {Name: "commune_code", Type: "string"}}}
	keys := []string{"code", "commune_code"}
	rows := func(communes map[string]string) string {
		sql := ""
		for _, code := range []string{"A", "B", "C", "D"} {
			if sql != "" {
				sql += " UNION ALL "
			}
			sql += fmt.Sprintf(`SELECT NULL::bytea, json_build_object('code', '%s', 'commune_code', '%s')`, code, communes[code])
		}
		return sql
	}
	st := &setupT{t}
	syncQuery(st, pool, def, "specific", "code", keys, rows(map[string]string{"A": "C1", "B": "C1", "C": "C2", "D": "C2"}))
	var since int64
	if err := pool.QueryRow(t.Context(), `SELECT data_version FROM layers WHERE id = 'moves-x'`).Scan(&since); err != nil {
		t.Fatal(err)
	}
	// A leaves C1, C comes into it, D moves between communes the holder cannot read.
	syncQuery(st, pool, def, "specific", "code", keys, rows(map[string]string{"A": "C2", "B": "C1", "C": "C1", "D": "C3"}))

	// A hub that knows the new collection.
	reg, err := layers.Load(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	m.srv = httptest.NewServer(server.New(pool, reg, server.Config{Version: "test"}))
	t.Cleanup(m.srv.Close)
	feed := func(who string) map[string]string {
		t.Helper()
		res := m.get(t, who, fmt.Sprintf("/collections/moves-x/changes?since=%d", since))
		var pg struct {
			Features []struct {
				ID     any    `json:"id"`
				Change string `json:"change"`
			} `json:"features"`
		}
		if res.status != 200 || json.Unmarshal(res.body, &pg) != nil {
			t.Fatalf("%s: %d %s", who, res.status, res.body)
		}
		got := map[string]string{}
		for _, f := range pg.Features {
			got[fmt.Sprint(f.ID)] = f.Change
		}
		return got
	}
	if got, want := feed("holder"), map[string]string{"A": "delete", "C": "update"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("holder (C1): %v, want %v", got, want)
	}
	got := feed("unmasker")
	var changed []string
	for k, v := range got {
		if v != "update" {
			t.Errorf("reader of every row: %s %s", k, v)
		}
		changed = append(changed, k)
	}
	if slices.Sort(changed); fmt.Sprint(changed) != "[A C D]" {
		t.Errorf("reader of every row told of %v, want A C D", changed)
	}
}
