package uring

import (
	"errors"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCQOverflowFlushed(t *testing.T) {
	tests := []struct {
		name  string
		flags uint32
	}{{"plain", 0}, {"defer-taskrun", SetupSingleIssuer | SetupDeferTaskrun}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 4, &Params{Flags: tt.flags}) // CQ of 8
			if r.Features()&FeatNoDrop == 0 {
				t.Skip("kernel lacks IORING_FEAT_NODROP (5.5): overflowed CQEs are dropped")
			}
			const total = 40
			for i := 0; i < total; {
				for r.SQSpaceLeft() > 0 && i < total {
					s := mustSQE(t, r)
					s.PrepNop()
					s.SetData(uint64(i))
					i++
				}
				// Old kernels refuse new submissions while the overflow list is not empty
				// (EBUSY); that is a stop signal here, not a failure.
				if _, err := r.Submit(); errors.Is(err, unix.EBUSY) {
					t.Logf("EBUSY after %d submissions", i)
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			submitted := int(atomic.LoadUint32(r.sq.khead)) // SQEs the kernel consumed
			if r.CQReady() != r.CQEntries() {
				t.Fatalf("CQReady %d, want a full CQ of %d", r.CQReady(), r.CQEntries())
			}
			if r.sqFlags()&SQCQOverflow == 0 {
				t.Fatal("IORING_SQ_CQ_OVERFLOW not set with more completions than CQ slots")
			}
			// Reaping with PeekBatch alone must surface every completion: it flushes the
			// overflow list when the CQ runs dry.
			seen := make([]bool, total)
			var batch [8]*CQE
			count := 0
			for {
				n := r.PeekBatch(batch[:])
				if n == 0 {
					break
				}
				for _, c := range batch[:n] {
					if c.UserData >= total || seen[c.UserData] || c.Res != 0 {
						t.Fatalf("bad or duplicate CQE %+v", *c)
					}
					seen[c.UserData] = true
				}
				r.CQAdvance(uint32(n))
				count += n
			}
			if tt.flags&SetupDeferTaskrun != 0 {
				// Deferred task work needs GETEVENTS; NOPs complete inline, so nothing more
				// may be pending, but enter once to prove it.
				if _, err := r.SubmitAndGetEvents(); err != nil {
					t.Fatal(err)
				}
				count += len(reapReady(r, seen))
			}
			if count != submitted {
				t.Fatalf("reaped %d of %d completions", count, submitted)
			}
			if r.CQOverflow() != 0 {
				t.Fatalf("kernel dropped %d CQEs", r.CQOverflow())
			}
			if r.sqFlags()&SQCQOverflow != 0 {
				t.Fatal("overflow flag still set after draining")
			}
		})
	}
}

// reapReady consumes the CQEs already in the CQ, marking their user data.
func reapReady(r *Ring, seen []bool) []CQE {
	var out []CQE
	for c := r.PeekCQE(); c != nil; c = r.PeekCQE() {
		out = append(out, *c)
		seen[c.UserData] = true
		r.CQESeen()
	}
	return out
}
