package uring

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nopRoundTrip proves a ring works: one NOP in, its CQE out.
func nopRoundTrip(t *testing.T, r *Ring) {
	t.Helper()
	s := mustSQE(t, r)
	s.PrepNop()
	s.SetData(0xfeed)
	c := reap(t, r, 1)
	if c[0].UserData != 0xfeed || c[0].Res != 0 {
		t.Fatalf("NOP CQE = %+v", c[0])
	}
}

func TestSetupParams(t *testing.T) {
	tests := []struct {
		name       string
		flags      uint32
		cqEntries  uint32
		minKernel  [2]int
		wantCQSize uint32
	}{
		{"default", 0, 0, [2]int{5, 1}, 16},
		{"cqsize", SetupCQSize, 64, [2]int{5, 5}, 64},
		{"coop-taskrun", SetupCoopTaskrun | SetupTaskrunFlag, 0, [2]int{5, 19}, 16},
		{"single-issuer-defer", SetupSingleIssuer | SetupDeferTaskrun, 0, [2]int{6, 1}, 16},
		{"sqe128-cqe32", SetupSQE128 | SetupCQE32, 0, [2]int{5, 19}, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireKernel(t, tt.minKernel[0], tt.minKernel[1], tt.name)
			p := Params{Flags: tt.flags, CQEntries: tt.cqEntries}
			r := newTestRing(t, 8, &p)
			if r.SQEntries() != 8 || p.SQEntries != 8 {
				t.Errorf("SQ entries = %d (params %d), want 8", r.SQEntries(), p.SQEntries)
			}
			if r.CQEntries() != tt.wantCQSize {
				t.Errorf("CQ entries = %d, want %d", r.CQEntries(), tt.wantCQSize)
			}
			if r.Flags()&tt.flags != tt.flags {
				t.Errorf("flags %v lack %v", SetupFlagNames(r.Flags()), SetupFlagNames(tt.flags))
			}
			if r.Features()&FeatSingleMmap == 0 {
				t.Errorf("features %v lack SINGLE_MMAP", FeatureNames(r.Features()))
			}
			ma, mi := kernelVersion(t)
			if (ma > 6 || ma == 6 && mi >= 6) && r.Flags()&SetupNoSQArray == 0 {
				t.Errorf("NO_SQARRAY not used on %d.%d", ma, mi)
			}
			nopRoundTrip(t, r)
		})
	}
}

// fakeSetup returns a sysSetup that answers errno for any flag in reject and otherwise
// calls the real io_uring_setup; it records the flags of each call.
func fakeSetup(t *testing.T, reject uint32, errno unix.Errno, calls *[]uint32) {
	real := sysSetup
	t.Cleanup(func() { sysSetup = real })
	sysSetup = func(entries uint32, p *Params) (int, unix.Errno) {
		*calls = append(*calls, p.Flags)
		if p.Flags&reject != 0 || reject == ^uint32(0) {
			return -1, errno
		}
		return real(entries, p)
	}
}

