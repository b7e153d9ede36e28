//go:build linux

package server

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// countingRef is a FileRef over in-memory "file" bytes that counts releases.
type countingRef struct {
	data     []byte
	released int
}

func (r *countingRef) Fd() int  { return -1 }
func (r *countingRef) Release() { r.released++ }

// TestOutqStream queues random mixes of copied bytes, references and file
// segments, consumes them in random steps, and checks the byte stream, that
// every file is released exactly once and that chunks come back to the pool.
func TestOutqStream(t *testing.T) {
	src := pattern(64 << 10)
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var pool chunkPool
		var q outq
		var want []byte
		var refs []*countingRef
		for range 1 + rng.IntN(40) {
			switch rng.IntN(4) {
			case 0, 1:
				n := rng.IntN(3000)
				q.appendCopy(&pool, src[:n])
				want = append(want, src[:n]...)
			case 2:
				n := rng.IntN(coalesceMax * 2)
				q.appendBody(&pool, src[:n])
				want = append(want, src[:n]...)
			case 3:
				f := &countingRef{data: src[:rng.IntN(40000)]}
				refs = append(refs, f)
				parts := 1 + rng.IntN(3)
				queued := false
				for range parts {
					off := rng.IntN(len(f.data) + 1)
					n := rng.IntN(len(f.data) - off + 1)
					if q.appendFile(&pool, f, int64(off), int64(n)) {
						want = append(want, f.data[off:off+n]...)
						queued = true
						q.markRelease() // the last file segment so far owns the release
						for i := q.head; i < len(q.segs)-1; i++ {
							if q.segs[i].file == f {
								q.segs[i].release = false
							}
						}
					}
					if rng.IntN(2) == 0 {
						q.appendCopy(&pool, src[:10])
						want = append(want, src[:10]...)
					}
				}
				if !queued {
					f.Release()
				}
			}
		}
		if q.bytes != int64(len(want)) {
			t.Fatalf("seed %d: queue says %d bytes, %d queued", seed, q.bytes, len(want))
		}
		var got []byte
		dropAt := -1
		if seed%5 == 0 {
			dropAt = rng.IntN(len(want) + 1) // a connection that dies midway
		}
		for !q.empty() {
			s := q.pending()[0]
			var avail []byte
			if s.file == nil {
				avail = s.b
			} else {
				avail = s.file.(*countingRef).data[s.off : s.off+s.n]
			}
			step := 1 + rng.IntN(len(avail))
			if dropAt >= 0 && len(got)+step > dropAt {
				q.drop(&pool)
				break
			}
			got = append(got, avail[:step]...)
			q.advance(&pool, int64(step))
		}
		if dropAt < 0 && !bytes.Equal(got, want) {
			t.Fatalf("seed %d: stream differs (%d vs %d bytes)", seed, len(got), len(want))
		}
		if dropAt >= 0 && !bytes.Equal(got, want[:len(got)]) {
			t.Fatalf("seed %d: stream before the drop differs", seed)
		}
		for i, f := range refs {
			if f.released != 1 {
				t.Fatalf("seed %d: file %d released %d times", seed, i, f.released)
			}
		}
		if q.cur != nil || len(q.segs) != 0 || q.bytes != 0 {
			t.Fatalf("seed %d: queue not reset: cur %v segs %d bytes %d", seed, q.cur != nil, len(q.segs), q.bytes)
		}
	}
}

// TestOutqNoMoveWhileQueued checks that bytes already queued never move
// when more is appended (the kernel may be reading them).
func TestOutqNoMoveWhileQueued(t *testing.T) {
	var pool chunkPool
	var q outq
	q.appendCopy(&pool, []byte("head-1"))
	first := &q.pending()[0].b[0]
	for i := range 200 {
		q.appendCopy(&pool, bytes.Repeat([]byte{byte(i)}, 300))
	}
	if &q.pending()[0].b[0] != first {
		t.Fatal("queued bytes moved after appends")
	}
	if n := len(q.pending()); n < 2 {
		t.Fatalf("%d segments: expected a second chunk after %d bytes", n, q.bytes)
	}
}

func TestTimerLists(t *testing.T) {
	var tm timers
	tm.lists[timerHeader].d = 100
	tm.lists[timerIdle].d = 1000
	tm.lists[timerSend].d = 500
	cs := make([]*conn, 6)
	for i := range cs {
		cs[i] = &conn{}
	}
	tm.arm(cs[0], timerIdle, 0)    // 1000
	tm.arm(cs[1], timerHeader, 0)  // 100
	tm.arm(cs[2], timerSend, 10)   // 510
	tm.arm(cs[3], timerHeader, 50) // 150
	tm.arm(cs[4], timerIdle, 20)   // 1020
	tm.arm(cs[5], timerIdle, 30)   // 1030
	tm.disarm(cs[4])
	tm.arm(cs[1], timerSend, 60) // re-armed: 560
	if n := tm.next(); n != 150 {
		t.Fatalf("next = %d, want 150", n)
	}
	var order []int
	for _, now := range []int64{149, 150, 600, 2000} {
		for {
			c, _ := tm.expired(now)
			if c == nil {
				break
			}
			for i := range cs {
				if cs[i] == c {
					order = append(order, i)
				}
			}
		}
	}
	want := []int{3, 2, 1, 0, 5}
	if len(order) != len(want) {
		t.Fatalf("expiry order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("expiry order %v, want %v", order, want)
		}
	}
	if tm.next() != -1 {
		t.Fatal("lists not empty")
	}
}
