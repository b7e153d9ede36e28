package h2

import (
	"bytes"
	"unsafe"

	"golang.org/x/net/http2/hpack"
)

// This file is the response field block encoder (RFC 7541). Fields that
// repeat across responses (server, content-type, vary, cache-control, the
// date of the current second...) enter the dynamic table once and go out as
// one-byte references after that. Fields that describe one resource (etag,
// last-modified, content-length) enter it the second time the connection
// sends them (the encoder remembers the last few it sent as literals): a
// resource asked for again and again costs references from its third
// answer on, and a page of assets each asked for once evicts nothing.
// Fields that differ per response (content-range, set-cookie, location...)
// are literals that never enter it. Nothing allocates once the table's
// arena has grown.

// maxEncTable bounds the dynamic table the encoder uses, whatever the peer
// allows (RFC 7541's default, 4096).
const maxEncTable = defaultHeaderTable

// seenLen is how many per-resource fields sent once the encoder remembers.
const seenLen = 8

// encEntry is one dynamic table entry: name and value at off in the arena.
type encEntry struct {
	off, nlen, vlen int32
}

// encoder mirrors the peer's decoder table for the entries we insert.
//
// Invariants: ents[first:] are the live entries, oldest first; size is
// their RFC 7541 size (name + value + 32 each) and never exceeds max; the
// arena holds their bytes at their offsets.
type encoder struct {
	max     int // table size in use
	size    int
	ents    []encEntry
	first   int
	arena   []byte
	peerMax int  // the peer's SETTINGS_HEADER_TABLE_SIZE, capped at maxEncTable
	lowest  int  // smallest peerMax since the last block (for the size updates)
	update  bool // the next block starts with size updates

	// seen holds hashes of the per-resource fields last sent as literals
	// (seenNext is the slot to overwrite): one sent again enters the table.
	seen     [seenLen]uint64
	seenNext int

	// gen identifies the encoder's state (table and seen): it changes on
	// every insertion, eviction, size change and seen entry, and never
	// repeats within the encoder's life (reset keeps counting), so equal
	// gens mean equal states.
	gen   uint64
	cache [blockCacheLen]cachedBlock
	next  int // the cache slot to reuse when none is stale
}

// reset empties the table for a new connection (the peer's starts at 4096).
func (e *encoder) reset() {
	*e = encoder{max: maxEncTable, peerMax: maxEncTable, lowest: maxEncTable,
		ents: e.ents[:0], arena: e.arena[:0], gen: e.gen + 1, cache: e.cache}
}

// setPeerMax applies the peer's SETTINGS_HEADER_TABLE_SIZE.
func (e *encoder) setPeerMax(v uint32) {
	m := int(min(v, maxEncTable))
	e.peerMax = m
	e.lowest = min(e.lowest, m)
	e.update = true
}

// startBlock appends the size updates a block must start with after the
// peer changed its table size. RFC 7541 §4.2 wants the smallest size since
// the last block signalled first when the size dipped and rose again; that
// one is 0 here (an empty table: x/net's decoder refuses a second update
// while entries remain), then the final size.
func (e *encoder) startBlock(dst []byte) []byte {
	if !e.update {
		return dst
	}
	e.update = false
	if e.lowest < e.max && e.lowest < e.peerMax {
		e.resize(0)
		dst = append(dst, 0x20)
	}
	e.resize(e.peerMax)
	e.lowest = e.peerMax
	return appendVarInt(dst, 5, 0x20, uint64(e.peerMax))
}

// resize sets the table size, evicting entries that no longer fit.
func (e *encoder) resize(m int) {
	e.gen++
	e.max = m
	e.evict(0)
}

// evict drops the oldest entries until room bytes fit.
func (e *encoder) evict(room int) {
	for e.size+room > e.max && e.first < len(e.ents) {
		x := e.ents[e.first]
		e.size -= int(x.nlen+x.vlen) + 32
		e.first++
	}
	if e.first == len(e.ents) {
		e.ents, e.first, e.arena = e.ents[:0], 0, e.arena[:0]
	}
}

// add inserts name: value (RFC 7541 §4.4). The caller checked it fits.
func (e *encoder) add(name, value []byte) {
	sz := len(name) + len(value) + 32
	e.gen++
	e.evict(sz)
	if len(e.arena)+len(name)+len(value) > 2*maxEncTable {
		e.compact()
	}
	off := int32(len(e.arena))
	e.arena = append(e.arena, name...)
	e.arena = append(e.arena, value...)
	if e.first > 0 && len(e.ents) == cap(e.ents) {
		n := copy(e.ents, e.ents[e.first:])
		e.ents, e.first = e.ents[:n], 0
	}
	e.ents = append(e.ents, encEntry{off, int32(len(name)), int32(len(value))})
	e.size += sz
}