func TestNewRingBestFallback(t *testing.T) {
	requireKernel(t, 6, 1, "DEFER_TASKRUN")
	tests := []struct {
		name     string
		reject   uint32
		errno    unix.Errno
		wantTier uint32
		wantErr  error
	}{
		{"best", 0, unix.EINVAL, SetupSingleIssuer | SetupDeferTaskrun, nil},
		{"no-defer-taskrun", SetupDeferTaskrun, unix.EINVAL, SetupCoopTaskrun | SetupTaskrunFlag, nil},
		{"no-taskrun-flags", SetupDeferTaskrun | SetupCoopTaskrun, unix.EINVAL, 0, nil},
		{"no-sqarray-missing", SetupNoSQArray, unix.EINVAL, SetupSingleIssuer | SetupDeferTaskrun, nil},
		{"eperm-stops", ^uint32(0), unix.EPERM, 0, unix.EPERM},
		{"einval-everywhere", ^uint32(0), unix.EINVAL, 0, unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lockThread(t)
			saved := noSQArray.Load()
			noSQArray.Store(0)
			t.Cleanup(func() { noSQArray.Store(saved) })
			var calls []uint32
			fakeSetup(t, tt.reject, tt.errno, &calls)
			r, tier, err := NewRingBest(8, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var se *os.SyscallError
				if !errors.As(err, &se) || se.Syscall != "io_uring_setup" {
					t.Errorf("err %v is not an io_uring_setup *os.SyscallError", err)
				}
				if SetupErrorCause(err) == "" {
					t.Errorf("no cause for %v", err)
				}
				if tt.errno == unix.EPERM && len(calls) != 1 {
					t.Errorf("EPERM should stop the fallback; calls %x", calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if tier != tt.wantTier {
				t.Errorf("tier %v, want %v", SetupFlagNames(tier), SetupFlagNames(tt.wantTier))
			}
			if r.Flags()&tt.reject != 0 {
				t.Errorf("ring has rejected flags: %v", SetupFlagNames(r.Flags()))
			}
			if r.Flags()&tier != tier {
				t.Errorf("ring flags %v lack the tier %v", SetupFlagNames(r.Flags()), SetupFlagNames(tier))
			}
			if !r.RingFDRegistered() {
				t.Error("ring fd not registered")
			}
			// Every call tried the best tier first.
			if calls[0]&(SetupSingleIssuer|SetupDeferTaskrun) == 0 {
				t.Errorf("first attempt %v", SetupFlagNames(calls[0]))
			}
			nopRoundTrip(t, r)
		})
	}
}

func TestNewRingBestDeferTaskrunNeedsGetEvents(t *testing.T) {
	requireKernel(t, 6, 1, "DEFER_TASKRUN")
	lockThread(t)
	r, tier, err := NewRingBest(8, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if tier != SetupSingleIssuer|SetupDeferTaskrun {
		t.Fatalf("tier %v on a 6.1+ kernel", SetupFlagNames(tier))
	}
	// A timeout that expires at once completes through task work, which DEFER_TASKRUN runs
	// only on GETEVENTS: plain Submit must not make it visible, SubmitAndGetEvents must.
	ts := &Timespec{Nsec: 1}
	s := mustSQE(t, r)
	s.PrepTimeout(ts, 0, 0)
	s.SetData(7)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	c := reap(t, r, 1) // reap enters with GETEVENTS
	if c[0].UserData != 7 || c[0].Res != -int32(unix.ETIME) {
		t.Fatalf("timeout CQE %+v", c[0])
	}
}

func TestTrySetup(t *testing.T) {
	tests := []struct {
		name    string
		entries uint32
		flags   uint32
		wantErr error
	}{
		{"ok", 4, 0, nil},
		{"zero-entries", 0, 0, unix.EINVAL},
		{"unknown-flag", 4, 1 << 31, unix.EINVAL},
		{"too-many-entries", 1 << 20, 0, unix.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := TrySetup(tt.entries, tt.flags)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("TrySetup(%d, %#x) = %v, want %v", tt.entries, tt.flags, err, tt.wantErr)
			}
			if err == nil && (p.SQEntries != tt.entries || p.Features == 0) {
				t.Errorf("params %+v", p)
			}
			if err != nil && SetupErrorCause(err) == "" {
				t.Errorf("no cause for %v", err)
			}
		})
	}
}

func TestSetupErrorCause(t *testing.T) {
	for _, e := range []unix.Errno{unix.EPERM, unix.ENOSYS, unix.ENOMEM, unix.EINVAL, unix.EMFILE} {
		if SetupErrorCause(os.NewSyscallError("io_uring_setup", e)) == "" {
			t.Errorf("no cause for %v", e)
		}
	}
	if got := SetupErrorCause(errors.New("other")); got != "" {
		t.Errorf("cause for a non-errno error: %q", got)
	}
}

func TestFlagNames(t *testing.T) {
	tests := []struct {
		got, want []string
	}{
		{SetupFlagNames(SetupSingleIssuer | SetupDeferTaskrun), []string{"SINGLE_ISSUER", "DEFER_TASKRUN"}},
		{SetupFlagNames(1 << 31), []string{"0x80000000"}},
		{FeatureNames(FeatSingleMmap | FeatExtArg), []string{"SINGLE_MMAP", "EXT_ARG"}},
		{SetupFlagNames(0), nil},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	lockThread(t)
	r, _, err := NewRingBest(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.SubmitAndGetEvents(); !errors.Is(err, ErrClosed) {
		t.Fatalf("enter after Close: %v", err)
	}
}

func TestSQPoll(t *testing.T) {
	requireKernel(t, 5, 11, "unprivileged SQPOLL")
	r := newTestRing(t, 8, &Params{Flags: SetupSQPoll, SQThreadIdle: 1}) // idle after 1 ms
	for round := 0; round < 3; round++ {
		for i := 0; i < 4; i++ {
			s := mustSQE(t, r)
			s.PrepNop()
			s.SetData(uint64(round*10 + i))
		}
		// Submit alone must get them to the sleeping SQ thread (IORING_ENTER_SQ_WAKEUP);
		// the waits below submit nothing.
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			c, err := r.WaitCQETimeout(waitLimit)
			if err != nil {
				t.Fatalf("round %d: CQE %d: %v (sq flags %#x)", round, i, err, r.sqFlags())
			}
			if c.Res != 0 || c.UserData/10 != uint64(round) {
				t.Fatalf("round %d: CQE %+v", round, *c)
			}
			r.CQESeen()
		}
		// Let the SQ thread fall asleep, so the next round's Submit has to wake it.
		for deadline := time.Now().Add(time.Second); r.sqFlags()&SQNeedWakeup == 0; {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: SQ thread never went to sleep (sq flags %#x)", round, r.sqFlags())
			}
			time.Sleep(time.Millisecond)
		}
	}
}
