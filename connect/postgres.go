package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/valyala/fastjson"

	"github.com/haiduong/hub/ingest"
)

func init() { Register("postgres", postgresConnector{}) }

// postgresConnector reads a table or query of an agency's own PostgreSQL/PostGIS database.
//
// Endpoint: a connection string (postgres://user@host:port/db?sslmode=…); Config.Secret,
// when set, is the password. Options:
//
//	table     the table or view to read, schema-qualified if need be ("public.doanh_nghiep")
//	query     a SELECT to read instead of a table (it is wrapped as a subquery)
//	geometry  the geometry (or geography) column; empty: the first one there is, none: records
//	page_size rows per FETCH of the cursor (default 10000)
//	deletions keys (list every key on a watermark run, so that deletions are seen; the default
//	          when the source has a key) or none
//
// Everything is read in one read-only, repeatable-read transaction, so the rows, the key list
// and the new watermark all come from the same snapshot.
type postgresConnector struct{}

func (postgresConnector) Describe() string {
	return "PostgreSQL/PostGIS database (endpoint postgres://user@host:port/db, password as the secret); options: table or query, geometry, page_size, deletions=keys|none"
}

// pgColumn is a column of the relation read.
type pgColumn struct {
	name string
	typ  string // format_type, e.g. "timestamp with time zone", "geometry(Point,4326)"
	base string // the type without its modifier: "numeric", "geometry"
}

func (c pgColumn) isGeometry() bool {
	return c.base == "geometry" || c.base == "geography"
}

func (postgresConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	switch cfg.Detect {
	case "", Hash, Watermark:
	case Feed:
		return nil, errors.New("postgres source: a database has no change feed; use detect = hash (read the whole table) or watermark (with a watermark field such as updated_at)")
	default:
		return nil, fmt.Errorf("postgres source: unknown detection %q; use hash or watermark", cfg.Detect)
	}
	table := strings.TrimSpace(cfg.Option("table", ""))
	query := strings.TrimSpace(cfg.Option("query", ""))
	query = strings.TrimSpace(strings.TrimRight(query, "; \t\r\n"))
	if table != "" && query != "" {
		return nil, errors.New("postgres source: set either option table or option query, not both")
	}
	if table == "" && query == "" {
		return nil, errors.New("postgres source: set option table (e.g. public.doanh_nghiep) or option query (a SELECT)")
	}
	pageSize := 10000
	if s := cfg.Option("page_size", ""); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("postgres source: option page_size = %q: give a positive number of rows", s)
		}
		pageSize = n
	}
	deletions := cfg.Option("deletions", "")
	switch deletions {
	case "":
		deletions = "none"
		if cfg.Key != "" {
			deletions = "keys"
		}
	case "keys":
		if cfg.Key == "" {
			return nil, errors.New("postgres source: option deletions = keys needs the source's key field")
		}
	case "none":
	default:
		return nil, fmt.Errorf("postgres source: option deletions = %q: use keys or none", deletions)
	}
	if cfg.Detect == Watermark && cfg.WatermarkField == "" {
		return nil, errors.New("postgres source: detect = watermark needs a watermark field (a column that grows with every change, such as updated_at)")
	}

	if strings.TrimSpace(cfg.Endpoint) == "" {
		return nil, errors.New("postgres source: set the endpoint to the database's connection string (postgres://user@host:port/db?sslmode=require)")
	}
	secrets := []string{cfg.Secret}
	pcfg, err := pgx.ParseConfig(cfg.Endpoint)
	if err != nil {
		return nil, pgScrub(fmt.Errorf("postgres source: the endpoint is not a valid connection string (postgres://user@host:port/db?sslmode=…): %w", err), secrets)
	}
	if pcfg.Password != "" {
		secrets = append(secrets, pcfg.Password)
	}
	// The password is the source's secret and nothing else: not one pgx found in the hub's own
	// environment (PGPASSWORD, a .pgpass or service file), which would go to any host named.
	pcfg.Password = cfg.Secret
	if _, set := pcfg.RuntimeParams["application_name"]; !set {
		pcfg.RuntimeParams["application_name"] = "hub-connector"
	}
	if !strings.Contains(cfg.Endpoint, "default_query_exec_mode") {
		// No prepared statements: they do not go through transaction-pooling bouncers.
		pcfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	where := pgWhere(pcfg)
	conn, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return nil, pgScrub(fmt.Errorf("postgres source: cannot connect to %s: %w; check the endpoint, the password and that the server accepts connections from the hub", where, err), secrets)
	}
	s := &pgSource{conn: conn, cfg: cfg, pageSize: pageSize, secrets: secrets, where: where}
	s.fetch = &Fetch{Source: s, Complete: cfg.Detect != Watermark}
	if err := s.prepare(ctx, table, query, deletions); err != nil {
		s.Close()
		return nil, pgScrub(err, secrets)
	}
	return s.fetch, nil
}

