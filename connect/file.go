package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fastjson"

	"github.com/haiduong/hub/ingest"
)

func init() { Register("file", fileConnector{}) }

// fileConnector downloads a file by URL and reads it whole with the ingest readers: CSV,
// GeoJSON, newline-delimited GeoJSON, zipped Shapefile, GeoPackage, XLSX. The format comes
// from option format, else the URL path's extension, else the answer's file name or content
// type. Options:
//
//	format    csv|geojson|ndjson|zip|gpkg|xlsx, when the URL does not end in one
//	layer     GeoPackage layer or XLSX sheet
//	encoding  text encoding of a CSV file or of a Shapefile's DBF without a .cpg
//	srs       the coordinate system (EPSG code) when the file does not say it
//	records   true for a record collection (no geometry)
//	lon, lat  CSV coordinate columns; wkt: CSV WKT column
//
// A file is a snapshot: every run reads all of it (detect = hash). The ETag or Last-Modified
// of the answer is kept as the validator, so an unchanged file is not downloaded again. The
// source's headers are sent to the endpoint's host only, not on a redirect to another one.
type fileConnector struct{}

func (fileConnector) Describe() string {
	return "file by URL (CSV, GeoJSON, newline GeoJSON, zipped Shapefile, GeoPackage, XLSX), read whole; options: format, layer, encoding, srs, records, lon, lat, wkt"
}

// fileFormats maps the format option to the extension ingest.Open reads.
var fileFormats = map[string]string{
	"csv": ".csv", "tsv": ".tsv",
	"geojson": ".geojson", "json": ".json",
	"ndjson": ".ndjson", "geojsonl": ".ndjson", "geojsonseq": ".ndjson", "jsonl": ".ndjson",
	"zip": ".zip", "shapefile": ".zip", "shp": ".zip",
	"gpkg": ".gpkg", "geopackage": ".gpkg",
	"xlsx": ".xlsx", "xlsm": ".xlsm",
}

// fileExtensions are the extensions a downloaded file may have.
var fileExtensions = []string{".csv", ".tsv", ".geojson", ".json", ".ndjson", ".geojsonl", ".geojsons", ".geojsonseq", ".jsonl", ".zip", ".gpkg", ".xlsx", ".xlsm"}

// fileTypes maps content types to extensions, the last resort.
var fileTypes = map[string]string{
	"text/csv":                       ".csv",
	"application/csv":                ".csv",
	"text/tab-separated-values":      ".tsv",
	"application/geo+json":           ".geojson",
	"application/json":               ".json",
	"application/geo+json-seq":       ".ndjson",
	"application/x-ndjson":           ".ndjson",
	"application/zip":                ".zip",
	"application/x-zip-compressed":   ".zip",
	"application/geopackage+sqlite3": ".gpkg",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}

func (fileConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	switch cfg.Detect {
	case "", Hash:
	case Watermark:
		return nil, errors.New("file source: a file is read whole every time, it has no watermark; use detect = hash")
	case Feed:
		return nil, errors.New("file source: a file has no change feed; use detect = hash")
	default:
		return nil, fmt.Errorf("file source: unknown detection %q; use hash", cfg.Detect)
	}
	cfg.Endpoint = strings.TrimSpace(cfg.Endpoint)
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("file source: the endpoint %q is not an http(s) URL of a file", cfg.redact(cfg.Endpoint))
	}
	name := cfg.redact(u.String())

	ext := ""
	if f := strings.ToLower(cfg.Option("format", "")); f != "" {
		e, ok := fileFormats[f]
		if !ok {
			return nil, fmt.Errorf("file source: option format = %q: use csv, geojson, ndjson, zip (zipped Shapefile), gpkg or xlsx", f)
		}
		ext = e
	} else {
		e := strings.ToLower(path.Ext(u.Path))
		if slices.Contains(fileExtensions, e) {
			ext = e
		} else if e == ".shp" {
			return nil, fmt.Errorf("file source: %s is a bare .shp; a Shapefile by URL must be zipped with its .shx, .dbf and .prj (a .zip)", name)
		} else if e == ".xls" || e == ".ods" {
			return nil, fmt.Errorf("file source: %s: %s spreadsheets cannot be read; publish the sheet as .xlsx or .csv", name, e)
		}
	}
	opt, err := fileOptions(&cfg)
	if err != nil {
		return nil, err
	}

	req, err := cfg.newRequest(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("file source: %s: %v", name, err)
	}
	if kind, value, ok := strings.Cut(cfg.Validator, ":"); ok && value != "" {
		switch kind {
		case "etag":
			req.Header.Set("If-None-Match", value)
		case "modified":
			req.Header.Set("If-Modified-Since", value)
		}
	}
	resp, err := cfg.HTTPClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("file source: cannot download %s: %s", name, cfg.transportError(err, u.String()))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return nil, ErrNotModified
	}
	if resp.StatusCode/100 != 2 {
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			hint = "; check the source's headers (its authorisation)"
		case http.StatusNotFound, http.StatusGone:
			hint = "; check the URL"
		}
		return nil, fmt.Errorf("file source: GET %s: %s%s", name, resp.Status, hint)
	}
	if ext == "" {
		ext = fileAnswerExt(resp)
	}
	if ext == "" {
		return nil, fmt.Errorf("file source: cannot tell the format of %s from its URL or its content type %q; set option format = csv|geojson|ndjson|zip|gpkg|xlsx", name, resp.Header.Get("Content-Type"))
	}

	tmp, err := os.CreateTemp("", "hub-source-*"+ext)
	if err != nil {
		return nil, fmt.Errorf("file source: cannot make a temporary file for %s: %w", name, err)
	}
	tmpPath := tmp.Name()
	_, err = io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmpPath)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("file source: downloading %s: %s", name, cfg.transportError(err, u.String()))
	}
	src, err := ingest.Open(tmpPath, opt)
	if err != nil {
		os.Remove(tmpPath)
		return nil, errors.New("file source: " + cfg.scrub(fileNames(err.Error(), tmpPath, name)))
	}
	fs := &fileSource{Source: src, path: tmpPath, name: name, mapping: cfg.Mapping}
	f := &Fetch{Source: fs, Complete: true}
	if etag := resp.Header.Get("ETag"); etag != "" {
		f.Validator = "etag:" + etag
	} else if lm := resp.Header.Get("Last-Modified"); lm != "" {
		f.Validator = "modified:" + lm
	}
	return f, nil
}

