package uring

import (
	"errors"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: the SQ and CQ rings and the SQE array, mapped from the
// kernel, plus the application-side SQ bookkeeping.
//
// Threading invariant: a Ring is not safe for concurrent use. It belongs to one goroutine that
// has called runtime.LockOSThread before creating it and does every call on it, Close
// included: with SetupSingleIssuer the kernel accepts submissions only from the creating
// thread, with SetupDeferTaskrun completions are posted only when that thread enters, and a
// registered ring fd (RegisterRingFD) is an index into that thread's table.
type Ring struct {
	fd         int    // the ring's file descriptor
	enterFd    int    // registered ring index when enterFlags has EnterRegisteredRing, else fd
	enterFlags uint32 // EnterRegisteredRing or 0
	params     Params // as written back by the kernel
	closed     bool

	sq struct {
		khead    *uint32 // kernel-written: SQEs consumed
		ktail    *uint32 // application-written: SQEs published
		kflags   *uint32 // kernel-written: IORING_SQ_*
		kdropped *uint32 // kernel-written: invalid SQEs dropped
		sqes     []SQE   // entries << sqeShift
		mask     uint32
		entries  uint32
		sqeHead  uint32 // next SQE not yet published to ktail
		sqeTail  uint32 // next free SQE
		sqeShift uint32 // 1 with SetupSQE128
	}
	cq struct {
		khead     *uint32 // application-written: CQEs consumed
		ktail     *uint32 // kernel-written: CQEs posted
		koverflow *uint32 // kernel-written: CQEs dropped on overflow
		cqes      []CQE   // entries << cqeShift
		mask      uint32
		entries   uint32
		cqeShift  uint32 // 1 with SetupCQE32
	}

	ringMem []byte // SQ ring (and CQ ring with FeatSingleMmap)
	cqMem   []byte // CQ ring when it has its own mapping
	sqeMem  []byte // the SQE array

	// Arguments of a timed wait, kept in the Ring (a heap object that outlives the
	// syscall) so SubmitAndWaitTimeout allocates nothing.
	arg getEventsArg
	ts  Timespec

	closedWords [7]uint32 // stand-ins for the shared words after Close
}

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

// sysSetup is io_uring_setup(2); tests replace it to simulate older kernels.
var sysSetup = func(entries uint32, p *Params) (int, unix.Errno) {
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	return int(fd), e
}

// noSQArray remembers whether the kernel rejected SetupNoSQArray: 0 unknown, 1 works,
// 2 rejected. Atomic because rings are created on many worker threads at once.
var noSQArray atomic.Int32

// TrySetup calls io_uring_setup(entries, flags) once and closes the ring at once. It returns the
// parameters the kernel wrote back (Features, real sizes) or the *os.SyscallError wrapping the
// errno (EPERM, ENOSYS, ENOMEM, EINVAL, ...): the question "can this process use io_uring,
// and with which flags" without keeping anything. SetupErrorCause explains the errno.
func TrySetup(entries, flags uint32) (Params, error) {
	p := Params{Flags: flags}
	fd, e := sysSetup(entries, &p)
	if e != 0 {
		return p, os.NewSyscallError("io_uring_setup", e)
	}
	unix.Close(fd)
	return p, nil
}

// NewRing creates a ring with room for entries SQEs (rounded up to a power of two by the
// kernel), as io_uring_queue_init_params does. p may be nil; when it is not, the kernel's
// answer (real sizes, Features, offsets) is written back into it. SetupNoSQArray is added
// when the kernel knows it (6.6+), and the rings share one mapping with FeatSingleMmap.
//
// The calling goroutine must be locked to its OS thread and is the ring's only user (see Ring).
func NewRing(entries uint32, p *Params) (*Ring, error) {
	var local Params
	if p == nil {
		p = &local
	}
	q := *p
	var fd int
	var e unix.Errno
	if q.Flags&SetupNoSQArray == 0 && noSQArray.Load() != 2 {
		try := q
		try.Flags |= SetupNoSQArray
		fd, e = sysSetup(entries, &try)
		if e == 0 {
			noSQArray.Store(1)
			q = try
		} else if e == unix.EINVAL {
			fd, e = sysSetup(entries, &q)
			if e == 0 {
				noSQArray.Store(2) // the retry without it worked: the kernel lacks NO_SQARRAY
			}
		}
	} else {
		fd, e = sysSetup(entries, &q)
	}
	if e != 0 {
		return nil, os.NewSyscallError("io_uring_setup", e)
	}
	*p = q
	r := &Ring{fd: fd, enterFd: fd, params: q}
	if err := r.mmap(); err != nil {
		r.unmap()
		unix.Close(fd)
		return nil, err
	}
	return r, nil
}

// NewRingBest creates a ring with the best flags of FlagTiers the kernel accepts, each tier
// OR'ed with p.Flags, falling back to the next tier when io_uring_setup answers EINVAL. It
// returns the tier it got (a FlagTiers value; Flags reports every flag in use) and registers the
// ring fd (RegisterRingFD) when the kernel supports that. Other errors (EPERM, ENOMEM, ...)
// stop at once. p may be nil; see NewRing.
//
// The calling goroutine must be locked to its OS thread and is the ring's only user.
func NewRingBest(entries uint32, p *Params) (*Ring, uint32, error) {
	var base Params
	if p != nil {
		base = *p
	}
	var err error
	for _, tier := range FlagTiers {
		q := base
		q.Flags |= tier
		var r *Ring
		r, err = NewRing(entries, &q)
		if err == nil {
			if p != nil {
				*p = q
			}
			if rerr := r.RegisterRingFD(); rerr != nil && !errors.Is(rerr, unix.EINVAL) {
				r.Close()
				return nil, 0, rerr
			}
			return r, tier, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return nil, 0, err
		}
	}
	return nil, 0, err
}

func (r *Ring) mmap() error {
	p := &r.params
	sqeSize, cqeSize := uint32(unsafe.Sizeof(SQE{})), uint32(unsafe.Sizeof(CQE{}))
	if p.Flags&SetupSQE128 != 0 {
		r.sq.sqeShift = 1
		sqeSize *= 2
	}
	if p.Flags&SetupCQE32 != 0 {
		r.cq.cqeShift = 1
		cqeSize *= 2
	}
	var sqSize uint32
	if p.Flags&SetupNoSQArray == 0 {
		sqSize = p.SQOff.Array + p.SQEntries*4
	}
	cqSize := p.CQOff.CQEs + p.CQEntries*cqeSize
	single := p.Features&FeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	r.ringMem, err = unix.Mmap(r.fd, offSQRing, int(sqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	if single {
		r.cqMem = r.ringMem
	} else {
		r.cqMem, err = unix.Mmap(r.fd, offCQRing, int(cqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return os.NewSyscallError("mmap", err)
		}
	}
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.SQEntries*sqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}

	sq, cq := r.ringMem, r.cqMem
	r.sq.khead = u32At(sq, p.SQOff.Head)
	r.sq.ktail = u32At(sq, p.SQOff.Tail)
	r.sq.kflags = u32At(sq, p.SQOff.Flags)
	r.sq.kdropped = u32At(sq, p.SQOff.Dropped)
	// Plain reads: ring_mask and ring_entries are constants the kernel wrote before setup
	// returned.
	r.sq.mask = *u32At(sq, p.SQOff.RingMask)
	r.sq.entries = *u32At(sq, p.SQOff.RingEntries)
	r.sq.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), r.sq.entries<<r.sq.sqeShift)
	if p.Flags&SetupNoSQArray == 0 {
		// Map SQ slot i to SQE i once; submission then only moves the tail. Plain writes:
		// the kernel reads the array only after a tail store (atomic, below in flushSQ).
		array := unsafe.Slice(u32At(sq, p.SQOff.Array), r.sq.entries)
		for i := range array {
			array[i] = uint32(i)
		}
	}
	// Our local SQ position starts where the kernel's is (0 on a new ring).
	r.sq.sqeHead = atomic.LoadUint32(r.sq.ktail)
	r.sq.sqeTail = r.sq.sqeHead

	r.cq.khead = u32At(cq, p.CQOff.Head)
	r.cq.ktail = u32At(cq, p.CQOff.Tail)
	r.cq.koverflow = u32At(cq, p.CQOff.Overflow)
	r.cq.mask = *u32At(cq, p.CQOff.RingMask) // constants, as for the SQ
	r.cq.entries = *u32At(cq, p.CQOff.RingEntries)
	r.cq.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&cq[p.CQOff.CQEs])), r.cq.entries<<r.cq.cqeShift)
	return nil
}

