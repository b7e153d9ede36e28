package files

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// jsText returns n bytes of compressible JavaScript-like text.
func jsText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString("function f")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("(a, b) { return a + b * ")
		b.WriteString(strings.Repeat("9", i%5+1))
		b.WriteString("; }\n")
	}
	return b.String()[:n]
}

// decode undoes a content coding.
func decode(t testing.TB, coding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	case "":
		return b
	default:
		t.Fatalf("coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", coding, err)
	}
	return out
}

// waitPacked serves target with Accept-Encoding ae until the answer is
// compressed (the helper finished), and returns that answer.
func waitPacked(t *testing.T, h httpcore.Handler, target, ae string) result {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := serve(t, h, newRequest(GET, target, "Accept-Encoding: "+ae))
		if r.hdr.Get("Content-Encoding") != "" || time.Now().After(deadline) {
			return r
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func compressTree(t *testing.T) (string, map[string]string) {
	root := t.TempDir()
	files := map[string]string{
		"app.js":        jsText(100 << 10), // served from a descriptor (> MaxCachedFile)
		"small.js":      jsText(4000),
		"tiny.js":       jsText(100), // under MinSize
		"data.json":     strings.Repeat(`{"k": "value"}, `, 300),
		"photo.png":     strings.Repeat("png", 2000), // not a compressible type
		"pre.css":       strings.Repeat("body { color: red }\n", 200),
		"pre.css.br":    "DISKBR",
		"random.txt":    string(randomBytes(3000)), // does not shrink
		"huge.txt":      jsText(300 << 10),         // over MaxSize
		"index.html":    "<h1>app</h1>" + strings.Repeat("<p>x</p>", 100),
		"deny/x.txt":    "x",
		"assets/a.txt":  "a",
		"style.css":     strings.Repeat("p { margin: 0 }\n", 100),
		"style.css.zst": "DISKZSTD",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, body)
	}
	return root, files
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestCompression: compressible files get in-memory forms, made once on a
// helper, served by Accept-Encoding with q-values, Vary and their own ETag;
// never to a client that did not ask, never for a Range; decoded, they are
// the file. Siblings on disk win.
func TestCompression(t *testing.T) {
	root, files := compressTree(t)
	h := newHandler(t, Config{Root: root, MaxCachedFile: 16 << 10, Compress: Compression{
		Encodings: []string{"br", "zstd", "gzip"}, MaxSize: 200 << 10}})
	w := h.ForWorker(0)

	for _, target := range []string{"/app.js", "/small.js", "/data.json", "/index.html"} {
		want := files[strings.TrimPrefix(target, "/")]
		if target == "/index.html" {
			target = "/"
		}
		for _, c := range []struct{ ae, coding string }{
			{"gzip, deflate, br", "br"},
			{"gzip", "gzip"},
			{"zstd", "zstd"},
			{"br;q=0.5, gzip;q=0.8", "gzip"},
			{"br;q=0.5, zstd;q=0.5, gzip;q=0.5", "br"},
			{"*", "br"},
			{"br;q=0, zstd;q=0, *", "gzip"},
		} {
			r := waitPacked(t, w, target, c.ae)
			if got := r.hdr.Get("Content-Encoding"); got != c.coding {
				t.Fatalf("%s %q: Content-Encoding %q, want %q", target, c.ae, got, c.coding)
			}
			if r.hdr.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s %q: Vary %q", target, c.ae, r.hdr.Get("Vary"))
			}
			if got := decode(t, c.coding, r.body); string(got) != want {
				t.Errorf("%s %q: decoded body differs (%d bytes, want %d)", target, c.ae, len(got), len(want))
			}
			if len(r.body) >= len(want) || r.hdr.Get("Content-Length") != itoa(len(r.body)) {
				t.Errorf("%s %q: %d bytes, Content-Length %s", target, c.ae, len(r.body), r.hdr.Get("Content-Length"))
			}
			if !strings.HasSuffix(r.hdr.Get("ETag"), "-"+c.coding+`"`) {
				t.Errorf("%s %q: ETag %s", target, c.ae, r.hdr.Get("ETag"))
			}
			// The form's own ETag validates it, and only it.
			etag := r.hdr.Get("ETag")
			if r := serve(t, w, newRequest(GET, target, "Accept-Encoding: "+c.ae, "If-None-Match: "+etag)); r.status != 304 || r.hdr.Get("ETag") != etag || r.hdr.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s %q: If-None-Match its ETag: %d %v", target, c.ae, r.status, r.hdr)
			}
			if r := serve(t, w, newRequest(GET, target, "If-None-Match: "+etag)); r.status != 200 || r.hdr.Get("Content-Encoding") != "" {
				t.Errorf("%s: identity with the %s ETag: %d %v", target, c.coding, r.status, r.hdr)
			}
			// HEAD gets the same head and no body.
			if r := serve(t, w, newRequest(HEAD, target, "Accept-Encoding: "+c.ae)); r.hdr.Get("Content-Encoding") != c.coding || len(r.body) != 0 {
				t.Errorf("%s HEAD %q: %v %d", target, c.ae, r.hdr, len(r.body))
			}
		}
		// Not asked: identity, with Vary.
		for _, ae := range []string{"", "identity", "deflate", "gzip;q=0, br;q=0, zstd;q=0", "*;q=0"} {
			hdrs := []string{}
			if ae != "" {
				hdrs = append(hdrs, "Accept-Encoding: "+ae)
			}
			r := serve(t, w, newRequest(GET, target, hdrs...))
			if r.status != 200 || r.hdr.Get("Content-Encoding") != "" || string(r.body) != want || r.hdr.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s %q: %d %v (%d bytes)", target, ae, r.status, r.hdr, len(r.body))
			}
		}
		// A Range is answered from the identity bytes.
		r := serve(t, w, newRequest(GET, target, "Accept-Encoding: gzip, br", "Range: bytes=10-19"))
		if r.status != 206 || r.hdr.Get("Content-Encoding") != "" || string(r.body) != want[10:20] {
			t.Errorf("%s Range: %d %v %q", target, r.status, r.hdr, r.body)
		}
	}

	// Never compressed: a type outside the list, a file under MinSize or
	// over MaxSize, content that does not shrink. No Vary either: the
	// answer cannot depend on Accept-Encoding.
	for _, target := range []string{"/photo.png", "/tiny.js", "/huge.txt", "/random.txt"} {
		serve(t, w, newRequest(GET, target, "Accept-Encoding: br, gzip, zstd"))
		waitIdle(t)
		r := serve(t, w, newRequest(GET, target, "Accept-Encoding: br, gzip, zstd"))
		if r.hdr.Get("Content-Encoding") != "" || string(r.body) != files[target[1:]] {
			t.Errorf("%s: Content-Encoding %q", target, r.hdr.Get("Content-Encoding"))
		}
		if target != "/random.txt" && r.hdr.Get("Vary") != "" {
			t.Errorf("%s: Vary %q on an answer that never varies", target, r.hdr.Get("Vary"))
		}
	}

	// A sibling on disk wins for its coding; the other codings are made.
	r := waitPacked(t, w, "/pre.css", "gzip")
	if r.hdr.Get("Content-Encoding") != "gzip" || string(decode(t, "gzip", r.body)) != files["pre.css"] {
		t.Errorf("pre.css gzip: %v", r.hdr)
	}
	if r := serve(t, w, newRequest(GET, "/pre.css", "Accept-Encoding: br, gzip")); string(r.body) != "DISKBR" {
		t.Errorf("pre.css br: %q, want the sibling", r.body)
	}
	if r := serve(t, w, newRequest(GET, "/style.css", "Accept-Encoding: zstd")); string(r.body) != "DISKZSTD" || r.hdr.Get("Content-Encoding") != "zstd" {
		t.Errorf("style.css zstd: %v %q, want the .zst sibling", r.hdr, r.body)
	}
}

