package server

import (
	"golang.org/x/sys/unix"
)

// The uring engine's file bodies: splices through a pipe, or READ then SEND.

// sendFile moves the next piece of a file segment to the socket.
func (l *uringLoop) sendFile(c *conn, u *connIO, sg *seg) {
	t := l.txOf(u)
	if l.caps.splice && l.ensurePipe(t) {
		n := min(sg.n, uringPipeSize)
		s := l.sqe()
		s.PrepSplice(sg.file.Fd(), sg.off, t.pipeW, -1, uint32(n), 0)
		s.SetData(udPack(ukSpliceIn, c.gen, c.slot))
	} else {
		n := min(sg.n, uringFileChunk)
		if t.fileBuf == nil {
			t.fileBuf = l.getBuf(uringFileChunk)
		}
		s := l.sqe()
		s.PrepRead(sg.file.Fd(), t.fileBuf[:n], sg.off)
		s.SetData(udPack(ukFileRead, c.gen, c.slot))
	}
	u.sending = true
	u.inflight++
}

func (l *uringLoop) ensurePipe(t *utx) bool {
	if t.pipeR >= 0 {
		return true
	}
	if k := len(l.pipePool); k > 0 {
		p := l.pipePool[k-1]
		l.pipePool = l.pipePool[:k-1]
		t.pipeR, t.pipeW = p[0], p[1]
		return true
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return false
	}
	// A 64 KiB default pipe would need 16 splice pairs per MiB.
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, uringPipeSize)
	t.pipeR, t.pipeW = p[0], p[1]
	return true
}

// putPipe returns an empty pipe to the pool, or closes one that may still
// hold bytes.
func (l *uringLoop) putPipe(t *utx) {
	if t.pipeR < 0 {
		return
	}
	if t.pipeFill == 0 && len(l.pipePool) < 64 {
		l.pipePool = append(l.pipePool, [2]int{t.pipeR, t.pipeW})
	} else {
		unix.Close(t.pipeR)
		unix.Close(t.pipeW)
	}
	t.pipeR, t.pipeW, t.pipeFill = -1, -1, 0
}

// fileDone ends a file transfer step: the pipe and chunk go back to their
// pools unless the next segment is more of a file.
func (l *uringLoop) fileDone(c *conn, u *connIO) {
	u.sending = false
	t := u.tx
	if c.out.empty() || c.out.pending()[0].file == nil {
		l.putPipe(t)
		if t.fileBuf != nil {
			l.putBuf(t.fileBuf[:cap(t.fileBuf)])
			t.fileBuf = nil
		}
		l.putTx(u)
	} else if t.fileBuf != nil {
		t.fileBuf = t.fileBuf[:cap(t.fileBuf)]
	}
	l.w.markDirty(c)
}

func (l *uringLoop) onSpliceIn(c *conn, u *connIO, res int32) {
	t := u.tx
	if res <= 0 || c.kill || c.fd < 0 {
		// 0: the file is shorter than the answer promised (truncated while
		// cached): the response cannot be completed.
		if res > 0 {
			t.pipeFill += int(res)
		}
		u.sending = false
		c.kill = true
		l.w.markDirty(c)
		return
	}
	t.pipeFill += int(res)
	l.spliceOut(c, u)
}

func (l *uringLoop) spliceOut(c *conn, u *connIO) {
	s := l.sqe()
	s.PrepSplice(u.tx.pipeR, -1, c.fd, -1, uint32(u.tx.pipeFill), 0)
	s.SetData(udPack(ukSpliceOut, c.gen, c.slot))
	u.inflight++
}

func (l *uringLoop) onSpliceOut(c *conn, u *connIO, res int32) {
	t := u.tx
	if res <= 0 {
		u.sending = false
		if res < 0 && (unix.Errno(-res) == unix.EAGAIN || unix.Errno(-res) == unix.EINTR) && !c.kill {
			l.spliceOut(c, u)
			u.sending = true
			return
		}
		c.kill = true
		l.w.markDirty(c)
		return
	}
	t.pipeFill -= int(res)
	l.w.sent(c, int64(res))
	if t.pipeFill > 0 && !c.kill {
		l.spliceOut(c, u)
		return
	}
	l.fileDone(c, u)
}

func (l *uringLoop) onFileRead(c *conn, u *connIO, res int32) {
	if res <= 0 || c.kill || c.fd < 0 {
		u.sending = false
		c.kill = true
		l.w.markDirty(c)
		return
	}
	t := u.tx
	t.fileBuf = t.fileBuf[:res]
	t.fileBufSent = 0
	l.fileSend(c, u)
}

func (l *uringLoop) fileSend(c *conn, u *connIO) {
	t := u.tx
	s := l.sqe()
	s.PrepSend(c.fd, t.fileBuf[t.fileBufSent:], unix.MSG_NOSIGNAL)
	s.SetData(udPack(ukFileSend, c.gen, c.slot))
	u.inflight++
}

func (l *uringLoop) onFileSend(c *conn, u *connIO, res int32) {
	if res <= 0 {
		u.sending = false
		c.kill = true
		l.w.markDirty(c)
		return
	}
	t := u.tx
	t.fileBufSent += int(res)
	l.w.sent(c, int64(res))
	if t.fileBufSent < len(t.fileBuf) && !c.kill {
		l.fileSend(c, u)
		return
	}
	l.fileDone(c, u)
}
