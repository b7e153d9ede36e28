//go:build linux

package server

// Helpers of the reliability tests (soak_*_test.go, fault_*_test.go). They
// are kept apart from the end-to-end tests' helpers (prefix sk) so the two
// suites can change independently.
//
// Long forms run with RINGHTTPD_SOAK=long; the default is the short form
// that CI runs.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
)

// skLong reports whether the long soak forms were asked for.
func skLong() bool { return os.Getenv("RINGHTTPD_SOAK") == "long" }

// skPick returns short or long by skLong.
func skPick[T any](short, long T) T {
	if skLong() {
		return long
	}
	return short
}

// skBackends runs f once per engine as a subtest. The uring subtest skips
// (with the reason) where the uring engine cannot run, e.g. under a
// RINGHTTPD_URING_MASK that removes a feature it cannot do without.
//
// RINGHTTPD_SOAK_BACKENDS (comma separated) narrows the engines, e.g. to
// "uring" when scripts/mask-matrix.sh runs the suite once per kernel-feature
// mask (the mask does not change the epoll engine).
func skBackends(t *testing.T, f func(t *testing.T, backend string)) {
	only := os.Getenv("RINGHTTPD_SOAK_BACKENDS")
	for _, b := range []string{BackendEpoll, BackendUring} {
		t.Run(b, func(t *testing.T) {
			if only != "" && !slices.Contains(strings.Split(only, ","), b) {
				t.Skip("RINGHTTPD_SOAK_BACKENDS=" + only)
			}
			if b == BackendUring {
				if ok, why := UringAvailable(); !ok {
					t.Skip("uring engine unavailable: " + why)
				}
			}
			f(t, b)
		})
	}
}

// skRoot creates a directory with the given files (name -> content).
func skRoot(t testing.TB, fs map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range fs {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// skStart serves root with cfg on backend at a random loopback port and
// returns the server and its address. The server is shut down (bounded) at
// the end of the test.
func skStart(t testing.TB, backend string, cfg Config, fcfg files.Config) (*Server, string) {
	t.Helper()
	h, err := files.New(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = []string{"127.0.0.1:0"}
	cfg.Backend = backend
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	s, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if got := s.Backend(); got != backend {
		t.Fatalf("Backend() = %q, want %q", got, backend)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		h.Close()
	})
	return s, s.Addrs()[0].String()
}

// skResp is one parsed response.
type skResp struct {
	status int
	head   string
	clen   int64 // -1 when absent
	body   []byte
	close  bool // Connection: close
}

// skErrTruncated is returned when the connection ended inside a response.
var skErrTruncated = errors.New("truncated response")

// skReadResp reads one response (for a request of method) from r. It
// returns io.EOF when the connection ended before the first byte of the
// response, skErrTruncated (wrapped) when it ended inside it.
func skReadResp(r *bufio.Reader, method string) (*skResp, error) {
	return skReadRespInto(r, method, nil)
}

// skReadRespInto is skReadResp reading the body into *buf (grown when too
// small) when buf is not nil: the body is then valid until the next call.
// A long soak's clients reuse their buffers so that the test process's own
// garbage does not dwarf the server's (see skCheckMemory).
func skReadRespInto(r *bufio.Reader, method string, buf *[]byte) (*skResp, error) {
	var head []byte
	for {
		line, err := r.ReadSlice('\n')
		head = append(head, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if len(head) == 0 && (err == io.EOF || skIsReset(err)) {
				return nil, io.EOF
			}
			if len(head) == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("%w: head %q: %w", skErrTruncated, head, err)
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') && len(head) > len(line) {
			break
		}
		if len(head) > 64<<10 {
			return nil, fmt.Errorf("response head too large")
		}
	}
	resp := &skResp{head: string(head), clen: -1}
	if len(head) < 12 || !bytes.HasPrefix(head, []byte("HTTP/1.1 ")) {
		return nil, fmt.Errorf("bad status line %q", head)
	}
	st, err := strconv.Atoi(string(head[9:12]))
	if err != nil {
		return nil, fmt.Errorf("bad status line %q", head)
	}
	resp.status = st
	for _, l := range strings.Split(resp.head, "\r\n")[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "content-length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad Content-Length %q", v)
			}
			resp.clen = n
		case "connection":
			resp.close = strings.EqualFold(v, "close")
		}
	}
	if method == "HEAD" || st == 304 || st == 204 || st < 200 {
		return resp, nil
	}
	if resp.clen < 0 {
		return nil, fmt.Errorf("no Content-Length in %q", resp.head)
	}
	if buf == nil || int64(cap(*buf)) < resp.clen {
		resp.body = make([]byte, resp.clen)
		if buf != nil {
			*buf = resp.body
		}
	} else {
		resp.body = (*buf)[:resp.clen]
	}
	if n, err := io.ReadFull(r, resp.body); err != nil {
		resp.body = resp.body[:n]
		return resp, fmt.Errorf("%w: body %d of %d bytes: %w", skErrTruncated, n, resp.clen, err)
	}
	return resp, nil
}

