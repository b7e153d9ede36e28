package server

import "time"

// handoverIdle is how long a keep-alive connection may stay idle while the
// server drains for a handover (an upgrade) before it is closed.
//
// A graceful shutdown closes idle keep-alive connections at once, which
// races with a client that is sending its next request right then: the
// request meets a closed socket (a reset, or an EOF instead of an answer).
// When a new process has taken over the listeners the old one can afford
// to wait: every connection's next request is answered with
// "Connection: close" (finish does that while draining) and the client
// reconnects, to the new process; only connections that stay idle this
// long are closed without one.
const handoverIdle = 2 * time.Second

// SetHandover marks the next Shutdown as a handover to a new process that
// serves the same listeners (after a successful Upgrade): idle keep-alive
// connections are not cut at once but given 2 s to send one more request,
// which is answered with "Connection: close", so that no request races a
// closing socket.
func (s *Server) SetHandover() { s.handover.Store(true) }

// handoverSweep closes connections that have been idle for handoverIdle.
// Worker thread, once per turn while draining for a handover. The idle
// list is in deadline order, so it stops at the first younger one.
func (w *worker) handoverSweep() {
	l := &w.tm.lists[timerIdle]
	limit := w.now - handoverIdle.Milliseconds() + l.d // deadline of a connection idle since now-handoverIdle
	for c := l.head; c != nil && c.deadline <= limit; c = c.tnext {
		if !c.kill && c.idle() {
			c.kill = true
			w.markDirty(c)
		}
	}
}
