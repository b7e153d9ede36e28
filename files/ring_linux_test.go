package files

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/uring"
)

// TestRingExecutor runs the static-file table, the traversal battery and the
// changed-while-cached cases with every Op performed through io_uring
// (IORING_OP_OPENAT2, STATX, READ), as the uring engine does, so the ring's
// semantics (RESOLVE_BENEATH, O_NONBLOCK opens, statx flags) are the ones
// tested. It skips when the kernel lacks io_uring or one of those ops.
func TestRingExecutor(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ring, err := uring.NewRing(16, nil)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	defer ring.Close()
	probe, err := ring.Probe()
	if err != nil {
		t.Skipf("io_uring probe: %v", err)
	}
	for _, op := range []uring.Op{uring.OpOpenat2, uring.OpStatx, uring.OpRead} {
		if !probe.Supported(op) {
			t.Skipf("io_uring lacks opcode %d", op)
		}
	}
	execOp = func(t testing.TB, op *httpcore.Op) {
		if op.Kind == httpcore.OpFunc {
			op.Func()
			return
		}
		sqe := ring.GetSQE()
		how := &uring.OpenHow{Flags: op.Flags, Mode: op.Mode, Resolve: op.Resolve}
		switch op.Kind {
		case httpcore.OpOpenat2:
			sqe.PrepOpenat2(int(op.Fd), op.Path, how)
		case httpcore.OpStatx:
			flags := int(op.Mode)
			if len(op.Path) == 0 || op.Path[0] == 0 {
				flags |= unix.AT_EMPTY_PATH
			}
			sqe.PrepStatx(int(op.Fd), op.Path, flags, uint32(op.Flags), (*unix.Statx_t)(unsafe.Pointer(&op.Buf[0])))
		case httpcore.OpRead:
			buf := op.Buf
			if maxRead > 0 && len(buf) > maxRead {
				buf = buf[:maxRead]
			}
			sqe.PrepRead(int(op.Fd), buf, op.Off)
		default:
			t.Fatalf("op kind %d", op.Kind)
		}
		// A signal (Go's preemption) can end the wait after the submit and
		// before the completion: wait again until it is there, so that no
		// completion is ever taken for the next op's.
		var cqe *uring.CQE
		for tries := 0; cqe == nil; tries++ {
			if _, err := ring.SubmitAndWait(1); err != nil {
				t.Fatalf("submit: %v", err)
			}
			if cqe = ring.PeekCQE(); cqe == nil && tries > 1000 {
				t.Fatalf("no completion")
			}
		}
		op.Res = cqe.Res
		ring.CQESeen()
		runtime.KeepAlive(how)
	}
	defer func() { execOp = runOp }()
	// The subtests run one at a time on this (locked) goroutine's ring.
	t.Run("static", testStaticFiles)
	t.Run("traversal", testTraversal)
	t.Run("changed", testChangedWhileCached)
}
