package server

import (
	"sync/atomic"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// maxFreeExchanges bounds a worker's free list of exchanges.
const maxFreeExchanges = 256

// exchange is one request whose answer waits for a handler op: what
// finishing the answer needs of the request (a scalar copy: the request's
// slices alias input that is gone by the time the op completes), the
// Response the handler is filling, the pending op and the access log's
// start of line. Requests answered at once never get one: they use the
// worker's scratch request and response.
//
// Invariant: an exchange belongs to one connection from get to put; the
// connection's slot is not reused while it has one (c.ops counts them).
type exchange struct {
	// stream is the HTTP/2 stream the request came on (0: HTTP/1.1);
	// cancelled says the stream was reset (or its connection closed)
	// meanwhile. Set on the worker thread, read by the helper that pops
	// the op too: an op whose request is gone before it starts is not
	// performed (opPool.helper), so a client that resets its streams at
	// once (Rapid Reset) cannot pile up work for the helpers.
	stream    uint32
	cancelled atomic.Bool
	// panicked: the op's Func panicked on its helper goroutine (set
	// there before the op is posted back).
	panicked bool
	c        *conn
	req      httpcore.Request
	resp     httpcore.Response
	op       *httpcore.Op
	logLine  []byte
	start    int64 // loop turn that completed the request, ns since the worker's epoch
}

// getExchange takes an exchange from the worker's free list.
func (w *worker) getExchange(c *conn) *exchange {
	ex := w.exFree.get()
	if ex == nil {
		ex = new(exchange)
	}
	ex.c = c
	return ex
}

// putExchange returns ex to the free list.
func (w *worker) putExchange(ex *exchange) {
	ex.c, ex.op = nil, nil
	ex.stream, ex.panicked = 0, false
	ex.cancelled.Store(false)
	ex.req = httpcore.Request{}
	ex.resp.Reset()
	ex.logLine = ex.logLine[:0]
	w.exFree.put(ex)
}

// handle runs the handler for req, received on c, with resp, which the
// caller has reset: after preflight and, on plaintext connections of a
// server that redirects to https, instead of it. It returns the op the
// answer waits for, or nil when resp is complete.
func (w *worker) handle(c *conn, req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	if httpcore.Preflight(req, resp) {
		return nil
	}
	if w.httpsPort != "" && c.tls == nil {
		w.redirectHTTPS(req, resp)
		return nil
	}
	req.Now = w.wall
	return w.callServe(req, resp)
}

// redirectHTTPS answers req with a 308 to the same host, the TLS port, the
// same path and query over https. A request without a usable host (HTTP/1.0
// without Host) gets 400: there is nowhere to send it.
func (w *worker) redirectHTTPS(req *httpcore.Request, resp *httpcore.Response) {
	host := hostOnly(req.Host)
	if len(host) == 0 || req.Path[0] != '/' {
		httpcore.WriteError(resp, 400)
		return
	}
	resp.Status = 308
	h := httpcore.AppendStatusLine(resp.Head[:0], 308)
	h = append(h, "Location: https://"...)
	h = append(h, host...)
	if w.httpsPort != "443" {
		h = append(h, ':')
		h = append(h, w.httpsPort...)
	}
	h = append(h, req.Path...)
	if req.Query != nil {
		h = append(h, '?')
		h = append(h, req.Query...)
	}
	h = append(h, "\r\nContent-Length: 0\r\n"...)
	resp.Head = h
}

// hostOnly returns host without its port (an IPv6 literal keeps its
// brackets). The parser has validated host.
func hostOnly(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		for i, b := range host {
			if b == ']' {
				return host[:i+1]
			}
		}
		return nil
	}
	for i, b := range host {
		if b == ':' {
			return host[:i]
		}
	}
	return host
}

// park moves the answer in progress (resp, from the worker's scratch) into
// an exchange for c, so that it survives until op completes. The scratch
// response gets the exchange's old buffers, so neither allocates.
func (w *worker) park(c *conn, req *httpcore.Request, resp *httpcore.Response) *exchange {
	ex := w.getExchange(c)
	ex.req = httpcore.Request{
		Method: req.Method, Major: req.Major, Minor: req.Minor,
		KeepAlive: req.KeepAlive, Expect100: req.Expect100,
	}
	ex.resp, *resp = *resp, ex.resp
	resp.Reset()
	ex.start = w.turnNs()
	if w.alog != nil {
		ex.logLine = w.alog.appendStart(ex.logLine[:0], c, req)
	}
	return ex
}

// startOp hands op to the engine; ex's connection waits for it.
func (w *worker) startOp(ex *exchange, op *httpcore.Op) {
	ex.op = op
	ex.c.ops++
	w.pendingOps++
	w.io.startOp(ex, op)
}

// opDone is called on the worker thread when op, ex's pending op, has
// completed (op.Res set). If the connection was closed meanwhile, op is
// abandoned (and the slot freed once no other op is pending); otherwise
// op.Then continues the answer.
func (w *worker) opDone(ex *exchange, op *httpcore.Op) {
	c := ex.c
	w.pendingOps--
	c.ops--
	ex.op = nil
	if c.fd < 0 || c.kill || ex.cancelled.Load() {
		w.callAbandon(op)
		if ex.stream != 0 {
			w.h2Unpark(c, ex)
			w.putExchange(ex)
		} else {
			w.h1Abandon(c, ex)
		}
		if c.fd < 0 {
			if c.ops == 0 {
				w.freeConn(c)
			}
		} else {
			w.retime(c)
			w.markDirty(c)
		}
		return
	}
	if ex.panicked {
		// Its Func panicked on a helper: no Then, a 500.
		ex.panicked = false
		w.m.c.panics++
		w.callAbandon(op)
		httpcore.WriteError(&ex.resp, 500)
	} else if next := w.callThen(op, &ex.resp); next != nil {
		w.startOp(ex, next)
		return
	}
	if ex.stream != 0 {
		w.h2Answered(c, ex)
	} else {
		w.h1Answered(c, ex)
	}
	w.retime(c)
	w.markDirty(c)
}
