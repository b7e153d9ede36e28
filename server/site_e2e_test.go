//go:build linux

package server

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/site"
)

// The site layer end to end on both engines: the configuration issue's
// example and every rule kind, over real sockets.

// siteExample is the example; the roots are replaced by the test's
// directories, and a rule of each other kind is added to site a.
const siteExample = `listen = ["127.0.0.1:8080"]
root = "/srv/default"                 # the site for any other Host

[[site]]
hosts = ["a.test", "www.a.test"]      # Host header, port ignored, case-insensitive
root = "/srv/a"
fallback = "/index.html"              # a GET for a path with no file answers this file, 200

  [[site.rule]]
  match = "/assets/**"                # glob: * within a segment, ** across segments
  headers = { "Cache-Control" = "public, max-age=31536000, immutable" }

  [[site.rule]]
  match = "/old/*"
  redirect = { to = "/new/$1", status = 308 }

  [[site.rule]]
  match = "/**"
  headers = { "X-Frame-Options" = "DENY", "Referrer-Policy" = "no-referrer" }

  [[site.rule]]
  match = "/gone/**"
  status = 410

  [[site.rule]]
  match = "/admin/**"
  basic_auth = { realm = "admin", users = { alice = "HASH" } }

[[site]]
hosts = ["b.test"]
root = "/srv/b"

[compress]
types = ["text/*", "application/javascript", "application/json", "image/svg+xml", "application/wasm"]
encodings = ["br", "zstd", "gzip"]
min_size = 256
`

// jsBody is 100 KB of compressible JavaScript-like text.
var jsBody = func() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 100<<10; i++ {
		b.WriteString("export function handler")
		b.WriteString(strings.Repeat("x", i%9))
		b.WriteString("(event) { return event.detail * ")
		b.WriteString(strings.Repeat("7", i%4+1))
		b.WriteString("; }\n")
	}
	return b.Bytes()[:100<<10]
}()

