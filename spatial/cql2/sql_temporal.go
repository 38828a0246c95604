package cql2

import "strings"

// Temporal functions follow the OWL-Time relations the standard refers to, on closed
// intervals [begin, end]; an instant is an interval whose begin and end are the same. An open
// end ('..') is -infinity or infinity, which keeps SQL's null logic intact (a bound compared
// with infinity is still null when the bound is null).
//
// Dates and timestamps meet in one predicate (a date property against a timestamp interval,
// or INTERVAL('2005-01-10', '2010-02-10T05:29:20Z')): the dates then stand for their whole UTC
// day, from 00:00:00 to the last microsecond, so T_BEFORE(date, timestamp) means the day ends
// before the timestamp.

// bound is one end of a temporal operand. Its SQL is compiled when the predicate first uses
// it, so that a bound the predicate does not need (T_AFTER reads only one end of each operand)
// adds no parameter: PostgreSQL refuses parameters that the statement never uses.
type bound struct {
	expr   Expr // nil for an open end
	typ    Type // Date or Timestamp; 0 for an open end
	column bool // may be null (not a literal)
	sql    string
}

// span is a temporal operand; an instant's begin and end are the same bound.
type span struct {
	begin, end *bound
	interval   bool
}

// intervalOnly are the functions the standard defines between intervals only; an instant
// operand is a client error.
var intervalOnly = map[string]bool{"T_CONTAINS": true, "T_DURING": true, "T_FINISHEDBY": true,
	"T_FINISHES": true, "T_MEETS": true, "T_METBY": true, "T_OVERLAPPEDBY": true,
	"T_OVERLAPS": true, "T_STARTEDBY": true, "T_STARTS": true}

func (c *compiler) temporal(e *TemporalPred) string {
	if temporalOps[e.Op] == "" {
		c.fail("unknown temporal function %s", e.Op)
	}
	s1, s2 := c.span(e.Left, e.Op), c.span(e.Right, e.Op)
	if intervalOnly[e.Op] {
		for _, x := range []struct {
			e Expr
			s span
		}{{e.Left, s1}, {e.Right, s2}} {
			if !x.s.interval {
				c.fail("%s compares intervals, but %s is an instant; write INTERVAL(start, end), or use T_AFTER, T_BEFORE, T_DISJOINT, T_EQUALS or T_INTERSECTS", e.Op, describe(x.e))
			}
		}
	}
	// One granularity for the whole predicate: timestamps if any bound is one.
	typ := Date
	open := true
	for _, b := range []*bound{s1.begin, s1.end, s2.begin, s2.end} {
		if b.typ == Timestamp {
			typ = Timestamp
		}
		open = open && b.typ == 0
	}
	if open {
		typ = Timestamp
	}
	// Bounds compile when first used, in the order the SQL reads them.
	b1 := func() string { return c.boundSQL(s1.begin, typ, false) }
	e1 := func() string { return c.boundSQL(s1.end, typ, true) }
	b2 := func() string { return c.boundSQL(s2.begin, typ, false) }
	e2 := func() string { return c.boundSQL(s2.end, typ, true) }
	cmp := func(a func() string, op string, b func() string) string { return a() + " " + op + " " + b() }
	all := func(parts ...string) string { return "(" + strings.Join(parts, " AND ") + ")" }
	var cond string
	switch e.Op {
	case "T_AFTER":
		cond = "(" + cmp(b1, ">", e2) + ")"
	case "T_BEFORE":
		cond = "(" + cmp(e1, "<", b2) + ")"
	case "T_DISJOINT":
		cond = "(" + cmp(e1, "<", b2) + " OR " + cmp(b1, ">", e2) + ")"
	case "T_EQUALS":
		if s1.begin == s1.end && s2.begin == s2.end {
			cond = "(" + cmp(b1, "=", b2) + ")"
		} else {
			cond = all(cmp(b1, "=", b2), cmp(e1, "=", e2))
		}
	case "T_INTERSECTS":
		cond = all(cmp(b1, "<=", e2), cmp(e1, ">=", b2))
	case "T_MEETS":
		cond = "(" + cmp(e1, "=", b2) + ")"
	case "T_METBY":
		cond = "(" + cmp(b1, "=", e2) + ")"
	case "T_OVERLAPS":
		cond = all(cmp(b1, "<", b2), cmp(e1, ">", b2), cmp(e1, "<", e2))
	case "T_OVERLAPPEDBY":
		cond = all(cmp(b1, ">", b2), cmp(b1, "<", e2), cmp(e1, ">", e2))
	case "T_STARTS":
		cond = all(cmp(b1, "=", b2), cmp(e1, "<", e2))
	case "T_STARTEDBY":
		cond = all(cmp(b1, "=", b2), cmp(e1, ">", e2))
	case "T_DURING":
		cond = all(cmp(b1, ">", b2), cmp(e1, "<", e2))
	case "T_CONTAINS":
		cond = all(cmp(b1, "<", b2), cmp(e1, ">", e2))
	case "T_FINISHES":
		cond = all(cmp(b1, ">", b2), cmp(e1, "=", e2))
	case "T_FINISHEDBY":
		cond = all(cmp(b1, "<", b2), cmp(e1, "=", e2))
	}
	// An interval of two properties is null when either property is; without this, FALSE AND
	// NULL would make the predicate false (and its NOT true) instead of null.
	var nullable []string
	for _, s := range []span{s1, s2} {
		if s.interval {
			for _, b := range []*bound{s.begin, s.end} {
				if b.column {
					nullable = append(nullable, "("+c.compileBound(b)+") IS NULL")
				}
			}
		}
	}
	if len(nullable) > 0 {
		cond = "(CASE WHEN " + strings.Join(nullable, " OR ") + " THEN NULL ELSE " + cond + " END)"
	}
	return cond
}

