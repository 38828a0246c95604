package spatial

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/policy"
)

// Attribute links (layers.Link) put related items into every item's "links": a record points
// at the feature its field names (an enterprise at its commune), and a feature lists the
// record collections that point at it with the number of such records and a link that returns
// exactly those. The database does the matching, in the items query itself: per item one
// JSON array, with for each outgoing link [value, target id] (null when the link does not
// hold for the item's date) and for each backlink [value, count]. Go only turns it into hrefs.

// linkViews decides, once per request, which of the collection's links the caller may follow:
// for each link (Links, then Backlinks) the view of the collection at its other end, or nil
// when the link is left out — to a collection the caller may not read, or through a field it
// sees masked or not at all. A link never reveals a record the caller cannot read.
func (q *itemsQuery) linkViews() []*policy.View {
	if q.links != nil {
		return q.links
	}
	l := q.layer
	q.links = make([]*policy.View, 0, len(l.Links)+len(l.Backlinks))
	view := func(id string) *policy.View {
		if o, ok := q.registry(id); ok {
			if v := q.policy.View(o); v.Readable() {
				return v
			}
		}
		return nil
	}
	for _, k := range l.Links {
		tv := view(k.Target)
		if tv == nil || !q.shows(q.view, k.SourceField) || !tv.InClear(k.TargetField) ||
			(k.TimeField != "" && !q.shows(q.view, k.TimeField)) {
			tv = nil
		}
		q.links = append(q.links, tv)
	}
	for _, k := range l.Backlinks {
		sv := view(k.Source)
		if sv == nil || !q.shows(q.view, k.TargetField) || !sv.InClear(k.SourceField) ||
			(k.TimeField != "" && !sv.InClear(k.TimeField)) {
			sv = nil
		}
		q.links = append(q.links, sv)
	}
	return q.links
}

// logged says whether the answer discloses non-open data: the collection's own, or counts and
// targets read from a linked collection that is not open.
func (q *itemsQuery) logged() bool {
	if q.view.Logged {
		return true
	}
	if q.csv {
		return false // CSV carries no links
	}
	for _, v := range q.linkViews() {
		if v != nil && v.Logged {
			return true
		}
	}
	return false
}

