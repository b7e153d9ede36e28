package uring

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// newBufRing creates a provided-buffer ring closed at cleanup (before the ring: cleanups run
// last-in first-out), skipping on kernels without buffer rings.
func newBufRing(t *testing.T, r *Ring, bgid uint16, entries uint32, size int) *BufRing {
	t.Helper()
	br, err := r.NewBufRing(bgid, entries, size)
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("kernel lacks provided-buffer rings (5.19): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := br.Close(); err != nil {
			t.Errorf("BufRing.Close: %v", err)
		}
	})
	return br
}

func armRecvMultishot(t *testing.T, r *Ring, fd int, br *BufRing, ud uint64, prio uint16) {
	t.Helper()
	s := mustSQE(t, r)
	s.PrepRecvMultishot(fd, nil, 0)
	s.SetBufferGroup(br.Group())
	s.IoPrio |= prio
	s.SetData(ud)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
}

func TestRecvMultishotBufRing(t *testing.T) {
	requireKernel(t, 6, 0, "multishot recv")
	for _, tt := range []struct {
		name  string
		flags uint32
	}{{"plain", 0}, {"defer-taskrun", SetupSingleIssuer | SetupDeferTaskrun}} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 16, &Params{Flags: tt.flags})
			requireOps(t, r, OpRecv)
			const entries, size = 4, 16
			br := newBufRing(t, r, 7, entries, size)
			a, b := tcpPair(t)
			armRecvMultishot(t, r, b, br, 1, 0)

			// One chunk, recycled at once: the request stays armed.
			writeAll(t, a, []byte("hello"))
			c := reap(t, r, 1)[0]
			bid, ok := c.BufferID()
			if c.Res != 5 || !ok || !c.More() || string(br.Buffer(bid)[:5]) != "hello" {
				t.Fatalf("first CQE %+v (buffer %d %v)", c, bid, ok)
			}
			br.Recycle(bid)

			// Five buffers' worth with four buffers and no recycling: four full buffers, then
			// -ENOBUFS ends the multishot (no CQEFMore); the rest stays in the socket.
			var want bytes.Buffer
			for i := 0; i < entries+1; i++ {
				want.Write(bytes.Repeat([]byte{byte('a' + i)}, size))
			}
			writeAll(t, a, want.Bytes())
			var got bytes.Buffer
			var used []uint16
			ended := false
			for !ended {
				for _, c := range reap(t, r, 1) {
					if c.Res == -int32(unix.ENOBUFS) {
						if c.More() {
							t.Fatalf("ENOBUFS CQE still armed: %+v", c)
						}
						ended = true
						continue
					}
					bid, ok := c.BufferID()
					if c.Res <= 0 || !ok || !c.More() {
						t.Fatalf("recv CQE %+v", c)
					}
					got.Write(br.Buffer(bid)[:c.Res])
					used = append(used, bid)
				}
			}
			if got.Len() != entries*size || !bytes.Equal(got.Bytes(), want.Bytes()[:got.Len()]) {
				t.Fatalf("before ENOBUFS got %q, want the first %d bytes of %q", got.Bytes(), entries*size, want.Bytes())
			}
			// Give the buffers back and re-arm: the remaining chunk arrives.
			for _, bid := range used {
				br.Recycle(bid)
			}
			armRecvMultishot(t, r, b, br, 2, 0)
			c = reap(t, r, 1)[0]
			bid, _ = c.BufferID()
			if c.UserData != 2 || c.Res != size || !c.More() || !bytes.Equal(br.Buffer(bid)[:size], want.Bytes()[entries*size:]) {
				t.Fatalf("after re-arm CQE %+v data %q", c, br.Buffer(bid)[:max(c.Res, 0)])
			}
			br.Recycle(bid)

			// The peer closes: a 0-byte CQE ends the multishot.
			unix.Shutdown(a, unix.SHUT_WR)
			c = reap(t, r, 1)[0]
			if c.Res != 0 || c.More() {
				t.Fatalf("EOF CQE %+v", c)
			}
		})
	}
}

func TestRecvBundle(t *testing.T) {
	requireKernel(t, 6, 10, "recv bundles")
	r := newTestRing(t, 16, nil)
	if r.Features()&FeatRecvSendBundle == 0 {
		t.Skip("kernel lacks IORING_FEAT_RECVSEND_BUNDLE")
	}
	const entries, size = 8, 16
	br := newBufRing(t, r, 3, entries, size)
	a, b := tcpPair(t)
	want := bytes.Repeat([]byte("0123456789"), 4) // 40 bytes: at least three buffers
	writeAll(t, a, want)
	armRecvMultishot(t, r, b, br, 9, RecvsendBundle)
	var got []byte
	bundled := false
	for len(got) < len(want) {
		c := reap(t, r, 1)[0]
		bid, ok := c.BufferID()
		if c.Res <= 0 || !ok || !c.More() {
			t.Fatalf("bundle CQE %+v", c)
		}
		bundled = bundled || c.Res > size
		// A bundle fills consecutive buffers in ring order, starting at bid.
		for n := int(c.Res); n > 0; bid = (bid + 1) % entries {
			k := min(n, size)
			got = append(got, br.Buffer(bid)[:k]...)
			br.Recycle(bid)
			n -= k
		}
	}
	if !bundled {
		t.Error("no CQE covered more than one buffer")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("bundle data %q, want %q", got, want)
	}
}