// span compiles a temporal operand: a date or timestamp property or literal (an instant) or
// an INTERVAL.
func (c *compiler) span(e Expr, fn string) span {
	switch e := e.(type) {
	case *IntervalLit:
		return span{begin: c.bound(e.Start, fn), end: c.bound(e.End, fn), interval: true}
	case *OpenEnd:
		c.fail("'..' can only be a bound of INTERVAL")
	}
	b := c.bound(e, fn)
	return span{begin: b, end: b}
}

// bound types an interval bound or instant; its SQL comes later (compileBound).
func (c *compiler) bound(e Expr, fn string) *bound {
	switch e := e.(type) {
	case *OpenEnd:
		return &bound{}
	case *DateLit:
		return &bound{expr: e, typ: Date}
	case *TimestampLit:
		return &bound{expr: e, typ: Timestamp}
	case *PropertyRef:
		_, typ := c.property(e.Name)
		if typ == Date || typ == Timestamp {
			return &bound{expr: e, typ: typ, column: true}
		}
		c.fail("%s needs dates, timestamps or intervals, but %s is %s", fn, describe(e), typ.article())
	}
	v := c.value(e) // fails for functions; any other expression is not temporal
	c.fail("%s needs dates, timestamps or intervals, but %s is %s", fn, describe(e), v.typ.article())
	return nil
}

func (c *compiler) compileBound(b *bound) string {
	if b.sql == "" {
		b.sql = c.value(b.expr).sql
	}
	return b.sql
}

// boundSQL writes a bound in the predicate's granularity.
func (c *compiler) boundSQL(b *bound, typ Type, end bool) string {
	pgType := "timestamptz"
	if typ == Date {
		pgType = "date"
	}
	switch {
	case b.typ == 0 && end:
		return "'infinity'::" + pgType
	case b.typ == 0:
		return "'-infinity'::" + pgType
	case b.typ == typ:
		return c.compileBound(b)
	case end: // a date as the last microsecond of its UTC day
		return "((" + c.compileBound(b) + " + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 microsecond')"
	}
	return "((" + c.compileBound(b) + ")::timestamp AT TIME ZONE 'UTC')"
}
