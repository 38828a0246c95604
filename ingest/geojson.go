package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/valyala/fastjson"
	"golang.org/x/sync/errgroup"
)

// geojsonSource streams a FeatureCollection (or a sequence of Features, one per line) without
// holding the file: one goroutine cuts the text into features, the others parse them, so
// reading overlaps parsing on every core. It reads records the same way: a JSON array of
// objects, an object holding such an array ({"data": [...]}), or one object per line (JSON
// Lines); each object is a record's properties.
type geojsonSource struct {
	f        *os.File
	sum      hash.Hash
	sequence bool
	srid     int
	keys     []string
	plain    atomic.Bool // some items were plain objects (records), not Features
}

func openGeoJSON(path string, sequence bool) (*geojsonSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &geojsonSource{f: f, sequence: sequence, sum: sha256.New()}, nil
}

func (s *geojsonSource) Format() string {
	switch {
	case s.plain.Load() && s.sequence:
		return "JSON lines"
	case s.plain.Load():
		return "JSON"
	case s.sequence:
		return "GeoJSON sequence"
	}
	return "GeoJSON"
}
func (s *geojsonSource) SRID() int      { return s.srid }
func (s *geojsonSource) Keys() []string { return s.keys }
func (s *geojsonSource) Close() error   { return s.f.Close() }

// Checksum is the SHA-256 of the bytes read.
func (s *geojsonSource) Checksum() []byte { return s.sum.Sum(nil) }

type rawBatch struct {
	first int64
	items [][]byte
	// features says the items come from a FeatureCollection's "features": each must be a
	// Feature. Elsewhere an object that is not a Feature is a record.
	features bool
}

func (s *geojsonSource) Read(ctx context.Context, emit func([]Feature) error) error {
	r := bufio.NewReaderSize(io.TeeReader(s.f, s.sum), 1<<20)
	if !s.sequence {
		s.sequence = looksLikeSequence(r)
	}
	g, ctx := errgroup.WithContext(ctx)
	raws := make(chan rawBatch, 4)
	g.Go(func() error {
		defer close(raws)
		sc := &scanner{r: r}
		var err error
		if s.sequence {
			err = sc.sequence(ctx, raws)
		} else {
			err = sc.document(ctx, raws, &s.srid)
		}
		return err
	})
	workers := max(1, runtime.GOMAXPROCS(0))
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			var p fastjson.Parser
			for rb := range raws {
				out := make([]Feature, len(rb.items))
				for i, raw := range rb.items {
					var plain bool
					out[i], plain = parseItem(&p, raw, rb.first+int64(i), rb.features)
					if plain && !s.plain.Load() {
						s.plain.Store(true)
					}
					if out[i].N == 1 {
						s.keys = propertyKeys(&p, raw)
					}
				}
				err := emit(out)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if s.srid == 0 {
		s.srid = 4326 // RFC 7946: GeoJSON is WGS 84 longitude, latitude
	}
	return nil
}

// looksLikeSequence reports whether the text starts with a whole Feature on its first line
// (GeoJSON Text Sequences and newline-delimited GeoJSON), or with a whole object followed by
// another on the next line (JSON Lines), without consuming anything.
func looksLikeSequence(r *bufio.Reader) bool {
	head, _ := r.Peek(1 << 20)
	head = bytes.TrimLeft(head, " \t\r\n\x1e\xef\xbb\xbf")
	line, rest, found := bytes.Cut(head, []byte("\n"))
	if !found {
		return false
	}
	v, err := fastjson.ParseBytes(bytes.Trim(line, " \t\r\x1e"))
	if err != nil || v.Type() != fastjson.TypeObject {
		return false
	}
	switch string(v.GetStringBytes("type")) {
	case "Feature":
		return true
	case "FeatureCollection":
		return false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n\x1e")
	return len(rest) > 0 && rest[0] == '{'
}

// parseItem turns one item of a file into a feature: a Feature object gives its geometry and
// properties; another object, unless features says only Features may be there, is a record
// whose members are its properties (plain is then true).
func parseItem(p *fastjson.Parser, raw []byte, n int64, features bool) (f Feature, plain bool) {
	f = Feature{N: n, Props: []byte("{}")}
	v, err := p.ParseBytes(raw)
	if err != nil {
		f.Problem = "not valid JSON: " + err.Error()
		return f, false
	}
	if v.Type() != fastjson.TypeObject {
		f.Problem = fmt.Sprintf("the item is a JSON %s, not an object", v.Type())
		return f, false
	}
	t := string(v.GetStringBytes("type"))
	switch {
	case t == "Feature":
		return parseFeature(v, n), false
	case features:
		f.Problem = fmt.Sprintf(`"type" is %q, not "Feature"`, t)
		return f, false
	}
	f.Props = raw
	return f, true
}

// parseFeature turns one Feature object into WKB and its properties.
func parseFeature(v *fastjson.Value, n int64) Feature {
	f := Feature{N: n, Props: []byte("{}")}
	var err error
	if props := v.Get("properties"); props != nil && props.Type() == fastjson.TypeObject {
		f.Props = props.MarshalTo(nil)
	}
	g := v.Get("geometry")
	if g == nil || g.Type() == fastjson.TypeNull {
		return f // no geometry: the validation says so, with the feature's number
	}
	f.WKB, err = appendGeoJSONGeometry(make([]byte, 0, 256), g, 0)
	if err != nil {
		f.WKB, f.Problem, f.GeometryProblem = nil, err.Error(), true
	}
	return f
}

func propertyKeys(p *fastjson.Parser, raw []byte) []string {
	v, err := p.ParseBytes(raw)
	if err != nil {
		return nil
	}
	o := v.GetObject("properties")
	if string(v.GetStringBytes("type")) != "Feature" {
		o, _ = v.Object() // a record: its members
	}
	if o == nil {
		return nil
	}
	var keys []string
	o.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, string(k)) })
	return keys
}

