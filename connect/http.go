package connect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// The HTTP side shared by the connectors. Every HTTP connector (rest, ogcapi, wfs, hub, file,
// xml) builds its requests with Config.newRequest, which sends the config's headers only to the
// endpoint's own origin, and sends them with Config.HTTPClient, which drops them on a redirect
// to another host. Every message names URLs through Config.redact and passes other text
// (a body, a SOAP fault, a transport error) through Config.scrub, so that neither a header
// value nor the secret, nor a password or a secret-looking query parameter of a URL, is ever
// shown.
//
// A jsonPager (rest, ogcapi, wfs, hub) fetches one run's pages, parses each and names it in
// errors ("page 3 of http://…: …"), refuses a link to a page on another host unless option
// follow_other_hosts is true (and then sends that page no header of the config), and stops a
// paging that would not end.

// jsonMaxPages bounds a paging that the source's links or cursors would not end.
const jsonMaxPages = 1_000_000

type jsonPager struct {
	cfg    *Config
	client *http.Client
	accept string
	follow bool // follow_other_hosts: read pages on other hosts (without the headers)
	parser fastjson.Parser
	seed   maphash.Seed
	seen   map[uint64]bool
	n      int    // pages requested
	body   []byte // the last page's body
}

func newJSONPager(cfg *Config, accept string) *jsonPager {
	follow, _ := strconv.ParseBool(cfg.Option("follow_other_hosts", "false")) // checked by httpEndpoint
	return &jsonPager{cfg: cfg, client: cfg.HTTPClient(), accept: accept, follow: follow, seed: maphash.MakeSeed(), seen: map[uint64]bool{}}
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
		return nil, nil, fmt.Errorf("page %d of %s: the link to the next page leads back to a page already read", pg.n+1, pg.cfg.redact(u))
	}
	if pg.n >= jsonMaxPages {
		return nil, nil, fmt.Errorf("page %d of %s: more than %d pages; the paging does not end", pg.n+1, pg.cfg.redact(u), jsonMaxPages)
	}
	pg.seen[h] = true
	pg.n++
	pg.body = nil
	if p, err := url.Parse(u); err == nil && !pg.follow && !pg.cfg.atOrigin(p) {
		e, _ := url.Parse(pg.cfg.Endpoint)
		return nil, nil, pg.errorf(u, "the link to this page leads to %s://%s, another host than the endpoint's (%s://%s); "+
			"the source's headers are sent to its own host only: set option follow_other_hosts=true to read pages there without them",
			p.Scheme, p.Host, e.Scheme, e.Host)
	}
	req, err := pg.cfg.newRequest(ctx, http.MethodGet, u, nil, "Accept", pg.accept)
	if err != nil {
		return nil, nil, pg.errorf(u, "%v", err)
	}
	resp, err := pg.client.Do(req)
	if err != nil {
		return nil, nil, pg.fail(ctx, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, nil, &httpStatusError{page: pg.n, status: resp.StatusCode, body: body,
			msg: fmt.Sprintf("page %d of %s: %s: %s", pg.n, pg.cfg.redact(u), resp.Status, pg.cfg.snippet(body, 200))}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, pg.fail(ctx, u, err)
	}
	pg.body = body
	doc, err := pg.parser.ParseBytes(body)
	if err != nil {
		return nil, nil, pg.errorf(u, "not JSON: %v (the page starts with %q)", err, pg.cfg.snippet(body, 200))
	}
	return doc, resp.Header, nil
}

// fail names the page of a transport error; the error's own URL (which may hold secrets) is left out.
func (pg *jsonPager) fail(ctx context.Context, u string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("page %d of %s: %w", pg.n, pg.cfg.redact(u), ctx.Err())
	}
	return pg.errorf(u, "%s", pg.cfg.transportError(err, u))
}

// errorf is an error about the current page.
func (pg *jsonPager) errorf(u string, format string, a ...any) error {
	return fmt.Errorf("page %d of %s: %s", pg.n, pg.cfg.redact(u), pg.cfg.scrub(fmt.Sprintf(format, a...)))
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
			return nil, pg.errorf(u, "no items: the page is not an array and has no features, items or data member (the page starts with %q)", pg.cfg.snippet(pg.body, 200))
		}
	}
	if v == nil {
		return nil, pg.errorf(u, "no items array at %q (the page starts with %q)", path, pg.cfg.snippet(pg.body, 200))
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

// httpEndpoint checks that the endpoint of a JSON connector is an http(s) URL, and its option
// follow_other_hosts.
func httpEndpoint(name string, cfg *Config) error {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the %s connector's endpoint is not an http(s) URL", name)
	}
	if s := cfg.Option("follow_other_hosts", ""); s != "" {
		if _, err := strconv.ParseBool(s); err != nil {
			return fmt.Errorf("option follow_other_hosts: %q; use true or false", s)
		}
	}
	return nil
}

// ---- Credentials: where they go, and out of messages ----

// httpOrigin is a URL's scheme and host (its port spelled out), lower-cased: the requests that
// may carry the source's credentials are those to the endpoint's origin.
func httpOrigin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// atOrigin says whether u is at the endpoint's origin (same scheme, host and port).
func (c *Config) atOrigin(u *url.URL) bool {
	e, err := url.Parse(c.Endpoint)
	return err == nil && e.Host != "" && httpOrigin(e) == httpOrigin(u)
}

