package spatial

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
)

// utf8BOM starts every CSV: without it Excel reads UTF-8 as the machine's ANSI code page and
// Vietnamese comes out garbled.
const utf8BOM = "\uFEFF"

// writeCSV answers with a page of items as CSV: a header of field names, then one row per item
// (id, fields, and the geometry as WKT for layers). Paging is the same as for JSON; the next
// page is in the Link header (RFC 8288).
func (s *Service) writeCSV(w http.ResponseWriter, r *http.Request, l *layers.Layer, iq *itemsQuery, q url.Values) {
	ctx := r.Context()
	iq.csv = true
	// The page is read before anything is written, so that a failure is still an error status
	// and the Link header can say whether there is a next page.
	var items [][]byte
	p, err := s.readPage(ctx, iq, collect(&items))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+l.ID+`.csv"`)
	if !l.IsRecord() && !iq.noGeom {
		h.Set("Content-Crs", "<"+iq.crs.URI+">")
	}
	for _, link := range s.itemsLinks(r, l, iq, q, p) {
		if link.Rel == "next" || link.Rel == "prev" {
			h.Add("Link", "<"+link.Href+`>; rel="`+link.Rel+`"`)
		}
	}
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 64<<10)
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
	for _, row := range items {
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
	bw.Flush()
	s.send(w, r, iq, "csv", p.n, buf.Bytes())
}
