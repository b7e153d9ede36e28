package server

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

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
//     sendmsg. File segments go file -> pipe -> socket as one linked chain
//     of SPLICE pairs through a pooled pipe (uring_file_linux.go): the
//     whole chain runs in one io-wq worker with no loop turn between its
//     steps, and a small head queued before the file is written into the
//     pipe first, so a response is one submission. Without splice (or a
//     usable pipe): READ into a pooled buffer then SEND.
//   - Handler ops (open, statx, read) are ring ops; OpFunc goes to the
//     server's helper pool, which wakes the ring through an eventfd that a
//     READ op on the ring watches.
//
// Files: this one holds the loop (setup, the turn, CQE dispatch, buffers,
// shutdown); uring_accept_linux.go, uring_recv_linux.go,
// uring_send_linux.go (and the per-turn sync), uring_file_linux.go,
// uring_close_linux.go and uring_ops_linux.go one behaviour each.
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
	uringBufEntries = 4096      // provided buffers at most
	uringBufInitial = 64        // provided at first and after a trim; ENOBUFS doubles it
	uringBufSize    = 4096      // bytes each: a request head almost always fits one
	uringBigPipe    = 1 << 20   // F_SETPIPE_SZ for the server's first uringBigPipes pipes
	uringBigPipes   = 32        // 8192 pages: half of the default pipe-user-pages-soft
	uringPipeSize   = 256 << 10 // F_SETPIPE_SZ for more pipes
	uringPipeMin    = 32 << 10  // a smaller pipe (F_SETPIPE_SZ refused) is not used
	uringChainMax   = 4 << 20   // file bytes moved by one linked splice chain
	uringPipesIdle  = 1         // pipes a worker keeps once a load is over (2 fds)
	uringIdleAfter  = 4000      // ms without a file transfer before pipes are trimmed
	uringFileChunk  = 256 << 10
	uringBatch      = 256
	uringReapMax    = 1024 // CQEs handled per loop turn
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
	ukClose // a CLOSE linked to a connection's last send
	ukWake
	ukIgnore  // cancels, closes: nothing to do on completion
	ukTLSRead // a file range read for the TLS transport
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
	// bigPipes counts the server's open pipes of uringBigPipe bytes (all
	// workers).
	bigPipes atomic.Int32
}

