// Package audit is the hub's tamper-evident access log, the personal-data processing log that
// Decree 47/2020/NĐ-CP Art. 45 requires: who took what, when, how, and with what result, for every
// access to non-open data and every administrative action.
//
// Records are appended to the table audit_log (migration 00007), which the database keeps
// append-only. Each record carries a gapless sequence number and a SHA-256 hash chained to the
// record before it, so that changing, inserting or removing a record anywhere but at the very end
// breaks the chain, and Verify names the first broken link. (Removing records from the end is
// only detected against a last hash noted elsewhere: publish Verify's last hash from time to time.)
//
// Record returns only once the record is committed, so that a request is never answered
// without its log entry surviving a crash; callers must refuse to serve (503) when it returns an
// error. Every such error wraps ErrUnavailable.
//
// This package must not decide who may see what (that is the access package's job) and must
// never store a secret: credentials are named by id, and key= parameters are removed from queries.
//
// # Canonical encoding
//
// A record's hash is
//
//	hash = SHA-256(prev_hash || encode(record))
//
// where prev_hash is the previous record's hash (32 zero bytes for seq 1) and encode is the
// concatenation of these fields, in this order, each written as one byte 0x00 when the value is
// NULL, or as one byte 0x01, the value's length in bytes as a 4-byte big-endian unsigned integer,
// and the value's bytes:
//
//  1. the format tag "hub-audit-v1"
//  2. seq, in decimal
//  3. at, in UTC, formatted with Go's time.RFC3339Nano (microseconds as PostgreSQL keeps them,
//     trailing zeros of the fraction removed, "Z"), e.g. "2025-03-01T08:15:02.12345Z"
//  4. principal
//  5. credential_id
//  6. application
//  7. entry_id
//  8. collection
//  9. operation
//  10. query
//  11. rows, in decimal
//  12. status, in decimal
//  13. response_digest
//
// Text is the column's UTF-8 bytes. Every field says where it ends, and there is a fixed number
// of them, so no two different records encode alike; a NULL and an empty string differ too. The
// writer stores an empty Go string and a zero Status as NULL.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrUnavailable is wrapped by every error that means a record was not committed (database down,
// queue full until the caller's deadline, log closed). A request whose record fails must not be
// answered with data: map it to 503 Service Unavailable.
var ErrUnavailable = errors.New("audit log unavailable")

// Record is one log entry. Callers fill the fields up to ResponseDigest; Seq, PrevHash and Hash are
// assigned by the writer and filled in by Query.
type Record struct {
	Seq int64
	// At is when the access happened; zero means when Record is called. Kept to the microsecond.
	At time.Time
	// Principal is who acted: "anonymous", "agency:so-tai-chinh", "admin". Required.
	Principal string
	// CredentialID names the credential used (key id or prefix, OIDC subject), never the secret.
	CredentialID string
	Application  string
	EntryID      string // catalogue entry
	Collection   string // layer or record collection
	// Operation is what was done: "items", "item", "tiles", "csv", "keys.create", "import"… Required.
	Operation string
	// Query is the request's path and query string; credential parameters (key=…) are removed
	// before it is stored.
	Query string
	// Rows is how many rows or features were disclosed, nil when not counted or not applicable.
	Rows *int64
	// Status is the HTTP status of the answer, 0 when there is none.
	Status int
	// ResponseDigest is the hex SHA-256 of the response body, or empty.
	ResponseDigest string

	PrevHash []byte
	Hash     []byte
}

// row is a record as stored, with NULLs kept distinct from empty values, which is what the hash
// covers: Verify must see a NULL turned into ” as a change.
type row struct {
	seq                                  int64
	at                                   time.Time
	principal, operation                 string
	credential, application, entry, coll *string
	query, digest                        *string
	rows                                 *int64
	status                               *int32
	prevHash, hash                       []byte
}

