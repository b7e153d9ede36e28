package server

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// maxExpirePerTurn bounds the timers expireTimers handles per loop turn.
const maxExpirePerTurn = 256

// acceptBackoff is how long a worker stops accepting after EMFILE/ENFILE.
const acceptBackoff = 100 * time.Millisecond

// worker is one event loop's engine-agnostic state. Everything but the
// fields marked otherwise is owned by the worker's thread.
type worker struct {
	s         *Server
	id        int
	h         httpcore.Handler
	io        ioLoop
	limits    httpcore.Limits
	listeners []int  // listening sockets: Config.Listen's, then Config.TLSListen's
	listenTLS []bool // listenTLS[i]: listeners[i] speaks TLS

	conns     []*conn // slot table; conns never move
	freeSlots []int32
	dirty     []*conn
	nconns    int // open sockets
	// pendingOps counts ops started and not yet completed, for open and
	// closed connections alike.
	pendingOps int
	maxConns   int
	lowConns   int // accepting resumes at or below this

	tm        timers
	epoch     time.Time
	now       int64 // ms since epoch, updated by tick
	wall      time.Time
	date      httpcore.DateCache
	nextLog   int64 // now at which the access log buffer is handed over
	lastYield int64 // now at the last runtime.Gosched (tick)
	// answerClock is the time answers are stamped with (answerNs), read
	// again every answerClockEvery answers.
	answerClock     int64
	answerClockUses int
	panicLog
	draining bool
	forced   bool
	deadline int64 // now at which draining turns into closing everything

	// acceptPausedUntil is the now until which accepting stays paused after
	// EMFILE/ENFILE; 0 when not paused for that reason.
	acceptPausedUntil int64

	// Scratch for the request being parsed and answered at once (h1.go):
	// one request is parsed at a time on a worker.
	parser httpcore.Parser
	req    httpcore.Request
	resp   httpcore.Response

	// httpsPort is the port plaintext requests are redirected to (""
	// when they are served); hsts is the Strict-Transport-Security line
	// of answers over TLS (nil: none).
	httpsPort string
	hsts      []byte
	// skipBodies: the handler never reads request bodies (BodyIgnorer).
	skipBodies bool
	// stageH2Files: HTTP/2 file bodies are read into memory before they
	// are sent (stage.go), unless the engine sends files inline.
	stageH2Files bool
	// stageHeld: the loop turn's send budget is spent (the epoll engine's
	// turnSendBudget); stages wait for the next turn, so that a stage that
	// refills as fast as its socket drains does not hold the loop.
	stageHeld bool

	// lastBusy is now at the last loop turn with I/O; trimmed says the
	// pools were trimmed since (trim.go).
	lastBusy int64
	trimmed  bool
	freeOS   bool // trimmed, and the runtime not yet asked to free memory

	holdFree freeList[h1hold]
	exFree   freeList[exchange]
	tlsFree  freeList[tlsConn]
	h2Free   freeList[h2State]
	readFree freeList[stageRead] // stage.go
	h2cfg    h2.Config           // what HTTP/2 connections advertise and enforce
	h2c      bool                // plaintext connections may start with the HTTP/2 preface
	// tlsScratch receives handshake output on its way to a connection.
	tlsScratch []byte
	chunks     chunkPool
	alog       *workerLog
	m          *workerMetrics // metrics.go

	// opMu guards completed and exited: helper goroutines post completed
	// ops here and wake the loop.
	opMu      sync.Mutex
	completed []opResult
	spare     []opResult
	tlsReady  []tlsEvent // connections whose handshake has news
	tlsSpare  []tlsEvent
	exited    bool
}

// opResult is a completed op posted to its worker.
type opResult struct {
	ex *exchange
	op *httpcore.Op
}

