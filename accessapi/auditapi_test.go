package accessapi_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/audit"
)

// TestOwnersAuditView: an owner reads the audit records of its own entries only — a foreign
// entry is a 403, an agency owning nothing sees nothing — the operator reads all, anonymous
// callers get a 401; the period (times and Vietnamese days), agency, collection and entry
// filters narrow it, and next links page through it.
func TestOwnersAuditView(t *testing.T) {
	h := newHub(t, nil)
	ctx := context.Background()
	land, labour := h.owner("dat-dai"), h.owner("thi-truong-lao-dong")
	if land == labour {
		t.Fatalf("the test needs two owners; both entries belong to %s", land)
	}
	if err := access.AddAgency(ctx, h.pool, "ubnd-xa-thanh-mien", "UBND xã Thanh Miện", ""); err != nil {
		t.Fatal(err)
	}
	key := func(agency string) string {
		_, secret, err := access.CreateKey(ctx, h.pool, access.NewKey{Agency: agency})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	landKey, labourKey, consumerKey := key(land), key(labour), key("ubnd-xa-thanh-mien")

	// Records as the data paths write them: dat-dai and thi-truong-lao-dong, read by two
	// agencies, every 12 hours from 1 March 2025 07:30 in Vietnam (00:30 UTC).
	l := audit.New(h.pool, audit.Options{})
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 1, 0, 30, 0, 0, time.UTC)
	type written struct {
		seq                 int64
		entry, agency, coll string
		at                  time.Time
	}
	var all []written
	for i := range 12 {
		w := written{seq: int64(i + 1), at: t0.Add(time.Duration(i) * 12 * time.Hour)}
		w.entry, w.coll = "dat-dai", []string{"land-parcels", "zoning-plans"}[i%2]
		if i%3 == 2 {
			w.entry, w.coll = "thi-truong-lao-dong", "labour-market"
		}
		w.agency = []string{"ubnd-xa-thanh-mien", "so-tai-chinh"}[i/6]
		rows := int64(i)
		err := l.Record(ctx, audit.Record{At: w.at, Principal: "agency:" + w.agency, CredentialID: "hub_aaaaaaa" + fmt.Sprint(i%2),
			EntryID: w.entry, Collection: w.coll, Operation: "items", Query: "/collections/" + w.coll + "/items", Rows: &rows, Status: 200})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, w)
	}
	l.Close()
	seqs := func(keep func(written) bool) []int64 {
		var out []int64
		for _, w := range all {
			if keep(w) {
				out = append(out, w.seq)
			}
		}
		return out
	}
	landOnly := func(w written) bool { return w.entry == "dat-dai" }

	type page struct {
		Records []struct {
			Seq        int64
			At         time.Time
			Principal  string
			Credential string
			Entry      string
			Collection string
			Operation  string
			Rows       *int64
			Status     int
			Hash       string
		}
		Next string
	}
	// read follows next links from path and returns every seq it saw and the pages' sizes.
	read := func(who, path string) ([]int64, []int) {
		t.Helper()
		var got []int64
		var sizes []int
		for path != "" {
			r := h.do("GET", path, who, "")
			if r.status != 200 {
				t.Fatalf("GET %s: %s", path, r)
			}
			var p page
			r.decode(t, &p)
			for _, rec := range p.Records {
				got = append(got, rec.Seq)
				if rec.Principal == "" || rec.Operation != "items" || rec.Rows == nil || rec.Status != 200 || len(rec.Hash) != 64 {
					t.Errorf("record %d as served: %+v", rec.Seq, rec)
				}
			}
			sizes = append(sizes, len(p.Records))
			path = ""
			if p.Next != "" {
				u, err := url.Parse(p.Next)
				if err != nil || !strings.HasPrefix(p.Next, h.url+"/audit?") {
					t.Fatalf("next %q", p.Next)
				}
				path = u.RequestURI()
			}
		}
		return got, sizes
	}

	for _, c := range []struct {
		name, who, query string
		want             []int64
	}{
		{"the operator reads everything", adminToken, "", seqs(func(written) bool { return true })},
		{"an owner reads its entries' records", landKey, "", seqs(landOnly)},
		{"the other owner, its own", labourKey, "", seqs(func(w written) bool { return w.entry == "thi-truong-lao-dong" })},
		{"an agency owning nothing reads nothing", consumerKey, "", nil},
		{"entry", landKey, "?entry=dat-dai", seqs(landOnly)},
		{"collection", landKey, "?collection=zoning-plans", seqs(func(w written) bool { return w.coll == "zoning-plans" })},
		{"agency: what one agency did", landKey, "?agency=so-tai-chinh", seqs(func(w written) bool { return landOnly(w) && w.agency == "so-tai-chinh" })},
		{"the operator, by agency", adminToken, "?agency=ubnd-xa-thanh-mien", seqs(func(w written) bool { return w.agency == "ubnd-xa-thanh-mien" })},
		// 1 March in Vietnam ends at 17:00 UTC: the records of 00:30 and 12:30 UTC.
		{"to a day includes that day in Vietnam", landKey, "?to=2025-03-01", seqs(func(w written) bool { return landOnly(w) && w.seq <= 2 })},
		{"from a day", adminToken, "?from=2025-03-05", seqs(func(w written) bool { return w.at.After(time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)) })},
		{"from and to as times", adminToken, "?from=2025-03-02T07:30:00%2B07:00&to=2025-03-03T00:30:00Z",
			seqs(func(w written) bool { return w.seq >= 3 && w.seq <= 4 })},
		{"an unencoded + in a time", adminToken, "?from=2025-03-02T07:30:00+07:00&to=2025-03-02T19:30:01+07:00", []int64{3, 4}},
		{"after a seq", landKey, "?after=6", seqs(func(w written) bool { return landOnly(w) && w.seq > 6 })},
	} {
		got, _ := read(c.who, "/audit"+c.query)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s (%s): seqs %v, want %v", c.name, c.query, got, c.want)
		}
	}

	// Paging: pages of 3 carry next until the last record, and no page is empty.
	got, sizes := read(landKey, "/audit?limit=3&collection=land-parcels")
	want := seqs(func(w written) bool { return w.coll == "land-parcels" })
	if !slices.Equal(got, want) || slices.Contains(sizes, 0) || sizes[0] != 3 {
		t.Errorf("pages of 3: seqs %v in pages of %v, want %v", got, sizes, want)
	}
	if _, sizes := read(adminToken, "/audit?limit=12"); !slices.Equal(sizes, []int{12}) {
		t.Errorf("a full last page offers a next link: pages of %v", sizes)
	}

	for _, c := range []struct {
		name, who, query string
		status           int
		param            string
	}{
		{"anonymous", "", "", 401, ""},
		{"a foreign entry", landKey, "?entry=thi-truong-lao-dong", 403, ""},
		{"an entry owned by nobody asking", consumerKey, "?entry=dat-dai", 403, ""},
		{"a bad time", landKey, "?from=yesterday", 400, "from"},
		{"a bad day", landKey, "?to=2025-02-30", 400, "to"},
		{"an empty period", landKey, "?from=2025-03-02&to=2025-03-01", 400, "to"},
		{"limit 0", landKey, "?limit=0", 400, "limit"},
		{"limit too high", landKey, "?limit=1001", 400, "limit"},
		{"a bad after", landKey, "?after=-1", 400, "after"},
		{"an unknown parameter", landKey, "?principal=admin", 400, "principal"},
	} {
		r := h.do("GET", "/audit"+c.query, c.who, "")
		var ex struct{ Code, Description, Parameter string }
		r.decode(t, &ex)
		if r.status != c.status || ex.Parameter != c.param || ex.Description == "" {
			t.Errorf("%s (%s): %s; want %d naming %q", c.name, c.query, r, c.status, c.param)
		}
	}
}
