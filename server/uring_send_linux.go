package server

import (
	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/uring"
)

// The uring engine's sending of in-memory output, and the per-turn sync
// of a dirty connection.

func (l *uringLoop) sync(c *conn) {
	u := &c.io
	if u.closing {
		if u.linkedClose && c.kill {
			// Killed (a send timeout) while the last send waits for a
			// peer that does not read: end the send; its linked close
			// is cancelled and the connection closes the usual way.
			unix.Shutdown(c.fd, unix.SHUT_RDWR)
		}
		return
	}
	if c.wantClose() {
		if !c.kill && !c.eof && (c.lingering || c.lingerWanted || unreadInput(c.fd)) {
			// Lingering close: our FIN goes out, input is read and
			// dropped until the peer's FIN (or the linger timer), so
			// that input we never read does not turn the close into a
			// reset that destroys the answer before the client reads it.
			if !c.lingering {
				unix.Shutdown(c.fd, unix.SHUT_WR)
				l.w.startLinger(c)
			}
			if !u.recvArmed {
				l.armRecv(c, u)
			}
			return
		}
		l.closeConn(c, u)
		return
	}
	if !u.sending && c.wantWrite() {
		l.send(c, u)
	}
	want := wantRecv(c)
	switch {
	case want && !u.recvArmed:
		l.armRecv(c, u)
	case !want && u.recvArmed && !u.recvStop && l.caps.multishotRecv:
		s := l.sqe()
		s.PrepCancel64(udPack(ukRecv, c.gen, c.slot), 0)
		s.SetData(ukIgnore)
		u.recvStop = true
	}
}

// send starts sending the front of c's output queue.
func (l *uringLoop) send(c *conn, u *connIO) {
	segs := c.out.pending()
	if len(segs) == 0 {
		return
	}
	if segs[0].file != nil {
		l.sendFile(c, u, &segs[0])
		return
	}
	l.sendBytes(c, u, segs)
}

// sendBytes sends the leading in-memory segments of segs (at most
// uringMaxIov) in one send or sendmsg.
func (l *uringLoop) sendBytes(c *conn, u *connIO, segs []seg) {
	n := 0
	for n < len(segs) && n < uringMaxIov && segs[n].file == nil {
		n++
	}
	last := n == len(segs) && lastSend(c)
	if last {
		l.reserve(3) // the cancel, the send and its linked close in one submit
		l.cancelRecv(c, u)
	}
	s := l.sqe()
	if n == 1 {
		s.PrepSend(c.fd, segs[0].b, unix.MSG_NOSIGNAL)
	} else {
		t := l.txOf(u)
		t.msg = unix.Msghdr{Iov: &l.iovecs(t, segs[:n])[0]}
		t.msg.SetIovlen(n)
		s.PrepSendmsg(c.fd, &t.msg, unix.MSG_NOSIGNAL)
	}
	s.SetData(udPack(ukSend, c.gen, c.slot))
	u.sending = true
	u.inflight++
	if last {
		s.SetFlags(uring.SQEIOLink)
		l.linkClose(c, u)
	}
}

func (l *uringLoop) onSend(c *conn, u *connIO, res int32) {
	u.sending = false
	if t := u.tx; t != nil {
		l.clearSendRefs(t)
		l.putTx(u)
	}
	if res < 0 {
		if e := unix.Errno(-res); e != unix.EAGAIN && e != unix.EINTR {
			l.w.sockErr(e)
			c.kill = true
		}
	} else {
		l.w.sent(c, int64(res))
	}
	l.w.markDirty(c)
}

// txOf returns u's transfer state, borrowing one when u has none.
func (l *uringLoop) txOf(u *connIO) *utx {
	if u.tx != nil {
		return u.tx
	}
	if k := len(l.txFree); k > 0 {
		u.tx = l.txFree[k-1]
		l.txFree[k-1] = nil
		l.txFree = l.txFree[:k-1]
	} else {
		u.tx = &utx{pipeR: -1, pipeW: -1}
	}
	return u.tx
}

// putTx gives u's transfer state back once no send is in flight and it
// holds no pipe, file buffer (those stay while a file body goes on) or
// recv buffer.
func (l *uringLoop) putTx(u *connIO) {
	t := u.tx
	if t == nil || u.sending || t.pipeR >= 0 || t.fileBuf != nil || t.recvBuf != nil {
		return
	}
	u.tx = nil
	if len(l.txFree) < 1024 {
		l.txFree = append(l.txFree, t)
	}
}

// iovecs points t's iovec array at segs (at most uringMaxIov in-memory
// segments) and keeps them reachable until the op's CQE (clearSendRefs).
func (l *uringLoop) iovecs(t *utx, segs []seg) []unix.Iovec {
	for i := range segs {
		b := segs[i].b
		t.iov[i].Base = &b[0]
		t.iov[i].SetLen(len(b))
		t.sendRefs[i] = b
	}
	return t.iov[:len(segs)]
}

// clearSendRefs drops the references an iovec array held for the kernel.
func (l *uringLoop) clearSendRefs(t *utx) {
	for i := range t.sendRefs {
		if t.sendRefs[i] == nil {
			break
		}
		t.sendRefs[i] = nil
		t.iov[i] = unix.Iovec{}
	}
}
