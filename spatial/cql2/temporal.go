package cql2

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The instant forms CQL2 allows: RFC 3339 full-date, and date-time in UTC ("Z") with optional
// fractional seconds. Offsets such as +07:00 are not CQL2.
var (
	datePattern      = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	timestampPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$`)
)

// parseDate reads a CQL2 date; the message says what is wrong.
func parseDate(s string) (time.Time, string) {
	if !datePattern.MatchString(s) {
		return time.Time{}, fmt.Sprintf("expected a date of the form YYYY-MM-DD such as '2022-04-16', found '%s'", clip(s))
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Sprintf("'%s' is not a calendar date: %s", s, reason(err))
	}
	return d, ""
}

// parseTimestamp reads a CQL2 timestamp; the message says what is wrong.
func parseTimestamp(s string) (time.Time, string) {
	if !timestampPattern.MatchString(s) {
		return time.Time{}, fmt.Sprintf("expected a UTC timestamp of the form YYYY-MM-DDThh:mm:ss[.fff]Z such as '2022-04-16T10:13:19Z', found '%s'", clip(s))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Sprintf("'%s' is not a valid timestamp: %s", clip(s), reason(err))
	}
	return t.UTC(), ""
}

// instantString reads an interval bound given as a string: a date, a timestamp or "..".
func instantString(s string) (Expr, string) {
	switch {
	case s == "..":
		return &OpenEnd{}, ""
	case datePattern.MatchString(s):
		d, msg := parseDate(s)
		if msg != "" {
			return nil, msg
		}
		return &DateLit{Value: d}, ""
	case strings.Contains(s, "T"):
		t, msg := parseTimestamp(s)
		if msg != "" {
			return nil, msg
		}
		return &TimestampLit{Value: t}, ""
	}
	return nil, fmt.Sprintf("expected a date such as '2022-04-16', a timestamp such as '2022-04-16T10:13:19Z' or '..' as a bound of INTERVAL, found '%s'", clip(s))
}

// reason is the part of a time.Parse error that says what is wrong ("month out of range").
func reason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func formatDate(t time.Time) string { return t.Format("2006-01-02") }

// formatTimestamp writes the canonical form: UTC, fraction only as long as needed, so that
// 05:30:00.000000Z and 05:30:00Z are one value.
func formatTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999999Z") }