func startSite(t *testing.T, backend string) *Server {
	base := t.TempDir()
	for path, body := range map[string][]byte{
		"default/who.txt":     []byte("default"),
		"a/who.txt":           []byte("a"),
		"a/index.html":        []byte("<app>a</app>"),
		"a/assets/app.js":     jsBody,
		"a/admin/secret.txt":  []byte("secret"),
		"a/range.txt":         []byte(strings.Repeat("0123456789", 100)),
		"a/small.txt":         []byte("tiny"),
		"a/deep/dir/file.txt": []byte("deep"),
		"b/who.txt":           []byte("b"),
		"b/assets/app.js":     []byte("b's app"),
	} {
		p := filepath.Join(base, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(base, "a/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("wonderland"), bcrypt.MinCost)
	text := strings.NewReplacer(`"/srv/default"`, `"`+base+`/default"`, `"/srv/a"`, `"`+base+`/a"`,
		`"/srv/b"`, `"`+base+`/b"`, "HASH", string(hash)).Replace(siteExample)
	cfg, err := site.Parse("site.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	h, err := site.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return startServer(t, backend, h, nil)
}

// req sends one raw request and reads its answer.
func req(t *testing.T, s *Server, raw string) (*http.Response, []byte) {
	t.Helper()
	c := dialRaw(t, s)
	c.send(t, raw)
	method, _, _ := strings.Cut(raw, " ")
	return c.response(t, method)
}

func getHost(path, host string, hdrs ...string) string {
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\n")
	if host != "" {
		b.WriteString("Host: " + host + "\r\n")
	}
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestE2ESiteExample(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startSite(t, backend)
		auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wonderland"))
		for _, c := range []struct {
			name   string
			raw    string
			status int
			body   string
			want   map[string]string
		}{
			// root: "the site for any other Host"
			{"unknown host", getHost("/who.txt", "c.test"), 200, "default", nil},
			{"unknown host with port", getHost("/who.txt", "c.test:8080"), 200, "default", nil},
			{"HTTP/1.0 without Host", "GET /who.txt HTTP/1.0\r\n\r\n", 200, "default", nil},
			// hosts: "Host header, port ignored, case-insensitive"
			{"a", getHost("/who.txt", "a.test"), 200, "a", nil},
			{"www.a with port", getHost("/who.txt", "www.a.test:8080"), 200, "a", nil},
			{"a mixed case", getHost("/who.txt", "A.Test"), 200, "a", nil},
			{"a mixed case with port", getHost("/who.txt", "WWW.A.TEST:1"), 200, "a", nil},
			{"b", getHost("/who.txt", "b.test"), 200, "b", nil},
			{"absolute-form wins over Host", "GET http://b.test:8080/who.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "b", nil},
			{"absolute-form unknown host", "GET http://c.test/who.txt HTTP/1.1\r\nHost: c.test\r\n\r\n", 200, "default", nil},
			{"absolute-form upper case", "GET http://A.TEST/who.txt HTTP/1.1\r\nHost: A.TEST\r\n\r\n", 200, "a", nil},
			// fallback: "a GET for a path with no file answers this file, 200"
			{"fallback", getHost("/route/42", "a.test"), 200, "<app>a</app>", map[string]string{"X-Frame-Options": "DENY"}},
			{"fallback HEAD", "HEAD /route/42 HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, "", nil},
			{"no fallback on b", getHost("/route/42", "b.test"), 404, "", nil},
			{"fallback never answers POST", "POST /route/42 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n", 405, "", nil},
			{"fallback never answers DELETE", "DELETE /who.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", 405, "", nil},
			{"fallback never hides a 403", getHost("/fifo", "a.test"), 403, "", nil},
			{"fallback never hides traversal", getHost("/../../etc/passwd", "a.test"), 400, "", nil},
			{"fallback never hides encoded traversal", getHost("/%2e%2e/%2e%2e/etc/passwd", "a.test"), 400, "", nil},
			{"fallback never hides an encoded slash", getHost("/a%2f..%2f..%2fetc", "a.test"), 400, "", nil},
			// headers: "glob: * within a segment, ** across segments"
			{"assets", getHost("/assets/app.js", "a.test"), 200, "", map[string]string{
				"Cache-Control": "public, max-age=31536000, immutable", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}},
			{"outside assets", getHost("/deep/dir/file.txt", "a.test"), 200, "deep", map[string]string{
				"Cache-Control": "", "X-Frame-Options": "DENY"}},
			{"rules are per site", getHost("/assets/app.js", "b.test"), 200, "b's app", map[string]string{
				"Cache-Control": "", "X-Frame-Options": ""}},
			// redirect with a capture
			{"redirect", getHost("/old/page", "a.test"), 308, "", map[string]string{"Location": "/new/page"}},
			{"redirect keeps the query", getHost("/old/page?q=1", "a.test"), 308, "", map[string]string{"Location": "/new/page?q=1"}},
			{"* is one segment", getHost("/old/a/b", "a.test"), 200, "<app>a</app>", nil},
			// status
			{"status", getHost("/gone/x", "a.test"), 410, "", map[string]string{"X-Frame-Options": ""}},
			// basic_auth
			{"auth required", getHost("/admin/secret.txt", "a.test"), 401, "", map[string]string{
				"WWW-Authenticate": `Basic realm="admin", charset="UTF-8"`}},
			{"auth ok", getHost("/admin/secret.txt", "a.test", auth), 200, "secret", nil},
			{"auth ok again (cached)", getHost("/admin/secret.txt", "a.test", auth), 200, "secret", nil},
			{"auth wrong", getHost("/admin/secret.txt", "a.test",
				"Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("alice:x"))), 401, "", nil},
			{"auth encoded path", getHost("/%61dmin/secret.txt", "a.test"), 401, "", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				for pass := range 2 {
					resp, body := req(t, s, c.raw)
					if resp.StatusCode != c.status {
						t.Fatalf("pass %d: %d, want %d (%q)", pass, resp.StatusCode, c.status, body)
					}
					if c.body != "" && string(body) != c.body {
						t.Errorf("pass %d: body %q, want %q", pass, body, c.body)
					}
					for k, v := range c.want {
						if got := resp.Header.Get(k); got != v {
							t.Errorf("pass %d: %s %q, want %q", pass, k, got, v)
						}
					}
				}
			})
		}
	})
}

// TestE2ECompression: "compressed once, served from the cache": never to a
// client that did not ask, never for a Range, decompressed bytes equal to
// the file, Vary and an ETag per encoding.
func TestE2ECompression(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startSite(t, backend)
		// Wait for the helper to make the forms.
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, _ := req(t, s, getHost("/assets/app.js", "a.test", "Accept-Encoding: gzip"))
			if resp.Header.Get("Content-Encoding") == "gzip" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("never compressed")
			}
			time.Sleep(10 * time.Millisecond)
		}
		etags := map[string]string{}
		for _, c := range []struct{ ae, coding string }{
			{"gzip, br", "br"},
			{"gzip", "gzip"},
			{"zstd", "zstd"},
			{"br;q=0.1, gzip;q=0.9", "gzip"},
			{"gzip;q=0.5, zstd", "zstd"},
			{"", ""},
			{"identity", ""},
			{"deflate", ""},
			{"gzip;q=0, br;q=0", ""},
		} {
			hdrs := []string{}
			if c.ae != "" {
				hdrs = append(hdrs, "Accept-Encoding: "+c.ae)
			}
			resp, body := req(t, s, getHost("/assets/app.js", "a.test", hdrs...))
			if got := resp.Header.Get("Content-Encoding"); got != c.coding {
				t.Fatalf("%q: Content-Encoding %q, want %q", c.ae, got, c.coding)
			}
			if resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%q: Vary %q", c.ae, resp.Header.Get("Vary"))
			}
			if got := decodeBody(t, c.coding, body); !bytes.Equal(got, jsBody) {
				t.Errorf("%q: decoded %d bytes differ from the file's %d", c.ae, len(got), len(jsBody))
			}
			if c.coding != "" && len(body) >= len(jsBody)/2 {
				t.Errorf("%q: %d bytes: barely compressed", c.ae, len(body))
			}
			if e, ok := etags[c.coding]; ok && e != resp.Header.Get("ETag") {
				t.Errorf("%q: ETag changed", c.ae)
			}
			etags[c.coding] = resp.Header.Get("ETag")
		}
		if len(etags) != 4 || etags["br"] == etags["gzip"] || etags[""] == etags["gzip"] || etags["zstd"] == etags["br"] {
			t.Errorf("ETags per encoding not distinct: %v", etags)
		}
		// Range: identity bytes, even when compression is accepted.
		resp, body := req(t, s, getHost("/assets/app.js", "a.test", "Accept-Encoding: gzip, br", "Range: bytes=100-199"))
		if resp.StatusCode != 206 || resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, jsBody[100:200]) {
			t.Errorf("Range: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
		}
		// 304 with the gzip form's ETag.
		resp, _ = req(t, s, getHost("/assets/app.js", "a.test", "Accept-Encoding: gzip", "If-None-Match: "+etags["gzip"]))
		if resp.StatusCode != 304 {
			t.Errorf("If-None-Match gzip ETag: %d", resp.StatusCode)
		}
		// Under min_size: never compressed.
		resp, body = req(t, s, getHost("/small.txt", "a.test", "Accept-Encoding: gzip, br"))
		if resp.Header.Get("Content-Encoding") != "" || string(body) != "tiny" {
			t.Errorf("small file: %q %q", resp.Header.Get("Content-Encoding"), body)
		}
	})
}

func decodeBody(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", coding, err)
	}
	return out
}

