package server

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// A handler that panics must not take its worker (and every connection on
// it) down: Serve, Then and Abandon run through these wrappers on the loop,
// and OpFunc's Func through safeRun on its helper goroutine. The request
// whose handler panicked is answered 500 (nothing of its answer has been
// queued yet: answers are queued only once complete); the connection goes
// on. Each panic is logged with its stack, at most one a second per worker
// (the others are counted and said in the next line).

// callServe runs the handler's Serve for req.
func (w *worker) callServe(req *httpcore.Request, resp *httpcore.Response) (op *httpcore.Op) {
	defer func() {
		if r := recover(); r != nil {
			w.handlerPanicked("Serve", r)
			httpcore.WriteError(resp, 500)
			op = nil
		}
	}()
	op = w.h.Serve(req, resp)
	if op == nil && len(resp.Head) == 0 {
		w.noAnswer("Serve", resp)
	}
	return op
}

// callThen runs op.Then.
func (w *worker) callThen(op *httpcore.Op, resp *httpcore.Response) (next *httpcore.Op) {
	defer func() {
		if r := recover(); r != nil {
			w.handlerPanicked("Op.Then", r)
			httpcore.WriteError(resp, 500)
			next = nil
		}
	}()
	next = op.Then(op, resp)
	if next == nil && len(resp.Head) == 0 {
		w.noAnswer("Op.Then", resp)
	}
	return next
}

// noAnswer answers 500 for a handler that returned no Op and left resp
// empty (no status line): there is nothing to send. Logged like a panic, at
// most once a second per worker, without a stack.
func (w *worker) noAnswer(where string, resp *httpcore.Response) {
	httpcore.WriteError(resp, 500)
	now := time.Now().UnixNano()
	last := w.panicLogged.Load()
	if now-last < int64(time.Second) || !w.panicLogged.CompareAndSwap(last, now) {
		w.panicsQuiet.Add(1)
		return
	}
	w.s.log.Error("server: handler returned no answer (empty Response.Head, no Op); the request is answered 500",
		"where", where, "worker", w.id)
}

// callAbandon runs op.Abandon, if any.
func (w *worker) callAbandon(op *httpcore.Op) {
	if op.Abandon == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			w.handlerPanicked("Op.Abandon", r)
		}
	}()
	op.Abandon(op)
}

// handlerPanicked counts and logs a recovered panic. Worker thread.
func (w *worker) handlerPanicked(where string, r any) {
	w.m.c.panics++
	w.logPanic(where, r, debug.Stack())
}

// logPanic logs a panic with its stack unless one was logged less than a
// second ago; those are counted and said in the next line.
func (w *worker) logPanic(where string, r any, stack []byte) {
	now := time.Now().UnixNano()
	last := w.panicLogged.Load()
	if now-last < int64(time.Second) || !w.panicLogged.CompareAndSwap(last, now) {
		w.panicsQuiet.Add(1)
		return
	}
	w.s.log.Error("server: handler panic recovered; the request is answered 500", "where", where,
		"panic", fmt.Sprint(r), "worker", w.id, "not_logged_since", w.panicsQuiet.Swap(0), "stack", string(stack))
}

// panicLog is a worker's panic log limiter (also used by helper
// goroutines, hence atomics).
type panicLog struct {
	panicLogged atomic.Int64
	panicsQuiet atomic.Int64
}

// safeRun runs op on a helper goroutine; a panic in an OpFunc is recovered
// and reported (the loop then answers 500 instead of calling Then).
func (w *worker) safeRun(op *httpcore.Op) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			w.logPanic("Op.Func", r, debug.Stack())
			panicked = true
		}
	}()
	runOp(op)
	return false
}
