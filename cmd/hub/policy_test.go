package main_test

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haiduong/hub/internal/testdb"
)

// TestLayersPolicy: "hub layers policy" sets a collection's and its fields' categories and
// refuses, saying why, every way of making a personal field open.
func TestLayersPolicy(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	env := append(os.Environ(), "HUB_DATABASE_URL="+dbURL)
	hub, _ := hubOn(t, bin, dbURL)
	csv := filepath.Join(t.TempDir(), "can-bo.csv")
	if err := os.WriteFile(csv, []byte("ma,ho_ten,so_cccd\nCB01,Nguyễn Văn An,030085012389\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A collection of an open entry (#2, the provincial web portal): its fields are open.
	if out, err := hub("import", "--collection", "can-bo", "--records", "--key-field", "ma",
		"--entry", "cong-thong-tin-dien-tu-tinh", "--title", "Cán bộ", csv); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		ok   bool
		says string
	}{
		{[]string{"--personal", "so_cccd"}, false, `inherit open sharing from catalogue entry "cong-thong-tin-dien-tu-tinh"`},
		{[]string{"--field", "so_cccd=open", "--personal", "so_cccd"}, false, "never open"},
		{[]string{"--field", "so_cccd=specific", "--personal", "so_cccd"}, true, "so_cccd specific personal"},
		{[]string{"--category", "open"}, true, "collection can-bo: open"},
		{[]string{"--field", "so_cccd=inherit"}, false, `inherit open sharing from collection "can-bo"`},
		{[]string{"--field", "ho_ten=default", "--personal", "ho_ten"}, true, "ho_ten default personal"},
		{[]string{"--field", "ten=default"}, false, `no field "ten"`},
		{[]string{"--category", "public"}, false, `"public" is not a sharing category`},
		{[]string{"--field", "ho_ten"}, false, "give NAME=CATEGORY"},
		{[]string{"--personal", "ma", "--not-personal", "ma"}, false, "both --personal and --not-personal"},
		{[]string{}, false, "say what to change"},
	} {
		out, err := hub(append([]string{"layers", "policy", "--collection", "can-bo"}, c.args...)...)
		if (err == nil) != c.ok || !strings.Contains(strings.Join(strings.Fields(out), " "), c.says) {
			t.Errorf("hub layers policy %s: %v\n%s\nwant ok=%v, saying %q", strings.Join(c.args, " "), err, out, c.ok, c.says)
		}
	}
	if out, err := hub("layers", "policy", "--collection", "khong-co", "--category", "open"); err == nil || !strings.Contains(out, "no such collection") {
		t.Errorf("unknown collection: %v %s", err, out)
	}

	// hub serve reads the rate limits and origins from the environment: a wrong value is one
	// line naming the variable; a right one limits and marks answers.
	c := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	c.Env = append(env, "HUB_ANON_RATE_LIMIT=fast")
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "HUB_ANON_RATE_LIMIT") {
		t.Errorf("serve with HUB_ANON_RATE_LIMIT=fast: %v %s", err, out)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(bin, "serve", "--addr", addr)
	srv.Env = append(env, "HUB_ANON_RATE_LIMIT=0.01:1", "HUB_CORS_ORIGINS=https://gis.haiduong.gov.vn")
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for range 2 {
		req, _ := http.NewRequest("GET", "http://"+addr+"/conformance", nil)
		req.Header.Set("Origin", "https://gis.haiduong.gov.vn")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		statuses = append(statuses, res.StatusCode)
		if res.Header.Get("Access-Control-Allow-Origin") != "https://gis.haiduong.gov.vn" {
			t.Errorf("Allow-Origin %q", res.Header.Get("Access-Control-Allow-Origin"))
		}
		if res.StatusCode == 429 && res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if statuses[0] != 200 || statuses[1] != 429 {
		t.Errorf("anonymous with a burst of 1: %v, want [200 429]", statuses)
	}
}
