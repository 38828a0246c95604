package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// The Shapefile reader reads the .shp and .dbf side by side, record by record, so memory stays
// at one record whatever the file's size; inside a zip the members are decompressed as they
// are read. The .shx (an index for random access) is not needed for that and may be missing.
// The format is read directly rather than through a library so that a bad value becomes the
// problem of one feature, with its number, instead of an error for the whole file.

// shpSet is the files of one Shapefile, on disk or in a zip.
type shpSet struct {
	stem   string            // the .shp's name without directory and extension, for messages
	disk   map[string]string // extension (".dbf") → path
	zipped map[string]*zip.File
	zip    *zip.ReadCloser
	zpath  string
}

func (s *shpSet) has(ext string) bool {
	_, d := s.disk[ext]
	_, z := s.zipped[ext]
	return d || z
}

func (s *shpSet) open(ext string) (io.ReadCloser, error) {
	if s.zip != nil {
		return s.zipped[ext].Open()
	}
	return os.Open(s.disk[ext])
}

// small reads a .prj or .cpg; "" when there is none.
func (s *shpSet) small(ext string) (string, error) {
	if !s.has(ext) {
		return "", nil
	}
	rc, err := s.open(ext)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s%s: %w", s.stem, ext, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff")), nil
}

func (s *shpSet) close() {
	if s.zip != nil {
		s.zip.Close()
	}
}

// files lists what the importer hashes for the report.
func (s *shpSet) files() []string {
	if s.zip != nil {
		return []string{s.zpath}
	}
	var out []string
	for _, ext := range []string{".shp", ".shx", ".dbf", ".prj", ".cpg"} {
		if p, ok := s.disk[ext]; ok {
			out = append(out, p)
		}
	}
	return out
}

// diskShapefile finds the siblings of a .shp, ignoring case: sets copied from Windows often
// come as ROADS.SHP with roads.dbf.
func diskShapefile(path string) (*shpSet, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	entries, err := os.ReadDir(filepath.Clean(dir + "."))
	if err != nil {
		return nil, err
	}
	set := &shpSet{stem: stem, disk: map[string]string{".shp": path}}
	for _, e := range entries {
		n := e.Name()
		ext := strings.ToLower(filepath.Ext(n))
		if e.IsDir() || ext == ".shp" || !strings.EqualFold(strings.TrimSuffix(n, filepath.Ext(n)), stem) {
			continue
		}
		if old, ok := set.disk[ext]; ok && strings.HasPrefix(filepath.Base(old), stem+".") {
			continue // an exact-case match wins
		}
		set.disk[ext] = filepath.Join(dir, n)
	}
	return set, nil
}

// zippedShapefile finds the one Shapefile in a zip.
func zippedShapefile(path string) (*shpSet, error) {
	base := filepath.Base(path)
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read as a zip file: %v", base, err)
	}
	byName := map[string]*zip.File{}
	var shps []*zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || strings.HasPrefix(f.Name, "__MACOSX/") || strings.HasPrefix(pathpkg.Base(f.Name), "._") {
			continue
		}
		byName[strings.ToLower(f.Name)] = f
		if strings.EqualFold(pathpkg.Ext(f.Name), ".shp") {
			shps = append(shps, f)
		}
	}
	if len(shps) != 1 {
		zr.Close()
		if len(shps) == 0 {
			return nil, fmt.Errorf("%s holds no .shp file: zip the .shp, .shx, .dbf, .prj and .cpg of one Shapefile", base)
		}
		names := make([]string, len(shps))
		for i, f := range shps {
			names[i] = f.Name
		}
		return nil, fmt.Errorf("%s holds %d Shapefiles (%s); import them one at a time: unzip it and import each .shp, or zip one set per file", base, len(shps), strings.Join(names, ", "))
	}
	shp := shps[0]
	stemPath := strings.TrimSuffix(shp.Name, pathpkg.Ext(shp.Name))
	set := &shpSet{stem: pathpkg.Base(stemPath), zip: zr, zpath: path, zipped: map[string]*zip.File{".shp": shp}}
	for _, ext := range []string{".shx", ".dbf", ".prj", ".cpg"} {
		if f, ok := byName[strings.ToLower(stemPath)+ext]; ok {
			set.zipped[ext] = f
		}
	}
	return set, nil
}

// dbfField is one column of the .dbf.
type dbfField struct {
	name     string
	key      []byte // `"name":`, encoded once
	typ      byte
	off, len int
	dec      int
	skip     bool // memo and binary fields live in other files (.dbt): not read
}

