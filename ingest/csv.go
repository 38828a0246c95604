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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/twpayne/go-geom/encoding/wkb"
	"github.com/twpayne/go-geom/encoding/wkt"
	"golang.org/x/sync/errgroup"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// csvSource reads a delimited text file whose geometry is either a pair of lon/lat columns
// or one WKT column, or, for records, a table without geometry. The file is streamed: only the
// current row is in memory.
type csvSource struct {
	path  string
	f     *os.File
	r     *csv.Reader
	tail  *tailReader
	names []string
	keys  []string
	// lon/lat column indexes, or wktCol; -1 when unused
	lonCol, latCol, wktCol int
	// xy is set when the coordinates came from columns named x/y, which may as well be metres.
	xy      bool
	srid    int
	outside atomic.Bool // some x/y value is outside longitude/latitude range
	decoded string      // the encoding the text was decoded from, for messages; "" for UTF-8
}

var csvLonNames = []string{"lon", "lng", "long", "longitude", "x", "kinh_do", "kinh độ", "kinhdo"}
var csvLatNames = []string{"lat", "latitude", "y", "vi_do", "vĩ độ", "vido"}
var csvWKTNames = []string{"wkt", "geometry", "geom", "the_geom"}

// openCSV opens a CSV (or .tsv) and finds its geometry columns: those named in opt, else
// lon/lat-like columns, else a WKT column; with opt.Records every column is a field. The text
// is UTF-8 unless opt.Encoding or a UTF-16 byte-order mark says otherwise.
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

// csvDecoder picks the decoder of a CSV file from its first bytes (a UTF-16 byte-order mark)
// or the encoding the user gave; nil means UTF-8.
func csvDecoder(start []byte, label string) (dec *encoding.Decoder, name string, err error) {
	switch {
	case bytes.HasPrefix(start, []byte{0xff, 0xfe}):
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder(), "UTF-16", nil
	case bytes.HasPrefix(start, []byte{0xfe, 0xff}):
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder(), "UTF-16", nil
	case label == "":
		return nil, "", nil
	}
	switch strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToUpper(strings.TrimSpace(label))) {
	case "UTF16", "UTF16LE", "UNICODE", "UCS2":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder(), "UTF-16", nil
	case "UTF16BE":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder(), "UTF-16", nil
	}
	enc, known := lookupEncoding(label)
	if !known {
		return nil, "", fmt.Errorf("--encoding %q is not a text encoding this importer knows; use e.g. UTF-8, CP1258 (Vietnamese Windows), UTF-16 or windows-1252", label)
	}
	if enc == nil {
		return nil, "", nil
	}
	return enc.NewDecoder(), label, nil
}

func newCSV(f *os.File, path string, opt OpenOptions) (*csvSource, error) {
	base := filepath.Base(path)
	var in io.Reader = f
	start := make([]byte, 2)
	n, _ := io.ReadFull(f, start)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	dec, decoded, err := csvDecoder(start[:n], opt.Encoding)
	if err != nil {
		return nil, err
	}
	if dec != nil {
		in = transform.NewReader(f, dec)
	}
	br := bufio.NewReaderSize(in, 1<<16)
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
	tail := &tailReader{r: br}
	r := csv.NewReader(tail)
	r.Comma = csvDelimiter(firstLine, strings.EqualFold(filepath.Ext(path), ".tsv"))
	r.FieldsPerRecord = -1 // a short or long row is that feature's problem, not the file's
	r.LazyQuotes = true
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the header line: %v", base, err)
	}
	s := &csvSource{path: path, f: f, r: r, tail: tail, lonCol: -1, latCol: -1, wktCol: -1, decoded: decoded}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			h = fmt.Sprintf("column_%d", i+1)
		}
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("%s: the header is not UTF-8 text; save the file as UTF-8 (in Excel: \"CSV UTF-8\") or give its encoding with --encoding (e.g. CP1258)", base)
		}
		s.names = append(s.names, norm.NFC.String(h))
	}
	s.names = uniqueNames(s.names)
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
	if opt.Records && opt.LonColumn == "" && opt.LatColumn == "" && opt.WKTColumn == "" {
		s.keys = slices.Clone(s.names)
		return s, nil
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
		return nil, fmt.Errorf("%s: no coordinate columns: name them lon and lat (or longitude/latitude, x/y, kinh_do/vi_do), or put the geometry as WKT in a column named wkt; the columns are: %s. "+
			"If the file is a table without geometry (a register, a list), import it as a record collection with --records", base, strings.Join(s.names, ", "))
	}
	for i, n := range s.names {
		if i != s.lonCol && i != s.latCol && i != s.wktCol {
			s.keys = append(s.keys, n)
		}
	}
	return s, nil
}