func newWorker(s *Server, id int) *worker {
	w := &worker{
		s:        s,
		id:       id,
		h:        s.handler,
		limits:   s.cfg.Limits,
		maxConns: s.cfg.MaxConnsPerWorker,
		epoch:    time.Now(),
		m:        newWorkerMetrics(),
	}
	if pw, ok := s.handler.(httpcore.PerWorker); ok {
		w.h = pw.ForWorker(id)
	}
	w.parser.Limits = w.limits
	w.holdFree.max, w.exFree.max = maxFreeHolds, maxFreeExchanges
	w.tlsFree.max, w.h2Free.max = maxFreeTLS, maxFreeH2
	w.readFree.max = maxFreeReads
	if bi, ok := s.handler.(httpcore.BodyIgnorer); ok && bi.IgnoresBodies() {
		w.skipBodies = true
		w.parser.SkipBodies = true
	}
	w.lowConns = w.maxConns * 9 / 10
	w.tm.lists[timerHeader].d = s.cfg.HeaderTimeout.Milliseconds()
	w.tm.lists[timerIdle].d = s.cfg.IdleTimeout.Milliseconds()
	w.tm.lists[timerSend].d = s.cfg.SendTimeout.Milliseconds()
	w.tm.lists[timerLinger].d = lingerTimeout.Milliseconds()
	if s.logw != nil {
		w.alog = newWorkerLog(s.logw)
	}
	w.tick()
	return w
}

// yieldEvery (ms) is how often a busy worker passes through the Go
// scheduler. A worker that only makes syscalls keeps its P's schedtick
// unchanged; after 10 ms of that the runtime's sysmon thread preempts it
// and takes its P from under its next syscall, and every such retake sets
// sysmon back to polling every 20 µs (measured: ~2,800 sysmon wake-ups a
// second and ~20% of the worker's CPU on Connection: close load). A
// yield every few ms is a scheduling round trip that keeps sysmon asleep.
const yieldEvery = 5

// tick advances the worker's clock, refreshes Date, expires timers and
// hands a due access-log buffer over. Call once per loop turn.
func (w *worker) tick() {
	w.wall = time.Now()
	w.now = int64(w.wall.Sub(w.epoch) / time.Millisecond)
	w.date.Update(w.wall)
	w.answerClock, w.answerClockUses = w.turnNs(), 0
	if w.alog != nil && w.now >= w.nextLog {
		w.alog.flush(false)
		w.nextLog = w.now + 1000
	}
	w.maybePublish()
	if w.now-w.lastYield >= yieldEvery {
		w.lastYield = w.now
		runtime.Gosched()
	}
}

// expireTimers handles the connections whose timer ran out. Engines call it
// once per loop turn after handling what the wait returned, so progress
// that arrived during a long turn (a send completed, a request came) counts
// before a timer judges the connection.
func (w *worker) expireTimers() {
	// At most maxExpirePerTurn: thousands of connections timing out at once
	// are closed over several turns (the loop does not wait while timers
	// are due), not in one long turn.
	for range maxExpirePerTurn {
		c, k := w.tm.expired(w.now)
		if c == nil {
			return
		}
		w.expire(c, k)
	}
}

// expire handles a connection whose timer ran out.
func (w *worker) expire(c *conn, k timerKind) {
	w.m.c.timeouts[k]++
	if k == timerHeader && c.outEmpty() && c.ex == nil && (c.tls == nil || c.tls.hs == nil) && c.h2 == nil {
		// A request started and nothing of it was answered: say 408,
		// then close (the send timer bounds that send).
		w.putHold(c)
		w.answerStatus(c, 408)
		w.retime(c)
		w.markDirty(c)
		return
	}
	c.kill = true
	w.markDirty(c)
}

// waitTimeout returns how long the loop may block, in ms (-1: forever is
// never returned; the loop wakes at least once a second).
func (w *worker) waitTimeout() int {
	if len(w.dirty) > 0 {
		return 0
	}
	d := int64(1000)
	if n := w.tm.next(); n >= 0 && n-w.now < d {
		d = n - w.now
	}
	if w.acceptPausedUntil > 0 && w.acceptPausedUntil-w.now < d {
		d = w.acceptPausedUntil - w.now
	}
	if w.draining && !w.forced && w.deadline-w.now < d {
		d = w.deadline - w.now
	}
	d = w.trimWait(d)
	if d < 0 {
		d = 0
	}
	return int(d)
}

