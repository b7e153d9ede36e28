package h2

import "bytes"

// This file is the request block cache: the decoded fields of the last
// request field block made only of indexed field representations (RFC 7541
// §6.1). Such a block does not change the decoder's dynamic table, so the
// same bytes on the same table decode to the same fields: a client that
// repeats a request (all its fields indexed after the first time) costs a
// compare and a copy instead of a decode and a validation per field.

// Bounds on what the request block cache keeps.
const (
	maxCachedReqBlock = 512
	maxCachedReqArena = 4096
)

// reqCache holds one decoded request field block.
//
// Invariant: when ok and at == gen, feeding block to the decoder as a
// whole request block (one HEADERS frame with END_HEADERS) emits fields
// that leave a new stream and the block's counters as recorded here, with
// no malformed field and no limit exceeded.
type reqCache struct {
	gen uint64 // the decoder table's state: moves with every block that may change it
	at  uint64 // gen when block was recorded
	ok  bool

	block                      []byte
	arena                      []byte
	fields                     []fieldRef
	method, scheme, path, auth span
	hosts, cookies             int
	declared                   int64
	size, nfields              int
	regular                    bool
}

// reset forgets the cached block (a new connection, a new table).
func (r *reqCache) reset() {
	r.gen++
	r.ok = false
}

// onlyIndexed reports whether b is a sequence of whole indexed field
// representations, which never change the dynamic table.
func onlyIndexed(b []byte) bool {
	for len(b) > 0 {
		if b[0]&0x80 == 0 {
			return false
		}
		if b[0] != 0xff {
			b = b[1:]
			continue
		}
		// A 7-bit prefix integer that continues (RFC 7541 §5.1).
		i := 1
		for i < len(b) && i < 6 && b[i]&0x80 != 0 {
			i++
		}
		if i == len(b) || i == 6 {
			return false
		}
		b = b[i+1:]
	}
	return true
}

// load fills the current block's new stream from the cache when it holds
// frag on the current table.
func (c *Conn) loadRequestBlock(frag []byte) bool {
	r := &c.rq
	if !r.ok || r.at != r.gen || !bytes.Equal(r.block, frag) {
		return false
	}
	hb := &c.hb
	s := hb.st
	s.arena = append(s.arena[:0], r.arena...)
	s.fields = append(s.fields[:0], r.fields...)
	s.method, s.scheme, s.path, s.auth = r.method, r.scheme, r.path, r.auth
	s.hosts, s.cookies, s.declared = r.hosts, r.cookies, r.declared
	hb.size, hb.fields, hb.regular = r.size, r.nfields, r.regular
	return true
}

// storeRequestBlock records the decoded request block frag, made only of
// indexed fields, unless it was malformed or over a limit (those take
// other paths, not worth a cache).
func (c *Conn) storeRequestBlock(frag []byte) {
	hb := &c.hb
	s := hb.st
	if hb.malformed || hb.status != 0 || len(frag) > maxCachedReqBlock || len(s.arena) > maxCachedReqArena {
		return
	}
	r := &c.rq
	r.ok, r.at = true, r.gen
	r.block = append(r.block[:0], frag...)
	r.arena = append(r.arena[:0], s.arena...)
	r.fields = append(r.fields[:0], s.fields...)
	r.method, r.scheme, r.path, r.auth = s.method, s.scheme, s.path, s.auth
	r.hosts, r.cookies, r.declared = s.hosts, s.cookies, s.declared
	r.size, r.nfields, r.regular = hb.size, hb.fields, hb.regular
}
