package server

import (
	"net/netip"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Connection core tuning.
const (
	// outHighWater stops parsing further pipelined requests of a connection
	// while this many output bytes are queued; parsing resumes once the
	// queue is empty.
	outHighWater = 256 << 10
	// lingerTimeout bounds a lingering close.
	lingerTimeout = time.Second
)

// conn is one client connection, shared by every engine. It holds only what
// names the connection and what must survive between requests: an idle
// keep-alive connection owns no parser, no request or response, no buffer.
// Per-request state lives in the worker (the request being parsed and
// answered at once) or in an exchange (a request whose answer waits for an
// op).
//
// Layers, bottom up: the engine moves bytes and file segments; the
// transport (plain, or TLS: tls.go) transforms them; the protocol
// (HTTP/1.1, h1.go, or HTTP/2, h2.go) parses input and queues answers on
// c.pq().
//
// Invariants: a conn belongs to one worker and is touched only on its
// thread. hold is nil unless input is buffered between reads (a partial
// request, or input held back while an op runs or output is over the
// high-water mark). While ex != nil nothing further is parsed. Once closing
// is set nothing further is parsed and the connection closes when out is
// empty and no op is pending. fd < 0 means the socket is closed; the slot
// is reused only once ops reaches zero.
type conn struct {
	w    *worker
	fd   int
	slot int32  // index in w.conns; stable
	gen  uint32 // incremented on every reuse of the slot
	peer netip.AddrPort

	tls  *tlsConn  // the TLS transport (tls.go); nil on plaintext connections
	h2   *h2State  // the HTTP/2 protocol (h2.go); nil for HTTP/1.1
	hold *h1hold   // input kept between reads; nil when there is none
	ex   *exchange // HTTP/1: the request whose answer waits for an op
	out  outq      // bytes for the socket (records, on TLS connections)

	served  uint32 // responses queued on this connection
	discard int64  // bytes of an ignored request body still to drop
	ops     int32  // ops started for this connection and not yet completed

	closing bool // close after out drains; parse nothing more
	kill    bool // close now (after at most one best-effort send)
	eof     bool // the peer sent FIN
	// lingering: output is sent and our side shut down; input is read and
	// discarded until the peer's FIN or the linger timer, so that unread
	// input does not turn our close into a reset that destroys the answer
	// before the client has read it.
	lingering bool
	// lingerWanted: an error answer was queued while the client may still
	// be sending.
	lingerWanted bool
	dirty        bool // in w.dirty

	// Timer state (timer.go).
	tkind        timerKind
	deadline     int64
	tprev, tnext *conn

	// io is engine-private state (connio_*.go); newConn zeroes it.
	io connIO
}

// wantClose reports whether the engine should close c now: it was killed,
// or it is closing (or the worker is draining) and has nothing in flight.
func (c *conn) wantClose() bool {
	if c.fd < 0 {
		return false
	}
	if c.kill {
		return true
	}
	if c.closing && c.outEmpty() && c.ex == nil {
		if st := c.h2; st == nil || st.failed || (c.ops == 0 && c.h2Idle()) {
			return true
		}
	}
	return (c.w.draining && c.idle() && !c.w.s.handover.Load())
}

// outEmpty reports whether nothing is left to send: no bytes for the
// socket, nothing in the stage and, on a closing TLS connection, its
// close_notify queued.
func (c *conn) outEmpty() bool {
	if !c.out.empty() || !c.stageEmpty() {
		return false
	}
	t := c.tls
	return t == nil || !t.up || t.kernelTX || t.notified || !c.closing
}

// pending returns the output bytes queued and not yet sent, staged or not.
func (c *conn) pending() int64 {
	return c.out.bytes + c.stageBytes()
}

// flush moves c's pending output toward the socket before its sync:
// HTTP/2 frames into the stage, the stage (sealed, on TLS) into c.out.
func (w *worker) flush(c *conn) {
	if c.h2 != nil {
		w.h2Flush(c)
	}
	if c.tls != nil {
		w.tlsFlush(c)
	} else if st, s := c.stageOf(); st != nil {
		w.flushStage(c, st, s)
	}
}

// wantRead reports whether the engine should read from c: not while output
// is pending (backpressure), an op runs, or c is closing.
func (c *conn) wantRead() bool {
	return c.fd >= 0 && !c.closing && !c.kill && c.ex == nil && c.outEmpty()
}

// wantWrite reports whether output is pending.
func (c *conn) wantWrite() bool { return c.fd >= 0 && !c.out.empty() }

// idle reports whether c is between requests with nothing in flight.
func (c *conn) idle() bool {
	return c.held() == 0 && c.outEmpty() && c.ex == nil && (c.tls == nil || c.tls.hs == nil) &&
		c.ops == 0 && c.h2Idle()
}

// held returns the number of input bytes c keeps between reads.
func (c *conn) held() int {
	if c.hold == nil {
		return 0
	}
	return len(c.hold.buf)
}

// newConn registers a socket accepted on listener lis (an index in
// w.listeners). The engine checks acceptAllowed before accepting.
func (w *worker) newConn(fd int, peer netip.AddrPort, lis int) *conn {
	var c *conn
	if k := len(w.freeSlots); k > 0 {
		c = w.conns[w.freeSlots[k-1]]
		w.freeSlots = w.freeSlots[:k-1]
	} else {
		c = &conn{w: w, slot: int32(len(w.conns))}
		w.conns = append(w.conns, c)
	}
	c.gen++
	c.fd = fd
	c.peer = peer
	c.served, c.discard = 0, 0
	c.closing, c.kill, c.eof = false, false, false
	c.lingering, c.lingerWanted = false, false
	c.io = connIO{}
	w.nconns++
	if lis >= 0 && lis < len(w.listenTLS) && w.listenTLS[lis] {
		w.tlsStart(c)
		w.tm.arm(c, timerHeader, w.now) // the handshake has the head's time
	} else {
		w.tm.arm(c, timerIdle, w.now)
	}
	return c
}

// closed is called by the engine once c's socket is closed and no kernel
// operation on it is in flight. It releases c's output (FileRefs included)
// and buffers; c's slot is reused once its pending ops have completed too.
func (w *worker) closed(c *conn) {
	if c.fd < 0 {
		return
	}
	w.tm.disarm(c)
	c.out.drop(&w.chunks)
	if w.alog != nil {
		w.alog.closed(c)
	}
	w.putHold(c)
	w.tlsClosed(c)
	w.h2Closed(c)
	c.fd = -1
	w.nconns--
	if c.ops == 0 {
		w.freeConn(c)
	}
}

// freeConn returns c's slot to the free list.
func (w *worker) freeConn(c *conn) {
	c.ex = nil
	w.freeSlots = append(w.freeSlots, c.slot)
}

// markDirty queues c for the engine's end-of-turn sync.
func (w *worker) markDirty(c *conn) {
	if !c.dirty {
		c.dirty = true
		w.dirty = append(w.dirty, c)
	}
}

// syncDirty hands every dirty connection to sync, including connections
// that become dirty while it runs. TLS output is sealed first.
func (w *worker) syncDirty(sync func(*conn)) {
	for i := 0; i < len(w.dirty); i++ {
		c := w.dirty[i]
		w.dirty[i] = nil
		c.dirty = false
		if c.fd >= 0 {
			if c.h2 != nil || c.tls != nil {
				w.flush(c)
			}
			sync(c)
		}
	}
	w.dirty = w.dirty[:0]
}

// feed takes bytes received on c and hands them to c's protocol, which
// parses and answers what is complete and keeps only an incomplete tail
// (copied: data belongs to the engine and may be reused as soon as feed
// returns).
func (w *worker) feed(c *conn, data []byte) {
	if c.fd < 0 || c.closing || c.kill || len(data) == 0 {
		return
	}
	if c.tls != nil {
		w.tlsInput(c, data)
	} else {
		w.protoInput(c, data)
	}
	w.retime(c)
	w.markDirty(c)
}

// protoInput hands plaintext input to c's protocol. A plaintext
// connection whose first bytes are the HTTP/2 preface speaks HTTP/2 when
// the server allows h2c.
func (w *worker) protoInput(c *conn, data []byte) {
	if c.h2 == nil && w.h2c && c.tls == nil && c.served == 0 && c.hold == nil && h2Wants(data) {
		w.h2Start(c)
	}
	if c.h2 != nil {
		w.h2Input(c, data)
		return
	}
	w.h1Input(c, data)
}

// protoEOF tells c's protocol that no more input comes.
func (w *worker) protoEOF(c *conn) {
	if c.h2 != nil {
		w.h2EOF(c)
		return
	}
	w.h1EOF(c)
}

// eof records that the peer will send nothing more. Complete requests
// already buffered are still answered.
func (w *worker) eof(c *conn) {
	if c.fd < 0 {
		return
	}
	c.eof = true
	if c.tls != nil && c.tls.hs != nil {
		c.kill = true // the handshake can never finish
	} else {
		w.protoEOF(c)
	}
	w.retime(c)
	w.markDirty(c)
}

// sent reports that the engine sent n bytes from the front of c.out.
func (w *worker) sent(c *conn, n int64) {
	if n <= 0 || c.fd < 0 {
		return
	}
	c.out.advance(&w.chunks, n)
	w.m.c.bytesSent += uint64(n)
	if w.alog != nil {
		w.logSent(c, n)
	}
	if c.h2 != nil || !c.stageEmpty() {
		w.markDirty(c) // frames to flush, or more to stage
	}
	if !c.outEmpty() {
		w.tm.arm(c, timerSend, w.now) // progress restarts the send timer
		return
	}
	if c.h2 == nil {
		w.h1Drained(c)
	}
	w.retime(c)
}

// logSent tells the access log that n bytes of c.out were sent: answer
// bytes on plaintext connections; on TLS connections answer bytes are
// counted as they are sealed (tlsSeal), or past the handshake's own bytes
// with kernel TLS.
func (w *worker) logSent(c *conn, n int64) {
	t := c.tls
	if t == nil {
		w.alog.sent(c, n)
		return
	}
	if !t.kernelTX {
		return
	}
	skip := min(n, t.wireSkip)
	t.wireSkip -= skip
	if n > skip {
		w.alog.sent(c, n-skip)
	}
}

// retime puts c on the timer list its state calls for.
func (w *worker) retime(c *conn) {
	var k timerKind
	switch {
	case c.lingering:
		return
	case c.fd < 0 || c.ex != nil:
		w.tm.disarm(c)
		return
	case !c.outEmpty():
		k = timerSend
	case c.h2 != nil:
		if k = c.h2Timer(); k == timerNone {
			w.tm.disarm(c)
			return
		}
	case c.held() > 0 || c.discard > 0 || (c.tls != nil && (c.tls.hs != nil || len(c.tls.in) > 0)):
		k = timerHeader
	default:
		k = timerIdle
	}
	if c.tkind != k {
		w.tm.arm(c, k, w.now)
	}
}

// startLinger puts c, whose output is sent, into the lingering close state.
func (w *worker) startLinger(c *conn) {
	c.lingering = true
	w.tm.arm(c, timerLinger, w.now)
}

// answerStatus queues a bare status answer (parse errors, 408) and closes c
// after it.
func (w *worker) answerStatus(c *conn, status int) {
	resp := &w.resp
	resp.Reset()
	httpcore.WriteError(resp, status)
	resp.Close = true
	c.lingerWanted = true
	w.h1Finish(c, nil, resp, nil)
}
