//go:build linux

package server

import (
	"bytes"
	"crypto/tls"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// fdRef is a FileRef over an open file that counts its releases.
type fdRef struct {
	f        *os.File
	released int
}

func (r *fdRef) Fd() int  { return int(r.f.Fd()) }
func (r *fdRef) Release() { r.released++ }

// mapRef is an fdRef whose file is also mapped (httpcore.MappedFile), or
// not yet (m nil: the stage reads).
type mapRef struct {
	fdRef
	m []byte
}

func (r *mapRef) Mapped() []byte { return r.m }

// inside reports whether b lies in m.
func inside(b, m []byte) bool {
	if len(b) == 0 || len(m) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&m[0]))
	return p >= lo && p < lo+uintptr(len(m))
}

// TestStageReads drives the stage with what HTTP/2 and HTTP/1.1 over TLS
// queue (frame heads before file ranges, contiguous and not, bodies larger
// than a record, other memory, release markers) through reads that come
// back whole or short, or from mapped files (sent by reference, each
// mapping kept until c.out is done with it), and checks that what reaches
// c.out, opened, is exactly the plaintext queued, each file released once,
// every chunk back.
func TestStageReads(t *testing.T) {
	src := pattern(512 << 10)
	f := testBodyFile(t, src)
	// Memory queued by reference is a cached body other connections read
	// meanwhile: read-only here, so that a write to it (even one undone
	// at once) faults.
	ro := mmapFile(t, f, len(src))

	for _, sealed := range []bool{false, true} {
		for seed := range uint64(40) {
			rng := rand.New(rand.NewPCG(seed, 2))
			w, fl := newCoreWorker(t, noHandler, nil)
			fl.readMax = []int{0, 0, 100, 4096, 16000, 40000}[rng.IntN(6)]
			c := &conn{w: w, fd: 1}
			st := &stage{}
			var s recordSealer = identity{}
			var peer *tlsrec.Conn
			if sealed {
				s, peer = testRecordPair(t)
			}

			// Queue what a protocol would, in groups, some queued
			// while earlier ones are being staged and sent.
			var want []byte
			var refs []*fdRef
			var maps []*mapRef // the refs of mapped files, by group
			mappedOut := 0     // segments of c.out in a mapping
			groups := 1 + rng.IntN(12)
			queueGroup := func() {
				groups--
				var ref httpcore.FileRef
				fr := &fdRef{f: f}
				if !sealed && rng.IntN(2) == 0 {
					// A mapped file (its own mapping per group, so
					// that its segments are told apart), or one
					// whose mapping is not made yet.
					mr := &mapRef{fdRef: fdRef{f: f}}
					if rng.IntN(4) != 0 {
						mr.m = mmapFile(t, f, len(src))
						maps = append(maps, mr)
					}
					ref, fr = mr, &mr.fdRef
				} else {
					ref = fr
				}
				refs = append(refs, fr)
				off := int64(rng.IntN(64 << 10))
				lastFile := false
				for range 1 + rng.IntN(8) {
					switch rng.IntN(6) {
					case 0: // memory too large to ride with a range
						m := stagePreMax + 1 + rng.IntN(3000)
						st.plain.appendCopy(&w.chunks, src[:m])
						want = append(want, src[:m]...)
					case 1: // a jump: not contiguous with the range before
						off += int64(1 + rng.IntN(5000))
					case 2: // answers from memory (HEADERS, DATA, small bodies)
						for range 1 + rng.IntN(12) {
							m := 1 + rng.IntN(4000)
							st.plain.appendCopy(&w.chunks, src[m:2*m])
							want = append(want, src[m:2*m]...)
						}
					case 3: // a body by reference
						m := rng.IntN(40000)
						st.plain.appendRef(&w.chunks, ro[m:2*m])
						want = append(want, src[m:2*m]...)
					}
					head := src[100 : 100+9]
					st.plain.appendCopy(&w.chunks, head)
					want = append(want, head...)
					n := int64(1 + rng.IntN(16375))
					if rng.IntN(8) == 0 {
						n = int64(1 + rng.IntN(200<<10)) // a whole HTTP/1.1 body
					}
					off = min(off, int64(len(src)))
					n = min(n, int64(len(src))-off)
					lastFile = st.plain.appendFile(&w.chunks, ref, off, n)
					want = append(want, src[off:off+n]...)
					off += n
				}
				if lastFile {
					st.plain.markRelease()
				} else {
					st.plain.appendRelease(&w.chunks, ref)
				}
				if rng.IntN(3) == 0 {
					st.plain.appendRelease(&w.chunks, &fdRef{f: f}) // a marker between ranges
					refs = append(refs, nil)
				}
			}
			queueGroup()

			// Stage, and drain c.out the way a socket would.
			var wire []byte
			sent := 0
			for range 10000 {
				if groups > 0 && rng.IntN(2) == 0 {
					queueGroup()
				}
				w.flushStage(c, st, s)
				if st.rd != nil {
					t.Fatalf("seed %d: fakeLoop reads complete at once", seed)
				}
				if c.kill {
					t.Fatalf("seed %d sealed %v: connection killed", seed, sealed)
				}
				checkPoolFree(t, &w.chunks, &c.out, &st.plain)
				// Send part of c.out, as a socket would.
				n := c.out.bytes
				if rng.IntN(2) == 0 {
					n = rng.Int64N(n + 1)
				}
				for _, sg := range c.out.pending() {
					if sg.file != nil {
						t.Fatalf("seed %d: a file range reached c.out", seed)
					}
					k := min(int64(len(sg.b)), n-int64(len(wire)-sent))
					if k <= 0 {
						break
					}
					wire = append(wire, sg.b[:k]...)
				}
				for _, sg := range c.out.pending() {
					for _, mr := range maps {
						if inside(sg.b, mr.m) {
							mappedOut++
						}
					}
				}
				c.out.advance(&w.chunks, n)
				sent = len(wire)
				// A mapping lives until c.out is done with it.
				for _, mr := range maps {
					if mr.released == 0 {
						continue
					}
					for _, sg := range c.out.pending() {
						if inside(sg.b, mr.m) {
							t.Fatalf("seed %d: a mapped file released while c.out still sends from its mapping", seed)
						}
					}
				}
				if groups == 0 && st.plain.empty() && c.out.empty() {
					break
				}
			}
			if !st.plain.empty() {
				t.Fatalf("seed %d: stage never drained", seed)
			}
			got := wire
			if sealed {
				plain, n, err := peer.Open(wire)
				if err != nil || n != len(wire) {
					t.Fatalf("seed %d: open: %v (%d of %d bytes)", seed, err, n, len(wire))
				}
				got = plain
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d sealed %v readMax %d: %d bytes out, want %d (first difference at %d)",
					seed, sealed, fl.readMax, len(got), len(want), firstDiff(got, want))
			}
			for i, r := range refs {
				if r != nil && r.released != 1 {
					t.Fatalf("seed %d: file %d released %d times", seed, i, r.released)
				}
			}
			if len(maps) > 0 && mappedOut == 0 {
				t.Fatalf("seed %d: %d mapped files, and nothing sent from a mapping", seed, len(maps))
			}
			if n := len(w.chunks.free); n == 0 {
				t.Fatalf("seed %d: no chunk came back to the pool", seed)
			}
			if len(fl.reads) > 0 && w.readFree.get() == nil {
				t.Fatalf("seed %d: the stage read did not come back", seed)
			}
		}
	}
}

