package uring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrTimeout is returned by the timed waits when the time ran out before enough completions
// arrived. It wraps unix.ETIME, so errors.Is(err, unix.ETIME) holds too; it is preallocated so
// an idle loop that times out every turn allocates nothing.
var ErrTimeout = fmt.Errorf("uring: wait timed out: %w", unix.ETIME)

// GetSQE returns the next free SQE, zeroed, or nil when the SQ is full (submit, then retry),
// as io_uring_get_sqe. The SQE belongs to the caller until the next Submit* call publishes it.
func (r *Ring) GetSQE() *SQE {
	// Acquire load: the kernel (or the SQPOLL thread, concurrently) advances head as it
	// consumes SQEs; a slot is free only once the kernel has read it.
	head := atomic.LoadUint32(r.sq.khead)
	tail := r.sq.sqeTail
	if tail-head >= r.sq.entries {
		return nil
	}
	i := (tail & r.sq.mask) << r.sq.sqeShift
	sqe := &r.sq.sqes[i]
	*sqe = SQE{}
	if r.sq.sqeShift != 0 {
		r.sq.sqes[i+1] = SQE{}
	}
	r.sq.sqeTail = tail + 1
	return sqe
}

// SQReady returns the number of SQEs queued but not yet consumed by the kernel.
func (r *Ring) SQReady() uint32 {
	// Acquire load: kernel-written.
	return r.sq.sqeTail - atomic.LoadUint32(r.sq.khead)
}

// SQSpaceLeft returns how many more SQEs GetSQE can hand out before the next submit.
func (r *Ring) SQSpaceLeft() uint32 { return r.sq.entries - r.SQReady() }

// SQDropped returns the kernel's count of invalid SQEs it skipped (sq dropped counter).
func (r *Ring) SQDropped() uint32 {
	// Atomic load: kernel-written.
	return atomic.LoadUint32(r.sq.kdropped)
}

// flushSQ publishes the SQEs handed out since the last flush and returns how many SQEs the
// kernel has still to consume.
func (r *Ring) flushSQ() uint32 {
	tail := r.sq.sqeTail
	if r.sq.sqeHead != tail {
		r.sq.sqeHead = tail
		// Release store: the kernel must see the SQE contents written above before it sees
		// the new tail.
		atomic.StoreUint32(r.sq.ktail, tail)
	}
	// Acquire load: kernel-written consumed position.
	return tail - atomic.LoadUint32(r.sq.khead)
}

// sqFlags reads the shared SQ flags word.
func (r *Ring) sqFlags() uint32 {
	// Atomic load: the kernel sets and clears CQ_OVERFLOW / TASKRUN / NEED_WAKEUP at any time.
	return atomic.LoadUint32(r.sq.kflags)
}

// cqNeedsFlush reports whether completions wait in the kernel (overflow list or task work
// flagged by SetupTaskrunFlag) and only an enter with GETEVENTS brings them to the CQ.
func (r *Ring) cqNeedsFlush() bool { return r.sqFlags()&(SQCQOverflow|SQTaskrun) != 0 }

// enter calls io_uring_enter, retrying EINTR. block selects unix.Syscall6 (the Go scheduler
// hands the P to another thread while we sleep) over RawSyscall6 (cheaper, for calls that
// cannot sleep). arg must point into r (it is kept alive by r).
func (r *Ring) enter(toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSize uintptr, block bool) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	flags |= r.enterFlags
	for {
		var n uintptr
		var e unix.Errno
		if block {
			n, _, e = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.enterFd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), uintptr(arg), argSize)
		} else {
			n, _, e = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.enterFd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), uintptr(arg), argSize)
		}
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			if arg != nil {
				// A timed wait: the caller recomputes the time left before retrying.
				return 0, errInterrupted
			}
			// Nothing was submitted by the interrupted call (the kernel returns the count when
			// it submitted any): recount what is left and go again.
			toSubmit = r.sq.sqeTail - atomic.LoadUint32(r.sq.khead)
			continue
		case unix.ETIME:
			return 0, ErrTimeout
		case unix.EBADR:
			return 0, fmt.Errorf("%w: %w", ErrCQDropped, os.NewSyscallError("io_uring_enter", e))
		}
		return 0, os.NewSyscallError("io_uring_enter", e)
	}
}

