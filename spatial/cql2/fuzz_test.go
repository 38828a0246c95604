package cql2_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/haiduong/hub/spatial/cql2"
)

// FuzzParseText checks that the parser never panics, that its errors are positioned
// *SyntaxErrors, that what parses is written back by Text to text that parses to the same tree,
// and that compiling it to SQL does not panic either. Seeds: the standard's examples and the
// ATS filters. Run longer with: go test ./spatial/cql2/ -run '^$' -fuzz FuzzParseText
func FuzzParseText(f *testing.F) {
	for _, ex := range examples(f) {
		f.Add(ex.text)
	}
	if file, err := os.Open("testdata/ats-expected-counts.tsv"); err == nil {
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			if cols := strings.Split(sc.Text(), "\t"); len(cols) == 4 {
				f.Add(strings.ReplaceAll(cols[2], `\(`, `(`))
			}
		}
		file.Close()
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := cql2.ParseText(src)
		if err != nil {
			var se *cql2.SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Col < 1 || se.Msg == "" {
				t.Fatalf("%q: error %v is not a positioned *SyntaxError", src, err)
			}
			return
		}
		text := cql2.Text(e)
		back, err := cql2.ParseText(text)
		switch {
		case err != nil && strings.Contains(text, `\`):
			// A string with a backslash before its closing quote cannot be written in CQL2
			// text (Text's documented exception).
		case err != nil:
			t.Fatalf("%q: Text gave %q, which does not parse: %v", src, text, err)
		case !reflect.DeepEqual(back, e) && !strings.Contains(text, `\`):
			t.Fatalf("%q: Text gave %q, which parses to %q", src, text, cql2.Text(back))
		}
		if _, _, err := cql2.SQL(e, parcels, 1); err != nil {
			var ce *cql2.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%q: SQL error %v is not a *cql2.Error", src, err)
			}
		}
	})
}

// FuzzParseJSON is the same for CQL2 JSON, seeded with the JSON examples.
func FuzzParseJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/examples/json/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		e, err := cql2.ParseJSON(src)
		if err != nil {
			var se *cql2.SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Col < 1 {
				t.Fatalf("%q: error %v is not a positioned *SyntaxError", src, err)
			}
			return
		}
		if _, _, err := cql2.SQL(e, parcels, 1); err != nil {
			var ce *cql2.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%q: SQL error %v is not a *cql2.Error", src, err)
			}
		}
	})
}
