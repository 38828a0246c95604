package glyphs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/image/font/sfnt"
)

// A decoder of the glyphs protobuf written from proto/glyphs.proto of node-fontnik, independent
// of the encoder: it reads wire types, not the package's helpers.

type pbGlyph struct {
	id, width, height, advance uint64
	left, top                  int64
	bitmap                     []byte
	hasBitmap                  bool
}

type pbStack struct {
	name, rng string
	glyphs    []pbGlyph
}

// fields calls fn for each field of message b; v is a varint's value, data a length-delimited
// field's bytes.
func fields(t *testing.T, b []byte, fn func(field int, v uint64, data []byte)) {
	t.Helper()
	varint := func() uint64 {
		var v uint64
		for shift := 0; ; shift += 7 {
			if len(b) == 0 || shift > 63 {
				t.Fatal("truncated varint")
			}
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				return v
			}
		}
	}
	for len(b) > 0 {
		key := varint()
		switch key & 7 {
		case 0:
			fn(int(key>>3), varint(), nil)
		case 2:
			n := varint()
			if n > uint64(len(b)) {
				t.Fatalf("field %d: length %d beyond the message", key>>3, n)
			}
			fn(int(key>>3), 0, b[:n])
			b = b[n:]
		default:
			t.Fatalf("unexpected wire type %d", key&7)
		}
	}
}

func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

func decode(t *testing.T, b []byte) []pbStack {
	t.Helper()
	var stacks []pbStack
	fields(t, b, func(f int, _ uint64, data []byte) {
		if f != 1 {
			t.Fatalf("glyphs: unexpected field %d", f)
		}
		var s pbStack
		fields(t, data, func(f int, _ uint64, data []byte) {
			switch f {
			case 1:
				s.name = string(data)
			case 2:
				s.rng = string(data)
			case 3:
				var g pbGlyph
				fields(t, data, func(f int, v uint64, data []byte) {
					switch f {
					case 1:
						g.id = v
					case 2:
						g.bitmap, g.hasBitmap = data, true
					case 3:
						g.width = v
					case 4:
						g.height = v
					case 5:
						g.left = unzigzag(v)
					case 6:
						g.top = unzigzag(v)
					case 7:
						g.advance = v
					default:
						t.Fatalf("glyph: unexpected field %d", f)
					}
				})
				s.glyphs = append(s.glyphs, g)
			default:
				t.Fatalf("fontstack: unexpected field %d", f)
			}
		})
		stacks = append(stacks, s)
	})
	return stacks
}

// rangeOf returns the one font stack of a range, checked for what MapLibre relies on, by
// code point.
func rangeOf(t *testing.T, stack string, start int) map[rune]pbGlyph {
	t.Helper()
	b, err := Range(stack, start)
	if err != nil {
		t.Fatal(err)
	}
	stacks := decode(t, b)
	if len(stacks) != 1 {
		t.Fatalf("%d font stacks, want 1", len(stacks))
	}
	s := stacks[0]
	if s.name != stack || s.rng != fmt.Sprintf("%d-%d", start, start+255) {
		t.Errorf("fontstack name %q range %q, want %q %d-%d", s.name, s.rng, stack, start, start+255)
	}
	m := map[rune]pbGlyph{}
	prev := -1
	for _, g := range s.glyphs {
		if int(g.id) <= prev || int(g.id) < start || int(g.id) > start+255 {
			t.Fatalf("glyph %d out of order or out of range", g.id)
		}
		prev = int(g.id)
		// MapLibre (parse_glyph_pbf.ts) makes a (width+6)×(height+6) image of the bitmap.
		if want := int((g.width + 6) * (g.height + 6)); g.hasBitmap != (g.width > 0) || g.hasBitmap && len(g.bitmap) != want {
			t.Errorf("U+%04X: %dx%d with a bitmap of %d bytes", g.id, g.width, g.height, len(g.bitmap))
		}
		m[rune(g.id)] = g
	}
	return m
}

