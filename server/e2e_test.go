//go:build linux

package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
)

// filesRoot builds a small tree for the files handler.
func filesRoot(t testing.TB) (dir string, big []byte) {
	dir = t.TempDir()
	big = pattern(8 << 20)
	for name, body := range map[string][]byte{
		"index.html":  []byte("<h1>home</h1>\n"),
		"a.txt":       []byte("hello, ringhttpd\n"),
		"sub/b.css":   []byte("body{}\n"),
		"big.bin":     big,
		"digits.txt":  []byte("0123456789abcdefghij"),
		".secret.env": []byte("no"),
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, big
}

func startFiles(t *testing.T, backend string) (*Server, []byte) {
	dir, big := filesRoot(t)
	h, err := files.New(files.Config{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() }) // cleanups run last-in first-out: after the shutdown
	return startServer(t, backend, h, nil), big
}

func TestE2EFiles(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		s, big := startFiles(t, backend)
		client, base := e2eClient(t, s)
		defer client.CloseIdleConnections()

		do := func(method, path string, hdr ...string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequest(method, base+path, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("%s %s: body: %v", method, path, err)
			}
			return resp, b
		}

		resp, body := do("GET", "/a.txt")
		etag := resp.Header.Get("ETag")
		for _, tc := range []struct {
			name, method, path string
			hdr                []string
			status             int
			body               string
			check              func(*http.Response) error
		}{
			{name: "get", method: "GET", path: "/a.txt", status: 200, body: "hello, ringhttpd\n"},
			{name: "index", method: "GET", path: "/", status: 200, body: "<h1>home</h1>\n"},
			{name: "nested", method: "GET", path: "/sub/b.css", status: 200, body: "body{}\n"},
			{name: "head", method: "HEAD", path: "/a.txt", status: 200, body: "",
				check: func(r *http.Response) error {
					if r.ContentLength != 17 {
						return fmt.Errorf("HEAD Content-Length %d, want 17", r.ContentLength)
					}
					return nil
				}},
			{name: "missing", method: "GET", path: "/nope", status: 404},
			{name: "dotfile", method: "GET", path: "/.secret.env", status: 404},
			{name: "traversal", method: "GET", path: "/%2e%2e/%2e%2e/etc/passwd", status: 0},
			{name: "post", method: "POST", path: "/a.txt", status: 405},
			{name: "range", method: "GET", path: "/digits.txt", hdr: []string{"Range", "bytes=2-5"}, status: 206, body: "2345",
				check: func(r *http.Response) error {
					if cr := r.Header.Get("Content-Range"); cr != "bytes 2-5/20" {
						return fmt.Errorf("Content-Range %q", cr)
					}
					return nil
				}},
			{name: "suffix range", method: "GET", path: "/digits.txt", hdr: []string{"Range", "bytes=-3"}, status: 206, body: "hij"},
			{name: "unsatisfiable", method: "GET", path: "/digits.txt", hdr: []string{"Range", "bytes=50-60"}, status: 416},
			{name: "multipart", method: "GET", path: "/digits.txt", hdr: []string{"Range", "bytes=0-1,5-6"}, status: 206,
				check: func(r *http.Response) error {
					if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/byteranges") {
						return fmt.Errorf("Content-Type %q", ct)
					}
					return nil
				}},
			{name: "if-none-match", method: "GET", path: "/a.txt", hdr: []string{"If-None-Match", etag}, status: 304, body: ""},
			{name: "if-match fails", method: "GET", path: "/a.txt", hdr: []string{"If-Match", `"other"`}, status: 412},
			{name: "big range", method: "GET", path: "/big.bin", hdr: []string{"Range", "bytes=1000000-1000099"}, status: 206,
				body: string(big[1000000:1000100])},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := do(tc.method, tc.path, tc.hdr...)
				if tc.status == 0 {
					if resp.StatusCode != 400 && resp.StatusCode != 403 && resp.StatusCode != 404 {
						t.Fatalf("status %d, want 400, 403 or 404", resp.StatusCode)
					}
					return
				}
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.status, body)
				}
				if tc.body != "" || tc.method == "HEAD" || tc.status == 304 {
					if string(body) != tc.body {
						t.Fatalf("body %q, want %q", body, tc.body)
					}
				}
				if resp.Header.Get("Date") == "" {
					t.Error("no Date")
				}
				if tc.check != nil {
					if err := tc.check(resp); err != nil {
						t.Error(err)
					}
				}
			})
		}
		_ = body

		t.Run("large file", func(t *testing.T) {
			for range 2 { // cold (ops) then cached
				resp, body := do("GET", "/big.bin")
				if resp.StatusCode != 200 || len(body) != len(big) {
					t.Fatalf("status %d, %d bytes, want 200 and %d", resp.StatusCode, len(body), len(big))
				}
				if sha256.Sum256(body) != sha256.Sum256(big) {
					t.Fatal("large file content differs")
				}
			}
		})
	})
}