func TestBufRingValidation(t *testing.T) {
	r := newTestRing(t, 4, nil)
	for _, tt := range []struct {
		entries uint32
		size    int
	}{{0, 16}, {3, 16}, {1 << 16, 16}, {4, 0}} {
		if _, err := r.NewBufRing(1, tt.entries, tt.size); !errors.Is(err, unix.EINVAL) {
			t.Errorf("NewBufRing(%d entries, %d bytes) = %v, want EINVAL", tt.entries, tt.size, err)
		}
	}
}

func TestBufRingTailWord(t *testing.T) {
	requireKernel(t, 5, 19, "provided-buffer rings")
	r := newTestRing(t, 4, nil)
	br := newBufRing(t, r, 5, 4, 32)
	// After setup, every buffer is published: tail 4, and entry 0 keeps its bid (0).
	if br.tail != 4 || br.slots[0].Resv != 4 || br.slots[0].Bid != 0 {
		t.Fatalf("tail %d, entry 0 resv(tail) %d bid %d", br.tail, br.slots[0].Resv, br.slots[0].Bid)
	}
	// Wrapping onto slot 0 with another bid: the tail word carries both halves.
	br.Add(br.Buffer(3), 3, 0) // slot 4&3 == 0
	br.Advance(1)
	if br.slots[0].Bid != 3 || br.slots[0].Resv != 5 || br.slots[0].Len != 32 {
		t.Fatalf("entry 0 after wrap: %+v", br.slots[0])
	}
}

// TestBufRingGrowShrink checks a ring that provides only some of its buffers: a recv beyond
// them ends with ENOBUFS, Grow provides more (new ids, then withheld ones first), Shrink
// withholds buffers as they are recycled, and Discard drops buffer memory the kernel then
// writes again without losing a byte.
func TestBufRingGrowShrink(t *testing.T) {
	requireKernel(t, 6, 1, "multishot recv with DEFER_TASKRUN")
	r := newTestRing(t, 16, &Params{Flags: SetupSingleIssuer | SetupDeferTaskrun})
	requireOps(t, r, OpRecv)
	const entries, size = 8, 16
	br, err := r.NewBufRingPartial(11, entries, size, 2)
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("kernel lacks provided-buffer rings: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	if br.Provided() != 2 {
		t.Fatalf("Provided() = %d, want 2", br.Provided())
	}
	a, b := tcpPair(t)
	// recvAll arms a multishot recv, lets it fill buffers without recycling until ENOBUFS
	// ends it, and returns the bytes and buffer ids it got.
	recvAll := func(ud uint64) (got []byte, bids []uint16) {
		armRecvMultishot(t, r, b, br, ud, 0)
		for {
			c := reap(t, r, 1)[0]
			if c.Res == -int32(unix.ENOBUFS) {
				return got, bids
			}
			bid, ok := c.BufferID()
			if c.Res <= 0 || !ok {
				t.Fatalf("recv CQE %+v", c)
			}
			got = append(got, br.Buffer(bid)[:c.Res]...)
			bids = append(bids, bid)
		}
	}
	// The stream written so far and how much of it was received: every recvAll ends with
	// ENOBUFS, so more is always written than the provided buffers take.
	var stream []byte
	pos := 0
	write := func(nbufs int) {
		chunk := bytes.Repeat([]byte{byte('a' + len(stream)/size%26)}, nbufs*size)
		for i := range chunk {
			chunk[i] += byte(i / size)
		}
		stream = append(stream, chunk...)
		writeAll(t, a, chunk)
	}
	expect := func(name string, got []byte, bids []uint16, n int) {
		t.Helper()
		if len(bids) != n || !bytes.Equal(got, stream[pos:pos+n*size]) {
			t.Fatalf("%s: buffers %v, data %q, want %d buffers of %q", name, bids, got, n, stream[pos:])
		}
		pos += n * size
	}
	write(7)
	got, bids := recvAll(1)
	expect("2 provided", got, bids, 2)
	for _, bid := range bids {
		br.Recycle(bid)
	}
	if n := br.Grow(2); n != 4 {
		t.Fatalf("Grow(2) = %d, want 4", n)
	}
	got, bids = recvAll(2)
	expect("4 provided", got, bids, 4)
	// Shrink to 1: recycling withholds three of the four buffers.
	br.Shrink(1)
	for _, bid := range bids {
		br.Recycle(bid)
	}
	if br.Provided() != 1 || len(br.withheld) != 3 {
		t.Fatalf("after Shrink(1): provided %d, withheld %v", br.Provided(), br.withheld)
	}
	if err := br.Discard(); err != nil {
		t.Fatal(err)
	}
	// Grow takes withheld buffers back first; the discarded memory takes new data.
	if n := br.Grow(100); n != entries || br.next != entries {
		t.Fatalf("Grow(100) = %d (next %d), want %d", n, br.next, entries)
	}
	write(entries)
	got, bids = recvAll(3)
	expect("after Discard", got, bids, entries)
}
