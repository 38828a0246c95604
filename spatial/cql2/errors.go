package cql2

import "fmt"

// SyntaxError is a filter that does not parse: where (1-based line and column, counted in
// characters) and what was expected there and found instead.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Error is a filter that parses but cannot be run against the target: an unknown property, a
// type mismatch, an unsupported function, an invalid geometry. It is the caller's mistake
// (an HTTP 400), never the database's.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) *Error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// lineCol turns a byte offset into a 1-based line and character column.
func lineCol(src string, off int) (line, col int) {
	line, col = 1, 1
	for i, r := range src {
		if i >= off {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