// newRequest is a request to u with the given headers (name, value pairs), then the config's
// headers — those only when u is at the endpoint's origin: a link or a URL the source hands
// out may lead elsewhere, and the credentials are the source's alone. Send it with
// HTTPClient, which drops them on a redirect to another host. Its error says no more than
// that u is not a valid URL (a URL parser's error would repeat u, with its secrets).
func (c *Config) newRequest(ctx context.Context, method, u string, body io.Reader, header ...string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c.atOrigin(req.URL) {
		for k, v := range c.Headers {
			req.Header.Set(k, v)
		}
	}
	return req, nil
}

// credentialHeaders are dropped on a redirect to another host, whatever the config's headers.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"}

// redirectPolicy is the CheckRedirect of the config's clients, next the one it wraps (nil: the
// default one, ten redirects at most). On a redirect to another origin than the first
// request's it removes the config's headers, the credential headers and the Referer (which
// repeats the URL, query parameters and all); and it refuses one that would send the request
// body there (a 307 or 308 after a POST: the body may hold the secret).
func (c *Config) redirectPolicy(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	names := slices.Collect(maps.Keys(c.Headers))
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && httpOrigin(req.URL) != httpOrigin(via[0].URL) {
			for _, h := range names {
				req.Header.Del(h)
			}
			for _, h := range credentialHeaders {
				req.Header.Del(h)
			}
			req.Header.Del("Referer")
			if req.Body != nil && req.Body != http.NoBody {
				return fmt.Errorf("redirected to another host (%s), which the request body is not sent to", req.URL.Host)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// secretWords are the parts of query parameter names whose values are redacted.
var secretWords = []string{"key", "token", "secret", "pass", "pwd", "auth", "sig", "credential", "session"}

// redact is a URL for messages: its password and the values of query parameters whose names
// look secret (key, token, secret, password, signature…) are replaced by xxxxx — a {{name}}
// placeholder of an xml connector's URL template stays —, and the text is scrubbed. A URL
// that does not parse loses its query and user information.
func (c *Config) redact(raw string) string {
	p, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i] + "?…"
		}
		if i := strings.Index(raw, "://"); i >= 0 {
			rest := raw[i+3:]
			if at := strings.LastIndexByte(rest[:strings.IndexAny(rest+"/", "/")], '@'); at >= 0 {
				raw = raw[:i+3] + "xxxxx" + rest[at:]
			}
		}
		return c.scrub(raw)
	}
	if q := p.Query(); len(q) > 0 {
		changed := false
		for k, vs := range q {
			l := strings.ToLower(k)
			if !slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(l, w) }) {
				continue
			}
			for i, v := range vs {
				if t := strings.TrimSpace(v); !(strings.HasPrefix(t, "{{") && strings.HasSuffix(t, "}}")) {
					vs[i], changed = "xxxxx", true
				}
			}
		}
		if changed {
			p.RawQuery = strings.NewReplacer("%7B%7B", "{{", "%7D%7D", "}}").Replace(q.Encode())
		}
	}
	return c.scrub(p.Redacted())
}

// credentials are the texts no message may show: the secret and the header values (and the
// credential of "Bearer <token>"), as they are and escaped as a URL or an XML document holds
// them; longest first. Values shorter than 4 bytes are left: they would garble messages
// without hiding anything worth it.
func (c *Config) credentials() []string {
	vals := []string{c.Secret}
	for _, v := range c.Headers {
		vals = append(vals, v)
		if _, cred, ok := strings.Cut(strings.TrimSpace(v), " "); ok { // "Bearer <token>"
			vals = append(vals, strings.TrimSpace(cred))
		}
	}
	var out []string
	for _, v := range vals {
		if len(v) < 4 {
			continue
		}
		out = append(out, v, url.QueryEscape(v), url.PathEscape(v), xmlEscape(v), xmlNamedEntities.Replace(v))
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(out)
}

var xmlNamedEntities = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// scrub replaces in s the config's header values and secret (a body, a SOAP fault or a
// server's message may echo a token) by xxxxx.
func (c *Config) scrub(s string) string {
	return scrubText(s, c.credentials())
}

func scrubText(s string, credentials []string) string {
	for _, v := range credentials {
		s = strings.ReplaceAll(s, v, "xxxxx")
	}
	return s
}

// scrubErr is err with its text scrubbed: err itself when there was nothing to hide, else an
// error that still answers errors.Is as err does (context.Canceled, ErrNotModified) but does
// not unwrap to the unscrubbed errors.
func (c *Config) scrubErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := c.scrub(msg); clean != msg {
		return &scrubbedError{msg: clean, err: err}
	}
	return err
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

// transportError is the text of an error of a request to u: a *url.Error's own URL (which may
// hold secrets) left out, u itself redacted should the error repeat it, scrubbed.
func (c *Config) transportError(err error, u string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if u != "" {
		msg = strings.ReplaceAll(msg, u, c.redact(u))
	}
	return c.scrub(msg)
}

// snippet is the start of a body for a message: scrubbed, then at most n bytes of valid UTF-8
// on one line. A credential that the cut would split is replaced whole.
func (c *Config) snippet(b []byte, n int) string {
	creds := c.credentials()
	if w := n + 1 + len(firstOr(creds)); len(b) > w {
		b = b[:w]
	}
	s := scrubText(strings.ToValidUTF8(string(b), ""), creds)
	s = textCut(strings.Join(strings.Fields(s), " "), n)
	if s == "" {
		return "(empty body)"
	}
	return s
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// textCut is s cut to at most n bytes at a character boundary, an ellipsis marking the cut.
func textCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
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
