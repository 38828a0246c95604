package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twpayne/go-geom/encoding/wkb"
	"github.com/twpayne/go-geom/encoding/wkt"
	"golang.org/x/text/unicode/norm"
)

// csvSource reads a delimited text file whose geometry is either a pair of lon/lat columns
// or one WKT column. The file is streamed: only the current row is in memory.
type csvSource struct {
	path  string
	f     *os.File
	r     *csv.Reader
	names []string
	keys  []string
	// lon/lat column indexes, or wktCol; -1 when unused
	lonCol, latCol, wktCol int
	// xy is set when the coordinates came from columns named x/y, which may as well be metres.
	xy      bool
	srid    int
	outside bool // some x/y value is outside longitude/latitude range
}

var csvLonNames = []string{"lon", "lng", "long", "longitude", "x", "kinh_do", "kinh độ", "kinhdo"}
var csvLatNames = []string{"lat", "latitude", "y", "vi_do", "vĩ độ", "vido"}
var csvWKTNames = []string{"wkt", "geometry", "geom", "the_geom"}

// openCSV opens a UTF-8 CSV (or .tsv) and finds its geometry columns: those named in opt, else
// lon/lat-like columns, else a WKT column.
func openCSV(path string, opt OpenOptions) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := newCSV(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func newCSV(f *os.File, path string, opt OpenOptions) (*csvSource, error) {
	base := filepath.Base(path)
	br := bufio.NewReaderSize(f, 1<<16)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	head, err := br.Peek(br.Size())
	if len(head) == 0 {
		return nil, fmt.Errorf("%s is empty", base)
	}
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	firstLine, _, _ := bytes.Cut(head, []byte("\n"))
	r := csv.NewReader(br)
	r.Comma = csvDelimiter(firstLine, strings.EqualFold(filepath.Ext(path), ".tsv"))
	r.FieldsPerRecord = -1 // a short or long row is that feature's problem, not the file's
	r.LazyQuotes = true
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the header line: %v", base, err)
	}
	s := &csvSource{path: path, f: f, r: r, lonCol: -1, latCol: -1, wktCol: -1}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			h = fmt.Sprintf("column_%d", i+1)
		}
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("%s: the header is not UTF-8 text; save the file as UTF-8 (in Excel: \"CSV UTF-8\")", base)
		}
		s.names = append(s.names, norm.NFC.String(h))
	}
	find := func(flag, given string, candidates []string) (int, error) {
		if given != "" {
			for i, n := range s.names {
				if strings.EqualFold(n, given) {
					return i, nil
				}
			}
			return -1, fmt.Errorf("%s: no column %q (%s); the columns are: %s", base, given, flag, strings.Join(s.names, ", "))
		}
		for _, c := range candidates {
			for i, n := range s.names {
				if strings.EqualFold(n, c) {
					return i, nil
				}
			}
		}
		return -1, nil
	}
	if s.lonCol, err = find("longitude column", opt.LonColumn, csvLonNames); err != nil {
		return nil, err
	}
	if s.latCol, err = find("latitude column", opt.LatColumn, csvLatNames); err != nil {
		return nil, err
	}
	if s.wktCol, err = find("WKT column", opt.WKTColumn, csvWKTNames); err != nil {
		return nil, err
	}
	switch {
	case opt.WKTColumn != "" || s.wktCol >= 0 && (s.lonCol < 0 || s.latCol < 0):
		s.lonCol, s.latCol = -1, -1
	case s.lonCol >= 0 && s.latCol >= 0:
		s.wktCol = -1
		s.srid = 4326
		s.xy = strings.EqualFold(s.names[s.lonCol], "x") || strings.EqualFold(s.names[s.latCol], "y")
	case s.lonCol >= 0 || s.latCol >= 0:
		return nil, fmt.Errorf("%s: found a longitude or a latitude column but not both; the columns are: %s", base, strings.Join(s.names, ", "))
	default:
		return nil, fmt.Errorf("%s: no coordinate columns: name them lon and lat (or longitude/latitude, x/y, kinh_do/vi_do), or put the geometry as WKT in a column named wkt; the columns are: %s", base, strings.Join(s.names, ", "))
	}
	for i, n := range s.names {
		if i != s.lonCol && i != s.latCol && i != s.wktCol {
			s.keys = append(s.keys, n)
		}
	}
	return s, nil
}

