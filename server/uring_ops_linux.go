package server

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/uring"
)

// The uring engine's handler ops: OPENAT2, STATX and READ on the ring;
// OpFunc on the helper pool.

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

// readFile reads a file range for c's stage through the ring.
func (l *uringLoop) readFile(c *conn, fd int, bufs [][]byte, vec []unix.Iovec, off int64) (int32, bool) {
	s := l.sqe()
	if len(bufs) == 1 {
		s.PrepRead(fd, bufs[0], off)
	} else {
		for i, b := range bufs {
			vec[i].Base = &b[0]
			vec[i].SetLen(len(b))
		}
		s.PrepReadv(fd, vec, off)
	}
	s.SetData(udPack(ukTLSRead, c.gen, c.slot))
	c.io.inflight++
	return 0, false
}