// skIsTimeout reports whether err is (or wraps) a deadline expiry.
func skIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func skIsReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

// skGet does one GET of path on a fresh connection and returns the
// response and the time it took.
func skGet(addr, path string, timeout time.Duration) (*skResp, time.Duration, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	c.SetDeadline(t0.Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path); err != nil {
		return nil, 0, err
	}
	r, err := skReadResp(bufio.NewReader(c), "GET")
	return r, time.Since(t0), err
}

// skUsage is a process's resource use at one moment.
type skUsage struct {
	fds        int   // open descriptors
	sockets    int   // of which sockets
	pipes      int   // of which pipes
	rss        int64 // resident bytes
	rssAnon    int64 // of which anonymous (heap, stacks, runtime metadata)
	rssFile    int64 // of which file-backed (mostly the binary's text pages)
	goroutines int   // in-process only
	heap       int64 // live Go heap after a GC; in-process only
	threads    int
	ringPolls  int // armed poll-driven io_uring requests (fdinfo PollList)
	rings      int
}

func (u skUsage) String() string {
	return fmt.Sprintf("fds=%d (sockets %d, pipes %d) rss=%.1fMiB (anon %.1f, file %.1f) heap=%.1fMiB goroutines=%d threads=%d rings=%d ring-polls=%d",
		u.fds, u.sockets, u.pipes, float64(u.rss)/(1<<20), float64(u.rssAnon)/(1<<20), float64(u.rssFile)/(1<<20),
		float64(u.heap)/(1<<20), u.goroutines, u.threads, u.rings, u.ringPolls)
}

// skMeasure reads pid's usage from /proc ("self" for this process, after
// a GC that returns freed memory to the OS so RSS means live memory).
func skMeasure(pid string) skUsage {
	var u skUsage
	if pid == "self" {
		runtime.GC()
		debug.FreeOSMemory()
		u.goroutines = runtime.NumGoroutine()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		u.heap = int64(ms.HeapAlloc)
	}
	base := "/proc/" + pid
	ents, _ := os.ReadDir(base + "/fd")
	u.fds = len(ents)
	for _, e := range ents {
		l, err := os.Readlink(base + "/fd/" + e.Name())
		switch {
		case strings.HasPrefix(l, "socket:"):
			u.sockets++
		case strings.HasPrefix(l, "pipe:"):
			u.pipes++
		}
		if err != nil || l != "anon_inode:[io_uring]" {
			continue
		}
		u.rings++
		u.ringPolls += skRingPolls(base + "/fdinfo/" + e.Name())
	}
	if b, err := os.ReadFile(base + "/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "VmRSS:":
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				u.rss = kb << 10
			case "RssAnon:":
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				u.rssAnon = kb << 10
			case "RssFile:":
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				u.rssFile = kb << 10
			case "Threads:":
				u.threads, _ = strconv.Atoi(f[1])
			}
		}
	}
	return u
}

// skRingPolls counts the requests listed under "PollList:" in an io_uring's
// fdinfo: the operations armed and waiting on a socket or eventfd (accepts,
// receives, sends waiting for room, the wake-up read).
func skRingPolls(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	_, after, ok := strings.Cut(string(b), "PollList:")
	if !ok {
		return 0
	}
	n := 0
	for _, l := range strings.Split(after, "\n")[1:] {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "op=") {
			n++
			continue
		}
		if l != "" && !strings.HasPrefix(l, "op=") {
			break
		}
	}
	return n
}

