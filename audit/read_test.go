package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/haiduong/hub/audit"
)

// TestQueryEntries: Entries keeps the records of the listed entries (an owner's view); nil does
// not filter, and an empty list keeps nothing — an agency owning no entry must not see all.
func TestQueryEntries(t *testing.T) {
	ctx := context.Background()
	pool, _ := fresh(t)
	l := start(t, pool, audit.Options{})
	for i := range 9 {
		r := rec(i)
		r.EntryID = []string{"dan-cu", "dat-dai", "ho-tich"}[i%3]
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		f    audit.Filter
		want string
	}{
		{"nil: every entry", audit.Filter{}, "[1 2 3 4 5 6 7 8 9]"},
		{"empty: none", audit.Filter{Entries: []string{}}, "[]"},
		{"two entries", audit.Filter{Entries: []string{"dat-dai", "ho-tich"}}, "[2 3 5 6 8 9]"},
		{"with another filter", audit.Filter{Entries: []string{"dat-dai", "ho-tich"}, Entry: "ho-tich", AfterSeq: 3}, "[6 9]"},
		{"an entry outside the list", audit.Filter{Entries: []string{"dat-dai"}, Entry: "ho-tich"}, "[]"},
	} {
		recs, err := audit.Query(ctx, pool, c.f)
		if err != nil {
			t.Fatal(err)
		}
		seqs := []int64{}
		for _, r := range recs {
			seqs = append(seqs, r.Seq)
		}
		if got := fmt.Sprint(seqs); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
