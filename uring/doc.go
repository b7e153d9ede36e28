// Package uring is a pure-Go (no cgo) binding to Linux io_uring on golang.org/x/sys/unix,
// shaped after liburing: setup (NewRing, NewRingBest, TrySetup), submission (GetSQE, Submit,
// SubmitAndGetEvents, SubmitAndWait, SubmitAndWaitTimeout), completion (PeekCQE, PeekBatch,
// CQAdvance, WaitCQE), prep helpers grouped by family (prep_net, prep_fs, prep_misc; each names
// the liburing function it mirrors and the first kernel with the op), registration (files,
// buffers, provided-buffer rings, the ring fd, the opcode probe). It knows nothing about HTTP,
// starts no goroutines and logs nothing.
//
// # Memory contract
//
// Every address the kernel reads or writes after submission (buffers, iovecs, msghdrs,
// sockaddrs, paths, statx results) must live outside the Go heap (MapMemory, BufRing) or be
// kept reachable by the caller, unmoved, until the request's final CQE: a -ECANCELED
// completion and a SEND_ZC notification (CQEFNotif) count. The prep helpers make such memory
// escape to the heap so it is never on a goroutine stack, which moves; the garbage collector
// still cannot see the raw addresses in an SQE, so keeping the memory alive is the caller's
// job. A few arguments are copied at submission (a timeout's Timespec, the open_how of
// OPENAT2): they must only survive the Submit call; each helper says so. SQE.UserData is a
// caller-chosen uint64 (an index and generation into the caller's table), never a Go pointer.
// Structures shared with the kernel have their exact C widths (int32 fd tables).
//
// # Threading
//
// A Ring is used by one goroutine locked to its OS thread (runtime.LockOSThread before
// NewRing): NewRingBest asks for SetupSingleIssuer|SetupDeferTaskrun, which bind the ring to
// the creating thread, and registers the ring fd in that thread's table. With DeferTaskrun,
// completions are posted only while that thread is inside io_uring_enter with GETEVENTS:
// an event loop calls SubmitAndGetEvents (never sleeps) or SubmitAndWait /
// SubmitAndWaitTimeout (sleeps through unix.Syscall6, so the Go scheduler keeps running other
// goroutines) once per turn; peeking alone starves. The words shared with the kernel (SQ and
// CQ heads and tails, flags, the buffer-ring tail) are accessed with sync/atomic.
//
// Errors from the kernel are *os.SyscallError values wrapping a unix.Errno; compare with
// errors.Is. CQE results are negative errnos, as in C. On platforms other than Linux the
// constructors return an error wrapping errors.ErrUnsupported.
package uring