type shpSource struct {
	set    *shpSet
	shp    io.ReadCloser
	dbf    io.ReadCloser
	shpR   *bufio.Reader
	dbfR   *bufio.Reader
	shpOff int64 // bytes of the .shp consumed
	shpEnd int64 // its length according to its header
	buf    []byte

	srid    int
	dec     *encoding.Decoder // nil for UTF-8
	encFrom string            // where the encoding came from, for messages
	fields  []dbfField
	keys    []string
	nrec    int64
	recLen  int
	ldid    byte // the .dbf's language driver: only a hint for error messages
}

// openShapefile opens a .shp with its sibling files, or the one Shapefile in a .zip. The text
// encoding comes from the .cpg, else opt.Encoding (also when the .cpg names an encoding this
// reader does not know), else UTF-8; the SRID from the .prj, 0 without one.
func openShapefile(path string, opt OpenOptions) (Source, error) {
	var set *shpSet
	var err error
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		set, err = zippedShapefile(path)
	} else {
		set, err = diskShapefile(path)
	}
	if err != nil {
		return nil, err
	}
	s := &shpSource{set: set}
	if err := s.open(opt); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *shpSource) open(opt OpenOptions) error {
	set := s.set
	if !set.has(".dbf") {
		return fmt.Errorf("%s.dbf is missing: a Shapefile needs its .shp, .shx and .dbf side by side, with the same name", set.stem)
	}
	// UTF-8 is the default because QGIS and GDAL write it today (with a .cpg saying so).
	cpg, err := set.small(".cpg")
	if err != nil {
		return err
	}
	label := ""
	if _, known := lookupEncoding(cpg); cpg != "" && (known || opt.Encoding == "") {
		label, s.encFrom = cpg, set.stem+".cpg"
	} else if opt.Encoding != "" {
		label, s.encFrom = opt.Encoding, "--encoding"
	}
	if label == "" {
		label = "UTF-8"
	}
	enc, known := lookupEncoding(label)
	if !known {
		return fmt.Errorf("%s names the text encoding %q, which this importer does not know; use e.g. UTF-8, CP1258 (Vietnamese Windows), windows-1252 or ISO-8859-1", s.encFrom, label)
	}
	if enc != nil {
		s.dec = enc.NewDecoder()
	}

	if prj, err := set.small(".prj"); err != nil {
		return err
	} else if prj != "" && opt.SRID == 0 {
		if s.srid, err = prjToEPSG(prj); err != nil {
			return fmt.Errorf("%s.prj: %v; give the coordinate system with --srs EPSG:N", set.stem, err)
		}
	}

	if s.shp, err = set.open(".shp"); err != nil {
		return err
	}
	s.shpR = bufio.NewReaderSize(s.shp, 1<<16)
	var h [100]byte
	if _, err := io.ReadFull(s.shpR, h[:]); err != nil {
		return fmt.Errorf("%s.shp is too short to be a Shapefile", set.stem)
	}
	if code := binary.BigEndian.Uint32(h[0:]); code != 9994 {
		return fmt.Errorf("%s.shp is not a Shapefile (its file code is %d, not 9994)", set.stem, code)
	}
	s.shpOff = 100
	if s.shpEnd = int64(binary.BigEndian.Uint32(h[24:])) * 2; s.shpEnd < 100 {
		s.shpEnd = math.MaxInt64
	}

	if s.dbf, err = set.open(".dbf"); err != nil {
		return err
	}
	s.dbfR = bufio.NewReaderSize(s.dbf, 1<<16)
	return s.dbfHeader()
}

