package server

import (
	"errors"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/uring"
)

// The uring engine: each worker owns one ring on its locked OS thread and
// drives every socket with it. Per loop turn it does exactly one
// io_uring_enter, which submits everything the previous turn queued (sends,
// re-armed receives, closes) and waits for or reaps completions.
//
//   - Accept: a multishot accept per listener (5.19+), re-armed when it ends;
//     cancelled while the worker is at its connection limit or in an EMFILE
//     backoff. Single-shot accept without multishot.
//   - Receive: a multishot recv per connection selecting from the worker's
//     provided-buffer ring (6.0+). Each buffer goes to feed and straight back
//     to the ring, so an idle keep-alive connection owns no memory. Without
//     buffer rings: single-shot recv into a pooled buffer held only while the
//     recv is in flight.
//   - Send: one send per connection per turn carries everything queued
//     (all pipelined answers of one read); several segments go out in one
//     sendmsg. File segments go file -> pipe -> socket with two SPLICE ops
//     through a per-connection pipe enlarged with F_SETPIPE_SZ, or, with
//     splice masked off, READ into a pooled buffer then SEND.
//   - Handler ops (open, statx, read) are ring ops; OpFunc goes to the
//     server's helper pool, which wakes the ring through an eventfd that a
//     READ op on the ring watches.
//
// user_data is kind | conn generation | slot, never a pointer. A connection's
// slot is not reused before its last CQE: closing cancels its operations,
// counts their final completions, then closes the socket through the ring.

func init() {
	registerEngine(BackendUring, newUringEngine)
	uringAvailable = func() (bool, string) {
		c := getUringCaps()
		return c.usable()
	}
}

// Ring and buffer sizing, per worker.
const (
	uringSQEntries  = 1024
	uringCQEntries  = 8192
	uringBufEntries = 2048    // provided buffers
	uringBufSize    = 4096    // bytes each: a request head almost always fits one
	uringPipeSize   = 1 << 20 // F_SETPIPE_SZ for splice pipes
	uringFileChunk  = 256 << 10
	uringBatch      = 256
	uringMaxIov     = 16
	uringMaxIn      = 64 << 10 // input held back before the recv is cancelled
	uringBufGroup   = 1
)

// user_data kinds.
const (
	ukAccept uint64 = iota + 1
	ukRecv
	ukSend
	ukSpliceIn
	ukSpliceOut
	ukFileRead
	ukFileSend
	ukOp
	ukWake
	ukIgnore // cancels, closes: nothing to do on completion
)

func udPack(kind uint64, gen uint32, slot int32) uint64 {
	return kind | uint64(gen&0xffffff)<<8 | uint64(uint32(slot))<<32
}

func udKind(ud uint64) uint64 { return ud & 0xff }
func udGen(ud uint64) uint32  { return uint32(ud>>8) & 0xffffff }
func udSlot(ud uint64) int32  { return int32(ud >> 32) }

type uringEngine struct {
	s    *Server
	caps uringCaps
}

func newUringEngine(s *Server) (engine, error) {
	c := getUringCaps()
	if ok, why := c.usable(); !ok {
		return nil, errors.New(why)
	}
	return &uringEngine{s: s, caps: c}, nil
}

func (e *uringEngine) close() {}

// utx is the memory of one connection's transfer in progress, pooled per
// worker.
type utx struct {
	msg unix.Msghdr
	iov [uringMaxIov]unix.Iovec
	// sendRefs keeps what the in-flight sendmsg points at reachable.
	sendRefs [uringMaxIov][]byte

	// File transfer state.
	pipeR, pipeW int // -1 when no pipe
	pipeFill     int // bytes spliced into the pipe, not yet out
	fileBuf      []byte
	fileBufSent  int
}

// uop is a handler op submitted to the ring.
type uop struct {
	ex  *exchange
	op  *httpcore.Op
	how uring.OpenHow
}

