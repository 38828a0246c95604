package cql2

import (
	"sort"
	"strconv"
	"strings"
)

// SQL compiles e to a boolean SQL expression for a WHERE clause. Every value (string, number,
// date, timestamp, geometry as WKB, …) is a bind parameter numbered from firstArg ($firstArg,
// $firstArg+1, …; firstArg below 1 counts as 1), cast to its type so that PostgreSQL never has
// to guess; identifiers come only from t. It returns the SQL and the argument values, in
// parameter order. Errors are *Error: an unknown property, a type mismatch, an unsupported
// function, an invalid geometry.
//
// NULL follows SQL's three-valued logic, which is what CQL2 asks: a comparison, LIKE,
// BETWEEN, IN, spatial, temporal or array predicate with a null operand is null (for an Array
// property, a value that is not a JSON array counts as null), NOT null is null,
// and a WHERE clause keeps only rows where the filter is true. Division and modulo by zero
// give null too, rather than a database error.
func SQL(e Expr, t Target, firstArg int) (sql string, args []any, err error) {
	if firstArg < 1 {
		firstArg = 1
	}
	c := &compiler{t: t, first: firstArg}
	defer func() {
		if r := recover(); r != nil {
			ce, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			sql, args, err = "", nil, ce
		}
	}()
	if e == nil {
		return "", nil, errorf("the filter is empty")
	}
	return c.boolean(e), c.args, nil
}

// compiler builds SQL and collects parameters; it reports the first *Error by panicking,
// which SQL recovers.
type compiler struct {
	t     Target
	first int
	args  []any
}

// value is a compiled scalar expression and its type.
type value struct {
	sql string
	typ Type
}

func (c *compiler) fail(format string, args ...any) { panic(errorf(format, args...)) }

// param adds a bind parameter and returns its placeholder, cast to sqlType.
func (c *compiler) param(v any, sqlType string) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(c.first+len(c.args)-1) + "::" + sqlType
}

// boolean compiles an expression that must be true or false.
func (c *compiler) boolean(e Expr) string {
	switch e := e.(type) {
	case *And:
		return c.join(e.Args, " AND ")
	case *Or:
		return c.join(e.Args, " OR ")
	case *Not:
		return "(NOT " + c.boolean(e.Arg) + ")"
	case *BoolLit:
		return c.param(e.Value, "boolean")
	case *Compare:
		l, r := c.value(e.Left), c.value(e.Right)
		c.comparable(e.Left, l, e.Right, r)
		return "(" + l.sql + " " + e.Op + " " + r.sql + ")"
	case *Like:
		return c.like(e)
	case *Between:
		v, lo, hi := c.value(e.Value), c.value(e.Low), c.value(e.High)
		c.comparable(e.Value, v, e.Low, lo)
		c.comparable(e.Value, v, e.High, hi)
		return "(" + v.sql + " BETWEEN " + lo.sql + " AND " + hi.sql + ")"
	case *In:
		v := c.value(e.Value)
		items := make([]string, len(e.List))
		for i, x := range e.List {
			xv := c.value(x)
			c.comparable(e.Value, v, x, xv)
			items[i] = xv.sql
		}
		return "(" + v.sql + " IN (" + strings.Join(items, ", ") + "))"
	case *IsNull:
		return "(" + c.value(e.Value).sql + " IS NULL)"
	case *SpatialPred:
		return c.spatial(e)
	case *TemporalPred:
		return c.temporal(e)
	case *ArrayPred:
		return c.array(e)
	}
	v := c.value(e)
	if v.typ != Boolean {
		c.fail("expected a predicate, found %s, which is %s", describe(e), v.typ.article())
	}
	return v.sql
}

func (c *compiler) join(args []Expr, op string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = c.boolean(a)
	}
	return "(" + strings.Join(parts, op) + ")"
}

