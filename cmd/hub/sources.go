package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/haiduong/hub/accessapi"
	"github.com/haiduong/hub/audit"
	"github.com/haiduong/hub/connect"
	"github.com/haiduong/hub/ingest"
	"github.com/haiduong/hub/sources"
)

const sourcesUsage = `hub sources add ID --entry E --collection C [--records] --connector TYPE --endpoint URL --key FIELD
                  [--option NAME=VALUE]... [--header 'Name=value']... [--secret VALUE] [--map FIELD=PATH]...
                  [--detect hash|watermark|feed] [--watermark FIELD] [--tombstone FIELD]
                  [--deletions delete|withdraw] [--srs EPSG:N] [--schedule 15m|'0 2 * * *']
                  [--time-limit 30m] [--attempts 3] [--title T]
hub sources list [--collection C] [--entry E]
hub sources show ID                     the source as JSON (credentials named, never shown)
hub sources run ID                      synchronise it now, in this process
hub sources pause ID | resume ID        stop or restart its schedule
hub sources remove ID                   remove it and its runs; the collection keeps its data
hub sources runs ID [--limit 20]        its latest runs

A source keeps a collection in step with an agency's system. Header values and the secret are
given in clear — stored encrypted under HUB_SECRET_KEY — or as env:HUB_SOURCE_NAME, read from the
hub's environment at each run and never stored (prefer it: a clear value stays in the shell's
history and shows in the process list; "--secret -" reads the secret from standard input instead). "add" on an existing ID replaces its definition; its runs, cursor and paused state
stay. Flags may come before or after the ID and may be repeated where shown.
`

// sourcesHelp is the usage with the connector types there are.
func sourcesHelp() string {
	var b strings.Builder
	b.WriteString(sourcesUsage)
	b.WriteString("\nConnectors (--connector):\n")
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	for _, t := range connect.Types() {
		c, _ := connect.Get(t)
		fmt.Fprintf(tw, "  %s\t%s\n", t, c.Describe())
	}
	tw.Flush()
	b.WriteString("\n")
	return b.String()
}