// dbfHeader reads the dBase header and field descriptors.
func (s *shpSource) dbfHeader() error {
	bad := func(why string) error {
		return fmt.Errorf("%s.dbf is not a readable dBase file: %s", s.set.stem, why)
	}
	var h [32]byte
	if _, err := io.ReadFull(s.dbfR, h[:]); err != nil {
		return bad("it is too short")
	}
	s.nrec = int64(binary.LittleEndian.Uint32(h[4:]))
	s.ldid = h[29]
	hlen := int(binary.LittleEndian.Uint16(h[8:]))
	s.recLen = int(binary.LittleEndian.Uint16(h[10:]))
	if hlen < 33 || s.recLen < 1 {
		return bad("its header is damaged")
	}
	desc := make([]byte, hlen-32)
	if _, err := io.ReadFull(s.dbfR, desc); err != nil {
		return bad("its header is truncated")
	}
	off := 1 // the deletion flag
	seen := map[string]bool{}
	for i := 0; i+32 <= len(desc) && desc[i] != 0x0d; i += 32 {
		d := desc[i : i+32]
		raw, _, _ := bytes.Cut(d[:11], []byte{0})
		f := dbfField{typ: d[11], off: off, len: int(d[16]), dec: int(d[17])}
		if f.typ == 'C' { // long character fields keep the high byte of the width in the decimals
			f.len += f.dec << 8
			f.dec = 0
		}
		if off += f.len; off > s.recLen {
			return bad("its fields are wider than its records")
		}
		name, err := s.text(bytes.TrimSpace(raw))
		if err != nil || name == "" {
			name = fmt.Sprintf("field_%d", len(s.fields)+1)
		}
		for base, k := name, 2; seen[name]; k++ { // dBase names are cut at 10 characters
			name = fmt.Sprintf("%s_%d", base, k)
		}
		seen[name] = true
		f.name = name
		f.key = append(appendJSONString(nil, name), ':')
		switch f.typ {
		case 'C', 'N', 'F', 'D', 'L':
			s.keys = append(s.keys, name)
		default:
			f.skip = true
		}
		s.fields = append(s.fields, f)
	}
	return nil
}

// text decodes a .dbf string with the set's encoding.
func (s *shpSource) text(b []byte) (string, error) {
	if s.dec != nil {
		out, err := s.dec.Bytes(b)
		return string(out), err
	}
	if !utf8.Valid(b) {
		// Writers cut values at the field width in bytes, which can split the last letter.
		b = trimPartialRune(b)
		if !utf8.Valid(b) {
			return "", errNotUTF8
		}
	}
	return string(b), nil
}

var errNotUTF8 = errors.New("not UTF-8")

func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

func (s *shpSource) Format() string  { return "Shapefile" }
func (s *shpSource) SRID() int       { return s.srid }
func (s *shpSource) Keys() []string  { return s.keys }
func (s *shpSource) Files() []string { return s.set.files() }
func (s *shpSource) Close() error {
	if s.shp != nil {
		s.shp.Close()
	}
	if s.dbf != nil {
		s.dbf.Close()
	}
	s.set.close()
	return nil
}

