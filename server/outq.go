package server

import "github.com/ringhttpd/ringhttpd/httpcore"

// Output queue tuning.
const (
	// chunkSize is the size of the pooled buffers heads and small bodies
	// are copied into, so that all responses produced by one read go out
	// in one send.
	chunkSize = 32 << 10
	// coalesceMax is the largest in-memory body copied into a chunk;
	// larger bodies are sent from the handler's memory by reference.
	coalesceMax = 16 << 10
	// maxFreeChunks bounds a worker's free list of chunks.
	maxFreeChunks = 256
	// segsCap is the capacity of pooled segment arrays; maxFreeSegs bounds
	// their free list.
	segsCap     = 8
	maxFreeSegs = 1024
)

// seg is one piece of a connection's pending output: bytes (file == nil)
// or n bytes at off of file.
type seg struct {
	b []byte
	// chunk is the pooled buffer b lives in, set only on the last segment
	// that uses it: the buffer returns to the pool when that segment is
	// done.
	chunk []byte
	file  httpcore.FileRef
	off   int64
	n     int64
	// release says this is the last segment that uses file: file is
	// released when it is done or dropped.
	release bool
	// hold, on memory inside a file's mapping (httpcore.MappedFile), is the
	// reference that keeps the mapping: released when this segment, the
	// last one in that mapping, is done or dropped.
	hold httpcore.FileRef
}

// outq is a connection's output queue.
//
// Invariants: segs is nil while the queue is empty (its array goes back to
// the worker's pool, so an idle connection holds none); segments are sent in order; memory handed to the kernel is
// never moved (bytes are only ever appended within a chunk's capacity, and a
// chunk returns to the pool only after its last segment is done); every
// FileRef queued is released exactly once, by advance or drop; cur is nil or
// the chunk owned by a segment still in the queue.
type outq struct {
	segs  []seg
	head  int
	bytes int64  // bytes pending in all segments
	cur   []byte // chunk being filled (len = bytes used), or nil
	curAt int    // index in segs of the segment that owns cur
}

// chunkPool is a worker's free list of output chunks and segment arrays.
type chunkPool struct {
	free [][]byte
	segs [][]seg
}

// getSegs returns an empty segment array.
func (p *chunkPool) getSegs() []seg {
	if k := len(p.segs); k > 0 {
		s := p.segs[k-1]
		p.segs[k-1] = nil
		p.segs = p.segs[:k-1]
		return s
	}
	return make([]seg, 0, segsCap)
}

// putSegs takes back an array whose segments are all cleared.
func (p *chunkPool) putSegs(s []seg) {
	if cap(s) == segsCap && len(p.segs) < maxFreeSegs {
		p.segs = append(p.segs, s[:0])
	}
}

// add appends sg to q's segments, taking an array from pool when q has none.
func (q *outq) add(pool *chunkPool, sg seg) {
	if q.segs == nil {
		q.segs = pool.getSegs()
	}
	q.segs = append(q.segs, sg)
}

func (p *chunkPool) get(n int) []byte {
	if n <= chunkSize {
		if k := len(p.free); k > 0 {
			b := p.free[k-1]
			p.free[k-1] = nil
			p.free = p.free[:k-1]
			return b[:0]
		}
		n = chunkSize
	}
	return make([]byte, 0, n)
}

func (p *chunkPool) put(b []byte) {
	if cap(b) == chunkSize && len(p.free) < maxFreeChunks {
		p.free = append(p.free, b[:0])
	}
}

// empty reports whether nothing is pending.
func (q *outq) empty() bool { return q.head == len(q.segs) }

// pending returns the segments not yet done, first one first. The first
// segment may be partly sent already (its b or off/n say what is left).
func (q *outq) pending() []seg { return q.segs[q.head:] }

// sealer appends p, transformed, to dst; the result must fit dst's
// capacity when the caller promised room for it (a TLS record layer seals;
// identity, stage.go, copies).
type sealer interface {
	Seal(dst, p []byte) []byte
}

// appendCopy copies p into the queue.
func (q *outq) appendCopy(pool *chunkPool, p []byte) {
	if len(p) == 0 {
		return
	}
	q.appendSealed(pool, p, len(p), identity{})
}

// appendSealed appends s.Seal(p) to the queue, into the current chunk when
// it has room bytes left, else into a new one; room must bound the sealed
// size.
func (q *outq) appendSealed(pool *chunkPool, p []byte, room int, s sealer) {
	if q.cur != nil && cap(q.cur)-len(q.cur) >= room {
		start := len(q.cur)
		out := s.Seal(q.cur[start:start], p)
		n := len(out)
		if n == 0 {
			return
		}
		if cap(out) != cap(q.cur)-start { // reallocated: the room was short
			panic("server: sealer outgrew its room")
		}
		q.bytes += int64(n)
		q.cur = q.cur[:start+n]
		if last := len(q.segs) - 1; last >= q.head && q.curAt == last {
			// The last segment ends where cur ends: extend it.
			sg := &q.segs[last]
			sg.b = sg.b[:len(sg.b)+n]
			return
		}
		// Move cur's ownership to the new segment, which is done last.
		owner := &q.segs[q.curAt]
		q.add(pool, seg{b: q.cur[start:len(q.cur):len(q.cur)], chunk: owner.chunk})
		q.segs[q.curAt].chunk = nil
		q.curAt = len(q.segs) - 1
		q.fixLast()
		return
	}
	c := s.Seal(pool.get(room), p)
	if len(c) == 0 {
		pool.put(c)
		return
	}
	q.appendChunk(pool, c)
}

