package server

import (
	"time"

	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// HTTP/2 on a connection: package h2's state machine parses frames and
// hands complete requests here (h2State is its Host); they are answered
// like HTTP/1.1 requests (handle, park, ops), and the answers go back to
// the state machine with Respond. Before each sync the connection's frames
// are flushed into its output queue (h2Flush), as far as the flow-control
// windows and an output budget allow; more follows when the queue drains.
//
// A connection speaks HTTP/2 when TLS's ALPN chose "h2", or, with
// Config.H2C, when a plaintext connection starts with the HTTP/2 preface
// (prior knowledge; RFC 9113 §3.3). There is no Upgrade: h2c.

// h2Preface is the client connection preface (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2Budget bounds the output queued ahead of the socket per connection.
const h2Budget = outHighWater

// h2State is one HTTP/2 connection's protocol state.
//
// Invariants: in holds at most one partial frame; parked lists the
// exchanges waiting for an op (their stream ids in ex.stream), in no
// particular order.
type h2State struct {
	conn h2.Conn
	c    *conn
	st   stage // frames with file ranges, read into memory (stage.go)
	// staging: output goes through st, from the first file range queued
	// (on an engine that reads them: worker.stageH2Files; on any engine
	// for a mapped file: lendsMapping) until st is empty again; frames
	// from memory go straight to c.out otherwise.
	staging bool
	in      []byte
	parked  []*exchange
	sink    h2Sink
	goaway  bool // GoAway sent for the worker's shutdown
	failed  bool // a connection error: close once its GOAWAY is sent
}

// h2Sink is the connection's output queue seen as an h2.Sink.
type h2Sink struct {
	w *worker
	c *conn
}

func (s *h2Sink) Write(p []byte) { s.c.pq().appendCopy(&s.w.chunks, p) }

func (s *h2Sink) WriteRef(p []byte) { s.c.pq().appendBody(&s.w.chunks, p) }

func (s *h2Sink) WriteFile(f httpcore.FileRef, off, n int64, release bool) {
	if s.w.stageH2Files || n > 0 && lendsMapping(f) {
		s.c.h2.staging = true
	}
	q := s.c.pq()
	if n <= 0 {
		if release {
			q.appendRelease(&s.w.chunks, f)
		}
		return
	}
	q.appendFile(&s.w.chunks, f, off, n)
	if release {
		q.markRelease()
	}
}

func (s *h2Sink) Buffered() int64 { return s.c.pending() }

// lendsMapping reports whether f's file is mapped (httpcore.MappedFile):
// then even an engine that sends files inline stages its frames, which go
// out from the mapping (stage.go) in one send with their heads, where
// sendfile would take a call per 16 KiB frame and its head another.
func lendsMapping(f httpcore.FileRef) bool {
	mf, ok := f.(httpcore.MappedFile)
	return ok && mf.Mapped() != nil
}

// h2Start makes c an HTTP/2 connection.
func (w *worker) h2Start(c *conn) {
	st := w.h2Free.get()
	if st == nil {
		st = new(h2State)
	}
	st.c = c
	st.sink = h2Sink{w: w, c: c}
	st.conn.Init(&w.h2cfg, st)
	c.h2 = st
	w.markDirty(c)
}

// h2Closed releases c's HTTP/2 state: the socket is closed and the output
// queue dropped, so no segment refers to the connection's files any more.
func (w *worker) h2Closed(c *conn) {
	st := c.h2
	if st == nil {
		return
	}
	c.h2 = nil
	w.dropStage(&st.st) // first: it may hold the streams' last file releases
	st.conn.Release()   // cancels the streams: parked exchanges are marked
	st.c = nil
	st.sink = h2Sink{}
	st.goaway, st.failed, st.staging = false, false, false
	clear(st.parked)
	st.parked = st.parked[:0]
	if cap(st.in) > 2*h2.DefaultMaxFrameSize {
		st.in = nil
	}
	st.in = st.in[:0]
	w.h2Free.put(st)
}

// maxFreeH2 bounds a worker's free list of HTTP/2 states.
const maxFreeH2 = 64

// h2Input feeds plaintext input to c's HTTP/2 state machine.
func (w *worker) h2Input(c *conn, data []byte) {
	st := c.h2
	buf := data
	if len(st.in) > 0 {
		st.in = append(st.in, data...)
		buf = st.in
	}
	st.conn.Tick(time.Duration(w.now) * time.Millisecond) // budgets refill with time
	n, err := st.conn.Feed(buf)
	switch {
	case len(st.in) > 0:
		k := copy(st.in, st.in[n:])
		st.in = st.in[:k]
	case n < len(buf):
		st.in = append(st.in[:0], buf[n:]...)
	}
	if err != nil {
		// GOAWAY is queued: flush it, then close.
		st.in = st.in[:0]
		st.failed = true
		c.closing = true
	}
	w.markDirty(c)
}

// h2EOF handles the peer's FIN: answers in progress still go out; the
// connection closes once it is idle.
func (w *worker) h2EOF(c *conn) {
	c.closing = true
	w.markDirty(c)
}

// Request is h2.Host's: stream id's request is complete. Worker thread,
// inside Feed.
func (st *h2State) Request(id uint32, req *httpcore.Request) {
	c := st.c
	w := c.w
	resp := &w.resp
	resp.Reset()
	op := w.handle(c, req, resp)
	if op == nil {
		w.h2Respond(c, id, req, resp, nil)
		return
	}
	ex := w.park(c, req, resp)
	ex.stream = id
	st.parked = append(st.parked, ex)
	w.startOp(ex, op)
}

// Cancel is h2.Host's: stream id is gone; its parked exchange, if any,
// is abandoned when its op completes.
func (st *h2State) Cancel(id uint32) {
	for _, ex := range st.parked {
		if ex.stream == id {
			ex.cancelled.Store(true)
			return
		}
	}
}

// h2Respond hands resp, the answer to req on stream id, to c's state
// machine. ex is the exchange it was parked in, or nil.
func (w *worker) h2Respond(c *conn, id uint32, req *httpcore.Request, resp *httpcore.Response, ex *exchange) {
	if c.tls != nil && w.hsts != nil && resp.Status != 0 {
		resp.Head = append(resp.Head, w.hsts...)
	}
	noBody := httpcore.NoBody(req, resp.Status)
	var bodyLen int64
	if !noBody {
		bodyLen = planLen(resp)
	}
	start := w.turnNs()
	if ex != nil {
		start = ex.start
	}
	w.answered(req, resp.Status, start)
	if w.alog != nil {
		w.alog.logNow(c, ex, req, resp.Status, start, bodyLen)
	}
	c.h2.conn.Respond(id, resp, noBody, w.date.Line())
	resp.Reset()
	c.served++
	w.markDirty(c)
}

// h2Answered answers ex's stream once its op chain has completed.
func (w *worker) h2Answered(c *conn, ex *exchange) {
	w.h2Unpark(c, ex)
	w.h2Respond(c, ex.stream, &ex.req, &ex.resp, ex)
	w.putExchange(ex)
}

// h2Unpark removes ex from c's parked exchanges.
func (w *worker) h2Unpark(c *conn, ex *exchange) {
	st := c.h2
	if st == nil {
		return
	}
	for i, e := range st.parked {
		if e == ex {
			last := len(st.parked) - 1
			st.parked[i] = st.parked[last]
			st.parked[last] = nil
			st.parked = st.parked[:last]
			return
		}
	}
}

// h2Flush moves c's pending frames into its output queue, up to the budget.
func (w *worker) h2Flush(c *conn) {
	st := c.h2
	if w.draining && !st.goaway {
		st.goaway = true
		st.conn.GoAway()
	}
	st.conn.Flush(&st.sink, h2Budget)
	if st.conn.Closing() && st.conn.Idle() {
		// A graceful close (the peer's GOAWAY or ours) lingers: the peer
		// may still be sending (a PING after its GOAWAY, frames crossing
		// ours), and input left unread at close() turns it into a reset
		// that destroys our last frames. A connection error does not: its
		// peer is broken or hostile, and reading on would only feed it.
		c.closing = true
		c.lingerWanted = !st.failed
	}
}

// h2Idle reports whether c's HTTP/2 state holds nothing: no stream, no
// frame pending, no partial frame.
func (c *conn) h2Idle() bool {
	st := c.h2
	return st == nil || (len(st.in) == 0 && len(st.parked) == 0 && st.conn.Idle())
}

// h2Timer returns the timer an HTTP/2 connection with nothing queued waits
// on: the send timer while its answers wait for the peer's window, the
// header timer while a stream or frame is incomplete, else idle.
func (c *conn) h2Timer() timerKind {
	st := c.h2
	switch {
	case st.conn.Stalled():
		return timerSend
	case len(st.parked) > 0:
		return timerNone
	case len(st.in) > 0 || !st.conn.Idle():
		return timerHeader
	}
	return timerIdle
}

// h2Wants reports whether c's input starts like the HTTP/2 preface (all
// of data so far matches it).
func h2Wants(data []byte) bool {
	n := min(len(data), len(h2Preface))
	return n > 0 && string(data[:n]) == h2Preface[:n]
}

// planLen returns the length of resp's body plan.
func planLen(resp *httpcore.Response) int64 {
	switch {
	case len(resp.Parts) > 0:
		var n int64
		for i := range resp.Parts {
			if p := &resp.Parts[i]; p.Bytes != nil {
				n += int64(len(p.Bytes))
			} else {
				n += p.Len
			}
		}
		return n
	case resp.File != nil:
		return resp.Len
	}
	return int64(len(resp.Body))
}
