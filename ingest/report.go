package ingest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Problem is one thing wrong with one feature (or record) of a file.
type Problem struct {
	Feature int64  `json:"feature"`        // 1-based number in the file; 0 for the file as a whole
	Line    int64  `json:"line,omitempty"` // the line of a text file where the item starts
	Cell    string `json:"cell,omitempty"` // the spreadsheet cell, e.g. C18
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason"`
	// sheetRow says that Line is the row of a sheet.
	sheetRow bool
}

func (p Problem) String() string { return p.describe(false) }

// describe words the problem for a layer ("feature 17, field so_thua: …") or a record
// collection ("row 17, column ngay_sinh (line 18): …", "row 17, column ngay_sinh (cell C18): …").
func (p Problem) describe(records bool) string {
	item, field := "feature", "field"
	if records {
		item, field = "row", "column"
	}
	var b strings.Builder
	if p.Feature > 0 {
		fmt.Fprintf(&b, "%s %d", item, p.Feature)
	}
	if p.Field != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", field, p.Field)
	}
	switch {
	case b.Len() == 0:
	case p.Cell != "":
		fmt.Fprintf(&b, " (cell %s)", p.Cell)
	case p.sheetRow && p.Line > 0:
		fmt.Fprintf(&b, " (sheet row %d)", p.Line)
	case p.Line > 0:
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// maxProblems is how many problems an error lists; the count covers them all.
const maxProblems = 20

// ValidationError is a refused import: the first problems and how many there were in all.
type ValidationError struct {
	Source   string
	Problems []Problem
	Count    int64
	// Records says the collection holds records: problems name rows and columns.
	Records bool
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	what := "layer"
	if e.Records {
		what = "collection"
	}
	fmt.Fprintf(&b, "%s: %d problem(s); nothing was imported, the %s is unchanged — %d lỗi, không có gì được nhập:", e.Source, e.Count, what, e.Count)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.describe(e.Records))
	}
	if int64(len(e.Problems)) < e.Count {
		fmt.Fprintf(&b, "\n  … and %d more", e.Count-int64(len(e.Problems)))
	}
	return b.String()
}

// rowError is a reader's refusal of the whole file because of one row (a quote never closed,
// text in the wrong encoding): the import reports it as that row's problem.
type rowError struct{ p Problem }

func (e *rowError) Error() string { return e.p.describe(true) }

// Report is the quality report of an import, kept with the data version it produced.
type Report struct {
	Layer    string `json:"layer"`
	ItemType string `json:"itemType"`           // feature, or record for a record collection
	KeyField string `json:"keyField,omitempty"` // the natural key of a record collection
	// GeometryIgnored counts the items of a file imported as records whose geometry was left out.
	GeometryIgnored int64  `json:"geometryIgnored,omitempty"`
	DataVersion     int64  `json:"dataVersion"`
	Source          string `json:"source"`
	Format          string `json:"format"`
	Mode            string `json:"mode"`
	CRS             string `json:"crs"`        // of the file
	StorageCRS      string `json:"storageCrs"` // of the layer
	Features        int64  `json:"features"`   // read from the file
	Inserted        int64  `json:"inserted"`   // new rows
	Updated         int64  `json:"updated"`    // rows replaced by key (upsert)
	// A sync's other counts: rows it deleted (or withdrew), staged rows equal to what the
	// collection held, rows refused (with the first reasons).
	Deleted      int64            `json:"deleted,omitempty"`
	Unchanged    int64            `json:"unchanged,omitempty"`
	Rejected     int64            `json:"rejected,omitempty"`
	Rejects      []Problem        `json:"rejects,omitempty"`
	Total        int64            `json:"total"`    // features in the layer afterwards
	Invalid      int64            `json:"invalid"`  // invalid geometries found
	Repaired     []Problem        `json:"repaired"` // first repaired geometries, with the reason
	RepairedN    int64            `json:"repairedCount"`
	NullRequired map[string]int64 `json:"nullRequired"` // per required field (zero when accepted)
	Nulls        map[string]int64 `json:"nulls"`        // empty values per field
	GeometryType string           `json:"geometryType"`
	Extent       []float64        `json:"extent"`      // in the storage CRS
	ExtentWGS84  []float64        `json:"extentWgs84"` // lon/lat
	Checksum     string           `json:"checksum"`    // sha256 of the file
	Started      time.Time        `json:"started"`
	DurationMS   int64            `json:"durationMs"`
	Notes        []string         `json:"notes,omitempty"`
	Phases       map[string]int64 `json:"phasesMs"` // where the time went
}

