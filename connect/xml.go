package connect

// The xml connector reads XML over HTTP and SOAP 1.1 services, such as the provincial
// integration platforms (LGSP, Circular 13/2017/TT-BTTTT). What a record is and where each
// field sits are declared as data: element paths matched by local name, namespaces and
// their prefixes ignored. A page is read token by token, never held whole; only one record
// at a time is built in memory.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/unicode/norm"
)

func init() { Register("xml", xmlConnector{}) }

type xmlConnector struct{}

func (xmlConnector) Describe() string {
	return "XML over HTTP or SOAP 1.1 (LGSP): options record (element path of one record, e.g. " +
		"Envelope/Body/XResponse/DanhSach/Item or //Item), soap_action, request (POST body or SOAP Body " +
		"content with {{cursor}} {{page}} {{page_size}} {{token}}), method (GET|POST), paging (none|page), " +
		"first_page (1), page_size (500), total_path, lon, lat, srid (4326); mapping: field → element path " +
		"relative to the record (A, A/B, @attr, A/@attr)"
}

const (
	xmlSOAPEnvNS = "http://schemas.xmlsoap.org/soap/envelope/"
	xmlXSINS     = "http://www.w3.org/2001/XMLSchema-instance"
	// xmlMaxRecordElements bounds one record: a record path that names the list rather than its
	// items would otherwise build the whole page in memory.
	xmlMaxRecordElements = 100000
)

// xmlPath is an element path: from the document's root, or (a leading //) at any depth.
// Segments are local names; * matches any element. A relative path's last segment may be
// an attribute (@name).
type xmlPath struct {
	anyDepth bool
	segs     []string
}

func parseXMLPath(s string, relative bool) (xmlPath, error) {
	var p xmlPath
	t := strings.TrimSpace(s)
	if !relative {
		if strings.HasPrefix(t, "//") {
			p.anyDepth, t = true, t[2:]
		} else {
			t = strings.TrimPrefix(t, "/")
		}
	} else {
		t = strings.TrimPrefix(t, "./")
	}
	if t == "" || t == "." {
		if relative {
			return p, nil // the record itself
		}
		return p, fmt.Errorf("empty element path %q", s)
	}
	parts := strings.Split(t, "/")
	for i, seg := range parts {
		seg = strings.TrimSpace(seg)
		attr := strings.HasPrefix(seg, "@")
		name := strings.TrimPrefix(seg, "@")
		if j := strings.LastIndexByte(name, ':'); j >= 0 {
			name = name[j+1:] // a namespace prefix: ignored
		}
		switch {
		case name == "" || seg == ".." || (!relative && seg == "."):
			return p, fmt.Errorf("element path %q: empty or unsupported step %q", s, seg)
		case attr && (!relative || i != len(parts)-1):
			return p, fmt.Errorf("element path %q: an attribute (@%s) can only end a path relative to the record", s, name)
		case seg == ".":
			continue
		}
		if attr {
			name = "@" + name
		}
		p.segs = append(p.segs, name)
	}
	return p, nil
}

func (p xmlPath) match(stack []string) bool {
	if len(stack) < len(p.segs) || (!p.anyDepth && len(stack) != len(p.segs)) {
		return false
	}
	tail := stack[len(stack)-len(p.segs):]
	for i, s := range p.segs {
		if s != "*" && s != tail[i] {
			return false
		}
	}
	return true
}

func (p xmlPath) String() string {
	s := strings.Join(p.segs, "/")
	if p.anyDepth {
		return "//" + s
	}
	return s
}

// xnode is one element of a record.
type xnode struct {
	name  string
	attrs []xml.Attr
	text  []byte
	kids  []*xnode
	null  bool // xsi:nil="true"
}

// value is the element's text: a leaf's as it is, a parent's only when it has more than
// white space. An xsi:nil element has none.
func (n *xnode) value() (string, bool) {
	if n.null {
		return "", false
	}
	if len(n.kids) > 0 {
		s := strings.TrimSpace(string(n.text))
		return s, s != ""
	}
	return string(n.text), true
}

func (n *xnode) attr(local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == local && !xmlIsNSDecl(a.Name) {
			return a.Value, true
		}
	}
	return "", false
}

