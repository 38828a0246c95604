package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"
)

// xlsxSource reads one sheet of an Excel workbook (.xlsx) as records: the first non-empty
// row is the header, every later non-empty row a record. Rows are streamed with excelize's
// Rows iterator (a large sheet is unzipped to a temporary file, not into memory). Cells keep
// their type: numbers and booleans as such, text (shared or inline strings) as text, and
// dates — numbers with a date format — as ISO dates (2024-03-15) or date-times
// (2024-03-15 08:30:00), whatever format the sheet displays them in.
type xlsxSource struct {
	path      string
	f         *excelize.File
	sheet     string
	rows      *excelize.Rows
	headerRow int
	names     []string
	cols      map[string]string // header name → column letters
}

func openXLSX(path string, opt OpenOptions) (Source, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read as an Excel workbook (.xlsx): %v", filepath.Base(path), err)
	}
	s := &xlsxSource{path: path, f: f}
	if err := s.open(opt); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *xlsxSource) open(opt OpenOptions) error {
	base := filepath.Base(s.path)
	sheets := s.f.GetSheetList()
	if len(sheets) == 0 {
		return fmt.Errorf("%s has no sheets", base)
	}
	s.sheet = sheets[0]
	if opt.Layer != "" {
		i := slices.IndexFunc(sheets, func(n string) bool { return strings.EqualFold(n, opt.Layer) })
		if i < 0 {
			return fmt.Errorf("%s has no sheet %q; its sheets are: %s", base, opt.Layer, strings.Join(sheets, ", "))
		}
		s.sheet = sheets[i]
	}
	if err := isoDates(s.f); err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	rows, err := s.f.Rows(s.sheet)
	if err != nil {
		return fmt.Errorf("%s, sheet %s: %w", base, s.sheet, err)
	}
	s.rows = rows
	for row := 1; rows.Next(); row++ {
		cells, err := rows.Columns()
		if err != nil {
			return fmt.Errorf("%s, sheet %s, row %d: %w", base, s.sheet, row, err)
		}
		if blank(cells) {
			continue
		}
		s.headerRow = row
		for i, c := range cells {
			name := norm.NFC.String(strings.TrimSpace(c))
			if name == "" {
				name = fmt.Sprintf("column_%d", i+1)
			}
			s.names = append(s.names, name)
		}
		s.names = uniqueNames(s.names)
		s.cols = map[string]string{}
		for i, n := range s.names {
			s.cols[n], _ = excelize.ColumnNumberToName(i + 1)
		}
		return nil
	}
	if err := rows.Error(); err != nil {
		return fmt.Errorf("%s, sheet %s: %w", base, s.sheet, err)
	}
	return fmt.Errorf("%s: sheet %s is empty; the first row must name the columns", base, s.sheet)
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func (s *xlsxSource) Format() string  { return "XLSX" }
func (s *xlsxSource) SRID() int       { return 0 }
func (s *xlsxSource) Keys() []string  { return s.names }
func (s *xlsxSource) Files() []string { return []string{s.path} }

func (s *xlsxSource) Close() error {
	if s.rows != nil {
		_ = s.rows.Close()
	}
	return s.f.Close()
}

// cell is the reference of the cell holding key in a sheet row (C18).
func (s *xlsxSource) cell(key string, row int64) string {
	col, ok := s.cols[key]
	if !ok || row <= 0 {
		return ""
	}
	return fmt.Sprintf("%s%d", col, row)
}

func (s *xlsxSource) Read(ctx context.Context, emit func([]Feature) error) error {
	base := filepath.Base(s.path)
	batch := make([]Feature, 0, batchSize)
	var buf []byte
	var n int64
	for row := s.headerRow + 1; s.rows.Next(); row++ {
		cells, err := s.rows.Columns()
		if err != nil {
			return fmt.Errorf("%s, sheet %s, row %d: %w", base, s.sheet, row, err)
		}
		if blank(cells) {
			continue
		}
		n++
		f := Feature{N: n, Line: int64(row)}
		buf = append(buf[:0], '{')
		for i, name := range s.names {
			v := ""
			if i < len(cells) {
				v = cells[i]
			}
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, name)
			buf = append(buf, ':')
			buf = appendCSVValue(buf, v)
		}
		f.Props = slices.Clone(append(buf, '}'))
		for i := len(s.names); i < len(cells); i++ {
			if strings.TrimSpace(cells[i]) != "" {
				col, _ := excelize.ColumnNumberToName(i + 1)
				f.Problem = fmt.Sprintf("cell %s%d holds %q, but column %s has no header", col, row, cells[i], col)
				break
			}
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
	if err := s.rows.Error(); err != nil {
		return fmt.Errorf("%s, sheet %s: %w", base, s.sheet, err)
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// isoDates makes the workbook give every cell's value in a form that keeps its type: numbers
// in full (General), and dates, whatever format the sheet shows them in (15/03/2024,
// 15-Mar-24…), as ISO text. excelize's streaming iterator formats each cell with its style
// but does not say the style, so the styles themselves are rewritten, in memory only.
func isoDates(f *excelize.File) error {
	style := func(code string) (int, error) { return f.NewStyle(&excelize.Style{CustomNumFmt: &code}) }
	date, err := style("yyyy-mm-dd")
	if err != nil {
		return err
	}
	datetime, err := style("yyyy-mm-dd hh:mm:ss")
	if err != nil {
		return err
	}
	clock, err := style("hh:mm:ss")
	if err != nil {
		return err
	}
	ss := f.Styles
	if ss == nil || ss.CellXfs == nil {
		return nil
	}
	codes := map[int]string{}
	if ss.NumFmts != nil {
		for _, nf := range ss.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			codes[nf.NumFmtID] = nf.FormatCode
			if nf.FormatCode16 != "" {
				codes[nf.NumFmtID] = nf.FormatCode16
			}
		}
	}
	xfs := ss.CellXfs.Xf
	to := map[string]*int{"date": xfs[date].NumFmtID, "datetime": xfs[datetime].NumFmtID, "time": xfs[clock].NumFmtID}
	for i := range xfs {
		if i == date || i == datetime || i == clock {
			continue
		}
		id := 0
		if xfs[i].NumFmtID != nil {
			id = *xfs[i].NumFmtID
		}
		general := 0
		if kind := numFmtKind(id, codes[id]); kind != "" {
			xfs[i].NumFmtID = to[kind]
		} else {
			xfs[i].NumFmtID = &general
		}
	}
	return nil
}

// formatNoise is what a number format code holds besides its date and time letters: quoted
// text, escaped characters, colours and locales in brackets, padding.
var (
	formatNoise = regexp.MustCompile(`"[^"]*"|\\.|\[[^\]]*\]|[_*].`)
	elapsedTime = regexp.MustCompile(`\[(h+|m+|s+)\]`)
)

// numFmtKind says whether a number format shows a date, a date-time or a time of day ("" for
// numbers and text).
func numFmtKind(id int, code string) string {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id == 36, id >= 50 && id <= 58:
		return "date"
	case id == 22:
		return "datetime"
	case id >= 18 && id <= 21, id >= 32 && id <= 35, id >= 45 && id <= 47:
		return "time"
	case code == "":
		return ""
	}
	c := strings.ToLower(code)
	elapsed := elapsedTime.MatchString(c)
	if i := strings.IndexByte(c, ';'); i >= 0 {
		c = c[:i] // the format of positive numbers is enough
	}
	c = formatNoise.ReplaceAllString(c, "")
	if c == "general" {
		return ""
	}
	hasDate := strings.ContainsAny(c, "yd")
	hasTime := strings.ContainsAny(c, "hs") || elapsed
	switch {
	case hasDate && hasTime:
		return "datetime"
	case hasDate:
		return "date"
	case hasTime:
		return "time"
	case strings.Contains(c, "m"):
		return "date" // mmm, mmmm: a month
	}
	return ""
}
