//go:build linux

package server

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// fakeLoop is an ioLoop for driving the connection core without sockets:
// ops are run inline when the test says so.
type fakeLoop struct {
	pending []opResult
	// readMax, when set, makes file reads short: at most readMax bytes.
	readMax int
	// reads logs the buffer lengths of every file read.
	reads [][]int
}

func (f *fakeLoop) run() {}
func (f *fakeLoop) readFile(c *conn, fd int, bufs [][]byte, _ []unix.Iovec, off int64) (int32, bool) {
	var lens []int
	for _, b := range bufs {
		lens = append(lens, len(b))
	}
	f.reads = append(f.reads, lens)
	if f.readMax > 0 {
		var cut [][]byte
		for left := f.readMax; left > 0 && len(bufs) > 0; bufs = bufs[1:] {
			b := bufs[0][:min(left, len(bufs[0]))]
			cut = append(cut, b)
			left -= len(b)
		}
		bufs = cut
	}
	n, err := unix.Preadv(fd, bufs, off)
	if err != nil {
		return -int32(err.(unix.Errno)), true
	}
	return int32(n), true
}
func (f *fakeLoop) wake() {}
func (f *fakeLoop) startOp(ex *exchange, op *httpcore.Op) {
	f.pending = append(f.pending, opResult{ex, op})
}

// newCoreWorker returns a worker with h and a fakeLoop, outside any Server
// start.
func newCoreWorker(t testing.TB, h httpcore.Handler, mod func(*Config)) (*worker, *fakeLoop) {
	cfg := Config{Workers: 1}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessLog != nil {
		s.logw = newLogWriter(cfg.AccessLog, s.cfg.AccessLogFormat, 1)
	}
	w := newWorker(s, 0)
	f := &fakeLoop{}
	w.io = f
	return w, f
}

// drain takes everything queued on c as bytes (files read with pread) and
// reports it sent.
func drain(t testing.TB, w *worker, c *conn) []byte {
	var out []byte
	for _, s := range c.out.pending() {
		if s.file == nil {
			out = append(out, s.b...)
			continue
		}
		t.Fatalf("file segments are not used here")
	}
	w.sent(c, c.out.bytes)
	return out
}

// splitResponses cuts raw HTTP/1.1 responses with Content-Length bodies.
func countResponses(raw []byte) int { return bytes.Count(raw, []byte("HTTP/1.1 ")) }

func TestFeedPipeliningAndSplits(t *testing.T) {
	h := newTestHandler(t)
	w, _ := newCoreWorker(t, h, nil)
	var batch strings.Builder
	for i := range 8 {
		batch.WriteString(get(fmt.Sprintf("/mem/%d", i+1)))
	}
	in := []byte(batch.String())
	var want []byte
	for split := 0; split <= len(in); split += 7 {
		c := w.newConn(100, netip.AddrPort{}, 0)
		w.feed(c, in[:split])
		part := drain(t, w, c)
		w.feed(c, in[split:])
		got := append(part, drain(t, w, c)...)
		if n := countResponses(got); n != 8 {
			t.Fatalf("split %d: %d responses, want 8", split, n)
		}
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			t.Fatalf("split %d: output differs from the unsplit output", split)
		}
		if c.hold != nil {
			t.Fatalf("split %d: idle connection still owns an input buffer", split)
		}
		w.closed(c)
	}
}

