package server

import (
	"sync"
	"syscall"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Bounds of the default helper pool size (Config.OpHelpers).
const (
	minHelpers = 4
	maxHelpers = 16
)

// opPool is a bounded set of helper goroutines that perform blocking ops
// (every op of the epoll engine; OpFunc for the uring engine) and post the
// results back to the op's worker. Submitting never blocks the loop: the
// queue is unbounded, the number of goroutines is not. An op whose request
// was cancelled before a helper took it is posted back unperformed (Res
// -ECANCELED, then abandoned): the queue drains at once of work nobody
// waits for.
type opPool struct {
	mu     sync.Mutex
	cond   sync.Cond
	queue  []opJob
	head   int
	closed bool
	wg     sync.WaitGroup
}

type opJob struct {
	w  *worker
	ex *exchange
	op *httpcore.Op
}

// newOpPool starts n > 0 helpers.
func newOpPool(n int) *opPool {
	p := &opPool{}
	p.cond.L = &p.mu
	p.wg.Add(n)
	for range n {
		go p.helper()
	}
	return p
}

// submit queues op of ex for w. Worker thread; never blocks on the helpers.
func (p *opPool) submit(w *worker, ex *exchange, op *httpcore.Op) {
	p.mu.Lock()
	p.queue = append(p.queue, opJob{w, ex, op})
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *opPool) helper() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for p.head == len(p.queue) && !p.closed {
			p.cond.Wait()
		}
		if p.head == len(p.queue) {
			p.mu.Unlock()
			return
		}
		j := p.queue[p.head]
		p.queue[p.head] = opJob{}
		p.head++
		if p.head == len(p.queue) {
			p.queue = p.queue[:0]
			p.head = 0
		}
		p.mu.Unlock()
		if j.ex.cancelled.Load() {
			// The request is gone (an HTTP/2 stream reset): its op is
			// abandoned when posted back, so do not perform it.
			j.op.Res = -int32(syscall.ECANCELED)
		} else if j.w.safeRun(j.op) {
			j.ex.panicked = true // posted under the worker's lock: ordered before opDone reads it
		}
		j.w.postOp(j.ex, j.op)
	}
}

// poolCloseWait bounds how long close waits for ops still running (an
// OpFunc may block for long); stragglers finish on their own and abandon.
const poolCloseWait = 2 * time.Second

// close lets the helpers finish the queue and waits for them, at most
// poolCloseWait. It reports whether every helper has returned.
func (p *opPool) close() bool {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(poolCloseWait)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
