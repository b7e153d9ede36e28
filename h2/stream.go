package h2

import "github.com/ringhttpd/ringhttpd/httpcore"

// This file holds stream states and the send path: Respond plans a
// response, Flush frames it within both flow-control windows.

// span is a byte range of a stream's arena; s < 0 means absent.
type span struct{ s, e int32 }

// noSpan is an absent span.
var noSpan = span{-1, -1}

// fieldRef is a regular field of a request: name and value in the arena.
type fieldRef struct{ ns, ne, vs, ve int32 }

// stream is one open or half-closed (remote) stream (RFC 9113 §5.1).
// Closed streams are not kept: Conn.classify knows what a closed id was.
//
// Invariants: dispatched streams have recvDone and no response yet;
// responded streams have a response plan (status, htext, parts) and the host no
// longer holds them; file is nil or the FileRef the plan reads, owned here
// until its last segment goes to a Sink with release=true.
type stream struct {
	id uint32

	recvDone   bool // END_STREAM received: half-closed (remote)
	dispatched bool // the Host holds the request and owes Respond
	responded  bool // a response is planned
	served     bool // the response comes from the Host (not an internal answer)
	discard    bool // the request body is dropped: an answer is planned
	queued     bool // in Conn.sendq
	headSent   bool // HEADERS went to a Sink
	sendDone   bool // END_STREAM went to a Sink

	sendWin     int64 // what we may send (peer's window; may be negative)
	recvWin     int64 // what the peer may still send
	recvPending int64 // buffered bytes not yet given back

	// Request.
	arena     []byte // decoded field names and values
	fields    []fieldRef
	method    span
	scheme    span
	path      span
	auth      span
	hosts     int
	cookies   int
	cookieVal span  // the joined cookie fields, when there are several
	declared  int64 // content-length; -1 when absent
	got       int64 // body bytes received
	body      []byte

	// Response.
	status   int              // response status
	htext    []byte           // response field lines (resp.Head's after the status line, and the date)
	parts    []httpcore.Part  // body pieces left to frame (empty ones dropped)
	pi       int              // current part
	left     int64            // body bytes left to frame
	file     httpcore.FileRef // read by file parts
	lastFile int              // index of the last part that reads file; -1 for none
	fileOut  bool             // a segment of file went to a Sink
}

// Memory a pooled stream keeps between uses, and how many a Conn pools.
const (
	maxFreeStreams = 32
	maxKeepBody    = 64 << 10
	maxKeepArena   = 16 << 10
)

// stream returns the open stream id, or nil.
func (c *Conn) stream(id uint32) *stream {
	if s := c.last; s != nil && s.id == id {
		return s
	}
	for _, s := range c.streams {
		if s.id == id {
			c.last = s
			return s
		}
	}
	return nil
}

// newStream opens stream id from the free list.
func (c *Conn) newStream(id uint32) *stream {
	var s *stream
	if k := len(c.free); k > 0 {
		s = c.free[k-1]
		c.free[k-1] = nil
		c.free = c.free[:k-1]
	} else {
		s = new(stream)
	}
	recvWin := int64(defaultWindow)
	if c.settingsAcked {
		recvWin = int64(c.cfg.InitialWindowSize)
	}
	// Cleared in place, then set: a composite literal here is built on
	// the stack and copied over (400 bytes, on every request).
	arena, fields, body, htext, parts := s.arena[:0], s.fields[:0], s.body[:0], s.htext[:0], s.parts[:0]
	*s = stream{}
	s.id, s.sendWin, s.recvWin = id, c.peerWindow, recvWin
	s.arena, s.fields, s.body, s.htext, s.parts = arena, fields, body, htext, parts
	s.method, s.scheme, s.path, s.auth, s.cookieVal = noSpan, noSpan, noSpan, noSpan, noSpan
	s.declared, s.lastFile = -1, -1
	c.streams = append(c.streams, s)
	c.last = s
	return s
}