// sourcesCmd defines, lists, runs and removes sources.
func sourcesCmd(ctx context.Context, args []string, stdout io.Writer) error {
	var entry, collection, connector, endpoint, secret, key, detect, watermark, tombstone, deletions, srs, schedule, title *string
	var timeLimit *time.Duration
	var attempts, limit *int
	var records *bool
	var options, headers, mapping repeated
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, sourcesHelp())
		return nil
	}
	verb, pool, fs, err := subcommand(ctx, "sources", sourcesHelp(), args, func(fs *flag.FlagSet) {
		entry = fs.String("entry", "", "add: the catalogue entry the collection belongs to")
		collection = fs.String("collection", "", "add: the collection the source feeds; list: only its sources")
		records = fs.Bool("records", false, "add: the collection holds records (no geometry)")
		connector = fs.String("connector", "", "add: the connector type (see below)")
		endpoint = fs.String("endpoint", "", "add: the source's URL or connection string")
		fs.Var(&options, "option", "add: NAME=VALUE, a connector option; repeatable")
		fs.Var(&headers, "header", "add: 'Name=value', sent with every request, value in clear or env:NAME; repeatable")
		secret = fs.String("secret", "", "add: a credential outside headers (a database password), in clear or env:NAME")
		fs.Var(&mapping, "map", "add: FIELD=PATH, a collection field read from a source path; repeatable")
		key = fs.String("key", "", "add: the source field identifying an item (before mapping)")
		detect = fs.String("detect", "", "add: change detection, hash (default), watermark or feed")
		watermark = fs.String("watermark", "", "add: the field that grows with every change (detect watermark)")
		tombstone = fs.String("tombstone", "", "add: a boolean field marking deleted items (detect watermark)")
		deletions = fs.String("deletions", "", "add: what happens to items gone at the source, delete (default) or withdraw")
		srs = fs.String("srs", "", "add: the coordinate system when the source does not say (EPSG:N)")
		schedule = fs.String("schedule", "", "add: when it runs, an interval (15m, 6h) or a cron expression ('0 2 * * *'); default: only when asked")
		timeLimit = fs.Duration("time-limit", 0, "add: a run's time limit (default 30m)")
		attempts = fs.Int("attempts", 0, "add: attempts of a failing scheduled run (default 3)")
		title = fs.String("title", "", "add: the collection's title")
		limit = fs.Int("limit", 20, "runs: how many (at most 500)")
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	// "add ID --entry E": the flag package stops at the ID; read what follows it too.
	var ids []string
	for fs.NArg() > 0 {
		ids = append(ids, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if verb == "list" {
		if len(ids) > 0 {
			return fmt.Errorf("hub sources list: unexpected %q (filter with --collection or --entry)", ids[0])
		}
		return listSources(ctx, pool, stdout, *collection, *entry)
	}
	switch verb {
	case "add", "show", "run", "pause", "resume", "remove", "runs":
	default:
		return fmt.Errorf("hub sources %s: use add, list, show, run, pause, resume, remove or runs", verb)
	}
	if len(ids) != 1 {
		return fmt.Errorf("hub sources %s ID: give one source id (hub sources list shows them)", verb)
	}
	id := ids[0]
	resource := "/admin/sources/" + id
	if verb == "add" {
		s := &sources.Source{ID: id, Entry: *entry, Collection: *collection, Title: *title, Connector: *connector,
			Endpoint: *endpoint, Key: *key, Detect: *detect, WatermarkField: *watermark, Tombstone: *tombstone,
			Deletions: *deletions, Schedule: *schedule, TimeLimit: sources.Duration(*timeLimit), MaxAttempts: *attempts}
		if err := defineSource(s, *records, options, headers, mapping, *secret, *srs); err != nil {
			return err
		}
		return addSource(ctx, pool, stdout, s)
	}
	src, err := sources.Get(ctx, pool, id)
	if errors.Is(err, sources.ErrNotFound) {
		return fmt.Errorf("không có nguồn dữ liệu %s — no source %q; hub sources list shows them", id, id)
	}
	if err != nil {
		return err
	}
	switch verb {
	case "show":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(src.Public())
	case "run":
		return runSource(ctx, pool, stdout, src)
	case "pause", "resume":
		paused := verb == "pause"
		err := logged(ctx, pool, func() (audit.Record, error) {
			return accessapi.ActionRecord(operator, "sources."+verb, resource+"/"+verb), sources.SetPaused(ctx, pool, id, paused)
		}, nil)
		if err != nil {
			return err
		}
		if paused {
			fmt.Fprintf(stdout, "Đã tạm dừng nguồn %s; lịch chạy ngừng lại — source %s paused; its schedule stops\n", id, id)
		} else {
			fmt.Fprintf(stdout, "Đã cho chạy lại nguồn %s — source %s resumed\n", id, id)
		}
		return nil
	case "remove":
		err := logged(ctx, pool, func() (audit.Record, error) {
			return accessapi.ActionRecord(operator, "sources.delete", resource), sources.Delete(ctx, pool, id)
		}, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Đã xóa nguồn %s; lớp %s vẫn giữ dữ liệu — source %s removed; collection %s keeps its data\n",
			id, src.Collection, id, src.Collection)
		return nil
	case "runs":
		if *limit < 1 || *limit > 500 {
			return fmt.Errorf("--limit %d: give a number from 1 to 500", *limit)
		}
		runs, err := sources.Runs(ctx, pool, id, *limit)
		if err != nil {
			return err
		}
		return printRuns(stdout, runs)
	}
	return nil
}

// defineSource fills what the flags give beyond plain strings: the item type, options,
// sealed credentials, the mapping and the coordinate system. Messages name a header, never
// its value.
func defineSource(s *sources.Source, records bool, options, headers, mapping []string, secret, srs string) error {
	if records {
		s.ItemType = "record"
	}
	pairs := func(flagName string, list []string, sep string) (map[string]string, error) {
		m := map[string]string{}
		for _, kv := range list {
			k, v, ok := strings.Cut(kv, sep)
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("--%s %q: write NAME%sVALUE", flagName, kv, sep)
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("--%s %s is given twice", flagName, k)
			}
			m[k] = v
		}
		return m, nil
	}
	var err error
	if s.Options, err = pairs("option", options, "="); err != nil {
		return err
	}
	// A file read as records has no coordinate columns to find: the file connector is told.
	if records && s.Connector == "file" && s.Options["records"] == "" {
		s.Options["records"] = "true"
	}
	if s.Mapping, err = pairs("map", mapping, "="); err != nil {
		return err
	}
	s.Headers = map[string]string{}
	for _, h := range headers {
		// 'Name=value' or 'Name: value': a header's name holds neither sign.
		i := strings.IndexAny(h, "=:")
		if i <= 0 {
			return errors.New("--header: write 'Name=value' (the value in clear or as env:NAME)")
		}
		name := http.CanonicalHeaderKey(strings.TrimSpace(h[:i]))
		value := strings.TrimSpace(h[i+1:])
		if _, dup := s.Headers[name]; dup {
			return fmt.Errorf("--header %s is given twice", name)
		}
		if s.Headers[name], err = sources.Seal(value); err != nil {
			return fmt.Errorf("--header %s: %w", name, err)
		}
	}
	if secret == "-" { // from standard input: out of the shell's history and the process list
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("--secret -: nothing on standard input")
		}
		secret = strings.TrimRight(line, "\r\n")
	}
	if secret != "" {
		if s.Secret, err = sources.Seal(secret); err != nil {
			return fmt.Errorf("--secret: %w", err)
		}
	}
	if srs != "" {
		if s.SRID, err = parseSRS(srs); err != nil {
			return err
		}
	}
	return nil
}

// addSource stores a source, or replaces the definition of one by that id (its paused state
// kept), and writes the audit record.
func addSource(ctx context.Context, pool *pgxpool.Pool, stdout io.Writer, s *sources.Source) error {
	old, err := sources.Get(ctx, pool, s.ID)
	switch {
	case err == nil:
		s.Paused = old.Paused
	case !errors.Is(err, sources.ErrNotFound):
		return err
	}
	if err := s.Check(); err != nil {
		return fmt.Errorf("nguồn dữ liệu không hợp lệ — invalid source: %w", err)
	}
	err = logged(ctx, pool, func() (audit.Record, error) {
		return accessapi.ActionRecord(operator, "sources.add", "/admin/sources/"+s.ID), sources.Save(ctx, pool, s)
	}, nil)
	if err != nil {
		return err
	}
	schedule := "chỉ khi được yêu cầu — only when asked (hub sources run " + s.ID + ")"
	if s.Schedule != "" {
		schedule = s.Schedule
	}
	if old != nil {
		fmt.Fprintf(stdout, "Đã thay định nghĩa nguồn %s — source %s replaced", s.ID, s.ID)
	} else {
		fmt.Fprintf(stdout, "Đã thêm nguồn %s — source %s added", s.ID, s.ID)
	}
	fmt.Fprintf(stdout, ": %s → %s (%s, %s); lịch — schedule: %s\n", s.Connector, s.Collection, s.ItemType, s.Detect, schedule)
	return nil
}

func listSources(ctx context.Context, pool *pgxpool.Pool, stdout io.Writer, collection, entry string) error {
	list, err := sources.List(ctx, pool, collection, entry)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOLLECTION\tCONNECTOR\tDETECT\tSCHEDULE\tPAUSED\tLAST RUN\tLAST SUCCESS\tREAD\tNEW\tCHANGED\tGONE\tSAME\tREJECTED")
	for _, s := range list {
		sched, paused, status, success := or(s.Schedule, "-"), "-", "-", "-"
		if s.Paused {
			paused = "paused"
		}
		if s.LastSuccessAt != nil {
			success = stamp(*s.LastSuccessAt)
		}
		counts := "-\t-\t-\t-\t-\t-"
		if r := s.LastRun; r != nil {
			status = r.Status + " " + stamp(r.Started)
			counts = fmt.Sprintf("%d\t%d\t%d\t%d\t%d\t%d", r.Read, r.Inserted, r.Updated, r.Deleted, r.Unchanged, r.Rejected)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Collection, s.Connector, s.Detect, sched, paused, status, success, counts)
	}
	return tw.Flush()
}

// statusVI names a run's status in Vietnamese.
var statusVI = map[string]string{
	"running": "đang chạy", "succeeded": "đã cập nhật", "unchanged": "không thay đổi", "failed": "thất bại",
	"timed out": "quá thời hạn", "interrupted": "bị gián đoạn",
}

// runSource synchronises a source in this process and says what the run did; a run that
// failed is an error (the command exits non-zero).
func runSource(ctx context.Context, pool *pgxpool.Pool, stdout io.Writer, src *sources.Source) error {
	var run *sources.Run
	err := logged(ctx, pool, func() (audit.Record, error) {
		var err error
		run, err = sources.Sync(ctx, pool, src.ID, sources.RunOptions{Trigger: "manual"})
		return accessapi.ActionRecord(operator, "sources.run", "/admin/sources/"+src.ID+"/run"), err
	}, nil)
	if run == nil {
		if errors.Is(err, sources.ErrRunning) {
			return fmt.Errorf("nguồn %s đang được đồng bộ ở nơi khác; thử lại sau — %w; try again later", src.ID, err)
		}
		return err
	}
	took := ""
	if run.Finished != nil {
		took = fmt.Sprintf(", %s", run.Finished.Sub(run.Started).Round(10*time.Millisecond))
	}
	fmt.Fprintf(stdout, "nguồn %s: %s — source %s: %s (lần chạy — run %d%s)\n", src.ID, statusVI[run.Status], src.ID, run.Status, run.ID, took)
	fmt.Fprintf(stdout, "  đọc %d, thêm %d, sửa %d, xóa %d, không đổi %d, bị loại %d — read %d, inserted %d, updated %d, deleted %d, unchanged %d, rejected %d\n",
		run.Read, run.Inserted, run.Updated, run.Deleted, run.Unchanged, run.Rejected,
		run.Read, run.Inserted, run.Updated, run.Deleted, run.Unchanged, run.Rejected)
	if run.DataVersion != nil {
		fmt.Fprintf(stdout, "  phiên bản dữ liệu %d — data version %d\n", *run.DataVersion, *run.DataVersion)
	}
	const shown = 10
	for i, p := range run.Rejects {
		if i == shown {
			break
		}
		fmt.Fprintf(stdout, "  bị loại — rejected: %s\n", describeReject(p, src.ItemType == "record"))
	}
	if more := run.Rejected - int64(min(len(run.Rejects), shown)); more > 0 {
		fmt.Fprintf(stdout, "  … và %d mục bị loại khác — and %d more rejected (GET /admin/sources/%s/runs/%d/rejects)\n", more, more, src.ID, run.ID)
	}
	if err != nil {
		vi := statusVI[run.Status]
		if vi == "" {
			vi = run.Status
		}
		return fmt.Errorf("đồng bộ nguồn %s %s — source %s run %d %s: %s", src.ID, vi, src.ID, run.ID, run.Status, run.Error)
	}
	return nil
}

// describeReject words a refused item in Vietnamese, then English ("dòng 4, cột von — row
// 4, column von: …").
func describeReject(p ingest.Problem, records bool) string {
	itemVI, fieldVI, item, field := "đối tượng", "trường", "feature", "field"
	if records {
		itemVI, fieldVI, item, field = "dòng", "cột", "row", "column"
	}
	var vi, en []string
	if p.Feature > 0 {
		vi, en = append(vi, fmt.Sprintf("%s %d", itemVI, p.Feature)), append(en, fmt.Sprintf("%s %d", item, p.Feature))
	}
	if p.Field != "" {
		vi, en = append(vi, fieldVI+" "+p.Field), append(en, field+" "+p.Field)
	}
	if len(vi) == 0 {
		return p.Reason
	}
	return strings.Join(vi, ", ") + " — " + strings.Join(en, ", ") + ": " + p.Reason
}

func printRuns(stdout io.Writer, runs []sources.Run) error {
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tTRIGGER\tATTEMPT\tSTATUS\tTOOK\tREAD\tNEW\tCHANGED\tGONE\tSAME\tREJECTED\tVERSION\tERROR")
	for _, r := range runs {
		took, version := "-", "-"
		if r.Finished != nil {
			took = r.Finished.Sub(r.Started).Round(10 * time.Millisecond).String()
		}
		if r.DataVersion != nil {
			version = fmt.Sprint(*r.DataVersion)
		}
		msg := strings.Join(strings.Fields(r.Error), " ")
		if rs := []rune(msg); len(rs) > 100 {
			msg = string(rs[:99]) + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.ID, stamp(r.Started), r.Trigger, r.Attempt,
			r.Status, took, r.Read, r.Inserted, r.Updated, r.Deleted, r.Unchanged, r.Rejected, version, or(msg, "-"))
	}
	return tw.Flush()
}

func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
