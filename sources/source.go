// Package sources keeps the agencies' source systems as data and synchronises collections
// from them: a run opens the source's connector, stages what it reads and applies the
// difference to the collection in one transaction (ingest's sync mode), with the source's
// cursor and the run's record committed alongside. Schedules and retries are River jobs
// kept in PostgreSQL, so several hub processes never run one source twice at once.
package sources

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haiduong/hub/connect"
)

// Source is one source system feeding one collection.
type Source struct {
	ID         string            `json:"id"`
	Entry      string            `json:"entry"`
	Collection string            `json:"collection"`
	ItemType   string            `json:"itemType"` // feature or record
	Title      string            `json:"title,omitempty"`
	Connector  string            `json:"connector"`
	Endpoint   string            `json:"endpoint"`
	Options    map[string]string `json:"options,omitempty"`
	// Headers and Secret hold stored forms ("env:NAME", "enc:…"), never values in clear;
	// answers show them redacted (see Public).
	Headers        map[string]string `json:"headers,omitempty"`
	Secret         string            `json:"secret,omitempty"`
	Mapping        map[string]string `json:"mapping,omitempty"`
	Key            string            `json:"key"`
	Detect         string            `json:"detect"`
	WatermarkField string            `json:"watermarkField,omitempty"`
	Tombstone      string            `json:"tombstone,omitempty"`
	Deletions      string            `json:"deletions"` // delete or withdraw
	SRID           int               `json:"srid,omitempty"`
	Schedule       string            `json:"schedule,omitempty"`
	TimeLimit      Duration          `json:"timeLimit"`
	MaxAttempts    int               `json:"maxAttempts"`
	Paused         bool              `json:"paused"`

	// State, written by runs.
	NextRunAt     *time.Time `json:"nextRunAt,omitempty"`
	Cursor        string     `json:"cursor,omitempty"`
	Validator     string     `json:"validator,omitempty"`
	LastSuccessAt *time.Time `json:"lastSuccessAt,omitempty"`
	LastRun       *Run       `json:"lastRun,omitempty"`
}

// Duration is a time.Duration written as "30m0s" in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: write e.g. 30m or 2h", b)
	}
	*d = Duration(v)
	return nil
}

// ErrNotFound is a source that does not exist.
var ErrNotFound = errors.New("no such source")

var validID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Check fills defaults and says what is wrong with a source's definition.
func (s *Source) Check() error {
	if s.ItemType == "" {
		s.ItemType = "feature"
	}
	if s.Detect == "" {
		s.Detect = connect.Hash
	}
	if s.Deletions == "" {
		s.Deletions = "delete"
	}
	if s.TimeLimit == 0 {
		s.TimeLimit = Duration(30 * time.Minute)
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = 3
	}
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if !validID.MatchString(s.ID) || len(s.ID) > 60 {
		bad("id %q: use lower-case letters, digits and hyphens", s.ID)
	}
	if !validID.MatchString(s.Collection) || len(s.Collection) > 40 {
		bad("collection %q: use lower-case letters, digits and hyphens (e.g. land-parcels)", s.Collection)
	}
	if s.Entry == "" {
		bad("entry: name the catalogue entry the collection belongs to")
	}
	if s.ItemType != "feature" && s.ItemType != "record" {
		bad("item type %q: feature or record", s.ItemType)
	}
	if _, err := connect.Get(s.Connector); err != nil {
		bad("%v", err)
	}
	if strings.TrimSpace(s.Endpoint) == "" {
		bad("endpoint: give the source's URL (or connection string)")
	}
	if s.Key == "" {
		bad("key: name the source field that identifies an item (a tax code, a parcel number)")
	}
	switch s.Detect {
	case connect.Hash, connect.Feed:
	case connect.Watermark:
		if s.WatermarkField == "" {
			bad("watermark detection needs the watermark field (updated_at, a sequence)")
		}
	default:
		bad("change detection %q: use one of %v", s.Detect, connect.Detections())
	}
	if s.Deletions != "delete" && s.Deletions != "withdraw" {
		bad("deletions %q: delete (gone from the warehouse) or withdraw (kept, marked %s)", s.Deletions, "withdrawn_at")
	}
	if s.Schedule != "" {
		if _, err := ParseSchedule(s.Schedule); err != nil {
			bad("%v", err)
		}
	}
	if s.TimeLimit < Duration(time.Second) || s.TimeLimit > Duration(24*time.Hour) {
		bad("time limit %s: between a second and a day", time.Duration(s.TimeLimit))
	}
	if passwordIn(s.Endpoint) {
		bad("the endpoint holds a password: give it as the secret (--secret env:HUB_SOURCE_…), which is stored sealed")
	}
	if s.MaxAttempts < 1 || s.MaxAttempts > 25 {
		bad("attempts %d: between 1 and 25", s.MaxAttempts)
	}
	for h, v := range s.Headers {
		if !strings.HasPrefix(v, "env:") && !strings.HasPrefix(v, "enc:") {
			bad("header %s is not sealed", h)
		}
	}
	if s.Secret != "" && !strings.HasPrefix(s.Secret, "env:") && !strings.HasPrefix(s.Secret, "enc:") {
		bad("the secret is not sealed")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Public is the source as answers show it: stored credentials named, never their form.
func (s Source) Public() Source {
	h := map[string]string{}
	for k, v := range s.Headers {
		h[k] = redact(v)
	}
	s.Headers = h
	s.Secret = redact(s.Secret)
	return s
}

func redact(v string) string {
	switch {
	case v == "":
		return ""
	case strings.HasPrefix(v, "env:"):
		return v // the variable's name, not its value
	}
	return "(encrypted)"
}

// CollectionKey is the collection field the source's key lands in: the field mapped from it,
// or the key itself.
func (s *Source) CollectionKey() string {
	for f, p := range s.Mapping {
		if p == s.Key {
			return f
		}
	}
	return s.Key
}

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// passwordIn says whether an endpoint carries a password: a URL's user info or a connection
// string's password keyword.
func passwordIn(endpoint string) bool {
	if u, err := url.Parse(endpoint); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return true
		}
	}
	return regexp.MustCompile(`(?i)(^|\s)password\s*=`).MatchString(endpoint) ||
		regexp.MustCompile(`(?i)[?&]password=`).MatchString(endpoint)
}
