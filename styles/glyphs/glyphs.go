// Package glyphs serves the glyph ranges MapLibre needs to draw text labels: for a font stack
// and a block of 256 code points, a protobuf of signed distance fields (SDF) of the glyphs, the
// format of mapbox/node-fontnik that the style's "glyphs" URL points at.
//
// The hub runs on a closed network (no CDN), so it makes the ranges itself from two embedded
// DejaVu Sans fonts, which cover Vietnamese (Latin-1, Latin Extended-A/B, combining marks and
// Latin Extended Additional). A range is made on its first request and kept in memory.
//
// The glyphs are what MapLibre GL JS expects from fontnik: rendered at 24 px with a 3 px border,
// metrics as fontnik writes them (see glyph), and the distance field computed as
// mapbox/tiny-sdf 2.0 does (see sdf.go).
package glyphs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/haiduong/hub/api"
)

// The font stacks served, named as fontnik names a font: family and style.
const (
	Regular = "DejaVu Sans Book"
	Bold    = "DejaVu Sans Bold"
)

//go:embed fonts/DejaVuSans.ttf fonts/DejaVuSans-Bold.ttf
var fontFiles embed.FS

var fontFile = map[string]string{Regular: "fonts/DejaVuSans.ttf", Bold: "fonts/DejaVuSans-Bold.ttf"}

var (
	msgNoFont    = api.Msg("Không có phông chữ nào đã biết trong %q; các phông có: %s", "no known font in %q; available fonts: %s")
	msgBadRange  = api.Msg("Dải ký tự %q không hợp lệ; dùng dạng N-M.pbf, N chia hết cho 256, M = N+255, M ≤ 65535 (ví dụ 0-255.pbf)", "invalid glyph range %q; use N-M.pbf with N a multiple of 256, M = N+255, M ≤ 65535 (e.g. 0-255.pbf)")
	msgBadStart  = api.Msg("Đầu dải ký tự %d không hợp lệ; phải chia hết cho 256, từ 0 đến 65280", "invalid range start %d; it must be a multiple of 256 from 0 to 65280")
	contentType  = "application/x-protobuf"
	cacheControl = "public, max-age=86400" // the glyphs change only with the binary
)

// face is one embedded font and the ranges already rendered from it.
type face struct {
	font *sfnt.Font
	// ascender is the font's ascender in whole pixels at 24 px, rounded up as FreeType
	// reports it (face->size->metrics.ascender): fontnik subtracts it from each glyph's top.
	ascender int
	ranges   [256]struct {
		once   sync.Once
		glyphs []encoded
	}
}

// faces parses the embedded fonts once, on first use.
var faces = sync.OnceValue(func() map[string]*face {
	m := map[string]*face{}
	for name, file := range fontFile {
		raw, err := fontFiles.ReadFile(file)
		if err != nil {
			panic(err)
		}
		f, err := sfnt.Parse(raw)
		if err != nil {
			panic(fmt.Sprintf("glyphs: %s: %v", file, err)) // the tests parse both
		}
		met, err := f.Metrics(&sfnt.Buffer{}, fixed.I(fontSize), font.HintingNone)
		if err != nil {
			panic(fmt.Sprintf("glyphs: %s: %v", file, err))
		}
		m[name] = &face{font: f, ascender: int((met.Ascent + 63) >> 6)}
	}
	return m
})

// cached returns the glyphs of the range at start, rendering them on the first call;
// concurrent callers wait for that one rendering.
func (f *face) cached(start int) []encoded {
	r := &f.ranges[start/256]
	r.once.Do(func() { r.glyphs = f.render(start) })
	return r.glyphs
}

// encoded is a glyph message ready to go into a font stack.
type encoded struct {
	cp  rune
	msg []byte
}

// render encodes the glyphs of the font in start..start+255, in code point order.
func (f *face) render(start int) []encoded {
	var (
		out []encoded
		buf sfnt.Buffer
		ras rasterizer
	)
	for cp := rune(start); cp < rune(start+256); cp++ {
		if g, ok := f.glyph(&buf, &ras, cp); ok {
			out = append(out, encoded{cp, g.encode()})
		}
	}
	return out
}

