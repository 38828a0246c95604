package cql2

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// A small JSON reader that keeps the offset of every value, so that a CQL2 JSON error can say
// at which line and column the offending value starts; encoding/json only knows offsets of
// syntax errors.

type jsonKind int

const (
	jNull jsonKind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

type jsonNode struct {
	kind  jsonKind
	off   int
	b     bool
	s     string // a string's value, a number's text
	elems []*jsonNode
	keys  []string // object members in order
	vals  []*jsonNode
}

// member returns the value of the object member key, or nil.
func (n *jsonNode) member(key string) *jsonNode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

type jsonScanner struct {
	src   string
	i     int
	depth int
}

// scanJSON reads one JSON document; errors are *SyntaxError.
func scanJSON(src string) (n *jsonNode, err error) {
	s := &jsonScanner{src: src}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			n, err = nil, se
		}
	}()
	if !utf8.ValidString(src) {
		s.fail(0, "the filter is not valid UTF-8")
	}
	n = s.value()
	s.space()
	if s.i < len(s.src) {
		s.fail(s.i, "expected the end of the JSON filter, found %s", s.found())
	}
	return n, nil
}

func (s *jsonScanner) fail(off int, format string, args ...any) {
	l, c := lineCol(s.src, off)
	panic(&SyntaxError{Line: l, Col: c, Msg: fmt.Sprintf(format, args...)})
}

func (s *jsonScanner) found() string {
	if s.i >= len(s.src) {
		return "the end of the filter"
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.i:])
	return fmt.Sprintf("%q", r)
}

func (s *jsonScanner) space() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value() *jsonNode {
	s.space()
	if s.i >= len(s.src) {
		s.fail(s.i, "expected a JSON value, found the end of the filter")
	}
	n := &jsonNode{off: s.i}
	switch c := s.src[s.i]; {
	case c == '{':
		s.enter()
		s.i++
		n.kind = jObject
		s.space()
		if s.i < len(s.src) && s.src[s.i] == '}' {
			s.i++
			s.depth--
			break
		}
		for {
			s.space()
			if s.i >= len(s.src) || s.src[s.i] != '"' {
				s.fail(s.i, "expected a member name in double quotes, found %s", s.found())
			}
			keyOff := s.i
			key := s.str()
			if n.member(key) != nil {
				s.fail(keyOff, "the member %q appears twice", key)
			}
			s.space()
			s.expect(':', "after the member name")
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, s.value())
			s.space()
			if s.i < len(s.src) && s.src[s.i] == ',' {
				s.i++
				continue
			}
			s.expect('}', "or ',' after a member")
			break
		}
		s.depth--
	case c == '[':
		s.enter()
		s.i++
		n.kind = jArray
		s.space()
		if s.i < len(s.src) && s.src[s.i] == ']' {
			s.i++
			s.depth--
			break
		}
		for {
			n.elems = append(n.elems, s.value())
			s.space()
			if s.i < len(s.src) && s.src[s.i] == ',' {
				s.i++
				continue
			}
			s.expect(']', "or ',' after an array element")
			break
		}
		s.depth--
	case c == '"':
		n.kind = jString
		n.s = s.str()
	case c == '-' || c >= '0' && c <= '9':
		n.kind = jNumber
		n.s = s.number()
	case s.literal("true"):
		n.kind, n.b = jBool, true
	case s.literal("false"):
		n.kind = jBool
	case s.literal("null"):
		n.kind = jNull
	default:
		s.fail(s.i, "expected a JSON value, found %s", s.found())
	}
	return n
}

func (s *jsonScanner) enter() {
	s.depth++
	if s.depth > maxDepth {
		s.fail(s.i, "the filter nests deeper than %d levels", maxDepth)
	}
}

func (s *jsonScanner) expect(c byte, where string) {
	if s.i >= len(s.src) || s.src[s.i] != c {
		s.fail(s.i, "expected '%c' %s, found %s", c, where, s.found())
	}
	s.i++
}

func (s *jsonScanner) literal(word string) bool {
	if len(s.src)-s.i >= len(word) && s.src[s.i:s.i+len(word)] == word {
		s.i += len(word)
		return true
	}
	return false
}

// str reads a string; encoding/json decodes its escapes.
func (s *jsonScanner) str() string {
	start := s.i
	s.i++
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			var v string
			if err := json.Unmarshal([]byte(s.src[start:s.i]), &v); err != nil {
				s.fail(start, "this string is not valid JSON: %v", err)
			}
			return v
		}
		s.i++
	}
	s.fail(start, "expected '\"' to close the string that starts here, found the end of the filter")
	return ""
}

// number reads a number as JSON writes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() string {
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.src) && s.src[s.i] >= '0' && s.src[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.src[s.i] == '-' {
		s.i++
	}
	intStart := s.i
	if n := digits(); n == 0 || n > 1 && s.src[intStart] == '0' {
		s.fail(start, "this is not a JSON number: %s", clip(s.src[start:s.i]))
	}
	if s.i < len(s.src) && s.src[s.i] == '.' {
		s.i++
		if digits() == 0 {
			s.fail(s.i, "expected the digits of a fraction, found %s", s.found())
		}
	}
	if s.i < len(s.src) && (s.src[s.i] == 'e' || s.src[s.i] == 'E') {
		s.i++
		if s.i < len(s.src) && (s.src[s.i] == '+' || s.src[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			s.fail(s.i, "expected the digits of an exponent, found %s", s.found())
		}
	}
	return s.src[start:s.i]
}
