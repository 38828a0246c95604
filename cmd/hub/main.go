// Command hub is the shared data hub: one binary for serving, migrating and loading data.
// This file only wires configuration, the database pool and the packages together.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/auth/oidc"
	"github.com/haiduong/hub/database"
	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/migrations"
	"github.com/haiduong/hub/policy"
	"github.com/haiduong/hub/server"
	"github.com/haiduong/hub/sources"
	"github.com/haiduong/hub/tiles"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise the VCS stamp is used.
var version = ""

const usage = `hub — kho dữ liệu dùng chung Hải Dương (shared data hub)

Usage:
  hub serve   [--addr 127.0.0.1:8080] [--database-url URL]   serve HTTP until SIGINT/SIGTERM
  hub migrate [--database-url URL]                          apply the embedded SQL migrations
  hub import  --collection ID [options] FILE                load a file into a collection (hub import -h)
  hub sample  [--parcels N] [--residents N] [--seed S]      build the demo warehouse (real + generated layers and records)
  hub tiles seed --collections a,b --zoom 10-14 [--url URL]   pre-build tiles
  hub tiles purge                                           empty every tile cache
  hub audit verify [--database-url URL]                     check the access log's hash chain
  hub agencies list | add --id ID --name N | app --agency A --id ID --name N   agencies, applications
  hub keys create --agency A [--application P] [--expires 90d] | list | revoke ID   API keys
  hub requests list | submit | agree | approve | refuse | revoke | grants   access requests, agreements
  hub layers policy --collection ID [--category C] [--field NAME=C] [--personal NAME]   sharing policy (hub layers policy -h)
  hub sources add ID --entry E --collection C --connector T --endpoint URL --key K [...]   define a source system (hub sources -h)
  hub sources list [--collection C] [--entry E]             sources with their last runs
  hub sources show ID                                       a source's definition (credentials never shown)
  hub sources run ID                                        synchronise a source now, in this process
  hub sources pause ID                                      stop a source's schedule
  hub sources resume ID                                     restart a source's schedule
  hub sources remove ID                                     remove a source (its collection keeps its data)
  hub sources runs ID [--limit N]                           a source's latest runs
  hub version                                               print the version

Environment:
  HUB_DATABASE_URL  libpq URL of the database (default ` + database.DefaultURL + `)
  HUB_ADDR          address to listen on (default 127.0.0.1:8080)
  HUB_ADMIN_TOKEN   bearer token allowed to edit the catalogue (unset: editing disabled)
  HUB_LOG_FORMAT    json (default) or text
  HUB_TILE_CACHE_MB in-process tile cache size (default 256; 0 disables it)
  HUB_REDIS_URL     redis://host:port/db: a tile cache shared by several hub processes (optional)
  HUB_OIDC_ISSUER   the province's identity provider: its bearer tokens are accepted (optional)
  HUB_OIDC_AUDIENCE the client id such tokens must be issued for (with HUB_OIDC_ISSUER)
  HUB_RATE_LIMIT    requests per second and burst of each API key or token, "rps:burst" (default 200:400; 0: unlimited)
  HUB_ANON_RATE_LIMIT  the same for each address without a credential (default 50:200; 0: unlimited)
  HUB_CORS_ORIGINS  origins whose pages may call the hub, comma-separated, or * (default *; none: same origin only)
  HUB_SYNC_WORKERS  concurrent source synchronisations this process runs (default 2; 0: leave them to other processes)
  HUB_SECRET_KEY    the key sources' stored credentials are encrypted with (needed to store one in clear form)
`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	setupLogging()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stdout)
	case "migrate":
		return migrate(ctx, rest, stdout)
	case "import":
		return importCmd(ctx, rest, stdout)
	case "sample":
		return sampleCmd(ctx, rest, stdout)
	case "tiles":
		return tilesCmd(ctx, rest, stdout)
	case "audit":
		return auditCmd(ctx, rest, stdout)
	case "agencies":
		return agenciesCmd(ctx, rest, stdout)
	case "keys":
		return keysCmd(ctx, rest, stdout)
	case "requests":
		return requestsCmd(ctx, rest, stdout)
	case "layers":
		return layersCmd(ctx, rest, stdout)
	case "sources":
		return sourcesCmd(ctx, rest, stdout)
	case "version":
		fmt.Fprintln(stdout, "hub", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func setupLogging() {
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if os.Getenv("HUB_LOG_FORMAT") == "text" {
		h = slog.NewTextHandler(os.Stderr, nil)
	}
	slog.SetDefault(slog.New(h))
}

// subcommand starts a "hub NAME VERB [flags]" command: it checks a verb is given (else prints
// usage), lets define add the command's flags, parses them and opens the migrated database,
// which the caller closes.
func subcommand(ctx context.Context, name, usage string, args []string, define func(*flag.FlagSet)) (string, *pgxpool.Pool, *flag.FlagSet, error) {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return "", nil, nil, fmt.Errorf("hub %s: say what to do", name)
	}
	fs, dbURL := flags(name + " " + args[0])
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	define(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return "", nil, nil, err
	}
	pool, err := openMigrated(ctx, *dbURL)
	return args[0], pool, fs, err
}

