package server

import (
	"golang.org/x/sys/unix"
)

// The uring engine's closing of connections.

// closeConn cancels c's operations; the socket closes when the last one
// has completed (maybeClosed).
func (l *uringLoop) closeConn(c *conn, u *connIO) {
	u.closing = true
	if c.kill && !c.out.empty() {
		// Output the peer did not take (a stalled send): close with a
		// reset instead of leaving the kernel an orphan socket trickling
		// the rest to a peer that does not read.
		unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		l.w.m.c.resetsServer++
	}
	l.cancelRecv(c, u)
	if u.sending {
		// A send or splice waiting for room: shutting the socket down
		// ends it at once with EPIPE, on any kernel.
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
	l.maybeClosed(c, u)
}

// cancelRecv cancels c's armed recv.
func (l *uringLoop) cancelRecv(c *conn, u *connIO) {
	if u.recvArmed && !u.recvStop {
		// Cancel by user_data: it runs inline at submit. (A ring SHUTDOWN
		// or cancel-by-fd would name the socket by number, and SHUTDOWN
		// always runs in io-wq, where it resolves the number later: after
		// the close below, when the number may already be a new
		// connection's.)
		s := l.sqe()
		s.PrepCancel64(udPack(ukRecv, c.gen, c.slot), 0)
		s.SetData(ukIgnore)
		u.recvStop = true
	}
}

// lastSend reports whether a send of all of c's pending output is the
// connection's last act, so that the close can be linked to it: c closes
// once its output is out (Connection: close, HTTP/1.0), nothing is left to
// parse or wait for, and no lingering close is wanted.
func lastSend(c *conn) bool {
	return c.closing && !c.kill && c.ex == nil && !c.lingerWanted && c.held() == 0
}

// linkClose queues a CLOSE linked to the send just queued for c (its
// recv already cancelled): a Connection: close answer costs no loop turn
// between the send and the close. If the send comes back short the link
// breaks, the close is cancelled (onLinkedClose) and sending goes on.
func (l *uringLoop) linkClose(c *conn, u *connIO) {
	s := l.sqe()
	s.PrepClose(c.fd)
	s.SetData(udPack(ukClose, c.gen, c.slot))
	u.inflight++
	u.closing = true
	u.linkedClose = true
}

// onLinkedClose handles the CQE of a close linked to c's last send.
func (l *uringLoop) onLinkedClose(c *conn, u *connIO, res int32) {
	if res == -int32(unix.ECANCELED) {
		// The send before it did not send everything: the socket is
		// open, go on (sync sends the rest, then closes).
		u.linkedClose = false
		u.closing = false
		l.w.markDirty(c)
	}
}

func (l *uringLoop) maybeClosed(c *conn, u *connIO) {
	if !u.closing || u.inflight > 0 || c.fd < 0 {
		return
	}
	if u.linkedClose {
		u.linkedClose = false // the kernel closed the socket already
	} else {
		s := l.sqe()
		s.PrepClose(c.fd)
		s.SetData(ukIgnore)
	}
	if t := u.tx; t != nil {
		l.putPipe(t)
		if t.fileBuf != nil {
			l.putBuf(t.fileBuf[:cap(t.fileBuf)])
			t.fileBuf = nil
		}
	}
	if t := u.tx; t != nil && t.recvBuf != nil {
		l.putBuf(t.recvBuf)
		t.recvBuf = nil
	}
	u.recvArmed, u.sending = false, false
	l.putTx(u)
	l.w.closed(c)
}
