package files

import (
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Cold misses for the same key on one worker are coalesced: the first
// request (the leader) runs the lookup's Op chain; requests for the same key
// that arrive while it runs (waiters) run no lookup of their own. A waiter's
// Op is an OpFunc that blocks on the leader's step channel, which the leader
// closes (and replaces) whenever it hands the engine its next Op and when its
// chain ends. A waiter whose leader has not finished queues a new wait Op;
// one whose leader finished answers from the entry the leader cached (a
// cache hit), or with the leader's status when it cached nothing (403, 500,
// 503), or, in any other case, looks the file up itself.
//
// Why the leader wakes its waiters at every step: the epoll engine performs
// every Op on a bounded pool of helper goroutines in FIFO order, so waiters
// blocked on helpers could hold all of them while the leader's next Op waits
// in the queue. Woken at each step, the waiters' new Ops are queued after the
// leader's, which the first free helper then runs. A wait also gives its
// helper back after waitSlice, so a slow leader (a cold disk) never keeps the
// pool from other requests' Ops for long.
//
// Bounds: at most maxWaiters requests wait for one leader (later ones look
// the file up themselves), and a waiter waits at most maxWait in all before
// it looks the file up itself. A revalidation is not coalesced: requests
// keep answering from the stale entry while it runs.
const (
	maxWaiters = 64
	waitSlice  = 2 * time.Millisecond
)

// maxWait is how long a waiter waits for its leader in all (a variable for
// tests).
var maxWait = 100 * time.Millisecond

// pending is a cold miss in flight: the leader's chain that waiters wait on.
// Invariant: touched only under the worker's ownership (its thread, or mu).
type pending struct {
	key     string
	step    chan struct{} // closed at the leader's next step and at its end
	done    bool          // the leader's chain ended (answered or abandoned)
	status  int           // the leader's error answer when it cached nothing
	waiters int
}

// startMiss starts the lookup of key: a revalidation of old, or a cold miss.
// A cold miss for a key that is already being looked up on this worker waits
// for that lookup instead (see pending), unless v.solo.
func (w *worker) startMiss(key []byte, enc uint8, v *reqView, old *entry, resp *httpcore.Response) *httpcore.Op {
	if old != nil {
		return w.newMiss(key, enc, v, old, resp)
	}
	if p := w.inflight[string(key)]; p != nil {
		if p.waiters < maxWaiters && !v.solo {
			return w.waitFor(p, enc, v)
		}
		return w.newMiss(key, enc, v, nil, resp)
	}
	if w.inflight == nil {
		w.inflight = make(map[string]*pending)
	}
	p := &pending{key: string(key), step: make(chan struct{})}
	w.inflight[p.key] = p
	return p.track(w, w.newMiss(key, enc, v, nil, resp), resp)
}

// track follows the leader's chain: it wraps op's Then and Abandon so that
// every next step wakes the waiters and the chain's end releases them. A nil
// op is the end: resp holds the leader's answer.
func (p *pending) track(w *worker, op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	if op == nil {
		p.end(w, resp.Status)
		return nil
	}
	close(p.step)
	p.step = make(chan struct{})
	then, abandon := op.Then, op.Abandon
	op.Then = func(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
		next := then(op, resp)
		defer w.lock()()
		return p.track(w, next, resp)
	}
	op.Abandon = func(op *httpcore.Op) {
		if abandon != nil {
			abandon(op)
		}
		defer w.lock()()
		p.end(w, 0)
	}
	return op
}

// end releases the waiters: the leader answered status (0: abandoned).
func (p *pending) end(w *worker, status int) {
	if p.done {
		return
	}
	p.done = true
	if w.cache.m[p.key] == nil && (status == 403 || status >= 500) {
		p.status = status
	}
	close(p.step)
	if w.inflight[p.key] == p {
		delete(w.inflight, p.key)
	}
}

// waiter is a request waiting for a leader's lookup of the same key.
type waiter struct {
	w     *worker
	p     *pending
	enc   uint8
	view  reqView
	since int64 // when it started waiting (Handler.now)
}

// waitFor returns the first wait Op of a request for p's key.
func (w *worker) waitFor(p *pending, enc uint8, v *reqView) *httpcore.Op {
	p.waiters++
	wt := &waiter{w: w, p: p, enc: enc, view: v.clone(), since: w.h.now()}
	return wt.op()
}

// op returns an Op that blocks until the leader's next step (or end), at
// most waitSlice.
func (wt *waiter) op() *httpcore.Op {
	step := wt.p.step
	return &httpcore.Op{
		Kind: httpcore.OpFunc,
		Func: func() {
			t := time.NewTimer(waitSlice)
			select {
			case <-step:
			case <-t.C:
			}
			t.Stop()
		},
		Then:    wt.then,
		Abandon: wt.abandon,
	}
}

func (wt *waiter) then(_ *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	w, p := wt.w, wt.p
	defer w.lock()()
	if !p.done && w.h.now()-wt.since < int64(maxWait) {
		return wt.op()
	}
	p.waiters--
	wt.view.solo = true // whatever happens now, no second wait
	if p.done && p.status != 0 {
		writeError(resp, p.status)
		return nil
	}
	// The leader's entry is cached (a hit), or the file is looked up
	// again. A variant's waiter starts from its identity entry, which
	// picks the variant (or the identity when the variant is missing).
	key := p.key
	if wt.enc != 0 {
		key = key[:len(key)-2]
	}
	return w.lookup([]byte(key), &wt.view, resp)
}

func (wt *waiter) abandon(*httpcore.Op) {
	defer wt.w.lock()()
	wt.p.waiters--
}

// lock takes the shared worker's mutex (a per-worker handler has none); it
// returns the unlock.
func (w *worker) lock() func() {
	if mu := w.mu; mu != nil {
		mu.Lock()
		return mu.Unlock
	}
	return func() {}
}
