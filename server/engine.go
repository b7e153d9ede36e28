package server

import (
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// An engine is one I/O backend ("epoll", "uring"). It drives the
// engine-agnostic connection core (conn.go, outq.go, timer.go, ops.go) with
// the events of its own kernel interface.
//
// The contract between an engine's per-worker loop and the core, all on the
// worker's thread:
//
//   - Accepted sockets become connections with w.newConn(fd, peer, i)
//     (i: the listener's index in w.listeners); the
//     engine checks w.acceptAllowed() before accepting more.
//   - Received bytes go to w.feed(c, data); data may be reused by the engine
//     as soon as feed returns. End of input is w.eof(c).
//   - After events, the engine calls w.syncDirty(sync) (or walks w.dirty
//     itself): every connection whose state changed is handed to the
//     engine's sync function, which acts on the state: c.wantClose(),
//     c.out (send c.out.pending(), then report w.sent(c, n)), c.wantRead()
//     (read interest / recv armed only then: backpressure).
//   - A socket the engine has closed, and for which no kernel operation is
//     in flight any more, is handed back with w.closed(c); the core then
//     releases the output queue (FileRefs included) and buffers.
//   - Ops: the core calls loop.startOp(ex, op) when a handler needs a
//     blocking step for the exchange ex (ex.c is its connection); the
//     engine performs it (ring op or w.s.pool) and calls w.opDone(ex, op)
//     on the worker thread when the kernel is done with it, whether or not
//     the connection is still open.
//   - Time: w.tick() once per loop turn, right after the wait and before
//     handling what it returned (clock, Date, access-log flush): timers
//     armed while handling events start from w.now, so a stale clock would
//     give them deadlines already past. w.expireTimers() after handling
//     it, so that progress the wait reported counts first.
//     w.waitTimeout() is how long the loop may sleep.
//   - Shutdown: w.shutdownStep(closeListeners) once per loop turn; run
//     returns when it reports true.
//
// Engines keep per-connection private state in c.io, or in their own
// tables indexed by c.slot (stable for the conn's lifetime; c.gen changes on
// every reuse, so (slot, gen) names one connection in user_data).
type engine interface {
	// newLoop prepares w's loop. It runs on w's locked OS thread before
	// Start returns; an error fails Start.
	newLoop(w *worker) (ioLoop, error)
	// close releases server-wide resources after every worker returned.
	close()
}

// ioLoop is one worker's event loop.
type ioLoop interface {
	// run serves until the worker has shut down. Worker thread.
	run()
	// wake interrupts a blocking wait. Any goroutine; must not block.
	wake()
	// startOp performs op for ex and later calls w.opDone(ex, op). Worker
	// thread.
	startOp(ex *exchange, op *httpcore.Op)
	// readFile reads the bytes at off of fd into bufs, in order, for c's
	// stage (stage.go); vec (len(bufs)) is the engine's scratch for their
	// iovecs, left untouched by the caller until the read completes. done
	// says res (a byte count or -errno) is the result now; otherwise the
	// engine calls w.fileRead(c, res) later, and c stays open until then.
	// Worker thread.
	readFile(c *conn, fd int, bufs [][]byte, vec []unix.Iovec, off int64) (res int32, done bool)
}

// inlineFiles is implemented by loops that send file ranges on their own
// thread (sendfile) at a cost close to a read: HTTP/2 then sends file
// bodies as file ranges instead of staging them in memory (stage.go).
type inlineFiles interface {
	sendsFilesInline() bool
}

// engineFactory creates an engine for s (s.cfg is final; listeners are
// bound, workers not started).
type engineFactory func(s *Server) (engine, error)

var (
	enginesMu sync.Mutex
	engines   = map[string]engineFactory{}
)

// registerEngine makes an engine available under name. Engines register
// from init functions of their own files.
func registerEngine(name string, f engineFactory) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if _, dup := engines[name]; dup {
		panic("server: engine " + name + " registered twice")
	}
	engines[name] = f
}

// uringAvailable, when set (by the uring engine's file), reports whether the
// uring engine can run here, and why not. nil means the uring engine is not
// built.
var uringAvailable func() (ok bool, why string)

// Engines returns the names of the registered engines, sorted.
func Engines() []string {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	names := make([]string, 0, len(engines))
	for n := range engines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UringAvailable reports whether the uring engine is built and usable on
// this kernel, and why not.
func UringAvailable() (bool, string) {
	enginesMu.Lock()
	_, built := engines[BackendUring]
	enginesMu.Unlock()
	if !built || uringAvailable == nil {
		return false, "uring engine not built"
	}
	return uringAvailable()
}

// pickEngine resolves backend to an engine name and its factory. fellBack
// is non-empty when auto chose epoll, and says why.
func pickEngine(backend string) (name string, f engineFactory, fellBack string, err error) {
	enginesMu.Lock()
	uf, ef, bf := engines[BackendUring], engines[BackendEpoll], engines[backend]
	enginesMu.Unlock()
	switch backend {
	case BackendAuto:
		ok, why := UringAvailable()
		if ok {
			return BackendUring, uf, "", nil
		}
		if ef == nil {
			return "", nil, "", fmt.Errorf("server: no engine available (uring: %s; epoll: not built)", why)
		}
		return BackendEpoll, ef, why, nil
	case BackendUring:
		if ok, why := UringAvailable(); !ok {
			return "", nil, "", fmt.Errorf("server: backend uring: %s", why)
		}
		return BackendUring, uf, "", nil
	default:
		if bf == nil {
			return "", nil, "", fmt.Errorf("server: backend %s: not built for this platform", backend)
		}
		return backend, bf, "", nil
	}
}
