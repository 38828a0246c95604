package cql2

import "strings"

// arrayOperators maps the CQL2 array functions to PostgreSQL's array operators: A_EQUALS is
// equality (same elements in the same order), A_CONTAINS @>, A_CONTAINEDBY <@, A_OVERLAPS &&.
var arrayOperators = map[string]string{"A_EQUALS": "=", "A_CONTAINS": "@>", "A_CONTAINEDBY": "<@",
	"A_OVERLAPS": "&&"}

// pgTypes are the SQL types of array elements.
var pgTypes = map[Type]string{String: "text", Integer: "bigint", Number: "double precision",
	Boolean: "boolean", Date: "date", Timestamp: "timestamptz"}

// array compiles an array function between two array literals. No queryable here is an
// array (the layers store arrays as JSON), so a property operand is refused.
func (c *compiler) array(e *ArrayPred) string {
	op, ok := arrayOperators[e.Op]
	if !ok {
		c.fail("unknown array function %s", e.Op)
	}
	var sides [2][]value
	var elemType Type
	for i, x := range []Expr{e.Left, e.Right} {
		a, ok := x.(*ArrayLit)
		if !ok {
			v := c.value(x)
			c.fail("%s needs two arrays, but %s is %s (array properties are not supported)", e.Op, describe(x), v.typ.article())
		}
		for _, el := range a.Elems {
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