// closeStream closes s: it leaves the stream table and the send queue, the
// host is told if it holds s, s's file is released, and s returns to the
// free list.
func (c *Conn) closeStream(s *stream) {
	for i, t := range c.streams {
		if t == s {
			last := len(c.streams) - 1
			c.streams[i] = c.streams[last]
			c.streams[last] = nil
			c.streams = c.streams[:last]
			break
		}
	}
	if c.last == s {
		c.last = nil
	}
	if s.queued {
		for i, t := range c.sendq {
			if t == s {
				c.sendq = append(c.sendq[:i], c.sendq[i+1:]...)
				break
			}
		}
		s.queued = false
	}
	if s.dispatched {
		s.dispatched = false
		if c.host != nil {
			c.host.Cancel(s.id)
		}
	}
	if s.file != nil {
		if s.fileOut {
			c.releases = append(c.releases, s.file)
		} else {
			s.file.Release()
		}
		s.file = nil
	}
	c.dropBody(s)
	if cap(s.body) > maxKeepBody {
		s.body = nil
	}
	if cap(s.arena) > maxKeepArena {
		s.arena, s.fields = nil, nil
	}
	clear(s.parts[:cap(s.parts)]) // drop references to response memory
	if len(c.free) < maxFreeStreams {
		c.free = append(c.free, s)
	}
}

// dropBody frees the request body s buffered.
func (c *Conn) dropBody(s *stream) {
	c.bodyBytes -= int64(len(s.body))
	s.body = s.body[:0]
	s.discard = true
}

// rememberReset records id as reset by us: frames the peer sent before it
// saw the RST_STREAM are dropped quietly.
func (c *Conn) rememberReset(id uint32) {
	c.resetIDs[c.resetAt] = id
	c.resetAt = (c.resetAt + 1) % len(c.resetIDs)
}

// resetStream sends RST_STREAM with code for s and closes it. peer says the
// peer caused it: it is charged to the reset budget (CVE-2025-8671).
func (c *Conn) resetStream(s *stream, code ErrCode, peer bool) *Error {
	c.ctl = appendRSTStream(c.ctl, s.id, code)
	c.rememberReset(s.id)
	c.closeStream(s)
	if peer {
		return c.spendReset()
	}
	return nil
}

// resetID sends RST_STREAM with code for id, which has no open stream,
// because of what the peer sent.
func (c *Conn) resetID(id uint32, code ErrCode) *Error {
	c.ctl = appendRSTStream(c.ctl, id, code)
	c.rememberReset(id)
	return c.spendReset()
}

// endRequest handles END_STREAM on s: the request is complete. built says
// c.req holds s's request already.
func (c *Conn) endRequest(s *stream, built bool) *Error {
	s.recvDone = true
	if s.discard {
		return nil // answered already; s closes once the answer is out
	}
	if s.declared >= 0 && s.got != s.declared {
		return c.resetStream(s, ErrCodeProtocol, true) // malformed (RFC 9113 §8.1.1)
	}
	c.dispatch(s, built)
	return nil
}

// answer plans an internal answer (413, 414, 431) for s and drops the rest
// of its request. If the request has not ended, RST_STREAM(NO_ERROR)
// follows the answer (RFC 9113 §8.1).
func (c *Conn) answer(s *stream, status int) {
	c.dropBody(s)
	r := &c.eresp
	r.Reset()
	httpcore.WriteError(r, status)
	c.plan(s, r, false, c.date)
	r.Reset()
}

// Respond answers stream id, which the host got through Host.Request. It
// encodes resp.Head (the status line and "Name: value\r\n" lines, without
// the blank line) and date (a "Date: ...\r\n" line, may be nil) as one
// field block, lowercasing names and dropping connection-specific fields,
// and takes resp's body plan: Parts, else File/Off/Len, else Body; none when
// noBody (HEAD, 1xx, 204, 304). The stream takes over resp.File; Body and
// Parts' Bytes must stay valid until sent (httpcore's rule). The caller
// resets resp afterwards. A stream that was cancelled meanwhile just
// releases resp.File.
func (c *Conn) Respond(id uint32, resp *httpcore.Response, noBody bool, date []byte) {
	s := c.stream(id)
	if s == nil || !s.dispatched {
		if resp.File != nil {
			resp.File.Release()
		}
		return
	}
	s.dispatched = false
	s.served = true
	if len(date) > 0 {
		c.date = append(c.date[:0], date...)
	}
	c.plan(s, resp, noBody, date)
}

