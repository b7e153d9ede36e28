package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConfigErrors: a bad configuration file is one line naming the file,
// the line and the key, and exit status 2.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.ReplaceAll(body, "ROOT", root)), 0o644)
		return p
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown top-level key", "root = \"ROOT\"\nlisten = [\"127.0.0.1:0\"]\nlistne = 1\n", "c.toml:3: listne: unknown key"},
		{"unknown nested key", "[[site]]\nhosts = [\"a\"]\nroot = \"ROOT\"\nrooot = 1\n", "c.toml:4: site[0].rooot: unknown key"},
		{"bad glob", "root = \"ROOT\"\n[[rule]]\nmatch = \"/a**\"\nstatus = 404\n", "c.toml:3: rule[0].match: bad glob"},
		{"missing site root", "root = \"ROOT\"\n[[site]]\nhosts = [\"a\"]\nroot = \"/no/such/dir\"\n", "c.toml:4: site[0].root: /no/such/dir: no such file or directory"},
		{"missing default root", "\nroot = \"/no/such/dir\"\n", "c.toml:2: root: /no/such/dir: no such file or directory"},
		{"unknown capture", "root = \"ROOT\"\n[[rule]]\nmatch = \"/old/*\"\nredirect = { to = \"/new/$2\" }\n", "c.toml:4: rule[0].redirect.to: $2"},
		{"flag value", "root = \"ROOT\"\nworkers = \"many\"\n", "c.toml:2: workers:"},
		{"list for a scalar", "root = \"ROOT\"\nbackend = [\"epoll\"]\n", "c.toml:2: backend: --backend takes one value"},
		{"flag set twice", "root = \"ROOT\"\nheader_timeout = \"1s\"\nheader-timeout = \"2s\"\n", "c.toml:3: header-timeout: already set as header_timeout"},
		{"hyphenated own key", "root = \"ROOT\"\nhide-well-known = true\n", "c.toml:2: hide-well-known: write hide_well_known"},
		{"bool flag", "root = \"ROOT\"\npin = \"yes\"\n", "c.toml:2: pin: want true or false"},
		{"config in config", "root = \"ROOT\"\nconfig = \"x.toml\"\n", "c.toml:2: config: a configuration file cannot name another"},
		{"syntax", "root = \"ROOT\"\n[[site]\n", "c.toml:2"},
		{"bad flag value checked later", "root = \"ROOT\"\nbackend = \"kqueue\"\n", `--backend "kqueue"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write("c.toml", tc.body)
			code, _, stderr := runArgs(t, "--config", p, "--listen", "127.0.0.1:0")
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ringhttpd: ") {
				t.Fatalf("stderr %q, want one line", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
	if code, _, stderr := runArgs(t, "--config", filepath.Join(dir, "none.toml")); code != 2 || !strings.Contains(stderr, "none.toml: ") {
		t.Errorf("missing file: %d %q", code, stderr)
	}
}

// get fetches url with Host host.
func get(t *testing.T, url, host string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestConfigFile: the file sets flags (listen, backend, workers) and sites;
// a flag or a RINGHTTPD_* variable wins over the file; SIGHUP reloads the
// sites, and a bad file on reload keeps the running configuration.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	def, a := filepath.Join(dir, "def"), filepath.Join(dir, "a")
	for p, body := range map[string]string{def + "/who.txt": "default", a + "/who.txt": "a", dir + "/flagroot/who.txt": "flag"} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	addr := freePort(t)
	conf := filepath.Join(dir, "c.toml")
	text := `listen = ["` + addr + `"]
backend = "epoll"
workers = 1
root = "def"          # relative to this file's directory
idle-timeout = "7s"

[[site]]
hosts = ["a.test"]
root = "` + a + `"
  [[site.rule]]
  match = "/**"
  headers = { "X-Site" = "a" }
`
	os.WriteFile(conf, []byte(text), 0o644)
	t.Setenv("RINGHTTPD_WORKERS", "2") // the variable wins over the file's 1

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"ringhttpd", "--config", conf}, &out, &errb) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/who.txt")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served: %v; %s", err, errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.Contains(errb.String(), "backend=epoll") || !strings.Contains(errb.String(), "workers=2") {
		t.Errorf("startup log: %s", errb.String())
	}
	base := "http://" + addr + "/who.txt"
	if code, h, body := get(t, base, "a.test:9999"); code != 200 || body != "a" || h.Get("X-Site") != "a" {
		t.Errorf("a.test: %d %q %v", code, body, h)
	}
	if code, _, body := get(t, base, "other.test"); code != 200 || body != "default" {
		t.Errorf("default: %d %q", code, body)
	}

	// SIGHUP: a new rule takes effect.
	os.WriteFile(conf, []byte(strings.Replace(text, `"X-Site" = "a"`, `"X-Site" = "a2"`, 1)), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitHeader(t, base, "a.test", "a2")
	// A bad file is refused; the running configuration stays.
	os.WriteFile(conf, []byte(strings.Replace(text, `match = "/**"`, `match = "/a**"`, 1)), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(errb.String(), "reload refused") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "c.toml:11: site[0].rule[0].match: bad glob") {
		t.Errorf("refusal does not name file, line and key: %s", errb.String())
	}
	if _, h, _ := get(t, base, "a.test"); h.Get("X-Site") != "a2" {
		t.Errorf("after a refused reload: X-Site %q", h.Get("X-Site"))
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}

	// A flag wins over the file's root.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() {
		done <- run(ctx2, []string{"ringhttpd", "--config", conf, "--root", dir + "/flagroot", "--listen", addr}, &out, &errb)
	}()
	os.WriteFile(conf, []byte(text), 0o644)
	deadline = time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "flag" {
				t.Errorf("--root did not win: %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel2()
	<-done
}

func waitHeader(t *testing.T, url, host, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, h, _ := get(t, url, host)
		if h.Get("X-Site") == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("X-Site %q, want %q", h.Get("X-Site"), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