// skServerConns counts TCP sockets (not listening, not TIME_WAIT) whose
// local port is port and that a process still holds (inode not 0; an
// orphan, closed by the server but still delivering its last bytes, has
// none): the server side of connections, whether or not the server has
// accepted them yet.
func skServerConns(port int) int {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 4 {
				continue
			}
			_, p, ok := strings.Cut(fs[1], ":")
			if !ok {
				continue
			}
			lp, err := strconv.ParseInt(p, 16, 32)
			if err != nil || int(lp) != port {
				continue
			}
			if st := fs[3]; st == "0A" || st == "06" { // LISTEN, TIME_WAIT
				continue
			}
			if len(fs) < 10 || fs[9] == "0" { // orphan
				continue
			}
			n++
		}
	}
	return n
}

// skPort returns addr's port.
func skPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// skWaitFor polls cond every 20 ms until it holds or d passes.
func skWaitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// skWithin reports whether got is within frac of base, or within slack of
// it (small absolute numbers: a few descriptors of noise are not a leak).
func skWithin(base, got, slack int64, frac float64) bool {
	d := got - base
	if d < 0 {
		d = -d
	}
	return d <= slack || float64(d) <= frac*float64(base)
}

// skLatencies summarizes durations: max and 99th percentile.
func skLatencies(ds []time.Duration) (maxd, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)-1], s[(len(s)*99)/100]
}

// skCheckMemory fails t when memory grew from before to after by more than
// 5 % (plus slack bytes): RSS in a normal build; the live Go heap in a
// -race build, whose RSS includes shadow memory that is never returned
// (RSS is then only logged). Mapped memory outside the Go heap (rings,
// buffer rings) shows in RSS only: run without -race (scripts/soak.sh) to
// check it.
func skCheckMemory(t *testing.T, before, after skUsage, slack int64) {
	t.Helper()
	mib := func(v int64) float64 { return float64(v) / (1 << 20) }
	// Only growth is a leak: memory given back (the scavenger, pools
	// trimmed after the load) is what a server should do.
	if !skRace && after.rss > before.rss && !skWithin(before.rss, after.rss, slack, 0.05) {
		t.Errorf("RSS %.1f MiB -> %.1f MiB", mib(before.rss), mib(after.rss))
	}
	if before.heap > 0 && after.heap > before.heap && !skWithin(before.heap, after.heap, slack, 0.05) {
		t.Errorf("live heap %.1f MiB -> %.1f MiB", mib(before.heap), mib(after.heap))
	}
}

// skWarmRecvBuffers makes n requests, each in its own receive, over 16
// keep-alive connections, so that a uring worker has used every buffer of
// its provided-buffer ring (2048 per worker, mapped once and reused: their
// pages count in RSS from their first use on) before a baseline is taken.
func skWarmRecvBuffers(t testing.TB, addr, path string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			req := "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"
			for i := 0; i < n/16; i++ {
				if _, err := io.WriteString(c, req); err != nil {
					failed.Add(1)
					return
				}
				if _, err := skReadResp(br, "GET"); err != nil {
					failed.Add(1)
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("warming the receive buffers: %d connections failed", failed.Load())
	}
}

// skCheckFDs fails t when descriptors other than pipes are not back to
// their baseline (within 5 %, or 2), or when pipes grew past maxPipes: the
// uring engine keeps up to 64 emptied splice pipes per worker for reuse
// (a bounded cache, like the file cache).
func skCheckFDs(t *testing.T, before, after skUsage, maxPipes int) {
	t.Helper()
	if !skWithin(int64(before.fds-before.pipes), int64(after.fds-after.pipes), 2, 0.05) {
		t.Errorf("open descriptors other than pipes %d -> %d (sockets %d -> %d)", before.fds-before.pipes, after.fds-after.pipes, before.sockets, after.sockets)
	}
	if after.pipes > before.pipes && after.pipes > maxPipes {
		t.Errorf("pipe descriptors %d -> %d, more than the pipe pool's bound %d", before.pipes, after.pipes, maxPipes)
	}
}
