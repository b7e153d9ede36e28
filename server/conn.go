package server

import (
	"net/netip"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Connection core tuning.
const (
	// inBufSize is the size of pooled input tail buffers (partial requests).
	inBufSize = 4 << 10
	// maxFreeIn bounds a worker's free list of input buffers.
	maxFreeIn = 1024
	// outHighWater stops parsing further pipelined requests of a connection
	// while this many output bytes are queued; parsing resumes once the
	// queue is empty.
	outHighWater = 256 << 10
	// lingerTimeout bounds a lingering close.
	lingerTimeout = time.Second
)

// conn is one client connection, shared by every engine.
//
// Invariants: a conn belongs to one worker and is touched only on its
// thread. in is nil unless a partial request (or input held back while an
// Op runs or output is over the high-water mark) is buffered, so an idle
// keep-alive connection owns no buffer. While op != nil nothing further is
// parsed. Once closing is set nothing further is parsed and the connection
// closes when out is empty and no op is pending. fd < 0 means the socket is
// closed and the conn only waits for its op to complete.
type conn struct {
	w    *worker
	fd   int
	slot int32  // index in w.conns; stable
	gen  uint32 // incremented on every reuse of the slot
	peer netip.AddrPort

	parser httpcore.Parser
	req    httpcore.Request
	resp   httpcore.Response
	preq   httpcore.Request // scalar copy of the request an op answers
	in     []byte
	out    outq
	op     *httpcore.Op

	served  uint32 // responses queued on this connection
	closing bool   // close after out drains; parse nothing more
	kill    bool   // close now (after at most one best-effort send)
	eof     bool   // the peer sent FIN
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

	// logLine is the start of this request's access log line, kept while
	// an op runs (access log only).
	logLine []byte

	// io is engine-private state.
	io connIO
}

// connIO is engine-private per-connection state.
type connIO struct {
	// events is the epoll interest currently registered.
	events uint32
	// flags and inflight are free for the uring engine (e.g. armed-recv
	// and send-in-flight bits, count of kernel ops in flight).
	flags    uint32
	inflight int32
}

// wantClose reports whether the engine should close c now: it was killed,
// or it is closing (or the worker is draining) and has nothing in flight.
func (c *conn) wantClose() bool {
	if c.fd < 0 {
		return false
	}
	return c.kill || (c.closing && c.out.empty() && c.op == nil) || (c.w.draining && c.idle())
}

// wantRead reports whether the engine should read from c: not while output
// is pending (backpressure), an op runs, or c is closing.
func (c *conn) wantRead() bool {
	return c.fd >= 0 && !c.closing && !c.kill && c.op == nil && c.out.empty()
}

// wantWrite reports whether output is pending.
func (c *conn) wantWrite() bool { return c.fd >= 0 && !c.out.empty() }

// idle reports whether c is between requests with nothing in flight.
func (c *conn) idle() bool {
	return len(c.in) == 0 && c.out.empty() && c.op == nil
}

// newConn registers an accepted socket. The engine checks acceptAllowed
// before accepting.
func (w *worker) newConn(fd int, peer netip.AddrPort) *conn {
	var c *conn
	if k := len(w.freeSlots); k > 0 {
		c = w.conns[w.freeSlots[k-1]]
		w.freeSlots = w.freeSlots[:k-1]
	} else {
		c = &conn{w: w, slot: int32(len(w.conns))}
		c.parser.Limits = w.limits
		w.conns = append(w.conns, c)
	}
	c.gen++
	c.fd = fd
	c.peer = peer
	c.served = 0
	c.closing, c.kill, c.eof = false, false, false
	c.lingering, c.lingerWanted = false, false
	c.io = connIO{}
	w.nconns++
	w.tm.arm(c, timerIdle, w.now)
	return c
}

// freeConn returns c's slot to the free list.
func (w *worker) freeConn(c *conn) {
	c.op = nil
	c.resp.Reset()
	c.preq = httpcore.Request{}
	w.freeSlots = append(w.freeSlots, c.slot)
}

// closed is called by the engine once c's socket is closed and no kernel
// operation on it is in flight. It releases c's output (FileRefs included)
// and buffers; c's slot is reused once a pending op has completed too.
func (w *worker) closed(c *conn) {
	if c.fd < 0 {
		return
	}
	w.tm.disarm(c)
	c.out.drop(&w.chunks)
	w.putIn(c)
	c.parser.Reset()
	c.fd = -1
	w.nconns--
	if c.op == nil {
		w.freeConn(c)
	}
}

// markDirty queues c for the engine's end-of-turn sync.
func (w *worker) markDirty(c *conn) {
	if !c.dirty {
		c.dirty = true
		w.dirty = append(w.dirty, c)
	}
}

// syncDirty hands every dirty connection to sync, including connections
// that become dirty while it runs.
func (w *worker) syncDirty(sync func(*conn)) {
	for i := 0; i < len(w.dirty); i++ {
		c := w.dirty[i]
		w.dirty[i] = nil
		c.dirty = false
		if c.fd >= 0 {
			sync(c)
		}
	}
	w.dirty = w.dirty[:0]
}

// feed takes bytes received on c: it parses and answers every complete
// request (pipelining), queues the answers on c.out, and keeps only an
// incomplete tail (copied: data belongs to the engine and may be reused as
// soon as feed returns).
func (w *worker) feed(c *conn, data []byte) {
	if c.fd < 0 || c.closing || c.kill || len(data) == 0 {
		return
	}
	if len(c.in) > 0 || c.op != nil || c.out.bytes >= outHighWater {
		c.in = w.appendIn(c.in, data)
		if c.op == nil {
			w.process(c)
		}
	} else {
		n, needMore := w.serveLoop(c, data)
		if n < len(data) && !c.closing {
			c.in = w.appendIn(nil, data[n:])
		}
		w.afterInput(c, needMore)
	}
	w.retime(c)
	w.markDirty(c)
}

// eof records that the peer will send nothing more. Complete requests
// already buffered are still answered.
func (w *worker) eof(c *conn) {
	if c.fd < 0 {
		return
	}
	c.eof = true
	if c.op == nil {
		if len(c.in) == 0 {
			c.closing = true
		} else if c.out.empty() {
			// Answer what is complete; afterInput closes once only a
			// partial request is left. (Input held back behind pending
			// output or an op is processed, and closed, by sent/opDone.)
			w.process(c)
		}
	}
	w.retime(c)
	w.markDirty(c)
}

// process parses and answers what c.in holds.
func (w *worker) process(c *conn) {
	n, needMore := w.serveLoop(c, c.in)
	if c.closing {
		w.putIn(c)
	} else if n > 0 {
		rest := copy(c.in, c.in[n:])
		c.in = c.in[:rest]
		if rest == 0 {
			w.putIn(c)
		}
	}
	w.afterInput(c, needMore)
}

// afterInput closes c after the peer's FIN once no complete request is left.
func (w *worker) afterInput(c *conn, needMore bool) {
	if c.eof && needMore && c.op == nil {
		c.closing = true
		w.putIn(c)
	}
}

// serveLoop parses and answers requests from buf until it needs more input
// (needMore), an op is pending, c is closing, or the output is over the
// high-water mark. It returns the number of bytes consumed.
func (w *worker) serveLoop(c *conn, buf []byte) (n int, needMore bool) {
	off := 0
	for c.op == nil && !c.closing && c.out.bytes < outHighWater {
		if off == len(buf) {
			return off, true
		}
		k, err := c.parser.Parse(buf[off:], &c.req)
		if err != nil {
			if err == httpcore.ErrNeedMore {
				return off, true
			}
			status := 400
			if e, ok := err.(*httpcore.Error); ok {
				status = e.Status
			}
			w.answerStatus(c, status)
			return len(buf), false
		}
		off += k
		w.serve(c)
	}
	return off, false
}

// serve answers the request in c.req.
func (w *worker) serve(c *conn) {
	req, resp := &c.req, &c.resp
	resp.Reset()
	var op *httpcore.Op
	if !httpcore.Preflight(req, resp) {
		op = w.h.Serve(req, resp)
	}
	if op == nil {
		w.finish(c, req)
		return
	}
	// The request's slices alias input that is gone by the time the op
	// completes: keep only what finishing the answer needs.
	c.preq = httpcore.Request{
		Method: req.Method, Major: req.Major, Minor: req.Minor,
		KeepAlive: req.KeepAlive, Expect100: req.Expect100,
	}
	if w.alog != nil {
		c.logLine = w.alog.appendStart(c.logLine[:0], c, req)
	}
	w.startOp(c, op)
}

// answerStatus queues a bare status answer (parse errors, 408) and closes c
// after it.
func (w *worker) answerStatus(c *conn, status int) {
	resp := &c.resp
	resp.Reset()
	httpcore.WriteError(resp, status)
	resp.Close = true
	c.lingerWanted = true
	w.finish(c, nil)
}

// startLinger puts c, whose output is sent, into the lingering close state.
func (w *worker) startLinger(c *conn) {
	c.lingering = true
	w.tm.arm(c, timerLinger, w.now)
}

// noBody reports whether no body may be sent.
func noBody(req *httpcore.Request, status int) bool {
	if req == nil {
		return status < 200 || status == 204 || status == 304
	}
	return httpcore.NoBody(req, status)
}

// finish completes c.resp for req (nil when the request could not be
// parsed) and queues it on c.out.
func (w *worker) finish(c *conn, req *httpcore.Request) {
	resp := &c.resp
	if w.draining {
		resp.Close = true
	}
	resp.Finish(req, w.date.Line())
	if resp.Close {
		c.closing = true
	}
	q := &c.out
	q.appendCopy(&w.chunks, resp.Head)
	var bodyLen int64
	lastFile := -1
	if !noBody(req, resp.Status) {
		switch {
		case len(resp.Parts) > 0:
			for i := range resp.Parts {
				p := &resp.Parts[i]
				if p.Bytes != nil {
					q.appendBody(&w.chunks, p.Bytes)
					bodyLen += int64(len(p.Bytes))
				} else if resp.File != nil && q.appendFile(resp.File, p.Off, p.Len) {
					lastFile = len(q.segs) - 1
					bodyLen += p.Len
				}
			}
		case resp.File != nil:
			if q.appendFile(resp.File, resp.Off, resp.Len) {
				lastFile = len(q.segs) - 1
				bodyLen = resp.Len
			}
		default:
			q.appendBody(&w.chunks, resp.Body)
			bodyLen = int64(len(resp.Body))
		}
	}
	if resp.File != nil {
		if lastFile >= 0 {
			q.segs[lastFile].release = true
		} else {
			resp.File.Release()
		}
		resp.File = nil
	}
	resp.Body = nil
	c.served++
	if w.alog != nil {
		w.alog.logAnswer(c, req, resp.Status, bodyLen)
	}
}

// startOp hands op to the engine; c parses nothing more until it completes.
func (w *worker) startOp(c *conn, op *httpcore.Op) {
	c.op = op
	w.pendingOps++
	w.tm.disarm(c)
	w.io.startOp(c, op)
}

// opDone is called on the worker thread when op, c's pending op, has
// completed (op.Res set). If c was closed meanwhile, op is abandoned and
// c's slot freed; otherwise op.Then continues the answer.
func (w *worker) opDone(c *conn, op *httpcore.Op) {
	w.pendingOps--
	c.op = nil
	if c.fd < 0 || c.kill {
		if op.Abandon != nil {
			op.Abandon(op)
		}
		if c.fd < 0 {
			w.freeConn(c)
		}
		return
	}
	if next := op.Then(op, &c.resp); next != nil {
		w.startOp(c, next)
		return
	}
	w.finish(c, &c.preq)
	if !c.closing && len(c.in) > 0 {
		w.process(c)
	} else if c.eof && len(c.in) == 0 {
		c.closing = true
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
	if !c.out.empty() {
		w.tm.arm(c, timerSend, w.now) // progress restarts the send timer
		return
	}
	if !c.closing && !c.kill && c.op == nil {
		if len(c.in) > 0 {
			w.process(c) // requests held back by the high-water mark
			w.markDirty(c)
		} else if c.eof {
			c.closing = true
			w.markDirty(c)
		}
	}
	w.retime(c)
}

// retime puts c on the timer list its state calls for.
func (w *worker) retime(c *conn) {
	var k timerKind
	switch {
	case c.lingering:
		return
	case c.fd < 0 || c.op != nil:
		w.tm.disarm(c)
		return
	case !c.out.empty():
		k = timerSend
	case len(c.in) > 0:
		k = timerHeader
	default:
		k = timerIdle
	}
	if c.tkind != k {
		w.tm.arm(c, k, w.now)
	}
}

// appendIn appends data to a pooled input buffer.
func (w *worker) appendIn(in, data []byte) []byte {
	if in == nil {
		if k := len(w.inFree); k > 0 && len(data) <= inBufSize {
			in = w.inFree[k-1][:0]
			w.inFree[k-1] = nil
			w.inFree = w.inFree[:k-1]
		} else if len(data) <= inBufSize {
			in = make([]byte, 0, inBufSize)
		}
	}
	return append(in, data...)
}

// putIn returns c's input buffer to the pool.
func (w *worker) putIn(c *conn) {
	if c.in == nil {
		return
	}
	if cap(c.in) == inBufSize && len(w.inFree) < maxFreeIn {
		w.inFree = append(w.inFree, c.in[:0])
	}
	c.in = nil
}
