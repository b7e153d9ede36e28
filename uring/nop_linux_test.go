package uring

import (
	"testing"
	"time"
)

func TestNopBatch(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags uint32
	}{{"plain", 0}, {"defer-taskrun", SetupSingleIssuer | SetupDeferTaskrun}} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 64, &Params{Flags: tt.flags})
			const n = 64
			for i := 0; i < n; i++ {
				s := mustSQE(t, r)
				s.PrepNop()
				s.SetData(uint64(i) | 1<<40)
			}
			if r.GetSQE() != nil {
				t.Fatal("GetSQE returned an entry from a full SQ")
			}
			got, err := r.SubmitAndWait(n)
			if err != nil || got != n {
				t.Fatalf("SubmitAndWait = %d, %v", got, err)
			}
			if r.CQReady() != n {
				t.Fatalf("CQReady = %d after waiting for %d", r.CQReady(), n)
			}
			seen := make([]bool, n)
			var batch [24]*CQE
			for total := 0; total < n; {
				k := r.PeekBatch(batch[:])
				if k == 0 {
					t.Fatalf("PeekBatch empty after %d", total)
				}
				for _, c := range batch[:k] {
					i := c.UserData &^ (1 << 40)
					if c.UserData>>40 != 1 || i >= n || seen[i] || c.Res != 0 {
						t.Fatalf("bad CQE %+v", *c)
					}
					seen[i] = true
				}
				r.CQAdvance(uint32(k))
				total += k
			}
			if r.CQReady() != 0 || r.PeekCQE() != nil {
				t.Fatal("CQ not empty after consuming everything")
			}
		})
	}
}

func TestGetSQEFullAndZeroed(t *testing.T) {
	r := newTestRing(t, 4, nil)
	for round := 0; round < 3; round++ {
		for i := 0; i < 4; i++ {
			s := r.GetSQE()
			if s == nil {
				t.Fatalf("round %d: GetSQE %d = nil", round, i)
			}
			if *s != (SQE{}) {
				t.Fatalf("round %d: SQE %d not zeroed: %+v", round, i, *s)
			}
			s.PrepNop()
			s.SetData(^uint64(0))
			s.Personality = 0 // the slot is dirty now: UserData, Opcode and Fd are set
		}
		if s := r.GetSQE(); s != nil {
			t.Fatalf("round %d: GetSQE on a full SQ returned an entry", round)
		}
		if got := r.SQSpaceLeft(); got != 0 {
			t.Fatalf("SQSpaceLeft = %d on a full SQ", got)
		}
		reap(t, r, 4)
		if got := r.SQSpaceLeft(); got != 4 {
			t.Fatalf("SQSpaceLeft = %d after submit", got)
		}
	}
}

func TestCQESkipSuccess(t *testing.T) {
	requireKernel(t, 5, 17, "IOSQE_CQE_SKIP_SUCCESS")
	r := newTestRing(t, 8, nil)
	s := mustSQE(t, r)
	s.PrepNop()
	s.SetData(1)
	s.SetFlags(SQECQESkipSuccess)
	s = mustSQE(t, r)
	s.PrepNop()
	s.SetData(2)
	c := reap(t, r, 1)
	if c[0].UserData != 2 {
		t.Fatalf("CQE %+v: the skipped NOP posted", c[0])
	}
	expectNoCQE(t, r, 20*time.Millisecond)
}

func TestNopZeroAllocs(t *testing.T) {
	for _, flags := range []uint32{0, SetupSingleIssuer | SetupDeferTaskrun} {
		t.Run(flagsName(flags), func(t *testing.T) { nopZeroAllocs(t, flags) })
	}
}

func nopZeroAllocs(t *testing.T, flags uint32) {
	r := newTestRing(t, 32, &Params{Flags: flags})
	var batch [32]*CQE
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < 32; i++ {
			s := r.GetSQE()
			s.PrepNop()
			s.SetData(uint64(i))
		}
		if _, err := r.SubmitAndWait(32); err != nil {
			panic(err)
		}
		n := r.PeekBatch(batch[:])
		r.CQAdvance(uint32(n))
		if _, err := r.SubmitAndGetEvents(); err != nil {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("NOP submit+reap allocates %v per run", allocs)
	}
}

func TestSQEFlags(t *testing.T) {
	r := newTestRing(t, 16, nil)
	requireOps(t, r, OpNop, OpRead)
	_, fd := tempFile(t, nil) // empty file: a read of 1 byte returns 0, a short read
	mem := mapped(t, 8)
	tests := []struct {
		name  string
		first uint8 // flags of the failing (short) read
		want  []int32
	}{
		// A short read fails an SQEIOLink chain: the NOP after it is cancelled.
		{"link-breaks", SQEIOLink, []int32{0, -125}},
		// SQEIOHardlink keeps the chain going after a failure.
		{"hardlink-continues", SQEIOHardlink, []int32{0, 0}},
		// SQEAsync and SQEIODrain change how, not whether, requests run.
		{"async", SQEAsync, []int32{0, 0}},
		{"drain", SQEIODrain, []int32{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSQE(t, r)
			s.PrepRead(fd, mem[:1], 0)
			s.SetFlags(tt.first)
			s.SetData(1)
			s = mustSQE(t, r)
			s.PrepNop()
			s.SetData(2)
			for _, c := range reap(t, r, 2) { // unlinked requests may complete in any order
				if c.UserData < 1 || c.UserData > 2 || c.Res != tt.want[c.UserData-1] {
					t.Fatalf("CQE %+v, want res %d", c, tt.want[c.UserData-1])
				}
			}
		})
	}
}

func TestHotPathZeroAllocs(t *testing.T) {
	requireKernel(t, 5, 19, "provided-buffer rings")
	r := newTestRing(t, 8, nil)
	br := newBufRing(t, r, 2, 8, 64)
	buf := mapped(t, 64)
	s := new(SQE)
	tests := []struct {
		name string
		fn   func()
	}{
		{"PrepRecvMultishot+SetBufferGroup", func() { s.PrepRecvMultishot(3, nil, 0); s.SetBufferGroup(br.Group()) }},
		{"PrepSend", func() { s.PrepSend(3, buf, 0) }},
		{"PrepSendZC", func() { s.PrepSendZC(3, buf, 0, 0) }},
		{"PrepRead", func() { s.PrepRead(3, buf, 0) }},
		{"PrepCancel64", func() { s.PrepCancel64(9, 0) }},
		{"PrepClose", func() { s.PrepClose(3) }},
		// Add+Advance(0): the same work as Recycle without over-filling the ring.
		{"BufRing.Add+Advance", func() { br.Add(br.Buffer(3), 3, 0); br.Advance(0) }},
		{"PeekCQE", func() {
			if c := r.PeekCQE(); c != nil {
				r.CQESeen()
			}
		}},
		{"Submit(empty)", func() { r.Submit() }},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(100, tt.fn); a != 0 {
			t.Errorf("%s allocates %v", tt.name, a)
		}
	}
}
