package uring

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMsgRingSameThread(t *testing.T) {
	requireKernel(t, 5, 18, "MSG_RING")
	tests := []struct {
		name        string
		targetFlags uint32
		kernel      [2]int
	}{
		{"plain-target", 0, [2]int{5, 18}},
		{"defer-taskrun-target", SetupSingleIssuer | SetupDeferTaskrun, [2]int{6, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireKernel(t, tt.kernel[0], tt.kernel[1], tt.name)
			src := newTestRing(t, 8, nil)
			requireOps(t, src, OpMsgRing)
			dst := newTestRing(t, 8, &Params{Flags: tt.targetFlags})
			s := mustSQE(t, src)
			s.PrepMsgRing(dst.Fd(), 42, 0xabc, 0)
			s.SetData(1)
			if c := reap(t, src, 1)[0]; c.UserData != 1 || c.Res != 0 {
				t.Fatalf("sender CQE %+v", c)
			}
			if c := reap(t, dst, 1)[0]; c.UserData != 0xabc || c.Res != 42 {
				t.Fatalf("target CQE %+v", c)
			}
		})
	}
}

// TestMsgRingAcrossThreads wakes a ring sleeping in io_uring_enter on another locked thread:
// the way one worker hands work to another.
func TestMsgRingAcrossThreads(t *testing.T) {
	requireKernel(t, 5, 18, "MSG_RING")
	type result struct {
		ud  uint64
		res int32
		err string
	}
	fdc := make(chan int, 1)
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, _, err := NewRingBest(8, nil)
		if err != nil {
			fdc <- -1
			done <- result{err: err.Error()}
			return
		}
		defer r.Close()
		fdc <- r.Fd()
		deadline := time.Now().Add(waitLimit)
		for time.Now().Before(deadline) {
			var c *CQE
			if r.Features()&FeatExtArg != 0 {
				c, _ = r.WaitCQETimeout(100 * time.Millisecond)
			} else {
				r.SubmitAndGetEvents()
				c = r.PeekCQE()
				time.Sleep(time.Millisecond)
			}
			if c != nil {
				done <- result{ud: c.UserData, res: c.Res}
				r.CQESeen()
				return
			}
		}
		done <- result{err: "no CQE before the deadline"}
	}()
	target := <-fdc
	src := newTestRing(t, 8, nil)
	requireOps(t, src, OpMsgRing)
	if target < 0 {
		t.Fatal((<-done).err)
	}
	time.Sleep(10 * time.Millisecond) // let the target fall asleep in io_uring_enter
	s := mustSQE(t, src)
	s.PrepMsgRing(target, 7, 0x5eed, 0)
	if c := reap(t, src, 1)[0]; c.Res != 0 {
		t.Fatalf("sender CQE %+v (%v)", c, unix.Errno(-c.Res))
	}
	got := <-done
	if got.err != "" || got.ud != 0x5eed || got.res != 7 {
		t.Fatalf("target saw %+v", got)
	}
}
