//go:build linux

package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// forEachEngine runs f as a subtest for every registered engine the kernel
// can run.
func forEachEngine(t *testing.T, f func(t *testing.T, backend string)) {
	t.Helper()
	for _, name := range Engines() {
		t.Run(name, func(t *testing.T) {
			if name == BackendUring {
				if ok, why := UringAvailable(); !ok {
					t.Skip("uring engine unavailable: " + why)
				}
			}
			f(t, name)
		})
	}
}

// startServer starts h on 127.0.0.1:0 with backend and two workers; mod
// adjusts the configuration. The server is shut down when the test ends.
func startServer(t testing.TB, backend string, h httpcore.Handler, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		Listen:  []string{"127.0.0.1:0"},
		Backend: backend,
		Workers: 2,
	}
	if e2eTLS {
		certs, err := tlsrec.NewCerts([]tlsrec.Pair{testTLSFixture(t).pair})
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLSListen = []string{"127.0.0.1:0"}
		cfg.TLS = &TLSConfig{Certs: certs}
	}
	if mod != nil {
		mod(&cfg)
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
	if e2eTLS {
		tlsServers.Store(s, struct{}{})
		t.Cleanup(func() { tlsServers.Delete(s) })
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func addrOf(s *Server) string { return s.Addrs()[0].String() }

// pattern returns n bytes of a deterministic, position-dependent pattern.
func pattern(n int) []byte {
	var blk [512]byte
	for i := range blk {
		blk[i] = byte(i * 7)
	}
	b := make([]byte, n)
	for i := 0; i < n; i += len(blk) { // copy, not a byte loop: fast under -race
		copy(b[i:], blk[:])
		b[i] = byte(i >> 9) // every block differs: misordered blocks show
	}
	return b
}

// testHandler serves in-memory bodies, real files through FileRefs, and
// answers that need an OpFunc, and counts FileRef and Op lifetimes.
//
//	/mem/N        N bytes of pattern(N) (the body aliases shared memory)
//	/file/NAME    file NAME of dir through a FileRef
//	/mapped/NAME  the same through a MappedFile (mapped at once)
//	/op/MS        an OpFunc sleeping MS milliseconds, then 200 "op MS"
//	/echo...      200 with "METHOD TARGET" as the body
type testHandler struct {
	dir  string
	big  []byte
	refs atomic.Int64 // FileRefs handed out
	rels atomic.Int64 // FileRefs released
	ops  atomic.Int64 // ops handed to the server (/op/ requests served)
	then atomic.Int64 // ops continued
	aban atomic.Int64 // ops abandoned
}

var (
	bigOnce    sync.Once
	bigPattern []byte
)

func newTestHandler(t testing.TB) *testHandler {
	bigOnce.Do(func() { bigPattern = pattern(40 << 20) })
	return &testHandler{dir: t.TempDir(), big: bigPattern}
}

type testRef struct {
	fd   int
	h    *testHandler
	once atomic.Bool
}

func (r *testRef) Fd() int { return r.fd }
func (r *testRef) Release() {
	if !r.once.CompareAndSwap(false, true) {
		panic("FileRef released twice")
	}
	closeFd(r.fd)
	r.h.rels.Add(1)
}

// testMapRef is a testRef whose file is mapped; the mapping goes with the
// release, so that a send from it after the release fails.
type testMapRef struct {
	testRef
	m []byte
}

func (r *testMapRef) Mapped() []byte { return r.m }
func (r *testMapRef) Release() {
	unix.Munmap(r.m)
	r.testRef.Release()
}

func (h *testHandler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	p := string(req.Path) // test handler: allocation is fine here
	switch {
	case strings.HasPrefix(p, "/mem/"):
		n, err := strconv.Atoi(p[5:])
		if err != nil || n > len(h.big) {
			httpcore.WriteError(resp, 404)
			return nil
		}
		resp.Status = 200
		resp.Head = httpcore.AppendStatusLine(resp.Head, 200)
		resp.Head = httpcore.AppendContentLength(resp.Head, int64(n))
		resp.Body = h.big[:n]
	case strings.HasPrefix(p, "/file/"), strings.HasPrefix(p, "/mapped/"):
		f, err := os.Open(h.dir + "/" + p[strings.IndexByte(p[1:], '/')+2:])
		if err != nil {
			httpcore.WriteError(resp, 404)
			return nil
		}
		st, _ := f.Stat()
		fd, err := dupCloexec(int(f.Fd()))
		f.Close()
		if err != nil {
			httpcore.WriteError(resp, 500)
			return nil
		}
		h.refs.Add(1)
		resp.Status = 200
		resp.Head = httpcore.AppendStatusLine(resp.Head, 200)
		resp.Head = httpcore.AppendContentLength(resp.Head, st.Size())
		resp.File = &testRef{fd: fd, h: h}
		if strings.HasPrefix(p, "/mapped/") && st.Size() > 0 {
			m, err := unix.Mmap(fd, 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
			if err != nil {
				panic(err)
			}
			resp.File = &testMapRef{testRef{fd: fd, h: h}, m}
		}
		resp.Off, resp.Len = 0, st.Size()
	case strings.HasPrefix(p, "/op/"):
		ms, _ := strconv.Atoi(p[4:])
		h.ops.Add(1)
		op := &httpcore.Op{Kind: httpcore.OpFunc}
		op.Func = func() { time.Sleep(time.Duration(ms) * time.Millisecond) }
		op.Then = func(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
			h.then.Add(1)
			body := []byte("op " + strconv.Itoa(ms))
			resp.Status = 200
			resp.Head = httpcore.AppendStatusLine(resp.Head, 200)
			resp.Head = httpcore.AppendContentLength(resp.Head, int64(len(body)))
			resp.Body = body
			return nil
		}
		op.Abandon = func(*httpcore.Op) { h.aban.Add(1) }
		return op
	case strings.HasPrefix(p, "/echo"):
		body := []byte(string(req.MethodName) + " " + string(req.Target))
		resp.Status = 200
		resp.Head = httpcore.AppendStatusLine(resp.Head, 200)
		resp.Head = httpcore.AppendContentLength(resp.Head, int64(len(body)))
		resp.Body = body
	default:
		httpcore.WriteError(resp, 404)
	}
	return nil
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawConn is a client connection for byte-level tests.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, s *Server) *rawConn {
	t.Helper()
	c, err := dialConn(t, s, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioDeadline()))
	return &rawConn{Conn: c, r: bufio.NewReaderSize(c, 64<<10)}
}

func (c *rawConn) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// response reads one response to a request with method.
func (c *rawConn) response(t testing.TB, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	return resp, body
}

// expectEOF checks that the server closes the connection within d.
func (c *rawConn) expectEOF(t testing.TB, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c.r)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", d, b)
	}
	if len(b) > 0 {
		t.Fatalf("unexpected bytes before close: %q", b)
	}
}

