package cql2

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// The array functions compare two arrays: A_EQUALS is true when they have the same elements in
// the same order, A_CONTAINS(a, b) when every element of b is in a, A_CONTAINEDBY(a, b) when
// every element of a is in b, A_OVERLAPS when they have an element in common. Like every
// other predicate they are null when an operand is null.
//
// Two array literals compile to PostgreSQL arrays of their element type (the elements must
// then be of one type): A_EQUALS is =, A_CONTAINS @>, A_CONTAINEDBY <@ and A_OVERLAPS &&.
//
// An Array property is a jsonb column, and the array functions on it are jsonb operators: the
// other operand is another Array property or an array literal, which travels as one jsonb
// parameter, built in Go from its elements (strings, numbers, booleans, dates and timestamps,
// of one type or mixed, as JSON arrays may be). A date is written as its ISO string
// (2022-04-16) and a timestamp as RFC 3339 in UTC (2022-04-16T10:13:19Z, with a fraction of a
// second only when it has one), the strings GeoJSON properties hold: jsonb compares them as
// strings, while numbers compare by value (1 = 1.0). With a and b the two jsonb operands:
//
//	A_EQUALS(a, b)       a = b
//	A_CONTAINS(a, b)     a @> b
//	A_CONTAINEDBY(a, b)  a <@ b
//	A_OVERLAPS(a, b)     a @> ANY (ARRAY(SELECT jsonb_build_array(v) FROM jsonb_array_elements(b) AS e(v)))
//
// (for A_OVERLAPS, b is the literal when there is one, so that its elements are read once).
// Each is wrapped in CASE WHEN jsonb_typeof(p) = 'array' THEN … END for every property p, so
// that a value that is not a JSON array — SQL null, JSON null, an object, a string, a number —
// makes the function null rather than false: neither it nor its negation selects the feature,
// and jsonb's rule that an array contains a bare scalar never applies. Elements that are
// themselves arrays or objects (only a property can hold them) are compared by jsonb
// containment, as @> does.
var arrayOperators = map[string]string{"A_EQUALS": "=", "A_CONTAINS": "@>", "A_CONTAINEDBY": "<@",
	"A_OVERLAPS": "&&"}

// pgTypes are the SQL types of array elements.
var pgTypes = map[Type]string{String: "text", Integer: "bigint", Number: "double precision",
	Boolean: "boolean", Date: "date", Timestamp: "timestamptz"}

// array compiles an array function.
func (c *compiler) array(e *ArrayPred) string {
	op, ok := arrayOperators[e.Op]
	if !ok {
		c.fail("unknown array function %s", e.Op)
	}
	l, lok := e.Left.(*ArrayLit)
	r, rok := e.Right.(*ArrayLit)
	if lok && rok {
		return c.literalArrays(e, op, l, r)
	}
	return c.jsonbArrays(e)
}

// literalArrays compiles an array function between two array literals, as PostgreSQL arrays.
func (c *compiler) literalArrays(e *ArrayPred, op string, l, r *ArrayLit) string {
	var sides [2][]value
	var elemType Type
	for i, a := range []*ArrayLit{l, r} {
		for _, el := range a.Elems {
			if _, nested := el.(*ArrayLit); nested {
				c.fail("%s: arrays of arrays are not supported (%s)", e.Op, describe(el))
			}
			v := c.value(el)
			if pgTypes[v.typ] == "" {
				c.fail("%s: arrays of %ss are not supported (%s)", e.Op, v.typ, describe(el))
			}
			switch {
			case elemType == 0, elemType == Integer && v.typ == Number:
				elemType = v.typ
			case elemType.numeric() && v.typ.numeric(), elemType == v.typ:
			default:
				c.fail("%s: the elements of its arrays must be of one type, but %s is %s and an earlier element %s", e.Op, describe(el), v.typ.article(), elemType.article())
			}
			sides[i] = append(sides[i], v)
		}
	}
	if elemType == 0 {
		elemType = String // two empty arrays
	}
	pg := pgTypes[elemType]
	sql := [2]string{}
	for i, vs := range sides {
		parts := make([]string, len(vs))
		for k, v := range vs {
			parts[k] = v.sql
			if v.typ != elemType {
				parts[k] = "(" + v.sql + ")::" + pg
			}
		}
		sql[i] = "ARRAY[" + strings.Join(parts, ", ") + "]::" + pg + "[]"
	}
	return "(" + sql[0] + " " + op + " " + sql[1] + ")"
}

// jsonbArrays compiles an array function of which at least one operand is not a literal: it
// must be an Array property, and the other an Array property or an array literal.
func (c *compiler) jsonbArrays(e *ArrayPred) string {
	var sides [2]string
	var guards []string
	for i, x := range []Expr{e.Left, e.Right} {
		switch x := x.(type) {
		case *ArrayLit:
			sides[i] = c.param(c.arrayJSON(e.Op, x), "jsonb")
		case *PropertyRef:
			col, typ := c.property(x.Name)
			if typ != Array {
				c.fail("%s needs two arrays, but %s is %s", e.Op, describe(x), typ.article())
			}
			sides[i] = col
			guard := "jsonb_typeof(" + col + ") = 'array'"
			if len(guards) == 0 || guards[0] != guard {
				guards = append(guards, guard)
			}
		default:
			v := c.value(x)
			c.fail("%s needs two arrays, but %s is %s", e.Op, describe(x), v.typ.article())
		}
	}
	a, b := sides[0], sides[1]
	var cond string
	switch e.Op {
	case "A_EQUALS":
		cond = a + " = " + b
	case "A_CONTAINS":
		cond = a + " @> " + b
	case "A_CONTAINEDBY":
		cond = a + " <@ " + b
	case "A_OVERLAPS":
		// Some element of b, as a one-element array, is contained in a. The elements are
		// unnested from the literal when there is one; the subquery names nothing but its own
		// element, so no column of the table can be mistaken for it.
		if _, lit := e.Left.(*ArrayLit); lit {
			a, b = b, a
		}
		cond = a + " @> ANY (ARRAY(SELECT jsonb_build_array(v) FROM jsonb_array_elements(" + b + ") AS e(v)))"
	}
	return "(CASE WHEN " + strings.Join(guards, " AND ") + " THEN " + cond + " END)"
}

// arrayJSON is the JSON text of an array literal compared with an Array property. Its
// elements must be literals: strings, numbers, booleans, dates and timestamps.
func (c *compiler) arrayJSON(fn string, a *ArrayLit) string {
	elems := make([]any, len(a.Elems))
	for i, el := range a.Elems {
		switch x := el.(type) {
		case *StringLit:
			if strings.ContainsRune(x.Value, 0) {
				c.fail("%s: the string %s contains the character U+0000, which JSON values in the database cannot hold", fn, describe(x))
			}
			elems[i] = x.Value
		case *NumberLit:
			if x.IsInt {
				elems[i] = x.Int
			} else {
				elems[i] = x.Float
			}
		case *BoolLit:
			elems[i] = x.Value
		case *DateLit:
			elems[i] = x.Value.Format(time.DateOnly)
		case *TimestampLit:
			elems[i] = x.Value.UTC().Format(time.RFC3339Nano)
		case *ArrayLit:
			c.fail("%s: arrays of arrays are not supported (%s)", fn, describe(x))
		default:
			c.fail("%s: an array compared with an array property can hold only strings, numbers, booleans, dates and timestamps, written as literals; %s is not one", fn, describe(x))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(elems); err != nil {
		c.fail("%s: %s cannot be written as JSON: %v", fn, describe(a), err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
