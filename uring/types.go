package uring

import (
	"errors"
	"fmt"
	"unsafe"
)

// SQE is a submission queue entry (struct io_uring_sqe), 64 bytes, laid out exactly as the
// kernel reads it. Unions are flattened to the name of their first member; the prep helpers
// fill the right member for each opcode.
//
// Memory contract: Addr, Off (when it holds an address) and Addr3 are raw addresses the kernel
// dereferences. Whatever they point to must live outside the Go heap (see MapMemory) or be pinned
// and kept reachable by the caller until the request's final CQE (a -ECANCELED completion or a
// SEND_ZC notification included). Each prep helper says when the kernel reads its memory if it
// is earlier (for example a timeout's Timespec is copied when the SQE is submitted). Never
// point the kernel at a Go stack variable: stacks move. UserData is the caller's opaque uint64
// and must never be a Go pointer: the garbage collector does not see it.
type SQE struct {
	Opcode      Op     // IORING_OP_*
	Flags       uint8  // IOSQE_* (SQEFixedFile, SQEIOLink, ...)
	IoPrio      uint16 // ioprio, or accept/recv/send flags
	Fd          int32  // file descriptor or registered file index
	Off         uint64 // off / addr2 / cmd_op
	Addr        uint64 // addr / splice_off_in
	Len         uint32 // length or count
	OpFlags     uint32 // rw_flags / msg_flags / timeout_flags / ... (union)
	UserData    uint64 // returned unchanged in the CQE
	BufIndex    uint16 // buf_index (fixed buffer) / buf_group (buffer select)
	Personality uint16
	FileIndex   uint32 // splice_fd_in / file_index (+1) / addr_len
	Addr3       uint64
	_           uint64 // __pad2
}

// CQE is a completion queue entry (struct io_uring_cqe), 16 bytes.
// Invariant: a *CQE handed out by the ring points into kernel-shared memory and is valid only
// until the CQ head is advanced past it (CQAdvance / CQESeen); copy what you need first.
type CQE struct {
	UserData uint64 // the SQE's UserData
	Res      int32  // result: >= 0 on success, -errno on failure
	Flags    uint32 // IORING_CQE_F_*
}

// BufferID returns the provided-buffer id the kernel picked, and whether one was picked
// (CQEFBuffer set).
func (c CQE) BufferID() (uint16, bool) {
	return uint16(c.Flags >> CQEBufferShift), c.Flags&CQEFBuffer != 0
}

// More reports whether the request that posted this CQE will post more (IORING_CQE_F_MORE):
// a multishot request is still armed, or a SEND_ZC notification is still to come.
func (c CQE) More() bool { return c.Flags&CQEFMore != 0 }

// Notif reports whether this is a SEND_ZC notification (IORING_CQE_F_NOTIF): the send buffer
// is no longer used by the kernel.
func (c CQE) Notif() bool { return c.Flags&CQEFNotif != 0 }

// Timespec is struct __kernel_timespec: always two 64-bit fields, on every architecture.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// OpenHow is struct open_how for OPENAT2 (flags, mode, resolve: three 64-bit fields).
type OpenHow struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

// SQRingOffsets is struct io_sqring_offsets.
type SQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// CQRingOffsets is struct io_cqring_offsets.
type CQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// Params is struct io_uring_params: the caller fills SQEntries (ignored: the entries argument
// wins), CQEntries (with SetupCQSize), Flags, SQThreadCPU, SQThreadIdle and WQFd; the kernel
// writes back the real ring sizes, Features and the mmap offsets.
type Params struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32
	Features     uint32
	WQFd         uint32
	Resv         [3]uint32
	SQOff        SQRingOffsets
	CQOff        CQRingOffsets
}

// BufRingEntry is struct io_uring_buf, one slot of a provided-buffer ring.
type BufRingEntry struct {
	Addr uint64
	Len  uint32
	Bid  uint16
	Resv uint16 // entry 0's Resv is the ring tail: never write it directly
}

// Compile-time ABI size checks: a wrong size fails the build.
var (
	_ [64 - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(SQE{}) - 64]byte
	_ [16 - unsafe.Sizeof(CQE{})]byte
	_ [unsafe.Sizeof(CQE{}) - 16]byte
	_ [120 - unsafe.Sizeof(Params{})]byte
	_ [unsafe.Sizeof(Params{}) - 120]byte
	_ [16 - unsafe.Sizeof(BufRingEntry{})]byte
	_ [unsafe.Sizeof(BufRingEntry{}) - 16]byte
	_ [24 - unsafe.Sizeof(OpenHow{})]byte
	_ [16 - unsafe.Sizeof(Timespec{})]byte
)

// Sentinel errors. Errors from the kernel are *os.SyscallError wrapping a unix.Errno, so
// errors.Is(err, unix.EINVAL) works on them.
var (
	// ErrUnsupported is returned where the platform or the running kernel lacks a feature.
	// It wraps errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("uring: %w", errors.ErrUnsupported)
	// ErrClosed is returned by methods of a Ring or BufRing after Close.
	ErrClosed = errors.New("uring: ring closed")
	// ErrCQDropped reports that the kernel had to drop completions (EBADR from io_uring_enter):
	// the overflow list could not be allocated. The ring's state is no longer trustworthy.
	ErrCQDropped = errors.New("uring: completions were dropped by the kernel")
)