// scanner cuts a JSON text into the raw bytes of its features. It only matches brackets and
// strings; parsing is left to the workers.
type scanner struct {
	r    *bufio.Reader
	off  int64
	n    int64 // features cut so far
	last byte
}

var errTruncated = errors.New("unexpected end of file")

func (s *scanner) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errTruncated
	}
	return fmt.Errorf("%w after feature %d (byte %d): the file is truncated or is not valid JSON", err, s.n, s.off)
}

func (s *scanner) byte() (byte, error) {
	c, err := s.r.ReadByte()
	if err == nil {
		s.off++
	}
	return c, err
}

// next returns the next byte that is not white space (nor a record separator or BOM byte).
func (s *scanner) next() (byte, error) {
	for {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n', 0x1e, 0xef, 0xbb, 0xbf:
			continue
		}
		return c, nil
	}
}

// value appends to buf the complete JSON value that starts with c.
func (s *scanner) value(c byte, buf []byte) ([]byte, error) {
	buf = append(buf, c)
	switch c {
	case '{', '[':
		depth := 1
		inString, escaped := false, false
		for depth > 0 {
			// Copy runs of ordinary bytes in bulk: the structure bytes are rare.
			chunk, err := s.r.Peek(s.r.Buffered())
			if len(chunk) == 0 {
				if _, err = s.r.Peek(1); err != nil {
					return nil, err
				}
				continue
			}
			i := 0
			for ; i < len(chunk) && depth > 0; i++ {
				b := chunk[i]
				if inString {
					switch {
					case escaped:
						escaped = false
					case b == '\\':
						escaped = true
					case b == '"':
						inString = false
					}
					continue
				}
				switch b {
				case '"':
					inString = true
				case '{', '[':
					depth++
				case '}', ']':
					depth--
				}
			}
			buf = append(buf, chunk[:i]...)
			_, _ = s.r.Discard(i)
			s.off += int64(i)
		}
		return buf, nil
	case '"':
		escaped := false
		for {
			b, err := s.byte()
			if err != nil {
				return nil, err
			}
			buf = append(buf, b)
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				return buf, nil
			}
		}
	default:
		for {
			b, err := s.r.ReadByte()
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return nil, err
			}
			switch b {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				_ = s.r.UnreadByte()
				return buf, nil
			}
			s.off++
			buf = append(buf, b)
		}
	}
}

func (s *scanner) send(ctx context.Context, out chan<- rawBatch, b *rawBatch) error {
	if len(b.items) == 0 {
		return nil
	}
	select {
	case out <- *b:
	case <-ctx.Done():
		return ctx.Err()
	}
	*b = rawBatch{first: s.n + 1, items: make([][]byte, 0, batchSize), features: b.features}
	return nil
}

func (s *scanner) add(ctx context.Context, out chan<- rawBatch, b *rawBatch, raw []byte) error {
	b.items = append(b.items, raw)
	s.n++
	if len(b.items) == batchSize {
		return s.send(ctx, out, b)
	}
	return nil
}