func TestE2EPipelining(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, nil)
		for _, tc := range []struct {
			name  string
			paths func(i int) string
		}{
			{"in-memory", func(i int) string { return fmt.Sprintf("/mem/%d", i*1000) }},
			{"ops between", func(i int) string {
				if i%5 == 2 {
					return fmt.Sprintf("/op/%d", 10+i)
				}
				return fmt.Sprintf("/mem/%d", i*3000)
			}},
			{"large bodies", func(i int) string { return fmt.Sprintf("/mem/%d", 40000+i*1000) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dialRaw(t, s)
				var batch strings.Builder
				for i := range 16 {
					batch.WriteString(get(tc.paths(i)))
				}
				c.send(t, batch.String()) // one write: 16 requests
				for i := range 16 {
					p := tc.paths(i)
					resp, body := c.response(t, "GET")
					if resp.StatusCode != 200 {
						t.Fatalf("answer %d (%s): status %d", i, p, resp.StatusCode)
					}
					var want []byte
					if strings.HasPrefix(p, "/op/") {
						want = []byte("op " + p[4:])
					} else {
						var n int
						fmt.Sscanf(p, "/mem/%d", &n)
						want = h.big[:n]
					}
					if !bytes.Equal(body, want) {
						t.Fatalf("answer %d (%s): %d bytes, want %d", i, p, len(body), len(want))
					}
				}
			})
		}
		t.Run("byte by byte", func(t *testing.T) {
			c := dialRaw(t, s)
			req := get("/echo/x?y=1") + get("/mem/5")
			for i := range len(req) {
				c.send(t, req[i:i+1])
			}
			resp, body := c.response(t, "GET")
			if resp.StatusCode != 200 || string(body) != "GET /echo/x?y=1" {
				t.Fatalf("first: %d %q", resp.StatusCode, body)
			}
			resp, body = c.response(t, "GET")
			if resp.StatusCode != 200 || !bytes.Equal(body, h.big[:5]) {
				t.Fatalf("second: %d %q", resp.StatusCode, body)
			}
		})
	})
}

func TestE2EConnectionRules(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, nil)
		t.Run("parse error closes", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n"+get("/mem/3"))
			resp, _ := c.response(t, "GET")
			if resp.StatusCode != 400 || !resp.Close {
				t.Fatalf("status %d close %v, want 400 and close", resp.StatusCode, resp.Close)
			}
			c.expectEOF(t, 2*time.Second)
		})
		t.Run("connection close stops parsing", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "GET /mem/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"+get("/mem/3"))
			resp, body := c.response(t, "GET")
			if resp.StatusCode != 200 || len(body) != 2 || !resp.Close {
				t.Fatalf("status %d, %d bytes, close %v", resp.StatusCode, len(body), resp.Close)
			}
			c.expectEOF(t, 2*time.Second)
		})
		t.Run("http/1.0", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "GET /mem/4 HTTP/1.0\r\n\r\n")
			resp, body := c.response(t, "GET")
			if resp.StatusCode != 200 || len(body) != 4 {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
			}
			c.expectEOF(t, 2*time.Second)
		})
		t.Run("http/1.0 keep-alive", func(t *testing.T) {
			c := dialRaw(t, s)
			for range 2 {
				c.send(t, "GET /mem/4 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
				resp, _ := c.response(t, "GET")
				if resp.StatusCode != 200 || resp.Header.Get("Connection") != "keep-alive" {
					t.Fatalf("status %d, Connection %q", resp.StatusCode, resp.Header.Get("Connection"))
				}
			}
		})
		t.Run("head has no body", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "HEAD /mem/100 HTTP/1.1\r\nHost: a\r\n\r\n"+get("/mem/3"))
			resp, _ := c.response(t, "HEAD")
			if resp.StatusCode != 200 || resp.ContentLength != 100 {
				t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
			}
			resp, body := c.response(t, "GET")
			if resp.StatusCode != 200 || len(body) != 3 {
				t.Fatalf("after HEAD: %d, %d bytes", resp.StatusCode, len(body))
			}
		})
		t.Run("options and unknown method", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, _ := c.response(t, "OPTIONS")
			if resp.StatusCode != 200 || resp.Header.Get("Allow") == "" {
				t.Fatalf("OPTIONS *: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
			}
			c.send(t, "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, _ = c.response(t, "BREW")
			if resp.StatusCode != 501 {
				t.Fatalf("unknown method: %d", resp.StatusCode)
			}
		})
	})
}