// toRow prepares r for storage: cleaned text, the time as PostgreSQL will keep it, empty values
// as NULL.
func toRow(r Record) row {
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	var status *int32
	if r.Status != 0 {
		s := int32(r.Status)
		status = &s
	}
	return row{
		at:          at.UTC().Truncate(time.Microsecond),
		principal:   clean(r.Principal),
		credential:  nullable(r.CredentialID),
		application: nullable(r.Application),
		entry:       nullable(r.EntryID),
		coll:        nullable(r.Collection),
		operation:   clean(r.Operation),
		query:       nullable(StripCredentials(r.Query)),
		rows:        r.Rows,
		status:      status,
		digest:      nullable(r.ResponseDigest),
	}
}

func (w row) record() Record {
	r := Record{
		Seq: w.seq, At: w.at, Principal: w.principal, CredentialID: deref(w.credential),
		Application: deref(w.application), EntryID: deref(w.entry), Collection: deref(w.coll),
		Operation: w.operation, Query: deref(w.query), Rows: w.rows,
		ResponseDigest: deref(w.digest), PrevHash: w.prevHash, Hash: w.hash,
	}
	if w.status != nil {
		r.Status = int(*w.status)
	}
	return r
}

// computeHash returns SHA-256(prev || encode(w)), per the package documentation.
func (w row) computeHash(prev []byte) []byte {
	var b bytes.Buffer
	b.Write(prev)
	field := func(v *string) {
		if v == nil {
			b.WriteByte(0)
			return
		}
		b.WriteByte(1)
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(*v))))
		b.WriteString(*v)
	}
	str := func(s string) *string { return &s }
	field(str("hub-audit-v1"))
	field(str(strconv.FormatInt(w.seq, 10)))
	field(str(w.at.UTC().Format(time.RFC3339Nano)))
	field(&w.principal)
	field(w.credential)
	field(w.application)
	field(w.entry)
	field(w.coll)
	field(&w.operation)
	field(w.query)
	if w.rows == nil {
		field(nil)
	} else {
		field(str(strconv.FormatInt(*w.rows, 10)))
	}
	if w.status == nil {
		field(nil)
	} else {
		field(str(strconv.FormatInt(int64(*w.status), 10)))
	}
	field(w.digest)
	sum := sha256.Sum256(b.Bytes())
	return sum[:]
}

// genesis is the prev_hash of seq 1.
var genesis = make([]byte, sha256.Size)

// credentialParams are query parameters that carry secrets. key= is the hub's own API key;
// the others are common enough that a client may send them anyway.
var credentialParams = []string{"key", "api_key", "apikey", "access_token", "token"}

// StripCredentials removes credential parameters (key=…, access_token=…) from a path with a
// query string, keeping the rest byte for byte. Both & and ; count as separators, so that
// "a=1;key=s" cannot smuggle a secret into the log.
func StripCredentials(pathQuery string) string {
	path, query, ok := strings.Cut(pathQuery, "?")
	if !ok {
		return pathQuery
	}
	var out strings.Builder
	for query != "" {
		i := strings.IndexAny(query, "&;")
		param, sep := query, ""
		if i >= 0 {
			param, sep, query = query[:i], query[i:i+1], query[i+1:]
		} else {
			query = ""
		}
		if isCredential(param) {
			continue
		}
		out.WriteString(param)
		out.WriteString(sep)
	}
	kept := strings.TrimRight(out.String(), "&;")
	if kept == "" {
		return path
	}
	return path + "?" + kept
}

func isCredential(param string) bool {
	name, _, _ := strings.Cut(param, "=")
	if n, err := url.QueryUnescape(name); err == nil {
		name = n // k%65y=… is key=… to the server
	}
	name = strings.TrimSpace(name)
	for _, c := range credentialParams {
		if strings.EqualFold(name, c) {
			return true
		}
	}
	return false
}

// clean makes s storable as PostgreSQL text: invalid UTF-8 or a NUL byte in one caller's query
// string would otherwise fail the whole batch it is written with.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	s = clean(s)
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
