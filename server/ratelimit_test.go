package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haiduong/hub/access"
	"github.com/haiduong/hub/internal/testdb"
	"github.com/haiduong/hub/layers"
)

const testAdminToken = "ratelimit-admin-token"

// startHub serves the hub with cfg on the package's test database.
func startHub(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	pool := testdb.Pool(t)
	reg, err := layers.Load(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(testAdminToken))
	cfg.Version, cfg.AdminTokenSHA256 = "test", sum[:]
	srv := httptest.NewServer(New(pool, reg, cfg))
	t.Cleanup(srv.Close)
	return srv
}

// fetch sends one request from the local address from (127.0.0.x: the loopback network is
// all this machine's, so it stands in for several clients).
func fetch(t *testing.T, from, method, url string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestRateLimit: each key has its own bucket, anonymous callers one per address, the operator
// none; a caller over its limit gets a 429 that says when to come back.
func TestRateLimit(t *testing.T) {
	// A token every 10 s: none comes back while the test runs.
	srv := startHub(t, Config{RateLimit: RateLimit{PerSecond: 0.1, Burst: 3, AnonymousPerSecond: 0.1, AnonymousBurst: 2}})
	ctx := context.Background()
	pool := testdb.Pool(t)
	if err := access.AddAgency(ctx, pool, "so-thu-han-muc", "Sở thử hạn mức", ""); err != nil {
		t.Fatal(err)
	}
	var ids, secrets []string
	for range 2 {
		k, secret, err := access.CreateKey(ctx, pool, access.NewKey{Agency: "so-thu-han-muc"})
		if err != nil {
			t.Fatal(err)
		}
		ids, secrets = append(ids, k.ID), append(secrets, secret)
	}
	url := srv.URL + "/conformance"
	bearer := func(s string) map[string]string { return map[string]string{"Authorization": "Bearer " + s} }
	check429 := func(who string, status int, h http.Header, body []byte, mentions string) {
		t.Helper()
		var ex struct{ Code, Description string }
		_ = json.Unmarshal(body, &ex)
		secs, err := strconv.Atoi(h.Get("Retry-After"))
		if status != 429 || err != nil || secs < 1 || secs > 10 || ex.Code != "TooManyRequests" ||
			!strings.Contains(ex.Description, fmt.Sprintf("retry in %d s", secs)) || !strings.Contains(ex.Description, mentions) {
			t.Errorf("%s over its limit: %d, Retry-After %q, %s", who, status, h.Get("Retry-After"), body)
		}
	}

	for i := range 3 {
		if s, _, b := fetch(t, "127.0.0.1", "GET", url, bearer(secrets[0])); s != 200 {
			t.Fatalf("key 1, request %d of its burst: %d %s", i+1, s, b)
		}
	}
	s, h, b := fetch(t, "127.0.0.1", "GET", url, bearer(secrets[0]))
	check429("key 1", s, h, b, ids[0])
	if s, _, b := fetch(t, "127.0.0.1", "GET", url, bearer(secrets[1])); s != 200 {
		t.Errorf("key 2 after key 1 ran out: %d %s", s, b)
	}
	// Anonymous callers from the same address as the keys have a bucket of their own.
	for i := range 2 {
		if s, _, b := fetch(t, "127.0.0.1", "GET", url, nil); s != 200 {
			t.Fatalf("anonymous, request %d of its burst: %d %s", i+1, s, b)
		}
	}
	s, h, b = fetch(t, "127.0.0.1", "GET", url, nil)
	check429("anonymous 127.0.0.1", s, h, b, "API key")
	if s, _, b := fetch(t, "127.0.0.2", "GET", url, nil); s != 200 {
		t.Errorf("anonymous from another address: %d %s", s, b)
	}
	for i := range 10 {
		if s, _, b := fetch(t, "127.0.0.1", "GET", url, bearer(testAdminToken)); s != 200 {
			t.Fatalf("admin, request %d: %d %s", i+1, s, b)
		}
	}
	_, _, metrics := fetch(t, "127.0.0.1", "GET", srv.URL+"/metrics", bearer(testAdminToken))
	for _, want := range []string{`hub_http_rate_limited_total{kind="agency"} 1`, `hub_http_rate_limited_total{kind="anonymous"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestLimiterRefillsAndForgets(t *testing.T) {
	l := newLimiter(2, 4) // 2 per second, 4 at once
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 4 {
		if ok, _ := l.take("a", t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if ok, wait := l.take("a", t0); ok || wait != 500*time.Millisecond {
		t.Errorf("over the burst: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.take("a", t0.Add(499*time.Millisecond)); ok {
		t.Error("a token came back before 500ms")
	}
	if ok, _ := l.take("a", t0.Add(1000*time.Millisecond)); !ok {
		t.Error("no token after 500ms more")
	}
	if ok, _ := l.take("b", t0); !ok {
		t.Error("another key was limited")
	}
	// A bucket full again is the same as none: the sweep (a minute after the last) forgets it
	// and keeps those still refilling.
	for range 4 {
		l.take("d", t0.Add(59500*time.Millisecond))
	}
	l.take("c", t0.Add(61*time.Second))
	if _, ok := l.buckets["d"]; !ok || len(l.buckets) != 2 {
		t.Errorf("after the sweep: %d buckets, d kept: %v; want c and d", len(l.buckets), ok)
	}
	if newLimiter(0, 10) != nil {
		t.Error("a zero rate must be unlimited")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	l := newLimiter(0.001, 2) // buckets refill slowly: the sweep keeps them all
	t0 := time.Unix(1_700_000_000, 0)
	for i := range maxBuckets + 1000 {
		l.take("ip"+strconv.Itoa(i), t0)
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Errorf("%d buckets, more than %d", n, maxBuckets)
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:5123":             "192.0.2.7",
		"[::ffff:192.0.2.7]:5123":    "192.0.2.7",
		"[2001:db8:1:2:3::9]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"pipe":                       "pipe",
	} {
		if got := clientKey(addr); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
