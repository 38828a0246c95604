package spatial

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

// utf8BOM starts every CSV: without it Excel reads UTF-8 as the machine's ANSI code page and
// Vietnamese comes out garbled.
const utf8BOM = "\uFEFF"

// streamCSV writes a page of items as CSV: a header of field names, then one row per item
// (id, fields, and the geometry as WKT for layers). Paging is the same as for JSON; the next
// page is in the Link header (RFC 8288).
func (s *Service) streamCSV(w http.ResponseWriter, r *http.Request, l *layers.Layer, iq *itemsQuery, q url.Values) {
	ctx := r.Context()
	iq.csv = true
	sql, args := iq.sql()
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		api.WriteError(w, r, queryError(err))
		return
	}
	defer rows.Close()

	// The rows are read before anything is written, up to the page size, so that a failure
	// is still an error status and the Link header can say whether there is a next page.
	back := iq.cursor != nil && iq.cursor.Back
	var page [][]byte
	var first, last []byte
	more := false
	for rows.Next() {
		raw := rows.RawValues()
		total, _ := strconv.ParseInt(string(raw[2]), 10, 64)
		if back && len(page) == 0 && !more && total > int64(iq.limit) {
			more = true
			continue
		}
		if !back && len(page) == iq.limit {
			more = true
			break
		}
		if first == nil {
			first = append([]byte(nil), raw[1]...)
		}
		last = append(last[:0], raw[1]...)
		page = append(page, append([]byte(nil), raw[0]...))
	}
	if err := rows.Err(); err != nil {
		api.WriteError(w, r, queryError(err))
		return
	}
	rows.Close()

	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+l.ID+`.csv"`)
	if !l.IsRecord() && !iq.noGeom {
		h.Set("Content-Crs", "<"+iq.crs.URI+">")
	}
	for _, link := range s.itemsLinks(r, l, iq, q, len(page), first, last, more) {
		if link.Rel == "next" || link.Rel == "prev" {
			h.Add("Link", "<"+link.Href+`>; rel="`+link.Rel+`"`)
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(utf8BOM)
	cw := csv.NewWriter(bw)
	header := []string{"id"}
	for _, f := range iq.fields {
		header = append(header, f.Name)
	}
	if iq.geometryWKT() != "" {
		header = append(header, "wkt")
	}
	cw.Write(header)
	cells := make([]*string, 0, len(header))
	record := make([]string, len(header))
	for _, row := range page {
		cells = cells[:0]
		if err := json.Unmarshal(row, &cells); err != nil {
			slog.ErrorContext(ctx, "csv row", "collection", l.ID, "err", err)
			panic(http.ErrAbortHandler)
		}
		for i := range record {
			record[i] = ""
			if i < len(cells) && cells[i] != nil {
				record[i] = *cells[i]
			}
		}
		cw.Write(record)
	}
	cw.Flush()
	if err := bw.Flush(); err != nil {
		slog.DebugContext(ctx, "client went away", "err", err)
	}
}
