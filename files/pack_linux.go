package files

import "golang.org/x/sys/unix"

// A packJob makes the forms of one pack from the identity entry src, which
// it holds a reference to until done.
type packJob struct {
	p       *pack
	src     *entry
	produce [nCodings]uint8 // codings to make, 0-terminated
	cc      string          // Cache-Control of the variant heads
}

// packer runs pack jobs off the loops.
var packer = jobQueue[packJob]{max: maxHelpers, run: func(j packJob) { j.run() }}

// enqueuePack queues j; the job holds its reference to j.src until done.
func enqueuePack(j packJob) { packer.enqueue(j) }

// run makes the forms and publishes them. A source that cannot be read
// whole, unchanged, publishes no form: the identity is served.
func (j *packJob) run() {
	src := j.src
	data := src.data
	if data == nil {
		data = readWhole(src)
	}
	src.Release()
	p := j.p
	if data != nil {
		for _, enc := range j.produce {
			if enc == 0 {
				break
			}
			if src.variants&enc != 0 {
				continue // a precompressed sibling on disk wins
			}
			out := compressBytes(enc, data)
			if out == nil {
				continue
			}
			p.vars[codingIndex(enc)] = src.variant(enc, out, j.cc)
			p.avail |= enc
		}
	}
	p.ready.Store(true)
}

// variant returns the entry of the in-memory form of identity entry e
// compressed with enc: its own strong ETag (e's with the coding appended),
// Content-Encoding, and Vary.
func (e *entry) variant(enc uint8, data []byte, cacheControl string) *entry {
	v := &entry{
		key: e.key, kind: kindFile, enc: enc, fd: -1, st: e.st, data: data,
		ctype: e.ctype, lastMod: e.lastMod, closeFd: closeFdNop,
	}
	v.st.size = int64(len(data))
	tag := e.etag[:len(e.etag)-1] // drop the closing quote
	v.etag = append(append(append(append([]byte(nil), tag...), '-'), encodingName(enc)...), '"')
	v.buildHeads(cacheControl)
	v.refs.Store(1)
	return v
}

func closeFdNop(int) {}

// readWhole reads the file of a descriptor entry on a helper: nil when it
// cannot be read whole or no longer is the version e describes (then the
// next revalidation replaces e anyway).
func readWhole(e *entry) []byte {
	buf := make([]byte, e.st.size+1)
	n := 0
	for n < len(buf) {
		k, err := unix.Pread(e.fd, buf[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil
		}
		if k == 0 {
			break
		}
		n += k
	}
	if int64(n) != e.st.size {
		return nil
	}
	var x unix.Statx_t
	if err := unix.Statx(e.fd, "", unix.AT_EMPTY_PATH, statxMask, &x); err != nil || statOf(&x) != e.st {
		return nil
	}
	return buf[:n:n]
}
