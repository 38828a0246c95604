package cql2

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a CQL2 text token.
type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // unquoted identifier; keywords are identifiers the parser recognises
	tQuoted         // "quoted identifier" (always a property name)
	tString         // 'character literal', text holds the decoded value
	tNumber         // unsigned numeric literal; the sign is a separate "-" token
	tPunct          // ( ) , = <> < > <= >= + - * / % ^
	tError          // a lexical error: text is the message
)

type token struct {
	kind tokKind
	text string
	off  int // byte offset in the source
}

// lex splits src into tokens. A lexical error becomes a final tError token, so the parser
// reports errors in source order: a syntax error before a bad character wins.
func lex(src string) []token {
	var toks []token
	i := 0
	fail := func(off int, format string, args ...any) []token {
		return append(toks, token{kind: tError, text: fmt.Sprintf(format, args...), off: off})
	}
	for {
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if !isSpace(r) {
				break
			}
			i += n
		}
		if i >= len(src) {
			return append(toks, token{kind: tEOF, off: i})
		}
		start := i
		r, n := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return fail(start, "the filter is not valid UTF-8")
		case r == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				c := src[i]
				if c == '\'' && i+1 < len(src) && src[i+1] == '\'' || c == '\\' && i+1 < len(src) && src[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				if c == '\'' {
					i++
					closed = true
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				hint := ""
				if strings.Contains(src[start:], `\'`) {
					hint = ` (\' inside a string is an escaped quote)`
				}
				return fail(start, "expected ' to close the string that starts here, found the end of the filter%s", hint)
			}
			if !utf8.ValidString(b.String()) {
				return fail(start, "the string is not valid UTF-8")
			}
			toks = append(toks, token{kind: tString, text: b.String(), off: start})
		case r == '"':
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				if src[i] == '"' && i+1 < len(src) && src[i+1] == '"' {
					b.WriteByte('"')
					i += 2
					continue
				}
				if src[i] == '"' {
					i++
					closed = true
					break
				}
				b.WriteByte(src[i])
				i++
			}
			if !closed {
				return fail(start, "expected \" to close the property name that starts here, found end of input")
			}
			if b.Len() == 0 {
				return fail(start, "expected a property name between the double quotes, found \"\"")
			}
			if !utf8.ValidString(b.String()) {
				return fail(start, "the property name is not valid UTF-8")
			}
			toks = append(toks, token{kind: tQuoted, text: b.String(), off: start})
		case isDigit(r) || r == '.' && i+1 < len(src) && isDigit(rune(src[i+1])):
			end, msg := scanNumber(src, i)
			if msg != "" {
				return fail(end, "%s", msg)
			}
			toks = append(toks, token{kind: tNumber, text: src[start:end], off: start})
			i = end
		case isIdentStart(r):
			i += n
			for i < len(src) {
				r, n := utf8.DecodeRuneInString(src[i:])
				if !isIdentPart(r) {
					break
				}
				i += n
			}
			toks = append(toks, token{kind: tIdent, text: src[start:i], off: start})
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch {
			case two == "<>" || two == "<=" || two == ">=":
				toks = append(toks, token{kind: tPunct, text: two, off: start})
				i += 2
			case two == "!=":
				return fail(start, "expected a comparison operator, found '!=' (CQL2 writes not-equal as <>)")
			case strings.ContainsRune("(),=<>+-*/%^", r):
				toks = append(toks, token{kind: tPunct, text: string(r), off: start})
				i++
			default:
				return fail(start, "unexpected character %q", r)
			}
		}
	}
}

// scanNumber reads an unsigned numeric literal at src[i:] (digits, an optional fraction, an
// optional exponent) and returns its end, or where and why it is malformed.
func scanNumber(src string, i int) (end int, msg string) {
	digits := func() int {
		n := 0
		for i < len(src) && isDigit(rune(src[i])) {
			i++
			n++
		}
		return n
	}
	digits()
	if i < len(src) && src[i] == '.' {
		i++
		digits()
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, "expected the digits of the exponent, found " + describeAt(src, i)
		}
	}
	if i < len(src) {
		if r, _ := utf8.DecodeRuneInString(src[i:]); isIdentPart(r) {
			return i, "expected a space or an operator after the number, found " + describeAt(src, i)
		}
	}
	return i, ""
}

// describeAt names what is at src[i:] for a message.
func describeAt(src string, i int) string {
	if i >= len(src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return fmt.Sprintf("%q", r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isSpace is the BNF's whitespace.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isIdentStart is the BNF's identifierStart.
func isIdentStart(r rune) bool {
	switch {
	case r == ':' || r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
		return true
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF:
		return true
	case r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFE, r == 0x200C, r == 0x200D:
		return true
	case r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF:
		return true
	case r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

// isIdentPart is the BNF's identifierPart.
func isIdentPart(r rune) bool {
	return isIdentStart(r) || r == '.' || isDigit(r) || r >= 0x300 && r <= 0x36F || r == 0x203F || r == 0x2040
}

// isIdentifier reports whether s can be written as an unquoted identifier.
func isIdentifier(s string) bool {
	for i, r := range s {
		if i == 0 && !isIdentStart(r) || i > 0 && !isIdentPart(r) {
			return false
		}
	}
	return s != ""
}