// pgWhere names the server and database for messages, without the password.
func pgWhere(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	} else {
		host = net.JoinHostPort(host, strconv.Itoa(int(c.Port)))
	}
	return fmt.Sprintf("database %q on %s as user %q", c.Database, host, c.User)
}

// pgScrub takes any secret out of an error's text.
func pgScrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "xxxxx")
		}
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

// pgSource streams the rows of one run.
type pgSource struct {
	conn     *pgx.Conn
	cfg      Config
	fetch    *Fetch
	pageSize int
	secrets  []string
	where    string

	table    string // the table option
	what     string // "table x" or "the query", for messages
	from     string // the FROM item, aliased src
	cols     []pgColumn
	geom     *pgColumn
	keys     []string
	sql      string // the select the cursor runs
	args     []any
	markSQL  string // the new watermark
	inTx     bool
	srid     int
	closed   bool
	declared bool
}

func (s *pgSource) SRID() int      { return s.srid }
func (s *pgSource) Keys() []string { return s.keys }
func (s *pgSource) Format() string { return "PostgreSQL" }

func (s *pgSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.inTx {
		_, _ = s.conn.Exec(ctx, "ROLLBACK")
	}
	return s.conn.Close(ctx)
}

func (s *pgSource) column(name string) *pgColumn {
	for i := range s.cols {
		if s.cols[i].name == name {
			return &s.cols[i]
		}
	}
	return nil
}

func (s *pgSource) names() []string {
	var n []string
	for _, c := range s.cols {
		n = append(n, c.name)
	}
	return n
}

