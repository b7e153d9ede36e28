package server

import (
	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/uring"
)

// The uring engine's receiving: multishot recv from the provided-buffer
// ring, or single-shot recv into a pooled buffer.

func (l *uringLoop) armRecv(c *conn, u *connIO) {
	s := l.sqe()
	if l.caps.multishotRecv {
		s.PrepRecvMultishot(c.fd, nil, 0)
		s.SetBufferGroup(l.br.Group())
	} else if l.caps.bufRing {
		s.PrepRecv(c.fd, nil, 0)
		s.SetFlags(uring.SQEBufferSelect)
		s.SetBufferGroup(l.br.Group())
	} else {
		t := l.txOf(u)
		t.recvBuf = l.getBuf(uringBufSize)
		s.PrepRecv(c.fd, t.recvBuf, 0)
	}
	s.SetData(udPack(ukRecv, c.gen, c.slot))
	u.recvArmed = true
	u.recvStop = false
	u.inflight++
}

func (l *uringLoop) onRecv(c *conn, u *connIO, res int32, flags uint32, more bool) {
	w := l.w
	if !more {
		u.recvArmed = false
		u.recvStop = false
	}
	if res > 0 {
		if bid, ok := uringBufID(flags); ok && l.br != nil {
			w.feed(c, l.br.Buffer(bid)[:res])
			l.br.Recycle(bid)
		} else if u.tx != nil && u.tx.recvBuf != nil {
			w.feed(c, u.tx.recvBuf[:res])
		}
	} else if res == 0 {
		w.eof(c)
	} else {
		switch unix.Errno(-res) {
		case unix.ENOBUFS:
			// The provided buffers ran out (a burst): provide twice as
			// many. Re-armed by sync.
			if l.br != nil && !l.grew {
				l.br.Grow(l.br.Provided())
				l.grew = true // once per turn, not once per connection
			}
		case unix.ECANCELED, unix.EINTR, unix.EAGAIN:
			// Re-armed (or not) by sync.
		default:
			w.sockErr(unix.Errno(-res))
			c.kill = true
		}
	}
	if t := u.tx; !more && t != nil && t.recvBuf != nil {
		l.putBuf(t.recvBuf)
		t.recvBuf = nil
		l.putTx(u)
	}
	w.markDirty(c)
}

func uringBufID(flags uint32) (uint16, bool) {
	return uint16(flags >> 16), flags&uring.CQEFBuffer != 0
}

// wantRecv says whether c's receive should be armed. Unlike the epoll
// engine, pending output alone does not stop it: a multishot recv stays
// armed across responses, and feed holds input back while an answer is
// pending. It is cancelled only when the queued output or input held back
// behind an answer grows large (backpressure on a client that writes
// without reading); an incomplete request the parser is waiting for is
// always read (the parser's limits bound it).
func wantRecv(c *conn) bool {
	return c.fd >= 0 && !c.closing && !c.kill && !c.eof &&
		c.out.bytes < outHighWater && (c.held() < uringMaxIn || (c.ex == nil && c.out.empty()))
}
