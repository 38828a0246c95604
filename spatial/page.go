package spatial

import (
	"context"
	"maps"
	"net/http"
	"strconv"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/web"
)

// page is what reading a page of items tells besides the items: how many, the keysets of the
// first and last, and whether there are more in the direction read.
type page struct {
	n           int
	first, last []byte
	more        bool
}

// readPage runs iq and hands each item's text (a Feature, or the cells of a CSV row) and link
// data to emit, in order, as the rows arrive: the GeoJSON of open data goes straight to the
// client and Go never holds the page. Going back, the statement returns the rows in forward
// order with their count: when it exceeds the limit, the first row is the extra one and says
// there is a page before. emit's slices are valid only during the call.
func (s *Service) readPage(ctx context.Context, iq *itemsQuery, emit func(item, links []byte)) (*page, error) {
	sql, args := iq.sql()
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, queryError(err)
	}
	defer rows.Close()
	back := iq.cursor != nil && iq.cursor.Back
	p := &page{}
	for rows.Next() {
		raw := rows.RawValues()
		if back && p.n == 0 && !p.more {
			if total, _ := strconv.ParseInt(string(raw[2]), 10, 64); total > int64(iq.limit) {
				p.more = true
				continue
			}
		}
		if !back && p.n == iq.limit {
			p.more = true
			break
		}
		if p.first == nil {
			p.first = append([]byte(nil), raw[1]...)
		}
		p.last = append(p.last[:0], raw[1]...)
		emit(raw[0], raw[3])
		p.n++
	}
	if err := rows.Err(); err != nil {
		return p, queryError(err)
	}
	return p, nil
}

// collect is an emit that keeps the items, for the formats that need the whole page first.
func collect(items *[][]byte) func(item, links []byte) {
	return func(item, _ []byte) { *items = append(*items, append([]byte(nil), item...)) }
}

// send logs the answer when it discloses non-open data, then sends it: no data leaves unlogged.
// The n items count as rows of the collection; a linked collection whose counts or targets the
// links disclosed is logged with no rows. Answers drawn from non-open data are private to the
// caller: no shared cache may keep them.
func (s *Service) send(w http.ResponseWriter, r *http.Request, iq *itemsQuery, op string, n int, body []byte) {
	views := iq.answerViews()
	rows := make([]int64, len(views))
	rows[0] = int64(n)
	if err := s.gate.Record(r, views, op, rows, http.StatusOK, func() string { return policy.Digest(body) }); err != nil {
		api.WriteError(w, r, err)
		return
	}
	h := w.Header()
	if iq.logged() {
		h.Set("Cache-Control", "private, no-cache")
	}
	h.Set("Vary", "Authorization")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// render renders an HTML page of n items from view v and sends it as send does.
func (s *Service) render(w http.ResponseWriter, r *http.Request, iq *itemsQuery, op, template string, p web.Page, n int) {
	held := api.NewHeld()
	web.Render(held, r, http.StatusOK, template, p)
	if held.Status != http.StatusOK {
		held.SendHeaders(w)
		w.Write(held.Body.Bytes())
		return
	}
	maps.Copy(w.Header(), held.Header())
	s.send(w, r, iq, op+".html", n, held.Body.Bytes())
}