// prepare opens the snapshot, learns the columns, checks the settings against them and
// builds the queries; on a watermark run with deletions = keys it lists the keys.
func (s *pgSource) prepare(ctx context.Context, table, query, deletions string) error {
	cfg := &s.cfg
	if _, err := s.conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("postgres source %s: cannot start a read-only transaction: %w", s.where, err)
	}
	s.inTx = true
	s.table = table
	if table != "" {
		parts := strings.Split(table, ".")
		for _, p := range parts {
			if p == "" {
				return fmt.Errorf("postgres source: option table = %q: give table or schema.table", table)
			}
		}
		s.from = pgx.Identifier(parts).Sanitize() + " AS src"
		s.what = fmt.Sprintf("table %q", table)
	} else {
		s.from = "(" + query + ") AS src"
		s.what = "the query"
	}

	// The columns and their types, from a query that reads no row.
	rows, err := s.conn.Query(ctx, "SELECT * FROM "+s.from+" LIMIT 0")
	if err != nil {
		return s.relationError(err)
	}
	fields := rows.FieldDescriptions()
	var oids []uint32
	var mods []int32
	for _, f := range fields {
		s.cols = append(s.cols, pgColumn{name: f.Name})
		oids = append(oids, f.DataTypeOID)
		mods = append(mods, f.TypeModifier)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.relationError(err)
	}
	if len(s.cols) > 0 {
		// format_type with the type modifier names the column's type ("geometry(Point,4326)",
		// "numeric(14,2)"); without it, the type the cursor is cast to.
		full := make([]string, len(fields))
		base := make([]string, len(fields))
		for i := range fields {
			mod := "NULL"
			if mods[i] >= 0 {
				mod = strconv.Itoa(int(mods[i]))
			}
			oid := strconv.FormatUint(uint64(oids[i]), 10)
			full[i] = "format_type(" + oid + ", " + mod + ")"
			base[i] = "format_type(" + oid + ", NULL)"
		}
		var types, bases []string
		err := s.conn.QueryRow(ctx, "SELECT ARRAY["+strings.Join(full, ", ")+"], ARRAY["+strings.Join(base, ", ")+"]").Scan(&types, &bases)
		if err != nil {
			return fmt.Errorf("postgres source %s: cannot learn the column types of %s: %w", s.where, s.what, err)
		}
		for i := range s.cols {
			s.cols[i].typ = types[i]
			s.cols[i].base = bases[i]
		}
	}

	// The geometry column: the one named, or the first there is.
	if g := cfg.Option("geometry", ""); g != "" {
		s.geom = s.column(g)
		if s.geom == nil {
			return fmt.Errorf("postgres source: option geometry = %q: %s has no such column; it has %s", g, s.what, strings.Join(s.names(), ", "))
		}
		if !s.geom.isGeometry() {
			return fmt.Errorf("postgres source: option geometry = %q: the column is %s, not a PostGIS geometry or geography", g, s.geom.typ)
		}
	} else {
		for i := range s.cols {
			if s.cols[i].isGeometry() {
				s.geom = &s.cols[i]
				break
			}
		}
	}

	need := func(what, name string) (*pgColumn, error) {
		c := s.column(name)
		if c == nil {
			return nil, fmt.Errorf("postgres source: the %s %q is not a column of %s; it has %s", what, name, s.what, strings.Join(s.names(), ", "))
		}
		return c, nil
	}
	var key, mark, tomb *pgColumn
	if cfg.Key != "" {
		if key, err = need("key field", cfg.Key); err != nil {
			return err
		}
	}
	if cfg.Detect == Watermark {
		if mark, err = need("watermark field", cfg.WatermarkField); err != nil {
			return err
		}
	}
	if cfg.Tombstone != "" {
		if tomb, err = need("tombstone field", cfg.Tombstone); err != nil {
			return err
		}
		if cfg.Key == "" {
			return errors.New("postgres source: a tombstone field needs the source's key field, to say which items were deleted")
		}
	}

	// Properties: every column but the geometry, as JSON built by the server.
	var props []string
	for _, c := range s.cols {
		if s.geom != nil && c.name == s.geom.name {
			continue
		}
		props = append(props, "src."+pgx.Identifier{c.name}.Sanitize())
		s.keys = append(s.keys, c.name)
	}
	if len(cfg.Mapping) > 0 {
		s.keys = s.keys[:0]
		for f := range cfg.Mapping {
			s.keys = append(s.keys, f)
		}
		slices.Sort(s.keys)
	}
	ident := func(c *pgColumn) string { return "src." + pgx.Identifier{c.name}.Sanitize() }
	sel := []string{"to_jsonb(hub_props)::text"}
	if s.geom != nil {
		g := ident(s.geom)
		if s.geom.base == "geography" {
			g += "::geometry"
		}
		sel = append(sel, "ST_AsBinary(ST_Force2D("+g+"))", "ST_SRID("+g+")")
	} else {
		sel = append(sel, "NULL::bytea", "0")
	}
	if key != nil {
		sel = append(sel, ident(key)+"::text")
	} else {
		sel = append(sel, "NULL::text")
	}
	tombExpr := "false"
	if tomb != nil {
		if tomb.base == "boolean" {
			tombExpr = "coalesce(" + ident(tomb) + ", false)"
		} else {
			tombExpr = "coalesce(" + ident(tomb) + "::text::boolean, false)"
		}
	}
	sel = append(sel, tombExpr)
	from := " FROM " + s.from + " CROSS JOIN LATERAL (SELECT " + strings.Join(props, ", ") + ") AS hub_props"
	cond := ""
	if mark != nil && cfg.Cursor != "" {
		// The cursor is cast to the column's own type, so numbers compare as numbers and
		// times as times.
		cond = " WHERE " + ident(mark) + " > $1::text::" + mark.base
		s.args = []any{cfg.Cursor}
		var ok bool
		if err := s.conn.QueryRow(ctx, "SELECT $1::text::"+mark.base+" IS NOT NULL", cfg.Cursor).Scan(&ok); err != nil {
			return fmt.Errorf("postgres source: the cursor %q of the last run is not a valid %s for the watermark field %q (%v); clear the source's cursor to read everything again", cfg.Cursor, mark.typ, mark.name, err)
		}
	}
	s.sql = "SELECT " + strings.Join(sel, ", ") + from + cond
	if mark != nil {
		s.markSQL = "SELECT max(" + ident(mark) + ")::text FROM " + s.from + cond
	}

	// Check the select now, so that a bad setting fails the opening, not the reading.
	if rows, err := s.conn.Query(ctx, s.sql+" LIMIT 0", s.args...); err != nil {
		return s.relationError(err)
	} else {
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.relationError(err)
		}
	}

	if cfg.Detect == Watermark && deletions == "keys" {
		q := "SELECT " + ident(key) + "::text FROM " + s.from + " WHERE " + ident(key) + " IS NOT NULL"
		if tomb != nil {
			q += " AND NOT " + tombExpr
		}
		rows, err := s.conn.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("postgres source: cannot list the keys of %s: %w", s.what, err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres source: cannot list the keys of %s: %w", s.what, err)
		}
		if keys == nil {
			keys = []string{}
		}
		s.fetch.AllKeys = keys
	}
	return nil
}

