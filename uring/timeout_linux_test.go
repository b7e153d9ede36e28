package uring

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pendingRecv queues a recv that stays pending (no data comes) on a fresh socket pair and
// returns the socket and the SQE.
func pendingRecv(t *testing.T, r *Ring, ud uint64) (int, *SQE) {
	t.Helper()
	_, b := tcpPair(t)
	mem := mapped(t, 64)
	s := mustSQE(t, r)
	s.PrepRecv(b, mem, 0)
	s.SetData(ud)
	return b, s
}

func TestTimeoutsAndCancel(t *testing.T) {
	etime, ecanceled, enoent := -int32(unix.ETIME), -int32(unix.ECANCELED), -int32(unix.ENOENT)
	tests := []struct {
		name   string
		kernel [2]int
		ops    []Op
		// queue prepares SQEs; want maps user data to the expected res of its CQE.
		queue func(t *testing.T, r *Ring)
		want  map[uint64]int32
	}{
		{
			name: "timeout-expires", kernel: [2]int{5, 4}, ops: []Op{OpTimeout},
			queue: func(t *testing.T, r *Ring) {
				s := mustSQE(t, r)
				s.PrepTimeout(&Timespec{Nsec: 5e6}, 0, 0)
				s.SetData(1)
			},
			want: map[uint64]int32{1: etime},
		},
		{
			name: "timeout-count-completes", kernel: [2]int{5, 4}, ops: []Op{OpTimeout},
			queue: func(t *testing.T, r *Ring) {
				s := mustSQE(t, r)
				s.PrepTimeout(&Timespec{Sec: 30}, 1, 0)
				s.SetData(1)
				s = mustSQE(t, r)
				s.PrepNop()
				s.SetData(2)
			},
			want: map[uint64]int32{1: 0, 2: 0},
		},
		{
			name: "timeout-remove", kernel: [2]int{5, 5}, ops: []Op{OpTimeout, OpTimeoutRemove},
			queue: func(t *testing.T, r *Ring) {
				s := mustSQE(t, r)
				s.PrepTimeout(&Timespec{Sec: 30}, 0, 0)
				s.SetData(1)
				s = mustSQE(t, r)
				s.PrepTimeoutRemove(1, 0)
				s.SetData(2)
			},
			want: map[uint64]int32{1: ecanceled, 2: 0},
		},
		{
			name: "timeout-update", kernel: [2]int{5, 11}, ops: []Op{OpTimeout, OpTimeoutRemove},
			queue: func(t *testing.T, r *Ring) {
				s := mustSQE(t, r)
				s.PrepTimeout(&Timespec{Sec: 30}, 0, 0)
				s.SetData(1)
				s = mustSQE(t, r)
				s.PrepTimeoutUpdate(&Timespec{Nsec: 1e6}, 1, 0)
				s.SetData(2)
			},
			want: map[uint64]int32{1: etime, 2: 0},
		},
		{
			name: "link-timeout-cancels-recv", kernel: [2]int{5, 5}, ops: []Op{OpRecv, OpLinkTimeout},
			queue: func(t *testing.T, r *Ring) {
				_, recv := pendingRecv(t, r, 1)
				recv.SetFlags(SQEIOLink)
				s := mustSQE(t, r)
				s.PrepLinkTimeout(&Timespec{Nsec: 10e6}, 0)
				s.SetData(2)
			},
			want: map[uint64]int32{1: ecanceled, 2: etime},
		},
		{
			name: "link-timeout-not-needed", kernel: [2]int{5, 5}, ops: []Op{OpLinkTimeout},
			queue: func(t *testing.T, r *Ring) {
				s := mustSQE(t, r)
				s.PrepNop()
				s.SetFlags(SQEIOLink)
				s.SetData(1)
				s = mustSQE(t, r)
				s.PrepLinkTimeout(&Timespec{Sec: 30}, 0)
				s.SetData(2)
			},
			want: map[uint64]int32{1: 0, 2: ecanceled},
		},
		{
			name: "cancel-by-user-data", kernel: [2]int{5, 5}, ops: []Op{OpRecv, OpAsyncCancel},
			queue: func(t *testing.T, r *Ring) {
				pendingRecv(t, r, 1)
				s := mustSQE(t, r)
				s.PrepCancel64(1, 0)
				s.SetData(2)
			},
			want: map[uint64]int32{1: ecanceled, 2: 0},
		},
		{
			name: "cancel-missing", kernel: [2]int{5, 5}, ops: []Op{OpAsyncCancel},
			queue: func(t *testing.T, r *Ring) {
				s := mustSQE(t, r)
				s.PrepCancel64(12345, 0)
				s.SetData(2)
			},
			want: map[uint64]int32{2: enoent},
		},
		{
			name: "cancel-fd-all", kernel: [2]int{5, 19}, ops: []Op{OpRecv, OpAsyncCancel},
			queue: func(t *testing.T, r *Ring) {
				fd, _ := pendingRecv(t, r, 1)
				mem := mapped(t, 64)
				s := mustSQE(t, r)
				s.PrepRecv(fd, mem, 0)
				s.SetData(3)
				if _, err := r.Submit(); err != nil { // both armed before the cancel
					t.Fatal(err)
				}
				s = mustSQE(t, r)
				s.PrepCancelFd(fd, CancelAll)
				s.SetData(2)
			},
			want: map[uint64]int32{1: ecanceled, 3: ecanceled, 2: 2},
		},
		{
			name: "cancel-any", kernel: [2]int{5, 19}, ops: []Op{OpRecv, OpPollAdd, OpAsyncCancel},
			queue: func(t *testing.T, r *Ring) {
				pendingRecv(t, r, 1)
				var p [2]int
				must(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
				t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
				s := mustSQE(t, r)
				s.PrepPollAdd(p[0], unix.POLLIN)
				s.SetData(3)
				if _, err := r.Submit(); err != nil {
					t.Fatal(err)
				}
				s = mustSQE(t, r)
				s.PrepCancelAny()
				s.SetData(2)
			},
			want: map[uint64]int32{1: ecanceled, 3: ecanceled, 2: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireKernel(t, tt.kernel[0], tt.kernel[1], tt.name)
			r := newTestRing(t, 16, nil)
			requireOps(t, r, tt.ops...)
			tt.queue(t, r)
			got := map[uint64]int32{}
			for _, c := range reap(t, r, len(tt.want)) {
				if _, dup := got[c.UserData]; dup {
					t.Fatalf("two CQEs for %d", c.UserData)
				}
				got[c.UserData] = c.Res
			}
			for ud, res := range tt.want {
				if got[ud] != res {
					t.Errorf("user data %d: res %d, want %d (all: %v)", ud, got[ud], res, got)
				}
			}
		})
	}
}

func TestMultishotTimeout(t *testing.T) {
	requireKernel(t, 6, 4, "multishot timeouts")
	r := newTestRing(t, 8, nil)
	s := mustSQE(t, r)
	s.PrepTimeout(&Timespec{Nsec: 2e6}, 3, TimeoutMultishot)
	s.SetData(9)
	cqes := reap(t, r, 3)
	for i, c := range cqes {
		if c.UserData != 9 || c.Res != -int32(unix.ETIME) || c.More() != (i < 2) {
			t.Fatalf("firing %d: %+v", i, c)
		}
	}
}

func TestWaitTimeouts(t *testing.T) {
	for _, flags := range []uint32{0, SetupSingleIssuer | SetupDeferTaskrun} {
		t.Run(flagsName(flags), func(t *testing.T) { waitTimeouts(t, flags) })
	}
}

func waitTimeouts(t *testing.T, flags uint32) {
	r := newTestRing(t, 8, &Params{Flags: flags})
	if r.Features()&FeatExtArg == 0 {
		if _, err := r.SubmitAndWaitTimeout(1, time.Millisecond); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("without EXT_ARG: %v, want ErrUnsupported", err)
		}
		t.Skip("kernel lacks IORING_FEAT_EXT_ARG (5.11)")
	}
	const d = 20 * time.Millisecond
	start := time.Now()
	n, err := r.SubmitAndWaitTimeout(1, d)
	if n != 0 || !errors.Is(err, ErrTimeout) || !errors.Is(err, unix.ETIME) {
		t.Fatalf("empty wait = %d, %v; want ErrTimeout", n, err)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("returned after %v, before the %v timeout", el, d)
	}
	if c, err := r.WaitCQETimeout(d); c != nil || !errors.Is(err, ErrTimeout) {
		t.Fatalf("WaitCQETimeout on an empty ring = %v, %v", c, err)
	}
	// With work queued, the wait returns the submitted count and the CQE is there.
	s := mustSQE(t, r)
	s.PrepNop()
	s.SetData(3)
	if n, err := r.SubmitAndWaitTimeout(1, waitLimit); n != 1 || err != nil {
		t.Fatalf("SubmitAndWaitTimeout = %d, %v", n, err)
	}
	c, err := r.WaitCQETimeout(waitLimit)
	if err != nil || c.UserData != 3 {
		t.Fatalf("WaitCQETimeout = %+v, %v", c, err)
	}
	r.CQESeen()
	// A blocking WaitCQE returns a CQE that a timeout posts.
	s = mustSQE(t, r)
	s.PrepTimeout(&Timespec{Nsec: 1e6}, 0, 0)
	s.SetData(4)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	c, err = r.WaitCQE()
	if err != nil || c.UserData != 4 || c.Res != -int32(unix.ETIME) {
		t.Fatalf("WaitCQE = %+v, %v", c, err)
	}
	r.CQESeen()
	// Idle timed waits allocate nothing.
	if a := testing.AllocsPerRun(20, func() { r.SubmitAndWaitTimeout(1, time.Microsecond) }); a != 0 {
		t.Fatalf("timed-out wait allocates %v", a)
	}
}