func TestE2EFileRefsAndReset(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		big := pattern(8 << 20)
		if err := os.WriteFile(h.dir+"/big", big, 0o644); err != nil {
			t.Fatal(err)
		}
		s := startServer(t, backend, h, nil)
		t.Run("complete", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, get("/file/big")+"HEAD /file/big HTTP/1.1\r\nHost: t\r\n\r\n"+get("/file/big"))
			for i, m := range []string{"GET", "HEAD", "GET"} {
				resp, body := c.response(t, m)
				want := big
				if m == "HEAD" {
					want = nil
				}
				if resp.StatusCode != 200 || !bytes.Equal(body, want) {
					t.Fatalf("answer %d: %d, %d bytes", i, resp.StatusCode, len(body))
				}
			}
			waitFor(t, 2*time.Second, "every FileRef released", func() bool { return h.rels.Load() == h.refs.Load() })
		})
		t.Run("client reset mid-response", func(t *testing.T) {
			for range 5 {
				c := dialRaw(t, s)
				c.send(t, get("/file/big")+get("/file/big"))
				buf := make([]byte, 32<<10)
				if _, err := io.ReadFull(c.r, buf); err != nil {
					t.Fatal(err)
				}
				tcpOf(c.Conn).SetLinger(0) // close sends RST
				c.Close()
			}
			waitFor(t, 3*time.Second, "every FileRef released after resets", func() bool { return h.rels.Load() == h.refs.Load() })
			// The server still serves.
			c := dialRaw(t, s)
			c.send(t, get("/mem/10"))
			if resp, body := c.response(t, "GET"); resp.StatusCode != 200 || len(body) != 10 {
				t.Fatalf("after resets: %d, %d bytes", resp.StatusCode, len(body))
			}
		})
		t.Run("close while op pending", func(t *testing.T) {
			before, ops := h.aban.Load(), h.ops.Load()
			c := dialRaw(t, s)
			c.send(t, get("/op/200"))
			waitFor(t, 10*time.Second, "the op running", func() bool { return h.ops.Load() == ops+1 })
			tcpOf(c.Conn).SetLinger(0)
			tcpOf(c.Conn).Close() // a reset without a close_notify before it (TLS's Close would send one: a half-close)
			waitFor(t, 3*time.Second, "op abandoned", func() bool { return h.aban.Load() == before+1 })
		})
	})
}

