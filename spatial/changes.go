package spatial

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/haiduong/hub/api"
	"github.com/haiduong/hub/policy"
)

var (
	msgSince     = api.Msg("since phải là một phiên bản dữ liệu (số nguyên ≥ 0) hoặc một thời điểm RFC 3339 (2026-12-01T08:00:00+07:00)", "since must be a data version (an integer ≥ 0) or an RFC 3339 time (2026-12-01T08:00:00+07:00)")
	msgChangeArg = api.Msg("%s phải là số nguyên ≥ 0 (lấy từ liên kết next)", "%s must be an integer ≥ 0 (take it from the next link)")
	msgAhead     = api.Msg("phiên bản %d sau phiên bản hiện tại của %s (%d) — bộ dữ liệu đã được tạo lại: đọc toàn bộ /collections/%s/items rồi theo dõi thay đổi từ phiên bản %d",
		"version %d is after %s's current version (%d) — the collection was made anew: read /collections/%s/items whole, then follow the changes from version %d")
	msgGone = api.Msg("bộ dữ liệu %s được nạp lại toàn bộ ở phiên bản %d, sau phiên bản %d: đọc toàn bộ /collections/%s/items rồi theo dõi thay đổi từ phiên bản %d",
		"collection %s was reloaded whole at version %d, after version %d: read /collections/%s/items whole, then follow the changes from version %d")
)

// changesParams are the query parameters of /changes.
var changesParams = []string{"f", "since", "limit", "after", "until"}