func TestFontNames(t *testing.T) {
	// The stack names are those fontnik gives: family and style from the name table.
	for name, file := range fontFile {
		raw, _ := fontFiles.ReadFile(file)
		f, err := sfnt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		family, _ := f.Name(nil, sfnt.NameIDFamily)
		style, _ := f.Name(nil, sfnt.NameIDSubfamily)
		if got := family + " " + style; got != name {
			t.Errorf("%s is %q, served as %q", file, got, name)
		}
	}
}

func TestLatin(t *testing.T) {
	glyphs := rangeOf(t, Regular, 0)

	a, ok := glyphs['A']
	if !ok {
		t.Fatal("no A in 0-255")
	}
	if a.width == 0 || a.height == 0 || a.advance == 0 {
		t.Errorf("A: %+v", a)
	}
	// Metrics as fontnik writes them: FreeType at 24 px without hinting gives these for
	// DejaVu Sans (ascender 23 px).
	want := map[rune][5]int64{ // width, height, left, top, advance
		'A': {16, 18, 0, -5, 16},
		'_': {12, 2, 0, -27, 12},
		'g': {12, 18, 1, -10, 15},
		'l': {2, 18, 2, -5, 6},
		' ': {0, 0, 0, -23, 7},
	}
	for r, w := range want {
		g := glyphs[r]
		if got := [5]int64{int64(g.width), int64(g.height), g.left, g.top, int64(g.advance)}; got != w {
			t.Errorf("%q: width, height, left, top, advance = %v, want %v", r, got, w)
		}
	}
	if a.top >= 0 || glyphs['_'].top >= a.top {
		t.Errorf("top of A %d, of _ %d: want A's negative and _ lower", a.top, glyphs['_'].top)
	}
	if sp := glyphs[' ']; sp.advance == 0 || sp.hasBitmap || sp.width != 0 || sp.height != 0 {
		t.Errorf("space: %+v, want an advance and no bitmap", sp)
	}

	// The distance field: high inside the strokes, the edge at 192, low far outside.
	for _, r := range []rune{'l', 'I'} {
		g := glyphs[r]
		w := int(g.width + 6)
		mid := int(g.height+6) / 2
		row := g.bitmap[mid*w : (mid+1)*w]
		if m := maxOf(row); m <= 192 {
			t.Errorf("%q: middle row %v, no value above 192 in the stroke", r, row)
		}
		if row[0] >= 192 || row[w-1] >= 192 {
			t.Errorf("%q: middle row %v: the border is not outside", r, row)
		}
	}
	if v := a.bitmap[0]; v >= 64 { // top left corner of A: 3+ px from the ink
		t.Errorf("A's top left corner is %d, want < 64", v)
	}
	// The 192 contour is the ink: 'I' is a bar 2-3 px wide, inked in every row of its box
	// (but the first and last, which the rounding of the box may leave half covered).
	i := glyphs['I']
	w := int(i.width + 6)
	for y := 4; y < int(i.height)+2; y++ {
		n := 0
		for _, v := range i.bitmap[y*w : (y+1)*w] {
			if v >= 192 {
				n++
			}
		}
		if n < 2 || n > 3 {
			t.Errorf("I: row %d has %d pixels at 192 or more", y, n)
		}
	}
}

func maxOf(b []byte) byte {
	m := byte(0)
	for _, v := range b {
		m = max(m, v)
	}
	return m
}

// vietnamese are the letters of Vietnamese place names: Latin-1 and Latin Extended-A/B
// letters, and the whole Latin Extended Additional block U+1EA0–U+1EF9.
func vietnamese() []rune {
	rs := []rune("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư")
	for r := rune(0x1EA0); r <= 0x1EF9; r++ {
		rs = append(rs, r)
	}
	return rs
}

