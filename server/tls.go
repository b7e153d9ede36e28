package server

import (
	"errors"
	"io"

	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// The TLS transport: between the engine's bytes and the protocol.
//
//   - Handshaking: received bytes go to a tlsrec.Handshake, whose
//     crypto/tls runs on a helper goroutine; its notify posts the
//     connection to the worker (postTLS), and the loop moves the
//     handshake's output to the connection's outq (tlsStep). The loop never
//     waits for it.
//   - Userspace records: received bytes are opened in place (the engine's
//     buffer is ours until feed returns) and the plaintext goes to the
//     protocol; a partial record is kept in tlsConn.in. The protocol's
//     output goes to tlsConn.plain; seal moves it into the connection's
//     outq as records: memory is sealed straight into output chunks, file
//     ranges are read by the engine (readFile) into a chunk and sealed in
//     place.
//   - Kernel TLS: the kernel seals (and opens) the records, so the protocol
//     writes straight to the outq and file ranges keep going by splice or
//     sendfile.

// tlsHighWater bounds the sealed bytes queued ahead of the socket; sealing
// resumes when the queue drains.
const tlsHighWater = 128 << 10

// tlsConn is a TLS connection's transport state.
//
// Invariants: hs != nil exactly while handshaking; rec is used only once up
// (a failed handshake never sets it); st holds the protocol's output while
// records are sealed here (up and !kernelTX), and is empty otherwise.
type tlsConn struct {
	hs       *tlsrec.Handshake
	up       bool // the handshake succeeded: rec is set up
	rec      tlsrec.Conn
	kernelTX bool  // the kernel seals what we send
	ktlsWant bool  // kernel TLS is to take over once the handshake's bytes are sent
	wireSkip int64 // handshake bytes still in c.out when the kernel took over
	in       []byte
	st       stage
	notified bool // close_notify is queued
	posted   bool // in the worker's handshake event list
}

// errTLSHandshake marks a connection whose handshake failed.
var errTLSHandshake = errors.New("server: TLS handshake failed")

// tlsStart makes c a TLS connection in its handshake.
func (w *worker) tlsStart(c *conn) {
	t := w.getTLS()
	c.tls = t
	gen := c.gen
	t.hs = w.s.hs.Start(func() { w.postTLS(c, gen) })
}

// getTLS takes a tlsConn from the worker's free list.
func (w *worker) getTLS() *tlsConn {
	if t := w.tlsFree.get(); t != nil {
		return t
	}
	return new(tlsConn)
}

// tlsClosed releases c's TLS state (the socket is closed and no engine
// operation uses it any more).
func (w *worker) tlsClosed(c *conn) {
	t := c.tls
	if t == nil {
		return
	}
	c.tls = nil
	if t.hs != nil {
		t.hs.Abort()
		t.hs = nil
	}
	w.dropStage(&t.st)
	in := t.in[:0]
	if cap(in) > tlsInKeep {
		in = nil
	}
	*t = tlsConn{in: in}
	w.tlsFree.put(t)
}

// TLS memory pooling.
const (
	tlsInKeep  = 20 << 10 // one whole record with its overhead
	maxFreeTLS = 256
)

// postTLS queues c for a handshake step on its worker's loop. Any
// goroutine (the handshake's helper or timer).
func (w *worker) postTLS(c *conn, gen uint32) {
	w.opMu.Lock()
	if w.exited {
		w.opMu.Unlock()
		return
	}
	wake := len(w.completed) == 0 && len(w.tlsReady) == 0
	w.tlsReady = append(w.tlsReady, tlsEvent{c, gen})
	if wake {
		w.io.wake()
	}
	w.opMu.Unlock()
}

// tlsEvent names a connection whose handshake has news.
type tlsEvent struct {
	c   *conn
	gen uint32
}

// runTLSEvents handles the handshake events posted since the last turn.
// Worker thread (from runCompleted).
func (w *worker) runTLSEvents(evs []tlsEvent) {
	for _, e := range evs {
		c := e.c
		if c.gen == e.gen && c.fd >= 0 && c.tls != nil && c.tls.hs != nil {
			w.tlsStep(c)
		}
	}
}

// tlsInput takes bytes received on the TLS connection c.
func (w *worker) tlsInput(c *conn, data []byte) {
	t := c.tls
	if t.hs != nil {
		t.hs.Feed(data)
		w.tlsStep(c)
		return
	}
	buf := data
	if len(t.in) > 0 {
		t.in = append(t.in, data...)
		buf = t.in
	}
	plain, n, err := t.rec.Open(buf)
	if len(plain) > 0 {
		w.protoInput(c, plain)
	}
	rest := len(buf) - n
	switch {
	case len(t.in) > 0:
		k := copy(t.in, t.in[n:])
		t.in = t.in[:k]
	case rest > 0:
		t.in = append(t.in[:0], buf[n:]...)
	}
	if err != nil {
		t.in = t.in[:0]
		if err == io.EOF {
			// close_notify: nothing more comes; answer what is complete.
			if !c.eof {
				c.eof = true
				w.protoEOF(c)
			}
			return
		}
		// A broken record stream: our alert goes out (seal flushes it),
		// then the connection closes.
		c.closing = true
		if !t.st.reading() {
			w.dropStage(&t.st) // nothing more is sealed: the alert goes next
		}
	}
}

// tlsStep moves a handshake's output to c.out and, once it is done, sets up
// the record layer and hands the bytes that followed the handshake to it.
func (w *worker) tlsStep(c *conn) {
	t := c.tls
	w.tlsScratch = t.hs.Output(w.tlsScratch[:0])
	if len(w.tlsScratch) > 0 {
		c.out.appendCopy(&w.chunks, w.tlsScratch)
	}
	w.markDirty(c)
	s, err, ok := t.hs.Done()
	if !ok {
		w.retime(c)
		return
	}
	t.hs = nil
	// The handshake ran under the header timer (and its own timeout);
	// the first request gets a whole header timeout of its own, as if
	// the connection had just been accepted: disarm so retime re-arms
	// even when a partial request keeps the same kind.
	w.tm.disarm(c)
	if err == nil {
		err = t.rec.Init(s)
	}
	if err != nil {
		w.m.c.tlsFailures++
		// The alert (if any) goes out, then the connection closes.
		c.closing = true
		w.retime(c)
		return
	}
	w.m.c.tlsHandshakes++
	t.up = true
	t.ktlsWant = w.s.ktls
	if s.ALPN == "h2" {
		w.h2Start(c)
	}
	if len(s.Leftover) > 0 {
		w.tlsInput(c, s.Leftover)
	}
	w.retime(c) // after the leftover: a partial request arms the header timer
}

// tlsKernel moves the sealing of c's records into the kernel when the
// server uses kernel TLS; otherwise (or when the kernel refuses) records
// stay in userspace. A connection the kernel refused after TCP_ULP is
// unusable and is closed.
func (w *worker) tlsKernel(c *conn) {
	t := c.tls
	if t.rec.Pending() {
		return
	}
	if err := enableKernelTLS(c.fd, &t.rec); err != nil {
		w.s.log.Debug("server: kernel TLS refused; closing", "err", err)
		c.kill = true
		return
	}
	t.kernelTX = true
	t.wireSkip = c.out.bytes
	w.m.c.ktls++
}

// tlsFlush moves c's output toward the socket: once the handshake's own
// records are sent, the switch to kernel TLS; then the stage, sealed (or
// not, with the kernel sealing); then control records owed (close_notify
// before a close, an alert, a KeyUpdate).
func (w *worker) tlsFlush(c *conn) {
	t := c.tls
	if !t.up || c.fd < 0 {
		return
	}
	if t.ktlsWant && !t.st.reading() {
		// The kernel may seal only what follows the records crypto/tls
		// made (the handshake's last flight, a session ticket): wait
		// until they are sent, then hand it the plaintext queued since.
		if !c.out.empty() {
			return
		}
		t.ktlsWant = false
		w.tlsKernel(c)
		if t.kernelTX {
			c.out, t.st.plain = t.st.plain, c.out
		}
	}
	if st, s := c.stageOf(); st != nil {
		w.flushStage(c, st, s)
	}
	if t.kernelTX {
		return
	}
	if c.closing && !t.notified && t.st.plain.empty() && !t.st.reading() {
		t.notified = true
		c.out.appendSealed(&w.chunks, nil, tlsControlRoom, closeNotifier{&t.rec})
	} else if t.rec.Pending() && !t.st.reading() {
		c.out.appendSealed(&w.chunks, nil, tlsControlRoom, &t.rec)
	}
}

// tlsControlRoom is the room kept for control records (a KeyUpdate, an
// alert) sealed before application data.
const tlsControlRoom = 64

// closeNotifier seals a close_notify alert.
type closeNotifier struct{ c *tlsrec.Conn }

func (n closeNotifier) Seal(dst, _ []byte) []byte { return n.c.CloseNotify(dst) }

// startTLS prepares the server's handshakes and picks the record layer.
func (s *Server) startTLS() {
	t := s.cfg.TLS
	alpn := t.ALPN
	if len(alpn) == 0 {
		alpn = []string{"h2", "http/1.1"}
		if s.cfg.DisableH2 {
			alpn = alpn[1:]
		}
	}
	s.hs = tlsrec.NewHandshaker(tlsrec.ServerConfig(t.Certs, alpn), tlsrec.HandshakerOptions{
		Timeout:       t.HandshakeTimeout,
		MaxInProgress: t.MaxHandshakes,
	})
	s.ktls = t.Kernel != "off" && kernelTLSUsable()
}
