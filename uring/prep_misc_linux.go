package uring

import "unsafe"

// prepRW fills the fields every prep helper sets, as liburing's io_uring_prep_rw. The SQE
// comes zeroed from GetSQE, so the other fields are already 0.
func (s *SQE) prepRW(op Op, fd int, addr uintptr, n uint32, off uint64) {
	s.Opcode = op
	s.Fd = int32(fd)
	s.Addr = uint64(addr)
	s.Len = n
	s.Off = off
}

// SetData sets the SQE's user data, as io_uring_sqe_set_data64. It must be a caller-chosen
// number (an index and generation, say), never a Go pointer.
func (s *SQE) SetData(userData uint64) { s.UserData = userData }

// SetFlags ORs IOSQE_* flags into the SQE, as io_uring_sqe_set_flags (which assigns).
func (s *SQE) SetFlags(flags uint8) { s.Flags |= flags }

// SetBufferGroup makes the request pick its buffer from provided-buffer group bgid
// (SQEBufferSelect + buf_group, 5.7; buffer rings 5.19).
func (s *SQE) SetBufferGroup(bgid uint16) {
	s.Flags |= SQEBufferSelect
	s.BufIndex = bgid
}

// PrepNop prepares a request that does nothing and completes with res 0, as io_uring_prep_nop
// (IORING_OP_NOP, 5.1).
func (s *SQE) PrepNop() { s.prepRW(OpNop, -1, 0, 0, 0) }

// PrepTimeout prepares a timeout that completes after *ts (-ETIME), or with res 0 once count
// other completions were posted (count 0: time only), as io_uring_prep_timeout
// (IORING_OP_TIMEOUT, 5.4; TimeoutMultishot 6.4, with count = number of firings, 0 forever).
// The kernel copies *ts when the SQE is submitted: ts must stay valid (not on a goroutine
// stack) until the Submit call returns.
func (s *SQE) PrepTimeout(ts *Timespec, count, flags uint32) {
	s.prepRW(OpTimeout, -1, addrOf(unsafe.Pointer(ts)), 1, uint64(count))
	s.OpFlags = flags
}

// PrepTimeoutRemove prepares the removal of the timeout whose user data is userData
// (-ECANCELED for it, res 0 here; -ENOENT if not found), as io_uring_prep_timeout_remove
// (IORING_OP_TIMEOUT_REMOVE, 5.5).
func (s *SQE) PrepTimeoutRemove(userData uint64, flags uint32) {
	s.prepRW(OpTimeoutRemove, -1, 0, 0, 0)
	s.Addr = userData
	s.OpFlags = flags
}

// PrepTimeoutUpdate prepares a new expiry *ts for the timeout whose user data is userData, as
// io_uring_prep_timeout_update (IORING_OP_TIMEOUT_REMOVE with TimeoutUpdate, 5.11). *ts is
// copied at submit.
func (s *SQE) PrepTimeoutUpdate(ts *Timespec, userData uint64, flags uint32) {
	s.prepRW(OpTimeoutRemove, -1, 0, 0, uint64(addrOf(unsafe.Pointer(ts))))
	s.Addr = userData
	s.OpFlags = flags | TimeoutUpdate
}

// PrepLinkTimeout prepares a timeout for the previous SQE, which must carry SQEIOLink: if it
// has not completed after *ts it is cancelled (-ECANCELED for it, -ETIME here; -ECANCELED
// here when it completed first), as io_uring_prep_link_timeout (IORING_OP_LINK_TIMEOUT, 5.5).
// *ts is copied at submit.
func (s *SQE) PrepLinkTimeout(ts *Timespec, flags uint32) {
	s.prepRW(OpLinkTimeout, -1, addrOf(unsafe.Pointer(ts)), 1, 0)
	s.OpFlags = flags
}

// PrepCancel64 prepares the cancellation of the request(s) whose user data is userData, as
// io_uring_prep_cancel64 (IORING_OP_ASYNC_CANCEL, 5.5; flags such as CancelAll 5.19). res is
// 0 (or the count with CancelAll), -ENOENT when nothing matched, -EALREADY when the request
// was already running.
func (s *SQE) PrepCancel64(userData uint64, flags uint32) {
	s.prepRW(OpAsyncCancel, -1, 0, 0, 0)
	s.Addr = userData
	s.OpFlags = flags
}

// PrepCancelFd prepares the cancellation of the requests on fd (CancelFd is added; add
// CancelAll for every one, CancelFdFixed for a registered file), as io_uring_prep_cancel_fd
// (IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_FD, 5.19).
func (s *SQE) PrepCancelFd(fd int, flags uint32) {
	s.prepRW(OpAsyncCancel, fd, 0, 0, 0)
	s.OpFlags = flags | CancelFd
}

// PrepCancelAny prepares the cancellation of every request in flight on the ring, as
// io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY) (5.19). res is the count.
func (s *SQE) PrepCancelAny() {
	s.prepRW(OpAsyncCancel, -1, 0, 0, 0)
	s.OpFlags = CancelAny
}

// PrepPollAdd prepares a one-shot poll for events (POLLIN, ...) on fd, as io_uring_prep_poll_add
// (IORING_OP_POLL_ADD, 5.1). res is the ready mask.
func (s *SQE) PrepPollAdd(fd int, events uint32) {
	s.prepRW(OpPollAdd, fd, 0, 0, 0)
	if bigEndian {
		events = events<<16 | events>>16 // poll32_events is word-swapped on big-endian
	}
	s.OpFlags = events
}

// PrepPollMultishot prepares a poll that stays armed and posts a CQE (with CQEFMore) each
// time fd becomes ready, as io_uring_prep_poll_multishot (IORING_OP_POLL_ADD with
// IORING_POLL_ADD_MULTI, 5.13).
func (s *SQE) PrepPollMultishot(fd int, events uint32) {
	s.PrepPollAdd(fd, events)
	s.Len = PollAddMulti
}

// PrepPollRemove prepares the removal of the poll whose user data is userData, as
// io_uring_prep_poll_remove (IORING_OP_POLL_REMOVE, 5.1).
func (s *SQE) PrepPollRemove(userData uint64) {
	s.prepRW(OpPollRemove, -1, 0, 0, 0)
	s.Addr = userData
}

// PrepMsgRing prepares a message to the ring whose fd is fd: it posts a CQE there with
// res = res and user data = userData, as io_uring_prep_msg_ring (IORING_OP_MSG_RING with
// IORING_MSG_DATA, 5.18; flags such as MsgRingCQESkip 6.0). The CQE here has res 0 or -errno
// (-EOVERFLOW when the target CQ is full).
func (s *SQE) PrepMsgRing(fd int, res uint32, userData uint64, flags uint32) {
	s.prepRW(OpMsgRing, fd, uintptr(MsgData), res, userData)
	s.OpFlags = flags
}

// PrepFilesUpdate prepares an update of the fixed file table from slot offset on with fds
// (-1 empties a slot), as io_uring_prep_files_update (IORING_OP_FILES_UPDATE, 5.6). fds is read
// when the request runs: keep it valid (not on a stack) until the CQE. res is the number of
// slots updated. Before 5.17 (FeatLinkedFile) a request linked after this one resolves its
// fixed file at submission, before the update ran: wait for this CQE instead of linking.
func (s *SQE) PrepFilesUpdate(fds []int32, offset int) {
	s.prepRW(OpFilesUpdate, -1, addrOf(unsafe.Pointer(unsafe.SliceData(fds))), uint32(len(fds)), uint64(offset))
}