// waitIdle waits until no pack job is queued or running.
func waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		packer.mu.Lock()
		idle := packer.running == 0 && len(packer.jobs) == 0
		packer.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("pack jobs still running after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCompressionOnce: workers share one pack per file version: a file is
// compressed once whatever the number of workers; a changed file gets new
// forms.
func TestCompressionOnce(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a.js")
	writeFile(t, p, jsText(5000))
	h := newHandler(t, Config{Root: root, Revalidate: time.Hour, Compress: Compression{Encodings: []string{"gzip"}}})
	waitIdle(t)
	done := packer.done.Load()
	w0, w1 := h.ForWorker(0), h.ForWorker(1)
	r0 := waitPacked(t, w0, "/a.js", "gzip")
	r1 := waitPacked(t, w1, "/a.js", "gzip")
	waitIdle(t)
	if n := packer.done.Load() - done; n != 1 {
		t.Errorf("%d pack jobs for one file on two workers, want 1", n)
	}
	if !bytes.Equal(r0.body, r1.body) || r0.hdr.Get("ETag") != r1.hdr.Get("ETag") {
		t.Errorf("workers serve different forms")
	}
	e0 := w0.(*worker).cache.m["/a.js"]
	e1 := w1.(*worker).cache.m["/a.js"]
	if e0.pack == nil || e0.pack != e1.pack {
		t.Errorf("packs not shared: %p %p", e0.pack, e1.pack)
	}

	h2 := newHandler(t, Config{Root: root, Revalidate: -1, Compress: Compression{Encodings: []string{"gzip"}}})
	w := h2.ForWorker(0)
	waitPacked(t, w, "/a.js", "gzip")
	replaceFile(t, p, jsText(6000))
	r := waitPacked(t, w, "/a.js", "gzip")
	if got := decode(t, "gzip", r.body); string(got) != jsText(6000) {
		t.Errorf("after a change: %d decoded bytes, want 6000", len(got))
	}
}

// TestCompressedHitAllocs: serving a compressed form allocates nothing.
func TestCompressedHitAllocs(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.js"), jsText(100<<10))
	h := newHandler(t, Config{Root: root, Revalidate: time.Hour, Compress: Compression{Encodings: []string{"br", "gzip"}}})
	w := h.ForWorker(0)
	waitPacked(t, w, "/a.js", "gzip, br")
	req := newRequest(GET, "/a.js", "Accept-Encoding: gzip, br").req
	resp := &httpcore.Response{Head: make([]byte, 0, 1024)}
	var op *httpcore.Op
	allocs := testing.AllocsPerRun(1000, func() {
		resp.Reset()
		op = w.Serve(&req, resp)
	})
	if op != nil || resp.Status != 200 || !bytes.Contains(resp.Head, []byte("Content-Encoding: br\r\n")) {
		t.Fatalf("hit: op %v status %d head %q", op, resp.Status, resp.Head)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per compressed hit", allocs)
	}
}

// TestFallback: a GET or HEAD for a path with no file answers the fallback
// file, 200; a 400, a 403, a hidden dot file and other methods keep their
// answers, and a missing fallback is a 404.
func TestFallback(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), "<app>")
	writeFile(t, filepath.Join(root, "real.txt"), "real")
	writeFile(t, filepath.Join(root, ".env"), "secret")
	writeFile(t, filepath.Join(root, "locked.txt"), "locked")
	if err := os.Chmod(filepath.Join(root, "locked.txt"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, Config{Root: root, Fallback: "/index.html"})
	root2 := t.TempDir()
	hMissing := newHandler(t, Config{Root: root2, Fallback: "/index.html"})
	locked403 := os.Geteuid() != 0 // root reads a mode-0 file
	for _, c := range []struct {
		method httpcore.Method
		target string
		status int
		body   string
	}{
		{GET, "/real.txt", 200, "real"},
		{GET, "/no/such/route", 200, "<app>"},
		{HEAD, "/no/such/route", 200, ""},
		{GET, "/real.txt/below", 200, "<app>"}, // ENOTDIR
		{GET, "/empty/", 200, "<app>"},         // a directory without index
		{GET, "/", 200, "<app>"},
		{POST, "/no/such/route", 405, ""},
		{DELETE, "/no/such/route", 405, ""},
		{GET, "/../etc/passwd", 400, ""},
		{GET, "/%2e%2e/etc/passwd", 400, ""},
		{GET, "/a%2fb", 400, ""},
		{GET, "/.env", 404, ""},
		{GET, "/empty", 301, ""},
	} {
		for pass := range 2 {
			r := serve(t, h, newRequest(c.method, c.target))
			if r.status != c.status || (c.body != "" && string(r.body) != c.body) {
				t.Errorf("pass %d %v %s: %d %q, want %d %q", pass, c.method, c.target, r.status, r.body, c.status, c.body)
			}
		}
	}
	if locked403 {
		if r := serve(t, h, newRequest(GET, "/locked.txt")); r.status != 403 {
			t.Errorf("unreadable file: %d, want 403", r.status)
		}
	}
	// Conditionals apply to the fallback file.
	r := serve(t, h, newRequest(GET, "/route"))
	if r2 := serve(t, h, newRequest(GET, "/other", "If-None-Match: "+r.hdr.Get("ETag"))); r2.status != 304 {
		t.Errorf("If-None-Match of the fallback: %d", r2.status)
	}
	for pass := range 2 {
		if r := serve(t, hMissing, newRequest(GET, "/route")); r.status != 404 {
			t.Errorf("pass %d: missing fallback: %d, want 404", pass, r.status)
		}
	}
	for _, bad := range []string{"index.html", "/a/../b", "/dir/", "/a\x00"} {
		if _, err := New(Config{Root: root, Fallback: bad}); err == nil {
			t.Errorf("Fallback %q accepted", bad)
		}
	}
}