// document reads {"type": "FeatureCollection", "features": [...], "crs": ...}, a JSON array of
// records (or Features), or an object holding such an array under another member
// ({"data": [{...}, ...], "total": 2}): the first member whose value is an array of objects.
func (s *scanner) document(ctx context.Context, out chan<- rawBatch, srid *int) error {
	c, err := s.next()
	if err == io.EOF {
		return errors.New("the file is empty")
	}
	if err != nil {
		return s.fail(err)
	}
	switch c {
	case '[':
		return s.items(ctx, out, false)
	case '{':
	default:
		return fmt.Errorf("byte %d: a GeoJSON or JSON file starts with '{' or '[', found %q", s.off, c)
	}
	sawFeatures, sawCollection := false, false
	var otherType []byte // a "type" that is not FeatureCollection
	records := ""        // the member whose array was read as records
	for {
		c, err := s.next()
		if err != nil {
			return s.fail(err)
		}
		if c == '}' {
			break
		}
		if c == ',' {
			continue
		}
		if c != '"' {
			return s.fail(fmt.Errorf("expected a member name, found %q", c))
		}
		kb, err := s.value('"', nil)
		if err != nil {
			return s.fail(err)
		}
		key, _ := strconv.Unquote(string(kb))
		if c, err = s.next(); err != nil || c != ':' {
			return s.fail(fmt.Errorf("expected ':' after %q", key))
		}
		if c, err = s.next(); err != nil {
			return s.fail(err)
		}
		switch {
		case key == "features":
			if c != '[' {
				return fmt.Errorf(`byte %d: "features" must be an array`, s.off)
			}
			if records != "" {
				return fmt.Errorf(`the file holds records under %q and features under "features"; import one array per file`, records)
			}
			sawFeatures = true
			if err := s.items(ctx, out, true); err != nil {
				return err
			}
		case c == '[' && records == "" && !sawFeatures && !sawCollection && key != "links" && key != "bbox":
			first, err := s.next()
			if err != nil {
				return s.fail(err)
			}
			_ = s.r.UnreadByte()
			s.off--
			if first == '{' {
				records = key
				if err := s.items(ctx, out, false); err != nil {
					return err
				}
				continue
			}
			if _, err := s.value(c, nil); err != nil {
				return s.fail(err)
			}
		default:
			raw, err := s.value(c, nil)
			if err != nil {
				return s.fail(err)
			}
			switch key {
			case "type":
				if t, _ := strconv.Unquote(string(raw)); t == "FeatureCollection" {
					sawCollection = true
				} else {
					otherType = raw
				}
			case "crs":
				if *srid, err = crsMember(raw); err != nil {
					return err
				}
			}
		}
	}
	switch {
	case otherType != nil && !sawCollection && (records == "" || string(otherType) == `"Feature"`):
		return fmt.Errorf(`the file's "type" is %s; expected a FeatureCollection (or one Feature per line)`, otherType)
	case !sawFeatures && records == "":
		return errors.New(`not a GeoJSON FeatureCollection (no "features" member) nor JSON records (no array of objects)`)
	}
	return nil
}

// items reads the elements of an array whose '[' has been read.
func (s *scanner) items(ctx context.Context, out chan<- rawBatch, features bool) error {
	b := rawBatch{first: s.n + 1, features: features}
	for {
		c, err := s.next()
		if err != nil {
			return s.fail(err)
		}
		if c == ']' {
			break
		}
		if c == ',' {
			continue
		}
		raw, err := s.value(c, make([]byte, 0, 512))
		if err != nil {
			return s.fail(err)
		}
		if err := s.add(ctx, out, &b, raw); err != nil {
			return err
		}
	}
	return s.send(ctx, out, &b)
}

// sequence reads Features one after another (newline-delimited or RFC 8142 sequences).
func (s *scanner) sequence(ctx context.Context, out chan<- rawBatch) error {
	b := rawBatch{first: 1}
	for {
		c, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.fail(err)
		}
		if c != '{' {
			return s.fail(fmt.Errorf("expected a JSON object (a Feature or a record), found %q", c))
		}
		raw, err := s.value(c, make([]byte, 0, 512))
		if err != nil {
			return s.fail(err)
		}
		if err := s.add(ctx, out, &b, raw); err != nil {
			return err
		}
	}
	if s.n == 0 {
		return errors.New("the file is empty: no features")
	}
	return s.send(ctx, out, &b)
}

var crsCode = regexp.MustCompile(`(?i)(?:EPSG(?:::|:|/0/)|crs/OGC/1\.3/)(\d+|CRS84)$`)

// crsMember reads the 2008 GeoJSON "crs" member that GDAL still writes for non-WGS 84 data.
func crsMember(raw []byte) (int, error) {
	v, err := fastjson.ParseBytes(raw)
	if err != nil || v.Type() == fastjson.TypeNull {
		return 0, nil
	}
	name := string(v.GetStringBytes("properties", "name"))
	if strings.HasSuffix(strings.ToUpper(name), "CRS84") {
		return 4326, nil // OGC CRS84 in any spelling: WGS 84, longitude first
	}
	m := crsCode.FindStringSubmatch(name)
	if m == nil {
		return 0, fmt.Errorf(`the file's "crs" %q is not an EPSG code; give the coordinate system with --srs EPSG:N`, name)
	}
	if m[1] == "CRS84" {
		return 4326, nil
	}
	return strconv.Atoi(m[1])
}

// ItemFeature turns one JSON item read from elsewhere than a file (a page of an API) into a
// feature: a GeoJSON Feature gives its geometry and properties, any other object is a record
// whose members are its properties.
func ItemFeature(v *fastjson.Value, n int64) Feature {
	if v.Type() != fastjson.TypeObject {
		return Feature{N: n, Props: []byte("{}"), Problem: fmt.Sprintf("the item is a JSON %s, not an object", v.Type())}
	}
	if string(v.GetStringBytes("type")) == "Feature" {
		return parseFeature(v, n)
	}
	return Feature{N: n, Props: v.MarshalTo(nil)}
}

// GeometryWKB turns a GeoJSON geometry into 2D WKB.
func GeometryWKB(g *fastjson.Value) ([]byte, error) {
	return appendGeoJSONGeometry(make([]byte, 0, 256), g, 0)
}

// PointWKB is the 2D WKB of a point.
func PointWKB(x, y float64) []byte {
	return appendXY(appendHeader(make([]byte, 0, 21), 1), x, y)
}
