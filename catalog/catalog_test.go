package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/haiduong/hub/catalog"
	"github.com/haiduong/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestAllThirtyEntries(t *testing.T) {
	s := catalog.NewStore(testdb.Pool(t))
	entries, err := s.List(context.Background(), catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 30 {
		t.Fatalf("catalogue has %d entries, want 30", len(entries))
	}
	ids := map[string]bool{}
	for i, e := range entries {
		if e.Number != i+1 {
			t.Errorf("entry %d has number %d; want the decision's numbers 1–30 in order", i+1, e.Number)
		}
		if ids[e.ID] {
			t.Errorf("id %q used twice", e.ID)
		}
		ids[e.ID] = true
		for field, text := range map[string]string{"name": e.Name, "owner": e.Owner.Name, "purpose": e.Purpose,
			"scope": e.Scope, "content": e.Content, "source": e.Source} {
			if text == "" {
				t.Errorf("entry %d: empty %s", e.Number, field)
			}
			// The PDF extraction wrote "ư" as "ƣ" (U+01A3); nothing served may contain it.
			if strings.ContainsAny(text, "ƣƢ") {
				t.Errorf("entry %d: %s contains ƣ: %q", e.Number, field, text)
			}
		}
		wantKind := "nonspatial"
		if slices.Contains([]int{14, 22, 26, 29}, e.Number) {
			wantKind = "spatial"
		}
		if e.Kind != wantKind {
			t.Errorf("entry %d: kind %s, want %s", e.Number, e.Kind, wantKind)
		}
	}

	// Checked by hand against the decision's table (owner column and last column).
	want := []struct {
		number     int
		owner      string
		name       string
		categories []string
	}{
		{1, "Công an tỉnh", "Cơ sở dữ liệu về dân cư", []string{"default"}},
		{2, "Văn phòng UBND tỉnh", "Cổng Thông tin điện tử tỉnh Hải Dương", []string{"open"}},
		{5, "Văn phòng UBND tỉnh", "Hệ thống thông tin báo cáo tỉnh Hải Dương", []string{"default", "specific"}},
		{9, "Sở Thông tin và Truyền thông", "Nền tảng tích hợp, chia sẻ dữ liệu (LGSP)", []string{"default", "specific"}},
		{11, "Sở Nội vụ", "", []string{"default"}},
		{12, "Sở Kế hoạch và Đầu tư", "Cơ sở dữ liệu về đăng ký doanh nghiệp", []string{"default"}},
		{13, "Bảo hiểm xã hội tỉnh", "Cơ sở dữ liệu về Bảo hiểm", []string{"default", "specific"}},
		{14, "Sở Tài nguyên và Môi trường", "Cơ sở dữ liệu về Đất đai", []string{"default", "specific"}},
		{16, "Sở Tư pháp", "Cơ sở dữ liệu về Hộ tịch", []string{"default", "specific"}},
		{22, "Sở Xây dựng", "Cơ sở dữ liệu về Quy hoạch", []string{"default", "specific"}},
		{24, "Sở Giáo dục và Đào tạo", "Cơ sở dữ liệu văn bằng, chứng chỉ", []string{"default"}},
		{26, "Sở Giao thông vận tải", "Cơ sở dữ liệu kết cấu hạ tầng giao thông", []string{"default"}},
		{29, "Sở Nông nghiệp và Phát triển nông thôn", "", []string{"default"}},
		{30, "", "Cơ sở dữ liệu các Cổng/Trang thông tin điện tử", []string{"open"}},
	}
	for _, w := range want {
		e := entries[w.number-1]
		if w.owner != "" && e.Owner.Name != w.owner {
			t.Errorf("entry %d: owner %q, want %q", w.number, e.Owner.Name, w.owner)
		}
		if w.name != "" && e.Name != w.name {
			t.Errorf("entry %d: name %q, want %q", w.number, e.Name, w.name)
		}
		if !slices.Equal(e.Categories, w.categories) {
			t.Errorf("entry %d: categories %v, want %v", w.number, e.Categories, w.categories)
		}
	}
	if !strings.Contains(entries[28].Name, "thổ nhưỡng") {
		t.Errorf("entry 29 should be the soil map database, got %q", entries[28].Name)
	}

	// Owners are rows of their own: the four entries of the provincial office share one.
	agencies, err := s.Agencies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range agencies {
		if a.Name == "Văn phòng UBND tỉnh" {
			n++
		}
	}
	if n != 1 || entries[1].Owner.ID != entries[5].Owner.ID {
		t.Errorf("Văn phòng UBND tỉnh appears %d times among agencies; entries 2 and 6 have owners %q and %q", n, entries[1].Owner.ID, entries[5].Owner.ID)
	}
}