// value compiles a scalar expression.
func (c *compiler) value(e Expr) value {
	switch e := e.(type) {
	case *PropertyRef:
		col, typ := c.property(e.Name)
		if typ == Array {
			// JSON null is null (IS NULL); the array functions read the column themselves.
			col = "NULLIF(" + col + ", 'null'::jsonb)"
		}
		return value{col, typ}
	case *StringLit:
		return value{c.param(e.Value, "text"), String}
	case *NumberLit:
		if e.IsInt {
			return value{c.param(e.Int, "bigint"), Integer}
		}
		return value{c.param(e.Float, "double precision"), Number}
	case *BoolLit:
		return value{c.param(e.Value, "boolean"), Boolean}
	case *DateLit:
		return value{c.param(e.Value, "date"), Date}
	case *TimestampLit:
		return value{c.param(e.Value, "timestamptz"), Timestamp}
	case *GeometryLit, *BBoxLit:
		return value{c.geometryLiteral(e), Geometry}
	case *Arith:
		return c.arith(e)
	case *CaseI:
		return value{"lower(" + c.stringValue(e.Arg, "CASEI") + ")", String}
	case *AccentI:
		if c.t.Unaccent == "" {
			c.fail("ACCENTI is not supported here")
		}
		return value{c.t.Unaccent + "(" + c.stringValue(e.Arg, "ACCENTI") + ")", String}
	case *FuncCall:
		c.fail("the function %s is not supported: filters here can use only the functions of CQL2 itself (CASEI, ACCENTI, S_…, T_…, A_…)", e.Name)
	case *IntervalLit:
		c.fail("%s can only be an argument of a temporal function such as T_INTERSECTS", describe(e))
	case *OpenEnd:
		c.fail("'..' can only be a bound of INTERVAL")
	case *ArrayLit:
		c.fail("the array %s can only be an argument of A_EQUALS, A_CONTAINS, A_CONTAINEDBY or A_OVERLAPS", clip(Text(e)))
	case nil:
		c.fail("a part of the filter is missing")
	}
	return value{c.boolean(e), Boolean}
}

func (c *compiler) stringValue(e Expr, fn string) string {
	v := c.value(e)
	if v.typ != String {
		c.fail("%s needs a string, but %s is %s", fn, describe(e), v.typ.article())
	}
	return v.sql
}

// comparable refuses comparing values of different types (CQL2 requires the same type;
// integers and numbers are one type, numeric).
func (c *compiler) comparable(le Expr, l value, re Expr, r value) {
	switch {
	case l.typ.numeric() && r.typ.numeric():
		return
	case l.typ == Geometry || r.typ == Geometry:
		c.fail("cannot compare %s with %s: compare geometries with S_EQUALS, S_INTERSECTS and the other spatial functions", describe(le), describe(re))
	case l.typ == Array || r.typ == Array:
		c.fail("cannot compare %s with %s: compare arrays with A_EQUALS, A_CONTAINS, A_CONTAINEDBY or A_OVERLAPS", describe(le), describe(re))
	case l.typ == r.typ:
		return
	}
	hint := ""
	for _, pair := range [][2]Type{{l.typ, r.typ}, {r.typ, l.typ}} {
		switch {
		case pair[0] == Date && pair[1] == String:
			hint = " (write a date as DATE('2022-04-16'))"
		case pair[0] == Timestamp && pair[1] == String:
			hint = " (write a timestamp as TIMESTAMP('2022-04-16T10:13:19Z'))"
		case pair[0] == Date && pair[1] == Timestamp:
			hint = " (a date and a timestamp are different types)"
		}
	}
	c.fail("cannot compare %s, which is %s, with %s, which is %s%s", describe(le), l.typ.article(), describe(re), r.typ.article(), hint)
}

// like compiles LIKE. CQL2's wildcards (% and _) and escape character (\) are PostgreSQL's,
// so the pattern is passed as it is, as a parameter.
func (c *compiler) like(e *Like) string {
	v := c.value(e.Value)
	if v.typ != String {
		c.fail("LIKE needs a string on its left, but %s is %s", describe(e.Value), v.typ.article())
	}
	p := c.value(e.Pattern)
	if p.typ != String {
		c.fail("the pattern of LIKE must be a string, but %s is %s", describe(e.Pattern), p.typ.article())
	}
	if s, ok := patternLiteral(e.Pattern); ok {
		escaped := false
		for _, r := range s {
			escaped = !escaped && r == '\\'
		}
		if escaped {
			c.fail("the LIKE pattern %s ends with the escape character \\ (write \\\\ for a backslash)", quoteString(s))
		}
	}
	return "(" + v.sql + " LIKE " + p.sql + " ESCAPE E'\\\\')"
}