// Submit publishes the queued SQEs and tells the kernel about them without waiting, as
// io_uring_submit. It returns the number submitted. When completions wait in the kernel's
// overflow list (or SetupTaskrunFlag says task work is pending) it also flushes them to the
// CQ. It makes no syscall when there is nothing to do. With SetupDeferTaskrun use
// SubmitAndGetEvents or a wait instead: only those run the deferred completions.
//
// With SetupSQPoll the kernel thread picks the SQEs up by itself: Submit enters only to wake
// it (IORING_SQ_NEED_WAKEUP) and returns the number of SQEs it has not consumed yet.
//
// EAGAIN or EBUSY mean the kernel cannot take more now (old kernels refuse submissions while
// completions overflow): reap the CQ and submit again.
func (r *Ring) Submit() (int, error) {
	toSubmit := r.flushSQ()
	flags := r.sqpollFlags()
	if r.cqNeedsFlush() {
		flags |= EnterGetEvents
	}
	if flags == 0 && (toSubmit == 0 || r.params.Flags&SetupSQPoll != 0) {
		return int(toSubmit), nil
	}
	return r.enter(toSubmit, 0, flags, nil, 0, false)
}

// sqpollFlags returns EnterSQWakeup when the ring's SQPOLL thread sleeps and must be woken
// to see new SQEs.
func (r *Ring) sqpollFlags() uint32 {
	if r.params.Flags&SetupSQPoll != 0 && r.sqFlags()&SQNeedWakeup != 0 {
		return EnterSQWakeup
	}
	return 0
}

// SubmitAndGetEvents submits the queued SQEs and enters with GETEVENTS and min_complete 0:
// it never sleeps, and it is the call that makes completions appear on a SetupDeferTaskrun
// ring (deferred task work runs only then) and flushes the CQ overflow list. It always makes
// one io_uring_enter. This is the cheap per-turn call of an event loop that must not block.
func (r *Ring) SubmitAndGetEvents() (int, error) {
	toSubmit := r.flushSQ()
	return r.enter(toSubmit, 0, EnterGetEvents|r.sqpollFlags(), nil, 0, false)
}

// SubmitAndWait submits the queued SQEs and sleeps until at least waitNr completions are in
// the CQ, as io_uring_submit_and_wait. waitNr 0 is Submit. The wait goes through
// unix.Syscall6 so the Go scheduler runs other goroutines meanwhile. When some SQEs were
// submitted the kernel returns their count even if a signal cut the wait short: check the CQ.
func (r *Ring) SubmitAndWait(waitNr uint32) (int, error) {
	if waitNr == 0 {
		return r.Submit()
	}
	toSubmit := r.flushSQ()
	return r.enter(toSubmit, waitNr, EnterGetEvents|r.sqpollFlags(), nil, 0, true)
}

// SubmitAndWaitTimeout is SubmitAndWait bounded by timeout, through IORING_ENTER_EXT_ARG
// (FeatExtArg, 5.11), as io_uring_submit_and_wait_timeout. It returns ErrTimeout when the
// time ran out and nothing was submitted; when SQEs were submitted it returns their count
// after the (possibly timed out) wait: check the CQ. A timeout <= 0 waits not at all. It
// returns an error wrapping ErrUnsupported on kernels without EXT_ARG. It allocates nothing.
func (r *Ring) SubmitAndWaitTimeout(waitNr uint32, timeout time.Duration) (int, error) {
	return r.waitTimeout(true, waitNr, timeout)
}

// waitTimeout is the EXT_ARG wait behind SubmitAndWaitTimeout and WaitCQETimeout.
func (r *Ring) waitTimeout(submit bool, waitNr uint32, timeout time.Duration) (int, error) {
	if r.params.Features&FeatExtArg == 0 {
		return 0, errNoExtArg
	}
	var toSubmit uint32
	if submit {
		toSubmit = r.flushSQ()
	}
	deadline := time.Now().Add(timeout)
	for {
		if timeout < 0 {
			timeout = 0
		}
		r.ts = Timespec{Sec: int64(timeout / time.Second), Nsec: int64(timeout % time.Second)}
		r.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
		flags := EnterGetEvents | EnterExtArg
		if submit {
			flags |= r.sqpollFlags()
		}
		n, err := r.enter(toSubmit, waitNr, flags, unsafe.Pointer(&r.arg), unsafe.Sizeof(r.arg), true)
		if err == errInterrupted {
			err = nil // a signal (Go's preemption, a profiler): wait out the rest
		}
		if err != nil || n > 0 || r.CQReady() >= waitNr {
			return n, err
		}
		// Woken early with nothing submitted and too few CQEs: wait out the rest of the
		// time, never longer than asked.
		timeout = time.Until(deadline)
		if timeout <= 0 {
			return 0, ErrTimeout
		}
		if submit {
			toSubmit = r.flushSQ()
		}
	}
}

