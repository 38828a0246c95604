package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/haiduong/hub/ingest"
)

const httpTestKey = "api-k3y-v4lue"

// httpTestHeaders are a source's credentials: an Authorization and a custom header.
func httpTestHeaders() map[string]string {
	return map[string]string{"Authorization": jsonTestToken, "X-Api-Key": httpTestKey}
}

// httpRecorder is a server that keeps the headers of the requests it gets.
type httpRecorder struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	paths   []string
}

func newHTTPRecorder(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) *httpRecorder {
	s := &httpRecorder{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		serve(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *httpRecorder) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headers, s.paths = nil, nil
}

// credentialed counts the requests that carried one of the source's credentials, the Referer
// included (it would repeat the query's key).
func (s *httpRecorder) credentialed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.headers {
		if h.Get("Authorization") != "" || h.Get("X-Api-Key") != "" || strings.Contains(h.Get("Referer"), "k3y") {
			n++
		}
	}
	return n
}

func (s *httpRecorder) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.headers)
}

func TestNextLinkToAnotherHost(t *testing.T) {
	other := newHTTPRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		jsonWrite(w, map[string]any{"items": []any{map[string]any{"id": 2}}})
	})
	src := newHTTPRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/items": // the next page is on another host
			jsonWrite(w, map[string]any{"items": []any{map[string]any{"id": 1}}, "links": map[string]any{"next": other.URL + "/page2"}})
		case "/here": // the next page is on the same host, spelled out
			jsonWrite(w, map[string]any{"items": []any{map[string]any{"id": 1}}, "links": map[string]any{"next": "http://" + r.Host + "/last"}})
		default:
			jsonWrite(w, map[string]any{"items": []any{map[string]any{"id": 3}}})
		}
	})
	cfg := Config{Endpoint: src.URL + "/items", Detect: Hash, Key: "id", Headers: httpTestHeaders()}

	// By default the link is refused: the other host gets nothing.
	_, _, _, err := jsonRead(t, "rest", cfg)
	if err == nil || !strings.Contains(err.Error(), "follow_other_hosts") || !strings.Contains(err.Error(), "page 2 of "+other.URL+"/page2") {
		t.Fatalf("a next link to another host: %v, want a refusal naming follow_other_hosts", err)
	}
	t.Log(err)
	if other.count() != 0 {
		t.Fatalf("the other host got %d requests", other.count())
	}

	// Followed when asked, without the source's headers.
	cfg.Options = map[string]string{"follow_other_hosts": "true"}
	_, props, _ := jsonMustRead(t, "rest", cfg)
	jsonSameKeys(t, props, "id", []string{"1", "2"})
	if other.count() != 1 || other.credentialed() != 0 {
		t.Fatalf("the other host got %d requests, %d with the source's credentials", other.count(), other.credentialed())
	}
	if src.credentialed() != src.count() {
		t.Fatalf("the source got %d requests, %d with its credentials", src.count(), src.credentialed())
	}

	// A link to the endpoint's own host keeps the headers.
	src.reset()
	cfg.Endpoint, cfg.Options = src.URL+"/here", nil
	_, props, _ = jsonMustRead(t, "rest", cfg)
	jsonSameKeys(t, props, "id", []string{"1", "3"})
	if src.count() != 2 || src.credentialed() != 2 {
		t.Fatalf("same host: %d requests, %d with the credentials", src.count(), src.credentialed())
	}

	cfg.Options = map[string]string{"follow_other_hosts": "sometimes"}
	if _, _, _, err := jsonRead(t, "rest", cfg); err == nil || !strings.Contains(err.Error(), "follow_other_hosts") {
		t.Fatalf("follow_other_hosts=sometimes: %v", err)
	}
}

func TestRedirectToAnotherHost(t *testing.T) {
	other := newHTTPRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".csv") {
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, fileCSV1)
			return
		}
		jsonWrite(w, []any{map[string]any{"id": 1}})
	})
	var src *httpRecorder
	src = newHTTPRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/data", http.StatusFound)
		case "/away.csv":
			http.Redirect(w, r, other.URL+"/data.csv", http.StatusFound)
		case "/away.xml": // a POST re-sent, body and all
			http.Redirect(w, r, other.URL+"/svc", http.StatusTemporaryRedirect)
		case "/near":
			http.Redirect(w, r, "/data", http.StatusFound)
		default:
			jsonWrite(w, []any{map[string]any{"id": 1}})
		}
	})
	cfg := Config{Endpoint: src.URL + "/away?api_key=k3y-in-query", Detect: Hash, Key: "id", Headers: httpTestHeaders(),
		Options: map[string]string{"paging": "none"}}
	check := func(what string, wantOther int) {
		t.Helper()
		if other.count() != wantOther || other.credentialed() != 0 {
			t.Errorf("%s: the other host got %d requests (want %d), %d with the source's credentials: %v", what, other.count(), wantOther, other.credentialed(), other.headers)
		}
		if src.credentialed() != src.count() || src.count() == 0 {
			t.Errorf("%s: the source got %d requests, %d with its credentials", what, src.count(), src.credentialed())
		}
		other.reset()
		src.reset()
	}

	// rest, with the default client.
	_, props, _ := jsonMustRead(t, "rest", cfg)
	jsonSameKeys(t, props, "id", []string{"1"})
	check("rest", 1)

	// file.
	fcfg := cfg
	fcfg.Endpoint, fcfg.Options = src.URL+"/away.csv", nil
	f, err := fileOpen(t, fcfg)
	if err != nil {
		t.Fatal(err)
	}
	fileRead(t, f)
	check("file", 1)

	// A client of the config's own (tests, a proxy): copied, its CheckRedirect still asked.
	asked := 0
	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { asked++; return nil }}
	cfg.Client = own
	jsonMustRead(t, "rest", cfg)
	check("rest with the config's client", 1)
	if asked != 1 {
		t.Errorf("the config's CheckRedirect was asked %d times", asked)
	}
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return errors.New("no redirects here") }
	if _, _, _, err := jsonRead(t, "rest", cfg); err == nil || !strings.Contains(err.Error(), "no redirects here") {
		t.Errorf("the config's CheckRedirect refusing: %v", err)
	}
	other.reset()
	src.reset()
	cfg.Client = nil

	// A redirect on the same host keeps the headers.
	cfg.Endpoint = src.URL + "/near"
	jsonMustRead(t, "rest", cfg)
	if src.count() != 2 || src.credentialed() != 2 {
		t.Errorf("same-host redirect: %d requests, %d with the credentials", src.count(), src.credentialed())
	}
	src.reset()

	// xml: a POST redirected with its body (which holds the token) to another host is refused.
	xcfg := Config{Endpoint: src.URL + "/away.xml", Detect: Hash, Headers: httpTestHeaders(), Secret: "t0ken-in-body",
		Options: map[string]string{"record": "//Item", "request": "<q>{{token}}</q>"}}
	_, _, _, err = xmlRead(t, xcfg)
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("xml 307 to another host: %v", err)
	}
	t.Log(err)
	if other.count() != 0 {
		t.Errorf("the other host got the xml request")
	}
}

