// Package connect reads the agencies' source systems. A connector turns what a source holds —
// or what changed in it since the cursor of the last successful run — into ingest features,
// which the sync engine (package sources) stages and applies to a collection in one
// transaction. Connectors only read: they never write to the source.
package connect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/haiduong/hub/ingest"
)

// Change detection: how a run learns what changed at the source.
const (
	// Hash: every run reads the whole source; items are compared with the collection by key
	// and content, and keys the source no longer holds are deleted (or withdrawn).
	Hash = "hash"
	// Watermark: a run reads the items whose watermark field (updated_at, a sequence) is
	// above the last run's greatest value. Deletions come from a tombstone field or, where the
	// connector can list them cheaply, the source's whole set of keys.
	Watermark = "watermark"
	// Feed: the source's own change feed (another hub's /changes) says what was inserted,
	// updated and deleted since the cursor.
	Feed = "feed"
)

// Config is one source as a connector sees it, its secrets resolved.
type Config struct {
	// Endpoint is the URL of the source or, for PostgreSQL, its connection string (the
	// password, if any, comes in Secret).
	Endpoint string
	// Options are the connector's own settings (records path, paging style, table, query,
	// typeNames…), documented with each connector.
	Options map[string]string
	// Headers are sent with every HTTP request to the endpoint's origin (authorisation headers,
	// their secrets resolved) — never to another host, be it by a link or a redirect.
	Headers map[string]string
	// Secret is the resolved credential for connectors that take one outside headers (the
	// PostgreSQL password, a SOAP token).
	Secret string
	Detect string // Hash, Watermark or Feed
	// Key is the source's key field (the name in the source, before mapping).
	Key string
	// WatermarkField is the source's field that grows with every change (Watermark).
	WatermarkField string
	// Tombstone names a boolean source field that marks a deleted item (Watermark): such
	// items are reported in Fetch.Deleted, not loaded.
	Tombstone string
	// Cursor is what the last successful run left (a watermark value, a feed version); empty
	// on the first run, which reads everything.
	Cursor string
	// Validator is what the last successful run of a file source saw of the file: its ETag or
	// Last-Modified, so that an unchanged file is not downloaded again.
	Validator string
	// Mapping gives, for each collection field, the source path it is read from ("owner.name"
	// in JSON; an element path in XML). Empty: the source's own properties, as they are.
	Mapping map[string]string
	// Client is the HTTP client to use; nil for a default one.
	Client *http.Client
}

// HTTPClient is the client to send the source's requests with: a copy of the config's client,
// or a default one with a timeout, so that a silent source cannot hold a run for ever (the
// run's own time limit applies too). Either way a redirect to another host than the
// request's does not carry the config's headers, nor Authorization, Cookie or the Referer
// (Go's client forwards custom headers such as X-Api-Key to any host), and a request body is
// not sent there; the client's own CheckRedirect, if any, is then consulted.
func (c *Config) HTTPClient() *http.Client {
	hc := http.Client{Timeout: 5 * time.Minute}
	if c.Client != nil {
		hc = *c.Client
	}
	hc.CheckRedirect = c.redirectPolicy(hc.CheckRedirect)
	return &hc
}

// Option is an option's value or def.
func (c *Config) Option(name, def string) string {
	if v, ok := c.Options[name]; ok && v != "" {
		return v
	}
	return def
}

// Fetch is what a connector reads in one run. Its Source streams the items; Complete,
// AllKeys, Deleted, Cursor and Validator are final once Source.Read has returned.
type Fetch struct {
	ingest.Source
	// Complete: the items are everything the source holds, so a key the collection has and
	// the items lack was deleted at the source.
	Complete bool
	// Unmatched counts the deletions the source reported without a key the hub can match (a
	// feed naming them by feature id): noted with the run.
	Unmatched int64
	// AllKeys, when not nil, is every key the source holds now (a watermark run that could
	// list them): keys outside it were deleted.
	AllKeys []string
	// Deleted are keys the source reports deleted (a feed, a tombstone).
	Deleted []string
	// Cursor is the cursor to keep once the run is applied (the greatest watermark seen, the
	// feed's version); empty keeps the previous one.
	Cursor string
	// Validator is the file's ETag or Last-Modified, kept with the run.
	Validator string
}

// ErrNotModified says the source has not changed since the last run (a file's ETag or
// Last-Modified): the run reads and writes nothing.
var ErrNotModified = errors.New("the source has not changed since the last run")

// Connector opens a source for one run.
type Connector interface {
	// Open starts reading. Errors name what is wrong with the source or its settings.
	Open(ctx context.Context, cfg Config) (*Fetch, error)
	// Describe says, in one line, what the connector reads and its options.
	Describe() string
}

var connectors = map[string]Connector{}

// Register makes a connector available under its type name. It is called from init.
func Register(name string, c Connector) {
	if _, dup := connectors[name]; dup {
		panic("connect: connector " + name + " registered twice")
	}
	connectors[name] = c
}

// Get is the connector of a type, or an error listing those there are. Its errors — from Open
// and from its Fetch's Read and Close — never show the config's header values or secret.
func Get(name string) (Connector, error) {
	if c, ok := connectors[name]; ok {
		return scrubbing{c}, nil
	}
	return nil, fmt.Errorf("connector %q: use one of %v", name, Types())
}

// scrubbing is a connector whose errors are scrubbed of the config's credentials: the rule
// holds for every connector, whatever its messages quote (a server's answer, a driver's
// error).
type scrubbing struct{ Connector }

func (s scrubbing) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	f, err := s.Connector.Open(ctx, cfg)
	if err != nil {
		return f, cfg.scrubErr(err)
	}
	if f != nil && f.Source != nil {
		f.Source = &scrubSource{Source: f.Source, cfg: &cfg}
	}
	return f, nil
}

// scrubSource scrubs the errors of a Fetch's source.
type scrubSource struct {
	ingest.Source
	cfg *Config
}

func (s *scrubSource) Read(ctx context.Context, emit func([]ingest.Feature) error) error {
	return s.cfg.scrubErr(s.Source.Read(ctx, emit))
}

func (s *scrubSource) Close() error { return s.cfg.scrubErr(s.Source.Close()) }

// Types lists the connector types.
func Types() []string {
	names := make([]string, 0, len(connectors))
	for n := range connectors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Detections lists the change-detection methods.
func Detections() []string { return slices.Clone(detections) }

var detections = []string{Hash, Watermark, Feed}
