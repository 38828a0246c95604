package cql2_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/haiduong/hub/spatial/cql2"
)

// example is one of the standard's examples: its text, and its JSON when it has one.
type example struct {
	name string
	text string
	json []byte // nil when the example has no JSON form
}

func examples(t testing.TB) []example {
	t.Helper()
	files, err := filepath.Glob("testdata/examples/text/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no text examples in testdata/examples/text: %v", err)
	}
	var out []example
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ex := example{name: name, text: string(text)}
		if j, err := os.ReadFile(filepath.Join("testdata/examples/json", name+".json")); err == nil {
			ex.json = j
		}
		out = append(out, ex)
	}
	return out
}

func TestTextExamplesParse(t *testing.T) {
	n := 0
	for _, ex := range examples(t) {
		if _, err := cql2.ParseText(ex.text); err != nil {
			t.Errorf("%s: %v\n%s", ex.name, err, ex.text)
			continue
		}
		n++
	}
	t.Logf("%d text examples parse", n)
	if n != 120 {
		t.Errorf("%d text examples parse, want all 120", n)
	}
}

// Every JSON example means the same as the text example of its name: both give the same tree,
// and so the same canonical text.
func TestJSONExamplesEquivalentToText(t *testing.T) {
	files, _ := filepath.Glob("testdata/examples/json/*.json")
	n := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, err := cql2.ParseJSON(src)
		if err != nil {
			t.Errorf("%s.json: %v", name, err)
			continue
		}
		text, err := os.ReadFile(filepath.Join("testdata/examples/text", name+".txt"))
		if err != nil {
			t.Errorf("%s.json has no text example: %v", name, err)
			continue
		}
		fromText, err := cql2.ParseText(string(text))
		if err != nil {
			t.Errorf("%s.txt: %v", name, err)
			continue
		}
		if a, b := cql2.Text(fromJSON), cql2.Text(fromText); a != b {
			t.Errorf("%s: JSON and text differ\n json: %s\n text: %s", name, a, b)
			continue
		}
		if !reflect.DeepEqual(fromJSON, fromText) {
			t.Errorf("%s: same text but different trees", name)
			continue
		}
		n++
	}
	t.Logf("%d JSON examples are equivalent to their text", n)
	if n != 109 {
		t.Errorf("%d JSON examples match their text, want all 109", n)
	}
}

// The -alt01 examples are other spellings of their base example (NOT x LIKE y and x NOT LIKE
// y, POLYGON Z and POLYGON with 3D positions, .000000Z and Z, unary minus and -1 *, …).
func TestAlternativeSpellings(t *testing.T) {
	byName := map[string]string{}
	for _, ex := range examples(t) {
		byName[ex.name] = ex.text
	}
	n := 0
	for name, text := range byName {
		base, ok := strings.CutSuffix(name, "-alt01")
		if !ok {
			continue
		}
		alt, err1 := cql2.ParseText(text)
		orig, err2 := cql2.ParseText(byName[base])
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %v %v", name, err1, err2)
			continue
		}
		if !reflect.DeepEqual(alt, orig) {
			t.Errorf("%s differs from %s:\n %s\n %s", name, base, cql2.Text(alt), cql2.Text(orig))
			continue
		}
		n++
	}
	if n != 11 {
		t.Errorf("%d alternative spellings match, want 11", n)
	}
}

// Text writes a tree that parses back to the same tree, for every example in either encoding.
func TestRoundTrip(t *testing.T) {
	for _, ex := range examples(t) {
		trees := map[string]cql2.Expr{}
		if e, err := cql2.ParseText(ex.text); err == nil {
			trees[ex.name+".txt"] = e
		}
		if ex.json != nil {
			if e, err := cql2.ParseJSON(ex.json); err == nil {
				trees[ex.name+".json"] = e
			}
		}
		for name, e := range trees {
			text := cql2.Text(e)
			back, err := cql2.ParseText(text)
			if err != nil {
				t.Errorf("%s: Text gave %q, which does not parse: %v", name, text, err)
				continue
			}
			if !reflect.DeepEqual(back, e) {
				t.Errorf("%s: %q parses to another tree: %q", name, text, cql2.Text(back))
			}
		}
	}
}

func TestCanonicalText(t *testing.T) {
	for src, want := range map[string]string{
		`"value" IS NOT NULL`:            `NOT (value IS NULL)`,
		`"date" in (DATE('2021-04-16'))`: `"date" IN (DATE('2021-04-16'))`,
		`x not between 1 and 2`:          `NOT (x BETWEEN 1 AND 2)`,
		`t_before(updated_at, timestamp('2012-08-10T05:30:00.000000Z'))`: `T_BEFORE(updated_at, TIMESTAMP('2012-08-10T05:30:00Z'))`,
		`a = 1 and (b = 2 or c = 3) and d = 4`:                           `a = 1 AND (b = 2 OR c = 3) AND d = 4`,
		`(a = 1 and b = 2) and c = 3`:                                    `(a = 1 AND b = 2) AND c = 3`,
		`x = 1 - (2 - 3)`:                                                `x = 1 - (2 - 3)`,
		`x = (1 - 2) - 3`:                                                `x = 1 - 2 - 3`,
		`x = 2 ^ 3 ^ 2`:                                                  `x = 2 ^ 3 ^ 2`,
		`x = (2 ^ 3) ^ 2`:                                                `x = (2 ^ 3) ^ 2`,
		`x = -y`:                                                         `x = -1 * y`,
		`x = 1.50`:                                                       `x = 1.5`,
		`x = 2.`:                                                         `x = 2.0`,
		`x = 1e3`:                                                        `x = 1000.0`,
		`x = 'it''s' and y = 'it\'s'`:                                    `x = 'it''s' AND y = 'it''s'`,
		`"a""b" = 1`:                                                     `"a""b" = 1`,
		`S_INTERSECTS(geom, POINT (1 2))`:                                `S_INTERSECTS(geom, POINT(1 2))`,
		`S_INTERSECTS(geom, MULTIPOINT (1 2, 3 4))`:                      `S_INTERSECTS(geom, MULTIPOINT((1 2), (3 4)))`,
		`S_INTERSECTS(geom, bbox(1,2,3,4))`:                              `S_INTERSECTS(geom, BBOX(1, 2, 3, 4))`,
		`A_CONTAINS(tags, ('a'))`:                                        `A_CONTAINS(tags, ('a'))`,
		`T_AFTER(INTERVAL(a, '..'), DATE('2020-01-01'))`:                 `T_AFTER(INTERVAL(a, '..'), DATE('2020-01-01'))`,
	} {
		e, err := cql2.ParseText(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := cql2.Text(e); got != want {
			t.Errorf("Text(%s) = %s, want %s", src, got, want)
		}
	}
}
