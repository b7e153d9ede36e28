package server

import "github.com/ringhttpd/ringhttpd/httpcore"

// HTTP/1.1 on a connection: input is parsed with httpcore.Parser, each
// complete request is answered in order (pipelining), answers are queued on
// the connection's outq.
//
// Memory: a read that holds only complete requests (the common case) is
// parsed with the worker's scratch parser and request, answered with the
// worker's scratch response, and leaves nothing behind. Only input that
// must wait (a partial request, or requests held back behind an op or a
// full output queue) is copied into an h1hold borrowed from the worker,
// with a parser of its own; it goes back to the worker when the
// connection's input is used up.

// HTTP/1 input buffering.
const (
	// holdBufSize is the size of pooled input buffers.
	holdBufSize = 4 << 10
	// maxFreeHolds bounds a worker's free list of h1holds.
	maxFreeHolds = 1024
)

// h1hold is HTTP/1 input a connection keeps between reads, with the parser
// that has seen it. Invariant: parser's state is relative to buf[0].
type h1hold struct {
	parser httpcore.Parser
	buf    []byte
}

// hold returns c's h1hold, borrowing one from the worker when c has none.
func (w *worker) hold(c *conn) *h1hold {
	if c.hold != nil {
		return c.hold
	}
	h := w.holdFree.get()
	if h == nil {
		h = &h1hold{}
		h.parser.Limits = w.limits
		h.parser.SkipBodies = w.skipBodies
	}
	c.hold = h
	return h
}

// putHold returns c's h1hold, if any, to the worker.
func (w *worker) putHold(c *conn) {
	h := c.hold
	if h == nil {
		return
	}
	c.hold = nil
	h.parser.Reset()
	if cap(h.buf) != holdBufSize {
		h.buf = nil // grown past the pooled size: let it go
	}
	h.buf = h.buf[:0]
	w.holdFree.put(h)
}

// appendHold appends data to c's held input.
func (w *worker) appendHold(c *conn, data []byte) {
	h := w.hold(c)
	if h.buf == nil && len(data) <= holdBufSize {
		h.buf = make([]byte, 0, holdBufSize)
	}
	h.buf = append(h.buf, data...)
}

// h1Input takes plaintext input for c.
func (w *worker) h1Input(c *conn, data []byte) {
	if c.hold != nil || c.ex != nil || c.pending() >= outHighWater {
		w.appendHold(c, data)
		if c.ex == nil {
			w.process(c)
		}
		return
	}
	p := &w.parser
	n, needMore := w.serveLoop(c, p, data)
	// The scratch parser serves every connection of the worker: whatever
	// state it was left in (a partial request, a sticky error) is not this
	// connection's to keep. A held tail is parsed again by its own parser.
	p.Reset()
	if n < len(data) && !c.closing {
		w.appendHold(c, data[n:])
	}
	w.afterInput(c, needMore)
}

// h1EOF handles the peer's FIN (c.eof is set).
func (w *worker) h1EOF(c *conn) {
	if c.ex != nil {
		return // opDone continues
	}
	if c.held() == 0 {
		c.closing = true
	} else if c.outEmpty() {
		// Answer what is complete; afterInput closes once only a partial
		// request is left. (Input held back behind pending output or an
		// op is processed, and closed, by sent/opDone.)
		w.process(c)
	}
}

// h1Drained continues c once its output queue is empty.
func (w *worker) h1Drained(c *conn) {
	if c.closing || c.kill || c.ex != nil {
		return
	}
	if c.held() > 0 {
		w.process(c) // requests held back by the high-water mark
		w.markDirty(c)
	} else if c.eof {
		c.closing = true
		w.markDirty(c)
	}
}

// process parses and answers what c holds.
func (w *worker) process(c *conn) {
	h := c.hold
	if h == nil {
		return
	}
	n, needMore := w.serveLoop(c, &h.parser, h.buf)
	if c.closing {
		w.putHold(c)
	} else if n > 0 {
		rest := copy(h.buf, h.buf[n:])
		h.buf = h.buf[:rest]
		if rest == 0 {
			w.putHold(c)
		}
	}
	w.afterInput(c, needMore)
}

// afterInput closes c after the peer's FIN once no complete request is left.
func (w *worker) afterInput(c *conn, needMore bool) {
	if c.eof && needMore && c.ex == nil {
		c.closing = true
		w.putHold(c)
	}
}

