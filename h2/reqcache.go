package h2

import "bytes"

// This file is the request block cache: the decoded fields of the last
// request field block made only of representations that leave the
// decoder's dynamic table alone (references and literals not indexed).
// The same bytes on the same table decode to the same fields: a client that
// repeats a request (its fields references after the first time, :path
// often a literal) costs a compare and a copy instead of a decode and a
// validation per field.

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
	// checked: a stream with this block passed checkRequest and
	// buildRequest, so one that replays it skips their byte checks.
	checked bool

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
	r.ok, r.checked = false, false
}

// tableNeutral reports whether b is a sequence of whole field
// representations that never change the dynamic table: indexed fields and
// literals without indexing or never indexed (RFC 7541 §6.1, §6.2.2,
// §6.2.3), not literals with incremental indexing or size updates. nghttp2
// (h2load, curl) sends :path as a literal without indexing, the rest of a
// repeated request as references.
func tableNeutral(b []byte) bool {
	for len(b) > 0 {
		var ok bool
		switch {
		case b[0]&0x80 != 0:
			_, b, ok = skipInt(b, 7)
		case b[0]&0xe0 == 0: // 0000 or 0001: literal, not indexed
			var idx uint64
			idx, b, ok = skipInt(b, 4)
			if ok && idx == 0 {
				b, ok = skipString(b)
			}
			if ok {
				b, ok = skipString(b)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// skipInt reads an HPACK integer with an n-bit prefix (RFC 7541 §5.1) at
// the start of b; false when b ends before it does or it is over 2^28.
func skipInt(b []byte, n uint) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	k := uint64(1)<<n - 1
	v := uint64(b[0]) & k
	if v < k {
		return v, b[1:], true
	}
	for i, shift := 1, uint(0); i < len(b) && i <= 4; i, shift = i+1, shift+7 {
		v += uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, b[i+1:], true
		}
	}
	return 0, nil, false
}

// skipString skips an HPACK string literal (RFC 7541 §5.2) at the start of
// b; false when b ends before it does.
func skipString(b []byte) ([]byte, bool) {
	n, b, ok := skipInt(b, 7)
	if !ok || n > uint64(len(b)) {
		return nil, false
	}
	return b[n:], true
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
	hb.cached, hb.checked = true, r.checked
	return true
}

// storeRequestBlock records the decoded request block frag, which leaves
// the table alone, unless it was malformed or over a limit (those take
// other paths, not worth a cache).
func (c *Conn) storeRequestBlock(frag []byte) {
	hb := &c.hb
	s := hb.st
	if hb.malformed || hb.status != 0 || len(frag) > maxCachedReqBlock || len(s.arena) > maxCachedReqArena {
		return
	}
	r := &c.rq
	r.ok, r.at, r.checked = true, r.gen, false
	hb.cached = true
	r.block = append(r.block[:0], frag...)
	r.arena = append(r.arena[:0], s.arena...)
	r.fields = append(r.fields[:0], s.fields...)
	r.method, r.scheme, r.path, r.auth = s.method, s.scheme, s.path, s.auth
	r.hosts, r.cookies, r.declared = s.hosts, s.cookies, s.declared
	r.size, r.nfields, r.regular = hb.size, hb.fields, hb.regular
}