func (s *shpSource) Read(ctx context.Context, emit func([]Feature) error) error {
	stem := s.set.stem
	batch := make([]Feature, 0, batchSize)
	rec := make([]byte, s.recLen)
	var props []byte
	for n := int64(1); ; n++ {
		content, more, err := s.nextShape()
		if err != nil {
			return err
		}
		if !more {
			if n-1 < s.nrec {
				return fmt.Errorf("%s.shp has %d shapes but %s.dbf has %d records: the files do not belong together, or one is truncated", stem, n-1, stem, s.nrec)
			}
			break
		}
		if n > s.nrec {
			return fmt.Errorf("%s.shp has more shapes than the %d records of %s.dbf: the files do not belong together, or one is truncated", stem, s.nrec, stem)
		}
		if _, err := io.ReadFull(s.dbfR, rec); err != nil {
			return fmt.Errorf("%s.dbf ends at record %d of %d: the file is truncated", stem, n, s.nrec)
		}
		if rec[0] == '*' {
			continue // deleted, as GDAL and ArcGIS treat it
		}
		f := Feature{N: n}
		f.WKB, f.Problem = shapeWKB(content)
		f.GeometryProblem = f.Problem != ""
		var problem string
		if props, problem, err = s.appendProps(props[:0], rec); err != nil {
			return fmt.Errorf("%s.dbf record %d: %w", stem, n, err)
		}
		f.Props = bytes.Clone(props)
		if problem != "" {
			f.WKB, f.GeometryProblem = nil, false
			if f.Problem != "" {
				f.Problem += "; "
			}
			f.Problem += problem
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
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// nextShape returns the content of the next .shp record (valid until the next call).
func (s *shpSource) nextShape() ([]byte, bool, error) {
	if s.shpOff >= s.shpEnd {
		return nil, false, nil
	}
	var h [8]byte
	if _, err := io.ReadFull(s.shpR, h[:]); err == io.EOF {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("%s.shp is truncated after %d bytes", s.set.stem, s.shpOff)
	}
	size := int64(binary.BigEndian.Uint32(h[4:])) * 2
	if size < 4 || size > 1<<30 {
		return nil, false, fmt.Errorf("%s.shp: the record at byte %d says it has %d bytes: the file is damaged", s.set.stem, s.shpOff, size)
	}
	if int64(cap(s.buf)) < size {
		s.buf = make([]byte, size)
	}
	b := s.buf[:size]
	if _, err := io.ReadFull(s.shpR, b); err != nil {
		return nil, false, fmt.Errorf("%s.shp is truncated in the record at byte %d", s.set.stem, s.shpOff)
	}
	s.shpOff += 8 + size
	return b, true, nil
}

// appendProps writes the record's attributes as a JSON object. A value that cannot be read is
// the feature's problem; text that cannot be decoded is an error for the file, since every
// record would have it.
func (s *shpSource) appendProps(dst, rec []byte) ([]byte, string, error) {
	var problems []string
	dst = append(dst, '{')
	first := true
	for _, f := range s.fields {
		if f.skip {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		raw := rec[f.off : f.off+f.len]
		t := bytes.TrimSpace(bytes.Trim(raw, "\x00"))
		if len(t) == 0 {
			dst = append(dst, "null"...)
			continue
		}
		switch f.typ {
		case 'C':
			v, err := s.text(bytes.TrimRight(raw, " \x00"))
			if err != nil {
				if s.encFrom == "" {
					hint := "e.g. CP1258 for Vietnamese Windows text, windows-1252"
					if cp, ok := ldidCodePages[s.ldid]; ok {
						hint = fmt.Sprintf("its header suggests %s; CP1258 for Vietnamese Windows text", cp)
					}
					return nil, "", fmt.Errorf("field %s is not UTF-8 text and there is no .cpg saying how it is encoded; give the encoding with --encoding (%s)", f.name, hint)
				}
				return nil, "", fmt.Errorf("field %s is not UTF-8 text, although %s says it is; give the right encoding (e.g. 1258 for Vietnamese Windows text) in the .cpg", f.name, s.encFrom)
			}
			dst = appendJSONString(dst, v)
		case 'N', 'F':
			if len(bytes.Trim(t, "*")) == 0 {
				dst = append(dst, "null"...) // ***** is how dBase writes a value too wide for its field
				continue
			}
			if f.dec == 0 {
				if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
					dst = strconv.AppendInt(dst, i, 10)
					continue
				}
			}
			v, err := strconv.ParseFloat(string(t), 64)
			if err != nil {
				problems = append(problems, fmt.Sprintf("field %s holds %q, which is not a number", f.name, t))
				dst = append(dst, "null"...)
				continue
			}
			dst = appendJSONFloat(dst, v, f.dec > 0)
		case 'D':
			if string(t) == "00000000" {
				dst = append(dst, "null"...)
				continue
			}
			d, err := time.Parse("20060102", string(t))
			if err != nil {
				problems = append(problems, fmt.Sprintf("field %s holds %q, which is not a date (YYYYMMDD)", f.name, t))
				dst = append(dst, "null"...)
				continue
			}
			dst = append(d.AppendFormat(append(dst, '"'), "2006-01-02"), '"')
		case 'L':
			switch t[0] {
			case 'T', 't', 'Y', 'y':
				dst = append(dst, "true"...)
			case 'F', 'f', 'N', 'n':
				dst = append(dst, "false"...)
			default:
				dst = append(dst, "null"...) // '?' is dBase's unknown
			}
		}
	}
	return append(dst, '}'), strings.Join(problems, "; "), nil
}

// shapeWKB turns one .shp record into 2D WKB. Null shapes have no geometry and no problem:
// the importer reports features without geometry itself.
func shapeWKB(b []byte) ([]byte, string) {
	const damaged = "the shape is shorter than its point count says: the .shp is damaged"
	if len(b) < 4 {
		return nil, damaged
	}
	le := binary.LittleEndian
	xy := func(p []byte, i int) (float64, float64) {
		return math.Float64frombits(le.Uint64(p[16*i:])), math.Float64frombits(le.Uint64(p[16*i+8:]))
	}
	switch typ := le.Uint32(b); typ {
	case 0:
		return nil, ""
	case 1, 11, 21: // Point, PointZ, PointM: x and y come first in all three
		if len(b) < 20 {
			return nil, damaged
		}
		x, y := xy(b[4:], 0)
		if math.IsNaN(x) && math.IsNaN(y) {
			return nil, ""
		}
		return appendXY(appendHeader(make([]byte, 0, 21), wkbPoint), x, y), ""
	case 8, 18, 28: // MultiPoint: box, count, points (Z and M follow in their own arrays)
		if len(b) < 40 {
			return nil, damaged
		}
		n := le.Uint32(b[36:])
		if uint64(n)*16 > uint64(len(b)-40) {
			return nil, damaged
		}
		if n == 0 {
			return nil, ""
		}
		dst := appendUint32(appendHeader(make([]byte, 0, 9+21*int(n)), wkbMultiPoint), int(n))
		for i := 0; i < int(n); i++ {
			x, y := xy(b[40:], i)
			dst = appendXY(appendHeader(dst, wkbPoint), x, y)
		}
		return dst, ""
	case 3, 13, 23, 5, 15, 25: // PolyLine and Polygon: box, part and point counts, parts, points
		if len(b) < 44 {
			return nil, damaged
		}
		np, npts := le.Uint32(b[36:]), le.Uint32(b[40:])
		if 44+4*uint64(np)+16*uint64(npts) > uint64(len(b)) {
			return nil, damaged
		}
		if np == 0 || npts == 0 {
			return nil, ""
		}
		starts := make([]int, np+1)
		for i := range int(np) {
			starts[i] = int(le.Uint32(b[44+4*i:]))
		}
		starts[np] = int(npts)
		pts := b[44+4*int(np):]
		parts := make([][]float64, np)
		for i := range parts {
			if starts[i] > starts[i+1] || (i == 0 && starts[0] != 0) {
				return nil, "the shape's parts are out of order: the .shp is damaged"
			}
			p := make([]float64, 0, 2*(starts[i+1]-starts[i])+2)
			for j := starts[i]; j < starts[i+1]; j++ {
				x, y := xy(pts, j)
				p = append(p, x, y)
			}
			parts[i] = p
		}
		if typ%10 == 3 {
			return lineWKB(parts)
		}
		return polygonWKB(parts)
	case 31:
		return nil, "MultiPatch shapes are not supported; convert them to polygons first (ogr2ogr -nlt MULTIPOLYGON)"
	default:
		return nil, fmt.Sprintf("unknown shape type %d: the .shp is damaged", typ)
	}
}

// lineWKB writes a PolyLine: one part is a LineString, several a MultiLineString.
func lineWKB(parts [][]float64) ([]byte, string) {
	size := 9
	for i, p := range parts {
		if len(p) < 4 {
			return nil, fmt.Sprintf("part %d of the line has %d point; a line needs at least 2", i+1, len(p)/2)
		}
		size += 9 + 8*len(p)
	}
	dst := make([]byte, 0, size)
	if len(parts) > 1 {
		dst = appendUint32(appendHeader(dst, wkbMultiLineString), len(parts))
	}
	for _, p := range parts {
		dst = appendUint32(appendHeader(dst, wkbLineString), len(p)/2)
		for j := 0; j < len(p); j += 2 {
			dst = appendXY(dst, p[j], p[j+1])
		}
	}
	return dst, ""
}

// shpRing is a polygon ring as flat x, y pairs, with its signed area (positive when
// counter-clockwise) and bounding box.
type shpRing struct {
	xy                     []float64
	area                   float64
	minX, minY, maxX, maxY float64
}

func newShpRing(xy []float64) shpRing {
	r := shpRing{xy: xy, minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for i := 0; i+3 < len(xy); i += 2 {
		r.area += xy[i]*xy[i+3] - xy[i+2]*xy[i+1]
	}
	r.area /= 2
	for i := 0; i < len(xy); i += 2 {
		r.minX, r.maxX = min(r.minX, xy[i]), max(r.maxX, xy[i])
		r.minY, r.maxY = min(r.minY, xy[i+1]), max(r.maxY, xy[i+1])
	}
	return r
}

// polygonWKB writes a Polygon record. The Shapefile spec makes outer rings clockwise and
// holes counter-clockwise but does not say which outer ring a hole belongs to, so each hole
// goes to the smallest outer ring that contains it; a "hole" inside no outer ring is taken as
// an outer ring written the wrong way round, as GDAL does. One polygon is written as a
// Polygon, several as a MultiPolygon.
func polygonWKB(parts [][]float64) ([]byte, string) {
	rings := make([]shpRing, len(parts))
	size := 9
	for i, p := range parts {
		if n := len(p); n >= 2 && (p[0] != p[n-2] || p[1] != p[n-1]) {
			p = append(p, p[0], p[1]) // close it, as readers of the format do
		}
		if len(p) < 8 {
			return nil, fmt.Sprintf("ring %d of the polygon has %d points; a ring needs at least 4", i+1, len(p)/2)
		}
		rings[i] = newShpRing(p)
		size += 13 + 8*len(p)
	}
	var polys [][]shpRing
	var holes, orphans []shpRing
	for _, r := range rings {
		if r.area <= 0 || len(rings) == 1 {
			polys = append(polys, []shpRing{r})
		} else {
			holes = append(holes, r)
		}
	}
	for _, h := range holes {
		best := -1
		for i, p := range polys {
			o := p[0]
			if o.minX <= h.minX && o.minY <= h.minY && o.maxX >= h.maxX && o.maxY >= h.maxY &&
				ringInside(h, o) && (best < 0 || -o.area < -polys[best][0].area) {
				best = i
			}
		}
		if best < 0 {
			orphans = append(orphans, h)
		} else {
			polys[best] = append(polys[best], h)
		}
	}
	for _, h := range orphans {
		polys = append(polys, []shpRing{h})
	}
	dst := make([]byte, 0, size)
	if len(polys) > 1 {
		dst = appendUint32(appendHeader(dst, wkbMultiPolygon), len(polys))
	}
	for _, p := range polys {
		dst = appendUint32(appendHeader(dst, wkbPolygon), len(p))
		for _, r := range p {
			dst = appendUint32(dst, len(r.xy)/2)
			for j := 0; j < len(r.xy); j += 2 {
				dst = appendXY(dst, r.xy[j], r.xy[j+1])
			}
		}
	}
	return dst, ""
}

// ringInside reports whether ring h lies inside ring o, judged by the first vertex of h that
// is not on o's boundary (a hole may touch its outer ring).
func ringInside(h, o shpRing) bool {
	for i := 0; i+2 < len(h.xy); i += 2 {
		if r := pointInRing(h.xy[i], h.xy[i+1], o.xy); r != 0 {
			return r > 0
		}
	}
	return true
}

// pointInRing is 1 inside, -1 outside and 0 on the boundary of the closed ring xy.
func pointInRing(x, y float64, xy []float64) int {
	inside := false
	for i := 0; i+3 < len(xy); i += 2 {
		x1, y1, x2, y2 := xy[i], xy[i+1], xy[i+2], xy[i+3]
		if (x2-x1)*(y-y1) == (x-x1)*(y2-y1) && min(x1, x2) <= x && x <= max(x1, x2) && min(y1, y2) <= y && y <= max(y1, y2) {
			return 0
		}
		if (y1 > y) != (y2 > y) && x < (x2-x1)*(y-y1)/(y2-y1)+x1 {
			inside = !inside
		}
	}
	if inside {
		return 1
	}
	return -1
}

// lookupEncoding maps a .cpg or --encoding label to a decoder; nil means UTF-8. Labels seen in
// the wild: "UTF-8", "65001", "1258", "CP1258", "windows-1258", "ANSI 1252", "ISO-8859-1",
// "88591", "OEM 866".
func lookupEncoding(label string) (encoding.Encoding, bool) {
	s := strings.ToUpper(strings.TrimSpace(label))
	if s == "" {
		return nil, false
	}
	compact := strings.NewReplacer("-", "", "_", "", " ", "").Replace(s)
	if compact == "UTF8" || compact == "65001" {
		return nil, true
	}
	for _, p := range []string{"", "ANSI", "OEM", "WINDOWS", "WIN", "CP", "MSCP", "IBM"} {
		if rest, ok := strings.CutPrefix(compact, p); ok {
			if n, err := strconv.Atoi(rest); err == nil && codePages[n] != nil {
				return codePages[n], true
			}
		}
	}
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(compact, "ISO"), "8859"); ok {
		if n, err := strconv.Atoi(rest); err == nil {
			if e, ok := codePages[28590+n]; ok {
				return e, true
			}
		}
	}
	if e, err := ianaindex.IANA.Encoding(label); err == nil && e != nil {
		return e, true
	}
	if e, err := htmlindex.Get(label); err == nil {
		if n, _ := htmlindex.Name(e); n == "utf-8" {
			return nil, true
		}
		return e, true
	}
	return nil, false
}

// ldidCodePages names the code pages of common dBase language driver IDs. They are not used to
// decode: a .dbf written as UTF-8 often still carries 0x57 (ANSI), so UTF-8 stays the default.
var ldidCodePages = map[byte]string{
	0x01: "CP437", 0x02: "CP850", 0x03: "windows-1252", 0x57: "windows-1252", 0x26: "CP866", 0x65: "CP866",
	0x64: "CP852", 0x7c: "windows-874", 0xc8: "windows-1250", 0xc9: "windows-1251", 0xca: "windows-1254",
	0xcb: "windows-1253", 0xcc: "windows-1257",
}

// codePages are Windows code page numbers, the form .cpg files mostly use.
var codePages = map[int]encoding.Encoding{
	437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852,
	855: charmap.CodePage855, 858: charmap.CodePage858, 860: charmap.CodePage860,
	862: charmap.CodePage862, 863: charmap.CodePage863, 865: charmap.CodePage865,
	866: charmap.CodePage866, 874: charmap.Windows874,
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
	1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
	20866: charmap.KOI8R, 21866: charmap.KOI8U,
	28591: charmap.ISO8859_1, 28592: charmap.ISO8859_2, 28593: charmap.ISO8859_3,
	28594: charmap.ISO8859_4, 28595: charmap.ISO8859_5, 28596: charmap.ISO8859_6,
	28597: charmap.ISO8859_7, 28598: charmap.ISO8859_8, 28599: charmap.ISO8859_9,
	28600: charmap.ISO8859_10, 28603: charmap.ISO8859_13, 28604: charmap.ISO8859_14,
	28605: charmap.ISO8859_15, 28606: charmap.ISO8859_16,
}

// wktNode is one KEYWORD[...] of a WKT coordinate system.
type wktNode struct {
	key  string // upper case
	args []wktArg
}

// wktArg is a quoted string, a bare number or keyword, or a nested node.
type wktArg struct {
	text   string
	quoted bool
	node   *wktNode
}

func (n *wktNode) name() string {
	if len(n.args) > 0 && n.args[0].quoted {
		return n.args[0].text
	}
	return ""
}

// walk calls fn for n and every node below it.
func (n *wktNode) walk(fn func(*wktNode)) {
	fn(n)
	for _, a := range n.args {
		if a.node != nil {
			a.node.walk(fn)
		}
	}
}

// parseWKT reads WKT 1 (OGC or ESRI flavour) or WKT 2 into a tree.
func parseWKT(s string) (*wktNode, error) {
	p := wktParser{s: s}
	a, err := p.arg(0)
	if err != nil {
		return nil, err
	}
	if a.node == nil {
		return nil, fmt.Errorf("expected KEYWORD[...], found %q", a.text)
	}
	return a.node, nil
}

type wktParser struct {
	s string
	i int
}

func (p *wktParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *wktParser) arg(depth int) (wktArg, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for p.i++; ; p.i++ {
			if p.i >= len(p.s) {
				return wktArg{}, fmt.Errorf("a quoted string is not closed")
			}
			if c := p.s[p.i]; c != '"' {
				b.WriteByte(c)
			} else if p.i+1 < len(p.s) && p.s[p.i+1] == '"' {
				b.WriteByte('"')
				p.i++
			} else {
				p.i++
				return wktArg{text: b.String(), quoted: true}, nil
			}
		}
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(",[]() \t\r\n", p.s[p.i]) < 0 {
		p.i++
	}
	tok := p.s[start:p.i]
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '[' && p.s[p.i] != '(') {
		if tok == "" {
			return wktArg{}, fmt.Errorf("expected a value at byte %d", p.i)
		}
		return wktArg{text: tok}, nil
	}
	if tok == "" || depth > 64 {
		return wktArg{}, fmt.Errorf("unexpected bracket at byte %d", p.i)
	}
	p.i++
	n := &wktNode{key: strings.ToUpper(tok)}
	for {
		p.space()
		if p.i < len(p.s) && (p.s[p.i] == ']' || p.s[p.i] == ')') && len(n.args) == 0 {
			p.i++
			return wktArg{node: n}, nil
		}
		a, err := p.arg(depth + 1)
		if err != nil {
			return wktArg{}, err
		}
		n.args = append(n.args, a)
		p.space()
		if p.i >= len(p.s) {
			return wktArg{}, fmt.Errorf("%s[ is not closed", n.key)
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']', ')':
			p.i++
			return wktArg{node: n}, nil
		default:
			return wktArg{}, fmt.Errorf("unexpected %q at byte %d", p.s[p.i], p.i)
		}
	}
}

// vn2000TM3 are the central meridians of EPSG:9205…9218, VN-2000 / TM-3 zones of the provinces.
var vn2000TM3 = []float64{103, 104, 104.5, 104.75, 105.5, 105.75, 106, 106.25, 106.5, 107, 107.25, 107.5, 108.25, 108.5}

// prjToEPSG finds the EPSG code of a WKT coordinate system: its own AUTHORITY (or WKT 2 ID)
// when it has one; otherwise by content, since ESRI-flavoured .prj files (what ArcGIS and
// GDAL write) carry only names and parameters.
func prjToEPSG(text string) (int, error) {
	root, err := parseWKT(text)
	if err != nil {
		return 0, fmt.Errorf("the coordinate system is not readable WKT (%v)", err)
	}
	for _, a := range root.args {
		if n := a.node; n != nil && (n.key == "AUTHORITY" || n.key == "ID") && len(n.args) >= 2 && strings.EqualFold(n.args[0].text, "EPSG") {
			if code, err := strconv.Atoi(strings.TrimSpace(n.args[1].text)); err == nil && code > 0 {
				return code, nil
			}
		}
	}
	if code := crsByContent(root); code != 0 {
		return code, nil
	}
	return 0, fmt.Errorf("the coordinate system %q has no EPSG code and is not one this importer recognises", root.name())
}

var (
	tm3Name = regexp.MustCompile(`tm[-_ ]?3[-_ /]+(\d{3})(?:[-_ ]([0-5]\d))?`)
	utmName = regexp.MustCompile(`utm[-_ ]?zone[-_ ]?(\d{1,2})([ns])`)
)

// crsByContent recognises the coordinate systems used in Vietnam from their WKT: WGS 84 and
// VN-2000 geographic, VN-2000 TM-3 and UTM zones, WGS 84 UTM, Web Mercator.
func crsByContent(root *wktNode) int {
	simple := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(s))
	}
	names := []string{simple(root.name())}
	method := ""
	params := map[string]float64{}
	root.walk(func(n *wktNode) {
		switch n.key {
		case "GEOGCS", "GEOGCRS", "BASEGEOGCRS", "GEODCRS", "BASEGEODCRS", "DATUM", "GEODETICDATUM", "TRF":
			names = append(names, simple(n.name()))
		case "PROJECTION", "METHOD":
			method = simple(n.name())
		case "PARAMETER":
			if len(n.args) >= 2 {
				if v, err := strconv.ParseFloat(n.args[1].text, 64); err == nil {
					params[simple(n.name())] = v
				}
			}
		}
	})
	has := func(subs ...string) bool {
		for _, n := range names {
			for _, s := range subs {
				if strings.Contains(n, s) {
					return true
				}
			}
		}
		return false
	}
	vn := has("vn2000", "vietnam2000")
	wgs := !vn && has("wgs84", "wgs1984")
	switch root.key {
	case "GEOGCS", "GEOGCRS", "GEODCRS", "GEOGRAPHICCRS", "GEODETICCRS":
		switch {
		case vn:
			return 4756
		case wgs:
			return 4326
		}
		return 0
	case "PROJCS", "PROJCRS", "PROJECTEDCRS":
	default:
		return 0
	}
	rootName := names[0]
	for _, s := range []string{"pseudomercator", "webmercator", "auxiliarysphere", "popularvisualisation"} {
		if strings.Contains(method, s) || strings.Contains(rootName, s) {
			return 3857
		}
	}
	if method != "" && !strings.Contains(method, "transversemercator") {
		return 0
	}
	param := func(keys ...string) (float64, bool) {
		for _, k := range keys {
			if v, ok := params[k]; ok {
				return v, true
			}
		}
		return 0, false
	}
	cm, ok := param("centralmeridian", "longitudeofnaturalorigin")
	k, _ := param("scalefactor", "scalefactoratnaturalorigin")
	fn, _ := param("falsenorthing")
	if !ok { // no parameters: fall back on names such as "VN_2000_TM_3_105_30" or "UTM zone 48N"
		lower := strings.ToLower(root.name())
		if m := tm3Name.FindStringSubmatch(lower); m != nil {
			deg, _ := strconv.Atoi(m[1])
			mins, _ := strconv.Atoi(m[2])
			cm, k = float64(deg)+float64(mins)/60, 0.9999
		} else if m := utmName.FindStringSubmatch(lower); m != nil {
			zone, _ := strconv.Atoi(m[1])
			cm, k = float64(zone*6-183), 0.9996
			if m[2] == "s" {
				fn = 10000000
			}
		} else {
			return 0
		}
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-7 }
	switch {
	case vn && near(k, 0.9999):
		for i, m := range vn2000TM3 {
			if near(cm, m) {
				return 9205 + i
			}
		}
	case vn && near(k, 0.9996) && fn == 0:
		switch {
		case near(cm, 105):
			return 3405
		case near(cm, 111):
			return 3406
		}
	case wgs && near(k, 0.9996):
		zone := (cm + 183) / 6
		if zone >= 1 && zone <= 60 && zone == math.Trunc(zone) {
			switch {
			case fn == 0:
				return 32600 + int(zone)
			case near(fn, 10000000):
				return 32700 + int(zone)
			}
		}
	}
	return 0
}
