// Package web renders the portal's server-side pages (html/template) and serves its static
// assets. Pages are in Vietnamese first, with English beside; no asset comes from a CDN.
// It renders what handlers give it and must not query the database itself.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var funcs = template.FuncMap{
	"join": strings.Join,
	"categoryVI": func(c string) string {
		switch c {
		case "open":
			return "Dữ liệu mở"
		case "default":
			return "Chia sẻ dữ liệu mặc định"
		case "specific":
			return "Chia sẻ dữ liệu đặc thù"
		}
		return c
	},
	"kindVI": func(k string) string {
		if k == "spatial" {
			return "Dữ liệu không gian"
		}
		return "Dữ liệu thuộc tính"
	},
	// paragraphs keeps the decision's line breaks (bulleted lists) in the page.
	"paragraphs": func(s string) []string { return strings.Split(s, "\n") },
}

// pages holds one template set per page, each joined with the shared layout.
var pages = func() map[string]*template.Template {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	m := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		m[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n))
	}
	return m
}()

// Page is what every page template receives.
type Page struct {
	Title string
	// Path of the page without query, for the format switch links.
	Path string
	Data any
}

// Render writes the named page with the given status. The page is rendered to a buffer first
// so that a template error becomes a clean 500 rather than half a page.
func Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	t, ok := pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	p.Path = r.URL.Path
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		slog.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "Lỗi hiển thị trang — page rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Static serves the embedded assets under /static/.
func Static() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