func TestE2EManyConnections(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, nil)
		n := 2000
		if overTLS(s) && emulated {
			// 2,000 handshakes under software emulation outlast the
			// handshake timeout; the kernel matrix checks the mechanism.
			n = 200
		}
		conns := make([]net.Conn, 0, n)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range n {
			c, err := dialConn(t, s, 5*time.Second)
			if err != nil {
				t.Fatalf("dial %d: %v", len(conns), err)
			}
			conns = append(conns, c)
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				size := 100 + i%3000
				if _, err := io.WriteString(c, get(fmt.Sprintf("/mem/%d", size))); err != nil {
					errs <- err
					return
				}
				rc := &rawConn{Conn: c, r: bufioReader(c)}
				resp, err := http.ReadResponse(rc.r, nil)
				if err != nil {
					errs <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || len(body) != size || !bytes.Equal(body, h.big[:size]) {
					errs <- fmt.Errorf("conn %d: %d bytes, err %v", i, len(body), err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

func TestE2ETimeouts(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, func(c *Config) {
			c.HeaderTimeout = 200 * time.Millisecond
			c.IdleTimeout = 300 * time.Millisecond
			c.SendTimeout = 300 * time.Millisecond
		})
		t.Run("header", func(t *testing.T) {
			c := dialRaw(t, s)
			start := time.Now()
			c.send(t, "GET /mem/1 HTTP/1.1\r\nHost: t\r\n")
			// A 408 comes first on both engines, then the close.
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			b, err := io.ReadAll(c.r)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("connection still open 3s after a 200ms header timeout")
			}
			if len(b) > 0 && !bytes.HasPrefix(b, []byte("HTTP/1.1 408 ")) {
				t.Fatalf("answer %q, want a 408 or nothing", b)
			}
			if len(b) == 0 {
				t.Fatal("closed without the 408")
			}
			if el := time.Since(start); el < 150*time.Millisecond {
				t.Fatalf("closed after %v, before the header timeout", el)
			}
		})
		t.Run("idle", func(t *testing.T) {
			c := dialRaw(t, s)
			c.send(t, get("/mem/1"))
			c.response(t, "GET")
			start := time.Now()
			c.expectEOF(t, 3*time.Second)
			if el := time.Since(start); el < 200*time.Millisecond {
				t.Fatalf("idle close after %v, before the idle timeout", el)
			}
		})
		t.Run("idle before first request", func(t *testing.T) {
			c := dialRaw(t, s)
			start := time.Now()
			c.expectEOF(t, 3*time.Second)
			if el := time.Since(start); el < 200*time.Millisecond {
				t.Fatalf("idle close after %v, before the idle timeout", el)
			}
		})
		t.Run("send without progress", func(t *testing.T) {
			before := s.testMetrics(t).Timeouts()
			c := dialRaw(t, s)
			tcpOf(c.Conn).SetReadBuffer(4096)
			c.send(t, get(fmt.Sprintf("/mem/%d", 32<<20)))
			time.Sleep(800 * time.Millisecond) // read nothing meanwhile
			waitFor(t, 3*time.Second, "send timeout", func() bool { return s.testMetrics(t).Timeouts() > before })
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := io.Copy(io.Discard, c.r)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection not closed after the send timeout (%d bytes read)", n)
			}
			if n >= 32<<20 {
				t.Fatalf("got the whole body (%d bytes) despite the send timeout", n)
			}
		})
		t.Run("serves after a send timeout", func(t *testing.T) {
			for i := range 4 {
				c := dialRaw(t, s)
				req := get("/mem/7")
				for _, part := range []string{req[:3], req[3:10], req[10:]} {
					c.send(t, part)
					time.Sleep(5 * time.Millisecond)
				}
				resp, body := c.response(t, "GET")
				if resp.StatusCode != 200 || len(body) != 7 {
					t.Fatalf("connection %d: status %d, %d bytes", i, resp.StatusCode, len(body))
				}
			}
		})
		t.Run("slow but progressing client", func(t *testing.T) {
			s := startServer(t, backend, h, func(c *Config) {
				c.HeaderTimeout = 2 * time.Second
				c.IdleTimeout = 2 * time.Second
			})
			c := dialRaw(t, s)
			req := get("/mem/7")
			for i := range len(req) { // ~200ms in all: slower than one read, within the header timeout
				c.send(t, req[i:i+1])
				time.Sleep(5 * time.Millisecond)
			}
			resp, body := c.response(t, "GET")
			if resp.StatusCode != 200 || len(body) != 7 {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
			}
		})
	})
}