// patternLiteral finds the literal inside CASEI(…)/ACCENTI(…) of a pattern.
func patternLiteral(e Expr) (string, bool) {
	for {
		switch x := e.(type) {
		case *StringLit:
			return x.Value, true
		case *CaseI:
			e = x.Arg
		case *AccentI:
			e = x.Arg
		default:
			return "", false
		}
	}
}

// arith compiles arithmetic on numbers. Integers stay bigint where the result is an integer;
// / is real division; div truncates; division and modulo by zero are null.
func (c *compiler) arith(e *Arith) value {
	l, r := c.value(e.Left), c.value(e.Right)
	for _, side := range []struct {
		e Expr
		v value
	}{{e.Left, l}, {e.Right, r}} {
		if !side.v.typ.numeric() {
			c.fail("arithmetic needs numbers, but in %s, %s is %s", describe(e), describe(side.e), side.v.typ.article())
		}
	}
	ints := l.typ == Integer && r.typ == Integer
	typ := Number
	if ints {
		typ = Integer
	}
	switch e.Op {
	case "+", "-", "*":
		return value{"(" + l.sql + " " + e.Op + " " + r.sql + ")", typ}
	case "/":
		return value{"((" + l.sql + ")::double precision / NULLIF(" + r.sql + ", 0))", Number}
	case "div":
		if ints {
			return value{"(" + l.sql + " / NULLIF(" + r.sql + ", 0))", Integer}
		}
		return value{"div((" + l.sql + ")::numeric, NULLIF((" + r.sql + ")::numeric, 0))", Integer}
	case "%":
		if ints {
			return value{"mod(" + l.sql + ", NULLIF(" + r.sql + ", 0))", Integer}
		}
		return value{"mod((" + l.sql + ")::numeric, NULLIF((" + r.sql + ")::numeric, 0))", Number}
	case "^":
		return value{"power((" + l.sql + ")::double precision, (" + r.sql + ")::double precision)", Number}
	}
	c.fail("unknown arithmetic operator %q", e.Op)
	return value{}
}

// property resolves a queryable name to its column.
func (c *compiler) property(name string) (string, Type) {
	if p, ok := c.t.Properties[name]; ok {
		if _, known := typeNames[p.Type]; !known || p.Column == "" {
			c.fail("the queryable %q is not set up for filtering (type %d, column %q)", name, int(p.Type), p.Column)
		}
		return p.Column, p.Type
	}
	if c.t.Geometry != "" && (name == "geometry" || name == columnName(c.t.Geometry)) {
		return c.t.Geometry, Geometry
	}
	c.fail("unknown property %q; the queryables are: %s", clip(name), strings.Join(c.queryables(), ", "))
	return "", 0
}

// queryables lists the names filters can use, for messages.
func (c *compiler) queryables() []string {
	var names []string
	for n := range c.t.Properties {
		names = append(names, n)
	}
	if c.t.Geometry != "" {
		for _, n := range []string{"geometry", columnName(c.t.Geometry)} {
			if _, ok := c.t.Properties[n]; !ok && n != "" {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	names = compact(names)
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// columnName is the unquoted name of the last identifier of a column's SQL: `t."geom"` and
// `"geom"` give geom.
func columnName(sql string) string {
	if !strings.HasSuffix(sql, `"`) {
		if i := strings.LastIndexByte(sql, '.'); i >= 0 {
			return sql[i+1:]
		}
		return sql
	}
	// Walk back over the quoted identifier, where "" stands for one quote.
	i := len(sql) - 2
	for i >= 0 {
		if sql[i] == '"' {
			if i > 0 && sql[i-1] == '"' {
				i -= 2
				continue
			}
			return strings.ReplaceAll(sql[i+1:len(sql)-1], `""`, `"`)
		}
		i--
	}
	return ""
}

// describe names an expression for a message: its CQL2 text, shortened.
func describe(e Expr) string {
	if e == nil {
		return "nothing"
	}
	return clip(Text(e))
}

func itoa(i int) string { return strconv.Itoa(i) }
