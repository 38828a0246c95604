// Package cql2 reads OGC CQL2 filters (the OGC API – Features part 3 filter language) in both
// encodings, CQL2 text and CQL2 JSON, into one typed syntax tree, and compiles that tree to a
// parameterised PostgreSQL/PostGIS WHERE clause.
//
// The two encodings meet in the tree: ParseText and ParseJSON give equal trees for equivalent
// filters (a text "x IS NOT NULL" and a JSON {"op":"not","args":[{"op":"isNull",…}]} are both
// Not{IsNull{x}}), and Text writes a tree back as canonical CQL2 text, so that equality of two
// filters can be checked by comparing their Text.
//
// SQL never contains a value from the filter: every literal becomes a bind parameter, and every
// identifier comes from the Target the caller describes (its queryables). A filter that names an
// unknown property, compares values of different types or uses an unsupported function is
// refused with an *Error before any SQL runs; a filter that does not parse is refused with a
// *SyntaxError that says where and what was expected.
//
// Array properties (Type Array, the registry's json) are jsonb columns holding JSON arrays; the
// array functions compare them with array literals, which travel as one jsonb parameter, and
// with each other (see sql_array.go for the SQL and the treatment of values that are not
// arrays).
//
// Grammar: the CQL2 1.0 BNF (cql2.bnf) and JSON schema of the OGC standard, with these
// deliberate, documented extensions: "" inside a quoted identifier stands for one '"'; a
// unary minus may precede any arithmetic operand (it is read as -1 * operand, the form CQL2
// JSON must use anyway); '^' may be chained (right-associative); MULTIPOINT also accepts the
// bare "MULTIPOINT(1 2, 3 4)" form of WKT.
package cql2
