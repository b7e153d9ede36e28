package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a goroutine-safe buffer for a running command's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuffer
	code = run(context.Background(), append([]string{"ringhttpd"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestErrorsExitTwoWithOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		env  [2]string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, [2]string{}, "flag provided but not defined"},
		{"unknown flag after serve", []string{"serve", "--bogus"}, [2]string{}, "flag provided but not defined"},
		{"bad int", []string{"serve", "--workers", "x"}, [2]string{}, "workers"},
		{"negative workers", []string{"--workers", "-1"}, [2]string{}, "--workers -1"},
		{"bad duration", []string{"--idle-timeout", "soon"}, [2]string{}, "idle-timeout"},
		{"zero timeout", []string{"--send-timeout", "0s"}, [2]string{}, "--send-timeout 0s: must be positive"},
		{"bad backend", []string{"--backend", "kqueue"}, [2]string{}, `--backend "kqueue"`},
		{"bad backend from env", nil, [2]string{"RINGHTTPD_BACKEND", "select"}, `--backend "select"`},
		{"bad log level", []string{"--log-level", "loud"}, [2]string{}, "--log-level"},
		{"zero limit", []string{"--max-headers", "0"}, [2]string{}, "--max-headers 0"},
		{"missing root", []string{"--root", "/no/such/dir", "--listen", "127.0.0.1:0"}, [2]string{}, "--root"},
		{"root is a file", []string{"--root", file, "--listen", "127.0.0.1:0"}, [2]string{}, "not a directory"},
		{"busy port", []string{"--root", t.TempDir(), "--listen", busy.Addr().String(), "--backend", "epoll"}, [2]string{}, "address already in use"},
		{"bad listen", []string{"--root", t.TempDir(), "--listen", "nowhere"}, [2]string{}, "listen address"},
		{"unwritable access log", []string{"--root", t.TempDir(), "--listen", "127.0.0.1:0", "--access-log", "/no/such/dir/log"}, [2]string{}, "--access-log"},
		{"stray argument", []string{"serve", "extra"}, [2]string{}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			wantExitTwo(t, tc.want, tc.args...)
		})
	}
}

// wantExitTwo runs the command with args and fails t unless it exits 2
// with one line on stderr, starting "ringhttpd: " and mentioning want. It
// returns that line.
func wantExitTwo(t *testing.T, want string, args ...string) string {
	t.Helper()
	code, _, stderr := runArgs(t, args...)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ringhttpd: ") {
		t.Fatalf("stderr %q, want one line starting with \"ringhttpd: \"", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Fatalf("stderr %q does not mention %q", stderr, want)
	}
	return strings.TrimSpace(stderr)
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runArgs(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "ringhttpd ") || !strings.Contains(stdout, "epoll") || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestHelpListsFlagsAndEnv(t *testing.T) {
	code, stdout, _ := runArgs(t, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--root", "--listen", "--backend", "--access-log", "RINGHTTPD_MAX_BODY", "--shutdown-timeout"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeUntilCancelled(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(root, addr, logPath string) []string
		env  map[string]string
	}{
		{"flags", func(root, addr, logPath string) []string {
			return []string{"serve", "--root", root, "--listen", addr, "--backend", "epoll", "--workers", "2", "--access-log", logPath}
		}, nil},
		{"no command, environment", func(root, addr, logPath string) []string { return nil },
			map[string]string{"RINGHTTPD_BACKEND": "epoll", "RINGHTTPD_WORKERS": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hi there\n"), 0o644)
			addr := freePort(t)
			logPath := filepath.Join(t.TempDir(), "access.log")
			args := tc.args(root, addr, logPath)
			if args == nil {
				t.Setenv("RINGHTTPD_ROOT", root)
				t.Setenv("RINGHTTPD_LISTEN", addr)
				t.Setenv("RINGHTTPD_ACCESS_LOG", logPath)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb lockedBuffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, append([]string{"ringhttpd"}, args...), &out, &errb) }()

			var resp *http.Response
			var err error
			deadline := time.Now().Add(5 * time.Second)
			for {
				resp, err = http.Get("http://" + addr + "/hello.txt")
				if err == nil || time.Now().After(deadline) {
					break
				}
				select {
				case code := <-done:
					t.Fatalf("exited early with %d: %s", code, errb.String())
				case <-time.After(20 * time.Millisecond):
				}
			}
			if err != nil {
				t.Fatalf("server never answered: %v (stderr %s)", err, errb.String())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "hi there\n" {
				t.Fatalf("GET: %d %q", resp.StatusCode, body)
			}
			http.DefaultClient.CloseIdleConnections()
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d after cancel: %s", code, errb.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop")
			}
			if !strings.Contains(errb.String(), "backend=epoll") {
				t.Errorf("startup log lacks the backend: %s", errb.String())
			}
			log, _ := os.ReadFile(logPath)
			if !strings.Contains(string(log), `"GET /hello.txt HTTP/1.1" 200 9`) {
				t.Errorf("access log %q lacks the request", log)
			}
		})
	}
}