func TestE2EShutdown(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		t.Run("graceful", func(t *testing.T) {
			h := newTestHandler(t)
			s := startServer(t, backend, h, nil)
			idle := dialRaw(t, s)
			idle.send(t, get("/mem/1"))
			idle.response(t, "GET")

			const n = 6
			type result struct {
				status int
				close  bool
				body   string
				err    error
			}
			results := make(chan result, n)
			for range n {
				c := dialRaw(t, s)
				c.send(t, get("/op/600"))
				go func() {
					resp, err := http.ReadResponse(c.r, nil)
					if err != nil {
						results <- result{err: err}
						return
					}
					b, err := io.ReadAll(resp.Body)
					results <- result{resp.StatusCode, resp.Close, string(b), err}
				}()
			}
			// Wait until every op runs: a request still in the accept queue
			// or in a socket buffer when Shutdown starts is not in flight.
			waitFor(t, 10*time.Second, "the ops running", func() bool { return h.ops.Load() == n })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("Shutdown took %v", el)
			}
			for range n {
				r := <-results
				if r.err != nil || r.status != 200 || r.body != "op 600" || !r.close {
					t.Fatalf("in-flight request: %+v, want 200 \"op 600\" with Connection: close", r)
				}
			}
			idle.expectEOF(t, time.Second)
			if c, err := net.DialTimeout("tcp", addrOf(s), time.Second); err == nil {
				c.Close()
				t.Fatal("still accepting after Shutdown")
			}
		})
		t.Run("timeout closes everything", func(t *testing.T) {
			h := newTestHandler(t)
			s := startServer(t, backend, h, func(c *Config) { c.ShutdownTimeout = 200 * time.Millisecond })
			c := dialRaw(t, s)
			c.send(t, get("/op/1500"))
			waitFor(t, 10*time.Second, "the op running", func() bool { return h.ops.Load() == 1 })
			start := time.Now()
			s.Shutdown(context.Background())
			if el := time.Since(start); el > 2500*time.Millisecond {
				t.Fatalf("Shutdown took %v with a 200ms timeout", el)
			}
			c.expectEOF(t, time.Second)
			waitFor(t, 3*time.Second, "op abandoned", func() bool { return h.aban.Load() == 1 })
		})
		t.Run("context cancel forces", func(t *testing.T) {
			h := newTestHandler(t)
			s := startServer(t, backend, h, nil)
			c := dialRaw(t, s)
			c.send(t, get("/op/1000"))
			waitFor(t, 10*time.Second, "the op running", func() bool { return h.ops.Load() == 1 })
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown = %v, want deadline exceeded", err)
			}
			c.expectEOF(t, time.Second)
		})
	})
}

func TestE2EMaxConns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, func(c *Config) {
			c.Workers = 1
			c.MaxConnsPerWorker = 2
		})
		c1, c2 := dialRaw(t, s), dialRaw(t, s)
		for _, c := range []*rawConn{c1, c2} {
			c.send(t, get("/mem/1"))
			c.response(t, "GET")
		}
		c3 := dialRaw(t, s) // the kernel completes the handshake; the worker does not accept
		c3.send(t, get("/mem/3"))
		c3.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := c3.r.Peek(1); err == nil {
			t.Fatal("third connection served above the limit")
		}
		c1.Close()
		c3.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, body := c3.response(t, "GET")
		if resp.StatusCode != 200 || len(body) != 3 {
			t.Fatalf("after a slot freed: %d, %d bytes", resp.StatusCode, len(body))
		}
	})
}

func TestE2EAccessLog(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		var logBuf syncBuffer
		s := startServer(t, backend, h, func(c *Config) { c.AccessLog = &logBuf })
		c := dialRaw(t, s)
		c.send(t, get("/mem/12")+get("/op/1")+"HEAD /mem/5 HTTP/1.0\r\n\r\n")
		c.response(t, "GET")
		c.response(t, "GET")
		c.response(t, "HEAD")
		c2 := dialRaw(t, s)
		c2.send(t, "GET /\"x\" HTTP/1.1\r\nHost: t\r\n\r\n")
		c2.response(t, "GET")
		c3 := dialRaw(t, s)
		c3.send(t, "garbage\r\n\r\n")
		c3.response(t, "GET")
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(logBuf.String(), "\n"), "\n")
		clf := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "([^"]*)" (\d{3}) (\d+|-)$`)
		want := map[string]string{
			"GET /mem/12 HTTP/1.1":    "200 12",
			"GET /op/1 HTTP/1.1":      "200 4",
			"HEAD /mem/5 HTTP/1.0":    "200 -",
			`GET /\x22x\x22 HTTP/1.1`: "404 14",
			"-":                       "400 16",
		}
		got := map[string]string{}
		for _, l := range lines {
			m := clf.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("not Common Log Format: %q", l)
			}
			got[m[1]] = m[2] + " " + m[3]
		}
		for req, st := range want {
			if got[req] != st {
				t.Errorf("line for %q: %q, want %q (log:\n%s)", req, got[req], st, logBuf.String())
			}
		}
	})
}

