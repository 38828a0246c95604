package cql2

import (
	"math"
	"strconv"
	"strings"
)

// Text writes e as canonical CQL2 text: keywords in upper case, property names quoted only
// when they must be, timestamps in UTC with the shortest fraction, parentheses only where the
// tree needs them. ParseText(Text(e)) gives back e, so two filters are equivalent when their
// Text is equal. One exception, which the CQL2 grammar itself imposes: it reads \' inside a
// string as an escaped quote, so a string value with a backslash right before a quote or at
// its very end cannot be written back exactly.
func Text(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, 0)
	return b.String()
}

// Precedence levels, loosest first; an operand whose level is below what its place needs is
// parenthesised.
const (
	precOr = iota + 1
	precAnd
	precNot
	precPredicate
	precAdd
	precMul
	precPow
	precPrimary
)

func precedence(e Expr) int {
	switch e := e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	case *Compare, *Like, *Between, *In, *IsNull:
		return precPredicate
	case *Arith:
		switch e.Op {
		case "+", "-":
			return precAdd
		case "^":
			return precPow
		}
		return precMul
	}
	return precPrimary
}

// writeExpr writes e, in parentheses when its precedence is below min.
func writeExpr(b *strings.Builder, e Expr, min int) {
	if precedence(e) < min {
		b.WriteByte('(')
		writeBare(b, e)
		b.WriteByte(')')
		return
	}
	writeBare(b, e)
}

func writeBare(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *Or:
		writeList(b, e.Args, " OR ", precOr+1)
	case *And:
		writeList(b, e.Args, " AND ", precAnd+1)
	case *Not:
		b.WriteString("NOT ")
		writeExpr(b, e.Arg, precPredicate+1)
	case *Compare:
		writeExpr(b, e.Left, precAdd)
		b.WriteString(" " + e.Op + " ")
		writeExpr(b, e.Right, precAdd)
	case *Like:
		writeExpr(b, e.Value, precAdd)
		b.WriteString(" LIKE ")
		writeExpr(b, e.Pattern, precAdd)
	case *Between:
		writeExpr(b, e.Value, precAdd)
		b.WriteString(" BETWEEN ")
		writeExpr(b, e.Low, precAdd)
		b.WriteString(" AND ")
		writeExpr(b, e.High, precAdd)
	case *In:
		writeExpr(b, e.Value, precAdd)
		b.WriteString(" IN (")
		writeList(b, e.List, ", ", precAdd)
		b.WriteByte(')')
	case *IsNull:
		writeExpr(b, e.Value, precAdd)
		b.WriteString(" IS NULL")
	case *SpatialPred:
		writeCall(b, e.Op, []Expr{e.Left, e.Right}, precAdd)
	case *TemporalPred:
		writeCall(b, e.Op, []Expr{e.Left, e.Right}, precAdd)
	case *ArrayPred:
		writeCall(b, e.Op, []Expr{e.Left, e.Right}, precAdd)
	case *Arith:
		level := precedence(e)
		if e.Op == "^" { // right-associative
			writeExpr(b, e.Left, level+1)
			b.WriteString(" ^ ")
			writeExpr(b, e.Right, level)
			return
		}
		writeExpr(b, e.Left, level)
		b.WriteString(" " + e.Op + " ")
		writeExpr(b, e.Right, level+1)
	case *CaseI:
		writeCall(b, "CASEI", []Expr{e.Arg}, precAdd)
	case *AccentI:
		writeCall(b, "ACCENTI", []Expr{e.Arg}, precAdd)
	case *FuncCall:
		writeCall(b, e.Name, e.Args, 0)
	case *PropertyRef:
		b.WriteString(propertyText(e.Name))
	case *StringLit:
		b.WriteString(quoteString(e.Value))
	case *NumberLit:
		b.WriteString(numberText(e))
	case *BoolLit:
		if e.Value {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case *DateLit:
		b.WriteString("DATE('" + formatDate(e.Value) + "')")
	case *TimestampLit:
		b.WriteString("TIMESTAMP('" + formatTimestamp(e.Value) + "')")
	case *IntervalLit:
		b.WriteString("INTERVAL(")
		writeBound(b, e.Start)
		b.WriteString(", ")
		writeBound(b, e.End)
		b.WriteByte(')')
	case *OpenEnd:
		b.WriteString("'..'")
	case *ArrayLit:
		b.WriteByte('(')
		writeList(b, e.Elems, ", ", 0)
		b.WriteByte(')')
	case *GeometryLit:
		writeGeometry(b, e)
	case *BBoxLit:
		b.WriteString("BBOX(")
		for i, c := range e.Coords {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(formatCoord(c))
		}
		b.WriteByte(')')
	case nil:
		b.WriteString("<nil>")
	}
}

