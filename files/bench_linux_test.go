package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// hitSetup returns a warm per-worker handler and a request for a cached
// small file.
func hitSetup(tb testing.TB, target string, hdrs ...string) (httpcore.Handler, *httpcore.Request, *httpcore.Response) {
	root := tb.(interface{ TempDir() string }).TempDir()
	writeFile(tb, filepath.Join(root, "index.html"), strings.Repeat("<p>hello</p>\n", 40))
	writeFile(tb, filepath.Join(root, "big.bin"), strings.Repeat("x", 100<<10))
	writeFile(tb, filepath.Join(root, "app.js"), strings.Repeat("js();", 100))
	writeFile(tb, filepath.Join(root, "app.js.br"), "BR")
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		tb.Fatal(err)
	}
	h := newHandler(tb, Config{Root: root, Revalidate: time.Hour})
	w := h.ForWorker(0)
	r := serve(tb, w, newRequest(GET, target, hdrs...)) // warm the cache
	if len(r.ops) == 0 {
		tb.Fatalf("warm-up of %s: %d ops %v", target, r.status, r.ops)
	}
	req := newRequest(GET, target, hdrs...).req
	resp := &httpcore.Response{Head: make([]byte, 0, 1024), Parts: make([]httpcore.Part, 0, 8)}
	return w, &req, resp
}

// TestHitAllocs: a cache hit allocates nothing and needs no Op, for plain,
// conditional, ranged, directory-index and precompressed answers.
func TestHitAllocs(t *testing.T) {
	for _, c := range []struct {
		name, target string
		hdrs         []string
		status       int
	}{
		{"plain", "/index.html", nil, 200},
		{"dir index", "/", nil, 200},
		{"304", "/index.html", []string{"If-None-Match: *"}, 304},
		{"if-modified-since", "/index.html", []string{"If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"}, 304},
		{"range", "/index.html", []string{"Range: bytes=10-19"}, 206},
		{"large file", "/big.bin", nil, 200},
		{"large range", "/big.bin", []string{"Range: bytes=-100"}, 206},
		{"brotli", "/app.js", []string{"Accept-Encoding: gzip, deflate, br"}, 200},
		{"redirect", "/sub?x=1", nil, 301},
		{"not found", "/missing", nil, 404},
		// A multipart answer allocates its part headers (one buffer): the
		// engine may still be sending them while the worker serves the next
		// request, so no scratch can be reused.
		{"multipart", "/index.html", []string{"Range: bytes=0-1,5-6"}, 206},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, req, resp := hitSetup(t, c.target, c.hdrs...)
			var op *httpcore.Op
			allocs := testing.AllocsPerRun(1000, func() {
				resp.Reset()
				op = w.Serve(req, resp)
				if resp.File != nil {
					resp.File.Release()
				}
			})
			if op != nil || resp.Status != c.status {
				t.Fatalf("hit: op %v, status %d, want %d", op, resp.Status, c.status)
			}
			want := 0.0
			if c.name == "multipart" {
				want = 1
			}
			if allocs != want {
				t.Errorf("%v allocations per hit, want %v", allocs, want)
			}
		})
	}
}

// BenchmarkServeHit measures a cache hit of a small file (goal: under
// 200 ns and 0 allocs).
func BenchmarkServeHit(b *testing.B) {
	for _, c := range []struct {
		name, target string
		hdrs         []string
	}{
		{"plain", "/index.html", nil},
		{"browser", "/index.html", []string{"Accept-Encoding: gzip, deflate, br, zstd"}},
		{"304", "/index.html", []string{"If-None-Match: *"}},
		{"range", "/index.html", []string{"Range: bytes=10-19"}},
		{"brotli", "/app.js", []string{"Accept-Encoding: gzip, deflate, br, zstd"}},
		{"large", "/big.bin", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			w, req, resp := hitSetup(b, c.target, c.hdrs...)
			b.ReportAllocs()
			for b.Loop() {
				resp.Reset()
				if w.Serve(req, resp) != nil {
					b.Fatal("miss")
				}
				if resp.File != nil {
					resp.File.Release()
				}
			}
		})
	}
}

// BenchmarkServeRevalidate measures the Op chain of a revalidation
// (Revalidate < 0: every request), ops run with plain system calls: the cost
// a cold or stale lookup adds, engine overhead excluded.
func BenchmarkServeRevalidate(b *testing.B) {
	root := b.TempDir()
	writeFile(b, filepath.Join(root, "index.html"), strings.Repeat("<p>hello</p>\n", 40))
	h := newHandler(b, Config{Root: root, Revalidate: -1})
	w := h.ForWorker(0)
	b.ReportAllocs()
	for b.Loop() {
		if r := serve(b, w, newRequest(GET, "/index.html")); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}
