package uring

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPoll(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpPollAdd, OpPollRemove)
	var p [2]int
	must(t, unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK))
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })

	s := mustSQE(t, r)
	s.PrepPollAdd(p[0], unix.POLLIN)
	s.SetData(1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	expectNoCQE(t, r, 10*time.Millisecond)
	writeAll(t, p[1], []byte("x"))
	if c := reap(t, r, 1)[0]; c.UserData != 1 || c.Res&unix.POLLIN == 0 || c.More() {
		t.Fatalf("one-shot poll CQE %+v", c)
	}
	var buf [8]byte
	unix.Read(p[0], buf[:])

	requireKernel(t, 5, 13, "multishot poll")
	s = mustSQE(t, r)
	s.PrepPollMultishot(p[0], unix.POLLIN)
	s.SetData(2)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		writeAll(t, p[1], []byte("y"))
		if c := reap(t, r, 1)[0]; c.UserData != 2 || c.Res&unix.POLLIN == 0 || !c.More() {
			t.Fatalf("multishot poll CQE %d: %+v", i, c)
		}
		unix.Read(p[0], buf[:])
	}
	s = mustSQE(t, r)
	s.PrepPollRemove(2)
	s.SetData(3)
	got := map[uint64]CQE{}
	for _, c := range reap(t, r, 2) {
		got[c.UserData] = c
	}
	if got[2].Res != -int32(unix.ECANCELED) || got[2].More() || got[3].Res != 0 {
		t.Fatalf("poll remove CQEs %+v", got)
	}
}

func TestShutdownAndClose(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpShutdown, OpClose)
	a, b := tcpPair(t)
	s := mustSQE(t, r)
	s.PrepShutdown(a, unix.SHUT_WR)
	if c := reap(t, r, 1)[0]; c.Res != 0 {
		t.Fatalf("shutdown CQE %+v", c)
	}
	var buf [4]byte
	n, err := unix.Read(b, buf[:])
	for err == unix.EINTR {
		n, err = unix.Read(b, buf[:])
	}
	if n != 0 || err != nil {
		t.Fatalf("peer read after SHUT_WR = %d, %v; want EOF", n, err)
	}
	fd, err := unix.Dup(b)
	must(t, err)
	s = mustSQE(t, r)
	s.PrepClose(fd)
	if c := reap(t, r, 1)[0]; c.Res != 0 {
		t.Fatalf("close CQE %+v", c)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("fd still open after CLOSE: %v", err)
	}
}

func TestRegisterIOWQMaxWorkers(t *testing.T) {
	requireKernel(t, 5, 15, "IORING_REGISTER_IOWQ_MAX_WORKERS")
	r := newTestRing(t, 4, nil)
	if _, _, err := r.RegisterIOWQMaxWorkers(4, 8); err != nil {
		t.Fatal(err)
	}
	b, u, err := r.RegisterIOWQMaxWorkers(0, 0) // 0: read back without changing
	if err != nil || b != 4 || u != 8 {
		t.Fatalf("max workers = %d, %d, %v; want 4, 8", b, u, err)
	}
}

func TestRegisterRingFD(t *testing.T) {
	requireKernel(t, 5, 18, "IORING_REGISTER_RING_FDS")
	r := newTestRing(t, 4, nil)
	if r.RingFDRegistered() {
		t.Fatal("NewRing registered the ring fd")
	}
	must(t, r.RegisterRingFD())
	if !r.RingFDRegistered() || r.enterFd == r.Fd() {
		t.Fatalf("registered=%v index=%d fd=%d", r.RingFDRegistered(), r.enterFd, r.Fd())
	}
	nopRoundTrip(t, r)
	must(t, r.UnregisterRingFD())
	nopRoundTrip(t, r)
}

func TestFileAllocRange(t *testing.T) {
	requireKernel(t, 6, 0, "IORING_REGISTER_FILE_ALLOC_RANGE")
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpOpenat2)
	must(t, r.RegisterFilesSparse(16))
	must(t, r.RegisterFileAllocRange(10, 2))
	path := []byte("/\x00")
	how := &OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY}
	var slots []int32
	for i := 0; i < 3; i++ {
		s := mustSQE(t, r)
		s.PrepOpenat2Direct(unix.AT_FDCWD, path, how, FileIndexAlloc)
		slots = append(slots, reap(t, r, 1)[0].Res)
	}
	// Two slots in [10, 12), then the range is exhausted.
	if slots[0] < 10 || slots[0] > 11 || slots[1] < 10 || slots[1] > 11 || slots[0] == slots[1] || slots[2] != -int32(unix.ENFILE) {
		t.Fatalf("allocated slots %v, want 10 and 11 then -ENFILE", slots)
	}
	runtimeKeepAlive(path, how)
}

func TestBufRingReregister(t *testing.T) {
	requireKernel(t, 5, 19, "provided-buffer rings")
	r := newTestRing(t, 4, nil)
	br, err := r.NewBufRing(9, 8, 64)
	must(t, err)
	if _, err := r.NewBufRing(9, 8, 64); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second ring for group 9: %v, want EEXIST", err)
	}
	must(t, br.Close())
	br, err = r.NewBufRing(9, 8, 64) // the group is free again after Close
	must(t, err)
	must(t, br.Close())
	must(t, br.Close()) // idempotent
}

func runtimeKeepAlive(v ...any) {
	for _, x := range v {
		runtime.KeepAlive(x)
	}
}