// TestWaitsSurviveSignals interrupts waits with signals (as Go's preemption and profilers do):
// a timed wait still lasts its full time and no longer, a blocking wait still returns its CQE.
func TestWaitsSurviveSignals(t *testing.T) {
	r := newTestRing(t, 8, nil)
	if r.Features()&FeatExtArg == 0 {
		t.Skip("kernel lacks IORING_FEAT_EXT_ARG (5.11)")
	}
	tid := unix.Gettid()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				unix.Tgkill(unix.Getpid(), tid, unix.SIGURG) // Go ignores a stray SIGURG
			}
		}
	}()
	defer func() { close(stop); <-done }()

	const d = 100 * time.Millisecond
	start := time.Now()
	if _, err := r.SubmitAndWaitTimeout(1, d); !errors.Is(err, ErrTimeout) {
		t.Fatalf("timed wait under signals: %v", err)
	}
	if el := time.Since(start); el < d || el > 50*d {
		t.Fatalf("timed wait of %v took %v under signals", d, el)
	}
	s := mustSQE(t, r)
	s.PrepTimeout(&Timespec{Nsec: int64(50 * time.Millisecond)}, 0, 0)
	s.SetData(8)
	if _, err := r.SubmitAndWait(1); err != nil {
		t.Fatal(err)
	}
	c, err := r.WaitCQE() // SubmitAndWait may return early on a signal: WaitCQE loops
	if err != nil || c.UserData != 8 || c.Res != -int32(unix.ETIME) {
		t.Fatalf("WaitCQE under signals = %+v, %v", c, err)
	}
	r.CQESeen()
}
