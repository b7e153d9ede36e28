package tlsrec

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEnv is a certificate store (ECDSA default "ec.example", RSA
// "rsa.example") and a Handshaker over ServerConfig.
type testEnv struct {
	certs *Certs
	d     *Handshaker
	roots *tls.Config
}

func newEnv(t testing.TB, opt HandshakerOptions, alpn ...string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	certs, err := NewCerts([]Pair{
		writeCert(t, dir, "ec", certOpts{names: []string{"ec.example"}}),
		writeCert(t, dir, "rsa", certOpts{names: []string{"rsa.example"}, rsa: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(alpn) == 0 {
		alpn = []string{"http/1.1"}
	}
	return &testEnv{certs: certs, d: NewHandshaker(ServerConfig(certs, alpn), opt),
		roots: &tls.Config{RootCAs: getCA(t).pool}}
}

func (e *testEnv) client(name string) *tls.Config {
	c := e.roots.Clone()
	c.ServerName = name
	return c
}

// connResult is what serveConn saw on one connection.
type connResult struct {
	sess     *Session
	leftover int // len(sess.Leftover) at the handshake's end
	err      error
	requests []string
}

// serveConn is a model engine loop for one connection (the glue the
// server's engines follow): socket bytes come from a reader goroutine, the
// loop never waits for the handshake, only for input or notify. After the
// handshake the userspace record layer serves a line protocol: each line
// "X" gets "echo X\n"; "big N" gets N bytes of 'b' then "\n"; "quit" gets
// "bye\n" and a close_notify.
func serveConn(d *Handshaker, nc net.Conn) connResult {
	defer nc.Close()
	var res connResult
	data := make(chan []byte, 64)
	go func() {
		for {
			buf := make([]byte, 16<<10)
			n, err := nc.Read(buf)
			if n > 0 {
				data <- buf[:n]
			}
			if err != nil {
				close(data)
				return
			}
		}
	}()
	wake := make(chan struct{}, 1)
	h := d.Start(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	var out []byte
	for {
		// Output, then Done: Done is ok only once every byte was taken.
		if out = h.Output(out[:0]); len(out) > 0 {
			nc.Write(out)
		}
		s, err, ok := h.Done()
		if ok {
			if err != nil {
				res.err = err
				return res
			}
			res.sess = s
			break
		}
		select {
		case p, ok := <-data:
			if !ok {
				h.Abort()
				res.err = ErrAborted
				return res
			}
			h.Feed(p)
		case <-wake:
		}
	}
	res.leftover = len(res.sess.Leftover)
	var c Conn
	if err := c.Init(res.sess); err != nil {
		res.err = err
		return res
	}
	pend := res.sess.Leftover
	var lines []byte // plaintext not yet a whole line
	for {
		plain, n, err := c.Open(pend)
		lines = append(lines, plain...)
		pend = append(pend[:0], pend[n:]...)
		out = out[:0]
		for {
			i := bytes.IndexByte(lines, '\n')
			if i < 0 {
				break
			}
			line := string(lines[:i])
			lines = lines[i+1:]
			res.requests = append(res.requests, line)
			var resp []byte
			if line == "quit" {
				out = c.CloseNotify(c.Seal(out, []byte("bye\n")))
				nc.Write(out)
				return res
			}
			if n, ok := strings.CutPrefix(line, "big "); ok {
				var size int
				fmt.Sscan(n, &size)
				resp = append(bytes.Repeat([]byte{'b'}, size), '\n')
			} else {
				resp = []byte("echo " + line + "\n")
			}
			out = c.Seal(out, resp)
		}
		if c.Pending() {
			out = c.Seal(out, nil)
		}
		if err == io.EOF {
			out = c.CloseNotify(out)
		} else if err != nil {
			out = c.Seal(out, nil)
			res.err = err
		}
		if len(out) > 0 {
			nc.Write(out)
		}
		if err != nil {
			return res
		}
		p, ok := <-data
		if !ok {
			return res
		}
		pend = append(pend, p...)
	}
}

// listen serves every accepted connection with serveConn and reports
// their results on the returned channel.
func listen(t testing.TB, d *Handshaker) (addr string, results chan connResult) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	results = make(chan connResult, 64)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { results <- serveConn(d, nc) }()
		}
	}()
	return ln.Addr().String(), results
}

func recv(t testing.TB, results chan connResult) connResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("server connection did not finish")
	}
	return connResult{}
}

// exchange sends lines (all in one Write when together, else one Write
// each) and checks the echoes.
func exchange(t *testing.T, c *tls.Conn, lines []string, together bool) {
	t.Helper()
	if together {
		if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, l := range lines {
			if _, err := c.Write([]byte(l + "\n")); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := bufio.NewReader(c)
	for _, l := range lines {
		got, err := r.ReadString('\n')
		if err != nil || got != "echo "+l+"\n" {
			t.Fatalf("got %q %v, want echo %s", got, err, l)
		}
	}
}

// goSuites are what a crypto/tls client can be made to negotiate.
var goSuites = []struct {
	name  string
	vers  uint16
	suite uint16
	sni   string
}{
	{"1.3-AES128", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, "ec.example"},
	{"1.2-ECDSA-AES128", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ec.example"},
	{"1.2-ECDSA-AES256", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ec.example"},
	{"1.2-ECDSA-ChaCha", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ec.example"},
	{"1.2-RSA-AES128", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "rsa.example"},
	{"1.2-RSA-AES256", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "rsa.example"},
	{"1.2-RSA-ChaCha", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "rsa.example"},
}

// TestHandshakeGoClient runs crypto/tls clients through the driver and
// the record layer, every suite a Go client can choose and both versions:
// full and resumed handshakes, pipelined lines in one record, one line over
// many records, a large answer, and close_notify both ways.
func TestHandshakeGoClient(t *testing.T) {
	env := newEnv(t, HandshakerOptions{}, "h2", "http/1.1")
	addr, results := listen(t, env.d)
	for _, gs := range goSuites {
		t.Run(gs.name, func(t *testing.T) {
			cfg := env.client(gs.sni)
			cfg.MaxVersion = gs.vers
			cfg.NextProtos = []string{"h2", "http/1.1"}
			if gs.vers == tls.VersionTLS12 {
				cfg.CipherSuites = []uint16{gs.suite}
			}
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for _, resume := range []bool{false, true} {
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(20 * time.Second)) // a failure must not hang
				st := c.ConnectionState()
				if st.DidResume != resume {
					t.Fatalf("client DidResume=%v, want %v", st.DidResume, resume)
				}
				exchange(t, c, []string{"a", "b", "c"}, true) // pipelined, one record
				exchange(t, c, []string{"d", "e"}, false)     // one record each
				long := strings.Repeat("L", 40000)            // many records: 3 from one Write
				exchange(t, c, []string{long}, false)
				var small []string // one line over many small records
				line := strings.Repeat("s", 3000)
				for i := 0; i < len(line); i += 100 {
					c.Write([]byte(line[i : i+100]))
				}
				small = append(small, line)
				exchange(t, c, nil, false)
				r := bufio.NewReader(c)
				c.Write([]byte("\n"))
				if got, _ := r.ReadString('\n'); got != "echo "+small[0]+"\n" {
					t.Fatalf("long line over many records: got %d bytes", len(got))
				}
				c.Write([]byte("big 100000\n"))
				got, err := r.ReadString('\n')
				if err != nil || len(got) != 100001 {
					t.Fatalf("big answer: %d bytes, %v", len(got), err)
				}
				c.Close() // close_notify
				res := recv(t, results)
				if res.err != nil {
					t.Fatalf("server: %v", res.err)
				}
				s := res.sess
				if s.Version != gs.vers || s.CipherSuite != gs.suite || s.ALPN != "h2" || s.ServerName != gs.sni || s.Resumed != resume {
					t.Fatalf("session %s %s alpn=%q sni=%q resumed=%v", tls.VersionName(s.Version), tls.CipherSuiteName(s.CipherSuite), s.ALPN, s.ServerName, s.Resumed)
				}
				if len(res.requests) != 8 {
					t.Fatalf("server saw %d requests", len(res.requests))
				}
			}
		})
	}
}

// holdConn passes the first write (the ClientHello) through and holds
// every later one until flush, so the client's last handshake flight and
// its first request reach the server in one segment.
type holdConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	pass   bool // hold nothing
	held   []byte
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes++
	if h.writes == 1 || h.pass {
		return h.Conn.Write(p)
	}
	h.held = append(h.held, p...)
	return len(p), nil
}

func (h *holdConn) flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.Conn.Write(h.held)
	h.held = nil
	return err
}

// TestRequestWithFinished: the first requests arrive in the same segment
// as the client's Finished; they must be served from Session.Leftover.
// TLS 1.3 full and resumed; TLS 1.2 resumed (in a full TLS 1.2 handshake
// the client waits for the server's Finished before sending data).
func TestRequestWithFinished(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	addr, results := listen(t, env.d)
	for _, vers := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(vers), func(t *testing.T) {
			cfg := env.client("ec.example")
			cfg.MaxVersion = vers
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i, resume := range []bool{false, true} {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				nc.SetDeadline(time.Now().Add(20 * time.Second))
				hc := &holdConn{Conn: nc}
				if vers == tls.VersionTLS12 && !resume {
					hc.pass = true // full 1.2: send everything as it comes
				}
				c := tls.Client(hc, cfg)
				if err := c.Handshake(); err != nil {
					t.Fatal(err)
				}
				c.Write([]byte("first\nsecond\n"))
				if err := hc.flush(); err != nil {
					t.Fatal(err)
				}
				r := bufio.NewReader(c)
				for _, want := range []string{"echo first\n", "echo second\n"} {
					if got, err := r.ReadString('\n'); got != want {
						t.Fatalf("got %q %v", got, err)
					}
				}
				c.Close()
				res := recv(t, results)
				if res.err != nil {
					t.Fatal(res.err)
				}
				if res.sess.Resumed != resume {
					t.Fatalf("resumed %v", res.sess.Resumed)
				}
				if (vers == tls.VersionTLS13 || resume) && res.leftover == 0 {
					t.Fatalf("connection %d: no Leftover: the request did not share the Finished segment", i)
				}
			}
		})
	}
}

// TestSequenceNumbers checks the counted numbers against what crypto/tls
// did: TLS 1.3 sends one ticket under the application key (server's next
// record is 1), the client's first application record is 0; TLS 1.2 sends
// Finished under the new keys (both next records are 1). Tickets off: 0.
func TestSequenceNumbers(t *testing.T) {
	cases := []struct {
		vers            uint16
		noTickets       bool
		wantRead, wantW uint64
	}{
		{tls.VersionTLS13, false, 0, 1},
		{tls.VersionTLS13, true, 0, 0},
		{tls.VersionTLS12, false, 1, 1},
		{tls.VersionTLS12, true, 1, 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/tickets=%v", tls.VersionName(tc.vers), !tc.noTickets), func(t *testing.T) {
			env := newEnv(t, HandshakerOptions{})
			env.d.cfg.SessionTicketsDisabled = tc.noTickets
			addr, results := listen(t, env.d)
			cfg := env.client("ec.example")
			cfg.MaxVersion = tc.vers
			// A crypto/tls client asks for TLS 1.3 tickets only with a cache.
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("handshaker %+v", env.d.Stats())
					select {
					case r := <-results:
						t.Logf("server result: %+v err=%v", r.sess, r.err)
					case <-time.After(time.Second):
						t.Logf("no server result")
					}
				}
			})
			exchange(t, c, []string{"x"}, true)
			c.Close()
			res := recv(t, results)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if r, w := res.sess.Read.Seq, res.sess.Write.Seq; r != tc.wantRead || w != tc.wantW {
				t.Fatalf("read seq %d write seq %d, want %d %d", r, w, tc.wantRead, tc.wantW)
			}
		})
	}
}

