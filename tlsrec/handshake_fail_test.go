package tlsrec

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clientHello returns the first record a crypto/tls client with cfg sends.
func clientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	cc, sc := net.Pipe()
	defer sc.Close()
	go func() {
		tls.Client(cc, cfg).Handshake()
		cc.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(sc, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(sc, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// notifier counts notify calls.
type notifier struct {
	n    atomic.Int32
	wake chan struct{}
}

func newNotifier() *notifier { return &notifier{wake: make(chan struct{}, 100)} }
func (n *notifier) notify() {
	n.n.Add(1)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func waitDone(t *testing.T, h *Handshake, n *notifier) error {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.Output(nil)
		if _, err, ok := h.Done(); ok {
			return err
		}
		select {
		case <-n.wake:
		case <-deadline:
			t.Fatal("handshake did not finish")
		}
	}
}

func waitStats(t *testing.T, d *Handshaker, ok func(HandshakerStats) bool) HandshakerStats {
	t.Helper()
	for range 1000 {
		if s := d.Stats(); ok(s) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("stats never settled: %+v", d.Stats())
	return HandshakerStats{}
}

// TestRefusedInFeed: garbage and pre-TLS 1.2 ClientHellos are refused in
// Feed itself, whole or byte by byte, with no helper goroutine started.
func TestRefusedInFeed(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	tls10 := env.client("ec.example")
	tls10.MinVersion, tls10.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
	goTLS10 := clientHello(t, tls10)
	random := strings.Repeat("\x11", 32)
	sslv3 := "\x16\x03\x00\x00\x2d\x01\x00\x00\x29\x03\x00" + random + "\x00\x00\x02\x00\x2f\x01\x00"
	tls11 := "\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x02" + random + "\x00\x00\x02\x00\x2f\x01\x00"
	cases := []struct {
		name  string
		in    string
		want  error
		alert bool
	}{
		{"plain HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ErrNotTLS, false},
		{"SSLv2 compatible hello", "\x80\x2e\x01\x03\x01\x00\x15", ErrNotTLS, false},
		{"application data first", "\x17\x03\x03\x00\x05hello", ErrNotTLS, false},
		{"wrong major version", "\x16\x04\x03\x00\x05", ErrNotTLS, false},
		{"empty record", "\x16\x03\x01\x00\x00", ErrNotTLS, false},
		{"oversized record", "\x16\x03\x01\x40\x01", ErrNotTLS, false},
		{"not a ClientHello", "\x16\x03\x01\x00\x04\x02\x00\x00\x00", ErrNotTLS, false},
		{"SSLv3 hello", sslv3, ErrOldVersion, true},
		{"TLS 1.1 hello", tls11, ErrOldVersion, true},
		{"crypto/tls TLS 1.0 client", string(goTLS10), ErrOldVersion, true},
	}
	for _, tc := range cases {
		for _, bytewise := range []bool{false, true} {
			name := tc.name
			if bytewise {
				name += "/byte by byte"
			}
			t.Run(name, func(t *testing.T) {
				before := env.d.Stats()
				n := newNotifier()
				h := env.d.Start(n.notify)
				var out []byte
				if bytewise {
					for i := range len(tc.in) {
						h.Feed([]byte{tc.in[i]})
						if out = h.Output(out); len(out) > 0 {
							break
						}
						if _, _, ok := h.Done(); ok {
							break
						}
					}
				} else {
					h.Feed([]byte(tc.in))
					out = h.Output(nil)
				}
				_, err, ok := h.Done()
				if !ok || !errors.Is(err, tc.want) {
					t.Fatalf("Done: ok=%v err=%v, want %v at once", ok, err, tc.want)
				}
				if tc.alert != (len(out) > 0) || tc.alert && string(out) != "\x15\x03\x01\x00\x02\x02\x46" {
					t.Fatalf("output %q", out)
				}
				if s := env.d.Stats(); s.Started != before.Started || s.InProgress != 0 {
					t.Fatalf("a helper ran: %+v", s)
				}
				if n.n.Load() != 0 {
					t.Fatal("notify called for the loop's own Feed")
				}
			})
		}
	}
}

// TestOldClientSeesAlert: a crypto/tls client limited to TLS 1.0 gets a
// protocol_version alert over a real connection.
func TestOldClientSeesAlert(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	addr, results := listen(t, env.d)
	cfg := env.client("ec.example")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	_, err := tls.Dial("tcp", addr, cfg)
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("client error %v, want a protocol version alert", err)
	}
	if res := recv(t, results); !errors.Is(res.err, ErrOldVersion) {
		t.Fatalf("server: %v", res.err)
	}
}

func TestSilentClientTimesOut(t *testing.T) {
	env := newEnv(t, HandshakerOptions{Timeout: 100 * time.Millisecond})
	for _, feed := range []string{"", "\x16\x03\x01\x02\x00\x01"} { // nothing; half a record
		n := newNotifier()
		h := env.d.Start(n.notify)
		h.Feed([]byte(feed))
		t0 := time.Now()
		if err := waitDone(t, h, n); !errors.Is(err, ErrTimeout) {
			t.Fatalf("feed %q: %v", feed, err)
		}
		if el := time.Since(t0); el > 2*time.Second {
			t.Fatalf("timeout took %v", el)
		}
	}
	if s := env.d.Stats(); s.Started != 0 {
		t.Fatalf("helper started for a silent client: %+v", s)
	}
	// A client that stalls after its ClientHello holds a helper until the
	// timeout, then releases it. (Whether the server flight was ready
	// before the timeout depends on the machine's speed.)
	n := newNotifier()
	h := env.d.Start(n.notify)
	h.Feed(clientHello(t, env.client("ec.example")))
	if err := waitDone(t, h, n); !errors.Is(err, ErrTimeout) {
		t.Fatalf("stalled client: %v", err)
	}
	waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 0 && s.Failed == 3 })
}

// TestTimeoutWithoutInput: a connection that never sends a byte (no Feed
// at all between Start and the timeout, as for a silent client) times out;
// under -race this checks that the timer's goroutine and Start do not race.
func TestTimeoutWithoutInput(t *testing.T) {
	env := newEnv(t, HandshakerOptions{Timeout: 20 * time.Millisecond})
	for range 20 {
		n := newNotifier()
		h := env.d.Start(n.notify)
		<-n.wake
		if err := waitDone(t, h, n); !errors.Is(err, ErrTimeout) {
			t.Fatal(err)
		}
	}
}

// TestAbort: Abort stops a handshake in every state; no notify afterwards,
// the helper is released.
func TestAbort(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	hello := clientHello(t, env.client("ec.example"))
	for _, feed := range [][]byte{nil, hello[:50], hello} {
		n := newNotifier()
		h := env.d.Start(n.notify)
		h.Feed(feed)
		if len(feed) == len(hello) {
			waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 1 })
			<-n.wake // the server flight
		}
		h.Abort()
		calls := n.n.Load()
		if _, err, ok := h.Done(); !ok || !errors.Is(err, ErrAborted) {
			t.Fatalf("after Abort: ok=%v %v", ok, err)
		}
		h.Feed([]byte("more"))
		waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 0 })
		time.Sleep(20 * time.Millisecond)
		if n.n.Load() != calls {
			t.Fatal("notify called after Abort")
		}
	}
}