// resolve returns the known fonts of a comma-separated stack, in order, once each.
func resolve(stack string) []*face {
	var fs []*face
	for _, name := range strings.Split(stack, ",") {
		if f, ok := faces()[strings.TrimSpace(name)]; ok && !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	return fs
}

// Range returns the glyph PBF of code points start..start+255 for a font stack: for each
// code point, the glyph of the first font of the stack that has one. Names the hub does not
// have are skipped; an *api.Error says when start is not a range start (400) or when no font
// of the stack is known (404).
func Range(stack string, start int) ([]byte, error) {
	return build(stack, start, (*face).cached)
}

// build is Range with the source of rendered glyphs as a parameter, so that the benchmark can
// bypass the cache.
func build(stack string, start int, glyphsOf func(*face, int) []encoded) ([]byte, error) {
	if start < 0 || start > 65535 || start%256 != 0 {
		return nil, api.BadParam("range", msgBadStart, start)
	}
	fs := resolve(stack)
	if len(fs) == 0 {
		return nil, api.NotFound(msgNoFont, stack, Regular+", "+Bold)
	}
	// With one font the ranges are already in code point order; with several, pick per code
	// point the first font that has it.
	var chosen []encoded
	if len(fs) == 1 {
		chosen = glyphsOf(fs[0], start)
	} else {
		var byCP [256][]byte
		for i := len(fs) - 1; i >= 0; i-- { // the first font last, so that it wins
			for _, g := range glyphsOf(fs[i], start) {
				byCP[int(g.cp)-start] = g.msg
			}
		}
		for i, msg := range byCP {
			if msg != nil {
				chosen = append(chosen, encoded{rune(start + i), msg})
			}
		}
	}

	var stackMsg []byte
	stackMsg = appendString(stackMsg, 1, stack)
	stackMsg = appendString(stackMsg, 2, strconv.Itoa(start)+"-"+strconv.Itoa(start+255))
	for _, g := range chosen {
		stackMsg = appendBytes(stackMsg, 3, g.msg)
	}
	return appendBytes(nil, 1, stackMsg), nil
}

// parseRange reads "N-M.pbf" and returns N; only the canonical spelling of a 256 block is
// accepted (no signs, leading zeros or other sizes), so each range has one URL to cache.
func parseRange(s string) (int, bool) {
	a, _, _ := strings.Cut(s, "-")
	n, err := strconv.Atoi(a)
	if err != nil || n < 0 || n > 65535 || n%256 != 0 {
		return 0, false
	}
	return n, s == fmt.Sprintf("%d-%d.pbf", n, n+255)
}

// Handler serves GET /styles/glyphs/{fontstack}/{range}, e.g.
// /styles/glyphs/DejaVu Sans Book/0-255.pbf.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := api.Query(r); err != nil {
			api.WriteError(w, r, err)
			return
		}
		rng := r.PathValue("range")
		start, ok := parseRange(rng)
		if !ok {
			api.WriteError(w, r, api.BadParam("range", msgBadRange, rng))
			return
		}
		body, err := Range(r.PathValue("fontstack"), start)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		// The body is rebuilt from the cached glyphs on each request (the stack name in it is
		// the caller's), so the tag is a hash of the bytes themselves; the gzipped
		// representation has a tag of its own (RFC 9110 8.8.3).
		sum := sha256.Sum256(body)
		tag := hex.EncodeToString(sum[:16])
		// Distance fields compress well (gzip -1: 7680-7935 from 138 KB to 38 KB, 0-255 from 80 KB
		// to 33 KB); a map loads several ranges at start.
		gz := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
		if gz {
			tag += "-gz"
		}
		tag = `"` + tag + `"`
		h := w.Header()
		h.Set("ETag", tag)
		h.Set("Cache-Control", cacheControl)
		h.Add("Vary", "Accept-Encoding")
		if matches(r.Header.Get("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", contentType)
		if gz {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			zw.Write(body)
			zw.Close()
			body = buf.Bytes()
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
}

// matches reports whether an If-None-Match header names tag (weak comparison, RFC 9110 13.1.2).
func matches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}