// answerViews are the views an answer is logged against: the collection's and, when its items
// carry links, those of the non-open collections the links read.
func (q *itemsQuery) answerViews() []*policy.View {
	out := []*policy.View{q.view}
	if q.csv {
		return out
	}
	for _, v := range q.linkViews() {
		if v != nil && v.Logged && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// linkData is the SQL of that array, or NULL when the collection has no links; a link the
// caller may not follow is NULL, and counts and targets are computed over the rows the caller
// may read only.
func (q *itemsQuery) linkData() string {
	l := q.layer
	if q.csv || len(l.Links)+len(l.Backlinks) == 0 {
		return "NULL::text"
	}
	views := q.linkViews()
	var parts []string
	for i, k := range l.Links {
		tv := views[i]
		if tv == nil {
			parts = append(parts, "NULL")
			continue
		}
		t := tv.Layer
		v := col(k.SourceField)
		cond := v + " IS NOT NULL" + q.window(k, "t")
		target := "NULL::bigint"
		if t.KeyField != k.TargetField {
			// The target's feature id when exactly one item has the value; else the link
			// becomes a query for the value.
			target = fmt.Sprintf("(SELECT CASE WHEN count(*) = 1 THEN min(x.fid) END FROM %s x WHERE x.%s = %s%s)",
				t.QualifiedTable(), pgx.Identifier{k.TargetField}.Sanitize(), v, and(tv.Rows("x", q.arg)))
		}
		parts = append(parts, fmt.Sprintf("CASE WHEN %s THEN json_build_array(%s, %s) END", cond, v, target))
	}
	for j, k := range l.Backlinks {
		sv := views[len(l.Links)+j]
		if sv == nil {
			parts = append(parts, "NULL")
			continue
		}
		v := col(k.TargetField)
		count := fmt.Sprintf("(SELECT count(*) FROM %s s WHERE s.%s = %s%s%s)",
			sv.Layer.QualifiedTable(), pgx.Identifier{k.SourceField}.Sanitize(), v, q.window(k, "s"), and(sv.Rows("s", q.arg)))
		parts = append(parts, fmt.Sprintf("CASE WHEN %s IS NOT NULL THEN json_build_array(%s, %s) END", v, v, count))
	}
	return "json_build_array(" + strings.Join(parts, ", ") + ")::text"
}

// shows says whether v shows field name unmasked (on the rows where it shows it at all).
func (q *itemsQuery) shows(v *policy.View, name string) bool {
	c, ok := v.Column(name)
	return ok && !c.Masked
}

// and prefixes a condition with AND, "" when there is none.
func and(cond string) string {
	if cond == "" {
		return ""
	}
	return " AND " + cond
}

// window is the condition that the time field of alias's row falls in the link's window.
func (q *itemsQuery) window(k layers.Link, alias string) string {
	if k.TimeField == "" {
		return ""
	}
	c := alias + "." + pgx.Identifier{k.TimeField}.Sanitize()
	var b strings.Builder
	if k.ValidFrom != nil {
		fmt.Fprintf(&b, " AND %s >= %s::date", c, q.arg(k.ValidFrom.Format(time.DateOnly)))
	}
	if k.ValidTo != nil {
		fmt.Fprintf(&b, " AND %s < %s::date", c, q.arg(k.ValidTo.Format(time.DateOnly)))
	}
	if b.Len() == 0 {
		return " AND " + c + " IS NOT NULL"
	}
	return b.String()
}

// registry finds a linked collection; the query is built against one registry snapshot.
func (q *itemsQuery) registry(id string) (*layers.Layer, bool) {
	if q.lookup == nil {
		return nil, false
	}
	return q.lookup(id)
}

// itemLink is a link of an item; Count is the number of records a backlink returns.
type itemLink struct {
	api.Link
	Count *int64 `json:"numberMatched,omitempty"`
}

// itemLinks turns one item's link data into links.
func (q *itemsQuery) itemLinks(data []byte) []itemLink {
	if len(data) == 0 {
		return nil
	}
	var cells []json.RawMessage
	if json.Unmarshal(data, &cells) != nil || len(cells) != len(q.layer.Links)+len(q.layer.Backlinks) {
		return nil
	}
	var out []itemLink
	for i, k := range q.layer.Links {
		var pair []json.RawMessage
		if json.Unmarshal(cells[i], &pair) != nil || len(pair) != 2 {
			continue // the link does not hold for this item
		}
		value := jsonText(pair[0])
		t, ok := q.registry(k.Target)
		if !ok {
			continue
		}
		base := q.base + "/collections/" + url.PathEscape(t.ID) + "/items"
		href := base + "?" + url.Values{k.TargetField: {value}}.Encode()
		switch {
		case t.KeyField == k.TargetField:
			href = base + "/" + url.PathEscape(value)
		case string(pair[1]) != "null":
			href = base + "/" + string(pair[1])
		}
		out = append(out, itemLink{Link: api.Link{Href: href, Rel: "related", Type: "application/geo+json",
			Title: linkTitle(k, t) + ": " + value}})
	}
	for j, k := range q.layer.Backlinks {
		var pair []json.RawMessage
		if json.Unmarshal(cells[len(q.layer.Links)+j], &pair) != nil || len(pair) != 2 {
			continue
		}
		src, ok := q.registry(k.Source)
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(string(pair[1]), 10, 64)
		out = append(out, itemLink{
			Link: api.Link{Href: q.base + "/collections/" + url.PathEscape(src.ID) + "/items?" + backlinkQuery(k, src, pair[0]),
				Rel: "related", Type: "application/geo+json", Title: fmt.Sprintf("%s (%d)", src.Title, n)},
			Count: &n,
		})
	}
	return out
}

// backlinkQuery selects the records of src that point at the value: the field as a query
// parameter, or, when the link holds only in a time window, a CQL2 filter with the window.
func backlinkQuery(k layers.Link, src *layers.Layer, value json.RawMessage) string {
	if k.TimeField == "" {
		return url.Values{k.SourceField: {jsonText(value)}}.Encode()
	}
	conds := []string{k.SourceField + " = " + cqlLiteral(value)}
	fn := "DATE"
	if f, _ := src.Field(k.TimeField); f.Type == "datetime" {
		fn = "TIMESTAMP"
	}
	lit := func(t time.Time) string {
		if fn == "DATE" {
			return fmt.Sprintf("DATE('%s')", t.Format(time.DateOnly))
		}
		return fmt.Sprintf("TIMESTAMP('%s')", t.UTC().Format(time.RFC3339))
	}
	if k.ValidFrom != nil {
		conds = append(conds, k.TimeField+" >= "+lit(*k.ValidFrom))
	}
	if k.ValidTo != nil {
		conds = append(conds, k.TimeField+" < "+lit(*k.ValidTo))
	}
	if k.ValidFrom == nil && k.ValidTo == nil {
		conds = append(conds, k.TimeField+" IS NOT NULL")
	}
	return url.Values{"filter": {strings.Join(conds, " AND ")}}.Encode()
}

// cqlLiteral writes a JSON scalar as a CQL2 literal.
func cqlLiteral(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return string(v)
}

// jsonText is a JSON scalar as plain text ("30280" → 30280).
func jsonText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func linkTitle(k layers.Link, t *layers.Layer) string {
	if k.Title != "" {
		return k.Title
	}
	return t.Title
}

// linksJSON is the encoded links of one item's link data, nil when it has none. Items of a
// page often share their link data (the records of one commune), so each distinct value is
// encoded once per request.
func (q *itemsQuery) linksJSON(data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	if b, ok := q.encodedLinks[string(data)]; ok {
		return b
	}
	var b []byte
	if links := q.itemLinks(data); links != nil {
		b, _ = json.Marshal(links)
	}
	if q.encodedLinks == nil {
		q.encodedLinks = map[string][]byte{}
	}
	if len(q.encodedLinks) < 10_000 {
		q.encodedLinks[string(data)] = b
	}
	return b
}

// writeWithLinks writes a Feature's JSON with links (encoded JSON, nil for none) added before
// its closing brace.
func writeWithLinks(w *bufio.Writer, feature, links []byte) {
	if links == nil {
		w.Write(feature)
		return
	}
	w.Write(feature[:len(feature)-1])
	w.WriteString(`,"links":`)
	w.Write(links)
	w.WriteByte('}')
}