// TestE2EAccessLogPartial: a client that resets the connection in the
// middle of a large body gets a log line with the body bytes the kernel
// took, not the planned length.
func TestE2EAccessLogPartial(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		const n = 32 << 20
		var logBuf syncBuffer
		s := startServer(t, backend, newTestHandler(t), func(c *Config) { c.AccessLog = &logBuf })
		c := dialRaw(t, s)
		c.send(t, get("/mem/"+strconv.Itoa(n)))
		if _, err := io.ReadFull(c.r, make([]byte, 256<<10)); err != nil {
			t.Fatal(err)
		}
		tcpOf(c.Conn).SetLinger(0) // close sends RST
		c.Close()
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`"GET /mem/\d+ HTTP/1.1" 200 (\d+)\n`).FindStringSubmatch(logBuf.String())
		if m == nil {
			t.Fatalf("no line for the request in %q", logBuf.String())
		}
		got, _ := strconv.Atoi(m[1])
		// At least what the client read (less its head); well short of
		// the body: socket buffers hold a few MiB at most.
		if got < 200<<10 || got >= n/2 {
			t.Fatalf("logged %d body bytes of %d; the client read 256 KiB and reset", got, n)
		}
		t.Logf("logged %d of %d body bytes", got, n)
	})
}

func TestE2EListen(t *testing.T) {
	h := newTestHandler(t)
	t.Run("busy port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		s, err := New(Config{Listen: []string{l.Addr().String()}, Backend: BackendEpoll, Workers: 2}, h)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start()
		if !errors.Is(err, errAddrInUse) || !strings.Contains(err.Error(), l.Addr().String()) {
			t.Fatalf("Start = %v, want EADDRINUSE naming the address", err)
		}
	})
	t.Run("busy port held by another ringhttpd", func(t *testing.T) {
		s1 := startServer(t, BackendEpoll, h, nil)
		s2, err := New(Config{Listen: []string{addrOf(s1)}, Backend: BackendEpoll, Workers: 2}, h)
		if err != nil {
			t.Fatal(err)
		}
		if err := s2.Start(); !errors.Is(err, errAddrInUse) {
			t.Fatalf("second server on the same port: Start = %v, want EADDRINUSE", err)
		}
	})
	t.Run("ipv6 and several addresses", func(t *testing.T) {
		if !hasIPv6() {
			t.Skip("no IPv6")
		}
		l6, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skip("no ::1: ", err)
		}
		l6.Close()
		s := startServer(t, BackendEpoll, h, func(c *Config) { c.Listen = []string{"127.0.0.1:0", "[::1]:0"} })
		addrs := s.Addrs()
		if len(addrs) != 2 {
			t.Fatalf("Addrs = %v", addrs)
		}
		for _, a := range addrs {
			c, err := net.Dial("tcp", a.String())
			if err != nil {
				t.Fatal(err)
			}
			rc := &rawConn{Conn: c, r: bufioReader(c)}
			rc.send(t, get("/mem/2"))
			if resp, _ := rc.response(t, "GET"); resp.StatusCode != 200 {
				t.Fatalf("%s: status %d", a, resp.StatusCode)
			}
			c.Close()
		}
	})
	t.Run("bad address", func(t *testing.T) {
		for _, a := range []string{"nonsense", "127.0.0.1:99999", "example.com:80", ":http"} {
			if _, err := New(Config{Listen: []string{a}}, h); !errors.Is(err, ErrBadConfig) {
				t.Errorf("New with listen %q = %v, want ErrBadConfig", a, err)
			}
		}
	})
}

func TestE2EHalfClose(t *testing.T) {
	forEachEngineTransport(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		s := startServer(t, backend, h, nil)
		for _, tc := range []struct {
			name  string
			paths []string
		}{
			{"one", []string{"/mem/10"}},
			{"pipelined", []string{"/mem/10", "/mem/20000", "/mem/30"}},
			{"ops", []string{"/op/20", "/mem/5", "/op/10"}},
			{"over the high-water mark", []string{fmt.Sprintf("/mem/%d", 2*outHighWater), "/mem/7", "/op/5", "/mem/9"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dialRaw(t, s)
				var batch strings.Builder
				for _, p := range tc.paths {
					batch.WriteString(get(p))
				}
				c.send(t, batch.String())
				c.Conn.(interface{ CloseWrite() error }).CloseWrite() // FIN (over TLS: close_notify, then FIN) after the requests
				for i, p := range tc.paths {
					resp, body := c.response(t, "GET")
					if resp.StatusCode != 200 || len(body) == 0 {
						t.Fatalf("answer %d (%s): %d, %d bytes", i, p, resp.StatusCode, len(body))
					}
				}
				c.expectEOF(t, 3*time.Second)
			})
		}
	})
}
