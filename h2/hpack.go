package h2

import "golang.org/x/net/http2/hpack"

// This file is HPACK decoding (RFC 7541): field blocks in through
// golang.org/x/net/http2/hpack's Decoder, fed each fragment as it arrives,
// with the accounting that keeps a hostile block bounded. Response blocks
// are encoder.go's.

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
	// cached: the block is the request block cache's (loaded or stored);
	// checked: loaded, and its fields passed checkRequest and AddField
	// before, so they pass again (reqCache.checked).
	cached, checked bool
}

// fragment feeds one field block fragment (wire bytes of frame) to the
// decoder, and ends the block when end is set.
func (c *Conn) fragment(frag []byte, wire int, end bool) *Error {
	hb := &c.hb
	// A whole request block (one HEADERS frame) that leaves the table alone
	// may come from the request block cache, or go to it.
	cacheable := end && hb.wire == 0 && hb.kind == blockRequest
	hb.wire += wire
	if hb.wire > c.cfg.maxHeaderWire() {
		return ErrHeaderFlood
	}
	if len(frag) > 0 && !(cacheable && c.loadRequestBlock(frag)) {
		neutral := cacheable && tableNeutral(frag)
		if !neutral {
			c.rq.gen++ // the block may change the decoder's table
		}
		if _, err := c.dec.Write(frag); err != nil {
			return ErrCompression
		}
		if neutral {
			c.storeRequestBlock(frag)
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
		if hb.malformed || (hb.status == 0 && !((hb.checked || c.checkRequest(s)) && c.buildRequest(s, hb.checked))) {
			return c.resetStream(s, ErrCodeProtocol, true)
		}
		if hb.cached && !hb.checked && hb.status == 0 {
			c.rq.checked = true // the cache holds this block: it passed
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
		if c.req.Expect100 {
			c.continue100(s.id)
		}
	}
	return nil
}

// continue100 queues an interim 100 (Continue) response for stream id,
// whose client waits for it before sending the body (RFC 9110 §10.1.1).
// It goes with the control frames, so before the final response's HEADERS;
// it is encoded now, in wire order like every block.
func (c *Conn) continue100(id uint32) {
	blk := c.enc.startBlock(c.hblk[:0])
	blk = append(blk, 0x08, 3, '1', '0', '0') // :status 100, literal without indexing
	c.ctl = appendFrameHeader(c.ctl, len(blk), FrameHeaders, flagEndHeaders, id)
	c.ctl = append(c.ctl, blk...)
	c.hblk = blk[:0]
}