// TestStageHeld: while the loop turn's send budget is spent, a stage
// moves nothing into c.out; once a new turn clears it, staging goes on.
func TestStageHeld(t *testing.T) {
	src := pattern(64 << 10)
	f := testBodyFile(t, src)
	w, _ := newCoreWorker(t, noHandler, nil)
	c := &conn{w: w, fd: 1}
	st := &stage{}
	st.plain.appendCopy(&w.chunks, src[:100])
	st.plain.appendFile(&w.chunks, &fdRef{f: f}, 0, int64(len(src)))
	st.plain.markRelease()
	w.stageHeld = true
	w.flushStage(c, st, identity{})
	if !c.out.empty() || st.plain.bytes != int64(100+len(src)) {
		t.Fatalf("held stage moved %d bytes to c.out (%d left staged)", c.out.bytes, st.plain.bytes)
	}
	w.stageHeld = false
	w.flushStage(c, st, identity{})
	if c.out.bytes != int64(100+len(src)) || !st.plain.empty() {
		t.Fatalf("after the hold: %d bytes in c.out, %d staged; want all %d moved", c.out.bytes, st.plain.bytes, 100+len(src))
	}
	c.out.drop(&w.chunks)
}

// mmapFile maps f read-only for the test's life.
func mmapFile(t *testing.T, f *os.File, n int) []byte {
	t.Helper()
	m, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

// TestStageReadBatches checks that a 1 MiB HTTP/2 body is read in batches
// of whole frames: at most stageBatch bytes each, several frames a read,
// no frame split between reads.
func TestStageReadBatches(t *testing.T) {
	src := pattern(1 << 20)
	f := testBodyFile(t, src)
	w, fl := newCoreWorker(t, noHandler, nil)
	c := &conn{w: w, fd: 1}
	st := &stage{}
	ref := &fdRef{f: f}
	const frame = 16375
	for off := 0; off < len(src); off += frame {
		st.plain.appendCopy(&w.chunks, make([]byte, 9))
		st.plain.appendFile(&w.chunks, ref, int64(off), int64(min(frame, len(src)-off)))
	}
	st.plain.markRelease()
	for i := 0; !st.plain.empty() && i < 1000; i++ {
		w.flushStage(c, st, identity{})
		c.out.advance(&w.chunks, c.out.bytes)
	}
	frames, total := 0, 0
	for i, lens := range fl.reads {
		n := 0
		for _, l := range lens {
			if l != frame && frames+1 != (len(src)+frame-1)/frame {
				t.Fatalf("read %d: a piece of %d bytes, want whole frames (%v)", i, l, lens)
			}
			n += l
			frames++
		}
		if n > stageBatch || (len(lens) < 2 && i != len(fl.reads)-1) {
			t.Fatalf("read %d: %d frames, %d bytes (batch %d)", i, len(lens), n, stageBatch)
		}
		total += n
	}
	if total != len(src) || ref.released != 1 {
		t.Fatalf("%d bytes read in %d reads, file released %d times", total, len(fl.reads), ref.released)
	}
	t.Logf("%d frames in %d reads", frames, len(fl.reads))
}

// checkPoolFree fails t when a chunk in the pool's free list holds bytes
// still pending in one of qs (it went back while referenced).
func checkPoolFree(t *testing.T, pool *chunkPool, qs ...*outq) {
	t.Helper()
	for _, ch := range pool.free {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(ch[:1])))
		hi := lo + uintptr(cap(ch))
		for _, q := range qs {
			for _, sg := range q.pending() {
				if sg.file != nil || len(sg.b) == 0 {
					continue
				}
				if p := uintptr(unsafe.Pointer(unsafe.SliceData(sg.b))); p >= lo && p < hi {
					t.Fatalf("a free chunk holds %d pending bytes", len(sg.b))
				}
			}
		}
	}
}

// testBodyFile writes src to a file and returns it open, closed at the
// test's end.
func testBodyFile(t *testing.T, src []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// testRecordPair returns a TLS 1.3 record layer of a server and its peer's
// (whose Open reads what the first seals).
func testRecordPair(t *testing.T) (*tlsrec.Conn, *tlsrec.Conn) {
	t.Helper()
	key := func(b byte) tlsrec.Keys {
		return tlsrec.Keys{Key: bytes.Repeat([]byte{b}, 16), IV: bytes.Repeat([]byte{b + 1}, 12), Secret: bytes.Repeat([]byte{b + 2}, 32)}
	}
	a, b := key(1), key(7)
	var srv, cli tlsrec.Conn
	if err := srv.Init(&tlsrec.Session{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, Read: a, Write: b}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Init(&tlsrec.Session{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, Read: b, Write: a}); err != nil {
		t.Fatal(err)
	}
	return &srv, &cli
}

// firstDiff returns the first index where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// noHandler answers nothing: the stage tests queue output themselves.
var noHandler = httpcore.HandlerFunc(func(*httpcore.Request, *httpcore.Response) *httpcore.Op { return nil })