type uringLoop struct {
	e    *uringEngine
	w    *worker
	ring *uring.Ring
	caps uringCaps
	br   *uring.BufRing

	ops   []*uop
	freeO []int32
	cqes  [uringBatch]*uring.CQE

	listenArmed []bool
	listenStop  []bool // a cancel of the accept is in flight
	listenFd    []int
	acceptPause bool
	listenOpen  bool

	wakeFd  int
	wakeBuf []byte // 8 bytes of mapped memory the eventfd READ fills
	wakeArm bool

	bufPool  [][]byte // recv buffers (no buffer ring) and file chunks
	pipePool [][2]int
	txFree   []*utx
	peer     bool // look up peer addresses (access log on)
	stopped  bool
}

func (e *uringEngine) newLoop(w *worker) (ioLoop, error) {
	c := e.caps
	p := uring.Params{CQEntries: uringCQEntries, Flags: uring.SetupCQSize}
	var ring *uring.Ring
	var err error
	if c.deferTaskrun {
		ring, _, err = uring.NewRingBest(uringSQEntries, &p)
	} else {
		// Masked or missing DEFER_TASKRUN: take the best tier without it.
		for _, f := range []uint32{uring.SetupCoopTaskrun | uring.SetupTaskrunFlag, 0} {
			if f != 0 && !c.coopTaskrun {
				continue
			}
			p.Flags = uring.SetupCQSize | f
			ring, err = uring.NewRing(uringSQEntries, &p)
			if err == nil || !errors.Is(err, unix.EINVAL) {
				break
			}
		}
		if err == nil {
			ring.RegisterRingFD() // optional: a failure only costs an fd lookup per enter
		}
	}
	if err != nil {
		return nil, err
	}
	l := &uringLoop{e: e, w: w, ring: ring, caps: c, wakeFd: -1, peer: w.alog != nil}
	if c.bufRing {
		l.br, err = ring.NewBufRing(uringBufGroup, uringBufEntries, uringBufSize)
		if err != nil {
			ring.Close()
			return nil, err
		}
	}
	l.wakeFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		l.release()
		return nil, err
	}
	l.wakeBuf, err = uring.MapMemory(8)
	if err != nil {
		l.release()
		return nil, err
	}
	for _, fd := range w.listeners {
		// Accepted sockets inherit TCP_NODELAY from the listener: without
		// it the tail of an answer waits for the client's delayed ACK.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			l.release()
			return nil, os.NewSyscallError("setsockopt TCP_NODELAY", err)
		}
	}
	l.listenFd = w.listeners
	l.listenArmed = make([]bool, len(w.listeners))
	l.listenStop = make([]bool, len(w.listeners))
	l.listenOpen = true
	return l, nil
}

// release frees the ring and its memory. Worker thread, after the last CQE.
func (l *uringLoop) release() {
	if l.br != nil {
		l.br.Close()
		l.br = nil
	}
	if l.wakeFd >= 0 {
		unix.Close(l.wakeFd)
		l.wakeFd = -1
	}
	if l.wakeBuf != nil {
		uring.UnmapMemory(l.wakeBuf)
		l.wakeBuf = nil
	}
	for _, p := range l.pipePool {
		unix.Close(p[0])
		unix.Close(p[1])
	}
	l.pipePool = nil
	if l.ring != nil {
		l.ring.Close()
		l.ring = nil
	}
}

// wake interrupts the ring's wait. Any goroutine.
func (l *uringLoop) wake() {
	var one = [8]byte{1}
	unix.Write(l.wakeFd, one[:])
}

// sqe returns a free SQE, submitting what is queued when the SQ is full.
func (l *uringLoop) sqe() *uring.SQE {
	for {
		if s := l.ring.GetSQE(); s != nil {
			return s
		}
		// SQ full: hand the queued entries to the kernel (never blocks).
		if _, err := l.ring.Submit(); err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
			l.w.s.log.Error("uring: submit failed", "err", err)
		}
		if l.ring.SQSpaceLeft() == 0 {
			l.ring.SubmitAndGetEvents()
		}
	}
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
// holds no pipe or file buffer (those stay while a file body goes on).
func (l *uringLoop) putTx(u *connIO) {
	t := u.tx
	if t == nil || u.sending || t.pipeR >= 0 || t.fileBuf != nil {
		return
	}
	u.tx = nil
	if len(l.txFree) < 1024 {
		l.txFree = append(l.txFree, t)
	}
}

