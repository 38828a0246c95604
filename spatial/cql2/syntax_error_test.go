package cql2_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/haiduong/hub/spatial/cql2"
)

// Every syntax error says where (line, column) and what was expected there.
func TestTextSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		src       string
		line, col int
		msg       string
	}{
		{`name = `, 1, 8, "expected a property, a literal or a function, found the end of the filter"},
		{`name =`, 1, 7, "expected a property, a literal or a function"},
		{`floors`, 1, 7, "expected a comparison (=, <>, <, >, <=, >=, LIKE, BETWEEN, IN or IS NULL) after floors, found the end of the filter"},
		{`floors > 5 AND swimming_pool`, 1, 29, "after swimming_pool, found the end of the filter"},
		{`POP_EST >= 1 2`, 1, 14, "expected AND, OR or the end of the filter after POP_EST >= 1, found the number 2"},
		{`a = 1 AND`, 1, 10, "expected a property, a literal or a function, found the end of the filter"},
		{`(a = 1`, 1, 7, "expected ')' to close the parenthesis opened at line 1, column 1, found the end of the filter"},
		{`S_INTERSECTS(geom, POINT(1 2)`, 1, 30, "expected ')' to close the arguments of S_INTERSECTS opened at line 1, column 13"},
		{`S_INTERSECTS(geom POINT(1 2))`, 1, 19, "expected ',' between the two arguments of S_INTERSECTS, found POINT"},
		{`S_INTERSECTS(geom, POINT(1))`, 1, 27, "expected a coordinate, found ')'"},
		{`S_INTERSECTS(geom, POINT(1 2 3 4))`, 1, 32, "a position has 2 or 3 coordinates (M is not supported)"},
		{`S_INTERSECTS(geom, POLYGON((0 0, 1 0, 1 1, 0 0.5)))`, 1, 20, "ring 1 of the polygon must end where it starts: it starts at (0 0) and ends at (0 0.5)"},
		{`S_INTERSECTS(geom, POLYGON((0 0, 1 0, 0 0)))`, 1, 20, "ring 1 of the polygon needs at least 4 positions"},
		{`S_INTERSECTS(geom, POLYGON Z((0 0, 1 0, 1 1, 0 0)))`, 1, 31, "expected 3 coordinates in every position of POLYGON Z, found 2"},
		{`S_INTERSECTS(geom, LINESTRING(0 0, 1 0 5))`, 1, 36, "expected 2 coordinates like the first position of this LINESTRING, found 3"},
		{`S_INTERSECTS(geom, POINT EMPTY)`, 1, 26, "empty geometries are not supported"},
		{`S_INTERSECTS(geom, BBOX(1,2,3))`, 1, 24, "expected 4 numbers in BBOX (west, south, east, north) or 6"},
		{`S_INTERSECTS(geom, GEOMETRYCOLLECTION(GEOMETRYCOLLECTION(POINT(1 2))))`, 1, 39, "cannot contain another GEOMETRYCOLLECTION"},
		{`"date" = DATE('2022-13-01')`, 1, 15, "'2022-13-01' is not a calendar date: month out of range"},
		{`"date" = DATE('16/04/2022')`, 1, 15, "expected a date of the form YYYY-MM-DD such as '2022-04-16', found '16/04/2022'"},
		{`"date" = DATE(2022)`, 1, 15, "expected a quoted date such as '2022-04-16' after DATE(, found the number 2022"},
		{`start = TIMESTAMP('2022-04-16 10:13:19')`, 1, 19, "expected a UTC timestamp of the form YYYY-MM-DDThh:mm:ss[.fff]Z"},
		{`start = TIMESTAMP('2022-04-16T10:13:19+07:00')`, 1, 19, "expected a UTC timestamp"},
		{`T_AFTER(start, INTERVAL('2020-01-01'))`, 1, 37, "expected ',' between the start and the end of INTERVAL, found ')'"},
		{`T_AFTER(start, INTERVAL('2020-01-01', 'soon'))`, 1, 39, "as a bound of INTERVAL, found 'soon'"},
		{`T_AFTER(start, INTERVAL('2020-01-01', 5))`, 1, 39, "as a bound of INTERVAL, found 5"},
		{`name = 'abc`, 1, 8, "expected ' to close the string that starts here"},
		{`"name = 1`, 1, 1, "expected \" to close the property name that starts here"},
		{`"" = 1`, 1, 1, "expected a property name between the double quotes"},
		{`x != 1`, 1, 3, "found '!=' (CQL2 writes not-equal as <>)"},
		{`x = 1e`, 1, 7, "expected the digits of the exponent"},
		{`x = 1.2.3`, 1, 8, "expected a space or an operator after the number"},
		{`x = NULL`, 1, 5, "found NULL (CQL2 has no NULL value; test for it with IS NULL)"},
		{`AND = 1`, 1, 1, "found the keyword AND"},
		{`x BETWEEN 1 OR 2`, 1, 13, "expected AND between the bounds of BETWEEN, found OR"},
		{`x IN ()`, 1, 7, "expected at least one value in the IN list"},
		{`x IN 1, 2`, 1, 6, "expected '(' after IN, found the number 1"},
		{`x IS NOT 5`, 1, 10, "expected NULL after IS, found the number 5"},
		{`x = + y`, 1, 7, "expected a number after '+', found y"},
		{`name = 'x'; DROP TABLE t`, 1, 11, "unexpected character ';'"},
		{`name = 'x' /* comment */`, 1, 13, "expected a property, a literal or a function, found '*'"},
		{"name = 'x'\nAND pop_other >", 2, 16, "expected a property, a literal or a function, found the end of the filter"},
		{"name = 'x'\n  AND S_INTERSECTS(geom,\n    POLYGON((0 0, 1 0, 1 1, 0 1)))", 3, 5, "ring 1 of the polygon must end where it starts"},
		{"a = 1 AND\n\tb = 'København' AND c ~ 1", 2, 24, "unexpected character '~'"},
		{strings.Repeat("(", 200) + "a = 1" + strings.Repeat(")", 200), 1, 102, "the filter nests deeper than 100 levels"},
		{"name = '\xff'", 1, 8, "the string is not valid UTF-8"},
	} {
		_, err := cql2.ParseText(c.src)
		var se *cql2.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a *SyntaxError", c.src, err)
			continue
		}
		if se.Line != c.line || se.Col != c.col || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q:\n got  %v\n want line %d, column %d: …%s…", c.src, err, c.line, c.col, c.msg)
		}
		if !strings.HasPrefix(err.Error(), "line ") {
			t.Errorf("%q: Error() = %q, want it to start with the line", c.src, err.Error())
		}
	}
}

func TestJSONSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		src       string
		line, col int
		msg       string
	}{
		{`{"op":"=","args":[{"property":"x"}]}`, 1, 18, `"=" needs 2 arguments, found 1`},
		{`{"op":"and","args":[{"property":"x"},true]}`, 1, 21, `expected a predicate (an object with an "op" such as "=", "like" or "s_intersects") or a boolean as an argument of "and", found an object with "property"`},
		{`{"property":"x"}`, 1, 1, "as the filter, found an object with \"property\""},
		{`{"op":"=","args":[{"propery":"x"},1]}`, 1, 19, `expected an object with "op" and "args", "property", "date", "timestamp", "interval", "bbox" or a GeoJSON geometry, found an object with "propery"`},
		{`{"op":"=","args":[{"property":"x","type":"y"},1]}`, 1, 42, `unexpected member "type" in an object with "property"`},
		{`{"op":"=","args":[{"property":"d"},{"date":"2022-02-30"}]}`, 1, 44, "'2022-02-30' is not a calendar date: day out of range"},
		{`{"op":"in","args":[{"property":"d"},"a"]}`, 1, 37, `expected the list of "in" as an array, found the string "a"`},
		{`{"op":"=","args":[{"property":"d"},null]}`, 1, 36, "found null (CQL2 has no null value"},
		{`{"op":"my func","args":[]}`, 1, 7, `"my func" is neither a CQL2 operation nor a function name`},
		{"{\n  \"op\": \"s_intersects\",\n  \"args\": [\n    {\"property\": \"geom\"},\n    {\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,0],[1,1]]]}\n  ]\n}", 5, 5, "ring 1 of the polygon needs at least 4 positions"},
		{`{"op":"s_intersects","args":[{"property":"g"},{"type":"Point","coordinates":[1,2,3,4]}]}`, 1, 77, "expected a position of 2 or 3 coordinates, found 4"},
		{`{"op":"s_intersects","args":[{"property":"g"},{"type":"Circle","coordinates":[1,2]}]}`, 1, 55, `found "Circle"`},
		{`{"op":"s_intersects","args":[{"property":"g"},{"bbox":[1,2,3]}]}`, 1, 55, "expected 4 numbers (west, south, east, north) or 6"},
		{`{"op":"t_after","args":[{"property":"t"},{"interval":["2020-01-01"]}]}`, 1, 54, `expected an array of 2 bounds`},
		{`{"op":"=","args":[1,2]} x`, 1, 25, "expected the end of the JSON filter, found 'x'"},
		{`{"op":"=","op":"<"}`, 1, 11, `the member "op" appears twice`},
		{`{"op":"=","args":[1,2]`, 1, 23, "expected '}' or ',' after a member, found the end of the filter"},
		{`{"op":"=","args":[01,2]}`, 1, 19, "this is not a JSON number: 01"},
		{`{"op":"=","args":[1,"a\q"]}`, 1, 21, "this string is not valid JSON"},
		{`{"op":"=","args":[{"property":"x"},1e999]}`, 1, 36, "the number 1e999 is out of range"},
		{strings.Repeat("[", 200), 1, 101, "nests deeper than 100 levels"},
	} {
		_, err := cql2.ParseJSON([]byte(c.src))
		var se *cql2.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a *SyntaxError", c.src, err)
			continue
		}
		if se.Line != c.line || se.Col != c.col || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%s:\n got  %v\n want line %d, column %d: …%s…", c.src, err, c.line, c.col, c.msg)
		}
	}
}
