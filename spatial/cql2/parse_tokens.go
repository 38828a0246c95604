package cql2

import (
	"fmt"
	"strings"
)

// Token access and error reporting for textParser.

func (p *textParser) peek() token { return p.peekAt(0) }

func (p *textParser) peekAt(k int) token {
	if p.p+k < len(p.toks) {
		return p.toks[p.p+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *textParser) next() token {
	t := p.peek()
	if t.kind == tError {
		p.failAt(t.off, "%s", t.text)
	}
	if p.p < len(p.toks)-1 {
		p.p++
	}
	return t
}

func (p *textParser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *textParser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *textParser) expectPunct(s, where string) token {
	t := p.peek()
	if t.kind != tPunct || t.text != s {
		p.fail(t, "expected '%s' %s, found %s", s, where, p.describe(t))
	}
	return p.next()
}

// expectClose expects the ")" that closes open; the message says where that "(" was.
func (p *textParser) expectClose(open token, what string) {
	t := p.peek()
	if t.kind != tPunct || t.text != ")" {
		l, c := lineCol(p.src, open.off)
		p.fail(t, "expected ')' to close %s opened at line %d, column %d, found %s", what, l, c, p.describe(t))
	}
	p.next()
}

func (p *textParser) expectKeyword(kw, where string) {
	if !p.isKeyword(kw) {
		t := p.peek()
		p.fail(t, "expected %s %s, found %s", kw, where, p.describe(t))
	}
	p.next()
}

func (p *textParser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.peek(), "the filter nests deeper than %d levels", maxDepth)
	}
}

func (p *textParser) leave() { p.depth-- }

// fail reports an error at token t; a lexical error token reports its own message instead,
// since it is the real cause.
func (p *textParser) fail(t token, format string, args ...any) {
	if t.kind == tError {
		p.failAt(t.off, "%s", t.text)
	}
	p.failAt(t.off, format, args...)
}

func (p *textParser) failAt(off int, format string, args ...any) {
	l, c := lineCol(p.src, off)
	panic(&SyntaxError{Line: l, Col: c, Msg: fmt.Sprintf(format, args...)})
}

// describe names a token for an error message.
func (p *textParser) describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the filter"
	case tIdent:
		if up := strings.ToUpper(t.text); reserved[up] {
			return up
		}
		return clip(t.text)
	case tQuoted:
		return `"` + clip(t.text) + `"`
	case tString:
		return "the string '" + clip(t.text) + "'"
	case tNumber:
		return "the number " + clip(t.text)
	case tPunct:
		return "'" + t.text + "'"
	}
	return t.text
}

// clip shortens s for a message.
func clip(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
