package h2

import (
	"bytes"
	"unsafe"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2/hpack"
)

// This file is HPACK (RFC 7541): field blocks in through
// golang.org/x/net/http2/hpack's Decoder, fed each fragment as it arrives,
// with the accounting that keeps a hostile block bounded; response heads out
// through an encoder of our own that allocates nothing.

// Field block kinds.
const (
	blockNone     = iota // no field block in progress
	blockDrop            // decode (to keep HPACK in sync) and drop
	blockRequest         // a new request's fields
	blockTrailers        // a request's trailer section: validated, dropped
)

// headerBlock is the field block being received, across HEADERS and
// CONTINUATION frames.
type headerBlock struct {
	kind      uint8
	id        uint32
	st        *stream
	end       bool // the HEADERS frame had END_STREAM
	wire      int  // encoded bytes so far, frame headers and padding included
	size      int  // decoded bytes, counted as HTTP/1.1 lines: name + value + 4
	fields    int  // regular fields
	regular   bool // a regular field was seen: no pseudo-field may follow
	status    int  // 414 or 431: answer that instead of serving
	malformed bool // RFC 9113 §8.1.1: a stream error PROTOCOL_ERROR
}

// fragment feeds one field block fragment (wire bytes of frame) to the
// decoder, and ends the block when end is set.
func (c *Conn) fragment(frag []byte, wire int, end bool) *Error {
	hb := &c.hb
	hb.wire += wire
	if hb.wire > c.cfg.maxHeaderWire() {
		return ErrHeaderFlood
	}
	if len(frag) > 0 {
		if _, err := c.dec.Write(frag); err != nil {
			return ErrCompression
		}
	}
	if !end {
		c.expect = expectContinuation
		return nil
	}
	c.expect = expectFrame
	return c.endBlock()
}

// stopFields stops emitting the rest of the block: its fate is decided.
// The decoder still runs over it, so the dynamic table stays in sync.
func (c *Conn) stopFields() { c.dec.SetEmitEnabled(false) }

// onField receives one decoded field of the current block (the decoder's
// emit function). It enforces the limits (the HPACK bomb: a few bytes that
// reference a large table entry many times count at their decoded size)
// and validates the field as it arrives (RFC 9113 §8.2, §8.3).
func (c *Conn) onField(f hpack.HeaderField) {
	hb := &c.hb
	if hb.kind != blockRequest && hb.kind != blockTrailers {
		return
	}
	name, value := f.Name, f.Value
	lim := &c.cfg.Limits
	pseudo := len(name) > 0 && name[0] == ':'
	if pseudo && name == ":path" {
		if len(value) > lim.MaxRequestLine {
			hb.status = 414
			c.stopFields()
			return
		}
	} else {
		hb.size += len(name) + len(value) + 4
		if !pseudo {
			hb.fields++
		}
		if hb.size > lim.MaxHeaderBytes || hb.fields > lim.MaxHeaders {
			hb.status = 431
			c.stopFields()
			return
		}
	}
	if !validValue(value) || (pseudo && hb.kind == blockTrailers) {
		c.malformed()
		return
	}
	if pseudo {
		if hb.regular {
			c.malformed()
			return
		}
		c.pseudoField(name, value)
		return
	}
	hb.regular = true
	if !validName(name) {
		c.malformed()
		return
	}
	if hb.kind == blockTrailers {
		return
	}
	s := hb.st
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		c.malformed() // RFC 9113 §8.2.2
		return
	case "te":
		if value != "trailers" {
			c.malformed()
			return
		}
	case "content-length":
		n, ok := parseContentLength(value)
		if !ok || (s.declared >= 0 && s.declared != n) {
			c.malformed()
			return
		}
		s.declared = n
	case "host":
		s.hosts++
	case "cookie":
		s.cookies++
	}
	ns := int32(len(s.arena))
	s.arena = append(s.arena, name...)
	vs := int32(len(s.arena))
	s.arena = append(s.arena, value...)
	s.fields = append(s.fields, fieldRef{ns, vs, vs, int32(len(s.arena))})
}

// pseudoField records a request pseudo-header field (RFC 9113 §8.3.1).
func (c *Conn) pseudoField(name, value string) {
	s := c.hb.st
	var sp *span
	switch name {
	case ":method":
		sp = &s.method
	case ":scheme":
		sp = &s.scheme
	case ":path":
		sp = &s.path
	case ":authority":
		sp = &s.auth
	default:
		c.malformed() // :status, :protocol (not enabled) or unknown
		return
	}
	if sp.s >= 0 {
		c.malformed() // duplicate
		return
	}
	sp.s = int32(len(s.arena))
	s.arena = append(s.arena, value...)
	sp.e = int32(len(s.arena))
}