func get(path string) string {
	return fmt.Sprintf("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path)
}

// syncBuffer is a goroutine-safe bytes buffer for the access log.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.b = append(s.b, p...)
	s.mu.Unlock()
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }

// emulated says the tests run under software emulation (the kernel matrix
// sets RINGHTTPD_TEST_EMULATED), where everything, and TLS's ciphers most,
// runs about ten times slower: deadlines stretch, volumes shrink.
var emulated = os.Getenv("RINGHTTPD_TEST_EMULATED") != ""

// ioDeadline is a client's deadline for one exchange of a test.
func ioDeadline() time.Duration {
	if emulated {
		return 60 * time.Second
	}
	return 10 * time.Second
}

// The end-to-end scenarios run over plaintext and over TLS
// (forEachEngineTransport). While a TLS subtest runs, startServer adds a
// TLS listener and remembers the server; dialRaw, dialConn and the HTTP
// client of e2eClient then speak TLS to it. Tests of this package do not
// run in parallel, so one flag says which transport the current subtest
// wants.
var (
	e2eTLS     bool
	tlsServers sync.Map // *Server -> struct{}: its scenarios dial TLS
)

// forEachEngineTransport runs f for every engine, over plaintext ("plain")
// and over TLS ("tls").
func forEachEngineTransport(t *testing.T, f func(t *testing.T, backend string)) {
	t.Helper()
	forEachEngine(t, func(t *testing.T, backend string) {
		for _, tr := range []string{"plain", "tls"} {
			t.Run(tr, func(t *testing.T) {
				e2eTLS = tr == "tls"
				defer func() { e2eTLS = false }()
				f(t, backend)
			})
		}
	})
}

// overTLS reports whether s's scenarios speak TLS.
func overTLS(s *Server) bool {
	_, ok := tlsServers.Load(s)
	return ok
}

// dialConn opens a client connection to s, TLS handshake done when s's
// scenarios speak TLS.
func dialConn(t testing.TB, s *Server, timeout time.Duration) (net.Conn, error) {
	if !overTLS(s) {
		return net.DialTimeout("tcp", addrOf(s), timeout)
	}
	nc, err := net.DialTimeout("tcp", tlsAddr(s), timeout)
	if err != nil {
		return nil, err
	}
	c := tls.Client(nc, clientTLS(t))
	c.SetDeadline(time.Now().Add(timeout))
	if err := c.Handshake(); err != nil {
		nc.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// tcpOf returns the TCP connection under c.
func tcpOf(c net.Conn) *net.TCPConn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn().(*net.TCPConn)
	}
	return c.(*net.TCPConn)
}

// e2eClient returns an HTTP/1.1 client and the base URL for s.
func e2eClient(t testing.TB, s *Server) (*http.Client, string) {
	if !overTLS(s) {
		return &http.Client{Timeout: 10 * time.Second}, "http://" + addrOf(s)
	}
	tr := &http.Transport{TLSClientConfig: clientTLS(t), ForceAttemptHTTP2: false}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}, "https://localhost:" + portOf(tlsAddr(s))
}