// appendChunk queues the filled chunk c (from pool.get), which the queue
// now owns; later copies may go into its spare capacity.
func (q *outq) appendChunk(pool *chunkPool, c []byte) {
	q.bytes += int64(len(c))
	q.cur = c
	q.add(pool, seg{b: c[:len(c):len(c)], chunk: c[:0]})
	q.curAt = len(q.segs) - 1
	q.fixLast()
}

// fixLast lets the last segment's b grow within cur: its capacity is cut to
// its length when created (so that nothing appends to it by accident) and
// restored here to reach the end of cur's capacity.
func (q *outq) fixLast() {
	s := &q.segs[len(q.segs)-1]
	start := len(q.cur) - len(s.b)
	s.b = q.cur[start:len(q.cur):cap(q.cur)]
}

// moveFront moves q's first segment, memory that owns its chunk, to the
// end of dst by reference: dst takes the chunk (and may fill the room left
// in it), q stops filling it. It returns the bytes moved, which q still
// counts until the caller advances q past them (the segment then retires
// without returning the chunk).
//
// It relies on what appendSealed and appendChunk keep true: a segment in a
// chunk reaches the chunk's end in capacity (fixLast), so the chunk is
// chunk[:cap(chunk)] and the segment starts at cap(chunk)-cap(b).
func (q *outq) moveFront(pool *chunkPool, dst *outq) int64 {
	s := &q.segs[q.head]
	if q.cur != nil && q.curAt == q.head {
		q.cur = nil
	}
	chunk := s.chunk[:cap(s.chunk)]
	s.chunk = nil
	start := cap(chunk) - cap(s.b)
	end := start + len(s.b)
	dst.bytes += int64(len(s.b))
	dst.cur = chunk[:end]
	dst.add(pool, seg{b: chunk[start:end:end], chunk: chunk[:0]})
	dst.curAt = len(dst.segs) - 1
	dst.fixLast()
	return int64(len(s.b))
}

// appendRef queues p by reference: p must stay unchanged until it is sent.
func (q *outq) appendRef(pool *chunkPool, p []byte) {
	if len(p) == 0 {
		return
	}
	q.bytes += int64(len(p))
	q.add(pool, seg{b: p[:len(p):len(p)]})
}

// appendMapped queues p, memory inside a file's mapping, by reference;
// hold (nil unless this is the last segment of that mapping) is released
// once p is sent or dropped.
func (q *outq) appendMapped(pool *chunkPool, p []byte, hold httpcore.FileRef) {
	q.bytes += int64(len(p))
	q.add(pool, seg{b: p[:len(p):len(p)], hold: hold})
}

// appendBody queues an in-memory body: copied when small, else by reference.
func (q *outq) appendBody(pool *chunkPool, p []byte) {
	if len(p) <= coalesceMax {
		q.appendCopy(pool, p)
	} else {
		q.appendRef(pool, p)
	}
}

// appendFile queues n bytes at off of f. It reports whether a segment was
// queued (n > 0).
func (q *outq) appendFile(pool *chunkPool, f httpcore.FileRef, off, n int64) bool {
	if n <= 0 {
		return false
	}
	q.bytes += n
	q.add(pool, seg{file: f, off: off, n: n})
	return true
}

// appendRelease queues the release of f, in order: f is released once the
// segments before it are sent or dropped (at once when none is pending).
func (q *outq) appendRelease(pool *chunkPool, f httpcore.FileRef) {
	if q.empty() {
		f.Release()
		return
	}
	q.add(pool, seg{file: f, release: true})
}

// markRelease marks the last queued segment as the last user of its file.
func (q *outq) markRelease() {
	q.segs[len(q.segs)-1].release = true
}

// advance consumes n sent bytes from the front of the queue, returning
// chunks to pool and releasing files whose last segment is done.
func (q *outq) advance(pool *chunkPool, n int64) {
	q.bytes -= n
	for n > 0 && q.head < len(q.segs) {
		s := &q.segs[q.head]
		if s.file == nil {
			k := int64(len(s.b))
			if n < k {
				s.b = s.b[n:]
				return
			}
			n -= k
		} else {
			if n < s.n {
				s.off += n
				s.n -= n
				return
			}
			n -= s.n
		}
		q.done(pool, q.head)
		q.head++
	}
	// Release markers (appendRelease) carry no bytes: retire those now
	// at the front, so no engine ever sees one.
	for q.head < len(q.segs) && q.segs[q.head].file != nil && q.segs[q.head].n == 0 {
		q.done(pool, q.head)
		q.head++
	}
	if q.head == len(q.segs) {
		pool.putSegs(q.segs)
		q.segs = nil
		q.head = 0
	}
}

// done retires segment i.
func (q *outq) done(pool *chunkPool, i int) {
	s := &q.segs[i]
	if s.chunk != nil {
		if i == q.curAt && q.cur != nil {
			q.cur = nil
		}
		pool.put(s.chunk)
	}
	if s.release {
		s.file.Release()
	}
	if s.hold != nil {
		s.hold.Release()
	}
	*s = seg{}
}

// drop discards everything pending (the connection is closing), returning
// chunks and releasing files (the engine no longer sends from them).
func (q *outq) drop(pool *chunkPool) {
	for i := q.head; i < len(q.segs); i++ {
		q.done(pool, i)
	}
	pool.putSegs(q.segs)
	q.segs = nil
	q.head = 0
	q.bytes = 0
	q.cur = nil
}
