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

	"github.com/valyala/fastjson"
	"golang.org/x/sync/errgroup"
)

// geojsonSource streams a FeatureCollection (or a sequence of Features, one per line) without
// holding the file: one goroutine cuts the text into features, the others parse them, so
// reading overlaps parsing on every core.
type geojsonSource struct {
	f        *os.File
	sum      hash.Hash
	sequence bool
	srid     int
	keys     []string
}

func openGeoJSON(path string, sequence bool) (*geojsonSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &geojsonSource{f: f, sequence: sequence, sum: sha256.New()}, nil
}

func (s *geojsonSource) Format() string {
	if s.sequence {
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
			err = sc.collection(ctx, raws, &s.srid)
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
					out[i] = parseFeature(&p, raw, rb.first+int64(i))
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
// (GeoJSON Text Sequences and newline-delimited GeoJSON), without consuming anything.
func looksLikeSequence(r *bufio.Reader) bool {
	head, _ := r.Peek(1 << 20)
	head = bytes.TrimLeft(head, " \t\r\n\x1e\xef\xbb\xbf")
	line, _, found := bytes.Cut(head, []byte("\n"))
	if !found {
		return false
	}
	v, err := fastjson.ParseBytes(bytes.Trim(line, " \t\r\x1e"))
	return err == nil && string(v.GetStringBytes("type")) == "Feature"
}

// parseFeature turns one Feature object into WKB and its properties.
func parseFeature(p *fastjson.Parser, raw []byte, n int64) Feature {
	f := Feature{N: n, Props: []byte("{}")}
	v, err := p.ParseBytes(raw)
	if err != nil {
		f.Problem = "not valid JSON: " + err.Error()
		return f
	}
	if t := string(v.GetStringBytes("type")); t != "Feature" {
		f.Problem = fmt.Sprintf(`"type" is %q, not "Feature"`, t)
		return f
	}
	if props := v.Get("properties"); props != nil && props.Type() == fastjson.TypeObject {
		f.Props = props.MarshalTo(nil)
	}
	g := v.Get("geometry")
	if g == nil || g.Type() == fastjson.TypeNull {
		return f // no geometry: the validation says so, with the feature's number
	}
	f.WKB, err = appendGeoJSONGeometry(make([]byte, 0, 256), g, 0)
	if err != nil {
		f.WKB, f.Problem = nil, err.Error()
	}
	return f
}

func propertyKeys(p *fastjson.Parser, raw []byte) []string {
	v, err := p.ParseBytes(raw)
	if err != nil {
		return nil
	}
	o := v.GetObject("properties")
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
	return fmt.Errorf("%w after feature %d (byte %d): the file is truncated or is not valid GeoJSON", err, s.n, s.off)
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
	*b = rawBatch{first: s.n + 1, items: make([][]byte, 0, batchSize)}
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

// collection reads {"type": "FeatureCollection", "features": [...], "crs": ...}.
func (s *scanner) collection(ctx context.Context, out chan<- rawBatch, srid *int) error {
	c, err := s.next()
	if err == io.EOF {
		return errors.New("the file is empty")
	}
	if err != nil {
		return s.fail(err)
	}
	if c != '{' {
		return fmt.Errorf("byte %d: a GeoJSON file starts with '{', found %q", s.off, c)
	}
	b := rawBatch{first: 1}
	sawFeatures, sawType := false, false
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
		switch key {
		case "features":
			if c != '[' {
				return fmt.Errorf(`byte %d: "features" must be an array`, s.off)
			}
			sawFeatures = true
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
		default:
			raw, err := s.value(c, nil)
			if err != nil {
				return s.fail(err)
			}
			switch key {
			case "type":
				sawType = true
				if t, _ := strconv.Unquote(string(raw)); t != "FeatureCollection" {
					return fmt.Errorf(`the file's "type" is %s; expected a FeatureCollection (or one Feature per line)`, raw)
				}
			case "crs":
				if *srid, err = crsMember(raw); err != nil {
					return err
				}
			}
		}
	}
	if !sawType || !sawFeatures {
		return errors.New(`not a GeoJSON FeatureCollection: no "type" or no "features" member`)
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
			return s.fail(fmt.Errorf("expected a Feature object, found %q", c))
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
