package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haiduong/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// build compiles the hub binary once per test into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hub")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// hubOn returns a runner of the hub binary against the database at dbURL: its combined output
// and error, for tests that check refusals; must fails the test on an error instead.
func hubOn(t *testing.T, bin, dbURL string) (run func(args ...string) (string, error), must func(args ...string) string) {
	env := append(os.Environ(), "HUB_DATABASE_URL="+dbURL)
	run = func(args ...string) (string, error) {
		c := exec.Command(bin, args...)
		c.Env = env
		out, err := c.CombinedOutput()
		return string(out), err
	}
	must = func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("hub %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	return run, must
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(build(t), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "hub ") {
		t.Errorf("hub version: %q %v", out, err)
	}
}

func TestUnreachableDatabaseIsOneClearLine(t *testing.T) {
	bin := build(t)
	// A port nothing listens on, and a database that does not exist.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cases := map[string]string{
		fmt.Sprintf("postgres://hub:s3cret@127.0.0.1:%d/hub", port):     "connection refused",
		testdb.WithDatabase(testdb.AdminURL(), "no_such_database_here"): `database "no_such_database_here" does not exist`,
		"postgres://[::1:bad": "not a valid",
	}
	for url, want := range cases {
		for _, cmd := range []string{"migrate", "serve"} {
			c := exec.Command(bin, cmd, "--addr", "127.0.0.1:0")
			if cmd == "migrate" {
				c = exec.Command(bin, cmd)
			}
			c.Env = append(os.Environ(), "HUB_DATABASE_URL="+url)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			err := c.Run()
			msg := strings.TrimSpace(stderr.String())
			if err == nil || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, want) {
				t.Errorf("hub %s with %s: err %v, stderr %q; want one line saying %q", cmd, url, err, msg, want)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("hub %s printed the database password: %q", cmd, msg)
			}
			if !strings.Contains(msg, "127.0.0.1") && !strings.Contains(msg, "[::1:bad") {
				t.Errorf("hub %s: the message does not say which URL failed: %q", cmd, msg)
			}
		}
	}
}

func TestMigrateServeAndShutDownGracefully(t *testing.T) {
	bin := build(t)
	env := append(os.Environ(), "HUB_DATABASE_URL="+testdb.Empty(t))

	// An unmigrated database is refused with the fix to apply.
	c := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	c.Env = env
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "hub migrate") {
		t.Errorf("serve on an empty database: %v %s", err, out)
	}
	for i := 0; i < 2; i++ {
		c := exec.Command(bin, "migrate")
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("migrate run %d: %v\n%s", i+1, err, out)
		}
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(bin, "serve", "--addr", addr)
	srv.Env = env
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "http://"+addr) {
		t.Fatalf("serve printed %q (%v), want the address", line, err)
	}
	res, err := http.Get("http://" + addr + "/health")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("health: %v %v", res, err)
	}
	res.Body.Close()

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hub serve exited with %v after SIGTERM, want a clean exit", err)
		}
	case <-ctx.Done():
		t.Fatal("hub serve did not stop within 10 s of SIGTERM")
	}
}

// TestKeysAcrossProcesses: an agency and a key made on the command line work against a
// running hub, and revoking the key from another process stops it there within seconds. The
// audit log of a new database verifies as intact.
func TestKeysAcrossProcesses(t *testing.T) {
	bin := build(t)
	dbURL := testdb.Fresh(t)
	env := append(os.Environ(), "HUB_DATABASE_URL="+dbURL)
	_, hub := hubOn(t, bin, dbURL)
	hub("agencies", "add", "--id", "ubnd-xa-thanh-mien", "--name", "UBND xã Thanh Miện")
	hub("agencies", "app", "--agency", "ubnd-xa-thanh-mien", "--id", "mot-cua", "--name", "Một cửa")
	out := hub("keys", "create", "--agency", "ubnd-xa-thanh-mien", "--application", "mot-cua", "--expires", "30d")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	id := secret[:len("hub_")+8]
	// A request filed and approved on the command line becomes a grant of the application.
	hub("requests", "submit", "--agency", "ubnd-xa-thanh-mien", "--application", "mot-cua", "--entry", "dang-ky-doanh-nghiep",
		"--purpose", "Tra cứu doanh nghiệp")
	hub("requests", "approve", "1")
	if grants := hub("requests", "grants", "--agency", "ubnd-xa-thanh-mien", "--application", "mot-cua"); !strings.Contains(grants, `"source": "request 1"`) {
		t.Errorf("grants after approval:\n%s", grants)
	}
	if list := hub("keys", "list"); !strings.Contains(list, id) || strings.Contains(list, secret) || !strings.Contains(list, "active") {
		t.Errorf("keys list:\n%s", list)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(bin, "serve", "--addr", addr)
	srv.Env = env
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	status := func() int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/collections", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("with the new key: %d", s)
	}
	hub("keys", "revoke", id)
	deadline := time.Now().Add(5 * time.Second)
	for status() != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the running hub still accepts the key 5 s after hub keys revoke")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := hub("audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}
