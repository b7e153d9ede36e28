package uring

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Network prep helpers. Addresses (buffers, sockaddrs, msghdrs and what they point to) are
// used by the kernel until the request's final CQE (SEND_ZC: until its notification CQE): they
// must live outside the Go heap (MapMemory, a BufRing) or be kept reachable and unmoved by the
// caller until then (addrOf makes them escape to the heap, never a stack).

// setTargetFixedFile stores a direct-descriptor slot (or FileIndexAlloc) in file_index.
func (s *SQE) setTargetFixedFile(fileIndex uint32) {
	if fileIndex == FileIndexAlloc {
		s.FileIndex = FileIndexAlloc
		return
	}
	s.FileIndex = fileIndex + 1 // the kernel reads slot+1; 0 means "not direct"
}

func sockaddrArgs(addr *unix.RawSockaddrAny, addrLen *uint32) (uintptr, uint64) {
	return addrOf(unsafe.Pointer(addr)), uint64(addrOf(unsafe.Pointer(addrLen)))
}

// PrepAccept prepares an accept on listening socket fd, as io_uring_prep_accept
// (IORING_OP_ACCEPT, 5.5). flags are accept4 flags (SOCK_NONBLOCK, SOCK_CLOEXEC). addr and
// addrLen may be nil; otherwise the kernel writes them at completion. res is the new fd.
func (s *SQE) PrepAccept(fd int, addr *unix.RawSockaddrAny, addrLen *uint32, flags int) {
	a, l := sockaddrArgs(addr, addrLen)
	s.prepRW(OpAccept, fd, a, 0, l)
	s.OpFlags = uint32(flags)
}

// PrepAcceptDirect is PrepAccept installing the new socket in fixed file slot fileIndex (or
// FileIndexAlloc: the kernel picks one) instead of the fd table, as io_uring_prep_accept_direct
// (5.19). res is the slot (with FileIndexAlloc) or 0. flags must not have SOCK_CLOEXEC (EINVAL):
// a direct descriptor is not in the fd table. A fixed file table must be registered
// (RegisterFilesSparse).
func (s *SQE) PrepAcceptDirect(fd int, addr *unix.RawSockaddrAny, addrLen *uint32, flags int, fileIndex uint32) {
	s.PrepAccept(fd, addr, addrLen, flags)
	s.setTargetFixedFile(fileIndex)
}

// PrepMultishotAccept prepares an accept that stays armed: one CQE per connection, each with
// CQEFMore while it remains armed, as io_uring_prep_multishot_accept (IORING_ACCEPT_MULTISHOT,
// 5.19). Pass nil addr/addrLen (they would be overwritten by every connection).
func (s *SQE) PrepMultishotAccept(fd int, addr *unix.RawSockaddrAny, addrLen *uint32, flags int) {
	s.PrepAccept(fd, addr, addrLen, flags)
	s.IoPrio |= AcceptMultishot
}

// PrepMultishotAcceptDirect is PrepMultishotAccept into kernel-picked fixed file slots
// (FileIndexAlloc), as io_uring_prep_multishot_accept_direct (5.19). res is the slot.
func (s *SQE) PrepMultishotAcceptDirect(fd int, addr *unix.RawSockaddrAny, addrLen *uint32, flags int) {
	s.PrepMultishotAccept(fd, addr, addrLen, flags)
	s.setTargetFixedFile(FileIndexAlloc)
}

// PrepConnect prepares a connect of socket fd to addr, as io_uring_prep_connect
// (IORING_OP_CONNECT, 5.5). addr must stay valid until the CQE.
func (s *SQE) PrepConnect(fd int, addr *unix.RawSockaddrAny, addrLen uint32) {
	s.prepRW(OpConnect, fd, addrOf(unsafe.Pointer(addr)), 0, uint64(addrLen))
}

// PrepRecv prepares a recv into buf, as io_uring_prep_recv (IORING_OP_RECV, 5.6). flags are
// MSG_* flags. With a buffer group (SetBufferGroup) pass a nil buf; the CQE names the buffer.
func (s *SQE) PrepRecv(fd int, buf []byte, flags int) {
	s.prepRW(OpRecv, fd, bufAddr(buf), uint32(len(buf)), 0)
	s.OpFlags = uint32(flags)
}

// PrepRecvMultishot prepares a recv that stays armed and posts one CQE per chunk received,
// each with CQEFMore while armed, as io_uring_prep_recv_multishot (IORING_RECV_MULTISHOT, 6.0).
// It needs a buffer group: call SetBufferGroup, and pass a nil buf. When the group runs dry
// the request ends with -ENOBUFS (no CQEFMore): give buffers back and arm it again. Add
// RecvsendBundle to IoPrio (6.10, FeatRecvSendBundle) to get several buffers per CQE.
func (s *SQE) PrepRecvMultishot(fd int, buf []byte, flags int) {
	s.PrepRecv(fd, buf, flags)
	s.IoPrio |= RecvMultishot
}

// PrepRecvmsg prepares a recvmsg into msg, as io_uring_prep_recvmsg (IORING_OP_RECVMSG, 5.3).
func (s *SQE) PrepRecvmsg(fd int, msg *unix.Msghdr, flags int) {
	s.prepRW(OpRecvmsg, fd, addrOf(unsafe.Pointer(msg)), 1, 0)
	s.OpFlags = uint32(flags)
}

// PrepSend prepares a send of buf, as io_uring_prep_send (IORING_OP_SEND, 5.6). res may be a
// short count: send the rest.
func (s *SQE) PrepSend(fd int, buf []byte, flags int) {
	s.prepRW(OpSend, fd, bufAddr(buf), uint32(len(buf)), 0)
	s.OpFlags = uint32(flags)
}

// PrepSendZC prepares a zero-copy send of buf, as io_uring_prep_send_zc (IORING_OP_SEND_ZC,
// 6.0). zcFlags are IoPrio flags (SendZCReportUsage, RecvsendFixedBuf). It posts two CQEs with
// the same user data: the result (with CQEFMore when a notification follows) and then the
// notification (CQEFNotif): buf may be reused only after the notification.
func (s *SQE) PrepSendZC(fd int, buf []byte, flags int, zcFlags uint16) {
	s.prepRW(OpSendZC, fd, bufAddr(buf), uint32(len(buf)), 0)
	s.OpFlags = uint32(flags)
	s.IoPrio = zcFlags
}

// PrepSendmsg prepares a sendmsg of msg (vectored, ancillary data), as io_uring_prep_sendmsg
// (IORING_OP_SENDMSG, 5.3). msg, its iovecs and buffers must stay valid until the CQE.
func (s *SQE) PrepSendmsg(fd int, msg *unix.Msghdr, flags int) {
	s.prepRW(OpSendmsg, fd, addrOf(unsafe.Pointer(msg)), 1, 0)
	s.OpFlags = uint32(flags)
}

// PrepSendmsgZC is PrepSendmsg with zero copy and a notification CQE (see PrepSendZC), as
// io_uring_prep_sendmsg_zc (IORING_OP_SENDMSG_ZC, 6.1).
func (s *SQE) PrepSendmsgZC(fd int, msg *unix.Msghdr, flags int) {
	s.PrepSendmsg(fd, msg, flags)
	s.Opcode = OpSendmsgZC
}

// PrepShutdown prepares shutdown(fd, how), as io_uring_prep_shutdown (IORING_OP_SHUTDOWN, 5.11).
func (s *SQE) PrepShutdown(fd int, how int) {
	s.prepRW(OpShutdown, fd, 0, uint32(how), 0)
}