func (l *uringLoop) run() {
	w := l.w
	l.armWake()
	for {
		if w.shutdownStep(l.closeListeners) {
			break
		}
		l.syncAccept()
		w.syncDirty(l.sync)
		l.enter(w.waitTimeout())
		w.tick() // after the wait: timers armed while reaping use a fresh clock
		l.reap()
		w.syncDirty(l.sync)
	}
	l.drain()
	w.markExited()
	l.release()
}

// enter does the loop turn's one io_uring_enter: submit, and wait up to
// timeoutMs for a completion unless some are ready.
func (l *uringLoop) enter(timeoutMs int) {
	var err error
	if timeoutMs <= 0 || l.ring.CQReady() > 0 {
		_, err = l.ring.SubmitAndGetEvents()
	} else {
		_, err = l.ring.SubmitAndWaitTimeout(1, time.Duration(timeoutMs)*time.Millisecond)
	}
	if err != nil && !errors.Is(err, uring.ErrTimeout) && !errors.Is(err, unix.EINTR) &&
		!errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
		l.w.s.log.Error("uring: enter failed", "err", err)
		time.Sleep(time.Millisecond) // never spin on a persistent error
	}
}

// reap handles every ready CQE.
func (l *uringLoop) reap() {
	for {
		n := l.ring.PeekBatch(l.cqes[:])
		if n == 0 {
			return
		}
		for i := 0; i < n; i++ {
			cqe := l.cqes[i]
			l.handle(cqe.UserData, cqe.Res, cqe.Flags)
			l.cqes[i] = nil
		}
		l.ring.CQAdvance(uint32(n))
	}
}

func (l *uringLoop) handle(ud uint64, res int32, flags uint32) {
	kind := udKind(ud)
	switch kind {
	case ukIgnore:
		return
	case ukWake:
		l.wakeArm = false
		l.w.runCompleted()
		if !l.stopped {
			l.armWake()
		}
		return
	case ukAccept:
		l.onAccept(int(udSlot(ud)), res, flags)
		return
	case ukOp:
		l.onOp(udSlot(ud), res)
		return
	}
	slot := udSlot(ud)
	if int(slot) >= len(l.w.conns) {
		return
	}
	c := l.w.conns[slot]
	u := &c.io
	if c.gen&0xffffff != udGen(ud) {
		return // cannot happen: slots are not reused before their last CQE
	}
	more := flags&uring.CQEFMore != 0
	if !more {
		u.inflight--
	}
	switch kind {
	case ukRecv:
		l.onRecv(c, u, res, flags, more)
	case ukSend:
		l.onSend(c, u, res)
	case ukSpliceIn:
		l.onSpliceIn(c, u, res)
	case ukSpliceOut:
		l.onSpliceOut(c, u, res)
	case ukFileRead:
		l.onFileRead(c, u, res)
	case ukFileSend:
		l.onFileSend(c, u, res)
	}
	l.maybeClosed(c, u)
}

func (l *uringLoop) armWake() {
	s := l.sqe()
	s.PrepRead(l.wakeFd, l.wakeBuf[:8], 0)
	s.SetData(ukWake)
	l.wakeArm = true
}

// --- accept ---

// syncAccept arms or cancels the accepts as the worker's limits say.
func (l *uringLoop) syncAccept() {
	if !l.listenOpen {
		return
	}
	allowed := l.w.acceptAllowed(l.acceptPause)
	l.acceptPause = !allowed
	for i, fd := range l.listenFd {
		switch {
		case allowed && !l.listenArmed[i]:
			s := l.sqe()
			if l.caps.multishotAccept {
				s.PrepMultishotAccept(fd, nil, nil, unix.SOCK_CLOEXEC)
			} else {
				s.PrepAccept(fd, nil, nil, unix.SOCK_CLOEXEC)
			}
			s.SetData(udPack(ukAccept, 0, int32(i)))
			l.listenArmed[i] = true
		case !allowed && l.listenArmed[i] && !l.listenStop[i] && l.caps.multishotAccept:
			l.listenStop[i] = true
			s := l.sqe()
			s.PrepCancel64(udPack(ukAccept, 0, int32(i)), 0)
			s.SetData(ukIgnore)
			// listenArmed turns false when the accept's final CQE arrives.
		}
	}
}

