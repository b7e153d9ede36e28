package files

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile replaces path by rename, as deploy tools do: a new inode.
func replaceFile(t testing.TB, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, body)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestChangedWhileCached: files replaced, truncated, rewritten, deleted and
// created while cached show up after the revalidation interval, both for
// files kept in memory and files served from a cached descriptor.
func TestChangedWhileCached(t *testing.T) { testChangedWhileCached(t) }

func testChangedWhileCached(t *testing.T) {
	// The interval must outlast the few requests the checks make inside
	// it: 30 ms here, longer under software emulation (the kernel matrix
	// sets RINGHTTPD_TEST_EMULATED), where everything runs ~10x slower.
	interval := 30 * time.Millisecond
	if os.Getenv("RINGHTTPD_TEST_EMULATED") != "" {
		interval = 500 * time.Millisecond
	}
	big := strings.Repeat("B", 5000)
	bigger := strings.Repeat("C", 6000)
	for _, c := range []struct {
		name           string
		setup          string // initial content; "" means absent
		change         func(t *testing.T, p string)
		status         int
		body           string
		listing        bool
		target         string
		acceptEncoding string
	}{
		{name: "replaced small", setup: "old", change: func(t *testing.T, p string) { replaceFile(t, p, "new!") }, status: 200, body: "new!"},
		{name: "replaced large", setup: big, change: func(t *testing.T, p string) { replaceFile(t, p, bigger) }, status: 200, body: bigger},
		{name: "replaced large by small", setup: big, change: func(t *testing.T, p string) { replaceFile(t, p, "tiny") }, status: 200, body: "tiny"},
		{name: "truncated small", setup: "0123456789", change: func(t *testing.T, p string) {
			if err := os.Truncate(p, 4); err != nil {
				t.Fatal(err)
			}
		}, status: 200, body: "0123"},
		{name: "truncated large", setup: big, change: func(t *testing.T, p string) {
			if err := os.Truncate(p, 4500); err != nil {
				t.Fatal(err)
			}
		}, status: 200, body: big[:4500]},
		{name: "rewritten in place same size", setup: "aaaa", change: func(t *testing.T, p string) {
			writeFile(t, p, "bbbb")
			later := time.Now().Add(time.Hour)
			os.Chtimes(p, later, later)
		}, status: 200, body: "bbbb"},
		{name: "deleted small", setup: "gone", change: func(t *testing.T, p string) { os.Remove(p) }, status: 404},
		{name: "deleted large", setup: big, change: func(t *testing.T, p string) { os.Remove(p) }, status: 404},
		{name: "replaced by directory", setup: "file", change: func(t *testing.T, p string) {
			os.Remove(p)
			os.Mkdir(p, 0o755)
		}, status: 301},
		{name: "created after 404", setup: "", change: func(t *testing.T, p string) { writeFile(t, p, "born") }, status: 200, body: "born"},
		{name: "sibling created", setup: "plain", acceptEncoding: "gzip", change: func(t *testing.T, p string) { writeFile(t, p+".gz", "GZ") }, status: 200, body: "GZ"},
		{name: "sibling deleted", setup: "plain", acceptEncoding: "gzip", change: func(t *testing.T, p string) { os.Remove(p + ".gz") }, status: 200, body: "plain"},
		{name: "symlink retargeted", setup: "link:a", change: func(t *testing.T, p string) { retarget(t, p, "b") }, status: 200, body: "B-content"},
		{name: "symlink retargeted outside", setup: "link:a", change: func(t *testing.T, p string) {
			outside := filepath.Join(t.TempDir(), "outside")
			writeFile(t, outside, "OUTSIDE")
			retarget(t, p, outside)
		}, status: 404},
		{name: "symlink retargeted to a hard link outside", setup: "link:a", change: func(t *testing.T, p string) {
			// The same inode reached through a path outside the root. Even
			// then the quick statx never serves anything new: linking
			// changed the inode's ctime, so the full lookup runs and
			// openat2 refuses the path (and had the metadata matched, the
			// cached bytes would be that same inode's).
			outside := filepath.Join(filepath.Dir(filepath.Dir(p)), "..", filepath.Base(filepath.Dir(filepath.Dir(p)))+"-hl")
			// Kernels before 6.13 stamp ctime from a clock that ticks every
			// few ms: a link made in the same tick as the file leaves the
			// inode's metadata identical, and the quick revalidation keeps
			// the entry (serving that same inode's bytes, which are inside
			// the root as d/a). Let the clock tick so the link is visible.
			time.Sleep(30 * time.Millisecond)
			if err := os.Link(filepath.Join(filepath.Dir(p), "a"), outside); err != nil {
				t.Skip(err)
			}
			t.Cleanup(func() { os.Remove(outside) })
			retarget(t, p, outside)
		}, status: 404},
		{name: "listing updated", listing: true, target: "/d/", setup: "x", change: func(t *testing.T, p string) {
			writeFile(t, filepath.Join(filepath.Dir(p), "added-later.txt"), "y")
		}, status: 200, body: "added-later.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			os.Mkdir(filepath.Join(root, "d"), 0o755)
			p := filepath.Join(root, "d", "f.txt")
			if c.setup == "link:a" {
				writeFile(t, filepath.Join(root, "d", "a"), "A-content")
				writeFile(t, filepath.Join(root, "d", "b"), "B-content")
				if err := os.Symlink("a", p); err != nil {
					t.Fatal(err)
				}
			} else if c.setup != "" {
				writeFile(t, p, c.setup)
				if c.name == "sibling deleted" {
					writeFile(t, p+".gz", "GZ")
				}
			}
			target := c.target
			if target == "" {
				target = "/d/f.txt"
			}
			var hdrs []string
			if c.acceptEncoding != "" {
				hdrs = append(hdrs, "Accept-Encoding: "+c.acceptEncoding)
			}
			// A long interval: the change is not seen, the cache answers.
			slow := newHandler(t, Config{Root: root, MaxCachedFile: 4096, Revalidate: time.Hour, Listing: c.listing})
			// A short one: the change shows up after it.
			fast := newHandler(t, Config{Root: root, MaxCachedFile: 4096, Revalidate: interval, Listing: c.listing})
			ws, wf := slow.ForWorker(0), fast.ForWorker(0)
			first := serve(t, ws, newRequest(GET, target, hdrs...))
			serve(t, wf, newRequest(GET, target, hdrs...))
			c.change(t, p)
			// (A large file truncated in place is the exception: its cached
			// descriptor sees the new length at once, and an engine sending
			// it gets fewer bytes than the head announced and must close the
			// connection; that is the engine's rule, not checked here.)
			if r := serve(t, ws, newRequest(GET, target, hdrs...)); c.name != "truncated large" &&
				(r.status != first.status || !bytes.Equal(r.body, first.body) || len(r.ops) != 0) {
				t.Errorf("within the interval: %d %.40q (%d bytes) ops %v, want the cached %d %.40q", r.status, r.body, len(r.body), r.ops, first.status, first.body)
			}
			time.Sleep(interval + 20*time.Millisecond)
			r := serve(t, wf, newRequest(GET, target, hdrs...))
			if r.status != c.status || !bytes.Contains(r.body, []byte(c.body)) || (c.body != "" && !c.listing && string(r.body) != c.body) {
				t.Fatalf("after the interval: %d %.60q (%d bytes), want %d %.60q", r.status, r.body, len(r.body), c.status, c.body)
			}
			if r.status == 200 && !c.listing {
				if want := etagOf(t, p+map[bool]string{true: ".gz", false: ""}[string(r.body) == "GZ"]); r.hdr.Get("ETag") != want {
					t.Errorf("ETag %q, want %q", r.hdr.Get("ETag"), want)
				}
			}
			// And the new answer is cached.
			if r2 := serve(t, wf, newRequest(GET, target, hdrs...)); len(r2.ops) != 0 || r2.status != r.status || !bytes.Equal(r2.body, r.body) {
				t.Errorf("after revalidation: %d %.60q ops %v", r2.status, r2.body, r2.ops)
			}
		})
	}
}