// TestE2ESiteReload: a Swap under a running server changes the answers of
// the next requests on every worker, on the same keep-alive connection.
func TestE2ESiteReload(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "x.txt"), []byte("x"), 0o644)
		mk := func(v string) *site.Config {
			cfg, err := site.Parse("s.toml", []byte(`root = "`+root+`"
[[rule]]
match = "/**"
headers = { "X-Version" = "`+v+`" }
`))
			if err != nil {
				t.Fatal(err)
			}
			return cfg
		}
		h, err := site.New(mk("1"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		s := startServer(t, backend, h, nil)
		c := dialRaw(t, s)
		for i, v := range []string{"1", "2", "3"} {
			if i > 0 {
				if err := h.Swap(mk(v)); err != nil {
					t.Fatal(err)
				}
			}
			for range 4 { // keep-alive: the same connection sees the new one
				c.send(t, getHost("/x.txt", "t"))
				resp, _ := c.response(t, "GET")
				if resp.Header.Get("X-Version") != v {
					t.Fatalf("after swap %d: X-Version %q", i, resp.Header.Get("X-Version"))
				}
			}
			// A fresh connection may land on the other worker.
			for range 4 {
				resp, _ := req(t, s, getHost("/x.txt", "t"))
				if resp.Header.Get("X-Version") != v {
					t.Fatalf("new connection after swap %d: X-Version %q", i, resp.Header.Get("X-Version"))
				}
			}
		}
	})
}
