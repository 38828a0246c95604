package cql2

import "time"

// Expr is a node of a CQL2 syntax tree. ParseText and ParseJSON build the same tree for
// equivalent filters, so code that consumes a filter (SQL, Text) has one shape to handle.
// Nodes carry no source positions: that is what lets trees from the two encodings compare
// equal with reflect.DeepEqual.
//
// The node types are And, Or, Not, Compare, Like, Between, In, IsNull, SpatialPred,
// TemporalPred, ArrayPred, Arith, CaseI, AccentI, FuncCall, PropertyRef, StringLit, NumberLit,
// BoolLit, DateLit, TimestampLit, IntervalLit, OpenEnd, ArrayLit, GeometryLit and BBoxLit.
type Expr interface{ cql2Expr() }

// And is true when every argument is (two or more; a chain "a AND b AND c" is one And).
type And struct{ Args []Expr }

// Or is true when any argument is (two or more).
type Or struct{ Args []Expr }

// Not negates its argument. The negated text forms "x NOT LIKE p", "x NOT BETWEEN a AND b",
// "x NOT IN (…)" and "x IS NOT NULL" are all read as Not of the positive predicate, because
// CQL2 JSON can only write them that way.
type Not struct{ Arg Expr }

// Compare is a binary comparison; Op is one of = <> < > <= >=.
type Compare struct {
	Op          string
	Left, Right Expr
}

// Like matches Value against a pattern in which % matches any run of characters, _ one
// character, and \ escapes the next character.
type Like struct{ Value, Pattern Expr }

// Between is Low <= Value AND Value <= High.
type Between struct{ Value, Low, High Expr }

// In is true when Value equals one of List.
type In struct {
	Value Expr
	List  []Expr
}

// IsNull is true when Value is null.
type IsNull struct{ Value Expr }

// SpatialPred is a spatial comparison function; Op is its text name, e.g. "S_INTERSECTS".
type SpatialPred struct {
	Op          string
	Left, Right Expr
}

// TemporalPred is a temporal comparison function; Op is its text name, e.g. "T_DURING".
type TemporalPred struct {
	Op          string
	Left, Right Expr
}

// ArrayPred is an array comparison function; Op is its text name, e.g. "A_CONTAINS".
type ArrayPred struct {
	Op          string
	Left, Right Expr
}

// Arith is arithmetic; Op is one of + - * / % div ^. A unary minus before a non-literal is
// read as -1 * operand (CQL2 JSON has no unary minus).
type Arith struct {
	Op          string
	Left, Right Expr
}

// CaseI makes a string comparison case-insensitive (CASEI in text, "casei" in JSON).
type CaseI struct{ Arg Expr }

// AccentI makes a string comparison accent-insensitive (ACCENTI / "accenti").
type AccentI struct{ Arg Expr }

// FuncCall is a call of a function that is not part of CQL2 itself, e.g. avg(windSpeed).
// Name is kept as written.
type FuncCall struct {
	Name string
	Args []Expr
}

// PropertyRef names a queryable. Names are case-sensitive.
type PropertyRef struct{ Name string }

// StringLit is a character literal.
type StringLit struct{ Value string }

// NumberLit is a numeric literal. A literal written without a fraction or exponent that fits
// in an int64 is an integer (IsInt, Int); any other is a float64. Keeping the distinction lets
// integer columns be compared with integer parameters and keeps 2.0 written as 2.0.
type NumberLit struct {
	IsInt bool
	Int   int64
	Float float64
}

// BoolLit is TRUE or FALSE.
type BoolLit struct{ Value bool }

// DateLit is a calendar date (midnight UTC of that day), DATE('…') in text.
type DateLit struct{ Value time.Time }

// TimestampLit is an instant in UTC, TIMESTAMP('…') in text.
type TimestampLit struct{ Value time.Time }

// IntervalLit is INTERVAL(start, end), closed at both ends. Start and End are each a DateLit,
// a TimestampLit, an OpenEnd (".."), a PropertyRef or a FuncCall.
type IntervalLit struct{ Start, End Expr }

// OpenEnd is ".." in an interval: unbounded on that side.
type OpenEnd struct{}

// ArrayLit is an array literal: ('a', 'b') in text, ["a", "b"] in JSON.
type ArrayLit struct{ Elems []Expr }