// compact moves the live entries' bytes to the start of the arena.
func (e *encoder) compact() {
	w := int32(0)
	for i := e.first; i < len(e.ents); i++ {
		x := &e.ents[i]
		n := x.nlen + x.vlen
		copy(e.arena[w:], e.arena[x.off:x.off+n])
		x.off = w
		w += n
	}
	e.arena = e.arena[:w]
}

// find returns the HPACK index of the entry name: value, 0 when absent.
func (e *encoder) find(name, value []byte) uint64 {
	for i := len(e.ents) - 1; i >= e.first; i-- {
		x := e.ents[i]
		if int(x.nlen) != len(name) || int(x.vlen) != len(value) {
			continue
		}
		b := e.arena[x.off : x.off+x.nlen+x.vlen]
		if bytes.Equal(b[:x.nlen], name) && bytes.Equal(b[x.nlen:], value) {
			return uint64(62 + len(e.ents) - 1 - i)
		}
	}
	return 0
}

// Indexing decisions for a response field (index).
const (
	litOnly  = iota // a literal that never enters the table
	addNow          // a literal that enters the table
	addTwice        // a literal that enters the table when sent a second time
)

// index says whether a response field is worth a table entry: not one
// whose value is per response, nor one too big to leave room for the
// others; one whose value is per resource only once it repeats.
func (e *encoder) index(name, value []byte) int {
	if len(name)+len(value)+32 > e.max/4 {
		return litOnly
	}
	switch string(name) {
	case "content-length", "etag", "last-modified":
		return addTwice
	case "content-range", "location", "set-cookie", "age", "expires", "content-disposition",
		"retry-after", "www-authenticate", "refresh", "link":
		return litOnly
	}
	return addNow
}

// sentBefore reports whether name: value is among the per-resource fields
// recently sent as literals, and remembers it when it is not.
func (e *encoder) sentBefore(name, value []byte) bool {
	h := uint64(14695981039346656037) // FNV-1a
	for _, b := range name {
		h = (h ^ uint64(b)) * 1099511628211
	}
	h = (h ^ ':') * 1099511628211
	for _, b := range value {
		h = (h ^ uint64(b)) * 1099511628211
	}
	for _, x := range e.seen {
		if x == h {
			return true
		}
	}
	e.seen[e.seenNext] = h
	e.seenNext = (e.seenNext + 1) % seenLen
	e.gen++ // a block that changed seen must not be replayed from the cache
	return false
}

// field appends one field: a reference when the table has it, else a
// literal (entering the table when index says so) with a static-table
// name when there is one (nameIdx) and a Huffman-coded value when shorter.
func (e *encoder) field(dst, name, value []byte, nameIdx uint64) []byte {
	if i := e.find(name, value); i != 0 {
		return appendVarInt(dst, 7, 0x80, i)
	}
	how := e.index(name, value)
	if how == addNow || how == addTwice && e.sentBefore(name, value) {
		// Literal with incremental indexing (RFC 7541 §6.2.1).
		if nameIdx != 0 {
			dst = appendVarInt(dst, 6, 0x40, nameIdx)
		} else {
			dst = append(dst, 0x40)
			dst = appendString(dst, name)
		}
		e.add(name, value)
		return appendString(dst, value)
	}
	// Literal without indexing (RFC 7541 §6.2.2).
	if nameIdx != 0 {
		dst = appendVarInt(dst, 4, 0x00, nameIdx)
	} else {
		dst = append(dst, 0x00)
		dst = appendString(dst, name)
	}
	return appendString(dst, value)
}

var statusName = []byte(":status")

// appendBlock appends the field block of a response: :status, then the
// fields of lines ("Name: value\r\n" lines, as responseText keeps them),
// names lowercased, connection-specific fields dropped, a blank line ending
// them.
//
// A block whose encoding left the table as it was is kept in the block
// cache: the same status and lines on the same table encode to the same
// bytes and again leave the table alone, so they are copied from there.
func (e *encoder) appendBlock(dst []byte, status int, lines []byte) []byte {
	if !e.update {
		if b := e.cached(status, lines); b != nil {
			return append(dst, b...)
		}
	}
	dst = e.startBlock(dst)
	gen, start := e.gen, len(dst)
	dst = e.encode(dst, status, lines)
	if e.gen == gen {
		e.store(status, lines, dst[start:])
	}
	return dst
}

