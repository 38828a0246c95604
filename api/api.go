// Package api holds the conventions every HTTP endpoint of the hub shares: OGC exception errors
// in Vietnamese and English, strict query parameters, format negotiation and JSON encoding.
// It knows nothing of the database or of any dataset.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Exception is the OGC API exception body ({"code", "description"}).
type Exception struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	// Parameter names the query parameter at fault, when there is one.
	Parameter string `json:"parameter,omitempty"`
	// Access says, on a 401 or 403 for data, what would grant access: the entry, its
	// categories, the caller's requests and agreements for it and where to file one.
	Access any `json:"access,omitempty"`
}

// Error is an error that knows its HTTP status and how to describe itself to the caller.
type Error struct {
	Status int
	Exception
}

func (e *Error) Error() string { return e.Description }

// BadParam is a 400 that names the parameter and says what to send instead.
func BadParam(param string, m Message, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Exception: Exception{
		Code: "InvalidParameterValue", Description: m.Format(args...), Parameter: param}}
}

// NotFound is a 404.
func NotFound(m Message, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Exception: Exception{Code: "NotFound", Description: m.Format(args...)}}
}

// Errorf builds an error with any status and OGC code.
func Errorf(status int, code string, m Message, args ...any) *Error {
	return &Error{Status: status, Exception: Exception{Code: code, Description: m.Format(args...)}}
}

// WriteError sends err to the caller. An *Error goes out as it is; anything else is a fault of
// the hub: it is logged with the request id and the caller gets a 500 that reveals nothing.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		slog.ErrorContext(r.Context(), "request failed", "err", err, "path", LogPath(r))
		e = Errorf(http.StatusInternalServerError, "ServerError", MsgInternal)
	}
	WriteJSON(w, e.Status, e.Exception)
}

// WriteJSON encodes v as the response body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONType(w, status, "application/json", v)
}

// WriteJSONType is WriteJSON with another JSON media type (e.g. application/geo+json).
func WriteJSONType(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Warn("encode response", "err", err)
	}
}

// Query returns the request's query parameters after checking that each is one the endpoint
// accepts and appears at most once: a misspelt parameter silently ignored gives a caller the
// wrong data with a 200, so it is refused instead.
func Query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, BadParam("", MsgBadQuery, err)
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			return nil, BadParam(k, MsgUnknownParam, k, strings.Join(allowed, ", "))
		}
		if len(q[k]) > 1 {
			return nil, BadParam(k, MsgRepeatedParam, k)
		}
	}
	return q, nil
}

// OneOf checks that the parameter, when present, takes one of the listed values.
func OneOf(q url.Values, param string, values ...string) (string, error) {
	v := q.Get(param)
	if v == "" || slices.Contains(values, v) {
		return v, nil
	}
	return "", BadParam(param, MsgBadChoice, param, v, strings.Join(values, ", "))
}

// Format is a response encoding.
type Format string

const (
	JSON Format = "json"
	HTML Format = "html"
	CSV  Format = "csv"
)

// Limit reads a page-size parameter: def when absent, else a whole number from 1 to max (a 400
// naming the parameter otherwise).
func Limit(q url.Values, param string, def, max int) (int, error) {
	v := q.Get(param)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, BadParam(param, MsgBadNumber, param, v, 1, max)
	}
	return n, nil
}

// Negotiate picks the response format: the f parameter wins; otherwise a browser (text/html
// before any JSON type in Accept) gets HTML, and everyone else, */* included, gets JSON.
func Negotiate(r *http.Request, q url.Values, offered ...Format) (Format, error) {
	if f := q.Get("f"); f != "" {
		if slices.Contains(offered, Format(f)) {
			return Format(f), nil
		}
		names := make([]string, len(offered))
		for i, o := range offered {
			names[i] = string(o)
		}
		return "", BadParam("f", MsgBadChoice, "f", f, strings.Join(names, ", "))
	}
	if slices.Contains(offered, HTML) && prefersHTML(r.Header.Get("Accept")) {
		return HTML, nil
	}
	return offered[0], nil
}

func prefersHTML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch {
		case mt == "text/html" || mt == "application/xhtml+xml":
			return true
		case strings.HasSuffix(mt, "json"):
			return false
		}
	}
	return false
}

// Link is an OGC API link.
type Link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// BaseURL is the scheme and host the caller used, honouring a reverse proxy's
// X-Forwarded-Proto/Host, so that links work from wherever the hub is reached.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" && !strings.ContainsAny(h, "/ ") {
		host = h
	}
	return fmt.Sprintf("%s://%s", scheme, host)
}

// Decode reads a JSON body of at most 1 MiB into v, refusing fields v does not have: a
// misspelt field silently dropped would be an edit the caller thinks was made.
func Decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, "InvalidRequestBody", MsgBadBody, err)
	}
	return nil
}

// Request checks the query parameters (see Query) and negotiates the format (see Negotiate):
// what every GET handler does first.
func Request(r *http.Request, offered []Format, params ...string) (url.Values, Format, error) {
	q, err := Query(r, append(params, "f")...)
	if err != nil {
		return nil, "", err
	}
	f, err := Negotiate(r, q, offered...)
	return q, f, err
}

// JSONOrHTML are the formats of pages that browsers read too.
var JSONOrHTML = []Format{JSON, HTML}

// LogPath is r's path as logs may keep it: an item's id (a record's natural key may be a
// citizen's number) is left out, since the request log is no place for personal data; the
// audit log keeps who read what.
func LogPath(r *http.Request) string {
	p := r.URL.Path
	if strings.Contains(r.Pattern, "{featureId}") {
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			return p[:i+1] + "…"
		}
	}
	return p
}