func u32At(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }

func (r *Ring) unmap() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.cqMem != nil && (r.ringMem == nil || &r.cqMem[0] != &r.ringMem[0]) {
		unix.Munmap(r.cqMem)
	}
	r.cqMem = nil
	if r.ringMem != nil {
		unix.Munmap(r.ringMem)
		r.ringMem = nil
	}
	// Point the shared words at private memory: a use after Close then finds an empty,
	// full-sized-zero ring (GetSQE nil, CQ empty, enter ErrClosed) instead of unmapped memory.
	d := &r.closedWords
	r.sq.khead, r.sq.ktail, r.sq.kflags, r.sq.kdropped = &d[0], &d[1], &d[2], &d[3]
	r.cq.khead, r.cq.ktail, r.cq.koverflow = &d[4], &d[5], &d[6]
	r.sq.entries, r.sq.mask, r.cq.mask = 0, 0, 0
	r.sq.sqeHead, r.sq.sqeTail = 0, 0
	r.sq.sqes, r.cq.cqes = nil, nil
}

// Close unregisters the ring fd, unmaps the rings and closes the ring, as io_uring_queue_exit
// does. Requests still in flight are cancelled by the kernel; memory they use must stay valid
// until Close returns. Call it on the ring's thread (a registered ring fd lives in that
// thread's table and otherwise keeps the ring alive until the thread exits). Close is
// idempotent.
func (r *Ring) Close() error {
	if r.closed {
		return nil
	}
	if r.enterFlags&EnterRegisteredRing != 0 {
		r.UnregisterRingFD() // best effort: fails only off the ring's thread
	}
	r.closed = true
	r.unmap()
	if err := unix.Close(r.fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// Fd returns the ring's file descriptor (the target of PrepMsgRing from another ring).
func (r *Ring) Fd() int { return r.fd }

// Flags returns the setup flags in use (IORING_SETUP_*), NO_SQARRAY included when added.
func (r *Ring) Flags() uint32 { return r.params.Flags }

// Features returns the kernel's IORING_FEAT_* bits.
func (r *Ring) Features() uint32 { return r.params.Features }

// Params returns the parameters the kernel wrote back at setup.
func (r *Ring) Params() Params { return r.params }

// SQEntries returns the number of SQ slots (the real size, a power of two).
func (r *Ring) SQEntries() uint32 { return r.sq.entries }

// CQEntries returns the number of CQ slots.
func (r *Ring) CQEntries() uint32 { return r.cq.entries }

// MapMemory returns n bytes of zeroed anonymous memory (whole pages are mapped) outside the
// Go heap: memory the kernel may read or write after submission without being
// pinned. Release it with UnmapMemory once no request uses it.
func MapMemory(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

// UnmapMemory releases memory from MapMemory.
func UnmapMemory(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}
