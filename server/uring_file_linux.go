package server

import (
	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/uring"
)

// The uring engine's file bodies.
//
// With SPLICE, a file segment goes file -> pipe -> socket as one linked
// chain of SPLICE pairs through a pipe borrowed from the worker's pool:
//
//	in(file -> pipe) -> out(pipe -> socket) -> in -> out ...
//
// SPLICE always runs in io-wq; a linked chain runs in one io-wq worker from
// start to end, so a chain of up to uringChainMax file bytes costs one
// hand-off to io-wq and one loop turn, whatever the pipe's size. (Writing
// the response head into the pipe as the chain's first step, to make a
// response one submission, measured 15-30% more CPU per 1 MiB answer than
// sending the head on its own: the pipe write and the extra short pair
// cost more than the loop turn they save.)
//
// A step that moves less than asked (a short in-splice at the end of what
// the pipe can take, a send interrupted) fails the link: the kernel cancels
// the rest of the chain. The engine counts every CQE of the chain, keeps
// the invariant that the pipe holds exactly the first pipeFill bytes of the
// connection's pending output, and when the chain is over either sends
// what the pipe still holds (a chain of one out-splice) or, when it is
// empty, starts the next chain from the front of the output queue. So
// short splices, cancelled links and every kernel's CQE order lead to the
// same bytes on the wire.
//
// Pipes: each splice pair costs about as much as moving a quarter MiB, so
// pipes are as large as an unprivileged user may make them (1 MiB,
// pipe-max-size) for the first uringBigPipes of a worker and uringPipeSize
// beyond, which keeps a busy worker well inside pipe-user-pages-soft. When
// F_SETPIPE_SZ is refused (the user is over the soft limit) the pipe keeps
// the size it got; a pipe smaller than uringPipeMin (over the soft limit a
// new pipe gets two pages) is closed and the segment is sent by READ into
// a pooled buffer then SEND instead. Idle pipes beyond uringPipesIdle are
// closed uringIdleAfter after the last transfer.

// upipe is a pipe's two ends and its capacity.
type upipe struct {
	r, w, cap int
}

// sendFile starts moving the front of c's output, a file segment, to the
// socket.
func (l *uringLoop) sendFile(c *conn, u *connIO, sg *seg) {
	t := l.txOf(u)
	if l.caps.splice && (t.pipeR >= 0 || l.getPipe(t)) {
		if t.pipeFill > 0 {
			l.chainOut(c, u, t)
		} else {
			l.startChain(c, u, t, sg)
		}
		return
	}
	n := min(sg.n, uringFileChunk)
	if t.fileBuf == nil {
		t.fileBuf = l.getBuf(uringFileChunk)
	}
	s := l.sqe()
	s.PrepRead(sg.file.Fd(), t.fileBuf[:n], sg.off)
	s.SetData(udPack(ukFileRead, c.gen, c.slot))
	u.sending = true
	u.inflight++
}

// startChain submits one chain of in/out splice pairs through t's (empty)
// pipe for up to uringChainMax bytes of sg.
func (l *uringLoop) startChain(c *conn, u *connIO, t *utx, sg *seg) {
	total := min(sg.n, uringChainMax)
	// Pipes hold pages: an unaligned start takes one more, so the first
	// pair moves less and the rest start page-aligned (a longer one would
	// come back short and break the chain at once).
	first := int64(t.pipeCap) - sg.off&4095
	pairs := 1 + (max(total-first, 0)+int64(t.pipeCap)-1)/int64(t.pipeCap)
	nsqe := 2 * int(pairs)
	l.reserve(nsqe)
	ud := func(kind uint64) uint64 { return udPack(kind, c.gen, c.slot) }
	off, left := sg.off, total
	for n := min(first, left); left > 0; n = min(int64(t.pipeCap), left) {
		left -= n
		s := l.sqe()
		s.PrepSplice(sg.file.Fd(), off, t.pipeW, -1, uint32(n), 0)
		s.SetFlags(uring.SQEIOLink)
		s.SetData(ud(ukSpliceIn))
		var more uint32
		if left > 0 || total < sg.n {
			more = unix.SPLICE_F_MORE
		}
		s = l.sqe()
		s.PrepSplice(t.pipeR, -1, c.fd, -1, uint32(n), more)
		if left > 0 {
			s.SetFlags(uring.SQEIOLink)
		}
		s.SetData(ud(ukSpliceOut))
		off += n
	}
	t.chainLeft = nsqe
	u.inflight += int32(nsqe)
	u.sending = true
}

// chainOut sends what the pipe holds: a chain of one out-splice.
func (l *uringLoop) chainOut(c *conn, u *connIO, t *utx) {
	s := l.sqe()
	s.PrepSplice(t.pipeR, -1, c.fd, -1, uint32(t.pipeFill), 0)
	s.SetData(udPack(ukSpliceOut, c.gen, c.slot))
	t.chainLeft = 1
	u.inflight++
	u.sending = true
}

