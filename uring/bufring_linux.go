package uring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a provided-buffer ring (5.19): a ring of buffer slots the kernel picks from when
// a request carries SQEBufferSelect with its group id (multishot recv). The slot array and the
// buffers are mapped outside the Go heap, so the kernel may write them at any time.
//
// Ownership: a buffer belongs to the kernel from the moment Add+Advance publish it until a
// CQE names its id (CQE.BufferID); then it is the application's until it is given back with
// Recycle (or Add+Advance). Not safe for concurrent use: the ring's thread owns it.
//
// Size: a ring made by NewBufRingPartial starts with only some of its buffers provided; Grow
// provides more (up to its entries), Shrink withholds buffers as they are recycled until
// fewer are provided, and Discard drops the memory of every buffer the kernel holds, so that
// a ring sized for a burst costs memory only while the burst lasts. Provided-but-unused
// buffers are mapped memory that no one touched: they cost address space, not RAM.
type BufRing struct {
	ring     *Ring
	mem      []byte         // slot array, mapped
	bufs     []byte         // buffers, mapped: entries*bufSize
	slots    []BufRingEntry // view of mem
	tailWord *uint32        // bytes 12..15 of mem: entry 0's bid and the 16-bit tail
	tail     uint16         // local tail; published by Advance
	mask     uint16
	bgid     uint16
	bufSize  int

	// Size management (Grow, Shrink, Recycle). Invariant: provided counts the buffers
	// given to the kernel and not withheld: published in the ring, or handed to the
	// application by a CQE and not yet recycled. Buffer ids below next that are not
	// provided are on withheld.
	provided int
	next     int // buffer ids [0, next) have been provided at least once
	limit    int // Recycle withholds buffers while provided > limit
	withheld []uint16
}

// bigEndian reports the byte order, for packing the tail word.
var bigEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 0 }()

// NewBufRing maps a ring of entries slots (a power of two, at most 32768) and entries buffers
// of bufSize bytes each, registers it as buffer group bgid and gives every buffer to the
// kernel (buffer id i is the i-th buffer), as io_uring_setup_buf_ring followed by adding
// every buffer. Close it before closing the ring.
func (r *Ring) NewBufRing(bgid uint16, entries uint32, bufSize int) (*BufRing, error) {
	return r.NewBufRingPartial(bgid, entries, bufSize, int(entries))
}

// NewBufRingPartial is NewBufRing giving only the first initial buffers to the kernel (at
// least one); Grow provides more.
func (r *Ring) NewBufRingPartial(bgid uint16, entries uint32, bufSize int, initial int) (*BufRing, error) {
	if entries == 0 || entries > 1<<15 || entries&(entries-1) != 0 || bufSize <= 0 {
		return nil, fmt.Errorf("uring: buffer ring of %d entries of %d bytes: entries must be a power of two up to 32768: %w", entries, bufSize, unix.EINVAL)
	}
	mem, err := MapMemory(int(entries) * int(unsafe.Sizeof(BufRingEntry{})))
	if err != nil {
		return nil, err
	}
	bufs, err := MapMemory(int(entries) * bufSize)
	if err != nil {
		UnmapMemory(mem)
		return nil, err
	}
	b := &BufRing{
		ring:    r,
		mem:     mem,
		bufs:    bufs,
		slots:   unsafe.Slice((*BufRingEntry)(unsafe.Pointer(&mem[0])), entries),
		mask:    uint16(entries - 1),
		bgid:    bgid,
		bufSize: bufSize,
	}
	b.tailWord = (*uint32)(unsafe.Pointer(&mem[12]))
	if err := r.RegisterBufRing(uintptr(unsafe.Pointer(&mem[0])), entries, bgid); err != nil {
		UnmapMemory(mem)
		UnmapMemory(bufs)
		return nil, err
	}
	b.limit = int(entries)
	b.Grow(max(1, min(initial, int(entries))))
	return b, nil
}

// Provided returns the number of buffers given to the kernel and not withheld (published,
// or handed out by a CQE and not yet recycled).
func (b *BufRing) Provided() int { return b.provided }

