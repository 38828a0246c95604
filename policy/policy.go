// Package policy decides what a principal may read of a collection — which rows, which fields,
// which of them masked — from the sharing categories (Decree 47/2020: open, default, specific)
// and the principal's approved requests and active agreements, and renders the decision as the
// SQL every data path reads the collection through: items, records, lookups, CSV, tiles, links
// and joined layers all select FROM a View, so no path can forget a rule.
//
// The rules:
//   - open fields and rows: anyone, without a credential. A personal field is never open.
//   - default: an application whose request for the entry is approved (all rows; the fields it
//     asked for, or every default field when it named none).
//   - specific: an application with an agreement for the entry that is active today (the fields
//     it names, or all; the rows its row restriction names, or all). Only an agreement that
//     says so shows personal fields in clear; everyone else entitled to them sees them masked.
//   - the operator (admin token) reads every field, personal ones masked.
//
// Rows readable by several routes are the union of the routes; a field granted for fewer rows
// than the caller reads is NULL on the others.
package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/layers"
)

// Decider gives each request its Policy. The grants of an application are read once and kept
// until any request, agreement, key or application changes in any hub process (NOTIFY
// hub_access) or the day ends (agreements start and end by date).
type Decider struct {
	pool *pgxpool.Pool

	mu    sync.RWMutex
	cache map[string]cachedGrants
}

type cachedGrants struct {
	policy *Policy
	until  time.Time
}

// maxCachedGrants bounds the cache (one entry per application that called).
const maxCachedGrants = 10_000

// NewDecider returns a decider reading grants through pool.
func NewDecider(pool *pgxpool.Pool) *Decider {
	return &Decider{pool: pool, cache: map[string]cachedGrants{}}
}

// Listen keeps the cache honest until ctx ends: a revoked agreement stops serving at once.
func (d *Decider) Listen(ctx context.Context) {
	database.Listen(ctx, d.pool, access.AccessChannel, func(string) error {
		d.Forget()
		return nil
	})
}

// Forget empties the cache.
func (d *Decider) Forget() {
	d.mu.Lock()
	clear(d.cache)
	d.mu.Unlock()
}

// For returns the policy of principal p now. Callers with the same rights share one Policy,
// and with it the views it has decided (a map tile asks for the same ones again and again).
func (d *Decider) For(ctx context.Context, p access.Principal) (*Policy, error) {
	switch p.Kind {
	case access.Admin:
		return operator, nil
	case access.Agency:
	default:
		return open, nil
	}
	key := p.Agency + "\x00" + p.Application
	now := time.Now()
	d.mu.RLock()
	c, ok := d.cache[key]
	d.mu.RUnlock()
	if !ok || now.After(c.until) {
		g, err := access.Grants(ctx, d.pool, p.Agency, p.Application, now)
		if err != nil {
			return nil, err
		}
		y, m, day := now.Date()
		c = cachedGrants{policy: newPolicy(g, false), until: time.Date(y, m, day+1, 0, 0, 0, 0, now.Location())}
		d.mu.Lock()
		if len(d.cache) >= maxCachedGrants {
			clear(d.cache)
		}
		d.cache[key] = c
		d.mu.Unlock()
	}
	return c.policy, nil
}

// Policy is what one principal may read, collection by collection. It is immutable and safe
// for concurrent use.
type Policy struct {
	grants access.GrantSet
	admin  bool // the operator: every field, personal ones masked

	mu    sync.Mutex
	views map[*layers.Layer]*View // decided views; a registry reload brings new layers
}

func newPolicy(g access.GrantSet, admin bool) *Policy {
	return &Policy{grants: g, admin: admin, views: map[*layers.Layer]*View{}}
}

// maxViews bounds a policy's memo: registry reloads leave views of old layers behind.
const maxViews = 1_000

var (
	open     = newPolicy(nil, false)
	operator = newPolicy(nil, true)
)

// Open is the policy of an anonymous caller: open data only.
func Open() *Policy { return open }

// rowSet is a set of rows: all of them, or those matching any of the restrictions (each a
// conjunction of "field in values"); neither means none.
type rowSet struct {
	all bool
	any []map[string][]string
}

func (s rowSet) none() bool { return !s.all && len(s.any) == 0 }

func (s rowSet) union(o rowSet) rowSet {
	if s.all || o.all {
		return rowSet{all: true}
	}
	return rowSet{any: append(slices.Clone(s.any), o.any...)}
}

// within narrows s to r, knowing that every restriction of s comes from a grant that also
// made r: so s ⊆ r unless s is all.
func (s rowSet) within(r rowSet) rowSet {
	if s.all {
		return r
	}
	return s
}

func (s rowSet) equal(o rowSet) bool {
	if s.all != o.all || len(s.any) != len(o.any) {
		return false
	}
	for i := range s.any {
		if !maps.EqualFunc(s.any[i], o.any[i], slices.Equal) {
			return false
		}
	}
	return true
}