// lookup reads a relative path: the first element (in document order) along it that has a
// value, or the attribute that ends it.
func (n *xnode) lookup(segs []string) (string, bool) {
	if len(segs) == 0 {
		return n.value()
	}
	s := segs[0]
	if s[0] == '@' {
		return n.attr(s[1:])
	}
	for _, k := range n.kids {
		if s == "*" || k.name == s {
			if v, ok := k.lookup(segs[1:]); ok {
				return v, true
			}
		}
	}
	return "", false
}

// child is the first child element of a name.
func (n *xnode) child(name string) *xnode {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func xmlIsNSDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}

func xmlIsXSI(n xml.Name) bool { return n.Space == xmlXSINS || n.Space == "xsi" }

func xmlIsNil(attrs []xml.Attr) bool {
	for _, a := range attrs {
		if a.Name.Local == "nil" && xmlIsXSI(a.Name) {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// xmlReadNode builds the element start opened, consuming the tokens up to its end.
func xmlReadNode(d *xml.Decoder, start xml.StartElement, count *int) (*xnode, error) {
	root := &xnode{name: start.Name.Local, attrs: start.Copy().Attr, null: xmlIsNil(start.Attr)}
	stack := []*xnode{root}
	for len(stack) > 0 {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if *count++; *count > xmlMaxRecordElements {
				return nil, fmt.Errorf("%w: its element <%s> holds more than %d elements: does the record path name the list instead of its items?", errXMLRecordTooBig, root.name, xmlMaxRecordElements)
			}
			k := &xnode{name: t.Name.Local, attrs: t.Copy().Attr, null: xmlIsNil(t.Attr)}
			top.kids = append(top.kids, k)
			stack = append(stack, k)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text = append(top.text, t...)
		}
	}
	return root, nil
}

// xmlField is a collection field and the path it is read from.
type xmlField struct {
	name string
	path xmlPath
}

type xmlSource struct {
	cfg        *Config
	endpoint   string // for messages: the URL template, its password hidden
	method     string
	soapAction string
	request    string // the body template, a SOAP envelope when soap_action is set
	record     xmlPath
	total      *xmlPath
	paged      bool
	firstPage  int
	pageSize   int
	fields     []xmlField // the mapping, in field order; nil: the record's children as they are
	lon, lat   *xmlPath
	mark       *xmlPath // the watermark field
	tombstone  *xmlPath
	key        *xmlPath
}

func (xmlConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	s, err := newXMLSource(&cfg)
	if err != nil {
		return nil, err
	}
	complete := false
	switch cfg.Detect {
	case Hash, "":
		complete = true
	case Watermark:
		if cfg.WatermarkField == "" {
			return nil, fmt.Errorf("xml: watermark detection needs the watermark field (a mapped field or an element path in the record)")
		}
	case Feed:
		return nil, fmt.Errorf("xml: an XML/SOAP service has no change feed; use %s or %s detection", Hash, Watermark)
	default:
		return nil, fmt.Errorf("xml: unknown change detection %q; use %s or %s", cfg.Detect, Hash, Watermark)
	}
	srid, err := strconv.Atoi(cfg.Option("srid", "4326"))
	if err != nil || srid <= 0 {
		return nil, fmt.Errorf("xml: srid %q is not an EPSG code", cfg.Option("srid", ""))
	}
	format := "XML"
	if s.soapAction != "" {
		format = "SOAP"
	}
	// Items maps nothing and follows no watermark or tombstone of its own: the paths are XML
	// paths, read here from each record.
	items := cfg
	items.Mapping, items.WatermarkField, items.Tombstone = nil, "", ""
	var f *Fetch
	f = NewItems(&items, format, srid, complete, func(ctx context.Context, add func(*fastjson.Value) error) error {
		return cfg.scrubErr(s.read(ctx, f, add))
	})
	return f, nil
}

func newXMLSource(cfg *Config) (*xmlSource, error) {
	s := &xmlSource{cfg: cfg, endpoint: cfg.Endpoint}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("xml: the endpoint is not an http(s) URL")
	}
	s.endpoint = cfg.redact(cfg.Endpoint)
	rec := cfg.Option("record", "")
	if rec == "" {
		return nil, fmt.Errorf("xml: option record is required: the element path of one record, e.g. Envelope/Body/LayDanhSachResponse/DanhSach/Item or //Item")
	}
	if s.record, err = parseXMLPath(rec, false); err != nil {
		return nil, fmt.Errorf("xml: option record: %v", err)
	}
	if tp := cfg.Option("total_path", ""); tp != "" {
		p, err := parseXMLPath(tp, false)
		if err != nil {
			return nil, fmt.Errorf("xml: option total_path: %v", err)
		}
		s.total = &p
	}

	s.soapAction = cfg.Option("soap_action", "")
	s.request = cfg.Option("request", "")
	def := http.MethodGet
	if s.request != "" {
		def = http.MethodPost
	}
	s.method = strings.ToUpper(cfg.Option("method", def))
	switch {
	case s.method != http.MethodGet && s.method != http.MethodPost:
		return nil, fmt.Errorf("xml: method %q: use GET or POST", s.method)
	case s.method == http.MethodGet && s.request != "":
		return nil, fmt.Errorf("xml: method GET sends no body; the request template needs POST")
	case s.soapAction != "" && s.request == "":
		return nil, fmt.Errorf("xml: a SOAP call (soap_action) needs the request: the SOAP Body content, e.g. <LayDanhSach xmlns=\"…\"><Trang>{{page}}</Trang></LayDanhSach>")
	case s.soapAction != "" && s.method != http.MethodPost:
		return nil, fmt.Errorf("xml: a SOAP 1.1 call is a POST, not %s", s.method)
	}
	if s.soapAction != "" && !xmlWholeDocument(s.request) {
		s.request = `<?xml version="1.0" encoding="utf-8"?>` +
			`<soap:Envelope xmlns:soap="` + xmlSOAPEnvNS + `" xmlns:xsi="` + xmlXSINS + `" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
			`<soap:Body>` + s.request + `</soap:Body></soap:Envelope>`
	}

	switch p := cfg.Option("paging", "none"); p {
	case "none":
	case "page":
		s.paged = true
		if !xmlHasPlaceholder(s.request, "page") && !xmlHasPlaceholder(cfg.Endpoint, "page") {
			return nil, fmt.Errorf("xml: paging page needs {{page}} in the request or the endpoint URL")
		}
	default:
		return nil, fmt.Errorf("xml: paging %q: use none or page", p)
	}
	if s.firstPage, err = strconv.Atoi(cfg.Option("first_page", "1")); err != nil || s.firstPage < 0 {
		return nil, fmt.Errorf("xml: first_page %q is not a page number", cfg.Option("first_page", ""))
	}
	if s.pageSize, err = strconv.Atoi(cfg.Option("page_size", "500")); err != nil || s.pageSize <= 0 {
		return nil, fmt.Errorf("xml: page_size %q is not a positive number", cfg.Option("page_size", ""))
	}

	if len(cfg.Mapping) > 0 {
		names := make([]string, 0, len(cfg.Mapping))
		for f := range cfg.Mapping {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			p, err := parseXMLPath(cfg.Mapping[f], true)
			if err != nil {
				return nil, fmt.Errorf("xml: mapping of %s: %v", f, err)
			}
			s.fields = append(s.fields, xmlField{name: f, path: p})
		}
	}
	// A field named in the options is a mapped field or a path relative to the record.
	field := func(option, name string) (*xmlPath, error) {
		if name == "" {
			return nil, nil
		}
		if path, ok := cfg.Mapping[name]; ok {
			name = path
		}
		p, err := parseXMLPath(name, true)
		if err != nil {
			return nil, fmt.Errorf("xml: %s: %v", option, err)
		}
		return &p, nil
	}
	if s.lon, err = field("lon", cfg.Option("lon", "")); err != nil {
		return nil, err
	}
	if s.lat, err = field("lat", cfg.Option("lat", "")); err != nil {
		return nil, err
	}
	if (s.lon == nil) != (s.lat == nil) {
		return nil, fmt.Errorf("xml: give both lon and lat (the element paths of the coordinates), or neither for records")
	}
	if s.mark, err = field("watermark field", cfg.WatermarkField); err != nil {
		return nil, err
	}
	if s.tombstone, err = field("tombstone", cfg.Tombstone); err != nil {
		return nil, err
	}
	if s.key, err = field("key", cfg.Key); err != nil {
		return nil, err
	}
	if s.tombstone != nil && s.key == nil {
		return nil, fmt.Errorf("xml: a tombstone field reports deletions by key: give the key field")
	}
	return s, nil
}

// xmlWholeDocument says whether a request template is an XML document of its own (an XML
// declaration, or a SOAP Envelope written out) rather than the content of a SOAP Body.
func xmlWholeDocument(tmpl string) bool {
	t := strings.TrimSpace(tmpl)
	if strings.HasPrefix(t, "<?xml") {
		return true
	}
	d := xml.NewDecoder(strings.NewReader(t))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "Envelope"
		}
	}
}

// read walks the pages, adding each record.
func (s *xmlSource) read(ctx context.Context, f *Fetch, add func(*fastjson.Value) error) error {
	var (
		a       fastjson.Arena
		mark    watermark
		seen    int64
		prevSig uint64
		buf     []byte
	)
	for page := s.firstPage; ; page++ {
		h := fnv.New64a()
		n, total, err := s.page(ctx, page, func(rec *xnode) error {
			a.Reset()
			if s.mark != nil {
				if v, ok := rec.lookup(s.mark.segs); ok {
					if v = strings.TrimSpace(v); v != "" && (!mark.set || Later(v, mark.text)) {
						mark.set, mark.text = true, v
					}
				}
			}
			if s.tombstone != nil {
				if v, ok := rec.lookup(s.tombstone.segs); ok && truthy(a.NewString(strings.TrimSpace(v))) {
					if s.key != nil {
						if k, ok := rec.lookup(s.key.segs); ok {
							f.Deleted = append(f.Deleted, xmlClean(k))
						}
					}
					h.Write([]byte("\x00deleted\x00"))
					return nil
				}
			}
			v := s.item(&a, rec)
			buf = v.MarshalTo(buf[:0])
			h.Write(buf)
			return add(v)
		})
		if err != nil {
			return err
		}
		if !s.paged || n == 0 {
			break
		}
		sig := h.Sum64()
		if page > s.firstPage && sig == prevSig {
			return fmt.Errorf("xml: %s: page %d holds the same records as page %d: does the service read {{page}}?", s.endpoint, page, page-1)
		}
		prevSig = sig
		seen += int64(n)
		if total >= 0 && seen >= total {
			break
		}
	}
	if mark.set {
		f.Cursor = mark.text
	}
	return nil
}

// item turns a record into a GeoJSON Feature (its geometry null without lon and lat) whose
// properties are strings.
func (s *xmlSource) item(a *fastjson.Arena, rec *xnode) *fastjson.Value {
	props := a.NewObject()
	if s.fields != nil {
		for _, f := range s.fields {
			if v, ok := rec.lookup(f.path.segs); ok {
				props.Set(f.name, a.NewString(xmlClean(v)))
			}
		}
	} else {
		// The record's attributes, then its children that have text; a child wins over an
		// attribute of its name, the first of repeated children over the others.
		for _, at := range rec.attrs {
			if !xmlIsNSDecl(at.Name) && !xmlIsXSI(at.Name) {
				props.Set(xmlClean(at.Name.Local), a.NewString(xmlClean(at.Value)))
			}
		}
		done := map[string]bool{}
		for _, k := range rec.kids {
			name := xmlClean(k.name)
			if done[name] {
				continue
			}
			if v, ok := k.value(); ok {
				props.Set(name, a.NewString(xmlClean(v)))
				done[name] = true
			}
		}
	}
	feature := a.NewObject()
	feature.Set("type", a.NewString("Feature"))
	geom := a.NewNull()
	if s.lon != nil {
		x, okx := rec.lookup(s.lon.segs)
		y, oky := rec.lookup(s.lat.segs)
		if okx && oky && strings.TrimSpace(x) != "" && strings.TrimSpace(y) != "" {
			geom = a.NewObject()
			geom.Set("type", a.NewString("Point"))
			c := a.NewArray()
			c.SetArrayItem(0, xmlCoordinate(a, x))
			c.SetArrayItem(1, xmlCoordinate(a, y))
			geom.Set("coordinates", c)
		}
	}
	feature.Set("geometry", geom)
	feature.Set("properties", props)
	return feature
}

// xmlCoordinate is a number, or the text as it is (which the geometry check then names).
// A decimal comma (105,85) is read as a point.
func xmlCoordinate(a *fastjson.Arena, s string) *fastjson.Value {
	t := strings.TrimSpace(s)
	if !strings.Contains(t, ".") && strings.Count(t, ",") == 1 {
		t = strings.Replace(t, ",", ".", 1)
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return a.NewNumberFloat64(f)
	}
	return a.NewString(s)
}

// xmlClean is text as the hub keeps it: NFC, since Vietnamese decoded from legacy code pages
// arrives with combining tone marks.
func xmlClean(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return norm.NFC.String(s)
		}
	}
	return s
}

// page requests one page and hands its records to rec. It returns how many there were and
// the total the page states (-1 without total_path).
func (s *xmlSource) page(ctx context.Context, page int, rec func(*xnode) error) (n int, total int64, err error) {
	what := s.endpoint
	if s.paged {
		what = fmt.Sprintf("%s page %d", s.endpoint, page)
	}
	vals := map[string]string{
		"cursor":    s.cfg.Cursor,
		"page":      strconv.Itoa(page),
		"page_size": strconv.Itoa(s.pageSize),
		"token":     s.cfg.Secret,
	}
	u := xmlFill(s.cfg.Endpoint, vals, url.QueryEscape)
	var body io.Reader
	if s.method == http.MethodPost {
		body = strings.NewReader(xmlFill(s.request, vals, xmlEscape))
	}
	header := []string{"Accept", "text/xml, application/xml, application/soap+xml;q=0.9, */*;q=0.1"}
	if body != nil {
		header = append(header, "Content-Type", "text/xml; charset=utf-8")
	}
	if s.soapAction != "" {
		action := s.soapAction
		if !strings.HasPrefix(action, `"`) {
			action = `"` + action + `"`
		}
		header = append(header, "SOAPAction", action)
	}
	req, err := s.cfg.newRequest(ctx, s.method, u, body, header...)
	if err != nil {
		return 0, -1, fmt.Errorf("xml: %s: %v", what, err)
	}
	resp, err := s.cfg.HTTPClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, -1, ctx.Err()
		}
		return 0, -1, fmt.Errorf("xml: %s: %s", what, s.cfg.transportError(err, u))
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A SOAP service answers a fault with 500: say the fault rather than the status.
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if d, err := newXMLDecoder(bytes.NewReader(head), resp.Header.Get("Content-Type")); err == nil {
			var fe *xmlFaultError
			if errors.As(s.scan(d, what, nil, nil), &fe) {
				return 0, -1, fmt.Errorf("%w (HTTP %s)", fe, resp.Status)
			}
		}
		return 0, -1, fmt.Errorf("xml: %s: HTTP %s: %s", what, resp.Status, s.cfg.snippet(head, 200))
	}

	d, err := newXMLDecoder(resp.Body, resp.Header.Get("Content-Type"))
	if err != nil {
		return 0, -1, fmt.Errorf("xml: %s: %v", what, err)
	}
	total = -1
	err = s.scan(d, what, func(r *xnode) error {
		if n++; n%1000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		return rec(r)
	}, func(t string) error {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil // no total stated: the pages run until an empty one
		}
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return fmt.Errorf("xml: %s: the total (%s) is %q, not a number", what, s.total, t)
		}
		total = v
		return nil
	})
	if err != nil && ctx.Err() != nil {
		return n, total, ctx.Err()
	}
	return n, total, err
}