// Grow gives up to n more buffers to the kernel, withheld ones first, never more than the
// ring's entries in all, and lifts a Shrink. It returns the number of buffers provided.
func (b *BufRing) Grow(n int) int {
	b.limit = len(b.slots)
	k := 0
	for ; k < n && b.provided < len(b.slots); k++ {
		var bid uint16
		if w := len(b.withheld); w > 0 {
			bid = b.withheld[w-1]
			b.withheld = b.withheld[:w-1]
		} else {
			bid = uint16(b.next)
			b.next++
		}
		b.Add(b.Buffer(bid), bid, k)
		b.provided++
	}
	if k > 0 {
		b.Advance(k)
	}
	return b.provided
}

// Shrink makes Recycle withhold buffers until at most n (at least one) are provided. Buffers
// the kernel holds stay provided until a CQE hands them back.
func (b *BufRing) Shrink(n int) {
	b.limit = max(1, n)
}

// Discard drops the contents and the memory of every buffer (the kernel's, and withheld
// ones) with madvise(MADV_DONTNEED): the next write to one, by the
// kernel or the application, faults in a zeroed page. The caller must make sure no kernel
// context writes a provided buffer while Discard runs: true for a ring set up with
// SetupDeferTaskrun whose recvs complete only inside the owning thread's io_uring_enter,
// and Discard is called by that thread outside of it. The application must hold no buffer
// (every buffer a CQE handed out recycled): its contents would be lost too.
func (b *BufRing) Discard() error {
	if b.bufs == nil {
		return nil
	}
	if err := unix.Madvise(b.bufs[:b.next*b.bufSize], unix.MADV_DONTNEED); err != nil {
		return os.NewSyscallError("madvise", err)
	}
	return nil
}

// Group returns the buffer group id to put in SQE.BufIndex (see SQE.SetBufferGroup).
func (b *BufRing) Group() uint16 { return b.bgid }

// Entries returns the number of slots (and of buffers).
func (b *BufRing) Entries() int { return len(b.slots) }

// BufSize returns the size of each buffer.
func (b *BufRing) BufSize() int { return b.bufSize }

// Buffer returns buffer bid (its full size). The slice points into mapped memory: it is
// valid until Close, and its contents belong to the kernel whenever the buffer is published.
func (b *BufRing) Buffer(bid uint16) []byte {
	off := int(bid) * b.bufSize
	return b.bufs[off : off+b.bufSize : off+b.bufSize]
}

// Add writes buf as buffer id bid into the offset-th slot after the published tail, as
// io_uring_buf_ring_add. Nothing is visible to the kernel until Advance. buf must be memory
// outside the Go heap (or pinned and kept reachable while the kernel may use it).
func (b *BufRing) Add(buf []byte, bid uint16, offset int) {
	e := &b.slots[(b.tail+uint16(offset))&b.mask]
	e.Addr = uint64(bufAddr(buf))
	e.Len = uint32(len(buf))
	e.Bid = bid // entry 0's Resv is the tail: never written here
}

// Advance publishes count slots written by Add, as io_uring_buf_ring_advance.
func (b *BufRing) Advance(count int) {
	b.tail += uint16(count)
	// The tail is a 16-bit field at byte 14, overlapping entry 0's resv; entry 0's bid is at
	// byte 12. Go has no 16-bit atomic store, so store the 32-bit word at byte 12 with
	// entry 0's current bid (plain read: we are the only writer of both halves). The atomic
	// (release) store orders the slot writes before the kernel's acquire load of the tail.
	bid0 := b.slots[0].Bid
	w := uint32(b.tail)<<16 | uint32(bid0)
	if bigEndian {
		w = uint32(bid0)<<16 | uint32(b.tail)
	}
	atomic.StoreUint32(b.tailWord, w)
}

// Recycle gives buffer bid (full size) back to the kernel at once (Add + Advance(1)), or,
// while more buffers are provided than a Shrink allows, withholds it.
func (b *BufRing) Recycle(bid uint16) {
	if b.provided > b.limit {
		b.provided--
		b.withheld = append(b.withheld, bid)
		return
	}
	b.Add(b.Buffer(bid), bid, 0)
	b.Advance(1)
}

// Close unregisters the group and unmaps the slots and buffers. No request may still use
// the group (cancel multishot receives and reap their final CQEs first).
func (b *BufRing) Close() error {
	if b.mem == nil {
		return nil
	}
	var err error
	if !b.ring.closed {
		err = b.ring.UnregisterBufRing(b.bgid)
	}
	err = errors.Join(err, UnmapMemory(b.mem), UnmapMemory(b.bufs))
	b.mem, b.bufs, b.slots, b.tailWord = nil, nil, nil, nil
	return err
}
