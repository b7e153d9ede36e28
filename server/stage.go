package server

import (
	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// The stage: protocol output that must be transformed on its way to the
// connection's outq waits here, as the protocol queued it (bytes and file
// ranges):
//
//   - userspace TLS: everything is sealed into records; file ranges are
//     read by the engine (readFile) into chunks and sealed in place;
//   - HTTP/2 over plaintext or kernel TLS, on the io_uring engine: file
//     ranges are read into memory too, so that a DATA frame's 9-byte head
//     and its bytes go out in the same send, instead of a splice pair
//     through io-wq for every 16 KiB frame (h2c 1 MiB: 553 -> 466 µs per
//     request). The epoll engine sends them with sendfile on its own
//     thread, which measured cheaper than reading them (335 vs 394 µs).
//     A file its handler lends mapped (httpcore.MappedFile, files does)
//     is not read at all: its frames go to c.out by reference into the
//     mapping (stageMapped), so the kernel copies each byte once, from the
//     page cache into the socket (h2c 1 MiB: 298 -> 220 µs per request).
//     The epoll engine stages such frames too (h2Sink.WriteFile): 355 ->
//     208 µs, against a sendfile and a head per frame.
//
// A small piece of memory right before a file range (a frame head, a
// multipart boundary) rides in the range's chunk (and record). One read
// fills the records of several file ranges that follow each other in one
// file (planRead), and stays on whole records: an HTTP/2 frame and its head
// are never split between reads.

// stageHighWater bounds the transformed bytes queued ahead of the socket;
// staging resumes when the queue drains.
const stageHighWater = 128 << 10

// stagePreMax is the largest piece of memory copied into a file range's
// chunk ahead of it.
const stagePreMax = 512

// One engine read brings in at most stageBatch file bytes, into the
// places of at most stageUnits records: a 1 MiB HTTP/2 body is 11 reads
// of six DATA frames, not 64 of one, and its sends carry up to 96 KiB, not
// 16. Measured (h2c 1 MiB, CPU per request): 433 µs one frame a read,
// 292 with 64 KiB reads, 255 with 96 KiB; 128 KiB reads measured worse
// (390-510) and 256 KiB as good as 96 with twice the memory per
// connection, so 96 it is. (The curve is BBR's pacing as much as ours: a
// chain of splices through a pipe, which copies nothing, cost 695 µs under
// BBR and 259 under CUBIC.)
const (
	stageBatch = 96 << 10
	stageUnits = 8
)

// stage is protocol output waiting to be transformed into c.out.
//
// Invariants: rd is set while the engine reads file ranges into rd's
// chunks, which stay referenced until that read completes; nothing of
// plain is retired for rd's records until then (plain's front is what
// rd reads, and the protocol only appends).
type stage struct {
	plain outq
	rd    *stageRead
}

// reading reports whether an engine read for st is in flight.
func (st *stage) reading() bool { return st.rd != nil }

// stageRead is one engine read of a stage: file bytes at off of fd, read
// with one readv into the places of up to stageUnits records laid out
// back to back in pooled chunks (each record: sealer header, memory
// copied from plain ahead of the range, file bytes, sealer trailer).
// Borrowed from the worker while the read runs.
type stageRead struct {
	units  [stageUnits]stageUnit
	n      int // units used
	chunks [stageUnits][]byte
	bufs   [stageUnits][]byte // the file bytes' places, in order
	// vec is scratch for the engine: the iovecs of bufs, stable until
	// the read completes.
	vec [stageUnits]unix.Iovec
}

// stageUnit is one record of a stageRead: chunks[chunk][at:] holds its
// header room, pre bytes of memory, then n file bytes.
type stageUnit struct {
	chunk, at, pre, n int
}

// maxFreeReads bounds a worker's free list of stage reads.
const maxFreeReads = 64

// recordSealer turns plaintext into what goes on the wire: TLS records
// (*tlsrec.Conn) or the same bytes (identity).
type recordSealer interface {
	sealer
	SealedLen(n int) int
	HeaderLen() int
	TrailerLen() int
	SealInPlace(rec []byte, n int) []byte
	Pending() bool
}

// identity is the recordSealer of plaintext, and the sealer appendCopy
// uses: bytes stay as they are.
type identity struct{}

func (identity) Seal(dst, p []byte) []byte            { return append(dst, p...) }
func (identity) SealedLen(n int) int                  { return n }
func (identity) HeaderLen() int                       { return 0 }
func (identity) TrailerLen() int                      { return 0 }
func (identity) SealInPlace(rec []byte, n int) []byte { return rec[:n] }
func (identity) Pending() bool                        { return false }

// borrowSealer seals plaintext from a segment of the stage's queue that
// lives in one of the queue's chunks, which only the stage reads: TLS 1.3
// encrypts from it directly, borrowing the byte after a record's plaintext
// for the content type, instead of copying it into the record first
// (tlsrec.Conn.SealBorrow). Only such a segment has capacity past its
// length (outq.go: it reaches its chunk's end); memory queued by reference
// (a cached body other connections read meanwhile) has none and is never
// lent, not even inside.
type borrowSealer tlsrec.Conn

func (b *borrowSealer) Seal(dst, p []byte) []byte { return (*tlsrec.Conn)(b).SealBorrow(dst, p) }

// stageOf returns c's stage and its sealer, or nil when the protocol
// writes straight to c.out (plaintext or kernel TLS HTTP/1.1, and a TLS
// connection still in its handshake).
func (c *conn) stageOf() (*stage, recordSealer) {
	if t := c.tls; t != nil && t.up && !t.kernelTX {
		return &t.st, &t.rec
	}
	if st := c.h2; st != nil && st.staging {
		return &st.st, identity{}
	}
	return nil, nil
}

// pq returns the queue c's protocol writes its output to.
func (c *conn) pq() *outq {
	if st, _ := c.stageOf(); st != nil {
		return &st.plain
	}
	return &c.out
}

// stageEmpty reports whether c's stage (if any) holds nothing.
func (c *conn) stageEmpty() bool {
	st, _ := c.stageOf()
	return st == nil || (st.plain.empty() && st.rd == nil)
}

// stageBytes returns the bytes waiting in c's stage.
func (c *conn) stageBytes() int64 {
	if st, _ := c.stageOf(); st != nil {
		return st.plain.bytes
	}
	return 0
}

// flushStage moves what c's stage holds into c.out, transformed, up to
// stageHighWater, asking the engine to read file ranges; nothing while the
// loop turn's send budget is spent (w.stageHeld). An HTTP/2
// connection's stage of file frames is left, once empty, until the next
// file range (h2Sink.WriteFile).
func (w *worker) flushStage(c *conn, st *stage, s recordSealer) {
	w.stageMore(c, st, s)
	if h := c.h2; h != nil && st == &h.st && st.plain.empty() && st.rd == nil {
		h.staging = false
	}
}

func (w *worker) stageMore(c *conn, st *stage, s recordSealer) {
	for st.rd == nil && c.out.bytes < stageHighWater && !w.stageHeld {
		segs := st.plain.pending()
		if len(segs) == 0 {
			return
		}
		if sg := &segs[0]; sg.file == nil && !preFile(segs) {
			if _, plain := s.(identity); plain && sg.chunk != nil {
				// Plaintext in a chunk of its own: the chunk moves to
				// c.out as it is, not copied.
				w.staged(c, st, st.plain.moveFront(&w.chunks, &c.out))
				continue
			}
			// A TLS record carries at most MaxPlaintext bytes;
			// plaintext pieces fill a pooled chunk.
			n := min(len(sg.b), stageLimit(s))
			var ss sealer = s
			if t, ok := s.(*tlsrec.Conn); ok && cap(sg.b) > len(sg.b) {
				ss = (*borrowSealer)(t) // sg is in a chunk (see borrowSealer)
			}
			c.out.appendSealed(&w.chunks, sg.b[:n], s.SealedLen(n)+tlsControlRoom, ss)
			w.staged(c, st, int64(n))
			continue
		}
		if _, plain := s.(identity); plain {
			if m := mappedFront(segs); m != nil {
				if !w.stageMapped(c, st, segs, m) {
					return
				}
				continue
			}
		}
		if s.Pending() {
			c.out.appendSealed(&w.chunks, nil, tlsControlRoom, s)
		}
		rd, fd, off := w.planRead(segs, s)
		res, done := w.io.readFile(c, fd, rd.bufs[:rd.n], rd.vec[:rd.n], off)
		st.rd = rd
		if !done {
			return
		}
		if !w.stageDone(c, st, s, res) {
			return
		}
	}
}

// stageMapSend bounds what c.out holds when a mapped file range is queued
// by reference: one send then carries up to three 16 KiB HTTP/2 frames,
// which stays inside one segment of loopback's 64 KiB MTU. Measured (h2c
// 1 MiB, CPU per answer; h2o 235 in the same runs): 209 µs with 48 KiB,
// 219 with 96, 280 with 64 (a full segment and a 36-byte one) and 380
// with 128.
const stageMapSend = 48 << 10

// mappedFront returns the mapping of the file range at the front of segs
// (after a small piece of memory, see preFile), when its file is mapped
// (httpcore.MappedFile) and the mapping holds the range; nil otherwise.
func mappedFront(segs []seg) []byte {
	sg := &segs[0]
	if sg.file == nil {
		sg = &segs[1] // preFile
	}
	mf, ok := sg.file.(httpcore.MappedFile)
	if !ok || sg.n == 0 {
		return nil
	}
	m := mf.Mapped()
	if int64(len(m)) < sg.off+sg.n {
		return nil
	}
	return m
}

// stageMapped moves the front of segs (a file range in mapping m, with
// the small memory before it) to c.out: the memory copied, the range by
// reference into the mapping, so that the kernel copies the file's bytes
// once, from the page cache into the socket, where a read would copy them
// twice. The range's release, when it is the file's last, moves to its
// segment of c.out: the mapping lives until that is sent. It reports
// false when c.out already holds a send's worth (stageMapSend).
func (w *worker) stageMapped(c *conn, st *stage, segs []seg, m []byte) bool {
	var pre []byte
	if segs[0].file == nil {
		pre, segs = segs[0].b, segs[1:]
	}
	sg := &segs[0]
	n := sg.n
	if c.out.bytes > 0 && c.out.bytes+int64(len(pre))+n > stageMapSend {
		return false
	}
	n = min(n, stageMapSend) // a range larger than a send goes in parts
	var hold httpcore.FileRef
	if n == sg.n && sg.release {
		hold, sg.release = sg.file, false
	}
	c.out.appendCopy(&w.chunks, pre)
	c.out.appendMapped(&w.chunks, m[sg.off:sg.off+n], hold)
	w.staged(c, st, int64(len(pre))+n)
	return true
}

// stageLimit is the most plaintext one record of s carries.
func stageLimit(s recordSealer) int {
	if _, tls := s.(*tlsrec.Conn); tls {
		return tlsrec.MaxPlaintext
	}
	return chunkSize - tlsControlRoom
}

// preFile reports whether segs starts with a small piece of memory (a
// frame head, a multipart boundary) followed by a file range: the memory
// then rides in the range's record.
func preFile(segs []seg) bool {
	return segs[0].file == nil && len(segs[0].b) <= stagePreMax &&
		len(segs) > 1 && segs[1].file != nil && segs[1].n > 0
}

// planRead lays out the records of one engine read from the front of segs
// (which starts with a file range or preFile): file ranges contiguous in
// one file, each with the small memory before it, up to stageBatch file
// bytes and stageUnits records. It returns the read, borrowed from the
// worker, and where it reads.
func (w *worker) planRead(segs []seg, s recordSealer) (rd *stageRead, fd int, off int64) {
	rd = w.readFree.get()
	if rd == nil {
		rd = new(stageRead)
	}
	limit, h := stageLimit(s), s.HeaderLen()
	next := int64(-1) // the file offset the next range must start at
	total := 0
	ci, at := -1, 0 // the chunk being laid out, and its used bytes
	full := false   // the next record would pass stageUnits or stageBatch
	for i := 0; i < len(segs) && !full; i++ {
		var pre []byte
		if segs[i].file == nil {
			if !preFile(segs[i:]) {
				break
			}
			pre = segs[i].b
			i++
		}
		sg := &segs[i]
		if sg.n == 0 {
			continue // a release marker: no bytes
		}
		if next < 0 {
			fd, off = sg.file.Fd(), sg.off
		} else if sg.file.Fd() != fd || sg.off != next {
			break
		}
		for left := sg.n; left > 0; {
			// Records stay whole (an HTTP/2 frame with its head), so
			// that every read fills the same places.
			n := int(min(left, int64(limit-len(pre))))
			if full = rd.n == stageUnits || (rd.n > 0 && total+n > stageBatch); full {
				break
			}
			size := s.SealedLen(len(pre) + n)
			if ci < 0 || at+size > chunkSize {
				ci, at = ci+1, 0
				rd.chunks[ci] = w.chunks.get(chunkSize)
			}
			c := rd.chunks[ci][:chunkSize]
			copy(c[at+h:], pre)
			rd.units[rd.n] = stageUnit{chunk: ci, at: at, pre: len(pre), n: n}
			rd.bufs[rd.n] = c[at+h+len(pre) : at+h+len(pre)+n]
			rd.n++
			at += size
			total += n
			left -= int64(n)
			pre = nil
		}
		next = sg.off + sg.n
	}
	return rd, fd, off
}

// stageDone turns the res bytes the engine read for st.rd into records
// of c.out, and gives st.rd back. It reports whether staging may go on.
func (w *worker) stageDone(c *conn, st *stage, s recordSealer, res int32) bool {
	rd := st.rd
	st.rd = nil
	defer w.putRead(rd)
	if res <= 0 {
		// 0: the file is shorter than the answer promised (truncated
		// since it was opened); an error: the body cannot be completed.
		c.kill = true
		w.markDirty(c)
		return false
	}
	if s.Pending() {
		// A KeyUpdate the peer asked for while the read ran: ours goes
		// first, and the records are sealed with the new keys.
		c.out.appendSealed(&w.chunks, nil, tlsControlRoom, s)
	}
	left, retired := int(res), 0
	ci, end := 0, 0 // the chunk being filled, and its sealed bytes
	for i := 0; i < rd.n && left > 0; i++ {
		u := &rd.units[i]
		if u.chunk != ci {
			w.stageChunk(c, rd, ci, end)
			ci, end = u.chunk, 0
		}
		got := min(u.n, left)
		left -= got
		rec := s.SealInPlace(rd.chunks[ci][u.at:chunkSize], u.pre+got)
		if rec == nil {
			c.kill = true
			w.markDirty(c)
			return false
		}
		end = u.at + len(rec)
		retired += u.pre + got
	}
	w.stageChunk(c, rd, ci, end)
	w.staged(c, st, int64(retired))
	return true
}

// stageChunk queues the first end bytes of rd's chunk i (sealed records)
// on c.out, or returns the chunk to the pool when it holds none.
func (w *worker) stageChunk(c *conn, rd *stageRead, i, end int) {
	ch := rd.chunks[i]
	rd.chunks[i] = nil
	if end == 0 {
		w.chunks.put(ch)
		return
	}
	c.out.appendChunk(&w.chunks, ch[:end])
}

// putRead gives rd back to the worker, with the chunks no record took.
func (w *worker) putRead(rd *stageRead) {
	for i, ch := range rd.chunks {
		if ch != nil {
			w.chunks.put(ch)
			rd.chunks[i] = nil
		}
	}
	clear(rd.bufs[:rd.n])
	clear(rd.vec[:rd.n])
	rd.n = 0
	w.readFree.put(rd)
}

// staged retires n bytes of st's plaintext, now in c.out.
func (w *worker) staged(c *conn, st *stage, n int64) {
	st.plain.advance(&w.chunks, n)
	if w.alog != nil && c.tls != nil {
		w.alog.sent(c, n) // TLS answers' bytes count as they are sealed (logSent)
	}
}

// fileRead completes an engine readFile for c's stage. Worker thread.
func (w *worker) fileRead(c *conn, res int32) {
	st, s := c.stageOf()
	if st == nil || st.rd == nil {
		return
	}
	if c.fd < 0 {
		w.endRead(st)
		return
	}
	if w.stageDone(c, st, s, res) {
		w.flush(c)
	}
	w.markDirty(c)
}

// dropStage releases st: its queued output (FileRefs included). The
// socket is closed and no engine read uses st.rd's chunks any more.
func (w *worker) dropStage(st *stage) {
	st.plain.drop(&w.chunks)
	w.endRead(st)
}

// endRead gives st's read (if any) back without using what it read.
func (w *worker) endRead(st *stage) {
	if st.rd != nil {
		w.putRead(st.rd)
		st.rd = nil
	}
}
