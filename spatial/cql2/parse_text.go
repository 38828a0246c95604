package cql2

import (
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of parentheses, NOTs, unary minuses and function calls, so a
// hostile filter cannot exhaust the stack: no real filter comes near it.
const maxDepth = 100

// ParseText parses a CQL2 text filter. Keywords and function names are case-insensitive,
// property names case-sensitive. Errors are *SyntaxError.
func ParseText(src string) (e Expr, err error) {
	p := &textParser{src: src, toks: lex(src)}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			e, err = nil, se
		}
	}()
	return p.filter(), nil
}

// textParser is a recursive-descent parser over the token list; it reports the first error
// by panicking with a *SyntaxError, which ParseText recovers.
type textParser struct {
	src   string
	toks  []token
	p     int
	depth int
}

// Precedence, loosest first: OR, AND, NOT, predicates (comparison, LIKE, BETWEEN, IN, IS NULL),
// + -, * / % div, ^, unary minus, primaries.

func (p *textParser) filter() Expr {
	e := p.or()
	p.requireBoolean(e)
	if t := p.peek(); t.kind != tEOF {
		p.fail(t, "expected AND, OR or the end of the filter after %s, found %s", clip(Text(e)), p.describe(t))
	}
	return e
}

func (p *textParser) or() Expr {
	e := p.and()
	if !p.isKeyword("OR") {
		return e
	}
	p.requireBoolean(e)
	args := []Expr{e}
	for p.isKeyword("OR") {
		p.next()
		x := p.and()
		p.requireBoolean(x)
		args = append(args, x)
	}
	return &Or{Args: args}
}

func (p *textParser) and() Expr {
	e := p.not()
	if !p.isKeyword("AND") {
		return e
	}
	p.requireBoolean(e)
	args := []Expr{e}
	for p.isKeyword("AND") {
		p.next()
		x := p.not()
		p.requireBoolean(x)
		args = append(args, x)
	}
	return &And{Args: args}
}

func (p *textParser) not() Expr {
	if !p.isKeyword("NOT") {
		return p.predicate()
	}
	p.next()
	p.enter()
	defer p.leave()
	x := p.not()
	p.requireBoolean(x)
	return &Not{Arg: x}
}

// requireBoolean refuses e where a predicate must stand; the message points at the token after
// e, which is where the missing comparison should have been.
func (p *textParser) requireBoolean(e Expr) {
	if isBoolean(e) {
		return
	}
	t := p.peek()
	p.fail(t, "expected a comparison (=, <>, <, >, <=, >=, LIKE, BETWEEN, IN or IS NULL) after %s, found %s", clip(Text(e)), p.describe(t))
}