// flags returns a flag set with the options every database command shares.
func flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("hub "+name, flag.ContinueOnError)
	dbURL := fs.String("database-url", database.URLFromEnv(), "libpq URL of the database (HUB_DATABASE_URL)")
	return fs, dbURL
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, dbURL := flags("migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := database.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := migrations.Up(ctx, pool)
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s\n", m.Source)
	}
	if err != nil {
		return err
	}
	v, _, err := migrations.Version(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at migration %d\n", database.Redact(*dbURL), v)
	return nil
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs, dbURL := flags("serve")
	addr := fs.String("addr", envOr("HUB_ADDR", "127.0.0.1:8080"), "address to listen on (HUB_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	cfg := server.Config{Version: buildVersion(), TileCacheBytes: 256 << 20}
	if mb := os.Getenv("HUB_TILE_CACHE_MB"); mb != "" {
		n, err := strconv.Atoi(mb)
		if err != nil || n < 0 {
			return fmt.Errorf("HUB_TILE_CACHE_MB=%q: give a number of megabytes (0 disables the cache)", mb)
		}
		cfg.TileCacheBytes = n << 20
	}
	if tok := os.Getenv("HUB_ADMIN_TOKEN"); tok != "" {
		sum := sha256.Sum256([]byte(tok))
		cfg.AdminTokenSHA256 = sum[:]
	}
	// A map view asks for 20-40 tiles at once, so bursts are well above the steady rates.
	if cfg.RateLimit.PerSecond, cfg.RateLimit.Burst, err = rateFromEnv("HUB_RATE_LIMIT", "200:400"); err != nil {
		return err
	}
	if cfg.RateLimit.AnonymousPerSecond, cfg.RateLimit.AnonymousBurst, err = rateFromEnv("HUB_ANON_RATE_LIMIT", "50:200"); err != nil {
		return err
	}
	if cfg.CORSOrigins, err = corsFromEnv(); err != nil {
		return err
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		return err
	}
	go reg.Listen(ctx) // every hub process follows imports made by any other
	shared, err := openShared(ctx)
	if err != nil {
		return err
	}
	if shared != nil {
		defer shared.Close()
	}
	cfg.Tiles = tiles.NewService(reg, pool, cfg.TileCacheBytes, shared)
	go cfg.Tiles.Listen(ctx, pool)  // "hub tiles purge" empties every process's cache
	var tokens access.TokenVerifier // the province's identity provider, when configured
	switch v, err := oidc.NewFromEnv(ctx); {
	case errors.Is(err, oidc.ErrNotConfigured):
	case err != nil:
		return err
	default:
		tokens = v
	}
	cfg.Auth = access.NewAuthenticator(pool, tokens)
	go cfg.Auth.Listen(ctx) // a revoked key stops working in every process at once
	cfg.Policy = policy.NewDecider(pool)
	go cfg.Policy.Listen(ctx) // an approval or revocation takes effect in every process at once
	cfg.Audit = audit.New(pool, audit.Options{})
	if err := cfg.Audit.Start(ctx); err != nil {
		return err
	}
	defer cfg.Audit.Close() // after Shutdown: the last requests' records are written
	// The sources' schedules and retries: every hub process works the queue unless told not
	// to (HUB_SYNC_WORKERS=0 leaves it to others).
	workers, err := strconv.Atoi(envOr("HUB_SYNC_WORKERS", "2"))
	if err != nil || workers < 0 {
		return fmt.Errorf("HUB_SYNC_WORKERS=%q: give a number of concurrent source runs (0: none in this process)", os.Getenv("HUB_SYNC_WORKERS"))
	}
	if cfg.Jobs, err = sources.NewJobs(pool, sources.JobOptions{Workers: workers, InsertOnly: workers == 0}); err != nil {
		return err
	}
	if workers > 0 {
		if err := cfg.Jobs.Client.Start(ctx); err != nil {
			return fmt.Errorf("job queue: %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = cfg.Jobs.Client.Stop(stopCtx) // a run under way finishes or, past 30 s, is cancelled and rolled back
		}()
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           server.New(pool, reg, cfg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	// Give ListenAndServe a moment to fail on a taken port before announcing the address.
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", *addr, err)
	case <-time.After(100 * time.Millisecond):
	}
	fmt.Fprintf(stdout, "hub %s serving on http://%s\n", buildVersion(), *addr)
	slog.Info("serving", "addr", *addr, "database", database.Redact(*dbURL))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	slog.Info("stopped")
	return nil
}

// openMigrated opens the database and refuses one whose schema is behind this binary's.
func openMigrated(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pool, err := database.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := checkMigrated(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// checkMigrated refuses to serve a database that is behind this binary's schema.
func checkMigrated(ctx context.Context, pool *pgxpool.Pool) error {
	applied, embedded, err := migrations.Version(ctx, pool)
	if err != nil {
		return err
	}
	if applied < embedded {
		return fmt.Errorf("the database schema is at migration %d but this hub needs %d: run \"hub migrate\" first", applied, embedded)
	}
	return nil
}

// rateFromEnv reads "rps:burst" (or "0": unlimited) from the environment variable name.
func rateFromEnv(name, def string) (float64, int, error) {
	v := envOr(name, def)
	if v == "0" || v == "off" {
		return 0, 0, nil
	}
	r, b, ok := strings.Cut(v, ":")
	rate, err1 := strconv.ParseFloat(r, 64)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || math.IsInf(rate, 0) || burst < 1 {
		return 0, 0, fmt.Errorf("%s=%q: give requests per second and burst as rps:burst (e.g. %s), or 0 for no limit", name, v, def)
	}
	return rate, burst, nil
}

// corsFromEnv reads HUB_CORS_ORIGINS: "*" (the default: map clients anywhere; credentials go
// in headers, never cookies), "none", or origins such as https://gis.haiduong.gov.vn.
func corsFromEnv() ([]string, error) {
	v := envOr("HUB_CORS_ORIGINS", "*")
	if v == "none" {
		return nil, nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "") {
			return nil, fmt.Errorf("HUB_CORS_ORIGINS: %q is not an origin; give scheme://host[:port] such as https://gis.haiduong.gov.vn, * or none", o)
		}
		out = append(out, o)
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