// HandleChanges serves GET /collections/{id}/changes?since=VERSION (or a time): the items
// inserted, updated and deleted after that data version, under the caller's view, in pages —
// so that a consuming agency keeps its copy in sync (Circular 13/2017 Art. 21). Each change is
// the item's current state with "change": "insert" or "update", or its id with "change":
// "delete" (an item gone before the read is a deletion to it; see the handler for row-restricted readers).
// The pages of one read stop at the data version of the first ("dataVersion"), which is the
// next read's since. Versions written by a file import replace the collection whole: a since
// before the last of them is answered 410 with the version to start again from.
func (s *Service) HandleChanges() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol, v, err := s.view(r)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		q, _, err := api.Request(r, []api.Format{api.JSON}, changesParams...)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		ctx := r.Context()
		l := v.Layer
		var current, from int64
		var changeKey string
		if err := s.pool.QueryRow(ctx, `SELECT data_version, changes_from, COALESCE(change_key, '') FROM layers WHERE id = $1`, l.ID).Scan(&current, &from, &changeKey); err != nil {
			api.WriteError(w, r, err)
			return
		}
		since, err := s.parseSince(r, l.ID, q.Get("since"))
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		after, err := nonNegative(q, "after", 0)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		until, err := nonNegative(q, "until", current)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		// Before the last full reload, or after the collection's version (a collection made
		// anew counts its versions from 1 again): the consumer's copy is of other data.
		if since < from || since > current {
			desc := msgGone.Format(l.ID, from, since, l.ID, current)
			if since > current {
				desc = msgAhead.Format(since, l.ID, current, l.ID, current)
			}
			w.Header().Set("Cache-Control", "no-store")
			api.WriteJSON(w, http.StatusGone, struct {
				api.Exception
				DataVersion int64 `json:"dataVersion"`
			}{api.Exception{Code: "Gone", Description: desc}, current})
			return
		}
		iq, err := s.parseItems(ctx, v, pol, url.Values{})
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		if iq.limit, err = parseLimit(q); err != nil {
			api.WriteError(w, r, err)
			return
		}
		iq.base = api.BaseURL(r)
		// A deleted row is named as items name it — by its key when the caller sees the key on
		// every row it reads (masked if masked anywhere), else by its feature id — with that key,
		// then, as its one property. Under a row restriction, the caller is told of a row it can
		// read now (its current state) and of a row it could read at `since` but cannot now —
		// deleted, or moved out of its rows — as a deletion; of no other (the sync keeps a
		// changed row's fields as they were, to tell). That is decided before paging, so the
		// pages' links do not tell of hidden rows either.
		deletedID, deletedProps := "to_json(c.fid)", "NULL::json"
		if c, ok := v.Column(changeKey); ok && v.ShownEverywhere(changeKey) {
			key := "c.key"
			switch {
			case c.Masked:
				key = "hub_mask(c.key)"
			case c.Type == "integer":
				key = "CASE WHEN c.key ~ '^-?[0-9]{1,18}$' THEN to_jsonb(c.key::bigint) ELSE to_jsonb(c.key) END" // 7, as items give it
			case c.Type == "number":
				key = "CASE WHEN c.key ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]{1,3})?$' THEN to_jsonb(c.key::numeric) ELSE to_jsonb(c.key) END"
			case c.Type == "boolean":
				key = "CASE WHEN c.key IN ('true', 'false') THEN to_jsonb(c.key::boolean) ELSE to_jsonb(c.key) END"
			}
			if changeKey == l.KeyField {
				deletedID = "to_json(" + key + ")"
			}
			deletedProps = "json_build_object(" + iq.arg(changeKey) + "::text, " + key + ")"
		}
		readable := ""
		if v.Restricted() {
			readable = "WHERE g.op <> 'delete' AND EXISTS (SELECT FROM " + iq.from() + " WHERE t.fid = g.fid) OR " + readableBefore(v, iq)
		}
		src := iq.from()
		sql := `WITH c AS (
    SELECT * FROM (
        SELECT fid, (array_agg(op ORDER BY version DESC))[1] AS op, bool_or(op = 'insert') AS inserted,
               (array_agg(key ORDER BY version DESC))[1] AS key, (array_agg(old ORDER BY version))[1] AS first_old
        FROM layer_changes WHERE layer_id = ` + iq.arg(l.ID) + ` AND version > ` + iq.arg(since) + ` AND version <= ` + iq.arg(until) + `
          AND fid > ` + iq.arg(after) + `
        GROUP BY fid) g ` + readable + `
    ORDER BY fid LIMIT ` + iq.arg(iq.limit+1) + `)
SELECT c.fid, CASE WHEN c.op = 'delete' OR t.fid IS NULL
         THEN json_build_object('type', 'Feature', 'id', ` + deletedID + `, 'change', 'delete', 'geometry', NULL, 'properties', ` + deletedProps + `)::text
         ELSE json_build_object('type', 'Feature', 'id', ` + iq.idSQL() + `, 'change', CASE WHEN c.inserted THEN 'insert' ELSE 'update' END,
              'geometry', ` + iq.geometryJSON() + `, 'properties', ` + iq.propertiesJSON() + `)::text END
FROM c LEFT JOIN ` + src + ` ON t.fid = c.fid ORDER BY c.fid`
		rows, err := s.pool.Query(ctx, sql, iq.args...)
		if err != nil {
			api.WriteError(w, r, queryError(err))
			return
		}
		var body bytes.Buffer
		body.WriteString(`{"type":"FeatureCollection","collection":`)
		body.WriteString(strconv.Quote(l.ID))
		body.WriteString(`,"since":` + strconv.FormatInt(since, 10) + `,"dataVersion":` + strconv.FormatInt(until, 10) + `,"features":[`)
		n, last, more := 0, int64(0), false
		for rows.Next() {
			if n == iq.limit {
				more = true
				break
			}
			var fid int64
			var item []byte
			if err := rows.Scan(&fid, &item); err != nil {
				rows.Close()
				api.WriteError(w, r, err)
				return
			}
			last = fid
			if n > 0 {
				body.WriteByte(',')
			}
			body.Write(item)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			api.WriteError(w, r, queryError(err))
			return
		}
		self := iq.base + "/collections/" + url.PathEscape(l.ID) + "/changes"
		body.WriteString(`],"numberReturned":` + strconv.Itoa(n) + `,"links":[{"rel":"self","type":"application/geo+json","href":` +
			strconv.Quote(self+"?"+r.URL.RawQuery) + `}`)
		if more {
			next := url.Values{"since": {strconv.FormatInt(since, 10)}, "until": {strconv.FormatInt(until, 10)},
				"after": {strconv.FormatInt(last, 10)}, "limit": {strconv.Itoa(iq.limit)}}
			body.WriteString(`,{"rel":"next","type":"application/geo+json","href":` + strconv.Quote(self+"?"+next.Encode()) + `}`)
		}
		body.WriteString("]}\n")
		w.Header().Set("Content-Type", "application/geo+json")
		s.send(w, r, iq, "changes", n, body.Bytes())
	})
}

// parseSince reads since: a data version, or a time, taken as the version the collection had
// then (the last import or sync that finished by that time).
func (s *Service) parseSince(r *http.Request, id, v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, api.BadParam("since", msgSince)
	}
	var version int64
	err = s.pool.QueryRow(r.Context(), `SELECT COALESCE(max(data_version), 0) FROM imports WHERE layer_id = $1 AND finished_at <= $2`, id, t).Scan(&version)
	return version, err
}

func nonNegative(q url.Values, name string, def int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, api.BadParam(name, msgChangeArg, name)
	}
	return n, nil
}

// readableBefore is the SQL condition that the row of change g was one the caller could read
// before the first change of the read (since): the view's row restriction applied to the
// fields the sync kept of it. A row inserted in the read, or whose fields were not kept, was not.
func readableBefore(v *policy.View, iq *itemsQuery) string {
	cond := v.Rows("o", iq.arg)
	if cond == "" {
		return "g.first_old IS NOT NULL"
	}
	return "g.first_old IS NOT NULL AND EXISTS (SELECT FROM jsonb_populate_record(NULL::" + v.Layer.QualifiedTable() + ", g.first_old) o WHERE " + cond + ")"
}