// malformed marks the block's request malformed.
func (c *Conn) malformed() {
	c.hb.malformed = true
	c.stopFields()
}

// endBlock finishes the current field block.
func (c *Conn) endBlock() *Error {
	hb := c.hb
	c.hb = headerBlock{}
	if err := c.dec.Close(); err != nil {
		return ErrCompression
	}
	c.dec.SetEmitEnabled(true)
	s := hb.st
	switch hb.kind {
	case blockTrailers:
		switch {
		case hb.malformed:
			return c.resetStream(s, ErrCodeProtocol, true)
		case hb.status != 0:
			s.recvDone = true
			c.answer(s, hb.status)
			return nil
		}
		return c.endRequest(s, false)
	case blockRequest:
		if hb.malformed || (hb.status == 0 && !(c.checkRequest(s) && c.buildRequest(s))) {
			return c.resetStream(s, ErrCodeProtocol, true)
		}
		if hb.status == 0 && s.declared > c.cfg.Limits.MaxBody {
			hb.status = 413 // announced too large: answer before the body comes
		}
		if hb.status != 0 {
			s.recvDone = hb.end
			c.answer(s, hb.status)
			return nil
		}
		if hb.end {
			return c.endRequest(s, true)
		}
	}
	return nil
}

// Response field blocks. HPACK static table indexes (RFC 7541 Appendix A).
const (
	idxStatus = 8 // ":status: 200"; 9..14 are 204, 206, 304, 400, 404, 500
)

// staticName returns the static table index of a lower-case field name, 0
// for names not in it.
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

// appendResponseBlock appends the field block of resp: :status (from the
// status line at the start of resp.Head, else resp.Status), then each
// "Name: value" line of resp.Head and date, names lowercased, connection-
// specific fields dropped; a blank line ends the fields. Every field is a
// literal without indexing (the encoder never uses the dynamic table, so
// the peer's table size never matters), with a static-table name when
// there is one and a Huffman-coded value when that is shorter.
func appendResponseBlock(dst []byte, resp *httpcore.Response, date []byte) []byte {
	head := resp.Head
	status := resp.Status
	if len(head) >= 5 && string(head[:5]) == "HTTP/" {
		line, rest := cutLine(head)
		head = rest
		if sp := indexByte(line, ' '); sp >= 0 && len(line) >= sp+4 {
			if v, ok := atoi3(line[sp+1 : sp+4]); ok {
				status = v
			}
		}
	}
	dst = appendStatus(dst, status)
	dst = appendFieldLines(dst, head)
	return appendFieldLines(dst, date)
}

// appendStatus appends :status.
func appendStatus(dst []byte, status int) []byte {
	switch status {
	case 200:
		return append(dst, 0x80|idxStatus)
	case 204:
		return append(dst, 0x80|(idxStatus+1))
	case 206:
		return append(dst, 0x80|(idxStatus+2))
	case 304:
		return append(dst, 0x80|(idxStatus+3))
	case 400:
		return append(dst, 0x80|(idxStatus+4))
	case 404:
		return append(dst, 0x80|(idxStatus+5))
	case 500:
		return append(dst, 0x80|(idxStatus+6))
	}
	if status < 100 || status > 999 {
		status = 500
	}
	// Literal without indexing, indexed name ":status" (8).
	return append(dst, idxStatus, 3, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10))
}

// appendFieldLines appends the fields of "Name: value\r\n" lines.
func appendFieldLines(dst, lines []byte) []byte {
	var lower [64]byte
	for len(lines) > 0 {
		var line []byte
		line, lines = cutLine(lines)
		if len(line) == 0 {
			break // the blank line that ends a head
		}
		colon := indexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if len(name) <= len(lower) {
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
			if idx := staticName(ln); idx != 0 {
				dst = appendVarInt(dst, 4, 0x00, idx)
				dst = appendString(dst, value)
				continue
			}
			dst = append(dst, 0x00)
			dst = appendString(dst, ln)
		} else {
			dst = append(dst, 0x00)
			dst = appendVarInt(dst, 7, 0x00, uint64(len(name)))
			for _, b := range name {
				if 'A' <= b && b <= 'Z' {
					b += 'a' - 'A'
				}
				dst = append(dst, b)
			}
		}
		dst = appendString(dst, value)
	}
	return dst
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
	i := indexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

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