// rowsOf is the rows of l a grant covers: all, those its row restriction names, or none when
// the restriction names a field l does not have (it cannot be applied, so nothing is granted).
func rowsOf(g access.Grant, l *layers.Layer) rowSet {
	if len(g.Rows) == 0 {
		return rowSet{all: true}
	}
	if l.Join != nil {
		// A joined layer's rows are aggregates of records: a restriction to some records
		// cannot apply to them, whatever its fields are called.
		return rowSet{}
	}
	for name := range g.Rows {
		if _, ok := l.Field(name); !ok {
			return rowSet{}
		}
	}
	return rowSet{any: []map[string][]string{g.Rows}}
}

// Column is a field as a principal sees it.
type Column struct {
	layers.Field
	// Masked says the value is shown masked, on some rows at least; the field is then text.
	Masked bool
	shown  rowSet // rows where the field has its value (⊆ the view's rows)
	clear  rowSet // of those, rows where a personal field is in clear
}

// View is a collection as one principal may read it.
type View struct {
	Layer   *layers.Layer
	Columns []Column
	rows    rowSet
	// Logged says that reading through the view discloses non-open data: every such access
	// is written to the audit log before it is answered.
	Logged bool

	printOnce   sync.Once
	fingerprint string
}

// View returns how p reads l, deciding it the first time.
func (p *Policy) View(l *layers.Layer) *View {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.views[l]; ok {
		return v
	}
	if len(p.views) >= maxViews {
		clear(p.views)
	}
	v := p.decide(l)
	p.views[l] = v
	return v
}

// decide works out how p reads l.
func (p *Policy) decide(l *layers.Layer) *View {
	v := &View{Layer: l}
	var requests, agreements []access.Grant
	if l.EntryID != "" {
		for _, g := range p.grants.For(l.EntryID) {
			if g.Category == "specific" {
				agreements = append(agreements, g)
			} else {
				requests = append(requests, g)
			}
		}
	}
	admin := p.admin
	switch {
	case admin || slices.Contains(l.Categories, "open"):
		v.rows = rowSet{all: true}
	case len(requests) > 0 && slices.Contains(l.Categories, "default"):
		v.rows = rowSet{all: true}
	}
	for _, g := range agreements {
		v.rows = v.rows.union(rowsOf(g, l))
	}
	v.Logged = !slices.Contains(l.Categories, "open")
	for _, f := range l.Fields {
		var shown, clear rowSet
		covers := func(g access.Grant) bool { return len(g.Fields) == 0 || slices.Contains(g.Fields, f.Name) }
		switch {
		case admin:
			shown = rowSet{all: true}
		case f.Category == "open" && !f.Personal:
			shown = rowSet{all: true}
		case f.Category == "default" || f.Category == "open": // a personal field is never open
			for _, g := range requests {
				if covers(g) && !f.Personal { // personal data only by agreement
					shown = rowSet{all: true}
				}
			}
		}
		for _, g := range agreements {
			if covers(g) {
				shown = shown.union(rowsOf(g, l))
				if g.Unmask {
					clear = clear.union(rowsOf(g, l))
				}
			}
		}
		if shown.none() || v.rows.none() {
			continue
		}
		c := Column{Field: f, shown: shown.within(v.rows)}
		if f.Personal {
			c.clear = clear.within(v.rows)
			c.Masked = !c.clear.equal(c.shown)
			if c.Masked {
				c.Type = "string"
			}
		}
		if f.Category != "open" || f.Personal {
			v.Logged = true
		}
		v.Columns = append(v.Columns, c)
	}
	return v
}

// Readable says whether the principal may read any row.
func (v *View) Readable() bool { return !v.rows.none() }

// Restricted says whether the principal reads only some rows.
func (v *View) Restricted() bool { return !v.rows.all }

// Fields are the fields the principal sees, in the collection's order; masked ones as text.
func (v *View) Fields() []layers.Field {
	out := make([]layers.Field, len(v.Columns))
	for i, c := range v.Columns {
		out[i] = c.Field
	}
	return out
}