// pipeHandshake runs one handshake of a crypto/tls client over a pipe,
// pumping bytes like an engine loop, and returns the server's Handshake.
//
// chunk > 0 feeds the received bytes chunk bytes at a time.
func pipeHandshake(tb testing.TB, d *Handshaker, cfg *tls.Config, chunk int) *Handshake {
	cc, sc := net.Pipe()
	defer sc.Close()
	cerr := make(chan error, 1)
	go func() {
		c := tls.Client(cc, cfg)
		err := c.Handshake()
		if err == nil && cfg.ClientSessionCache != nil {
			// A TLS 1.3 ticket is stored when the client reads past the
			// handshake; it is already buffered.
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			c.Read(make([]byte, 1))
		}
		cerr <- err
		cc.Close()
	}()
	data := make(chan []byte, 16)
	go func() {
		for {
			buf := make([]byte, 4096)
			n, err := sc.Read(buf)
			if n > 0 {
				data <- buf[:n]
			}
			if err != nil {
				close(data)
				return
			}
		}
	}()
	wake := make(chan struct{}, 1)
	h := d.Start(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	var out []byte
	for {
		if out = h.Output(out[:0]); len(out) > 0 {
			sc.Write(out)
		}
		_, err, ok := h.Done()
		if ok {
			if err != nil {
				tb.Fatal(err)
			}
			break
		}
		select {
		case p, ok := <-data:
			if !ok {
				data = nil // the client is done; wait for the server
				continue
			}
			for chunk > 0 && len(p) > chunk {
				h.Feed(p[:chunk])
				p = p[chunk:]
			}
			h.Feed(p)
		case <-wake:
		}
	}
	if err := <-cerr; err != nil {
		tb.Fatal(err)
	}
	return h
}

// TestHandshakeFeedSplits feeds whole handshakes 1, 3 and 7 bytes at a
// time: records handed to crypto/tls in pieces keep their boundaries.
func TestHandshakeFeedSplits(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	for _, vers := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		for _, chunk := range []int{1, 3, 7} {
			cfg := env.client("ec.example")
			cfg.MaxVersion = vers
			h := pipeHandshake(t, env.d, cfg, chunk)
			s, err, _ := h.Done()
			if err != nil || s.Version != vers {
				t.Fatalf("%s chunk %d: %v", tls.VersionName(vers), chunk, err)
			}
			// The loop may Feed what it received before it saw Done.
			n := len(s.Leftover)
			h.Feed([]byte("late"))
			if string(s.Leftover[n:]) != "late" {
				t.Fatalf("bytes fed after Done: Leftover %q", s.Leftover)
			}
		}
	}
}