// relationError explains a failure to read the table or query.
func (s *pgSource) relationError(err error) error {
	table := s.table
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "42P01", "3F000": // undefined table, undefined schema
			if table == "" {
				return fmt.Errorf("postgres source: option query: %s; fix the SELECT (%s)", pe.Message, s.where)
			}
			return fmt.Errorf("postgres source: option table = %q: %s (%s); give an existing table or view, schema-qualified if it is not in the search path", table, pe.Message, s.where)
		case "42501":
			return fmt.Errorf("postgres source: %s: %s; grant the user SELECT on it (%s)", s.what, pe.Message, s.where)
		case "42601", "42703", "42883", "42804", "22P02":
			if table == "" {
				return fmt.Errorf("postgres source: option query: %s; fix the SELECT (%s)", pe.Message, s.where)
			}
		}
		return fmt.Errorf("postgres source: cannot read %s (%s): %s (SQLSTATE %s)", s.what, s.where, pe.Message, pe.Code)
	}
	return fmt.Errorf("postgres source: cannot read %s (%s): %w", s.what, s.where, err)
}

// Read streams the rows through a cursor, page_size rows per fetch, in batches of 1000.
func (s *pgSource) Read(ctx context.Context, emit func([]ingest.Feature) error) error {
	err := s.read(ctx, emit)
	return pgScrub(err, s.secrets)
}

func (s *pgSource) read(ctx context.Context, emit func([]ingest.Feature) error) error {
	if s.closed {
		return errors.New("postgres source: read after close")
	}
	if s.declared {
		return errors.New("postgres source: the rows were read already")
	}
	s.declared = true
	if _, err := s.conn.Exec(ctx, "DECLARE hub_rows NO SCROLL CURSOR FOR "+s.sql, s.args...); err != nil {
		return s.relationError(err)
	}
	fetchSQL := "FETCH FORWARD " + strconv.Itoa(s.pageSize) + " FROM hub_rows"
	var (
		n      int64
		batch  []ingest.Feature
		pp     fastjson.Parser
		sridOK bool
	)
	mapping := s.cfg.Mapping
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := s.conn.Query(ctx, fetchSQL)
		if err != nil {
			return s.relationError(err)
		}
		got := 0
		for rows.Next() {
			got++
			var (
				props []byte
				wkb   []byte
				srid  *int32
				key   *string
				dead  bool
			)
			if err := rows.Scan(&props, &wkb, &srid, &key, &dead); err != nil {
				rows.Close()
				return fmt.Errorf("postgres source: reading %s: %w", s.what, err)
			}
			if dead {
				if key != nil {
					s.fetch.Deleted = append(s.fetch.Deleted, *key)
				}
				continue
			}
			n++
			f := ingest.Feature{N: n, Props: props}
			if len(mapping) > 0 {
				v, err := pp.ParseBytes(props)
				if err != nil {
					rows.Close()
					return fmt.Errorf("postgres source: row %d: the server's JSON cannot be parsed: %w", n, err)
				}
				f.Props = MapProps(v, mapping)
			}
			if wkb != nil {
				f.WKB = wkb
				r := 0
				if srid != nil {
					r = int(*srid)
				}
				switch {
				case !sridOK:
					s.srid, sridOK = r, true
				case r != s.srid:
					f.WKB = nil
					f.Problem = fmt.Sprintf("the geometry is in SRID %d, the rows before it in SRID %d; transform them to one (ST_Transform) in a query", r, s.srid)
					f.GeometryProblem = true
					if s.geom != nil {
						f.Column = s.geom.name
					}
				}
			}
			batch = append(batch, f)
			if len(batch) >= 1000 {
				b := batch
				batch = nil
				if err := emit(b); err != nil {
					rows.Close()
					return err
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.relationError(err)
		}
		if got < s.pageSize {
			break
		}
	}
	if len(batch) > 0 {
		if err := emit(batch); err != nil {
			return err
		}
	}
	if s.markSQL != "" {
		var mark *string
		if err := s.conn.QueryRow(ctx, s.markSQL, s.args...).Scan(&mark); err != nil {
			return fmt.Errorf("postgres source: cannot take the greatest %q of %s: %w", s.cfg.WatermarkField, s.what, err)
		}
		if mark != nil {
			s.fetch.Cursor = *mark
		}
	}
	return nil
}