// Column returns the column named name, if the principal sees it.
func (v *View) Column(name string) (Column, bool) {
	for _, c := range v.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// InClear says whether the principal sees field name on every row it reads, unmasked: only
// such a field may carry a link or be matched against a value the caller gives.
func (v *View) InClear(name string) bool {
	c, ok := v.Column(name)
	return ok && !c.Masked && c.shown.equal(v.rows)
}

// ShownEverywhere says whether the principal sees field name (in clear or masked) on every
// row it reads: what may be told of a row without knowing which row it is (a row gone).
func (v *View) ShownEverywhere(name string) bool {
	c, ok := v.Column(name)
	return ok && c.shown.equal(v.rows)
}

// plain says whether the view reads the table as it is: all rows, every column as stored.
func (v *View) plain() bool {
	if !v.rows.all {
		return false
	}
	for _, c := range v.Columns {
		if c.Masked || !c.shown.all {
			return false
		}
	}
	return true
}

// Arg adds a bind parameter and returns its placeholder ($n).
type Arg func(v any) string

// From is the SQL of the collection as the principal reads it, under alias: the table itself
// when nothing is hidden, else a subquery with the same column names that leaves out the rows
// and values the principal may not read. Simple subqueries are pulled up by the planner, so
// indexes still serve plain columns. raw names stored columns the caller's own SQL needs as
// they are (the geometry, fid), which must not be fields the view hides.
func (v *View) From(alias string, arg Arg, raw ...string) string {
	table := v.Layer.QualifiedTable()
	if v.plain() {
		return table + " " + alias
	}
	a := pgx.Identifier{alias}.Sanitize()
	cols := []string{a + ".fid"}
	for _, name := range raw {
		if name != "" && name != "fid" {
			cols = append(cols, a+"."+pgx.Identifier{name}.Sanitize())
		}
	}
	for _, c := range v.Columns {
		cols = append(cols, v.expr(c, alias, arg)+" AS "+pgx.Identifier{c.Name}.Sanitize())
	}
	cond := v.rows.sql(v.Layer, alias, arg)
	if cond != "" {
		// The planner merges this subquery into the caller's query and may evaluate the
		// caller's conditions before this WHERE: Guard uses the flag to keep them off the
		// rows the principal may not read.
		cols = append(cols, cond+" AS "+ReadableColumn)
	}
	sql := "(SELECT " + strings.Join(cols, ", ") + " FROM " + table + " " + a
	if cond != "" {
		sql += " WHERE " + cond
	}
	return sql + ") " + a
}

// ReadableColumn is the flag a restricted view's From adds: whether the row is one the
// principal may read.
const ReadableColumn = "hub_readable"

// Guard wraps a condition the caller wrote (a CQL2 filter) so that it is evaluated only on rows
// the principal may read. A condition can fail on a value (an overflow, a bad pattern), and the
// planner orders conditions by cost, not by the view's nesting: unguarded, a filter that fails
// on a hidden row would tell by its error that the row exists and what it holds.
func (v *View) Guard(cond, alias string) string {
	if v.plain() || v.rows.all {
		return cond
	}
	return "CASE WHEN " + pgx.Identifier{alias}.Sanitize() + "." + ReadableColumn + " THEN (" + cond + ") END"
}

// Rows is the condition, on alias's stored columns, that a row is one the principal may read;
// "" for all rows. For subqueries over a collection the caller does not read through From
// (counting linked records).
func (v *View) Rows(alias string, arg Arg) string {
	if v.rows.all {
		return ""
	}
	return v.rows.sql(v.Layer, alias, arg)
}

// expr is a column's value as the principal sees it, from alias's stored columns.
func (v *View) expr(c Column, alias string, arg Arg) string {
	x := pgx.Identifier{alias}.Sanitize() + "." + pgx.Identifier{c.Name}.Sanitize()
	if c.Masked {
		masked := "hub_mask(" + x + "::text)"
		if !c.clear.none() {
			// Some rows in clear (an unmasking agreement for part of the rows): clear is
			// restricted here, since a field in clear everywhere is not masked.
			masked = "CASE WHEN " + c.clear.sql(v.Layer, alias, arg) + " THEN " + x + "::text ELSE " + masked + " END"
		}
		x = masked
	}
	if !c.shown.equal(v.rows) {
		if cond := c.shown.sql(v.Layer, alias, arg); cond != "" {
			x = "CASE WHEN " + cond + " THEN " + x + " END"
		}
	}
	return x
}

// sql is the condition that a row of l (under alias) is in s; "" when s is all rows, FALSE
// when none. A restriction naming a field l lacks matches nothing in l.
func (s rowSet) sql(l *layers.Layer, alias string, arg Arg) string {
	if s.all {
		return ""
	}
	var ors []string
	for _, restriction := range s.any {
		var ands []string
		ok := true
		for _, name := range slices.Sorted(maps.Keys(restriction)) {
			f, exists := l.Field(name)
			if !exists {
				ok = false
				break
			}
			ands = append(ands, pgx.Identifier{alias}.Sanitize()+"."+pgx.Identifier{name}.Sanitize()+
				" = ANY(("+arg(restriction[name])+"::text[])::"+layers.SQLType(f.Type)+"[])")
		}
		if ok {
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
	}
	if len(ors) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// Fingerprint names what the view shows: two principals with the same fingerprint read the
// same bytes, so a cached tile is shared only between them.
func (v *View) Fingerprint() string {
	v.printOnce.Do(func() { v.fingerprint = v.print() })
	return v.fingerprint
}

func (v *View) print() string {
	type col struct {
		N            string
		M            bool
		Shown, Clear rowSet
	}
	type print struct {
		Rows rowSet
		Cols []col
	}
	p := print{Rows: v.rows}
	for _, c := range v.Columns {
		p.Cols = append(p.Cols, col{c.Name, c.Masked, c.shown, c.clear})
	}
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// MarshalJSON lets rowSet take part in fingerprints.
func (s rowSet) MarshalJSON() ([]byte, error) {
	if s.all {
		return []byte(`"all"`), nil
	}
	return json.Marshal(s.any)
}