// serveLoop parses requests from buf with p and answers them until it needs
// more input (needMore), an op is pending, c is closing, or the output is
// over the high-water mark. It returns the number of bytes consumed.
func (w *worker) serveLoop(c *conn, p *httpcore.Parser, buf []byte) (n int, needMore bool) {
	off := 0
	req := &w.req
	for c.ex == nil && !c.closing && c.pending() < outHighWater {
		if c.discard > 0 {
			k := int(min(c.discard, int64(len(buf)-off)))
			off += k
			c.discard -= int64(k)
			if c.discard > 0 {
				return off, true
			}
		}
		if off == len(buf) {
			return off, true
		}
		k, err := p.Parse(buf[off:], req)
		if err != nil {
			if err == httpcore.ErrNeedMore {
				return off, true
			}
			status := 400
			if e, ok := err.(*httpcore.Error); ok {
				status = e.Status
			}
			if status == 400 && w.h2c && c.served == 0 && c.tls == nil {
				// With h2c on, a first message that is no HTTP/1.1
				// request may be a broken HTTP/2 preface, whose client
				// would take a 400 for a frame: close without an answer
				// (RFC 9113 §3.4).
				c.kill = true
				return len(buf), false
			}
			w.answerStatus(c, status)
			return len(buf), false
		}
		off += k
		if req.BodyUnread != 0 {
			// The handler ignores bodies: answer now, then drop a short
			// body as it arrives; after a long or chunked one, close.
			if req.BodyUnread > 0 && req.BodyUnread <= discardMax && req.KeepAlive {
				c.discard = req.BodyUnread
			} else {
				req.KeepAlive = false
			}
		}
		w.serve(c, req)
	}
	return off, false
}

// discardMax is the longest request body skipped to keep the connection;
// after a longer one the connection closes (a lingering close drains it).
const discardMax = 64 << 10

// serve answers req, just parsed on c.
func (w *worker) serve(c *conn, req *httpcore.Request) {
	resp := &w.resp
	resp.Reset()
	op := w.handle(c, req, resp)
	if op == nil {
		w.h1Finish(c, req, resp, nil)
		return
	}
	ex := w.park(c, req, resp)
	c.ex = ex
	w.startOp(ex, op)
}

// h1Answered finishes the answer of ex, whose op chain has completed, and
// goes on with c's held input.
func (w *worker) h1Answered(c *conn, ex *exchange) {
	c.ex = nil
	w.h1Finish(c, &ex.req, &ex.resp, ex)
	w.putExchange(ex)
	if !c.closing && c.held() > 0 {
		w.process(c)
	} else if c.eof && c.held() == 0 {
		c.closing = true
	}
}

// h1Abandon drops ex, whose connection is gone or killed.
func (w *worker) h1Abandon(c *conn, ex *exchange) {
	if c.ex == ex {
		c.ex = nil
	}
	w.putExchange(ex)
}

// noBody reports whether no body may be sent.
func noBody(req *httpcore.Request, status int) bool {
	if req == nil {
		return status < 200 || status == 204 || status == 304
	}
	return httpcore.NoBody(req, status)
}

// h1Finish completes resp for req (nil when the request could not be
// parsed) and queues it on c.pq(). ex is the exchange the request was parked
// in for an op (its start time and access log start of line), or nil for a
// request answered in the loop turn that completed it.
func (w *worker) h1Finish(c *conn, req *httpcore.Request, resp *httpcore.Response, ex *exchange) {
	if w.draining {
		resp.Close = true
	}
	if c.tls != nil && w.hsts != nil && resp.Status != 0 {
		resp.Head = append(resp.Head, w.hsts...)
	}
	resp.Finish(req, w.date.Line())
	if resp.Close {
		c.closing = true
	}
	q := c.pq()
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
				} else if resp.File != nil && q.appendFile(&w.chunks, resp.File, p.Off, p.Len) {
					lastFile = len(q.segs) - 1
					bodyLen += p.Len
				}
			}
		case resp.File != nil:
			if q.appendFile(&w.chunks, resp.File, resp.Off, resp.Len) {
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
	start := w.turnNs()
	if ex != nil {
		start = ex.start
	}
	w.answered(req, resp.Status, start)
	if w.alog != nil {
		w.alog.logAnswer(c, ex, req, resp.Status, start, int64(len(resp.Head)), bodyLen)
	}
}