// fileOptions turns the connector's options into the readers' ones.
func fileOptions(cfg *Config) (ingest.OpenOptions, error) {
	opt := ingest.OpenOptions{
		Layer:     cfg.Option("layer", ""),
		Encoding:  cfg.Option("encoding", ""),
		LonColumn: cfg.Option("lon", ""),
		LatColumn: cfg.Option("lat", ""),
		WKTColumn: cfg.Option("wkt", ""),
	}
	if s := cfg.Option("srs", ""); s != "" {
		code := strings.TrimSpace(s)
		if i := strings.LastIndexByte(code, ':'); i >= 0 && strings.EqualFold(strings.TrimSpace(code[:i]), "epsg") {
			code = strings.TrimSpace(code[i+1:])
		}
		n, err := strconv.Atoi(code)
		if err != nil || n <= 0 {
			return opt, fmt.Errorf("file source: option srs = %q: give an EPSG code such as 4326 or EPSG:9209", s)
		}
		opt.SRID = n
	}
	if s := cfg.Option("records", ""); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return opt, fmt.Errorf("file source: option records = %q: use true or false", s)
		}
		opt.Records = b
	}
	if (opt.LonColumn == "") != (opt.LatColumn == "") {
		return opt, errors.New("file source: options lon and lat go together; give both coordinate columns")
	}
	return opt, nil
}

// fileAnswerExt is the extension of the answer's file name, or the one its content type
// calls for.
func fileAnswerExt(resp *http.Response) string {
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			if e := strings.ToLower(path.Ext(params["filename"])); slices.Contains(fileExtensions, e) {
				return e
			}
		}
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		return fileTypes[mt]
	}
	return ""
}

// fileNames puts the URL in place of the temporary file in a reader's message, also where
// it names the file without its folder or extension (a Shapefile's set).
func fileNames(msg, tmpPath, name string) string {
	msg = strings.ReplaceAll(msg, tmpPath, name)
	base := filepath.Base(tmpPath)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	msg = strings.ReplaceAll(msg, filepath.Dir(tmpPath)+string(filepath.Separator)+stem, name)
	file := name
	if i := strings.IndexAny(file, "?#"); i >= 0 {
		file = file[:i]
	}
	return strings.ReplaceAll(msg, stem, path.Base(strings.TrimSuffix(file, path.Ext(file))))
}

// fileSource is a downloaded file being read: it maps properties, names the URL rather than
// the temporary file in messages and removes the file on Close.
type fileSource struct {
	ingest.Source
	path    string
	name    string
	mapping map[string]string
	parsers fastjson.ParserPool
	closed  bool
}

func (s *fileSource) Read(ctx context.Context, emit func([]ingest.Feature) error) error {
	var emitErr error
	var mu sync.Mutex
	// emit may be called from several goroutines at once: each call takes its own parser.
	next := func(batch []ingest.Feature) error {
		if len(s.mapping) > 0 {
			p := s.parsers.Get()
			for i := range batch {
				if len(batch[i].Props) == 0 {
					continue
				}
				if v, err := p.ParseBytes(batch[i].Props); err == nil {
					batch[i].Props = MapProps(v, s.mapping)
				}
			}
			s.parsers.Put(p)
		}
		err := emit(batch)
		if err != nil {
			mu.Lock()
			emitErr = err
			mu.Unlock()
		}
		return err
	}
	err := s.Source.Read(ctx, next)
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	mu.Lock()
	fromEmit := emitErr != nil && errors.Is(err, emitErr)
	mu.Unlock()
	if fromEmit {
		return err
	}
	// The reader's own error: name the URL, not the temporary file.
	if msg := fileNames(err.Error(), s.path, s.name); msg != err.Error() {
		return errors.New("file source: " + msg)
	}
	return fmt.Errorf("file source: %s: %w", s.name, err)
}

// Keys are the mapped fields when there is a mapping, else the file's own.
func (s *fileSource) Keys() []string {
	if len(s.mapping) == 0 {
		return s.Source.Keys()
	}
	keys := make([]string, 0, len(s.mapping))
	for f := range s.mapping {
		keys = append(keys, f)
	}
	slices.Sort(keys)
	return keys
}

func (s *fileSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.Source.Close()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}
