package uring

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// File prep helpers. Buffers, iovecs, paths and result structs are used by the kernel until
// the CQE: keep them outside the Go heap (MapMemory) or reachable and unmoved until then.

// cstr returns the address of a NUL-terminated path. It panics when path does not end in NUL:
// the kernel would read past the slice.
func cstr(path []byte) uintptr {
	if len(path) == 0 || path[len(path)-1] != 0 {
		panic("uring: path must end with a NUL byte")
	}
	return bufAddr(path)
}

// PrepRead prepares a read of len(buf) bytes at offset (-1: the current position, with
// FeatRWCurPos), as io_uring_prep_read (IORING_OP_READ, 5.6). A short read (res < len(buf))
// counts as a failure for an SQEIOLink chain: the linked requests complete with -ECANCELED.
func (s *SQE) PrepRead(fd int, buf []byte, offset int64) {
	s.prepRW(OpRead, fd, bufAddr(buf), uint32(len(buf)), uint64(offset))
}

// PrepWrite prepares a write of buf at offset, as io_uring_prep_write (IORING_OP_WRITE, 5.6).
func (s *SQE) PrepWrite(fd int, buf []byte, offset int64) {
	s.prepRW(OpWrite, fd, bufAddr(buf), uint32(len(buf)), uint64(offset))
}

// PrepReadv prepares a vectored read, as io_uring_prep_readv (IORING_OP_READV, 5.1).
func (s *SQE) PrepReadv(fd int, iovecs []unix.Iovec, offset int64) {
	s.prepRW(OpReadv, fd, addrOf(unsafe.Pointer(unsafe.SliceData(iovecs))), uint32(len(iovecs)), uint64(offset))
}

// PrepWritev prepares a vectored write, as io_uring_prep_writev (IORING_OP_WRITEV, 5.1).
func (s *SQE) PrepWritev(fd int, iovecs []unix.Iovec, offset int64) {
	s.prepRW(OpWritev, fd, addrOf(unsafe.Pointer(unsafe.SliceData(iovecs))), uint32(len(iovecs)), uint64(offset))
}

// PrepReadFixed prepares a read into buf, which lies inside registered buffer bufIndex
// (RegisterBuffers), as io_uring_prep_read_fixed (IORING_OP_READ_FIXED, 5.1).
func (s *SQE) PrepReadFixed(fd int, buf []byte, offset int64, bufIndex uint16) {
	s.prepRW(OpReadFixed, fd, bufAddr(buf), uint32(len(buf)), uint64(offset))
	s.BufIndex = bufIndex
}

// PrepWriteFixed prepares a write from buf inside registered buffer bufIndex, as
// io_uring_prep_write_fixed (IORING_OP_WRITE_FIXED, 5.1).
func (s *SQE) PrepWriteFixed(fd int, buf []byte, offset int64, bufIndex uint16) {
	s.prepRW(OpWriteFixed, fd, bufAddr(buf), uint32(len(buf)), uint64(offset))
	s.BufIndex = bufIndex
}

// PrepOpenat2 prepares openat2(dfd, path, how), as io_uring_prep_openat2 (IORING_OP_OPENAT2,
// 5.6). path must end with a NUL byte. With how.Resolve = RESOLVE_BENEATH an escape from dfd
// fails with -EXDEV. res is the new fd.
func (s *SQE) PrepOpenat2(dfd int, path []byte, how *OpenHow) {
	s.prepRW(OpOpenat2, dfd, cstr(path), uint32(unsafe.Sizeof(OpenHow{})), uint64(addrOf(unsafe.Pointer(how))))
}

// PrepOpenat2Direct is PrepOpenat2 installing the file in fixed file slot fileIndex (or
// FileIndexAlloc) instead of the fd table, as io_uring_prep_openat2_direct (5.15; alloc 5.19).
func (s *SQE) PrepOpenat2Direct(dfd int, path []byte, how *OpenHow, fileIndex uint32) {
	s.PrepOpenat2(dfd, path, how)
	s.setTargetFixedFile(fileIndex)
}

// PrepStatx prepares statx(dfd, path, flags, mask, st), as io_uring_prep_statx
// (IORING_OP_STATX, 5.6). path must end with NUL; with flags AT_EMPTY_PATH and path "\x00" it
// stats dfd itself. The kernel writes *st when the request runs.
func (s *SQE) PrepStatx(dfd int, path []byte, flags int, mask uint32, st *unix.Statx_t) {
	s.prepRW(OpStatx, dfd, cstr(path), mask, uint64(addrOf(unsafe.Pointer(st))))
	s.OpFlags = uint32(flags)
}

// PrepClose prepares close(fd), as io_uring_prep_close (IORING_OP_CLOSE, 5.6).
func (s *SQE) PrepClose(fd int) { s.prepRW(OpClose, fd, 0, 0, 0) }

// PrepCloseDirect prepares the removal of fixed file slot fileIndex, as
// io_uring_prep_close_direct (5.15).
func (s *SQE) PrepCloseDirect(fileIndex uint32) {
	s.prepRW(OpClose, 0, 0, 0, 0)
	s.setTargetFixedFile(fileIndex)
}

// PrepSplice prepares splice(fdIn, offIn, fdOut, offOut, n, flags), as io_uring_prep_splice
// (IORING_OP_SPLICE, 5.7). An offset of -1 means "no offset" (required for a pipe end). Add
// SpliceFFdInFixed to flags when fdIn is a fixed file slot (SQEFixedFile covers fdOut).
// Link two splices (file->pipe, pipe->socket) with SQEIOLink to move file data to a socket.
func (s *SQE) PrepSplice(fdIn int, offIn int64, fdOut int, offOut int64, n uint32, flags uint32) {
	s.prepRW(OpSplice, fdOut, 0, n, uint64(offOut))
	s.Addr = uint64(offIn)
	s.FileIndex = uint32(int32(fdIn))
	s.OpFlags = flags
}