// plan sets s's response from resp and queues s for sending.
func (c *Conn) plan(s *stream, resp *httpcore.Response, noBody bool, date []byte) {
	// The field block is encoded when it is sent: blocks use the dynamic
	// table in the order the peer decodes them.
	status, lines := responseText(resp.Head, resp.Status)
	s.status = status
	s.htext = append(append(s.htext[:0], lines...), date...)
	s.parts, s.pi, s.left, s.lastFile = s.parts[:0], 0, 0, -1
	s.file = resp.File
	if !noBody {
		switch {
		case len(resp.Parts) > 0:
			for _, p := range resp.Parts {
				s.addPart(p)
			}
		case resp.File != nil:
			s.addPart(httpcore.Part{Off: resp.Off, Len: resp.Len})
		default:
			s.addPart(httpcore.Part{Bytes: resp.Body})
		}
	}
	if s.file != nil && s.lastFile < 0 {
		s.file.Release()
		s.file = nil
	}
	s.responded = true
	c.enqueue(s)
}

// addPart appends a body piece, dropping empty ones and file ranges
// without a file.
func (s *stream) addPart(p httpcore.Part) {
	switch {
	case p.Bytes != nil:
		if len(p.Bytes) == 0 {
			return
		}
		s.left += int64(len(p.Bytes))
	case p.Len > 0 && s.file != nil:
		s.lastFile = len(s.parts)
		s.left += p.Len
	default:
		return
	}
	s.parts = append(s.parts, p)
}

// enqueue puts s at the back of the send queue.
func (c *Conn) enqueue(s *stream) {
	if !s.queued {
		s.queued = true
		c.sendq = append(c.sendq, s)
	}
}

// wake queues s again if it has body bytes and send window.
func (c *Conn) wake(s *stream) {
	if s.responded && !s.sendDone && s.left > 0 && s.sendWin > 0 {
		c.enqueue(s)
	}
}

// Flush writes pending output into out until out.Buffered() reaches
// budget: control frames first, then the streams' HEADERS and DATA in turn
// (one frame per stream per round), within both send windows and the
// peer's SETTINGS_MAX_FRAME_SIZE. It returns true when it stopped for the
// budget with output left (call again once out drains); false when nothing
// is left or what is left waits for the peer's WINDOW_UPDATE (see Stalled).
// After a connection error only the control frames (ending with GOAWAY) and
// file releases are written.
func (c *Conn) Flush(out Sink, budget int64) bool {
	if len(c.ctl) > 0 {
		if c.err == nil && out.Buffered() >= budget {
			return true
		}
		out.Write(c.ctl)
		c.ctl = c.ctl[:0]
	}
	for i, f := range c.releases {
		out.WriteFile(f, 0, 0, true)
		c.releases[i] = nil
	}
	c.releases = c.releases[:0]
	if c.err != nil {
		return false
	}
	for len(c.sendq) > 0 {
		progress := false
		kept := c.sendq2[:0]
		i := 0
		for ; i < len(c.sendq); i++ {
			if out.Buffered() >= budget {
				break
			}
			s := c.sendq[i]
			did, keep := c.sendStep(out, s)
			progress = progress || did
			if keep {
				kept = append(kept, s)
			}
		}
		// Round-robin: streams not visited go first next time.
		stopped := i < len(c.sendq)
		n := copy(c.sendq, c.sendq[i:])
		clear(c.sendq[n:])
		c.sendq = append(c.sendq[:n], kept...)
		clear(kept)
		c.sendq2 = kept[:0]
		if stopped {
			return true
		}
		if !progress {
			return false
		}
	}
	return false
}