// Position is one coordinate tuple: x, y and, for 3D geometries, z. Coordinates are in the
// order the filter gives them; Target.LiteralLatLon says whether that is lat, lon.
type Position []float64

// GeometryLit is a geometry literal: WKT in text, GeoJSON in JSON. Type is the GeoJSON type
// name; exactly one of the coordinate fields is set, by type:
//
//	Point, LineString, MultiPoint   Coordinates (one position for a Point)
//	Polygon, MultiLineString        Rings (a polygon's rings, exterior first; or the lines)
//	MultiPolygon                    Polygons
//	GeometryCollection              Geometries (no nested collections)
type GeometryLit struct {
	Type        string
	Coordinates []Position
	Rings       [][]Position
	Polygons    [][][]Position
	Geometries  []*GeometryLit
}

// BBoxLit is BBOX(west, south, east, north) or, with heights,
// BBOX(west, south, minz, east, north, maxz). West may exceed east: the box then crosses the
// antimeridian.
type BBoxLit struct{ Coords []float64 }

func (*And) cql2Expr()          {}
func (*Or) cql2Expr()           {}
func (*Not) cql2Expr()          {}
func (*Compare) cql2Expr()      {}
func (*Like) cql2Expr()         {}
func (*Between) cql2Expr()      {}
func (*In) cql2Expr()           {}
func (*IsNull) cql2Expr()       {}
func (*SpatialPred) cql2Expr()  {}
func (*TemporalPred) cql2Expr() {}
func (*ArrayPred) cql2Expr()    {}
func (*Arith) cql2Expr()        {}
func (*CaseI) cql2Expr()        {}
func (*AccentI) cql2Expr()      {}
func (*FuncCall) cql2Expr()     {}
func (*PropertyRef) cql2Expr()  {}
func (*StringLit) cql2Expr()    {}
func (*NumberLit) cql2Expr()    {}
func (*BoolLit) cql2Expr()      {}
func (*DateLit) cql2Expr()      {}
func (*TimestampLit) cql2Expr() {}
func (*IntervalLit) cql2Expr()  {}
func (*OpenEnd) cql2Expr()      {}
func (*ArrayLit) cql2Expr()     {}
func (*GeometryLit) cql2Expr()  {}
func (*BBoxLit) cql2Expr()      {}

// The standard functions, by their text name, with their CQL2 JSON "op" names.
var (
	spatialOps = map[string]string{
		"S_INTERSECTS": "s_intersects", "S_EQUALS": "s_equals", "S_DISJOINT": "s_disjoint",
		"S_TOUCHES": "s_touches", "S_WITHIN": "s_within", "S_OVERLAPS": "s_overlaps",
		"S_CROSSES": "s_crosses", "S_CONTAINS": "s_contains",
	}
	temporalOps = map[string]string{
		"T_AFTER": "t_after", "T_BEFORE": "t_before", "T_CONTAINS": "t_contains",
		"T_DISJOINT": "t_disjoint", "T_DURING": "t_during", "T_EQUALS": "t_equals",
		"T_FINISHEDBY": "t_finishedBy", "T_FINISHES": "t_finishes", "T_INTERSECTS": "t_intersects",
		"T_MEETS": "t_meets", "T_METBY": "t_metBy", "T_OVERLAPPEDBY": "t_overlappedBy",
		"T_OVERLAPS": "t_overlaps", "T_STARTEDBY": "t_startedBy", "T_STARTS": "t_starts",
	}
	arrayOps = map[string]string{
		"A_EQUALS": "a_equals", "A_CONTAINS": "a_contains", "A_CONTAINEDBY": "a_containedBy",
		"A_OVERLAPS": "a_overlaps",
	}
	compareOps = map[string]bool{"=": true, "<>": true, "<": true, ">": true, "<=": true, ">=": true}
	arithOps   = map[string]bool{"+": true, "-": true, "*": true, "/": true, "%": true, "div": true, "^": true}
)

// isBoolean reports whether e can stand where CQL2 wants a boolean expression (the whole
// filter, an operand of AND, OR, NOT): a predicate, a boolean literal or a function.
func isBoolean(e Expr) bool {
	switch e.(type) {
	case *And, *Or, *Not, *Compare, *Like, *Between, *In, *IsNull, *SpatialPred, *TemporalPred,
		*ArrayPred, *BoolLit, *FuncCall:
		return true
	}
	return false
}