func writeList(b *strings.Builder, es []Expr, sep string, min int) {
	for i, a := range es {
		if i > 0 {
			b.WriteString(sep)
		}
		writeExpr(b, a, min)
	}
}

func writeCall(b *strings.Builder, name string, args []Expr, min int) {
	b.WriteString(name)
	b.WriteByte('(')
	writeList(b, args, ", ", min)
	b.WriteByte(')')
}

// writeBound writes an interval bound: instants as the bare strings INTERVAL takes.
func writeBound(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *DateLit:
		b.WriteString("'" + formatDate(e.Value) + "'")
	case *TimestampLit:
		b.WriteString("'" + formatTimestamp(e.Value) + "'")
	default:
		writeExpr(b, e, precAdd)
	}
}

// keywords are words that would be read as something else than a property name if written
// bare, so property names equal to them (in any case) are quoted.
var keywords = func() map[string]bool {
	m := map[string]bool{"CASEI": true, "ACCENTI": true, "DATE": true, "TIMESTAMP": true,
		"INTERVAL": true, "BBOX": true}
	for k := range reserved {
		m[k] = true
	}
	for _, ops := range []map[string]string{spatialOps, temporalOps, arrayOps, geometryTypes} {
		for k := range ops {
			m[k] = true
		}
	}
	return m
}()

func propertyText(name string) string {
	if isIdentifier(name) && !keywords[strings.ToUpper(name)] {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// numberText writes a literal so that it reads back as the same kind: a float always has a
// fraction or an exponent.
func numberText(n *NumberLit) string {
	if n.IsInt {
		return strconv.FormatInt(n.Int, 10)
	}
	s := formatCoord(n.Float)
	if !strings.ContainsAny(s, ".eEIN") {
		s += ".0"
	}
	return s
}

// formatCoord writes a float without an exponent in the usual ranges of coordinates and
// measures, and with one (which CQL2 reads) beyond them.
func formatCoord(f float64) string {
	if a := math.Abs(f); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'e', -1, 64)
}

func formatPosition(p Position) string {
	s := make([]string, len(p))
	for i, c := range p {
		s[i] = formatCoord(c)
	}
	return "(" + strings.Join(s, " ") + ")"
}

func writeGeometry(b *strings.Builder, g *GeometryLit) {
	b.WriteString(wktNames[g.Type])
	if g.Type != "GeometryCollection" {
		if ps := positionsOf(g); len(ps) > 0 && len(ps[0]) == 3 {
			b.WriteString(" Z")
		}
	}
	positions := func(ps []Position, paren bool) {
		b.WriteByte('(')
		for i, p := range ps {
			if i > 0 {
				b.WriteString(", ")
			}
			if paren {
				b.WriteByte('(')
			}
			for k, c := range p {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(formatCoord(c))
			}
			if paren {
				b.WriteByte(')')
			}
		}
		b.WriteByte(')')
	}
	lists := func(ls [][]Position) {
		b.WriteByte('(')
		for i, l := range ls {
			if i > 0 {
				b.WriteString(", ")
			}
			positions(l, false)
		}
		b.WriteByte(')')
	}
	switch g.Type {
	case "Point", "LineString":
		positions(g.Coordinates, false)
	case "MultiPoint":
		positions(g.Coordinates, true)
	case "Polygon", "MultiLineString":
		lists(g.Rings)
	case "MultiPolygon":
		b.WriteByte('(')
		for i, p := range g.Polygons {
			if i > 0 {
				b.WriteString(", ")
			}
			lists(p)
		}
		b.WriteByte(')')
	case "GeometryCollection":
		b.WriteByte('(')
		for i, m := range g.Geometries {
			if i > 0 {
				b.WriteString(", ")
			}
			writeGeometry(b, m)
		}
		b.WriteByte(')')
	}
}
