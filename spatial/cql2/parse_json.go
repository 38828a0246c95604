package cql2

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ParseJSON parses a CQL2 JSON filter into the same tree ParseText gives for the equivalent
// text. Standard operator names ("and", "s_intersects", "t_finishedBy", …) are matched
// case-insensitively; any other "op" is a function call. Errors are *SyntaxError, positioned
// at the JSON value at fault.
func ParseJSON(src []byte) (e Expr, err error) {
	text := string(src)
	root, err := scanJSON(text)
	if err != nil {
		return nil, err
	}
	c := &jsonConverter{src: text}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			e, err = nil, se
		}
	}()
	return c.boolean(root, "the filter"), nil
}

type jsonConverter struct{ src string }

func (c *jsonConverter) fail(n *jsonNode, format string, args ...any) {
	l, col := lineCol(c.src, n.off)
	panic(&SyntaxError{Line: l, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// jsonOps are the standard operations by lower-cased "op", with how many arguments they take.
var jsonOps = func() map[string]int {
	m := map[string]int{"and": -2, "or": -2, "not": 1, "like": 2, "between": 3, "in": 2,
		"isnull": 1, "casei": 1, "accenti": 1}
	for op := range compareOps {
		m[op] = 2
	}
	for op := range arithOps {
		m[op] = 2
	}
	for _, ops := range []map[string]string{spatialOps, temporalOps, arrayOps} {
		for _, name := range ops {
			m[strings.ToLower(name)] = 2
		}
	}
	return m
}()

// textOp maps a lower-cased JSON op name of a spatial, temporal or array function to its text
// name.
var textOp = func() map[string]string {
	m := map[string]string{}
	for _, ops := range []map[string]string{spatialOps, temporalOps, arrayOps} {
		for text, name := range ops {
			m[strings.ToLower(name)] = text
		}
	}
	return m
}()

// boolean converts n where a predicate must stand.
func (c *jsonConverter) boolean(n *jsonNode, where string) Expr {
	e := c.expr(n)
	if !isBoolean(e) {
		c.fail(n, "expected a predicate (an object with an \"op\" such as \"=\", \"like\" or \"s_intersects\") or a boolean as %s, found %s", where, describeJSON(n))
	}
	return e
}

func (c *jsonConverter) expr(n *jsonNode) Expr {
	switch n.kind {
	case jNull:
		c.fail(n, "expected a CQL2 value, found null (CQL2 has no null value; test for it with \"isNull\")")
	case jBool:
		return &BoolLit{Value: n.b}
	case jNumber:
		return c.number(n)
	case jString:
		return &StringLit{Value: n.s}
	case jArray:
		a := &ArrayLit{}
		for _, el := range n.elems {
			a.Elems = append(a.Elems, c.expr(el))
		}
		return a
	}
	return c.object(n)
}

func (c *jsonConverter) number(n *jsonNode) *NumberLit {
	if !strings.ContainsAny(n.s, ".eE") {
		if i, err := strconv.ParseInt(n.s, 10, 64); err == nil {
			return &NumberLit{IsInt: true, Int: i}
		}
	}
	f, err := strconv.ParseFloat(n.s, 64)
	if err != nil {
		c.fail(n, "the number %s is out of range", clip(n.s))
	}
	return &NumberLit{Float: f}
}

// object converts a JSON object: an operation, a property, a date, timestamp or interval, a
// bbox or a GeoJSON geometry.
func (c *jsonConverter) object(n *jsonNode) Expr {
	switch {
	case n.member("op") != nil:
		c.only(n, "op", "args")
		return c.operation(n)
	case n.member("property") != nil:
		c.only(n, "property")
		p := n.member("property")
		if p.kind != jString || p.s == "" {
			c.fail(p, "expected a property name (a non-empty string), found %s", describeJSON(p))
		}
		return &PropertyRef{Name: p.s}
	case n.member("date") != nil:
		c.only(n, "date")
		v := c.str(n.member("date"), "a date")
		d, msg := parseDate(v)
		if msg != "" {
			c.fail(n.member("date"), "%s", msg)
		}
		return &DateLit{Value: d}
	case n.member("timestamp") != nil:
		c.only(n, "timestamp")
		v := c.str(n.member("timestamp"), "a timestamp")
		t, msg := parseTimestamp(v)
		if msg != "" {
			c.fail(n.member("timestamp"), "%s", msg)
		}
		return &TimestampLit{Value: t}
	case n.member("interval") != nil:
		c.only(n, "interval")
		iv := n.member("interval")
		if iv.kind != jArray || len(iv.elems) != 2 {
			c.fail(iv, "expected an array of 2 bounds (dates, timestamps, \"..\", properties or functions) for \"interval\", found %s", describeJSON(iv))
		}
		return &IntervalLit{Start: c.bound(iv.elems[0]), End: c.bound(iv.elems[1])}
	case n.member("type") != nil:
		return c.geometry(n, false)
	case n.member("bbox") != nil:
		c.only(n, "bbox")
		b := n.member("bbox")
		if b.kind != jArray || len(b.elems) != 4 && len(b.elems) != 6 {
			c.fail(b, "expected 4 numbers (west, south, east, north) or 6 (west, south, minimum height, east, north, maximum height) for \"bbox\", found %s", describeJSON(b))
		}
		box := &BBoxLit{}
		for _, v := range b.elems {
			box.Coords = append(box.Coords, c.coordinate(v))
		}
		return box
	}
	c.fail(n, "expected an object with \"op\" and \"args\", \"property\", \"date\", \"timestamp\", \"interval\", \"bbox\" or a GeoJSON geometry, found %s", describeJSON(n))
	return nil
}

// only refuses members other than allowed, which are most likely misspellings.
func (c *jsonConverter) only(n *jsonNode, allowed ...string) {
	for i, k := range n.keys {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			c.fail(n.vals[i], "unexpected member %q in an object with %q (it takes only %s)", k, allowed[0], quoteList(allowed))
		}
	}
}

func (c *jsonConverter) str(n *jsonNode, what string) string {
	if n.kind != jString {
		c.fail(n, "expected %s as a string, found %s", what, describeJSON(n))
	}
	return n.s
}

func (c *jsonConverter) operation(n *jsonNode) Expr {
	opNode := n.member("op")
	op := c.str(opNode, "the operation name")
	argsNode := n.member("args")
	if argsNode == nil {
		c.fail(n, "expected an \"args\" array with the operation %q, found none", op)
	}
	if argsNode.kind != jArray {
		c.fail(argsNode, "expected \"args\" to be an array, found %s", describeJSON(argsNode))
	}
	args := argsNode.elems
	lower := strings.ToLower(op)
	want, standard := jsonOps[lower]
	if !standard {
		if !isIdentifier(op) || keywords[strings.ToUpper(op)] {
			c.fail(opNode, "%q is neither a CQL2 operation nor a function name (an identifier such as avg)", clip(op))
		}
		f := &FuncCall{Name: op}
		for _, a := range args {
			f.Args = append(f.Args, c.expr(a))
		}
		return f
	}
	switch {
	case want < 0 && len(args) < -want:
		c.fail(argsNode, "%q needs at least %d arguments, found %d", op, -want, len(args))
	case want > 0 && len(args) != want:
		c.fail(argsNode, "%q needs %d argument%s, found %d", op, want, plural(want), len(args))
	}
	switch {
	case lower == "and" || lower == "or":
		var list []Expr
		for _, a := range args {
			list = append(list, c.boolean(a, "an argument of \""+lower+"\""))
		}
		if lower == "and" {
			return &And{Args: list}
		}
		return &Or{Args: list}
	case lower == "not":
		return &Not{Arg: c.boolean(args[0], "the argument of \"not\"")}
	case compareOps[lower]:
		return &Compare{Op: lower, Left: c.expr(args[0]), Right: c.expr(args[1])}
	case lower == "like":
		return &Like{Value: c.expr(args[0]), Pattern: c.expr(args[1])}
	case lower == "between":
		return &Between{Value: c.expr(args[0]), Low: c.expr(args[1]), High: c.expr(args[2])}
	case lower == "in":
		if args[1].kind != jArray {
			c.fail(args[1], "expected the list of \"in\" as an array, found %s", describeJSON(args[1]))
		}
		if len(args[1].elems) == 0 {
			c.fail(args[1], "expected at least one value in the list of \"in\", found an empty array")
		}
		in := &In{Value: c.expr(args[0])}
		for _, el := range args[1].elems {
			in.List = append(in.List, c.expr(el))
		}
		return in
	case lower == "isnull":
		return &IsNull{Value: c.expr(args[0])}
	case lower == "casei":
		return &CaseI{Arg: c.expr(args[0])}
	case lower == "accenti":
		return &AccentI{Arg: c.expr(args[0])}
	case arithOps[lower]:
		return &Arith{Op: lower, Left: c.expr(args[0]), Right: c.expr(args[1])}
	}
	name := textOp[lower]
	l, r := c.expr(args[0]), c.expr(args[1])
	switch {
	case spatialOps[name] != "":
		return &SpatialPred{Op: name, Left: l, Right: r}
	case temporalOps[name] != "":
		return &TemporalPred{Op: name, Left: l, Right: r}
	}
	return &ArrayPred{Op: name, Left: l, Right: r}
}

// bound converts an interval bound: a date or timestamp string, "..", a property, a function,
// or a {"date"}/{"timestamp"} object.
func (c *jsonConverter) bound(n *jsonNode) Expr {
	if n.kind == jString {
		e, msg := instantString(n.s)
		if msg != "" {
			c.fail(n, "%s", msg)
		}
		return e
	}
	if n.kind == jObject {
		switch e := c.object(n).(type) {
		case *PropertyRef, *FuncCall, *DateLit, *TimestampLit:
			return e
		}
	}
	c.fail(n, "expected a date, a timestamp, \"..\", a property or a function as an interval bound, found %s", describeJSON(n))
	return nil
}

func (c *jsonConverter) geometry(n *jsonNode, inCollection bool) *GeometryLit {
	t := n.member("type")
	typ := c.str(t, "a GeoJSON geometry type")
	if wktNames[typ] == "" {
		c.fail(t, "expected a GeoJSON geometry type (Point, LineString, Polygon, MultiPoint, MultiLineString, MultiPolygon or GeometryCollection), found %q", clip(typ))
	}
	g := &GeometryLit{Type: typ}
	if typ == "GeometryCollection" {
		c.only(n, "type", "geometries", "bbox")
		if inCollection {
			c.fail(n, "a GeometryCollection cannot contain another GeometryCollection")
		}
		gs := n.member("geometries")
		if gs == nil || gs.kind != jArray {
			c.fail(n, "expected a \"geometries\" array in the GeometryCollection")
		}
		for _, m := range gs.elems {
			if m.kind != jObject || m.member("type") == nil {
				c.fail(m, "expected a GeoJSON geometry in \"geometries\", found %s", describeJSON(m))
			}
			g.Geometries = append(g.Geometries, c.geometry(m, true))
		}
	} else {
		c.only(n, "type", "coordinates", "bbox")
		co := n.member("coordinates")
		if co == nil {
			c.fail(n, "expected \"coordinates\" in the %s", typ)
		}
		dims := 0
		switch typ {
		case "Point":
			g.Coordinates = []Position{c.position(co, &dims)}
		case "LineString", "MultiPoint":
			g.Coordinates = c.positions(co, &dims)
		case "Polygon", "MultiLineString":
			g.Rings = c.lists(co, &dims)
		case "MultiPolygon":
			for _, p := range c.array(co, "polygons") {
				g.Polygons = append(g.Polygons, c.lists(p, &dims))
			}
		}
	}
	if msg := checkGeometry(g); msg != "" {
		c.fail(n, "%s", msg)
	}
	return g
}

func (c *jsonConverter) array(n *jsonNode, what string) []*jsonNode {
	if n.kind != jArray {
		c.fail(n, "expected an array of %s, found %s", what, describeJSON(n))
	}
	return n.elems
}

func (c *jsonConverter) position(n *jsonNode, dims *int) Position {
	el := c.array(n, "2 or 3 coordinates")
	if len(el) != 2 && len(el) != 3 {
		c.fail(n, "expected a position of 2 or 3 coordinates, found %d", len(el))
	}
	if *dims == 0 {
		*dims = len(el)
	} else if *dims != len(el) {
		c.fail(n, "expected %d coordinates like the first position of this geometry, found %d", *dims, len(el))
	}
	p := make(Position, len(el))
	for i, v := range el {
		p[i] = c.coordinate(v)
	}
	return p
}

func (c *jsonConverter) positions(n *jsonNode, dims *int) []Position {
	var out []Position
	for _, p := range c.array(n, "positions") {
		out = append(out, c.position(p, dims))
	}
	return out
}

func (c *jsonConverter) lists(n *jsonNode, dims *int) [][]Position {
	var out [][]Position
	for _, l := range c.array(n, "rings or lines") {
		out = append(out, c.positions(l, dims))
	}
	return out
}

func (c *jsonConverter) coordinate(n *jsonNode) float64 {
	if n.kind != jNumber {
		c.fail(n, "expected a number, found %s", describeJSON(n))
	}
	f, err := strconv.ParseFloat(n.s, 64)
	if err != nil {
		c.fail(n, "the number %s is out of range", clip(n.s))
	}
	return f
}

// describeJSON names a JSON value for a message.
func describeJSON(n *jsonNode) string {
	switch n.kind {
	case jNull:
		return "null"
	case jBool:
		return strconv.FormatBool(n.b)
	case jNumber:
		return "the number " + clip(n.s)
	case jString:
		return fmt.Sprintf("the string %q", clip(n.s))
	case jArray:
		return fmt.Sprintf("an array of %d element%s", len(n.elems), plural(len(n.elems)))
	}
	if len(n.keys) == 0 {
		return "an empty object"
	}
	keys := append([]string(nil), n.keys...)
	sort.Strings(keys)
	return "an object with " + quoteList(keys)
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
