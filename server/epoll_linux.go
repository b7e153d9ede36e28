package server

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// The epoll engine.
//
// Level-triggered, on purpose: the registered interest always equals what
// the connection core wants (EPOLLIN only while c.wantRead, EPOLLOUT only
// while output is pending, nothing while an op runs), so backpressure and
// paused accepting need no bookkeeping of missed edges, and a connection
// that still has input after one 64 KiB read is simply reported again next
// turn, which keeps one busy client from starving the others. The price is
// an epoll_ctl on the rare transitions (a send that would block, an op);
// a keep-alive request answered in one send costs epoll_wait + read +
// sendmsg and nothing else.

func init() { registerEngine(BackendEpoll, newEpollEngine) }

// Epoll loop tuning.
const (
	epollEvents   = 256
	readBufSize   = 64 << 10
	maxIovecs     = 64
	acceptBatch   = 64
	sendfileChunk = 1 << 30
	// turnSendBudget bounds the file bytes one loop turn hands to sockets.
	// Queueing file bytes into a socket costs the kernel an skb per
	// segment on this thread (5,000 slow readers each taking their first
	// megabytes at once made turns of a second, and new connections waited
	// in the accept queue). A connection over the budget keeps EPOLLOUT
	// interest and goes on in the next turn, after the listeners. Stages
	// (TLS records, HTTP/2 frames of files) refill their connection's
	// queue as fast as its socket drains it, so once the budget is spent
	// they stop refilling until the next turn (worker.stageHeld): before,
	// four HTTPS downloads of a 64 MiB file held the loop so long that a
	// small-file client on the same worker got 7 answers a second (mean
	// 135 ms, max 1.05 s; scripts/fairness.sh); now 600 (mean 1.6 ms),
	// with tls-f1m's CPU per answer unchanged.
	turnSendBudget = 2 << 20
)

// Event tags in EpollEvent.Fd: connections use their slot (>= 0) with
// their generation in Pad; listeners use tagListener-i.
const (
	tagWake     = -1
	tagListener = -2
)

type epollEngine struct {
	s    *Server
	pool *opPool
}

func newEpollEngine(s *Server) (engine, error) {
	return &epollEngine{s: s, pool: s.helpers()}, nil
}

func (e *epollEngine) close() {}

// epollLoop is one worker's epoll loop.
type epollLoop struct {
	w        *worker
	pool     *opPool
	epfd     int
	efd      int
	paused   bool // listeners removed from the interest set
	events   [epollEvents]unix.EpollEvent
	rbuf     []byte
	iov      [maxIovecs]unix.Iovec
	msg      unix.Msghdr
	rsa      unix.RawSockaddrAny
	rsaLen   uint32
	off      int64
	scratch8 [8]byte
	sentTurn int64 // bytes handed to sockets this turn (turnSendBudget)
}

func (e *epollEngine) newLoop(w *worker) (ioLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, errSys("epoll_create1", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		closeFd(epfd)
		return nil, errSys("eventfd", err)
	}
	l := &epollLoop{w: w, pool: e.pool, epfd: epfd, efd: efd, rbuf: make([]byte, readBufSize)}
	if err := l.ctl(unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, tagWake, 0); err != nil {
		l.closeFds()
		return nil, err
	}
	for i, fd := range w.listeners {
		// Accepted sockets inherit TCP_NODELAY from the listener.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			l.closeFds()
			return nil, errSys("setsockopt TCP_NODELAY", err)
		}
		if err := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, int32(tagListener-i), 0); err != nil {
			l.closeFds()
			return nil, err
		}
	}
	return l, nil
}

func (l *epollLoop) closeFds() {
	closeFd(l.efd)
	closeFd(l.epfd)
}

func (l *epollLoop) ctl(op, fd int, events uint32, tag, gen int32) error {
	ev := unix.EpollEvent{Events: events, Fd: tag, Pad: gen}
	if err := unix.EpollCtl(l.epfd, op, fd, &ev); err != nil {
		return errSys("epoll_ctl", err)
	}
	return nil
}

var wakeOne = [8]byte{1}

// wake makes epoll_wait return. Any goroutine.
func (l *epollLoop) wake() {
	unix.Write(l.efd, wakeOne[:])
}

// startOp runs op on the helper pool; the result comes back through the
// worker's completion queue and the eventfd.
func (l *epollLoop) startOp(ex *exchange, op *httpcore.Op) {
	l.pool.submit(l.w, ex, op)
	l.w.markDirty(ex.c) // drop read interest while the op runs
}

// readFile reads at once: a file range for the TLS transport, like the
// engine's sendfile, comes from the page cache.
func (l *epollLoop) readFile(c *conn, fd int, bufs [][]byte, _ []unix.Iovec, off int64) (int32, bool) {
	n, err := unix.Preadv(fd, bufs, off)
	if err != nil {
		return -int32(err.(unix.Errno)), true
	}
	return int32(n), true
}