func TestVietnamese(t *testing.T) {
	for _, stack := range []string{Regular, Bold} {
		ranges := map[int]map[rune]pbGlyph{}
		for _, r := range append(vietnamese(), 0x300, 0x301, 0x303, 0x309, 0x323) {
			start := int(r) &^ 255
			if ranges[start] == nil {
				ranges[start] = rangeOf(t, stack, start)
			}
			if g, ok := ranges[start][r]; !ok || !g.hasBitmap {
				t.Errorf("%s: no glyph for %q (U+%04X) in %d-%d", stack, r, r, start, start+255)
			}
		}
		for _, start := range []int{0, 256, 768, 7680} {
			if ranges[start] == nil {
				t.Errorf("%s: range %d not checked", stack, start)
			}
		}
		// A precomposed letter with two marks reaches above the capitals and has its own box.
		if e, E := ranges[7680]['ệ'], ranges[0]['E']; e.height <= ranges[0]['e'].height || E.top >= 0 {
			t.Errorf("%s: ệ %+v, E %+v", stack, e, E)
		}
	}
}

func TestBold(t *testing.T) {
	reg, bold := rangeOf(t, Regular, 0)['A'], rangeOf(t, Bold, 0)['A']
	if bold.width < reg.width || bold.advance < reg.advance || bold.advance == reg.advance && bold.width == reg.width {
		t.Errorf("bold A %dx%d advance %d, regular %dx%d advance %d", bold.width, bold.height, bold.advance, reg.width, reg.height, reg.advance)
	}
	if bytes.Equal(bold.bitmap, reg.bitmap) {
		t.Error("bold and regular A have the same bitmap")
	}
}

func TestStacks(t *testing.T) {
	// Unknown names are skipped.
	got := rangeOf(t, "Unknown Font,"+Bold, 0)
	if want := rangeOf(t, Bold, 0); !bytes.Equal(got['A'].bitmap, want['A'].bitmap) || len(got) != len(want) {
		t.Error("Unknown Font,DejaVu Sans Bold is not DejaVu Sans Bold")
	}
	if _, err := Range("Comic Sans", 0); err == nil {
		t.Error("a stack of unknown fonts gave a range")
	}
	for _, start := range []int{-256, 1, 255, 65536} {
		if _, err := Range(Regular, start); err == nil {
			t.Errorf("start %d gave a range", start)
		}
	}

	// Each code point comes from the first font that has it: find one that only the regular
	// font has (DejaVu Sans covers more than its bold).
	regular, bold := faces()[Regular].font, faces()[Bold].font
	var only rune
	for r := rune(0x20); r < 0x10000 && only == 0; r++ {
		gr, _ := regular.GlyphIndex(nil, r)
		gb, _ := bold.GlyphIndex(nil, r)
		if gr != 0 && gb == 0 {
			only = r
		}
	}
	if only == 0 {
		t.Fatal("the bold font has every glyph of the regular one")
	}
	start := int(only) &^ 255
	both := rangeOf(t, Bold+", "+Regular, start)
	b, r := rangeOf(t, Bold, start), rangeOf(t, Regular, start)
	if !bytes.Equal(both[only].bitmap, r[only].bitmap) {
		t.Errorf("U+%04X: not the regular font's glyph", only)
	}
	for cp, g := range b {
		if !bytes.Equal(both[cp].bitmap, g.bitmap) || both[cp].advance != g.advance {
			t.Errorf("U+%04X: not the bold font's glyph", cp)
		}
	}
	if len(both) < len(b) || len(both) < len(r) {
		t.Errorf("combined stack has %d glyphs; bold %d, regular %d", len(both), len(b), len(r))
	}
}

