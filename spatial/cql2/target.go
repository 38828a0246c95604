package cql2

// Type is the type of a queryable, and of a value inside the compiler.
type Type int

// The queryable types. The zero Type is invalid, so a forgotten type is an error, not a
// string.
const (
	String Type = iota + 1
	Integer
	Number
	Boolean
	Date
	Timestamp
	Geometry
	// Array is a jsonb column whose values are JSON arrays: the array functions (A_EQUALS,
	// A_CONTAINS, A_CONTAINEDBY, A_OVERLAPS) compare it with array literals and other Array
	// properties; nothing else can use it but IS NULL. A value that is not a JSON array (an
	// object, a string, a number…) counts as null there, and so does JSON null: the array
	// functions are null for it, so that neither A_CONTAINS(x, …) nor NOT A_CONTAINS(x, …)
	// selects it, and x IS NULL is true for a JSON null.
	Array
)

var typeNames = map[Type]string{String: "string", Integer: "integer", Number: "number",
	Boolean: "boolean", Date: "date", Timestamp: "timestamp", Geometry: "geometry", Array: "array"}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "invalid type"
}

// article is "a string", "an integer"… for messages.
func (t Type) article() string {
	switch t {
	case Integer, Array:
		return "an " + t.String()
	}
	return "a " + t.String()
}

func (t Type) numeric() bool { return t == Integer || t == Number }

// ParseType maps the layer registry's field types (layers.Field.Type) to a Type: string,
// integer, number, boolean, date, datetime (or timestamp), geometry, and json, which is Array.
//
// The importer types a property json when some value is a JSON array or object, and stores it
// as jsonb. The registry does not say which of the two a field holds, so json is taken to be
// an array, the common case (tags, codes, lists of owners): a feature whose value is an object
// (or any other non-array) is never selected by an array function, nor by its negation.
func ParseType(s string) (Type, bool) {
	switch s {
	case "string":
		return String, true
	case "integer":
		return Integer, true
	case "number":
		return Number, true
	case "boolean":
		return Boolean, true
	case "date":
		return Date, true
	case "datetime", "timestamp":
		return Timestamp, true
	case "geometry":
		return Geometry, true
	case "json":
		return Array, true
	}
	return 0, false
}

// Property is a queryable: the SQL of its column, already a quoted identifier (`"name"`,
// `t."pop_est"`), and its type. A Property of Type Geometry is a geometry column in
// StorageSRID; one of Type Array is a jsonb column.
type Property struct {
	Column string
	Type   Type
}

// Target describes what a filter runs against. Everything in it is trusted SQL from the
// caller; nothing from the filter ever becomes an identifier.
type Target struct {
	// Properties are the queryables by name (names are case-sensitive).
	Properties map[string]Property
	// Geometry is the SQL of the geometry column (quoted), "" if none. Filters name it
	// "geometry" or by the column's own name (e.g. geom), unless Properties has that name.
	Geometry string
	// StorageSRID is the SRID of the geometry column (e.g. 4326, 9209); 0 means 4326.
	StorageSRID int
	// LiteralSRID is the SRID of geometry literals (filter-crs); 0 means 4326 / CRS84.
	LiteralSRID int
	// LiteralLatLon is true for EPSG:4326 given as filter-crs: literal coordinates are then
	// latitude, longitude and are swapped.
	LiteralLatLon bool
	// Unaccent is the SQL function ACCENTI calls, e.g. hub_unaccent (an IMMUTABLE wrapper of
	// unaccent); "" refuses ACCENTI.
	Unaccent string
}