// sendsFilesInline: sendfile on the loop's thread (engine.go, inlineFiles).
func (l *epollLoop) sendsFilesInline() bool { return true }

func (l *epollLoop) run() {
	w := l.w
	for {
		n, err := unix.EpollWait(l.epfd, l.events[:], w.waitTimeout())
		if err != nil && err != unix.EINTR {
			w.s.log.Error("server: epoll_wait failed; worker stops", "worker", w.id, "err", err)
			w.s.forced.Store(true)
			break
		}
		w.tick()
		l.sentTurn = 0
		w.stageHeld = false
		if n > 0 {
			w.busy()
		}
		w.m.c.waits++
		w.m.c.events += uint64(max(n, 0))
		for i := 0; i < n; i++ {
			ev := &l.events[i]
			switch {
			case ev.Fd >= 0:
				c := w.conns[ev.Fd]
				if c.gen == uint32(ev.Pad) && c.fd >= 0 {
					l.onConn(c, ev.Events)
				}
			case ev.Fd == tagWake:
				unix.Read(l.efd, l.scratch8[:])
				w.runCompleted()
			default:
				l.accept(int(tagListener - ev.Fd))
			}
		}
		w.expireTimers()
		w.syncDirty(l.sync)
		w.maybeTrim()
		if w.shutdownStep(l.closeListeners) {
			break
		}
		if l.paused && w.acceptAllowed(true) {
			l.resumeAccept()
		}
	}
	for _, c := range w.conns {
		if c.fd >= 0 {
			l.closeConn(c)
		}
	}
	l.closeListeners()
	w.markExited()
	l.closeFds()
}

// onConn handles readiness of c.
func (l *epollLoop) onConn(c *conn, events uint32) {
	w := l.w
	if c.lingering {
		l.drainLinger(c)
		return
	}
	if events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 && c.wantRead() {
		n, err := readFd(c.fd, l.rbuf)
		switch {
		case n > 0:
			w.feed(c, l.rbuf[:n])
		case err == nil:
			w.eof(c)
		case err == unix.EAGAIN || err == unix.EINTR:
		default:
			if e, ok := err.(unix.Errno); ok {
				w.sockErr(e)
			}
			c.kill = true
			w.markDirty(c)
		}
		return
	}
	if events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// Reported whatever the interest: the peer is gone (or the socket
		// failed) while we were not reading.
		c.kill = true
	}
	w.markDirty(c)
}

// drainLinger reads and discards input of a lingering connection; the
// peer's FIN or an error ends it.
func (l *epollLoop) drainLinger(c *conn) {
	for range 4 {
		n, err := readFd(c.fd, l.rbuf)
		if n > 0 {
			continue
		}
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		break
	}
	c.kill = true
	l.w.markDirty(c)
}

// sync makes the socket's state match c's: sends pending output, closes,
// and sets the interest set.
func (l *epollLoop) sync(c *conn) {
	w := l.w
	for {
		if c.wantClose() {
			if c.kill {
				if !c.out.empty() {
					l.send(c) // best effort (a 408, typically)
				}
				if !c.out.empty() {
					// Output the peer did not take (a stalled send): reset
					// rather than leave the kernel an orphan socket
					// trickling megabytes to a peer that does not read.
					unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
					w.m.c.resetsServer++
				}
				l.closeConn(c)
				return
			}
			if c.lingering {
				l.setInterest(c, unix.EPOLLIN)
				return
			}
			if !c.eof && (c.lingerWanted || unreadInput(c.fd)) {
				unix.Shutdown(c.fd, unix.SHUT_WR)
				w.startLinger(c)
				l.setInterest(c, unix.EPOLLIN)
				return
			}
			l.closeConn(c)
			return
		}
		if !c.wantWrite() {
			break
		}
		if l.sentTurn >= turnSendBudget && c.out.pending()[0].file != nil {
			// Writable, so the next wait reports it at once. (Bytes in
			// memory always go: at most outHighWater per connection, and
			// a small answer must not wait behind large files.)
			l.setInterest(c, unix.EPOLLOUT)
			return
		}
		n, full, err := l.send(c)
		if n > 0 {
			l.sentTurn += n
			w.stageHeld = l.sentTurn >= turnSendBudget
			w.sent(c, n)
		}
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			if e, ok := err.(unix.Errno); ok {
				w.sockErr(e)
			}
			c.kill = true
			l.closeConn(c)
			return
		}
		if full || err == unix.EAGAIN {
			if c.wantWrite() {
				l.setInterest(c, unix.EPOLLOUT)
				return
			}
		}
	}
	var ev uint32
	if c.wantRead() {
		ev = unix.EPOLLIN
	}
	if w.stageHeld && !c.stageEmpty() {
		// Held back by the turn's budget (stage.go): the next wait
		// reports the socket writable at once, and staging goes on.
		// (Not held, a stage with more is dirty again: sent.)
		ev |= unix.EPOLLOUT
	}
	l.setInterest(c, ev)
}

