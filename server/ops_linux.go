package server

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// runOp performs op with blocking system calls and stores its result in
// op.Res (-errno on failure). Helper goroutines only.
func runOp(op *httpcore.Op) {
	switch op.Kind {
	case httpcore.OpOpenat2:
		how := unix.OpenHow{Flags: op.Flags, Mode: op.Mode, Resolve: op.Resolve}
		op.Res = sysRes(unix.Syscall6(unix.SYS_OPENAT2, uintptr(op.Fd), pathPtr(op.Path),
			uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0))
	case httpcore.OpStatx:
		if len(op.Buf) < int(unsafe.Sizeof(unix.Statx_t{})) {
			op.Res = -int32(unix.EINVAL)
			return
		}
		flags := uintptr(op.Mode)
		if len(op.Path) == 0 || op.Path[0] == 0 {
			flags |= unix.AT_EMPTY_PATH
		}
		r := sysRes(unix.Syscall6(unix.SYS_STATX, uintptr(op.Fd), pathPtr(op.Path), flags,
			uintptr(op.Flags), uintptr(unsafe.Pointer(&op.Buf[0])), 0))
		if r > 0 {
			r = 0
		}
		op.Res = r
	case httpcore.OpRead:
		if len(op.Buf) == 0 {
			op.Res = 0
			return
		}
		op.Res = sysRes(unix.Syscall6(unix.SYS_PREAD64, uintptr(op.Fd),
			uintptr(unsafe.Pointer(&op.Buf[0])), uintptr(len(op.Buf)), uintptr(op.Off), 0, 0))
	case httpcore.OpFunc:
		if op.Func != nil {
			op.Func()
		}
		op.Res = 0
	default:
		op.Res = -int32(unix.EINVAL)
	}
}

// emptyPath is the NUL-terminated empty path.
var emptyPath = []byte{0}

// pathPtr returns a pointer to the NUL-terminated path p ("" when empty).
// A path without its NUL is replaced by a path the kernel rejects (the
// kernel must never read past the slice).
func pathPtr(p []byte) uintptr {
	return uintptr(unsafe.Pointer(&terminated(p)[0]))
}

// terminated returns p when it ends in NUL, emptyPath when it is empty,
// and otherwise badPath, so the kernel never reads past the slice.
func terminated(p []byte) []byte {
	if len(p) == 0 {
		return emptyPath
	}
	if p[len(p)-1] != 0 {
		return badPath
	}
	return p
}

// badPath is a path no file system has (a component longer than NAME_MAX),
// used for paths handed over without their NUL: the call fails with
// ENAMETOOLONG.
var badPath = append(bytes.Repeat([]byte{'x'}, 299), 0)

// sysRes turns a raw system call result into a Res value.
func sysRes(r1, _ uintptr, errno unix.Errno) int32 {
	if errno != 0 {
		return -int32(errno)
	}
	return int32(r1)
}