// csvDelimiter picks the most frequent of , ; and tab outside quotes in the header line:
// Vietnamese and European spreadsheets write ; because the comma is their decimal mark.
func csvDelimiter(header []byte, tsv bool) rune {
	if tsv {
		return '\t'
	}
	counts := map[rune]int{}
	inQuotes := false
	for _, c := range string(header) {
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case !inQuotes && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

func (s *csvSource) Format() string { return "CSV" }
func (s *csvSource) Keys() []string { return s.keys }
func (s *csvSource) Close() error   { return s.f.Close() }

// Files lets the importer hash the file for the report.
func (s *csvSource) Files() []string { return []string{s.path} }

// SRID is 4326 for lon/lat columns, 0 (ask for --srs) for WKT without an SRID= prefix and
// for x/y columns whose values are not all longitudes and latitudes (projected metres).
func (s *csvSource) SRID() int {
	if s.xy && s.outside {
		return 0
	}
	return s.srid
}

func (s *csvSource) Read(ctx context.Context, emit func([]Feature) error) error {
	base := filepath.Base(s.path)
	batch := make([]Feature, 0, batchSize)
	var buf []byte
	wktSRID := -1 // the SRID= prefix shared by every WKT value; 0 when they disagree
	for n := int64(1); ; n++ {
		rec, err := s.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("%s line %d: %v; is it a CSV file with %q between values?", base, pe.Line, pe.Err, s.r.Comma)
			}
			return fmt.Errorf("%s: %w", base, err)
		}
		line, _ := s.r.FieldPos(0)
		f := Feature{N: n}
		buf = append(buf[:0], '{')
		first := true
		for i, name := range s.names {
			if i == s.lonCol || i == s.latCol || i == s.wktCol {
				continue
			}
			v := ""
			if i < len(rec) {
				v = rec[i]
			}
			if !utf8.ValidString(v) {
				return fmt.Errorf("%s line %d, column %s: not UTF-8 text; save the file as UTF-8 (in Excel: \"CSV UTF-8\")", base, line, name)
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendJSONString(buf, name)
			buf = append(buf, ':')
			buf = appendCSVValue(buf, v)
		}
		f.Props = append(buf, '}')
		f.Props = slices.Clone(f.Props)
		switch {
		case len(rec) != len(s.names):
			f.Problem = fmt.Sprintf("line %d has %d values but the header has %d columns", line, len(rec), len(s.names))
		case s.wktCol >= 0:
			var srid int
			f.WKB, srid, f.Problem = csvWKT(rec[s.wktCol])
			if f.WKB != nil {
				switch wktSRID {
				case -1:
					wktSRID = srid
				case srid:
				default:
					wktSRID = 0
				}
			}
		default:
			f.WKB, f.Problem = s.point(rec)
		}
		if f.Problem != "" {
			f.WKB = nil
		}
		batch = append(batch, f)
		if len(batch) == batchSize {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(batch); err != nil {
				return err
			}
			batch = make([]Feature, 0, batchSize)
		}
	}
	if s.wktCol >= 0 && wktSRID > 0 {
		s.srid = wktSRID
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// point reads the lon/lat columns of a row; both empty means no geometry.
func (s *csvSource) point(rec []string) ([]byte, string) {
	lonText, latText := strings.TrimSpace(rec[s.lonCol]), strings.TrimSpace(rec[s.latCol])
	if lonText == "" && latText == "" {
		return nil, ""
	}
	lon, err := csvCoordinate(s.names[s.lonCol], lonText)
	if err != "" {
		return nil, err
	}
	lat, err := csvCoordinate(s.names[s.latCol], latText)
	if err != "" {
		return nil, err
	}
	if math.Abs(lon) > 180 || math.Abs(lat) > 90 {
		s.outside = true
		if !s.xy {
			return nil, fmt.Sprintf("%s %s, %s %s is not a longitude and latitude; if the file is in metres, name the columns x and y and give --srs", s.names[s.lonCol], lonText, s.names[s.latCol], latText)
		}
	}
	return appendXY(appendHeader(make([]byte, 0, 21), wkbPoint), lon, lat), ""
}

// csvCoordinate parses a coordinate; a decimal comma ("105,85") is accepted as spreadsheets
// in Vietnamese locales write it.
func csvCoordinate(name, v string) (float64, string) {
	if v == "" {
		return 0, fmt.Sprintf("%s is empty", name)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && strings.Count(v, ",") == 1 && !strings.Contains(v, ".") {
		f, err = strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Sprintf("%s '%s' is not a number", name, v)
	}
	return f, ""
}

var ewktSRID = regexp.MustCompile(`(?i)^\s*SRID=(\d+)\s*;`)

// csvWKT parses a WKT value (optionally EWKT with an SRID= prefix) into 2D WKB.
func csvWKT(v string) (g []byte, srid int, problem string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, 0, ""
	}
	if m := ewktSRID.FindStringSubmatch(v); m != nil {
		srid, _ = strconv.Atoi(m[1])
		v = v[len(m[0]):]
	}
	t, err := wkt.Unmarshal(v)
	if err != nil {
		return nil, 0, "the WKT geometry cannot be read: " + err.Error()
	}
	if t.Empty() {
		return nil, srid, ""
	}
	b, err := wkb.Marshal(t, binary.LittleEndian)
	if err == nil {
		b, err = wkbTo2D(make([]byte, 0, len(b)), b)
	}
	if err != nil {
		return nil, 0, "the WKT geometry cannot be converted: " + err.Error()
	}
	return b, srid, ""
}

// jsonNumber is the JSON number grammar. Text with a leading zero ("01234", a commune code)
// is not a number in it and so stays a string, as do "+5", ".5" and "1,5".
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// appendCSVValue writes a CSV value as the JSON type it looks like: number, boolean, null
// (empty) or string.
func appendCSVValue(dst []byte, v string) []byte {
	t := strings.TrimSpace(v)
	switch {
	case t == "":
		return append(dst, "null"...)
	case strings.EqualFold(t, "true"):
		return append(dst, "true"...)
	case strings.EqualFold(t, "false"):
		return append(dst, "false"...)
	case jsonNumber.MatchString(t):
		return append(dst, t...)
	}
	return appendJSONString(dst, v)
}

// Property encoding shared by the Shapefile, GeoPackage and CSV readers.

// appendJSONString appends s as a JSON string. It is normalised to NFC, because Vietnamese
// decoded from legacy code pages (and text typed on macOS) arrives with combining tone marks
// that would not compare equal to the precomposed letters; NUL characters are dropped since
// jsonb refuses them, and invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	s = norm.NFC.String(s)
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == 0:
			case c < 0x20:
				dst = fmt.Appendf(dst, `\u%04x`, c)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// appendJSONFloat appends f as a JSON number (null for NaN and infinities). With real set, a
// whole value keeps a decimal point ("12.0"), so a column declared with decimals is not
// mistaken for an integer one when every value happens to be whole.
func appendJSONFloat(dst []byte, f float64, real bool) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if real && !bytes.ContainsRune(dst[start:], '.') {
		dst = append(dst, '.', '0')
	}
	return dst
}