func (l *uringLoop) onAccept(i int, res int32, flags uint32) {
	if flags&uring.CQEFMore == 0 && i < len(l.listenArmed) {
		l.listenArmed[i] = false
		l.listenStop[i] = false
	}
	w := l.w
	if res < 0 {
		switch unix.Errno(-res) {
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			w.acceptFailedNoFD()
		}
		return
	}
	fd := int(res)
	if !l.listenOpen || w.draining {
		unix.Close(fd)
		return
	}
	w.s.stats.accepted.Add(1)
	var peer netip.AddrPort
	if l.peer {
		peer = peerOf(fd)
	}
	c := w.newConn(fd, peer)
	u := &c.io
	l.armRecv(c, u)
}

// peerOf returns the peer address of a socket (access log only).
func peerOf(fd int) netip.AddrPort {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// closeListeners stops accepting for good (shutdown).
func (l *uringLoop) closeListeners() {
	if !l.listenOpen {
		return
	}
	l.listenOpen = false
	for i, fd := range l.listenFd {
		if l.listenArmed[i] {
			s := l.sqe()
			s.PrepCancel64(udPack(ukAccept, 0, int32(i)), 0)
			s.SetData(ukIgnore)
		}
		// The armed accept holds its own file reference: closing the
		// descriptor now is safe, the cancel ends the accept.
		closeFd(fd)
	}
}

// --- receive ---

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
		u.recvBuf = l.getBuf(uringBufSize)
		s.PrepRecv(c.fd, u.recvBuf, 0)
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
		} else if u.recvBuf != nil {
			w.feed(c, u.recvBuf[:res])
		}
	} else if res == 0 {
		w.eof(c)
	} else {
		switch unix.Errno(-res) {
		case unix.ENOBUFS, unix.ECANCELED, unix.EINTR, unix.EAGAIN:
			// Re-armed (or not) by sync.
		default:
			c.kill = true
		}
	}
	if !more && u.recvBuf != nil {
		l.putBuf(u.recvBuf)
		u.recvBuf = nil
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

// --- per-turn sync of a dirty connection ---

func (l *uringLoop) sync(c *conn) {
	u := &c.io
	if u.closing {
		return
	}
	if c.wantClose() {
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
	n := 0
	for n < len(segs) && n < uringMaxIov && segs[n].file == nil {
		n++
	}
	s := l.sqe()
	if n == 1 {
		s.PrepSend(c.fd, segs[0].b, unix.MSG_NOSIGNAL)
	} else {
		t := l.txOf(u)
		for i := 0; i < n; i++ {
			b := segs[i].b
			t.iov[i].Base = &b[0]
			t.iov[i].SetLen(len(b))
			t.sendRefs[i] = b
		}
		t.msg = unix.Msghdr{Iov: &t.iov[0]}
		t.msg.SetIovlen(n)
		s.PrepSendmsg(c.fd, &t.msg, unix.MSG_NOSIGNAL)
	}
	s.SetData(udPack(ukSend, c.gen, c.slot))
	u.sending = true
	u.inflight++
}

func (l *uringLoop) onSend(c *conn, u *connIO, res int32) {
	u.sending = false
	if t := u.tx; t != nil {
		for i := range t.sendRefs {
			if t.sendRefs[i] == nil {
				break
			}
			t.sendRefs[i] = nil
			t.iov[i] = unix.Iovec{}
		}
		l.putTx(u)
	}
	if res < 0 {
		if e := unix.Errno(-res); e != unix.EAGAIN && e != unix.EINTR {
			c.kill = true
		}
	} else {
		l.w.sent(c, int64(res))
	}
	l.w.markDirty(c)
}

// --- files ---

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

// --- close ---

// closeConn cancels c's operations; the socket closes when the last one
// has completed (maybeClosed).
func (l *uringLoop) closeConn(c *conn, u *connIO) {
	u.closing = true
	if c.kill && !c.out.empty() {
		// Output the peer did not take (a stalled send): close with a
		// reset instead of leaving the kernel an orphan socket trickling
		// the rest to a peer that does not read.
		unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
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
	if u.sending {
		// A send or splice waiting for room: shutting the socket down
		// ends it at once with EPIPE, on any kernel.
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
	l.maybeClosed(c, u)
}

func (l *uringLoop) maybeClosed(c *conn, u *connIO) {
	if !u.closing || u.inflight > 0 || c.fd < 0 {
		return
	}
	s := l.sqe()
	s.PrepClose(c.fd)
	s.SetData(ukIgnore)
	if t := u.tx; t != nil {
		l.putPipe(t)
		if t.fileBuf != nil {
			l.putBuf(t.fileBuf[:cap(t.fileBuf)])
			t.fileBuf = nil
		}
	}
	if u.recvBuf != nil {
		l.putBuf(u.recvBuf)
		u.recvBuf = nil
	}
	u.recvArmed, u.sending = false, false
	l.putTx(u)
	l.w.closed(c)
}

// --- handler ops ---

func (l *uringLoop) startOp(ex *exchange, op *httpcore.Op) {
	if op.Kind == httpcore.OpFunc || !l.caps.ringFiles || (op.Kind == httpcore.OpStatx && len(op.Buf) < int(unsafe.Sizeof(unix.Statx_t{}))) {
		l.w.s.helpers().submit(l.w, ex, op)
		return
	}
	var idx int32
	if k := len(l.freeO); k > 0 {
		idx = l.freeO[k-1]
		l.freeO = l.freeO[:k-1]
	} else {
		idx = int32(len(l.ops))
		l.ops = append(l.ops, &uop{})
	}
	o := l.ops[idx]
	o.ex, o.op = ex, op
	s := l.sqe()
	switch op.Kind {
	case httpcore.OpOpenat2:
		o.how = uring.OpenHow{Flags: op.Flags, Mode: op.Mode, Resolve: op.Resolve}
		s.PrepOpenat2(int(op.Fd), terminated(op.Path), &o.how)
	case httpcore.OpStatx:
		flags := int(op.Mode)
		path := terminated(op.Path)
		if len(op.Path) == 0 || op.Path[0] == 0 {
			flags |= unix.AT_EMPTY_PATH
		}
		s.PrepStatx(int(op.Fd), path, flags, uint32(op.Flags), (*unix.Statx_t)(unsafe.Pointer(&op.Buf[0])))
	case httpcore.OpRead:
		s.PrepRead(int(op.Fd), op.Buf, op.Off)
	default:
		s.PrepNop()
	}
	s.SetData(udPack(ukOp, 0, idx))
}

func (l *uringLoop) onOp(idx int32, res int32) {
	if int(idx) >= len(l.ops) {
		return
	}
	o := l.ops[idx]
	ex, op := o.ex, o.op
	*o = uop{}
	l.freeO = append(l.freeO, idx)
	if op == nil {
		return
	}
	if op.Kind == httpcore.OpStatx && res > 0 {
		res = 0
	}
	op.Res = res
	l.w.opDone(ex, op)
}

// --- buffers ---

func (l *uringLoop) getBuf(n int) []byte {
	for i := len(l.bufPool) - 1; i >= 0; i-- {
		if cap(l.bufPool[i]) == n {
			b := l.bufPool[i]
			l.bufPool[i] = l.bufPool[len(l.bufPool)-1]
			l.bufPool = l.bufPool[:len(l.bufPool)-1]
			return b[:n]
		}
	}
	return make([]byte, n)
}

func (l *uringLoop) putBuf(b []byte) {
	if len(l.bufPool) < 256 {
		l.bufPool = append(l.bufPool, b[:cap(b)])
	}
}

// --- shutdown ---

// drain waits (bounded) for the last CQEs after every connection closed:
// cancelled accepts and the wake-up read, so no memory is unmapped while
// the kernel may still write it.
func (l *uringLoop) drain() {
	l.stopped = true
	l.closeListeners()
	if l.wakeArm {
		s := l.sqe()
		s.PrepCancel64(ukWake, 0)
		s.SetData(ukIgnore)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && (l.wakeArm || l.anyListenArmed() || len(l.ops) > len(l.freeO)) {
		l.enter(50)
		l.reap()
	}
	// One last submit so the final closes reach the kernel.
	l.ring.SubmitAndGetEvents()
	l.reap()
}

func (l *uringLoop) anyListenArmed() bool {
	for _, a := range l.listenArmed {
		if a {
			return true
		}
	}
	return false
}