func TestFeedOpHoldsLaterRequests(t *testing.T) {
	h := newTestHandler(t)
	w, f := newCoreWorker(t, h, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	w.feed(c, []byte(get("/mem/1")+get("/op/0")+get("/mem/2")))
	first := drain(t, w, c)
	if countResponses(first) != 1 || c.ex == nil || len(f.pending) != 1 {
		t.Fatalf("before the op completes: %d responses, op %v", countResponses(first), c.ex)
	}
	if c.held() == 0 {
		t.Fatal("the request after the op was not kept")
	}
	// The engine performs the op and completes it.
	r := f.pending[0]
	f.pending = nil
	runOp(r.op)
	w.opDone(r.ex, r.op)
	rest := drain(t, w, c)
	if countResponses(rest) != 2 || !bytes.Contains(rest, []byte("op 0")) {
		t.Fatalf("after the op: %q", rest)
	}
	if i, j := bytes.Index(rest, []byte("op 0")), bytes.LastIndex(rest, []byte("HTTP/1.1 ")); i > j {
		t.Fatal("answers out of order")
	}
	if h.then.Load() != 1 {
		t.Fatalf("Then ran %d times", h.then.Load())
	}
}

func TestFeedCloseWhileOpPending(t *testing.T) {
	h := newTestHandler(t)
	w, f := newCoreWorker(t, h, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	w.feed(c, []byte(get("/op/0")))
	slot := c.slot
	w.closed(c)
	if w.nconns != 0 {
		t.Fatalf("nconns %d after close", w.nconns)
	}
	for _, s := range w.freeSlots {
		if s == slot {
			t.Fatal("slot reused while its op is pending")
		}
	}
	r := f.pending[0]
	runOp(r.op)
	w.opDone(r.ex, r.op)
	if h.then.Load() != 0 || h.aban.Load() != 1 {
		t.Fatalf("then %d abandon %d, want 0 and 1", h.then.Load(), h.aban.Load())
	}
	if w.pendingOps != 0 || len(w.freeSlots) != 1 {
		t.Fatalf("pendingOps %d, free slots %d", w.pendingOps, len(w.freeSlots))
	}
}

func TestFeedErrors(t *testing.T) {
	h := newTestHandler(t)
	for _, tc := range []struct {
		name, in string
		status   string
	}{
		{"malformed", "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n" + get("/mem/1"), "400"},
		{"version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", "505"},
		{"long line", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n\r\n", "414"},
		{"unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", "501"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newCoreWorker(t, h, nil)
			c := w.newConn(100, netip.AddrPort{}, 0)
			w.feed(c, []byte(tc.in))
			out := drain(t, w, c)
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 "+tc.status+" ")) {
				t.Fatalf("answer %q, want %s", out, tc.status)
			}
			if tc.status != "501" {
				if countResponses(out) != 1 || !c.wantClose() {
					t.Fatalf("%d answers, wantClose %v: the connection must close after the error", countResponses(out), c.wantClose())
				}
			}
		})
	}
}

func TestFeedHighWater(t *testing.T) {
	h := newTestHandler(t)
	w, _ := newCoreWorker(t, h, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	w.feed(c, []byte(get(fmt.Sprintf("/mem/%d", outHighWater))+get("/mem/3")))
	if n := len(c.out.pending()); n != 2 { // head + body by reference
		t.Fatalf("%d segments queued, want 2 (second request held back)", n)
	}
	if c.held() == 0 {
		t.Fatal("held-back request not kept")
	}
	w.sent(c, c.out.bytes)
	out := drain(t, w, c)
	if countResponses(out) != 1 || !bytes.HasSuffix(out, h.big[:3]) {
		t.Fatalf("after the queue drained: %q", out)
	}
}

func TestFeedAllocations(t *testing.T) {
	h := newTestHandler(t)
	w, _ := newCoreWorker(t, h, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	var batch strings.Builder
	for range 16 {
		batch.WriteString("GET /mem/3500 HTTP/1.1\r\nHost: bench\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n")
	}
	in := []byte(batch.String())
	// Split in two, so the tail buffer path runs too.
	half := len(in)/2 + 5
	cycle := func() {
		w.feed(c, in[:half])
		w.sent(c, c.out.bytes)
		w.feed(c, in[half:])
		w.sent(c, c.out.bytes)
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Fatalf("feed + queue + send of 16 pipelined requests: %v allocations, want 0", n)
	}
}

func TestFeedAllocationsAccessLog(t *testing.T) {
	h := newTestHandler(t)
	w, _ := newCoreWorker(t, h, func(c *Config) { c.AccessLog = io.Discard })
	defer w.s.logw.close()
	c := w.newConn(100, netip.MustParseAddrPort("192.0.2.1:1234"), 0)
	in := []byte(strings.Repeat("GET /mem/100 HTTP/1.1\r\nHost: bench\r\n\r\n", 16))
	cycle := func() {
		w.feed(c, in)
		w.sent(c, c.out.bytes)
	}
	cycle()
	// Buffers are handed over as they fill (every ~40 runs here) and come
	// back from the writer; AllocsPerRun's integer average tolerates a rare
	// hand-over that finds no spare back yet, not a per-request allocation.
	if n := testing.AllocsPerRun(200, cycle); n > 0 {
		t.Fatalf("with the access log on: %v allocations per 16 requests, want 0", n)
	}
	if w.alog == nil || w.s.logw.dropped.Load() != 0 {
		t.Fatalf("log lines dropped with a writer that keeps up: %d", w.s.logw.dropped.Load())
	}
}

func BenchmarkFeedPipelined16(b *testing.B) {
	h := newTestHandler(b)
	w, _ := newCoreWorker(b, h, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	var batch strings.Builder
	for range 16 {
		batch.WriteString("GET /mem/3500 HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	}
	in := []byte(batch.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		w.feed(c, in)
		w.sent(c, c.out.bytes)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/req")
}

func BenchmarkFeedOne(b *testing.B) {
	h := newTestHandler(b)
	w, _ := newCoreWorker(b, h, func(c *Config) {})
	c := w.newConn(100, netip.AddrPort{}, 0)
	in := []byte("GET /mem/3500 HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		w.feed(c, in)
		w.sent(c, c.out.bytes)
	}
}

// completeOps runs the ops a fakeLoop collected, as an engine would.
func completeOps(w *worker, f *fakeLoop) {
	for len(f.pending) > 0 {
		r := f.pending[0]
		f.pending = f.pending[1:]
		runOp(r.op)
		w.opDone(r.ex, r.op)
	}
}

// TestFeedAllocationsFiles: with the files handler, a pipelined batch of
// cache hits (small files from memory, a large one through its FileRef) is
// parsed, served and queued without allocating.
func TestFeedAllocationsFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "small.css"), pattern(3500), 0o644)
	os.WriteFile(filepath.Join(dir, "large.bin"), pattern(1<<20), 0o644)
	fh, err := files.New(files.Config{Root: dir, Revalidate: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w, f := newCoreWorker(t, fh, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	var batch strings.Builder
	for i := range 16 {
		p := "/small.css"
		if i%8 == 7 {
			p = "/large.bin"
		}
		batch.WriteString("GET " + p + " HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n")
	}
	in := []byte(batch.String())
	// Warm the cache: misses go through ops.
	for range 3 {
		w.feed(c, in)
		for c.ex != nil || !c.out.empty() {
			completeOps(w, f)
			w.sent(c, c.out.bytes)
		}
	}
	cycle := func() {
		w.feed(c, in)
		if c.ex != nil {
			t.Fatal("cache miss after warm-up")
		}
		w.sent(c, c.out.bytes)
	}
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Fatalf("16 pipelined cache hits: %v allocations, want 0", n)
	}
}

func BenchmarkFeedFilesPipelined16(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), pattern(3500), 0o644)
	fh, err := files.New(files.Config{Root: dir, Revalidate: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	w, f := newCoreWorker(b, fh, nil)
	c := w.newConn(100, netip.AddrPort{}, 0)
	in := []byte(strings.Repeat("GET /index.html HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n", 16))
	for range 3 { // warm the cache
		w.feed(c, in)
		for c.ex != nil || !c.out.empty() {
			completeOps(w, f)
			w.sent(c, c.out.bytes)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		w.feed(c, in)
		w.sent(c, c.out.bytes)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/req")
}