// onChain counts one CQE of c's splice chain and, after its last one,
// decides what comes next (see the file comment).
func (l *uringLoop) onChain(c *conn, u *connIO, kind uint64, res int32) {
	t := u.tx
	t.chainLeft--
	switch {
	case res > 0 && kind == ukSpliceOut:
		t.pipeFill -= int(res)
		l.w.sent(c, int64(res))
	case res > 0:
		t.pipeFill += int(res)
	case res == 0:
		// An in-splice at the end of the file: the file is shorter than
		// the answer promised (truncated while cached). It cannot be
		// completed.
		t.chainErr = true
	default:
		switch unix.Errno(-res) {
		case unix.ECANCELED, unix.EAGAIN, unix.EINTR:
			// A link cut short by an earlier step, or an interrupted
			// splice: what moved is counted; the rest goes next.
		default:
			t.chainErr = true
		}
	}
	if t.chainLeft > 0 {
		return
	}
	u.sending = false
	if t.chainErr || c.kill {
		t.chainErr = false
		c.kill = true
		l.w.markDirty(c)
		return
	}
	if t.pipeFill > 0 {
		l.chainOut(c, u, t)
		return
	}
	l.fileDone(c, u)
}

// getPipe gives t an empty pipe from the pool, or a new one. It reports
// false when no usable pipe can be had.
func (l *uringLoop) getPipe(t *utx) bool {
	l.pipeUsed = l.w.now
	if k := len(l.pipePool); k > 0 {
		p := l.pipePool[k-1]
		l.pipePool = l.pipePool[:k-1]
		t.pipeR, t.pipeW, t.pipeCap = p.r, p.w, p.cap
		return true
	}
	if l.w.now < l.noPipeUntil {
		return false
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		l.noPipeUntil = l.w.now + 1000
		return false
	}
	want := uringPipeSize
	if l.e.bigPipes.Add(1) <= uringBigPipes {
		want = uringBigPipe
	} else {
		l.e.bigPipes.Add(-1)
	}
	size, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, want)
	if err != nil {
		// Refused (pipe-user-pages-soft or pipe-max-size for an
		// unprivileged user): keep what the pipe has.
		size, err = unix.FcntlInt(uintptr(p[1]), unix.F_GETPIPE_SZ, 0)
	}
	if want == uringBigPipe && (err != nil || size != uringBigPipe) {
		l.e.bigPipes.Add(-1)
	}
	if err != nil || size < uringPipeMin {
		// Over the soft limit a new pipe gets two pages: not worth a
		// chain per 8 KiB. READ+SEND serves meanwhile.
		unix.Close(p[0])
		unix.Close(p[1])
		l.noPipeUntil = l.w.now + 1000
		return false
	}
	t.pipeR, t.pipeW, t.pipeCap = p[0], p[1], size
	l.pipes++
	return true
}

// putPipe returns t's pipe to the pool when it is empty, or closes it.
func (l *uringLoop) putPipe(t *utx) {
	if t.pipeR < 0 {
		return
	}
	if t.pipeFill == 0 && len(l.pipePool) < 64 {
		l.pipePool = append(l.pipePool, upipe{t.pipeR, t.pipeW, t.pipeCap})
	} else {
		l.closePipe(upipe{t.pipeR, t.pipeW, t.pipeCap})
	}
	t.pipeR, t.pipeW, t.pipeFill, t.pipeCap = -1, -1, 0, 0
}

// trimPipes closes idle pipes beyond uringPipesIdle once no transfer has
// taken one for uringIdleAfter.
func (l *uringLoop) trimPipes() {
	if len(l.pipePool) <= uringPipesIdle || l.w.now-l.pipeUsed < uringIdleAfter {
		return
	}
	for _, p := range l.pipePool[uringPipesIdle:] {
		l.closePipe(p)
	}
	clear(l.pipePool[uringPipesIdle:])
	l.pipePool = l.pipePool[:uringPipesIdle]
}

// closePipe closes a pipe of the worker.
func (l *uringLoop) closePipe(p upipe) {
	unix.Close(p.r)
	unix.Close(p.w)
	l.pipes--
	if p.cap == uringBigPipe {
		l.e.bigPipes.Add(-1)
	}
}

// fileDone ends a file transfer step: the pipe and chunk go back to their
// pools unless the output goes on with more of a file.
func (l *uringLoop) fileDone(c *conn, u *connIO) {
	u.sending = false
	t := u.tx
	if segs := c.out.pending(); len(segs) == 0 || segs[0].file == nil {
		l.putPipe(t)
		if t.fileBuf != nil {
			l.putBuf(t.fileBuf[:cap(t.fileBuf)])
			t.fileBuf = nil
		}
		l.clearSendRefs(t)
		l.putTx(u)
	} else if t.fileBuf != nil {
		t.fileBuf = t.fileBuf[:cap(t.fileBuf)]
	}
	l.w.markDirty(c)
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