func newUringEngine(s *Server) (engine, error) {
	c := getUringCaps()
	if ok, why := c.usable(); !ok {
		return nil, errors.New(why)
	}
	e := &uringEngine{s: s, caps: c}
	if s.cfg.Backend == BackendAuto {
		// The probe's small ring passed; the workers' rings are larger
		// and pin memory (buffer rings) that an unprivileged user's
		// RLIMIT_MEMLOCK may not cover. Make them all once, now, so that
		// auto can still choose epoll instead of failing to start.
		if err := e.trial(s.cfg.Workers); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// CheckUringRings reports whether n workers' rings can be set up here, as
// serve's --backend auto checks before choosing io_uring: their buffer
// rings pin memory that an unprivileged user's RLIMIT_MEMLOCK may not
// cover.
func CheckUringRings(n int) error {
	c := getUringCaps()
	if ok, why := c.usable(); !ok {
		return errors.New(why)
	}
	return (&uringEngine{caps: c}).trial(n)
}

// trial sets up n workers' rings as newLoop does, then frees them.
func (e *uringEngine) trial(n int) error {
	var rings []*uring.Ring
	var bufs []*uring.BufRing
	defer func() {
		for _, b := range bufs {
			b.Close()
		}
		for _, r := range rings {
			r.Close()
		}
	}()
	for range n {
		r, br, err := e.newRing()
		if r != nil {
			rings = append(rings, r)
		}
		if br != nil {
			bufs = append(bufs, br)
		}
		if err != nil {
			return fmt.Errorf("%d worker rings: %w", n, err)
		}
	}
	return nil
}

// newRing sets up a worker's ring (best flags first) and its provided-
// buffer ring. On error the ring, if made, is returned for closing.
func (e *uringEngine) newRing() (*uring.Ring, *uring.BufRing, error) {
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
		return nil, nil, err
	}
	if !c.bufRing {
		return ring, nil, nil
	}
	br, err := ring.NewBufRingPartial(uringBufGroup, uringBufEntries, uringBufSize, uringBufInitial)
	if err != nil {
		return ring, nil, err
	}
	return ring, br, nil
}

func (e *uringEngine) close() {}

// utx is the memory of one connection's transfer in progress, pooled per
// worker.
type utx struct {
	msg unix.Msghdr
	iov [uringMaxIov]unix.Iovec
	// sendRefs keeps what the in-flight sendmsg points at reachable.
	sendRefs [uringMaxIov][]byte

	// File transfer state (uring_file_linux.go). Invariant: the pipe
	// holds exactly the first pipeFill bytes of the connection's pending
	// output.
	pipeR, pipeW int // -1 when no pipe
	pipeCap      int // the pipe's capacity
	pipeFill     int // bytes in the pipe, not yet sent
	chainLeft    int // CQEs of the running splice chain still due
	chainErr     bool
	fileBuf      []byte
	fileBufSent  int

	recvBuf []byte // single-shot recv buffer (no buffer ring)
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
	pipePool []upipe  // idle pipes, empty
	pipeUsed int64    // w.now of the last pipe taken
	pipes    int      // pipes open (pooled or lent)
	// noPipeUntil: w.now before which no new pipe is tried (the last
	// one failed or came too small).
	noPipeUntil int64
	txFree      []*utx
	grew        bool // the buffer ring grew this turn
	peer        bool // look up peer addresses (access log on)
	stopped     bool
}

func (e *uringEngine) newLoop(w *worker) (ioLoop, error) {
	c := e.caps
	ring, br, err := e.newRing()
	if err != nil {
		if ring != nil {
			ring.Close()
		}
		return nil, err
	}
	l := &uringLoop{e: e, w: w, ring: ring, br: br, caps: c, wakeFd: -1, peer: w.alog != nil}
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
		l.closePipe(p)
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

// reserve makes room for n SQEs that must reach the kernel in one submit
// (a linked chain cut by a full SQ would lose its links).
func (l *uringLoop) reserve(n int) {
	if int(l.ring.SQSpaceLeft()) < n {
		l.ring.Submit()
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
		l.grew = false
		w.tick() // after the wait: timers armed while reaping use a fresh clock
		l.trimPipes()
		l.reap()
		w.expireTimers()
		w.syncDirty(l.sync)
		// Every CQE is handled and every provided buffer recycled: the
		// one point where trimming may drop buffer memory.
		w.maybeTrim()
	}
	l.drain()
	w.markExited()
	l.release()
}

// enter does the loop turn's one io_uring_enter: submit, and wait up to
// timeoutMs for a completion unless some are ready.
func (l *uringLoop) enter(timeoutMs int) {
	l.w.m.c.waits++
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

// reap handles the ready CQEs, at most uringReapMax per turn: what is
// left is handled next turn (whose enter does not wait while CQEs are
// ready), so a burst (thousands of accepts, or of connections timing out
// at once) is spread over turns instead of making one turn long.
func (l *uringLoop) reap() {
	for done := 0; done < uringReapMax; {
		n := l.ring.PeekBatch(l.cqes[:])
		if n == 0 {
			return
		}
		l.w.busy()
		for i := 0; i < n; i++ {
			cqe := l.cqes[i]
			l.handle(cqe.UserData, cqe.Res, cqe.Flags)
			l.cqes[i] = nil
		}
		l.ring.CQAdvance(uint32(n))
		l.w.m.c.events += uint64(n)
		done += n
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
	case ukSpliceIn, ukSpliceOut:
		l.onChain(c, u, kind, res)
	case ukFileRead:
		l.onFileRead(c, u, res)
	case ukFileSend:
		l.onFileSend(c, u, res)
	case ukClose:
		l.onLinkedClose(c, u, res)
	case ukTLSRead:
		l.w.fileRead(c, res)
	}
	l.maybeClosed(c, u)
}

func (l *uringLoop) armWake() {
	s := l.sqe()
	s.PrepRead(l.wakeFd, l.wakeBuf[:8], 0)
	s.SetData(ukWake)
	l.wakeArm = true
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

// trim gives back what the loop pooled for a load that is over (the worker
// calls it once it has been quiet for trimAfter): the provided buffers'
// memory (only with DEFER_TASKRUN, where the kernel writes them only inside
// this thread's enter) and the ring back to its initial size, pooled
// buffers and transfer states. Pipes have their own, longer, delay
// (trimPipes).
func (l *uringLoop) trim() {
	if l.br != nil && l.caps.deferTaskrun {
		l.br.Shrink(uringBufInitial)
		l.br.Discard()
	}
	clear(l.bufPool)
	l.bufPool = l.bufPool[:0:0]
	clear(l.txFree)
	l.txFree = l.txFree[:0:0]
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