func numbers(es []catalog.Entry) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = e.Number
	}
	slices.Sort(out)
	return out
}

func TestSearch(t *testing.T) {
	s := catalog.NewStore(testdb.Pool(t))
	cases := []struct {
		f    catalog.Filter
		want []int
	}{
		{catalog.Filter{Q: "dat dai"}, []int{14, 29}},
		{catalog.Filter{Q: "Đất đai"}, []int{14, 29}},
		{catalog.Filter{Q: "DAT DAI"}, []int{14, 29}},
		{catalog.Filter{Q: "giao thong"}, []int{25, 26}},
		{catalog.Filter{Q: "giao th"}, []int{25, 26}},
		{catalog.Filter{Q: "ho tich"}, []int{16}},
		{catalog.Filter{Q: "tho nhuong"}, []int{29}},
		{catalog.Filter{Q: "ly lich tu phap"}, []int{17}},
		{catalog.Filter{Q: "khong co tu nay xyzzy"}, []int{}},
		{catalog.Filter{Kind: "spatial"}, []int{14, 22, 26, 29}},
		{catalog.Filter{Category: "open"}, []int{2, 30}},
		{catalog.Filter{Owner: "so-tu-phap"}, []int{16, 17}},
		{catalog.Filter{Q: "du lieu", Kind: "spatial", Category: "specific"}, []int{14, 22}},
	}
	for _, c := range cases {
		got, err := s.List(context.Background(), c.f)
		if err != nil {
			t.Fatalf("%+v: %v", c.f, err)
		}
		if !slices.Equal(numbers(got), c.want) {
			t.Errorf("%+v: got entries %v, want %v", c.f, numbers(got), c.want)
		}
	}
}

func TestUpdateAndCreate(t *testing.T) {
	ctx := context.Background()
	s := catalog.NewStore(testdb.Pool(t))
	scope := "Toàn thành phố Hải Phòng (khu vực tỉnh Hải Dương cũ)"
	e, err := s.Update(ctx, "dat-dai", catalog.Patch{Scope: &scope})
	if err != nil {
		t.Fatal(err)
	}
	if e.Scope != scope || e.Name != "Cơ sở dữ liệu về Đất đai" {
		t.Errorf("after update: scope %q name %q", e.Scope, e.Name)
	}
	bad := []string{"public"}
	if _, err := s.Update(ctx, "dat-dai", catalog.Patch{Categories: &bad}); err == nil {
		t.Error("an unknown category was accepted")
	}
	wrong := "Hải Dƣơng"
	if _, err := s.Update(ctx, "dat-dai", catalog.Patch{Name: &wrong}); err == nil {
		t.Error(`a name with "ƣ" was accepted`)
	}
	if _, err := s.Update(ctx, "no-such-entry", catalog.Patch{Scope: &scope}); err != catalog.ErrNotFound {
		t.Errorf("update of an unknown entry: %v, want ErrNotFound", err)
	}
	num, name, owner, kind := 31, "Cơ sở dữ liệu về di tích", "so-van-hoa-the-thao-va-du-lich", "nonspatial"
	cats := []string{"open"}
	_, err = s.Create(ctx, "di-tich", catalog.Patch{Number: &num, Name: &name, OwnerID: &owner, Kind: &kind, Categories: &cats})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.List(ctx, catalog.Filter{Q: "di tich"}); len(got) == 0 || got[0].ID != "di-tich" {
		t.Errorf("new entry not found by search: %v", numbers(got))
	}
	dup := 14
	if _, err := s.Create(ctx, "trung-so", catalog.Patch{Number: &dup, Name: &name, OwnerID: &owner, Kind: &kind, Categories: &cats}); err == nil {
		t.Error("a second entry number 14 was accepted")
	}
}

// When no entry holds the words as a phrase, entries holding all of them match, best first.
func TestSearchWordsInAnyOrder(t *testing.T) {
	s := catalog.NewStore(testdb.Pool(t))
	got, err := s.List(context.Background(), catalog.Filter{Q: "doanh nghiep dang ky"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].Number != 12 {
		t.Errorf("got %v, want entry 12 (đăng ký doanh nghiệp) first", numbers(got))
	}
}