// acceptAllowed reports whether the worker may accept now: not draining,
// below its connection limit (with hysteresis: once at the limit, it waits
// for the low-water mark), not in an EMFILE backoff.
func (w *worker) acceptAllowed(paused bool) bool {
	if w.draining {
		return false
	}
	if w.acceptPausedUntil > 0 {
		if w.now < w.acceptPausedUntil {
			return false
		}
		w.acceptPausedUntil = 0
	}
	if paused {
		return w.nconns <= w.lowConns
	}
	return w.nconns < w.maxConns
}

// acceptFailedNoFD starts the EMFILE/ENFILE backoff.
func (w *worker) acceptFailedNoFD() {
	w.m.c.acceptBackoffs++
	w.acceptPausedUntil = w.now + acceptBackoff.Milliseconds()
	if w.acceptPausedUntil == 0 {
		w.acceptPausedUntil = 1
	}
}

// shutdownStep advances a graceful shutdown; call once per loop turn after
// tick. On the first turn after Shutdown it calls closeListeners and closes
// idle connections; at the deadline it closes every connection. It reports
// whether the loop should return (every connection closed and every op
// completed).
func (w *worker) shutdownStep(closeListeners func()) bool {
	if !w.draining {
		if !w.s.stopping.Load() {
			return false
		}
		closeListeners()
		w.draining = true
		w.deadline = w.now + w.s.drainFor().Milliseconds()
		for _, c := range w.conns {
			if c.fd >= 0 && c.idle() && !w.s.handover.Load() {
				c.kill = true
				w.markDirty(c)
			} else if c.fd >= 0 && c.h2 != nil {
				w.markDirty(c) // h2Flush sends GOAWAY
			}
		}
	}
	if w.s.handover.Load() && !w.forced {
		w.handoverSweep()
	}
	if !w.forced && (w.now >= w.deadline || w.s.forced.Load()) {
		w.forced = true
		for _, c := range w.conns {
			if c.fd >= 0 {
				c.kill = true
				w.markDirty(c)
			}
		}
	}
	if w.nconns > 0 || len(w.dirty) > 0 {
		return false
	}
	// Ops still running belong to closed connections: wait for them (their
	// FileRefs and descriptors are released by Abandon), but not forever.
	return w.pendingOps == 0 || w.now >= w.deadline+1000
}

// postOp queues a completed op for its worker and wakes the loop. Any
// goroutine. After the worker has exited it calls op.Abandon instead (on
// the calling goroutine: the worker thread no longer touches the op).
func (w *worker) postOp(ex *exchange, op *httpcore.Op) {
	w.opMu.Lock()
	if w.exited {
		// The loop is gone (shutdown outlived its deadline): nothing will
		// call Then; let the handler release what the op holds.
		w.opMu.Unlock()
		if op.Abandon != nil {
			func() {
				defer func() {
					if r := recover(); r != nil {
						w.logPanic("Op.Abandon", r, debug.Stack())
					}
				}()
				op.Abandon(op)
			}()
		}
		return
	}
	wake := len(w.completed) == 0
	w.completed = append(w.completed, opResult{ex, op})
	if wake {
		w.io.wake()
	}
	w.opMu.Unlock()
}

// postWake wakes the loop unless it has exited. Any goroutine.
func (w *worker) postWake() {
	w.opMu.Lock()
	if !w.exited {
		w.io.wake()
	}
	w.opMu.Unlock()
}

// runCompleted calls opDone for every op posted by helpers. Worker thread.
func (w *worker) runCompleted() {
	w.opMu.Lock()
	done := w.completed
	w.completed = w.spare[:0]
	evs := w.tlsReady
	w.tlsReady = w.tlsSpare[:0]
	w.opMu.Unlock()
	w.runTLSEvents(evs)
	clear(evs)
	w.tlsSpare = evs[:0]
	for i := range done {
		w.opDone(done[i].ex, done[i].op)
		done[i] = opResult{}
	}
	w.spare = done[:0]
}

// markExited stops postOp from waking the loop (whose wake-up descriptor is
// about to close). Worker thread, after the loop.
func (w *worker) markExited() {
	w.opMu.Lock()
	w.exited = true
	w.opMu.Unlock()
	w.publish(w.m.seen, true)
	if w.alog != nil {
		w.alog.flush(true)
	}
}
