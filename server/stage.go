package server

import "github.com/ringhttpd/ringhttpd/tlsrec"

// The stage: protocol output that must be transformed on its way to the
// connection's outq waits here, as the protocol queued it (bytes and file
// ranges):
//
//   - userspace TLS: everything is sealed into records; file ranges are
//     read by the engine (readFile) into a chunk and sealed in place;
//   - HTTP/2 over plaintext or kernel TLS, on the io_uring engine: file
//     ranges are read into memory too, so that a DATA frame's 9-byte head
//     and its bytes go out in the same send, instead of a splice pair
//     through io-wq for every 16 KiB frame (h2c 1 MiB: 553 -> 466 µs per
//     request). The epoll engine sends them with sendfile on its own
//     thread, which measured cheaper than reading them (335 vs 394 µs).
//
// A small piece of memory right before a file range (a frame head, a
// multipart boundary) rides in the range's chunk (and record).

// stageHighWater bounds the transformed bytes queued ahead of the socket;
// staging resumes when the queue drains.
const stageHighWater = 128 << 10

// stagePreMax is the largest piece of memory copied into a file range's
// chunk ahead of it.
const stagePreMax = 512

// stage is protocol output waiting to be transformed into c.out.
//
// Invariants: reading is set while the engine reads a file range into
// rbuf, which stays referenced until that read completes; rbuf[h:h+pre]
// (h: the sealer's header room) holds memory already retired from plain
// that belongs before the next file range.
type stage struct {
	plain   outq
	rbuf    []byte
	pre     int
	reading bool
}

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

// stageOf returns c's stage and its sealer, or nil when the protocol
// writes straight to c.out (plaintext or kernel TLS HTTP/1.1, and a TLS
// connection still in its handshake).
func (c *conn) stageOf() (*stage, recordSealer) {
	if t := c.tls; t != nil && t.up && !t.kernelTX {
		return &t.st, &t.rec
	}
	if st := c.h2; st != nil && c.w.stageH2Files {
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
	return st == nil || (st.plain.empty() && !st.reading)
}

// stageBytes returns the bytes waiting in c's stage.
func (c *conn) stageBytes() int64 {
	if st, _ := c.stageOf(); st != nil {
		return st.plain.bytes
	}
	return 0
}

// flushStage moves what c's stage holds into c.out, transformed, up to
// stageHighWater, asking the engine to read file ranges.
func (w *worker) flushStage(c *conn, st *stage, s recordSealer) {
	// A TLS record carries at most MaxPlaintext bytes; plaintext pieces
	// fill a pooled chunk.
	limit := chunkSize - tlsControlRoom
	if _, tls := s.(*tlsrec.Conn); tls {
		limit = tlsrec.MaxPlaintext
	}
	for !st.reading && c.out.bytes < stageHighWater {
		segs := st.plain.pending()
		if len(segs) == 0 {
			return
		}
		sg := &segs[0]
		if sg.file == nil {
			if st.pre == 0 && len(sg.b) <= stagePreMax && len(segs) > 1 && segs[1].file != nil && !s.Pending() {
				// A frame head or boundary before a file range: into
				// the range's chunk.
				if st.rbuf == nil {
					st.rbuf = w.chunks.get(chunkSize)
				}
				h := s.HeaderLen()
				st.pre = copy(st.rbuf[h:cap(st.rbuf)], sg.b)
				w.staged(c, st, int64(st.pre))
				continue
			}
			n := min(len(sg.b), limit)
			c.out.appendSealed(&w.chunks, sg.b[:n], s.SealedLen(n)+tlsControlRoom, s)
			w.staged(c, st, int64(n))
			continue
		}
		if s.Pending() {
			c.out.appendSealed(&w.chunks, nil, tlsControlRoom, s)
		}
		if st.rbuf == nil {
			st.rbuf = w.chunks.get(chunkSize)
		}
		h := s.HeaderLen()
		n := int(min(sg.n, int64(limit-st.pre)))
		buf := st.rbuf[h+st.pre : h+st.pre+n]
		res, done := w.io.readFile(c, sg.file.Fd(), buf, sg.off)
		if !done {
			st.reading = true
			return
		}
		if !w.stageRead(c, st, s, res) {
			return
		}
	}
}

// stageRead turns the res bytes the engine read into st.rbuf, after the
// st.pre bytes before them, into one chunk (one record) of c.out. It
// reports whether staging may go on.
func (w *worker) stageRead(c *conn, st *stage, s recordSealer, res int32) bool {
	if res <= 0 {
		// 0: the file is shorter than the answer promised (truncated
		// since it was opened); an error: the body cannot be completed.
		c.kill = true
		w.markDirty(c)
		return false
	}
	rec := s.SealInPlace(st.rbuf[:cap(st.rbuf)], st.pre+int(res))
	if rec == nil {
		c.kill = true
		w.markDirty(c)
		return false
	}
	c.out.appendChunk(&w.chunks, rec)
	st.rbuf, st.pre = nil, 0
	w.staged(c, st, int64(res))
	return true
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
	if st == nil || !st.reading {
		return
	}
	st.reading = false
	if c.fd < 0 {
		return
	}
	if w.stageRead(c, st, s, res) {
		w.flush(c)
	}
	w.markDirty(c)
}

// dropStage releases st: its queued output (FileRefs included) and chunk.
// The socket is closed and no engine read uses rbuf any more.
func (w *worker) dropStage(st *stage) {
	st.plain.drop(&w.chunks)
	if st.rbuf != nil {
		w.chunks.put(st.rbuf)
	}
	st.rbuf, st.pre, st.reading = nil, 0, false
}