// encode appends the fields of a block (appendBlock's, after the size
// updates).
func (e *encoder) encode(dst []byte, status int, lines []byte) []byte {
	dst = e.status(dst, status)
	var lower [64]byte
	for len(lines) > 0 {
		var line []byte
		line, lines = cutLine(lines)
		if len(line) == 0 {
			break // the blank line that ends a head
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if len(name) > len(lower) {
			// Longer than any name worth a table entry: a literal.
			dst = append(dst, 0x00)
			dst = appendVarInt(dst, 7, 0x00, uint64(len(name)))
			for _, b := range name {
				if 'A' <= b && b <= 'Z' {
					b += 'a' - 'A'
				}
				dst = append(dst, b)
			}
			dst = appendString(dst, value)
			continue
		}
		ln := lower[:len(name)]
		for i, b := range name {
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			ln[i] = b
		}
		if dropResponseField(ln) {
			continue
		}
		dst = e.field(dst, ln, value, staticName(ln))
	}
	return dst
}

// status appends :status: the static table has 200, 204, 206, 304, 400,
// 404 and 500; other codes are fields like any other.
func (e *encoder) status(dst []byte, status int) []byte {
	switch status {
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	if status < 100 || status > 999 {
		status = 500
	}
	v := [3]byte{byte('0' + status/100), byte('0' + status/10%10), byte('0' + status%10)}
	return e.field(dst, statusName, v[:], 8)
}

// responseText splits resp.Head into the status (its status line's code,
// else fallback) and the field lines after the status line.
func responseText(head []byte, fallback int) (status int, lines []byte) {
	status = fallback
	if len(head) >= 5 && string(head[:5]) == "HTTP/" {
		line, rest := cutLine(head)
		head = rest
		if sp := bytes.IndexByte(line, ' '); sp >= 0 && len(line) >= sp+4 {
			if v, ok := atoi3(line[sp+1 : sp+4]); ok {
				status = v
			}
		}
	}
	return status, head
}

// appendString appends an HPACK string literal, Huffman-coded when shorter.
func appendString(dst, s []byte) []byte {
	str := unsafe.String(unsafe.SliceData(s), len(s)) // read only during the calls
	if h := hpack.HuffmanEncodeLength(str); h < uint64(len(s)) {
		dst = appendVarInt(dst, 7, 0x80, h)
		return hpack.AppendHuffmanString(dst, str)
	}
	dst = appendVarInt(dst, 7, 0x00, uint64(len(s)))
	return append(dst, s...)
}

// appendVarInt appends i as an HPACK integer with an n-bit prefix whose
// other bits are first (RFC 7541 §5.1).
func appendVarInt(dst []byte, n uint, first byte, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(dst, first|byte(i))
	}
	dst = append(dst, first|byte(k))
	i -= k
	for ; i >= 128; i >>= 7 {
		dst = append(dst, byte(0x80|(i&0x7f)))
	}
	return append(dst, byte(i))
}

// cutLine splits b after its first LF; line excludes the CRLF or LF.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

// trimOWS trims spaces and tabs around b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// atoi3 parses three decimal digits.
func atoi3(b []byte) (int, bool) {
	v := 0
	for _, c := range b[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// staticName returns the static table index of a lower-case response
// field name, 0 for names not in it (RFC 7541 Appendix A).
func staticName(name []byte) uint64 {
	switch string(name) {
	case "accept-ranges":
		return 18
	case "access-control-allow-origin":
		return 20
	case "age":
		return 21
	case "allow":
		return 22
	case "cache-control":
		return 24
	case "content-disposition":
		return 25
	case "content-encoding":
		return 26
	case "content-language":
		return 27
	case "content-length":
		return 28
	case "content-location":
		return 29
	case "content-range":
		return 30
	case "content-type":
		return 31
	case "date":
		return 33
	case "etag":
		return 34
	case "expires":
		return 36
	case "last-modified":
		return 44
	case "link":
		return 45
	case "location":
		return 46
	case "proxy-authenticate":
		return 48
	case "refresh":
		return 52
	case "retry-after":
		return 53
	case "server":
		return 54
	case "set-cookie":
		return 55
	case "strict-transport-security":
		return 56
	case "vary":
		return 59
	case "via":
		return 60
	case "www-authenticate":
		return 61
	}
	return 0
}

// dropResponseField reports whether a lower-case response field name is
// connection-specific (RFC 9113 §8.2.2) and so never sent over HTTP/2.
func dropResponseField(name []byte) bool {
	switch string(name) {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te":
		return true
	}
	return false
}
