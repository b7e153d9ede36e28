package uring

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// waitLimit bounds every wait in the tests: a kernel that never answers fails the test
// instead of hanging it.
const waitLimit = 5 * time.Second

// lockThread pins the test goroutine to its OS thread for the test's duration, as the ring's
// threading contract requires.
func lockThread(t testing.TB) {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}

// kernelVersion returns the running kernel's major and minor version.
func kernelVersion(t testing.TB) (int, int) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := string(u.Release[:bytes.IndexByte(u.Release[:], 0)])
	parts := strings.SplitN(rel, ".", 3)
	major, _ := strconv.Atoi(parts[0])
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	}
	return major, minor
}

// requireKernel skips the test on kernels older than major.minor, naming the feature.
func requireKernel(t testing.TB, major, minor int, feature string) {
	t.Helper()
	ma, mi := kernelVersion(t)
	if ma < major || ma == major && mi < minor {
		t.Skipf("%s needs Linux %d.%d; this kernel is %d.%d", feature, major, minor, ma, mi)
	}
}

// newTestRing locks the thread and creates a ring closed at cleanup; it skips when the kernel
// rejects the flags with EINVAL (too old for them).
func newTestRing(t testing.TB, entries uint32, p *Params) *Ring {
	t.Helper()
	lockThread(t)
	r, err := NewRing(entries, p)
	if err != nil {
		if errors.Is(err, unix.EINVAL) && p != nil && p.Flags != 0 {
			t.Skipf("kernel rejects setup flags %v: %v", SetupFlagNames(p.Flags), err)
		}
		t.Fatalf("NewRing: %v (%s)", err, SetupErrorCause(err))
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// requireOps skips the test when the probe says the kernel lacks one of ops.
func requireOps(t testing.TB, r *Ring, ops ...Op) {
	t.Helper()
	p, err := r.Probe()
	if err != nil {
		t.Skipf("IORING_REGISTER_PROBE unavailable (%v): kernel older than 5.6", err)
	}
	for _, op := range ops {
		if !p.Supported(op) {
			t.Skipf("kernel lacks IORING_OP_%s", op)
		}
	}
}

// reap submits what is queued and collects exactly n CQEs (copies), failing after waitLimit.
// It works on kernels without EXT_ARG by polling.
func reap(t testing.TB, r *Ring, n int) []CQE {
	t.Helper()
	out := make([]CQE, 0, n)
	deadline := time.Now().Add(waitLimit)
	var batch [16]*CQE
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d CQEs after %v: %+v", len(out), n, waitLimit, out)
		}
		if r.Features()&FeatExtArg != 0 {
			_, err := r.SubmitAndWaitTimeout(1, 100*time.Millisecond)
			if err != nil && !errors.Is(err, ErrTimeout) {
				t.Fatalf("SubmitAndWaitTimeout: %v", err)
			}
		} else {
			if _, err := r.SubmitAndGetEvents(); err != nil {
				t.Fatalf("SubmitAndGetEvents: %v", err)
			}
			if r.CQReady() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		for {
			k := r.PeekBatch(batch[:min(len(batch), n-len(out))])
			if k == 0 {
				break
			}
			for _, c := range batch[:k] {
				out = append(out, *c)
			}
			r.CQAdvance(uint32(k))
			if len(out) >= n {
				break
			}
		}
	}
	return out
}

// expectNoCQE asserts that no CQE arrives within d.
func expectNoCQE(t testing.TB, r *Ring, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := r.SubmitAndGetEvents(); err != nil {
			t.Fatal(err)
		}
		if c := r.PeekCQE(); c != nil {
			t.Fatalf("unexpected CQE %+v", *c)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mustSQE returns a SQE or fails.
func mustSQE(t testing.TB, r *Ring) *SQE {
	t.Helper()
	s := r.GetSQE()
	if s == nil {
		t.Fatal("GetSQE: SQ full")
	}
	return s
}

// setTimeouts bounds blocking reads and writes on fd, so a missing message fails the test.
func setTimeouts(t testing.TB, fd int) {
	t.Helper()
	tv := unix.NsecToTimeval(int64(waitLimit))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
}

// listenTCP opens a blocking loopback listener and returns its fd and port.
func listenTCP(t testing.TB) (int, int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// dialTCP connects a blocking socket to 127.0.0.1:port; closed at cleanup.
func dialTCP(t testing.TB, port int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	setTimeouts(t, fd)
	err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	for err == unix.EINTR { // Go's preemption signals interrupt blocking syscalls
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
		if err == unix.EISCONN {
			err = nil
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// tcpPair returns two connected loopback TCP sockets (blocking, with I/O timeouts).
func tcpPair(t testing.TB) (int, int) {
	t.Helper()
	ln, port := listenTCP(t)
	a := dialTCP(t, port)
	b, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	for err == unix.EINTR {
		b, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(b) })
	setTimeouts(t, b)
	return a, b
}

// readFull reads exactly n bytes from fd (blocking, bounded by the socket timeouts).
func readFull(t testing.TB, fd int, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	for got := 0; got < n; {
		k, err := unix.Read(fd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || k == 0 {
			t.Fatalf("read after %d of %d bytes: %v (n=%d)", got, n, err, k)
		}
		got += k
	}
	return buf
}

// mapped returns n bytes of memory outside the Go heap, unmapped at cleanup.
func mapped(t testing.TB, n int) []byte {
	t.Helper()
	b, err := MapMemory(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { UnmapMemory(b) })
	return b
}

// unsafePointer converts a sockaddr pointer for reinterpretation in tests.
func unsafePointer(p *unix.RawSockaddrAny) unsafe.Pointer { return unsafe.Pointer(p) }

// writeAll writes b to fd, retrying EINTR and short writes.
func writeAll(t testing.TB, fd int, b []byte) {
	t.Helper()
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		b = b[n:]
	}
}

// flagsName names a set of setup flags for a subtest.
func flagsName(flags uint32) string {
	if flags == 0 {
		return "none"
	}
	return strings.Join(SetupFlagNames(flags), "|")
}