func (p *textParser) predicate() Expr {
	left := p.additive()
	t := p.peek()
	if t.kind == tPunct && compareOps[t.text] {
		p.next()
		return &Compare{Op: t.text, Left: left, Right: p.additive()}
	}
	negate := false
	if p.isKeyword("NOT") {
		n := p.peekAt(1)
		if n.kind == tIdent && (strings.EqualFold(n.text, "LIKE") || strings.EqualFold(n.text, "BETWEEN") || strings.EqualFold(n.text, "IN")) {
			p.next()
			negate = true
		}
	}
	var e Expr
	switch {
	case p.isKeyword("LIKE"):
		p.next()
		e = &Like{Value: left, Pattern: p.additive()}
	case p.isKeyword("BETWEEN"):
		p.next()
		low := p.additive()
		p.expectKeyword("AND", "between the bounds of BETWEEN")
		e = &Between{Value: left, Low: low, High: p.additive()}
	case p.isKeyword("IN"):
		p.next()
		open := p.expectPunct("(", "after IN")
		if p.isPunct(")") {
			p.fail(p.peek(), "expected at least one value in the IN list, found ')'")
		}
		var list []Expr
		for {
			list = append(list, p.additive())
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
		p.expectClose(open, "the IN list")
		e = &In{Value: left, List: list}
	case p.isKeyword("IS"):
		p.next()
		neg := false
		if p.isKeyword("NOT") {
			p.next()
			neg = true
		}
		p.expectKeyword("NULL", "after IS")
		e = &IsNull{Value: left}
		if neg {
			e = &Not{Arg: e}
		}
	default:
		return left
	}
	if negate {
		e = &Not{Arg: e}
	}
	return e
}

func (p *textParser) additive() Expr {
	e := p.multiplicative()
	for p.isPunct("+") || p.isPunct("-") {
		op := p.next().text
		e = &Arith{Op: op, Left: e, Right: p.multiplicative()}
	}
	return e
}

func (p *textParser) multiplicative() Expr {
	e := p.power()
	for {
		var op string
		switch {
		case p.isPunct("*"), p.isPunct("/"), p.isPunct("%"):
			op = p.peek().text
		case p.isKeyword("DIV"):
			op = "div"
		default:
			return e
		}
		p.next()
		e = &Arith{Op: op, Left: e, Right: p.power()}
	}
}

func (p *textParser) power() Expr {
	e := p.unary()
	if !p.isPunct("^") {
		return e
	}
	p.next()
	p.enter()
	defer p.leave()
	return &Arith{Op: "^", Left: e, Right: p.power()}
}

func (p *textParser) unary() Expr {
	switch {
	case p.isPunct("-"):
		p.next()
		p.enter()
		defer p.leave()
		return negate(p.unary())
	case p.isPunct("+"):
		p.next()
		if n := p.peek(); n.kind != tNumber {
			p.fail(n, "expected a number after '+', found %s", p.describe(n))
		}
		return p.primary()
	}
	return p.primary()
}

// negate is unary minus: a literal changes sign, anything else becomes -1 * e, the only way
// CQL2 JSON can write it.
func negate(e Expr) Expr {
	if n, ok := e.(*NumberLit); ok {
		if n.IsInt {
			return &NumberLit{IsInt: true, Int: -n.Int}
		}
		return &NumberLit{Float: -n.Float}
	}
	return &Arith{Op: "*", Left: &NumberLit{IsInt: true, Int: -1}, Right: e}
}

// reserved are the keywords that cannot be unquoted property names.
var reserved = map[string]bool{"AND": true, "OR": true, "NOT": true, "LIKE": true, "BETWEEN": true,
	"IN": true, "IS": true, "NULL": true, "DIV": true, "TRUE": true, "FALSE": true}

func (p *textParser) primary() Expr {
	t := p.next()
	switch t.kind {
	case tNumber:
		return p.number(t, false)
	case tString:
		return &StringLit{Value: t.text}
	case tQuoted:
		return &PropertyRef{Name: t.text}
	case tPunct:
		if t.text == "(" {
			p.enter()
			defer p.leave()
			return p.parenthesised(t)
		}
	case tIdent:
		return p.identifier(t)
	case tError:
		p.failAt(t.off, "%s", t.text)
	}
	p.fail(t, "expected a property, a literal or a function, found %s", p.describe(t))
	return nil
}

// parenthesised reads what follows "(" outside array context (a function argument, an
// operand): a parenthesised expression, or an array when a comma follows the first element (or
// nothing does: "()"). Its elements are read the same way, so ((1), 2) is (1, 2).
func (p *textParser) parenthesised(open token) Expr {
	if p.isPunct(")") {
		p.next()
		return &ArrayLit{}
	}
	first := p.or()
	if !p.isPunct(",") {
		p.expectClose(open, "the parenthesis")
		return first
	}
	elems := []Expr{first}
	for p.isPunct(",") {
		p.next()
		elems = append(elems, p.or())
	}
	p.expectClose(open, "the array")
	return &ArrayLit{Elems: elems}
}

// array reads an array whose "(" is the next token: in array context "(" always opens an
// array, so ('a') is a one-element array.
func (p *textParser) array() *ArrayLit {
	open := p.expectPunct("(", "to open an array")
	p.enter()
	defer p.leave()
	a := &ArrayLit{}
	if p.isPunct(")") {
		p.next()
		return a
	}
	for {
		a.Elems = append(a.Elems, p.arrayElement())
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	p.expectClose(open, "the array")
	return a
}

func (p *textParser) arrayElement() Expr {
	if p.isPunct("(") {
		return p.array()
	}
	return p.or()
}

func (p *textParser) identifier(t token) Expr {
	up := strings.ToUpper(t.text)
	call := p.isPunct("(")
	switch {
	case up == "TRUE" || up == "FALSE":
		return &BoolLit{Value: up == "TRUE"}
	case up == "NULL":
		p.fail(t, "expected a property, a literal or a function, found NULL (CQL2 has no NULL value; test for it with IS NULL)")
	case reserved[up]:
		p.fail(t, "expected a property, a literal or a function, found the keyword %s", up)
	case geometryTypes[up] != "" && (call || p.isKeyword("Z") || p.isKeyword("M") || p.isKeyword("ZM") || p.isKeyword("EMPTY")):
		return p.geometry(t, false, false)
	case !call:
		return &PropertyRef{Name: t.text}
	}
	p.enter()
	defer p.leave()
	switch {
	case up == "CASEI" || up == "ACCENTI":
		open := p.next()
		arg := p.additive()
		p.expectClose(open, "the argument of "+up)
		if up == "CASEI" {
			return &CaseI{Arg: arg}
		}
		return &AccentI{Arg: arg}
	case up == "DATE" || up == "TIMESTAMP":
		open := p.next()
		s := p.next()
		if s.kind != tString {
			p.fail(s, "expected a quoted %s such as %s after %s(, found %s", strings.ToLower(up), example(up), up, p.describe(s))
		}
		e := p.instant(s, up)
		p.expectClose(open, "the argument of "+up)
		return e
	case up == "INTERVAL":
		open := p.next()
		start := p.intervalBound()
		p.expectPunct(",", "between the start and the end of INTERVAL")
		end := p.intervalBound()
		p.expectClose(open, "INTERVAL")
		return &IntervalLit{Start: start, End: end}
	case up == "BBOX":
		return p.bbox()
	case spatialOps[up] != "" || temporalOps[up] != "":
		open := p.next()
		a := p.additive()
		p.expectPunct(",", "between the two arguments of "+up)
		b := p.additive()
		p.expectClose(open, "the arguments of "+up)
		if spatialOps[up] != "" {
			return &SpatialPred{Op: up, Left: a, Right: b}
		}
		return &TemporalPred{Op: up, Left: a, Right: b}
	case arrayOps[up] != "":
		open := p.next()
		a := p.arrayOperand()
		p.expectPunct(",", "between the two arguments of "+up)
		b := p.arrayOperand()
		p.expectClose(open, "the arguments of "+up)
		return &ArrayPred{Op: up, Left: a, Right: b}
	}
	open := p.next()
	f := &FuncCall{Name: t.text}
	if p.isPunct(")") {
		p.next()
		return f
	}
	for {
		f.Args = append(f.Args, p.or())
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	p.expectClose(open, "the arguments of "+t.text)
	return f
}

func (p *textParser) arrayOperand() Expr {
	if p.isPunct("(") {
		return p.array()
	}
	return p.additive()
}

// instant reads the date or timestamp string s of DATE(…) or TIMESTAMP(…).
func (p *textParser) instant(s token, kind string) Expr {
	if kind == "DATE" {
		d, err := parseDate(s.text)
		if err != "" {
			p.fail(s, "%s", err)
		}
		return &DateLit{Value: d}
	}
	ts, err := parseTimestamp(s.text)
	if err != "" {
		p.fail(s, "%s", err)
	}
	return &TimestampLit{Value: ts}
}

// intervalBound reads one end of INTERVAL(…): a date or timestamp string, '..', a property or
// a function (DATE(…) and TIMESTAMP(…) are accepted too).
func (p *textParser) intervalBound() Expr {
	t := p.peek()
	if t.kind == tString {
		p.next()
		e, msg := instantString(t.text)
		if msg != "" {
			p.fail(t, "%s", msg)
		}
		return e
	}
	e := p.primary()
	switch e.(type) {
	case *PropertyRef, *FuncCall, *DateLit, *TimestampLit:
		return e
	}
	p.fail(t, "expected a date such as '2022-04-16', a timestamp such as '2022-04-16T10:13:19Z', '..', a property or a function as a bound of INTERVAL, found %s", clip(Text(e)))
	return nil
}

func (p *textParser) bbox() Expr {
	open := p.next()
	var c []float64
	for {
		c = append(c, p.signedNumber("a number of BBOX"))
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if len(c) != 4 && len(c) != 6 {
		p.failAt(open.off, "expected 4 numbers in BBOX (west, south, east, north) or 6 (west, south, minimum height, east, north, maximum height), found %d", len(c))
	}
	p.expectClose(open, "BBOX")
	return &BBoxLit{Coords: c}
}

// signedNumber reads an optionally signed number, as in coordinates.
func (p *textParser) signedNumber(what string) float64 {
	sign := 1.0
	if p.isPunct("-") || p.isPunct("+") {
		if p.next().text == "-" {
			sign = -1
		}
	}
	t := p.next()
	if t.kind != tNumber {
		p.fail(t, "expected %s, found %s", what, p.describe(t))
	}
	n := p.number(t, true)
	return sign * n.Float
}

// number converts a number token; asFloat forces a float64 (coordinates).
func (p *textParser) number(t token, asFloat bool) *NumberLit {
	if !asFloat && !strings.ContainsAny(t.text, ".eE") {
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return &NumberLit{IsInt: true, Int: i}
		}
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		p.fail(t, "the number %s is out of range", clip(t.text))
	}
	return &NumberLit{Float: f}
}

func example(kind string) string {
	if kind == "DATE" {
		return "'2022-04-16'"
	}
	return "'2022-04-16T10:13:19Z'"
}