func TestHTTPClientRedirectPolicy(t *testing.T) {
	cfg := Config{Headers: map[string]string{"x-api-key": httpTestKey, "X-Agency": "so-khdt"}}
	own := &http.Client{}
	cfg.Client = own
	c := cfg.HTTPClient()
	if c == own || own.CheckRedirect != nil {
		t.Fatal("HTTPClient changed the config's client")
	}
	first, _ := http.NewRequest(http.MethodGet, "https://source.example/a?api_key=k3y", nil)
	for _, c := range []struct {
		to   string
		kept bool
	}{
		{"https://source.example/b", true},
		{"https://SOURCE.example:443/b", true},
		{"http://source.example/b", false},
		{"https://source.example:8443/b", false},
		{"https://cdn.example/b", false},
		{"https://evil.source.example/b", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, c.to, nil)
		req.Header.Set("X-Api-Key", httpTestKey)
		req.Header.Set("X-Agency", "so-khdt")
		req.Header.Set("Authorization", jsonTestToken)
		req.Header.Set("Cookie", "session=1")
		req.Header.Set("Referer", first.URL.String())
		req.Header.Set("Accept", "application/json")
		if err := cfg.HTTPClient().CheckRedirect(req, []*http.Request{first}); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"X-Api-Key", "X-Agency", "Authorization", "Cookie", "Referer"} {
			if (req.Header.Get(h) != "") != c.kept {
				t.Errorf("redirect to %s: %s %q (kept: want %v)", c.to, h, req.Header.Get(h), c.kept)
			}
		}
		if req.Header.Get("Accept") == "" {
			t.Errorf("redirect to %s: Accept dropped", c.to)
		}
	}
	via := make([]*http.Request, 10)
	for i := range via {
		via[i] = first
	}
	req, _ := http.NewRequest(http.MethodGet, "https://source.example/b", nil)
	if err := (&Config{}).HTTPClient().CheckRedirect(req, via); err == nil {
		t.Error("an eleventh redirect is followed")
	}
}

// leakyConnector fails with its config's credentials in its messages.
type leakyConnector struct{}

func init() { Register("test-leaky", leakyConnector{}) }

func (leakyConnector) Describe() string { return "test connector whose errors quote credentials" }

func (leakyConnector) Open(ctx context.Context, cfg Config) (*Fetch, error) {
	if cfg.Options["fail"] == "open" {
		return nil, fmt.Errorf("open: the server said %q for secret %s: %w", cfg.Headers["X-Api-Key"], cfg.Secret, context.DeadlineExceeded)
	}
	return &Fetch{Source: leakySource{cfg}}, nil
}

type leakySource struct{ cfg Config }

func (s leakySource) Read(context.Context, func([]ingest.Feature) error) error {
	return fmt.Errorf("read: bad token %s: %w", s.cfg.Headers["Authorization"], ErrNotModified)
}
func (leakySource) SRID() int      { return 0 }
func (leakySource) Keys() []string { return nil }
func (leakySource) Format() string { return "leaky" }
func (s leakySource) Close() error { return errors.New("close: " + s.cfg.Secret) }

// Whatever a connector's messages quote, the errors of Get's connector do not show the
// credentials, and still say what they are (errors.Is).
func TestConnectorErrorsScrubbed(t *testing.T) {
	c, err := Get("test-leaky")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Headers: httpTestHeaders(), Secret: "s3cr3t-pw", Options: map[string]string{"fail": "open"}}
	leaks := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("%s: %v, want xxxxx in it", what, err)
		}
		for _, s := range []string{httpTestKey, "s3cret-t0ken", "s3cr3t-pw"} {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q shows %s", what, err, s)
			}
		}
	}
	_, err = c.Open(context.Background(), cfg)
	leaks("open", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("open: %v is not context.DeadlineExceeded", err)
	}
	cfg.Options = nil
	f, err := c.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Read(context.Background(), func([]ingest.Feature) error { return nil })
	leaks("read", err)
	if !errors.Is(err, ErrNotModified) {
		t.Errorf("read: %v is not ErrNotModified", err)
	}
	leaks("close", f.Close())
}