// uniqueNames suffixes repeated column names (_2, _3…) so that no value hides another.
func uniqueNames(names []string) []string {
	seen := map[string]bool{}
	for _, n := range names {
		seen[strings.ToLower(n)] = true
	}
	counted := map[string]bool{}
	for i, n := range names {
		if !counted[strings.ToLower(n)] {
			counted[strings.ToLower(n)] = true
			continue
		}
		for k := 2; ; k++ {
			c := fmt.Sprintf("%s_%d", n, k)
			if !seen[strings.ToLower(c)] {
				names[i] = c
				seen[strings.ToLower(c)] = true
				break
			}
		}
	}
	return names
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

// tailReader remembers the last bytes read, to tell a closed quote at the end of the file
// from one never closed (which a lazy-quote CSV reader takes as running to the end).
type tailReader struct {
	r    io.Reader
	last [8]byte
	n    int
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n >= len(t.last) {
		copy(t.last[:], p[n-len(t.last):n])
		t.n = len(t.last)
	} else if n > 0 {
		keep := min(t.n, len(t.last)-n)
		copy(t.last[:], t.last[t.n-keep:t.n])
		copy(t.last[keep:], p[:n])
		t.n = keep + n
	}
	return n, err
}

// endsWithQuote says whether the text ends with a quote, line ends aside.
func (t *tailReader) endsWithQuote() bool {
	b := bytes.TrimRight(t.last[:t.n], "\r\n")
	return len(b) > 0 && b[len(b)-1] == '"'
}

func (s *csvSource) Format() string { return "CSV" }
func (s *csvSource) Keys() []string { return s.keys }
func (s *csvSource) Close() error   { return s.f.Close() }

// Files lets the importer hash the file for the report.
func (s *csvSource) Files() []string { return []string{s.path} }

// SRID is 4326 for lon/lat columns, 0 (ask for --srs) for WKT without an SRID= prefix, for
// x/y columns whose values are not all longitudes and latitudes (projected metres) and for a
// table without geometry.
func (s *csvSource) SRID() int {
	if s.xy && s.outside.Load() {
		return 0
	}
	return s.srid
}

func (s *csvSource) geometryColumn(i int) bool {
	return i == s.lonCol || i == s.latCol || i == s.wktCol
}

// csvRow is a row as the reading goroutine hands it to the encoding ones.
type csvRow struct {
	n, line int64
	rec     []string
	// spans is the line where a value running over several lines starts, 0 if none does.
	spans int64
}

// Read cuts the file into rows on one goroutine and encodes them on the others.
func (s *csvSource) Read(ctx context.Context, emit func([]Feature) error) error {
	base := filepath.Base(s.path)
	s.r.ReuseRecord = false // the rows go to other goroutines
	g, ctx := errgroup.WithContext(ctx)
	rows := make(chan []csvRow, 4)
	g.Go(func() error {
		defer close(rows)
		return s.cut(ctx, base, rows)
	})
	var mu sync.Mutex
	wktSRID := -1 // the SRID= prefix shared by every WKT value; 0 when they disagree
	for range max(1, runtime.GOMAXPROCS(0)) {
		g.Go(func() error {
			var buf []byte
			for b := range rows {
				out := make([]Feature, len(b))
				for i, row := range b {
					var srid int
					var err error
					if out[i], srid, buf, err = s.feature(row, buf); err != nil {
						return err
					}
					if out[i].WKB != nil && s.wktCol >= 0 {
						mu.Lock()
						switch wktSRID {
						case -1:
							wktSRID = srid
						case srid:
						default:
							wktSRID = 0
						}
						mu.Unlock()
					}
				}
				if err := emit(out); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if s.wktCol >= 0 && wktSRID > 0 {
		s.srid = wktSRID
	}
	return nil
}

// cut reads the rows and sends them in batches.
func (s *csvSource) cut(ctx context.Context, base string, out chan<- []csvRow) error {
	batch := make([]csvRow, 0, batchSize)
	send := func() error {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = make([]csvRow, 0, batchSize)
		return nil
	}
	// The last row when a value of its last column ran over several lines: if the file does not
	// end with a quote, that value's opening quote was never closed.
	var last csvRow
	openCol := -1
	for n := int64(1); ; n++ {
		rec, err := s.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &rowError{Problem{Feature: n, Line: int64(pe.StartLine),
					Reason: fmt.Sprintf("%v at line %d, character %d; is it a CSV file with %q between values?", pe.Err, pe.Line, pe.Column, s.r.Comma)}}
			}
			return fmt.Errorf("%s: %w", base, err)
		}
		line, _ := s.r.FieldPos(0)
		row := csvRow{n: n, line: int64(line), rec: rec}
		openCol = -1
		for i, v := range rec {
			if strings.IndexByte(v, '\n') >= 0 {
				l, _ := s.r.FieldPos(i)
				row.spans = int64(l)
				if i == len(rec)-1 {
					openCol = i
				}
				break
			}
		}
		last = row
		batch = append(batch, row)
		if len(batch) == batchSize {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if openCol >= 0 && !s.tail.endsWithQuote() {
		name := fmt.Sprintf("column_%d", openCol+1)
		if openCol < len(s.names) {
			name = s.names[openCol]
		}
		return &rowError{Problem{Feature: last.n, Line: last.spans, Field: name,
			Reason: "the quoted value that starts here is never closed: a closing \" is missing, so the rest of the file was read as this one value"}}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}

// feature encodes a row: its properties as JSON, its geometry as WKB. buf is scratch space,
// returned for the next row.
func (s *csvSource) feature(row csvRow, buf []byte) (f Feature, srid int, _ []byte, _ error) {
	rec := row.rec
	f = Feature{N: row.n, Line: row.line}
	buf = append(buf[:0], '{')
	first := true
	for i, name := range s.names {
		if s.geometryColumn(i) {
			continue
		}
		v := ""
		if i < len(rec) {
			v = rec[i]
		}
		if !utf8.ValidString(v) {
			return f, 0, buf, &rowError{Problem{Feature: row.n, Line: row.line, Field: name,
				Reason: "not UTF-8 text; save the file as UTF-8 (in Excel: \"CSV UTF-8\") or give its encoding with --encoding (e.g. CP1258)"}}
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, name)
		buf = append(buf, ':')
		buf = appendCSVValue(buf, v)
	}
	f.Props = slices.Clone(append(buf, '}'))
	switch {
	case len(rec) != len(s.names):
		f.Problem = fmt.Sprintf("expected %d columns, found %d", len(s.names), len(rec))
		if row.spans > 0 {
			f.Problem += fmt.Sprintf(" (the value that starts on line %d runs over several lines: is a closing quote missing?)", row.spans)
		}
	case s.wktCol >= 0:
		f.WKB, srid, f.Problem = csvWKT(rec[s.wktCol])
		f.GeometryProblem = f.Problem != ""
		if f.Problem != "" {
			f.Column = s.names[s.wktCol]
		}
	case s.lonCol >= 0:
		f.WKB, f.Problem = s.point(rec)
		f.GeometryProblem = f.Problem != ""
	}
	if f.Problem != "" {
		f.WKB = nil
	}
	return f, srid, buf, nil
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
		s.outside.Store(true)
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

// isJSONNumber matches the JSON number grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
// Text with a leading zero ("01234", a commune code) is not a number in it and so stays a
// string, as do "+5", ".5" and "1,5".
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

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
	case isJSONNumber(t):
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
	if !surelyNFC(s) {
		s = norm.NFC.String(s)
	}
	dst = append(dst, '"')
	valid := utf8.ValidString(s)
	start := 0 // the run of bytes that go as they are
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			if valid {
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case 0:
		default:
			dst = fmt.Appendf(dst, `\u%04x`, c)
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// surelyNFC says, faster than the normaliser, that s is in NFC: no rune of s composes with
// another or has a canonical replacement, as holds for ASCII, for the Latin letters up to
// U+02FF (ă đ ơ ư…) and for the precomposed Vietnamese letters (U+1E00–U+1EFF: ầ ộ ữ…).
func surelyNFC(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c < 0x80:
			i++
		case c < 0xcc: // 2-byte runes below U+0300
			i += 2
		case c == 0xe1 && i+1 < len(s) && s[i+1] >= 0xb8 && s[i+1] <= 0xbb: // U+1E00–U+1EFF
			i += 3
		default:
			return false
		}
	}
	return true
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