// errInterrupted reports EINTR from a timed wait to waitTimeout, which retries with the
// time left.
var errInterrupted = errors.New("uring: interrupted")

var errNoExtArg = fmt.Errorf("uring: timed wait needs IORING_FEAT_EXT_ARG (Linux 5.11): %w", ErrUnsupported)

// CQReady returns the number of CQEs ready to be consumed.
func (r *Ring) CQReady() uint32 {
	// Acquire load of the kernel-written tail (CQEs before it are complete); our own head.
	return atomic.LoadUint32(r.cq.ktail) - atomic.LoadUint32(r.cq.khead)
}

// CQOverflow returns the kernel's count of CQEs lost to overflow (only kernels without
// FeatNoDrop, or an allocation failure, lose any).
func (r *Ring) CQOverflow() uint32 {
	// Atomic load: kernel-written counter.
	return atomic.LoadUint32(r.cq.koverflow)
}

// PeekCQE returns the oldest unconsumed CQE, or nil when the CQ is empty, as io_uring_peek_cqe.
// Consume it with CQESeen (or CQAdvance). When the CQ is empty but the kernel holds
// overflowed completions, PeekCQE flushes them with a non-blocking GETEVENTS enter first.
func (r *Ring) PeekCQE() *CQE {
	var one [1]*CQE
	if r.PeekBatch(one[:]) == 0 {
		return nil
	}
	return one[0]
}

// PeekBatch fills cqes with pointers to up to len(cqes) ready CQEs, oldest first, and returns
// how many, as io_uring_peek_batch_cqe. It allocates nothing and does not consume them: call
// CQAdvance(n) once they are handled. When the CQ is empty but the kernel holds overflowed
// completions (or flagged task work), it flushes them with a non-blocking GETEVENTS enter
// first, so nothing stays hidden. It never runs SetupDeferTaskrun work: enter for that.
func (r *Ring) PeekBatch(cqes []*CQE) int {
	n := r.peek(cqes)
	if n == 0 && len(cqes) > 0 && r.cqNeedsFlush() {
		// Errors surface on the next Submit*/wait call, which enters again.
		r.enter(0, 0, EnterGetEvents, nil, 0, false)
		n = r.peek(cqes)
	}
	return n
}

func (r *Ring) peek(cqes []*CQE) int {
	// Acquire load: the kernel writes CQEs before it publishes the tail.
	tail := atomic.LoadUint32(r.cq.ktail)
	// Atomic load for symmetry; only we write head.
	head := atomic.LoadUint32(r.cq.khead)
	n := int(tail - head)
	if n > len(cqes) {
		n = len(cqes)
	}
	for i := 0; i < n; i++ {
		cqes[i] = &r.cq.cqes[((head+uint32(i))&r.cq.mask)<<r.cq.cqeShift]
	}
	return n
}

// CQAdvance consumes n CQEs, as io_uring_cq_advance. CQEs obtained before must not be used
// afterwards: the kernel may overwrite their slots.
func (r *Ring) CQAdvance(n uint32) {
	if n == 0 {
		return
	}
	// Release store: our reads of the CQEs happen before the kernel may reuse their slots.
	atomic.StoreUint32(r.cq.khead, atomic.LoadUint32(r.cq.khead)+n)
}

// CQESeen consumes one CQE, as io_uring_cqe_seen.
func (r *Ring) CQESeen() { r.CQAdvance(1) }

// WaitCQE returns the oldest CQE, sleeping until one arrives, as io_uring_wait_cqe. It does not
// submit queued SQEs. Consume the CQE with CQESeen.
func (r *Ring) WaitCQE() (*CQE, error) {
	for {
		if cqe := r.PeekCQE(); cqe != nil {
			return cqe, nil
		}
		if _, err := r.enter(0, 1, EnterGetEvents, nil, 0, true); err != nil {
			return nil, err
		}
	}
}

// WaitCQETimeout is WaitCQE bounded by timeout (needs FeatExtArg): it returns ErrTimeout when
// no CQE arrived in time.
func (r *Ring) WaitCQETimeout(timeout time.Duration) (*CQE, error) {
	if cqe := r.PeekCQE(); cqe != nil {
		return cqe, nil
	}
	if _, err := r.waitTimeout(false, 1, timeout); err != nil {
		return nil, err
	}
	if cqe := r.PeekCQE(); cqe != nil {
		return cqe, nil
	}
	return nil, ErrTimeout
}