// TestQueueAndBusy: with one helper, a second handshake waits in the
// queue, a third is refused, and the queued one runs when the helper frees.
func TestQueueAndBusy(t *testing.T) {
	env := newEnv(t, HandshakerOptions{MaxInProgress: 1, MaxQueued: 1})
	hello := clientHello(t, env.client("ec.example"))
	n1, n2, n3 := newNotifier(), newNotifier(), newNotifier()
	h1 := env.d.Start(n1.notify)
	h1.Feed(hello)
	waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 1 })
	h2 := env.d.Start(n2.notify)
	h2.Feed(hello)
	if s := env.d.Stats(); s.Queued != 1 {
		t.Fatalf("stats %+v, want one queued", s)
	}
	h3 := env.d.Start(n3.notify)
	h3.Feed(hello)
	if _, err, ok := h3.Done(); !ok || !errors.Is(err, ErrBusy) {
		t.Fatalf("third: ok=%v %v, want ErrBusy", ok, err)
	}
	h1.Abort()
	<-n2.wake // h2's server flight: it runs now
	if s := env.d.Stats(); s.Queued != 0 || s.InProgress != 1 {
		t.Fatalf("stats %+v", s)
	}
	if len(h2.Output(nil)) == 0 {
		t.Fatal("queued handshake produced no output")
	}
	h2.Abort()
	waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 0 })
}

func TestInputLimit(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	h := env.d.Start(nil)
	hello := clientHello(t, env.client("ec.example"))
	h.Feed(hello[:10])
	h.Feed(make([]byte, maxHandshakeInput))
	if _, err, ok := h.Done(); !ok || !errors.Is(err, ErrInputLimit) {
		t.Fatalf("ok=%v %v", ok, err)
	}
}