// sendStep writes s's HEADERS if not yet sent and then at most one DATA
// frame. did says something was written; keep says s stays queued.
func (c *Conn) sendStep(out Sink, s *stream) (did, keep bool) {
	if !s.headSent {
		c.writeHeaders(out, s)
		s.headSent = true
		did = true
		if s.left == 0 {
			c.sendDone(out, s)
			return did, false
		}
	}
	if s.sendWin <= 0 {
		s.queued = false // wake re-queues it on WINDOW_UPDATE or SETTINGS
		return did, false
	}
	if c.sendWin <= 0 {
		return did, true
	}
	c.writeData(out, s)
	if s.left == 0 {
		c.sendDone(out, s)
		return true, false
	}
	return true, true
}

// writeHeaders encodes s's field block and writes it as HEADERS and
// CONTINUATION frames.
func (c *Conn) writeHeaders(out Sink, s *stream) {
	c.hblk = c.enc.appendBlock(c.hblk[:0], s.status, s.htext)
	block := c.hblk
	max := int(c.peerMaxFrame)
	typ := FrameHeaders
	var flags uint8
	if s.left == 0 {
		flags = flagEndStream
	}
	b := c.hbuf[:0]
	for {
		n := min(len(block), max)
		if n == len(block) {
			flags |= flagEndHeaders
		}
		b = appendFrameHeader(b, n, typ, flags, s.id)
		b = append(b, block[:n]...)
		block = block[n:]
		if len(block) == 0 {
			break
		}
		typ, flags = FrameContinuation, 0
	}
	out.Write(b)
	c.hbuf = b[:0]
}

// writeData writes one DATA frame of s: as much of the current part as
// both windows and the peer's frame size allow.
func (c *Conn) writeData(out Sink, s *stream) {
	p := &s.parts[s.pi]
	n := min(s.sendWin, c.sendWin, c.peerMaxFrame)
	if d := int64(c.cfg.DataFrameSize); d > 0 {
		n = min(n, d)
	}
	if p.Bytes != nil {
		n = min(n, int64(len(p.Bytes)))
	} else {
		n = min(n, p.Len)
	}
	var flags uint8
	if n == s.left {
		flags = flagEndStream
	}
	putFrameHeader(c.head[:], int(n), FrameData, flags, s.id)
	out.Write(c.head[:])
	if p.Bytes != nil {
		out.WriteRef(p.Bytes[:n:n])
		p.Bytes = p.Bytes[n:]
		if len(p.Bytes) == 0 {
			s.pi++
		}
	} else {
		release := s.pi == s.lastFile && n == p.Len
		out.WriteFile(s.file, p.Off, n, release)
		s.fileOut = true
		if release {
			s.file = nil
		}
		p.Off += n
		p.Len -= n
		if p.Len == 0 {
			s.pi++
		}
	}
	s.left -= n
	s.sendWin -= n
	c.sendWin -= n
}

// sendDone ends s once END_STREAM is written: closed if the request ended
// too, else reset with NO_ERROR so the peer stops sending (RFC 9113 §8.1).
func (c *Conn) sendDone(out Sink, s *stream) {
	s.sendDone = true
	s.queued = false
	if !s.recvDone {
		var b [frameHeaderLen + rstStreamLen]byte
		out.Write(appendRSTStream(b[:0], s.id, ErrCodeNo))
		c.rememberReset(s.id)
	} else if s.served {
		c.resets = min(c.resets+1, c.cfg.ResetBudget)
		c.junk = min(c.junk+max(1, c.cfg.JunkBudget/64), c.cfg.JunkBudget)
	}
	c.closeStream(s)
}

// Stalled reports whether output is pending but none can be sent until the
// peer opens a flow-control window (the zero-window slow read): the server
// runs its send timeout while it is true.
func (c *Conn) Stalled() bool {
	if len(c.ctl) > 0 || len(c.releases) > 0 || c.err != nil {
		return false
	}
	pending := false
	for _, s := range c.streams {
		if !s.responded || s.sendDone {
			continue
		}
		if !s.headSent {
			return false
		}
		if s.left > 0 {
			if s.sendWin > 0 && c.sendWin > 0 {
				return false
			}
			pending = true
		}
	}
	return pending
}