// setInterest changes c's registered events when they differ.
func (l *epollLoop) setInterest(c *conn, ev uint32) {
	if c.io.events == ev {
		return
	}
	if err := l.ctl(unix.EPOLL_CTL_MOD, c.fd, ev, c.slot, int32(c.gen)); err != nil {
		c.kill = true
		l.w.markDirty(c)
		return
	}
	c.io.events = ev
}

// send writes the front of c.out: the leading in-memory segments in one
// sendmsg, or one sendfile for a file segment. full reports that the
// socket took less than offered (its buffer is full).
func (l *epollLoop) send(c *conn) (n int64, full bool, err error) {
	segs := c.out.pending()
	if s := &segs[0]; s.file != nil {
		// At most what is left of the turn's budget (one call may go over
		// it by a little; the budget is checked before each call).
		cnt := min(s.n, sendfileChunk, max(turnSendBudget-l.sentTurn, 64<<10))
		l.off = s.off
		r, _, e := unix.Syscall6(unix.SYS_SENDFILE, uintptr(c.fd), uintptr(s.file.Fd()),
			uintptr(unsafe.Pointer(&l.off)), uintptr(cnt), 0, 0)
		if e != 0 {
			return 0, false, e
		}
		if r == 0 {
			// The file is shorter than the answer promised (truncated
			// since it was opened): the body cannot be completed.
			return 0, false, unix.EIO
		}
		return int64(r), int64(r) < cnt, nil
	}
	k, total := 0, 0
	for i := range segs {
		s := &segs[i]
		if s.file != nil || k == maxIovecs {
			break
		}
		l.iov[k].Base = unsafe.SliceData(s.b)
		l.iov[k].SetLen(len(s.b))
		total += len(s.b)
		k++
	}
	flags := unix.MSG_NOSIGNAL
	if k < len(segs) {
		flags |= unix.MSG_MORE // more follows at once (a file body)
	}
	l.msg.Iov = &l.iov[0]
	l.msg.SetIovlen(k)
	r, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&l.msg)), uintptr(flags))
	for i := range k {
		l.iov[i].Base = nil
	}
	if e != 0 {
		return 0, false, e
	}
	return int64(r), int(r) < total, nil
}

// closeConn closes c's socket and hands c back to the core.
func (l *epollLoop) closeConn(c *conn) {
	closeFd(c.fd) // also removes it from the epoll set
	c.io.events = 0
	l.w.closed(c)
}

// accept accepts connections on listener i.
func (l *epollLoop) accept(i int) {
	w := l.w
	if i < 0 || i >= len(w.listeners) || l.paused {
		return
	}
	lfd := w.listeners[i]
	for range acceptBatch {
		if !w.acceptAllowed(false) {
			l.pauseAccept()
			return
		}
		l.rsaLen = unix.SizeofSockaddrAny
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&l.rsa)),
			uintptr(unsafe.Pointer(&l.rsaLen)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e != 0 {
			switch e {
			case unix.EAGAIN:
				return
			case unix.EINTR, unix.ECONNABORTED, unix.EPROTO:
				continue
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				w.acceptFailedNoFD()
				l.pauseAccept()
				return
			default:
				w.s.log.Warn("server: accept failed", "worker", w.id, "err", e)
				return
			}
		}
		fd := int(r)
		c := w.newConn(fd, peerAddr(&l.rsa), i)
		if err := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, c.slot, int32(c.gen)); err != nil {
			l.closeConn(c)
			continue
		}
		c.io.events = unix.EPOLLIN
		w.m.c.accepts++
	}
}

func (l *epollLoop) pauseAccept() {
	if l.paused {
		return
	}
	for i, fd := range l.w.listeners {
		l.ctl(unix.EPOLL_CTL_MOD, fd, 0, int32(tagListener-i), 0)
	}
	l.paused = true
}

func (l *epollLoop) resumeAccept() {
	for i, fd := range l.w.listeners {
		l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN, int32(tagListener-i), 0)
	}
	l.paused = false
}

// closeListeners stops accepting for good.
func (l *epollLoop) closeListeners() {
	closeListeners(l.w.listeners)
	l.w.listeners = nil
}

// readFd reads into b without allocating.
func readFd(fd int, b []byte) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// unreadInput reports whether input is waiting in fd's receive queue.
func unreadInput(fd int) bool {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	return err == nil && n > 0
}