// retarget points the symlink p at target.
func retarget(t *testing.T, p, target string) {
	t.Helper()
	tmp := p + ".new"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// TestRevalidateUnchanged: an unchanged file keeps its entry (no re-read).
func TestRevalidateUnchanged(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.txt"), "same")
	h := newHandler(t, Config{Root: root, Revalidate: 10 * time.Millisecond})
	w := h.ForWorker(0).(*worker)
	r := serve(t, w, newRequest(GET, "/a.txt"))
	// Open, statx the file, statx its directory, probe .br, .zst and .gz, read.
	if want := []httpcore.OpKind{httpcore.OpOpenat2, httpcore.OpStatx, httpcore.OpStatx, httpcore.OpOpenat2, httpcore.OpOpenat2, httpcore.OpOpenat2, httpcore.OpRead}; !equalOps(r.ops, want) {
		t.Fatalf("cold ops %v, want %v", r.ops, want)
	}
	e := w.cache.m["/a.txt"]
	time.Sleep(20 * time.Millisecond)
	r = serve(t, w, newRequest(GET, "/a.txt"))
	// Revalidation: statx of the file and of its directory; nothing opened.
	if want := []httpcore.OpKind{httpcore.OpStatx, httpcore.OpStatx}; !equalOps(r.ops, want) {
		t.Errorf("revalidation ops %v, want %v", r.ops, want)
	}
	if w.cache.m["/a.txt"] != e || string(r.body) != "same" {
		t.Errorf("unchanged file: entry replaced or body %q", r.body)
	}
	// Without sibling probes a revalidation is one statx.
	h1 := newHandler(t, Config{Root: root, Revalidate: 10 * time.Millisecond, NoPrecompressed: true})
	w1 := h1.ForWorker(0)
	serve(t, w1, newRequest(GET, "/a.txt"))
	time.Sleep(20 * time.Millisecond)
	if r := serve(t, w1, newRequest(GET, "/a.txt")); !equalOps(r.ops, []httpcore.OpKind{httpcore.OpStatx}) || string(r.body) != "same" {
		t.Errorf("NoPrecompressed revalidation: ops %v body %q", r.ops, r.body)
	}
	// A negative Revalidate checks on every request.
	h2 := newHandler(t, Config{Root: root, Revalidate: -1})
	w2 := h2.ForWorker(0)
	serve(t, w2, newRequest(GET, "/a.txt"))
	if r := serve(t, w2, newRequest(GET, "/a.txt")); len(r.ops) == 0 {
		t.Errorf("Revalidate < 0: a request without ops")
	}
}

// TestRevalidateRequestTime: a request's Now (the server's loop-turn
// clock) decides freshness, not a clock read per request: stamped within
// the interval it is a hit, stamped past it a revalidation, with no sleep.
func TestRevalidateRequestTime(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.txt"), "same")
	h := newHandler(t, Config{Root: root, Revalidate: time.Hour, NoPrecompressed: true})
	w := h.ForWorker(0)
	at := func(d time.Duration) *request {
		r := newRequest(GET, "/a.txt")
		r.req.Now = time.Now().Add(d)
		return r
	}
	serve(t, w, at(0))
	if r := serve(t, w, at(time.Minute)); len(r.ops) != 0 || string(r.body) != "same" {
		t.Errorf("a request a minute later (interval an hour): ops %v body %q", r.ops, r.body)
	}
	if r := serve(t, w, at(2*time.Hour)); !equalOps(r.ops, []httpcore.OpKind{httpcore.OpStatx}) || string(r.body) != "same" {
		t.Errorf("a request two hours later: ops %v body %q, want one statx", r.ops, r.body)
	}
	// The revalidation's answer (a completed op) stamps the entry with the
	// clock: a request stamped just after that is a hit again.
	if r := serve(t, w, at(time.Minute)); len(r.ops) != 0 {
		t.Errorf("a request after the revalidation: ops %v", r.ops)
	}
}

func equalOps(a, b []httpcore.OpKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// TestFileRefLifetime: an entry's descriptor outlives its eviction while a
// response uses it, and closes on the last Release.
func TestFileRefLifetime(t *testing.T) {
	root := t.TempDir()
	big := strings.Repeat("L", 4000)
	writeFile(t, filepath.Join(root, "big"), big)
	writeFile(t, filepath.Join(root, "other"), "o")
	h := newHandler(t, Config{Root: root, MaxCachedFile: 100, CacheEntries: 1})
	w := h.ForWorker(0).(*worker)

	req := newRequest(GET, "/big")
	var resp httpcore.Response
	op := w.Serve(&req.req, &resp)
	for op != nil {
		runOp(t, op)
		op = op.Then(op, &resp)
	}
	if resp.File == nil {
		t.Fatalf("large file answered without a FileRef: %q", resp.Head)
	}
	fd := resp.File.Fd()
	// Evict it: the cache holds one entry.
	serve(t, w, newRequest(GET, "/other"))
	if _, ok := w.cache.m["/big"]; ok {
		t.Fatalf("/big not evicted")
	}
	if !fdOpen(fd) {
		t.Fatalf("descriptor closed while a response holds it")
	}
	b := make([]byte, len(big))
	if n, _ := unix.Pread(fd, b, 0); n != len(big) || string(b) != big {
		t.Fatalf("read %d bytes from the lent descriptor", n)
	}
	resp.File.Release()
	if fdOpen(fd) {
		t.Errorf("descriptor still open after the last Release")
	}
}

// TestAbandon: an Op dropped by the engine (connection gone) releases the
// descriptors the chain holds.
func TestAbandon(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "f"), "data")
	h := newHandler(t, Config{Root: root})
	w := h.ForWorker(0)
	for steps := 1; steps <= 5; steps++ {
		req := newRequest(GET, "/f")
		var resp httpcore.Response
		op := w.Serve(&req.req, &resp)
		var fds []int
		for i := 0; i < steps && op != nil; i++ {
			runOp(t, op)
			if op.Kind == httpcore.OpOpenat2 && op.Res >= 0 {
				fds = append(fds, int(op.Res))
			}
			if i == steps-1 {
				break
			}
			op = op.Then(op, &resp)
		}
		if op == nil {
			break
		}
		if op.Abandon == nil {
			t.Fatalf("step %d: op kind %d without Abandon", steps, op.Kind)
		}
		op.Abandon(op)
		for _, fd := range fds {
			if fdOpen(fd) {
				// The fd number may have been reused by another open of this
				// test only if something leaked; nothing else opens here.
				t.Errorf("step %d: descriptor %d still open after Abandon", steps, fd)
			}
		}
	}
}