// TestHsConnReads drives hsConn.Read directly: each Read returns bytes of
// one record only, a record handed out in pieces keeps its boundary when
// the buffer restarts, and bytes of the next record never come early.
func TestHsConnReads(t *testing.T) {
	h := &Handshake{d: &Handshaker{}, state: stRunning}
	h.cond.L = &h.mu
	c := &hsConn{h: h}
	rec1 := []byte{22, 3, 3, 0, 6, 1, 2, 3, 4, 5, 6}
	rec2 := []byte{23, 3, 3, 0, 2, 7, 8}
	read := func(want []byte) {
		t.Helper()
		p := make([]byte, 100)
		n, err := c.Read(p)
		if err != nil || !bytes.Equal(p[:n], want) {
			t.Fatalf("Read %x %v, want %x", p[:n], err, want)
		}
	}
	h.Feed(rec1[:8]) // header and 3 body bytes
	read(rec1[:8])
	h.Feed(rec1[8:]) // the buffer restarts here
	h.Feed(rec2)
	read(rec1[8:]) // not rec1's tail plus rec2
	read(rec2)
	if len(h.rlog) != len(rec1)+len(rec2) {
		t.Fatalf("rlog %d bytes", len(h.rlog))
	}
	// Nothing whole to hand out: Read waits until Feed or a stop.
	done := make(chan error)
	go func() {
		_, err := c.Read(make([]byte, 10))
		done <- err
	}()
	h.Feed([]byte{23, 3})
	select {
	case err := <-done:
		t.Fatalf("Read returned %v with 2 header bytes", err)
	case <-time.After(50 * time.Millisecond):
	}
	h.mu.Lock()
	h.halt(ErrTimeout)
	h.mu.Unlock()
	if err := <-done; err != ErrTimeout {
		t.Fatalf("Read after halt: %v", err)
	}
}

