package connect

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// The HTTP side shared by the JSON connectors (rest, ogcapi, wfs, hub): a jsonPager fetches one
// run's pages, sends the config's headers with each, parses the page and names it in errors
// ("page 3 of http://…: …") — with secret query parameters redacted and never a header value —
// and stops a paging that would not end.

// jsonMaxPages bounds a paging that the source's links or cursors would not end.
const jsonMaxPages = 1_000_000

type jsonPager struct {
	cfg    *Config
	client *http.Client
	accept string
	parser fastjson.Parser
	seed   maphash.Seed
	seen   map[uint64]bool
	n      int    // pages requested
	body   []byte // the last page's body
}

func newJSONPager(cfg *Config, accept string) *jsonPager {
	return &jsonPager{cfg: cfg, client: cfg.HTTPClient(), accept: accept, seed: maphash.MakeSeed(), seen: map[uint64]bool{}}
}

// httpStatusError is a non-2xx answer.
type httpStatusError struct {
	page   int
	status int
	body   []byte // the start of the body (64 KiB at most)
	msg    string
}

func (e *httpStatusError) Error() string { return e.msg }

// walk reads pages from first on: page handles each parsed page and gives the URL of the next
// one, or "" after the last.
func (pg *jsonPager) walk(ctx context.Context, first string, page func(u string, doc *fastjson.Value, h http.Header) (string, error)) error {
	for u := first; u != ""; {
		doc, h, err := pg.get(ctx, u)
		if err != nil {
			return err
		}
		if u, err = page(u, doc, h); err != nil {
			return err
		}
	}
	return nil
}

// features walks GeoJSON / OGC API pages: each page's "features" array, then its links with
// rel=next (or a Link header). An empty page is the last when stopEmpty.
func (pg *jsonPager) features(ctx context.Context, first string, stopEmpty bool, each func(doc *fastjson.Value, items []*fastjson.Value) error) error {
	return pg.walk(ctx, first, func(u string, doc *fastjson.Value, h http.Header) (string, error) {
		items, err := pg.items(u, doc, "features")
		if err != nil {
			return "", err
		}
		if err := each(doc, items); err != nil {
			return "", err
		}
		if stopEmpty && len(items) == 0 {
			return "", nil
		}
		return pg.next(u, doc, "", h)
	})
}

// get fetches and parses one page.
func (pg *jsonPager) get(ctx context.Context, u string) (*fastjson.Value, http.Header, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	h := maphash.String(pg.seed, u)
	if pg.seen[h] {
		return nil, nil, fmt.Errorf("page %d of %s: the link to the next page leads back to a page already read", pg.n+1, pg.redact(u))
	}
	if pg.n >= jsonMaxPages {
		return nil, nil, fmt.Errorf("page %d of %s: more than %d pages; the paging does not end", pg.n+1, pg.redact(u), jsonMaxPages)
	}
	pg.seen[h] = true
	pg.n++
	pg.body = nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, pg.errorf(u, "not a valid URL")
	}
	req.Header.Set("Accept", pg.accept)
	for k, v := range pg.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := pg.client.Do(req)
	if err != nil {
		return nil, nil, pg.fail(ctx, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, nil, &httpStatusError{page: pg.n, status: resp.StatusCode, body: body,
			msg: fmt.Sprintf("page %d of %s: %s: %s", pg.n, pg.redact(u), resp.Status, pg.scrub(bodyStart(body, 200)))}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, pg.fail(ctx, u, err)
	}
	pg.body = body
	doc, err := pg.parser.ParseBytes(body)
	if err != nil {
		return nil, nil, pg.errorf(u, "not JSON: %v (the page starts with %q)", err, bodyStart(body, 200))
	}
	return doc, resp.Header, nil
}