// TestAbandonNotRun: Abandon of an op the engine never ran closes nothing.
func TestAbandonNotRun(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "f"), "data")
	h := newHandler(t, Config{Root: root})
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	stdin := fdOpen(0)
	req := newRequest(GET, "/f")
	var resp httpcore.Response
	op := h.ForWorker(0).Serve(&req.req, &resp)
	if op == nil || op.Kind != httpcore.OpOpenat2 {
		t.Fatalf("cold request: op %v", op)
	}
	op.Abandon(op)
	if fdOpen(0) != stdin || !fdOpen(fds[0]) || !fdOpen(fds[1]) {
		t.Errorf("Abandon of an op never run closed a descriptor")
	}
}

// TestEviction: the cache stays within its entry and byte bounds, evicting
// the least recently used.
func TestEviction(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		writeFile(t, filepath.Join(root, n), strings.Repeat(n, 1000))
	}
	h := newHandler(t, Config{Root: root, CacheEntries: 3})
	w := h.ForWorker(0).(*worker)
	for _, n := range []string{"a", "b", "c", "a", "d"} {
		serve(t, w, newRequest(GET, "/"+n))
	}
	if _, ok := w.cache.m["/b"]; ok || len(w.cache.m) != 3 {
		t.Errorf("entries %d, /b cached %v: want 3 without the LRU one", len(w.cache.m), ok)
	}
	h2 := newHandler(t, Config{Root: root, CacheBytes: 2500})
	w2 := h2.ForWorker(0).(*worker)
	for _, n := range []string{"a", "b", "c", "d"} {
		serve(t, w2, newRequest(GET, "/"+n))
		if w2.cache.bytes > 2500 {
			t.Errorf("cache bytes %d over the bound", w2.cache.bytes)
		}
	}
	if _, ok := w2.cache.m["/d"]; !ok {
		t.Errorf("most recent entry evicted")
	}
}