// String formats the report for the terminal, Vietnamese first.
func (r *Report) String() string {
	var b strings.Builder
	rate := float64(r.Features) / max(float64(r.DurationMS)/1000, 0.001)
	records := r.ItemType == "record"
	if records {
		fmt.Fprintf(&b, "Báo cáo chất lượng — quality report: %s (bản ghi — records), phiên bản dữ liệu (data version) %d\n", r.Layer, r.DataVersion)
	} else {
		fmt.Fprintf(&b, "Báo cáo chất lượng — quality report: %s, phiên bản dữ liệu (data version) %d\n", r.Layer, r.DataVersion)
	}
	fmt.Fprintf(&b, "  nguồn (source):        %s (%s, %s)\n", r.Source, r.Format, r.Checksum)
	fmt.Fprintf(&b, "  chế độ (mode):         %s\n", r.Mode)
	if records {
		if r.KeyField != "" {
			fmt.Fprintf(&b, "  khóa (key):            %s (duy nhất — unique)\n", r.KeyField)
		}
		fmt.Fprintf(&b, "  bản ghi (records):     %d đọc (read), %d thêm (inserted), %d cập nhật (updated), %d trong bộ (in collection)\n", r.Features, r.Inserted, r.Updated, r.Total)
		if r.GeometryIgnored > 0 {
			fmt.Fprintf(&b, "  hình học bỏ qua (geometry ignored): %d\n", r.GeometryIgnored)
		}
	} else {
		fmt.Fprintf(&b, "  hệ tọa độ (CRS):       %s → lưu trữ (storage) %s\n", r.CRS, r.StorageCRS)
		fmt.Fprintf(&b, "  đối tượng (features):  %d đọc (read), %d thêm (inserted), %d cập nhật (updated), %d trong lớp (in layer)\n", r.Features, r.Inserted, r.Updated, r.Total)
		fmt.Fprintf(&b, "  hình học (geometry):   %s; %d không hợp lệ (invalid), %d đã sửa (repaired)\n", r.GeometryType, r.Invalid, r.RepairedN)
		for _, p := range r.Repaired {
			fmt.Fprintf(&b, "    sửa (repaired) %s\n", p)
		}
	}
	if len(r.NullRequired) > 0 {
		fmt.Fprintf(&b, "  trường bắt buộc trống (null required fields): %s\n", counts(r.NullRequired))
	}
	if len(r.Nulls) > 0 {
		fmt.Fprintf(&b, "  giá trị trống (empty values): %s\n", counts(r.Nulls))
	}
	if len(r.Extent) == 4 {
		fmt.Fprintf(&b, "  phạm vi (extent):      %.3f %.3f %.3f %.3f (%s); WGS 84 %.6f %.6f %.6f %.6f\n",
			r.Extent[0], r.Extent[1], r.Extent[2], r.Extent[3], r.StorageCRS,
			r.ExtentWGS84[0], r.ExtentWGS84[1], r.ExtentWGS84[2], r.ExtentWGS84[3])
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  ghi chú (note): %s\n", n)
	}
	if records {
		fmt.Fprintf(&b, "  thời gian (duration):  %.1f s, %.0f bản ghi/s (records/s)\n", float64(r.DurationMS)/1000, rate)
	} else {
		fmt.Fprintf(&b, "  thời gian (duration):  %.1f s, %.0f đối tượng/s (features/s)\n", float64(r.DurationMS)/1000, rate)
	}
	return b.String()
}

func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