// fail names the page of a transport error; the error's own URL (which may hold secrets) is left out.
func (pg *jsonPager) fail(ctx context.Context, u string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("page %d of %s: %w", pg.n, pg.redact(u), ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return pg.errorf(u, "%v", err)
}

// errorf is an error about the current page.
func (pg *jsonPager) errorf(u string, format string, a ...any) error {
	return fmt.Errorf("page %d of %s: %s", pg.n, pg.redact(u), pg.scrub(fmt.Sprintf(format, a...)))
}

// items is a page's items array: at path (dot-separated members), or with no path the page
// itself when it is an array, else its features, items or data member. null is no items.
func (pg *jsonPager) items(u string, doc *fastjson.Value, path string) ([]*fastjson.Value, error) {
	var v *fastjson.Value
	name := path
	switch {
	case path != "":
		v = doc.Get(strings.Split(path, ".")...)
	case doc.Type() == fastjson.TypeArray || doc.Type() == fastjson.TypeNull:
		v, name = doc, "the page"
	default:
		for _, name = range []string{"features", "items", "data"} {
			if v = doc.Get(name); v != nil {
				break
			}
		}
		if v == nil {
			return nil, pg.errorf(u, "no items: the page is not an array and has no features, items or data member (the page starts with %q)", bodyStart(pg.body, 200))
		}
	}
	if v == nil {
		return nil, pg.errorf(u, "no items array at %q (the page starts with %q)", path, bodyStart(pg.body, 200))
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, nil
	case fastjson.TypeArray:
		return v.GetArray(), nil
	}
	return nil, pg.errorf(u, "%s is a JSON %s, not an array of items", name, v.Type())
}

// next is the URL of the page after u: the body's link at path (a URL, an object with href or
// next, or a links array with rel=next) — with no path, the body's "links" —, else the
// response's Link header with rel="next"; resolved against u. "" when there is none.
func (pg *jsonPager) next(u string, doc *fastjson.Value, path string, h http.Header) (string, error) {
	var s string
	if path != "" {
		s = jsonLink(doc.Get(strings.Split(path, ".")...))
	} else {
		s = jsonLink(doc.Get("links"))
	}
	if s == "" {
		s = httpLinkNext(h.Values("Link"))
	}
	if s == "" {
		return "", nil
	}
	base, err := url.Parse(u)
	if err != nil {
		return "", pg.errorf(u, "not a valid URL")
	}
	ref, err := url.Parse(s)
	if err != nil {
		return "", pg.errorf(u, "the link to the next page is not a URL")
	}
	return base.ResolveReference(ref).String(), nil
}

func jsonLink(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeObject:
		if href := v.Get("href"); href != nil {
			return Text(href)
		}
		return jsonLink(v.Get("next"))
	case fastjson.TypeArray:
		// Links with rel=next; a JSON one rather than HTML when there are several.
		var first string
		for _, l := range v.GetArray() {
			if !strings.EqualFold(string(l.GetStringBytes("rel")), "next") {
				continue
			}
			href, typ := string(l.GetStringBytes("href")), string(l.GetStringBytes("type"))
			if href != "" && (typ == "" || strings.Contains(typ, "json")) {
				return href
			}
			if first == "" {
				first = href
			}
		}
		return first
	}
	return ""
}

// httpLinkNext is the target of the rel="next" link of Link headers (RFC 8288).
func httpLinkNext(values []string) string {
	for _, h := range values {
		for h != "" {
			i := strings.IndexByte(h, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(h[i:], '>')
			if j < 0 {
				break
			}
			target, params := h[i+1:i+j], h[i+j+1:]
			if k := strings.IndexByte(params, '<'); k >= 0 {
				params, h = params[:k], params[k:]
			} else {
				h = ""
			}
			for _, p := range strings.Split(params, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), ",")), "=")
				if strings.EqualFold(strings.TrimSpace(name), "rel") {
					for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(value), `"`)) {
						if strings.EqualFold(rel, "next") {
							return target
						}
					}
				}
			}
		}
	}
	return ""
}

// urlWithParams sets query parameters of u, given as name, value pairs. With fold, a parameter
// of the same name in another case is replaced too (OGC key-value parameters).
func urlWithParams(u string, fold bool, kv ...string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", errors.New("the endpoint is not a valid URL")
	}
	q := p.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if fold {
			for k := range q {
				if strings.EqualFold(k, kv[i]) {
					delete(q, k)
				}
			}
		}
		q.Set(kv[i], kv[i+1])
	}
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// httpEndpoint checks that the endpoint is an http(s) URL.
func httpEndpoint(name, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the %s connector's endpoint is not an http(s) URL", name)
	}
	return nil
}

// redact is u for messages: a password and the values of query parameters whose names look
// secret (key, token, secret, password, signature…) are replaced.
func (pg *jsonPager) redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return pg.scrub(u)
	}
	if q := p.Query(); len(q) > 0 {
		changed := false
		for k := range q {
			l := strings.ToLower(k)
			for _, s := range []string{"key", "token", "secret", "pass", "pwd", "auth", "sig", "credential", "session"} {
				if strings.Contains(l, s) {
					q[k], changed = []string{"xxxxx"}, true
					break
				}
			}
		}
		if changed {
			p.RawQuery = q.Encode()
		}
	}
	return pg.scrub(p.Redacted())
}

// scrub replaces in s the config's header values and secret (a body may echo a token).
func (pg *jsonPager) scrub(s string) string {
	secrets := []string{pg.cfg.Secret}
	for _, v := range pg.cfg.Headers {
		secrets = append(secrets, v)
		if _, cred, ok := strings.Cut(v, " "); ok { // "Bearer <token>"
			secrets = append(secrets, strings.TrimSpace(cred))
		}
	}
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "xxxxx")
		}
	}
	return s
}

// bodyStart is the first n bytes of b as text.
func bodyStart(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "")
}

// jsonDetection checks the config's change detection for a connector that reads pages: Hash
// reads everything (the fetch is complete); Watermark needs the watermark field.
func jsonDetection(name string, cfg *Config) (complete bool, err error) {
	switch cfg.Detect {
	case Hash, "":
		return true, nil
	case Watermark:
		if cfg.WatermarkField == "" {
			return false, fmt.Errorf("the %s connector's watermark detection needs the watermark field", name)
		}
		return false, nil
	case Feed:
		return false, fmt.Errorf("the %s connector has no change feed; use hash or watermark", name)
	}
	return false, fmt.Errorf("change detection %q: use one of %v", cfg.Detect, Detections())
}

// jsonIntOption is a whole-number option of at least min, or def.
func jsonIntOption(cfg *Config, name string, def, min int) (int, error) {
	s := cfg.Option(name, strconv.Itoa(def))
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < min {
		return 0, fmt.Errorf("option %s: %q is not a whole number of at least %d", name, s, min)
	}
	return n, nil
}