// xmlFaultError is a SOAP Fault the service answered.
type xmlFaultError struct{ msg string }

func (e *xmlFaultError) Error() string { return e.msg }

// errXMLRecordTooBig says a record outgrew xmlMaxRecordElements.
var errXMLRecordTooBig = errors.New("a record is too big")

// scan reads a document token by token, handing each record to rec and the text of the
// total element to total. A SOAP Fault is an error.
func (s *xmlSource) scan(d *xml.Decoder, what string, rec func(*xnode) error, total func(string) error) error {
	var (
		stack    []string
		root     string
		mismatch error
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			switch {
			case rec == nil:
				return nil
			case root == "":
				return fmt.Errorf("xml: %s: the response holds no XML document", what)
			}
			return mismatch
		}
		if err != nil {
			return xmlError(what, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if len(stack) == 1 {
				root = t.Name.Local
				if !s.record.anyDepth && s.record.segs[0] != "*" && s.record.segs[0] != root {
					// Said at the end, unless the document turns out to be a SOAP Fault.
					mismatch = fmt.Errorf("xml: %s: the document's root element is <%s>, but the record path %s starts at <%s>", what, root, s.record, s.record.segs[0])
				}
			}
			fault := len(stack) == 3 && stack[0] == "Envelope" && stack[1] == "Body" && stack[2] == "Fault"
			isRec := !fault && rec != nil && s.record.match(stack)
			isTotal := !fault && !isRec && total != nil && s.total != nil && s.total.match(stack)
			if !fault && !isRec && !isTotal {
				continue
			}
			count := 0
			node, err := xmlReadNode(d, t, &count)
			if err != nil {
				return xmlError(what, err)
			}
			stack = stack[:len(stack)-1]
			switch {
			case fault:
				return s.fault(what, node)
			case isRec:
				if err := rec(node); err != nil {
					return err
				}
			case isTotal:
				v, _ := node.value()
				if err := total(v); err != nil {
					return err
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func xmlError(what string, err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("xml: %s: the response is not well-formed XML: %v", what, err)
	case errors.Is(err, errXMLRecordTooBig):
		return fmt.Errorf("xml: %s: %v", what, err)
	}
	return fmt.Errorf("xml: %s: reading the response: %w", what, err)
}

// fault reports a SOAP 1.1 Fault (faultcode, faultstring, detail) or a SOAP 1.2 one
// (Code/Value, Reason/Text), scrubbed: a service may echo the token it refuses.
func (s *xmlSource) fault(what string, f *xnode) error {
	code, _ := f.lookup([]string{"faultcode"})
	if code == "" {
		code, _ = f.lookup([]string{"Code", "Value"})
	}
	msg, _ := f.lookup([]string{"faultstring"})
	if msg == "" {
		msg, _ = f.lookup([]string{"Reason", "Text"})
	}
	text := fmt.Sprintf("xml: %s: SOAP Fault %s: %s", what, strings.TrimSpace(code), strings.TrimSpace(msg))
	if d := f.child("detail"); d != nil {
		if t := strings.Join(strings.Fields(s.cfg.scrub(xmlAllText(d))), " "); t != "" {
			text += " (" + textCut(t, 200) + ")"
		}
	}
	return &xmlFaultError{s.cfg.scrub(text)}
}

func xmlAllText(n *xnode) string {
	var b strings.Builder
	var walk func(*xnode)
	walk = func(n *xnode) {
		b.Write(n.text)
		b.WriteByte(' ')
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	return b.String()
}

// newXMLDecoder reads a response in its encoding: a byte-order mark first (UTF-16 cannot
// even state its declaration in a form the decoder reads), then a charset other than UTF-8
// in the Content-Type, then the document's declaration.
func newXMLDecoder(body io.Reader, contentType string) (*xml.Decoder, error) {
	br := bufio.NewReader(body)
	head, _ := br.Peek(4)
	var r io.Reader = br
	decoded := true // r is UTF-8 whatever the declaration says
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		r = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Reader(br)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		r = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Reader(br)
	case bytes.HasPrefix(head, []byte{'<', 0}):
		r = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder().Reader(br)
	case bytes.HasPrefix(head, []byte{0, '<'}):
		r = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder().Reader(br)
	default:
		decoded = false
		if _, params, err := mime.ParseMediaType(contentType); err == nil && params["charset"] != "" {
			enc, name := charset.Lookup(params["charset"])
			if enc == nil {
				return nil, fmt.Errorf("the response's charset %q is not one the hub reads", params["charset"])
			}
			if name != "utf-8" {
				r, decoded = enc.NewDecoder().Reader(br), true
			}
		}
	}
	d := xml.NewDecoder(r)
	d.Entity = xml.HTMLEntity // &nbsp; and the like, which hand-written services send
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if decoded {
			return in, nil
		}
		enc, name := charset.Lookup(label)
		switch {
		case enc == nil:
			return nil, fmt.Errorf("the document's encoding %q is not one the hub reads", label)
		case name == "utf-8", strings.HasPrefix(name, "utf-16"):
			// A UTF-16 declaration read as bytes is a mislabel (a .NET StringWriter's): the
			// bytes are UTF-8.
			return in, nil
		}
		return enc.NewDecoder().Reader(in), nil
	}
	return d, nil
}

// xmlFill replaces the {{name}} placeholders of a template with escaped values.
func xmlFill(tmpl string, vals map[string]string, escape func(string) string) string {
	if !strings.Contains(tmpl, "{{") {
		return tmpl
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(tmpl[i:], "}}")
		if j < 0 {
			break
		}
		v, ok := vals[strings.TrimSpace(tmpl[i+2:i+j])]
		if !ok {
			b.WriteString(tmpl[:i+j+2])
			tmpl = tmpl[i+j+2:]
			continue
		}
		b.WriteString(tmpl[:i])
		b.WriteString(escape(v))
		tmpl = tmpl[i+j+2:]
	}
	b.WriteString(tmpl)
	return b.String()
}

func xmlHasPlaceholder(tmpl, name string) bool {
	return strings.Contains(xmlFill(tmpl, map[string]string{name: "\x00"}, func(s string) string { return s }), "\x00")
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