// TestInputLimitWhileRunning: a client that sends more than the input
// limit while its handshake runs on a helper (a TLS 1.3 client sends its
// application data right after its Finished, before the server has read
// it) fails the handshake and releases the helper: none is left waiting
// for input forever.
func TestInputLimitWhileRunning(t *testing.T) {
	env := newEnv(t, HandshakerOptions{MaxInProgress: 1})
	hello := clientHello(t, env.client("ec.example"))
	for i := range 3 {
		n := newNotifier()
		h := env.d.Start(n.notify)
		h.Feed(hello)
		waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 1 && s.Queued == 0 })
		<-n.wake // the server flight: the helper waits for the client's Finished
		h.Feed(make([]byte, maxHandshakeInput+1))
		if err := waitDone(t, h, n); !errors.Is(err, ErrInputLimit) {
			t.Fatalf("round %d: %v", i, err)
		}
		waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 0 })
	}
}

// TestTruncatedHandshake: a client that sends half its ClientHello and
// closes; the engine sees EOF and aborts (serveConn does).
func TestTruncatedHandshake(t *testing.T) {
	env := newEnv(t, HandshakerOptions{})
	addr, results := listen(t, env.d)
	hello := clientHello(t, env.client("ec.example"))
	for _, cut := range []int{3, 50, len(hello)} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(hello[:cut])
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c) // the server flight, if any, then EOF
		c.Close()
		if res := recv(t, results); !errors.Is(res.err, ErrAborted) {
			t.Fatalf("cut %d: %v", cut, res.err)
		}
	}
	waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 0 })
}

// BenchmarkRefuse is what garbage and old clients cost the loop.
func BenchmarkRefuse(b *testing.B) {
	env := newEnv(b, HandshakerOptions{})
	for _, in := range []struct{ name, data string }{
		{"plain-http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"tls1.1-hello", "\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x02" + strings.Repeat("\x11", 32) + "\x00\x00\x02\x00\x2f\x01\x00"},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := env.d.Start(nil)
				h.Feed([]byte(in.data))
				h.Output(nil)
				if _, _, ok := h.Done(); !ok {
					b.Fatal("not refused")
				}
			}
		})
	}
}

// TestStalledGivesHelperUp: with both helpers held by clients that sent a
// whole ClientHello and then nothing, a real client waits in the queue.
// With StallEvict the longest-silent handshake ends with ErrStalled once it
// has been silent that long, and the real client's handshake runs on its
// helper, long before the handshake timeout; without it (StallEvict < 0),
// the real client waits for a stalled one's timeout.
func TestStalledGivesHelperUp(t *testing.T) {
	timeout := 2 * time.Second
	if os.Getenv("RINGHTTPD_TEST_EMULATED") != "" {
		// The kernel matrix's software emulation runs handshakes ~10x
		// slower: the same shape with room.
		timeout = 6 * time.Second
	}
	for _, c := range []struct {
		name  string
		stall time.Duration
	}{{"evict", 200 * time.Millisecond}, {"never", -1}} {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t, HandshakerOptions{MaxInProgress: 2, Timeout: timeout, StallEvict: c.stall})
			addr, results := listen(t, env.d)
			hello := clientHello(t, env.client("ec.example"))
			for range 2 {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				if _, err := nc.Write(hello); err != nil {
					t.Fatal(err)
				}
			}
			waitStats(t, env.d, func(s HandshakerStats) bool { return s.InProgress == 2 })
			t0 := time.Now()
			cfg := env.client("ec.example")
			tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * timeout}, "tcp", addr, cfg)
			took := time.Since(t0)
			s := env.d.Stats()
			t.Logf("real client's handshake took %v (%v); stats %+v", took.Round(time.Millisecond), err, s)
			if c.stall > 0 {
				if err != nil {
					t.Fatal(err)
				}
				defer tc.Close()
				exchange(t, tc, []string{"hello"}, true)
				if took > timeout/2 {
					t.Fatalf("real client waited %v behind stalled handshakes (evict after %v)", took, c.stall)
				}
				if s.Evicted != 1 {
					t.Fatalf("%d evicted, want 1 (one real client queued)", s.Evicted)
				}
				if r := recv(t, results); !errors.Is(r.err, ErrStalled) {
					t.Fatalf("first connection to end: %v, want ErrStalled", r.err)
				}
			} else {
				// The real client's own timeout runs while it waits for a
				// helper, so it may end before or after the stalled ones'
				// timeouts free one (on a slow machine): either way it
				// waited.
				if err == nil {
					tc.Close()
				}
				if took < timeout/2 {
					t.Fatalf("real client done in %v without eviction: the test does not hold both helpers", took)
				}
				if s.Evicted != 0 {
					t.Fatalf("%d evicted with StallEvict < 0", s.Evicted)
				}
			}
		})
	}
}