func TestConcurrentFirstRequest(t *testing.T) {
	// Callers of a range not yet made all wait for the one rendering and get the same bytes.
	const start = 0x0400 // Cyrillic: no other test asks for it
	out := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], _ = Range(Regular, start)
		}()
	}
	wg.Wait()
	for i := range out {
		if len(out[i]) == 0 || !bytes.Equal(out[i], out[0]) {
			t.Fatalf("caller %d got %d bytes, caller 0 %d", i, len(out[i]), len(out[0]))
		}
	}
}

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /styles/glyphs/{fontstack}/{range}", Handler())
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	path := func(stack, rng string) string {
		return "/styles/glyphs/" + url.PathEscape(stack) + "/" + rng
	}

	ok := get(path(Regular, "0-255.pbf"))
	if ok.Code != http.StatusOK || ok.Header().Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("0-255.pbf: %d %q", ok.Code, ok.Header().Get("Content-Type"))
	}
	if cc := ok.Header().Get("Cache-Control"); cc != "public, max-age=86400" {
		t.Errorf("Cache-Control %q", cc)
	}
	if s := decode(t, ok.Body.Bytes()); len(s) != 1 || s[0].name != Regular || s[0].rng != "0-255" || len(s[0].glyphs) < 190 {
		t.Errorf("body: %d stacks", len(s))
	}
	tag := ok.Header().Get("ETag")
	if len(tag) < 10 || tag[0] != '"' {
		t.Fatalf("ETag %q is not a strong tag", tag)
	}
	if again := get(path(Regular, "0-255.pbf")); again.Header().Get("ETag") != tag || !bytes.Equal(again.Body.Bytes(), ok.Body.Bytes()) {
		t.Error("a second request differs")
	}
	if nm := get(path(Regular, "0-255.pbf"), "If-None-Match", `"x", `+tag); nm.Code != http.StatusNotModified || nm.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d with %d bytes", nm.Code, nm.Body.Len())
	}
	// Compressed for a client that accepts it, the same bytes once inflated.
	gz := get(path(Regular, "0-255.pbf"), "Accept-Encoding", "gzip, deflate")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= ok.Body.Len() || gz.Header().Get("ETag") == tag {
		t.Errorf("gzip: %q, %d bytes (plain %d)", gz.Header().Get("Content-Encoding"), gz.Body.Len(), ok.Body.Len())
	} else if zr, err := gzip.NewReader(gz.Body); err != nil {
		t.Error(err)
	} else if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, ok.Body.Bytes()) {
		t.Errorf("gzip body inflates to %d bytes (%v), not the plain body", len(plain), err)
	}
	if other := get(path(Regular, "256-511.pbf")); other.Code != http.StatusOK || other.Header().Get("ETag") == tag {
		t.Errorf("256-511.pbf: %d, ETag %q", other.Code, other.Header().Get("ETag"))
	}

	// MapLibre sends the comma of a stack as it is; an escaped one works too.
	for _, p := range []string{
		"/styles/glyphs/Unknown%20Font,DejaVu%20Sans%20Bold/0-255.pbf",
		path("Unknown Font,"+Bold, "0-255.pbf"),
	} {
		rec := get(p)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
			continue
		}
		if s := decode(t, rec.Body.Bytes()); s[0].name != "Unknown Font,"+Bold {
			t.Errorf("%s: fontstack named %q", p, s[0].name)
		}
	}

	for p, status := range map[string]int{
		path(Regular, "0-254.pbf"):       http.StatusBadRequest,
		path(Regular, "abc"):             http.StatusBadRequest,
		path(Regular, "65536-65791.pbf"): http.StatusBadRequest,
		path(Regular, "1-256.pbf"):       http.StatusBadRequest,
		path(Regular, "0-255"):           http.StatusBadRequest,
		path(Regular, "00-255.pbf"):      http.StatusBadRequest,
		path(Regular, "0-255.pbf?x=1"):   http.StatusBadRequest,
		path("Comic Sans", "0-255.pbf"):  http.StatusNotFound,
		path(" , ", "0-255.pbf"):         http.StatusNotFound,
	} {
		rec := get(p)
		var body struct{ Code, Description string }
		err := json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != status || err != nil || body.Description == "" || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want %d and a JSON exception", p, rec.Code, rec.Body, status)
		}
	}
	// The last valid range.
	if rec := get(path(Regular, "65280-65535.pbf")); rec.Code != http.StatusOK {
		t.Errorf("65280-65535.pbf: %d", rec.Code)
	}
}

// BenchmarkRange makes range 7680-7935 (Latin Extended Additional, the Vietnamese letters with
// tone marks) from the font each time, bypassing the cache.
func BenchmarkRange(b *testing.B) {
	for b.Loop() {
		if _, err := build(Regular, 7680, (*face).render); err != nil {
			b.Fatal(err)
		}
	}
}