// TestConcurrent drives the shared Handler and per-worker handlers from
// several goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	root := makeTree(t)
	h := newHandler(t, Config{Root: root, MaxCachedFile: 1024, Revalidate: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 4 {
		var hh httpcore.Handler = h
		if g%2 == 1 {
			hh = h.ForWorker(g)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				target := []string{"/hello.txt", "/big.bin", "/dir/", "/style.css", "/nope"}[i%5]
				r := serve(t, hh, newRequest(GET, target, "Accept-Encoding: gzip", "Range: bytes=0-1,3-4"))
				if r.status != 206 && r.status != 404 && r.status != 200 {
					t.Errorf("%s: %d", target, r.status)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestNegativeEntriesStayCold: a flood of requests for missing paths does not
// evict the files in use, and a missing path asked for again is cached.
func TestNegativeEntriesStayCold(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "hot"), "hot")
	h := newHandler(t, Config{Root: root, CacheEntries: 8})
	w := h.ForWorker(0).(*worker)
	serve(t, w, newRequest(GET, "/hot"))
	serve(t, w, newRequest(GET, "/favicon.ico"))
	serve(t, w, newRequest(GET, "/favicon.ico")) // promoted by the hit
	for i := range 100 {
		if r := serve(t, w, newRequest(GET, "/missing-"+itoa(i))); r.status != 404 {
			t.Fatalf("missing path answered %d", r.status)
		}
	}
	for _, p := range []string{"/hot", "/favicon.ico"} {
		if r := serve(t, w, newRequest(GET, p)); len(r.ops) != 0 {
			t.Errorf("%s evicted by the 404 flood (ops %v)", p, r.ops)
		}
	}
	if len(w.cache.m) > 8 {
		t.Errorf("%d entries over the bound", len(w.cache.m))
	}
	// A negative entry is cached: the second request needs no op.
	serve(t, w, newRequest(GET, "/again"))
	if r := serve(t, w, newRequest(GET, "/again")); r.status != 404 || len(r.ops) != 0 {
		t.Errorf("negative entry not cached: %d ops %v", r.status, r.ops)
	}
}

// TestReadRaces: short reads continue where they stopped; a file that grows
// or shrinks between statx and read is looked up again, so the cached bytes
// always match the size and ETag.
func TestReadRaces(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	content := strings.Repeat("0123456789", 300)
	t.Run("short reads", func(t *testing.T) {
		writeFile(t, p, content)
		maxRead = 1000
		defer func() { maxRead = 0 }()
		h := newHandler(t, Config{Root: root, MaxCachedFile: 4096})
		r := serve(t, h.ForWorker(0), newRequest(GET, "/f"))
		reads := 0
		for _, k := range r.ops {
			if k == httpcore.OpRead {
				reads++
			}
		}
		if r.status != 200 || string(r.body) != content || reads != 3 {
			t.Errorf("%d, %d bytes, %d reads (ops %v)", r.status, len(r.body), reads, r.ops)
		}
	})
	for _, c := range []struct{ name, changed string }{
		{"grows", content + "more"},
		{"shrinks", content[:100]},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeFile(t, p, content)
			changed := false
			beforeOp = func(op *httpcore.Op) {
				if op.Kind == httpcore.OpRead && !changed {
					changed = true
					writeFile(t, p, c.changed) // same inode, new size
				}
			}
			defer func() { beforeOp = nil }()
			h := newHandler(t, Config{Root: root, MaxCachedFile: 4096})
			r := serve(t, h.ForWorker(0), newRequest(GET, "/f"))
			if r.status != 200 || string(r.body) != c.changed || r.hdr.Get("Content-Length") != itoa(len(c.changed)) {
				t.Errorf("%d, %d bytes, Content-Length %s, want the changed %d bytes", r.status, len(r.body), r.hdr.Get("Content-Length"), len(c.changed))
			}
			if r.hdr.Get("ETag") != etagOf(t, p) {
				t.Errorf("ETag %s, want %s", r.hdr.Get("ETag"), etagOf(t, p))
			}
		})
	}
}

// TestMappedFile: a large file's entry lends its file mapped once a helper
// has mapped it (none before the first ask), the mapping holds the file's
// bytes and outlives the entry's eviction while a response holds it, and
// goes with the last Release; files larger than MaxMappedFile, and a file
// whose size changed since its statx, are never mapped.
func TestMappedFile(t *testing.T) {
	root := t.TempDir()
	big := strings.Repeat("M", 10000)
	writeFile(t, filepath.Join(root, "big"), big)
	writeFile(t, filepath.Join(root, "huge"), strings.Repeat("H", 20000))
	writeFile(t, filepath.Join(root, "grows"), big)
	writeFile(t, filepath.Join(root, "other"), "o")
	h := newHandler(t, Config{Root: root, MaxCachedFile: 100, MaxMappedFile: 15000, CacheEntries: 1})
	w := h.ForWorker(0).(*worker)

	get := func(path string) httpcore.MappedFile {
		t.Helper()
		req := newRequest(GET, path)
		var resp httpcore.Response
		op := w.Serve(&req.req, &resp)
		for op != nil {
			runOp(t, op)
			op = op.Then(op, &resp)
		}
		mf, ok := resp.File.(httpcore.MappedFile)
		if !ok {
			t.Fatalf("%s: FileRef %T is not a MappedFile (head %q)", path, resp.File, resp.Head)
		}
		return mf
	}
	waitMapped := func(mf httpcore.MappedFile) []byte {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if m := mf.Mapped(); m != nil {
				return m
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}

	mf := get("/big")
	if m := mf.Mapped(); m != nil {
		t.Fatalf("mapped at the first ask, on the caller's thread")
	}
	m := waitMapped(mf)
	if string(m) != big {
		t.Fatalf("mapping holds %d bytes, want the file's %d", len(m), len(big))
	}
	if !mappedAt(m) {
		t.Fatalf("mapping not in /proc/self/maps")
	}
	// Evict it: the cache holds one entry; the response's reference
	// keeps the mapping.
	serve(t, w, newRequest(GET, "/other"))
	if _, ok := w.cache.m["/big"]; ok {
		t.Fatalf("/big not evicted")
	}
	if !mappedAt(m) || m[len(m)-1] != 'M' {
		t.Fatalf("mapping gone while a response holds the file")
	}
	// The helper publishes the mapping before it drops the map job's
	// reference, so the test's Release may not be the last: the mapping
	// goes with whichever is.
	mf.Release()
	for deadline := time.Now().Add(5 * time.Second); mappedAt(m) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if mappedAt(m) {
		t.Errorf("mapping still there 5 s after the last Release")
	}

	huge := get("/huge")
	huge.Mapped()
	time.Sleep(50 * time.Millisecond)
	if m := huge.Mapped(); m != nil {
		t.Errorf("a file over MaxMappedFile mapped (%d bytes)", len(m))
	}
	huge.Release()

	grows := get("/grows")
	if err := os.WriteFile(filepath.Join(root, "grows"), []byte(big+"more"), 0o644); err != nil {
		t.Fatal(err)
	}
	grows.Mapped()
	time.Sleep(50 * time.Millisecond)
	if m := grows.Mapped(); m != nil {
		t.Errorf("a file whose size changed since its statx mapped (%d bytes)", len(m))
	}
	grows.Release()
}

// mappedAt reports whether m's first page is mapped in this process.
func mappedAt(m []byte) bool {
	var vec [1]byte
	// mincore fails with ENOMEM on an address that is not mapped.
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), 1, uintptr(unsafe.Pointer(&vec[0])))
	return e == 0
}