// TestDoneWaitsForOutput: bytes the helper writes between the loop's
// Output and Done (the last TLS 1.2 flight) hold Done back until taken;
// an aborted handshake's do not.
func TestDoneWaitsForOutput(t *testing.T) {
	h := &Handshake{d: &Handshaker{}, state: stRunning}
	h.cond.L = &h.mu
	if out := h.Output(nil); len(out) != 0 {
		t.Fatal("output before any write")
	}
	// The helper: its final flight, then the result.
	(&hsConn{h: h}).Write([]byte("server Finished"))
	h.mu.Lock()
	h.finishLocked(&Session{}, nil)
	h.mu.Unlock()
	if _, _, ok := h.Done(); ok {
		t.Fatal("Done ok with the last flight not taken")
	}
	if out := h.Output(nil); string(out) != "server Finished" {
		t.Fatalf("Output %q", out)
	}
	if s, err, ok := h.Done(); !ok || err != nil || s == nil {
		t.Fatalf("Done after Output: %v %v %v", s, err, ok)
	}
	h2 := &Handshake{d: &Handshaker{}, state: stRunning}
	h2.cond.L = &h2.mu
	(&hsConn{h: h2}).Write([]byte("flight"))
	h2.Abort()
	if _, err, ok := h2.Done(); !ok || err != ErrAborted {
		t.Fatalf("aborted: %v %v", err, ok)
	}
}
