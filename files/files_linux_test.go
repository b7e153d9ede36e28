package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

var (
	mtime   = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	lmText  = "Tue, 02 Jan 2024 03:04:05 GMT"
	before  = "Tue, 02 Jan 2024 03:04:04 GMT"
	after   = "Tue, 02 Jan 2024 03:04:06 GMT"
	bigSize = 3000
)

const (
	GET     = httpcore.MethodGet
	HEAD    = httpcore.MethodHead
	POST    = httpcore.MethodPost
	OPTIONS = httpcore.MethodOptions
	DELETE  = httpcore.MethodDelete
)

func bigContent() []byte {
	b := make([]byte, bigSize)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// makeTree writes the test site under a new temporary directory and returns
// the root.
func makeTree(t testing.TB) string {
	root := t.TempDir()
	files := map[string]string{
		"hello.txt":         "hello, world\n",
		"empty.txt":         "",
		"unknown.xyz":       "x",
		"noext":             "n",
		"page.html":         "<p>hi</p>",
		"dir/index.html":    "<h1>dir</h1>",
		"evil.example/x":    "x",
		"list/a.txt":        "aa",
		"list/b&<c>.txt":    "bbb",
		"list/sub/z":        "z",
		"list/.hidden":      "h",
		"style.css":         "body{color:red}",
		"style.css.gz":      "GZDATA",
		"style.css.br":      "BRDATA",
		"app.js":            "alert(1)",
		"app.js.gz":         "JSGZ",
		".env":              "SECRET=1",
		".git/config":       "[core]",
		"big.bin":           string(bigContent()),
		"dir/sub/deep.txt":  "deep",
		"future.txt":        "f",
		"pre/index.html":    "<b>pre</b>",
		"pre/index.html.gz": "PREGZ",

		".well-known/security.txt":       "Contact: x",
		".well-known/acme-challenge/tok": "tok.key",
		".well-known/.secret":            "s",
		"dir/.well-known/security.txt":   "nested",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		when := mtime
		if name == "future.txt" {
			when = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"link.txt": "hello.txt", "linkdir": "dir", "dir/up.txt": "../hello.txt"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// etagOf computes the ETag the handler must send for a file: strong, from
// inode, size and mtime.
func etagOf(t testing.TB, path string) string {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("\"%x-%x-%x\"", st.Ino, st.Size, st.Mtim.Sec*1e9+st.Mtim.Nsec)
}

// newHandler returns the handler for cfg, closed when the test ends; it
// skips the test on kernels without openat2.
//
// Entries stay fresh for an hour unless cfg says otherwise: a test's second,
// warm request must need no Op even when a slow guest (the kernel matrix's
// TCG cells, three at once on two cores) stalls for longer than
// DefaultRevalidate between the two. Tests of revalidation set their interval.
func newHandler(t testing.TB, cfg Config) *Handler {
	if cfg.Revalidate == 0 {
		cfg.Revalidate = time.Hour
	}
	h, err := New(cfg)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("kernel lacks openat2: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

const absent = "\x00absent"

// TestStaticFiles covers HTTP.md "Static files", line by line.
func TestStaticFiles(t *testing.T) { testStaticFiles(t) }

func testStaticFiles(t *testing.T) {
	root := makeTree(t)
	tag := func(name string) string { return etagOf(t, filepath.Join(root, name)) }
	hello, css, cssGz, cssBr, big := tag("hello.txt"), tag("style.css"), tag("style.css.gz"), tag("style.css.br"), tag("big.bin")
	weak := "W/" + hello
	bigBody := string(bigContent())

	type tc struct {
		name   string
		cfg    string // "" default, "list", "dot", "cc", "noindex"
		method httpcore.Method
		target string
		hdrs   []string
		status int
		want   map[string]string // header -> value (absent: must not be there)
		body   *string
	}
	s := func(v string) *string { return &v }
	fileHdrs := map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "13",
		"ETag": hello, "Last-Modified": lmText, "X-Content-Type-Options": "nosniff", "Accept-Ranges": "bytes", "Vary": absent}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	notModified := map[string]string{"ETag": hello, "Last-Modified": lmText, "Content-Length": absent, "Content-Type": absent}
	cases := []tc{
		// Plain GET and HEAD: HEAD carries the same headers, Content-Length included, and no body.
		{name: "get", method: GET, target: "/hello.txt", status: 200, want: fileHdrs, body: s("hello, world\n")},
		{name: "head", method: HEAD, target: "/hello.txt", status: 200, want: fileHdrs, body: s("")},
		{name: "get large from fd", method: GET, target: "/big.bin", status: 200,
			want: map[string]string{"Content-Length": strconv.Itoa(bigSize), "ETag": big, "Content-Type": "application/octet-stream"}, body: &bigBody},
		{name: "head large", method: HEAD, target: "/big.bin", status: 200, want: map[string]string{"Content-Length": strconv.Itoa(bigSize)}, body: s("")},
		{name: "empty file", method: GET, target: "/empty.txt", status: 200, want: map[string]string{"Content-Length": "0"}, body: s("")},
		{name: "missing", method: GET, target: "/nope.txt", status: 404},
		{name: "symlink inside root", method: GET, target: "/link.txt", status: 200, body: s("hello, world\n")},
		{name: "relative symlink inside root", method: GET, target: "/dir/up.txt", status: 200, body: s("hello, world\n")},
		{name: "fifo is not read", method: GET, target: "/fifo", status: 403},
		{name: "percent-encoded name", method: GET, target: "/list/b%26%3Cc%3E.txt", status: 200, body: s("bbb")},
		{name: "dot segments normalized", method: GET, target: "/dir/../hello.txt", status: 200, body: s("hello, world\n")},

		// Methods.
		{name: "post 405", method: POST, target: "/hello.txt", status: 405, want: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "delete 405", method: DELETE, target: "/hello.txt", status: 405, want: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "options", method: OPTIONS, target: "/hello.txt", status: 200, want: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},

		// Conditionals in RFC 9110 13.2.2 order.
		{name: "if-match match", method: GET, target: "/hello.txt", hdrs: []string{"If-Match: " + hello}, status: 200},
		{name: "if-match in list", method: GET, target: "/hello.txt", hdrs: []string{`If-Match: "x", ` + hello}, status: 200},
		{name: "if-match star", method: GET, target: "/hello.txt", hdrs: []string{"If-Match: *"}, status: 200},
		{name: "if-match mismatch", method: GET, target: "/hello.txt", hdrs: []string{`If-Match: "nope"`}, status: 412},
		{name: "if-match weak never matches", method: GET, target: "/hello.txt", hdrs: []string{"If-Match: " + weak}, status: 412},
		{name: "if-match beats if-unmodified-since", method: GET, target: "/hello.txt", hdrs: []string{"If-Match: " + hello, "If-Unmodified-Since: " + before}, status: 200},
		{name: "if-match star on a second line", method: GET, target: "/hello.txt", hdrs: []string{`If-Match: "zzz"`, "If-Match: *"}, status: 200},
		{name: "if-match on a second line", method: GET, target: "/hello.txt", hdrs: []string{`If-Match: "zzz", `, "If-Match: " + hello}, status: 200},
		{name: "if-match lines all mismatch", method: GET, target: "/hello.txt", hdrs: []string{`If-Match: "zzz"`, `If-Match: ,"yyy"`}, status: 412},
		{name: "if-none-match on a second line", method: GET, target: "/hello.txt", hdrs: []string{`If-None-Match: "x"`, "If-None-Match: , " + hello}, status: 304, want: notModified},
		{name: "if-modified-since twice ignored", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: " + after, "If-Modified-Since: " + after}, status: 200},
		{name: "if-unmodified-since twice ignored", method: GET, target: "/hello.txt", hdrs: []string{"If-Unmodified-Since: " + before, "If-Unmodified-Since: " + before}, status: 200},
		{name: "if-unmodified-since earlier", method: GET, target: "/hello.txt", hdrs: []string{"If-Unmodified-Since: " + before}, status: 412},
		{name: "if-unmodified-since equal", method: GET, target: "/hello.txt", hdrs: []string{"If-Unmodified-Since: " + lmText}, status: 200},
		{name: "if-unmodified-since invalid ignored", method: GET, target: "/hello.txt", hdrs: []string{"If-Unmodified-Since: yesterday"}, status: 200},
		{name: "if-none-match match", method: GET, target: "/hello.txt", hdrs: []string{"If-None-Match: " + hello}, status: 304, want: notModified, body: s("")},
		{name: "if-none-match head", method: HEAD, target: "/hello.txt", hdrs: []string{"If-None-Match: " + hello}, status: 304, want: notModified},
		{name: "if-none-match weak compare", method: GET, target: "/hello.txt", hdrs: []string{"If-None-Match: " + weak}, status: 304},
		{name: "if-none-match star", method: GET, target: "/hello.txt", hdrs: []string{"If-None-Match: *"}, status: 304},
		{name: "if-none-match mismatch beats if-modified-since", method: GET, target: "/hello.txt", hdrs: []string{`If-None-Match: "x"`, "If-Modified-Since: " + after}, status: 200},
		{name: "if-modified-since equal", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: " + lmText}, status: 304, want: notModified},
		{name: "if-modified-since later", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: " + after}, status: 304},
		{name: "if-modified-since rfc850", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: Tuesday, 02-Jan-24 03:04:05 GMT"}, status: 304},
		{name: "if-modified-since asctime", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: Tue Jan  2 03:04:05 2024"}, status: 304},
		{name: "if-modified-since earlier", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: " + before}, status: 200},
		{name: "if-modified-since invalid ignored", method: GET, target: "/hello.txt", hdrs: []string{"If-Modified-Since: not a date"}, status: 200},
		{name: "if-match failure beats range", method: GET, target: "/hello.txt", hdrs: []string{`If-Match: "x"`, "Range: bytes=0-1"}, status: 412},
		{name: "preconditions only on 2xx: missing file", method: GET, target: "/nope.txt", hdrs: []string{"If-Match: *"}, status: 404},
		{name: "preconditions only on 2xx: missing inm", method: GET, target: "/nope.txt", hdrs: []string{"If-None-Match: *"}, status: 404},
		{name: "preconditions only on 2xx: redirect", method: GET, target: "/dir", hdrs: []string{`If-Match: "x"`}, status: 301},

		// 304 repeats ETag, Last-Modified, Cache-Control, Vary.
		{name: "304 cache-control", cfg: "cc", method: GET, target: "/hello.txt", hdrs: []string{"If-None-Match: " + hello}, status: 304,
			want: with(notModified, "Cache-Control", "max-age=60")},
		{name: "200 cache-control", cfg: "cc", method: GET, target: "/hello.txt", status: 200, want: map[string]string{"Cache-Control": "max-age=60"}},
		{name: "304 vary", method: GET, target: "/style.css", hdrs: []string{"If-None-Match: " + css}, status: 304,
			want: map[string]string{"Vary": "Accept-Encoding", "ETag": css, "Last-Modified": lmText, "Content-Length": absent}},

		// Range.
		{name: "range a-b", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4"}, status: 206,
			want: with(fileHdrs, "Content-Range", "bytes 0-4/13", "Content-Length", "5"), body: s("hello")},
		{name: "range a-", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=7-"}, status: 206,
			want: map[string]string{"Content-Range": "bytes 7-12/13"}, body: s("world\n")},
		{name: "range suffix", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=-6"}, status: 206,
			want: map[string]string{"Content-Range": "bytes 7-12/13"}, body: s("world\n")},
		{name: "range suffix longer than file", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=-100"}, status: 206,
			want: map[string]string{"Content-Range": "bytes 0-12/13"}, body: s("hello, world\n")},
		{name: "range end clamped", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=7-100"}, status: 206,
			want: map[string]string{"Content-Range": "bytes 7-12/13", "Content-Length": "6"}, body: s("world\n")},
		{name: "range unit case-insensitive", method: GET, target: "/hello.txt", hdrs: []string{"Range: Bytes=0-0"}, status: 206, body: s("h")},
		{name: "range on head ignored", method: HEAD, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4"}, status: 200, want: map[string]string{"Content-Length": "13"}},
		{name: "range unknown unit", method: GET, target: "/hello.txt", hdrs: []string{"Range: items=0-4"}, status: 200, body: s("hello, world\n")},
		{name: "range bad syntax", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=a-b"}, status: 200},
		{name: "range last before first", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=5-1"}, status: 200},
		{name: "range empty set", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes="}, status: 200},
		{name: "range unsatisfiable", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=13-"}, status: 416,
			want: map[string]string{"Content-Range": "bytes */13"}},
		{name: "range unsatisfiable suffix 0", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=-0"}, status: 416,
			want: map[string]string{"Content-Range": "bytes */13"}},
		{name: "range some satisfiable", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=50-60, 0-1"}, status: 206,
			want: map[string]string{"Content-Range": "bytes 0-1/13"}, body: s("he")},
		{name: "range too many", method: GET, target: "/big.bin", hdrs: []string{"Range: bytes=" + strings.Repeat("0-0,", 100) + "1-1"}, status: 200},
		{name: "range adding past size", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-10,2-12"}, status: 200},
		{name: "range on empty file", method: GET, target: "/empty.txt", hdrs: []string{"Range: bytes=0-"}, status: 200},
		{name: "range large from fd", method: GET, target: "/big.bin", hdrs: []string{"Range: bytes=2990-"}, status: 206,
			want: map[string]string{"Content-Range": "bytes 2990-2999/3000"}, body: s(bigBody[2990:])},
		{name: "range nosniff", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-0"}, status: 206,
			want: map[string]string{"X-Content-Type-Options": "nosniff"}},

		// If-Range.
		{name: "if-range etag match", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "If-Range: " + hello}, status: 206, body: s("hello")},
		{name: "if-range etag mismatch", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", `If-Range: "x"`}, status: 200, body: s("hello, world\n")},
		{name: "if-range weak never matches", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "If-Range: " + weak}, status: 200},
		{name: "if-range date exact", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "If-Range: " + lmText}, status: 206},
		{name: "if-range date later", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "If-Range: " + after}, status: 200},
		{name: "range twice ignored", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "Range: bytes=0-4"}, status: 200, body: s("hello, world\n")},
		{name: "if-range twice ignores the range", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "If-Range: " + hello, "If-Range: " + hello}, status: 200, body: s("hello, world\n")},
		{name: "if-range invalid date", method: GET, target: "/hello.txt", hdrs: []string{"Range: bytes=0-4", "If-Range: soon"}, status: 200},

		// Directories.
		{name: "dir redirect", method: GET, target: "/dir", status: 301, want: map[string]string{"Location": "/dir/", "Content-Length": "0"}},
		{name: "dir redirect keeps query", method: GET, target: "/dir?a=1&b", status: 301, want: map[string]string{"Location": "/dir/?a=1&b"}},
		{name: "dir redirect empty query", method: GET, target: "/dir?", status: 301, want: map[string]string{"Location": "/dir/?"}},
		{name: "dir redirect head", method: HEAD, target: "/dir", status: 301, want: map[string]string{"Location": "/dir/"}},
		{name: "dir redirect never to another host", method: GET, target: "//evil.example", status: 301, want: map[string]string{"Location": "/evil.example/"}},
		{name: "dir redirect never to another host 2", method: GET, target: "/.//evil.example?x", status: 301, want: map[string]string{"Location": "/evil.example/?x"}},
		{name: "dir redirect via symlink", method: GET, target: "/linkdir", status: 301, want: map[string]string{"Location": "/linkdir/"}},
		{name: "dir index", method: GET, target: "/dir/", status: 200, want: map[string]string{"Content-Type": "text/html; charset=utf-8", "X-Content-Type-Options": "nosniff"}, body: s("<h1>dir</h1>")},
		{name: "dir index via dot", method: GET, target: "/dir/.", status: 200, body: s("<h1>dir</h1>")},
		{name: "dir index via symlink", method: GET, target: "/linkdir/", status: 200, body: s("<h1>dir</h1>")},
		{name: "dir without index, no listing", method: GET, target: "/list/", status: 404},
		{name: "index disabled", cfg: "noindex", method: GET, target: "/dir/", status: 404},
		{name: "file with slash", method: GET, target: "/hello.txt/", status: 404},
		{name: "listing", cfg: "list", method: GET, target: "/list/", status: 200, want: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "listing of dir with index serves index", cfg: "list", method: GET, target: "/dir/", status: 200, body: s("<h1>dir</h1>")},
		{name: "listing missing dir", cfg: "list", method: GET, target: "/nodir/", status: 404},

		// Content-Type.
		{name: "type css", method: GET, target: "/style.css", status: 200, want: map[string]string{"Content-Type": "text/css; charset=utf-8"}},
		{name: "type html", method: GET, target: "/page.html", status: 200, want: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "type unknown", method: GET, target: "/unknown.xyz", status: 200, want: map[string]string{"Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff"}},
		{name: "type no extension", method: GET, target: "/noext", status: 200, want: map[string]string{"Content-Type": "application/octet-stream"}},
		{name: "type override", cfg: "cc", method: GET, target: "/unknown.xyz", status: 200, want: map[string]string{"Content-Type": "text/x-test"}},

		// Precompressed siblings.
		{name: "br preferred", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: gzip, deflate, br"}, status: 200,
			want: map[string]string{"Content-Encoding": "br", "Vary": "Accept-Encoding", "Content-Type": "text/css; charset=utf-8", "ETag": cssBr, "Content-Length": "6"}, body: s("BRDATA")},
		{name: "gzip by q", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: br;q=0.5, gzip"}, status: 200,
			want: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding", "ETag": cssGz}, body: s("GZDATA")},
		{name: "q=0 excluded", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: br;q=0, gzip;q=0"}, status: 200,
			want: map[string]string{"Content-Encoding": absent, "Vary": "Accept-Encoding", "ETag": css}, body: s("body{color:red}")},
		{name: "identity carries vary", method: GET, target: "/style.css", status: 200,
			want: map[string]string{"Content-Encoding": absent, "Vary": "Accept-Encoding"}, body: s("body{color:red}")},
		{name: "star accepts", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: *"}, status: 200, want: map[string]string{"Content-Encoding": "br"}},
		// A list field on several lines is one list (issue 18).
		{name: "accept-encoding on two lines", method: GET, target: "/app.js", hdrs: []string{"Accept-Encoding: identity", "Accept-Encoding: gzip"}, status: 200,
			want: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}, body: s("JSGZ")},
		{name: "accept-encoding empty lines and elements", method: GET, target: "/app.js", hdrs: []string{"Accept-Encoding:", "Accept-Encoding: , ,gzip,"}, status: 200,
			want: map[string]string{"Content-Encoding": "gzip"}, body: s("JSGZ")},
		{name: "accept-encoding q=0 on a later line", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: gzip;q=0.5", "Accept-Encoding: br;q=0"}, status: 200,
			want: map[string]string{"Content-Encoding": "gzip"}, body: s("GZDATA")},
		{name: "only gz sibling", method: GET, target: "/app.js", hdrs: []string{"Accept-Encoding: br, gzip"}, status: 200,
			want: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}, body: s("JSGZ")},
		{name: "no acceptable sibling", method: GET, target: "/app.js", hdrs: []string{"Accept-Encoding: br"}, status: 200,
			want: map[string]string{"Content-Encoding": absent, "Vary": "Accept-Encoding"}, body: s("alert(1)")},
		{name: "no siblings no vary", method: GET, target: "/hello.txt", hdrs: []string{"Accept-Encoding: gzip, br"}, status: 200,
			want: map[string]string{"Content-Encoding": absent, "Vary": absent}},
		{name: "range on encoded bytes", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: gzip", "Range: bytes=0-1"}, status: 206,
			want: map[string]string{"Content-Encoding": "gzip", "Content-Range": "bytes 0-1/6"}, body: s("GZ")},
		{name: "304 on encoded", method: GET, target: "/style.css", hdrs: []string{"Accept-Encoding: gzip", "If-None-Match: " + cssGz}, status: 304,
			want: map[string]string{"Vary": "Accept-Encoding", "ETag": cssGz}},
		{name: "index precompressed", method: GET, target: "/pre/", hdrs: []string{"Accept-Encoding: gzip"}, status: 200,
			want: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding", "Content-Type": "text/html; charset=utf-8"}, body: s("PREGZ")},
		{name: "index identity with vary", method: GET, target: "/pre/", status: 200,
			want: map[string]string{"Content-Encoding": absent, "Vary": "Accept-Encoding"}, body: s("<b>pre</b>")},
		{name: "sibling served by its own name", method: GET, target: "/style.css.gz", status: 200,
			want: map[string]string{"Content-Type": "application/gzip", "Content-Encoding": absent}, body: s("GZDATA")},

		// Dot files.
		{name: "dotfile hidden", method: GET, target: "/.env", status: 404},
		{name: "dot dir hidden", method: GET, target: "/.git/config", status: 404},
		{name: "dotfile enabled", cfg: "dot", method: GET, target: "/.env", status: 200, body: s("SECRET=1")},

		// RFC 8615: the root's .well-known is served although dot files are hidden.
		{name: "well-known served", method: GET, target: "/.well-known/security.txt", status: 200, body: s("Contact: x")},
		{name: "well-known acme", method: GET, target: "/.well-known/acme-challenge/tok", status: 200, body: s("tok.key")},
		{name: "well-known encoded dot", method: GET, target: "/%2Ewell-known/security.txt", status: 200, body: s("Contact: x")},
		{name: "well-known dir redirects", method: GET, target: "/.well-known", status: 301, want: map[string]string{"Location": "/.well-known/"}},
		{name: "well-known dotfile inside hidden", method: GET, target: "/.well-known/.secret", status: 404},
		{name: "nested well-known hidden", method: GET, target: "/dir/.well-known/security.txt", status: 404},
		{name: "well-known hidden when configured", cfg: "nowk", method: GET, target: "/.well-known/security.txt", status: 404},
		{name: "well-known with dotfiles", cfg: "dot", method: GET, target: "/.well-known/.secret", status: 200, body: s("s")},
	}
	handlers := map[string]*Handler{
		"":        newHandler(t, Config{Root: root, MaxCachedFile: 1024}),
		"list":    newHandler(t, Config{Root: root, MaxCachedFile: 1024, Listing: true}),
		"dot":     newHandler(t, Config{Root: root, Dotfiles: true}),
		"nowk":    newHandler(t, Config{Root: root, HideWellKnown: true}),
		"cc":      newHandler(t, Config{Root: root, CacheControl: "max-age=60", MIME: map[string]string{"XYZ": "text/x-test"}}),
		"noindex": newHandler(t, Config{Root: root, NoIndex: true}),
	}
	// Every case runs cold (a miss through the Op chain) and then warm (a
	// cache hit, which must need no Op), on a per-worker handler and on the
	// shared one.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := handlers[c.cfg]
			for _, hh := range []struct {
				name string
				h    httpcore.Handler
			}{{"worker", h.ForWorker(0)}, {"shared", h}} {
				for pass := range 2 {
					r := serve(t, hh.h, newRequest(c.method, c.target, c.hdrs...))
					where := fmt.Sprintf("%s pass %d", hh.name, pass)
					if r.status != c.status {
						t.Fatalf("%s: status %d, want %d\n%s", where, r.status, c.status, r)
					}
					for k, v := range c.want {
						got := r.hdr.Values(k)
						ok := len(got) > 0
						switch {
						case v == absent && ok:
							t.Errorf("%s: %s: %q present, want absent", where, k, got)
						case v != absent && (len(got) != 1 || got[0] != v):
							t.Errorf("%s: %s: %q, want %q", where, k, got, v)
						}
					}
					if c.body != nil && string(r.body) != *c.body {
						t.Errorf("%s: body %q, want %q", where, r.body, *c.body)
					}
					if r.status == 304 && len(r.body) != 0 {
						t.Errorf("%s: 304 with a body", where)
					}
					if pass == 1 && len(r.ops) != 0 && c.status != 403 {
						t.Errorf("%s: warm request needed ops %v", where, r.ops)
					}
				}
			}
		})
	}
}

// TestMultipartRanges checks several ranges: 206 multipart/byteranges whose
// parts carry Content-Type and Content-Range, for a file in memory and one
// served from its descriptor; Content-Length is the exact body length.
func TestMultipartRanges(t *testing.T) {
	root := makeTree(t)
	h := newHandler(t, Config{Root: root, MaxCachedFile: 1024})
	big := bigContent()
	for _, c := range []struct {
		target, rng, ctype string
		content            []byte
		want               []string // Content-Range of each part
	}{
		{"/hello.txt", "bytes=0-1, 7-8,-2", "text/plain; charset=utf-8", []byte("hello, world\n"), []string{"bytes 0-1/13", "bytes 7-8/13", "bytes 11-12/13"}},
		{"/big.bin", "bytes=10-19,2000-", "application/octet-stream", big, []string{"bytes 10-19/3000", "bytes 2000-2999/3000"}},
	} {
		for pass := range 2 {
			r := serve(t, h.ForWorker(0), newRequest(GET, c.target, "Range: "+c.rng))
			if r.status != 206 {
				t.Fatalf("%s %s: status %d\n%s", c.target, c.rng, r.status, r)
			}
			mt, params, err := mime.ParseMediaType(r.hdr.Get("Content-Type"))
			if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
				t.Fatalf("Content-Type %q: %v", r.hdr.Get("Content-Type"), err)
			}
			if cl := r.hdr.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
				t.Errorf("Content-Length %s, body %d bytes", cl, len(r.body))
			}
			if r.hdr.Get("Content-Range") != "" {
				t.Errorf("multipart answer with a top-level Content-Range")
			}
			mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
			for i := 0; ; i++ {
				p, err := mr.NextPart()
				if err == io.EOF {
					if i != len(c.want) {
						t.Errorf("pass %d: %d parts, want %d", pass, i, len(c.want))
					}
					break
				}
				if err != nil {
					t.Fatalf("part %d: %v\n%s", i, err, r.body)
				}
				if p.Header.Get("Content-Type") != c.ctype {
					t.Errorf("part %d type %q", i, p.Header.Get("Content-Type"))
				}
				cr := p.Header.Get("Content-Range")
				if i >= len(c.want) || cr != c.want[i] {
					t.Errorf("part %d Content-Range %q, want %v", i, cr, c.want)
				}
				var first, last, size int
				fmt.Sscanf(cr, "bytes %d-%d/%d", &first, &last, &size)
				data, _ := io.ReadAll(p)
				if !bytes.Equal(data, c.content[first:last+1]) {
					t.Errorf("part %d data %q, want %q", i, data, c.content[first:last+1])
				}
			}
		}
	}
}

// TestFutureMtime: a modification time in the future gives a Last-Modified
// no later than the answer (RFC 9110 8.8.2.1).
func TestFutureMtime(t *testing.T) {
	root := makeTree(t)
	start := time.Now().Truncate(time.Second)
	r := serve(t, newHandler(t, Config{Root: root}), newRequest(GET, "/future.txt"))
	lm, ok := parseHTTPDate([]byte(r.hdr.Get("Last-Modified")))
	if r.status != 200 || !ok || lm.Before(start) || lm.After(time.Now()) {
		t.Errorf("%d, Last-Modified %q: want between %v and now", r.status, r.hdr.Get("Last-Modified"), start)
	}
}
