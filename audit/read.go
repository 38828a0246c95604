package audit

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const columns = `seq, at, principal, credential_id, application, entry_id, collection, operation,
	query, rows, status, response_digest, prev_hash, hash`

func scanRow(rows pgx.Rows) (row, error) {
	var w row
	err := rows.Scan(&w.seq, &w.at, &w.principal, &w.credential, &w.application, &w.entry, &w.coll,
		&w.operation, &w.query, &w.rows, &w.status, &w.digest, &w.prevHash, &w.hash)
	w.at = w.at.UTC()
	return w, err
}

// Problem is what is wrong with a broken link.
type Problem string

const (
	// HashMismatch: the record's fields do not give its stored hash (a field was changed).
	HashMismatch Problem = "hash mismatch"
	// PrevHashMismatch: the record's prev_hash is not the previous record's hash (a record was
	// replaced or inserted, or the previous one's hash was rewritten).
	PrevHashMismatch Problem = "prev_hash mismatch"
	// MissingSeq: records are missing before this one (deleted).
	MissingSeq Problem = "missing seq"
	// UnexpectedSeq: the chain does not start at seq 1.
	UnexpectedSeq Problem = "unexpected seq"
)

// Break is the first broken link of the chain.
type Break struct {
	Seq     int64 // the record at which the chain breaks (for MissingSeq, the first missing seq)
	Problem Problem
	Detail  string
}

func (b Break) String() string {
	return fmt.Sprintf("seq %d: %s (%s)", b.Seq, b.Problem, b.Detail)
}

// Result is what Verify found.
type Result struct {
	Records  int64  // records read
	Intact   int64  // records from seq 1 up to the first break, all verified
	LastSeq  int64  // of the last record read
	LastHash []byte // of the last record read; note it elsewhere to detect truncation later
	Broken   *Break // nil when the whole chain is intact
}

// Verify walks the whole log in seq order, recomputing every hash and checking that seq runs
// 1, 2, 3… without gaps and that each prev_hash is the hash before it. It reads one snapshot,
// streaming: records appended meanwhile are left for the next run. It stops counting Intact at
// the first break but reads on, so Records and LastHash describe the whole table.
func Verify(ctx context.Context, pool *pgxpool.Pool) (Result, error) {
	var res Result
	rows, err := pool.Query(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return res, fmt.Errorf("verify audit log: %w", err)
	}
	defer rows.Close()
	want, prev := int64(1), genesis
	for rows.Next() {
		w, err := scanRow(rows)
		if err != nil {
			return res, fmt.Errorf("verify audit log at record %d: %w", res.Records+1, err)
		}
		res.Records++
		var b *Break
		switch {
		case w.seq > want:
			missing := fmt.Sprintf("seq %d is", want)
			if w.seq-1 > want {
				missing = fmt.Sprintf("seq %d to %d are", want, w.seq-1)
			}
			b = &Break{want, MissingSeq, fmt.Sprintf("%s missing before %d", missing, w.seq)}
		case w.seq != want:
			b = &Break{w.seq, UnexpectedSeq, fmt.Sprintf("expected seq %d", want)}
		case !bytes.Equal(w.prevHash, prev):
			b = &Break{w.seq, PrevHashMismatch, fmt.Sprintf("prev_hash %x, previous record's hash %x", w.prevHash, prev)}
		default:
			if h := w.computeHash(w.prevHash); !bytes.Equal(h, w.hash) {
				b = &Break{w.seq, HashMismatch, fmt.Sprintf("stored %x, fields give %x", w.hash, h)}
			}
		}
		if b != nil && res.Broken == nil {
			res.Broken = b
		}
		if res.Broken == nil {
			res.Intact++
		}
		// Go on from what is stored, so that one changed record is not reported at every later one.
		want, prev = w.seq+1, w.hash
		res.LastSeq, res.LastHash = w.seq, w.hash
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("verify audit log: %w", err)
	}
	return res, nil
}

// Filter selects records for Query. Empty fields do not filter.
type Filter struct {
	Entry, Collection, Principal string
	// Entries, when not nil, keeps only the records of these catalogue entries (an owner's
	// view); an empty but non-nil list keeps none, so that an agency owning no entry sees
	// nothing rather than everything.
	Entries  []string
	From, To time.Time // at in [From, To)
	Limit    int       // default 100, at most 1,000
	AfterSeq int64     // keyset paging: records after this seq
}

// Query returns the records that match f in seq order, at most f.Limit of them; pass the last
// one's Seq as AfterSeq for the next page.
func Query(ctx context.Context, pool *pgxpool.Pool, f Filter) ([]Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$", "$"+strconv.Itoa(len(args))))
	}
	add("seq > $", f.AfterSeq)
	if f.Entry != "" {
		add("entry_id = $", f.Entry)
	}
	if f.Entries != nil {
		add("entry_id = ANY($)", f.Entries)
	}
	if f.Collection != "" {
		add("collection = $", f.Collection)
	}
	if f.Principal != "" {
		add("principal = $", f.Principal)
	}
	if !f.From.IsZero() {
		add("at >= $", f.From)
	}
	if !f.To.IsZero() {
		add("at < $", f.To)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := pool.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("query audit log: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		w, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("query audit log: %w", err)
		}
		out = append(out, w.record())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query audit log: %w", err)
	}
	return out, nil
}
