package h2

import (
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2/hpack"
)

// Sink receives a connection's output in order. The server's output queue
// implements it.
type Sink interface {
	// Write queues a copy of p; p may be reused after Write returns.
	Write(p []byte)
	// WriteRef queues p by reference: p stays unchanged until it is sent
	// (response bodies: httpcore.Response's Body and Parts' Bytes are
	// valid until the response is sent). A Sink may copy small ones.
	WriteRef(p []byte)
	// WriteFile queues n bytes at off of f. release=true marks the last use
	// of f: the engine calls f.Release() once those bytes are sent or
	// dropped. n may be 0 with release=true (release only, in order).
	WriteFile(f httpcore.FileRef, off, n int64, release bool)
	// Buffered returns the bytes queued and not yet sent.
	Buffered() int64
}

// Host is how a Conn hands complete requests to the server, which runs the
// Handler and its Ops and later calls Respond. Host methods run inside Feed
// (or Release); they may call Respond and GoAway but not Feed, Flush or
// Release.
type Host interface {
	// Request: stream id's request is complete (END_STREAM seen, the body
	// collected). req and its slices are valid only during the call.
	Request(id uint32, req *httpcore.Request)
	// Cancel: a stream the host holds was reset (by the peer, or by the
	// connection's own defenses, or because the connection failed or was
	// released); the host drops its work and does not call Respond for it.
	Cancel(id uint32)
}

// Error is a connection error (RFC 9113 §5.4.1). When Feed returns one, a
// GOAWAY frame with Code is already queued: the server flushes and closes.
// The values below are shared: compare with errors.Is, never modify them.
type Error struct {
	Code   ErrCode
	Reason string
}

// Error returns "h2: CODE: reason".
func (e *Error) Error() string { return "h2: " + e.Code.String() + ": " + e.Reason }

// The connection errors Feed returns.
var (
	ErrPreface          = &Error{ErrCodeProtocol, "invalid connection preface"}
	ErrFirstSettings    = &Error{ErrCodeProtocol, "first frame is not SETTINGS"}
	ErrFrameSize        = &Error{ErrCodeFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE"}
	ErrFrameLength      = &Error{ErrCodeFrameSize, "frame length invalid for its type"}
	ErrStreamZero       = &Error{ErrCodeProtocol, "frame needs a stream"}
	ErrStreamNonZero    = &Error{ErrCodeProtocol, "connection frame on a stream"}
	ErrPadding          = &Error{ErrCodeProtocol, "padding exceeds payload"}
	ErrIdleStream       = &Error{ErrCodeProtocol, "frame on an idle stream"}
	ErrStreamID         = &Error{ErrCodeProtocol, "invalid new stream id"}
	ErrClosedStream     = &Error{ErrCodeStreamClosed, "HEADERS on a closed stream"}
	ErrSelfDependency   = &Error{ErrCodeProtocol, "stream depends on itself"}
	ErrContinuation     = &Error{ErrCodeProtocol, "CONTINUATION expected"}
	ErrUnexpectedCont   = &Error{ErrCodeProtocol, "unexpected CONTINUATION"}
	ErrPushPromise      = &Error{ErrCodeProtocol, "PUSH_PROMISE from a client"}
	ErrSettingValue     = &Error{ErrCodeProtocol, "invalid SETTINGS value"}
	ErrWindowSetting    = &Error{ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE too large"}
	ErrWindowZero       = &Error{ErrCodeProtocol, "WINDOW_UPDATE with zero increment"}
	ErrWindowOverflow   = &Error{ErrCodeFlowControl, "flow-control window above 2^31-1"}
	ErrConnFlow         = &Error{ErrCodeFlowControl, "DATA beyond the connection window"}
	ErrCompression      = &Error{ErrCodeCompression, "HPACK decoding failed"}
	ErrHeaderFlood      = &Error{ErrCodeEnhanceYourCalm, "field block too large"}
	ErrResetFlood       = &Error{ErrCodeEnhanceYourCalm, "too many reset streams"}
	ErrJunkFlood        = &Error{ErrCodeEnhanceYourCalm, "too many frames that do no work"}
	ErrControlFlood     = &Error{ErrCodeEnhanceYourCalm, "too many queued control frames"}
	ErrStreamsExhausted = &Error{ErrCodeNo, "stream ids exhausted"}
)

// Input states: Conn.expect is one of these.
var (
	expectPreface      func(*Conn, []byte) (int, *Error)
	expectSettings     func(*Conn, []byte) (int, *Error)
	expectFrame        func(*Conn, []byte) (int, *Error)
	expectContinuation func(*Conn, []byte) (int, *Error)
)

// frameHandlers handles each known frame type in the default state,
// indexed by type (h2o's lib/http2/connection.c shape).
var frameHandlers [frameTypeCount]func(c *Conn, h frameHeader, p []byte) *Error

func init() {
	expectPreface = (*Conn).inPreface
	expectSettings = (*Conn).inSettings
	expectFrame = (*Conn).inFrame
	expectContinuation = (*Conn).inContinuation
	frameHandlers = [frameTypeCount]func(*Conn, frameHeader, []byte) *Error{
		FrameData:         (*Conn).onData,
		FrameHeaders:      (*Conn).onHeaders,
		FramePriority:     (*Conn).onPriority,
		FrameRSTStream:    (*Conn).onRSTStream,
		FrameSettings:     (*Conn).onSettings,
		FramePushPromise:  (*Conn).onPushPromise,
		FramePing:         (*Conn).onPing,
		FrameGoAway:       (*Conn).onGoAway,
		FrameWindowUpdate: (*Conn).onWindowUpdate,
		FrameContinuation: (*Conn).onStrayContinuation,
	}
}

// Conn is the server side of one HTTP/2 connection: bytes in through Feed,
// requests out through Host, frames out through Flush into a Sink. It does
// no I/O and starts no goroutine; all methods run on the engine's thread.
//
// Invariants: every stream in streams is open or half-closed (remote) and
// counts against MaxConcurrentStreams; a stream is in sendq iff it has
// output that is not blocked by its own send window; each FileRef a stream
// takes over is released exactly once, directly when nothing of it reached
// a Sink and through Sink.WriteFile(release=true) otherwise.
type Conn struct {
	cfg  Config
	host Host

	expect func(*Conn, []byte) (int, *Error)
	err    *Error // sticky connection error

	// The peer's settings.
	peerMaxFrame  int64
	peerWindow    int64 // SETTINGS_INITIAL_WINDOW_SIZE: new streams' send window
	settingsAcked bool  // the peer acknowledged our SETTINGS

	// Connection flow control.
	sendWin     int64 // what we may still send
	recvWin     int64 // what the peer may still send
	recvPending int64 // received bytes not yet given back by WINDOW_UPDATE
	bodyBytes   int64 // request body bytes buffered across streams

	// Streams.
	streams  []*stream
	free     []*stream
	maxSeen  uint32     // highest stream id the peer used to open a stream
	opened   bitmap256  // bit i: stream maxSeen-2i was opened (not skipped)
	resetIDs [32]uint32 // streams we reset lately: their frames are dropped quietly
	resetAt  int        // next slot in resetIDs
	goawayID uint32     // last stream id of our GOAWAY
	goaway   bool       // we sent GOAWAY: streams above goawayID are ignored
	peerGone bool       // the peer sent GOAWAY
	last     *stream    // lookup cache

	// The field block being received.
	hb  headerBlock
	dec *hpack.Decoder
	rq  reqCache // the last request block of indexed fields, decoded

	req httpcore.Request // handed to Host.Request; capacity reused

	// Output.
	ctl      []byte // control frames not yet written to a Sink
	sendq    []*stream
	sendq2   []*stream
	releases []httpcore.FileRef // released through the Sink at the next Flush
	enc      encoder            // response field blocks
	hblk     []byte             // the field block being written
	hbuf     []byte             // its frames
	head     [frameHeaderLen]byte
	date     []byte            // the last date line Respond got
	eresp    httpcore.Response // internal answers (413, 414, 431)

	// Budgets.
	newStreams int           // streams opened during this Feed
	resets     int           // reset budget left
	junk       int           // junk-frame budget left
	ticked     bool          // tickAt is set
	tickAt     time.Duration // the time (Tick's) up to which the budgets were refilled
	resetFrac  int64         // refills short of a whole unit (see refill)
	junkFrac   int64
}

// bitmap256 is a 256-bit set; bit 0 is the lowest bit of w[0].
type bitmap256 [4]uint64

// shl shifts b left by n bits (towards higher indexes).
func (b *bitmap256) shl(n uint32) {
	if n >= 256 {
		*b = bitmap256{}
		return
	}
	words, bits := int(n/64), n%64
	for i := 3; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = b[j] << bits
			if bits != 0 && j > 0 {
				v |= b[j-1] >> (64 - bits)
			}
		}
		b[i] = v
	}
}

func (b *bitmap256) set(i uint32)      { b[i/64] |= 1 << (i % 64) }
func (b *bitmap256) has(i uint32) bool { return b[i/64]&(1<<(i%64)) != 0 }

// Init prepares c for a new connection with cfg and host, keeping the memory
// of its previous use (Release must have been called since). It queues the
// server's SETTINGS (and the connection window's WINDOW_UPDATE): the server
// may Flush before the client's preface arrives.
func (c *Conn) Init(cfg *Config, host Host) {
	c.cfg = cfg.withDefaults()
	c.host = host
	c.expect = expectPreface
	c.err = nil
	c.peerMaxFrame = minMaxFrameSize
	c.peerWindow = defaultWindow
	c.enc.reset()
	c.settingsAcked = false
	c.sendWin = defaultWindow
	c.recvWin = defaultWindow
	c.recvPending = 0
	c.bodyBytes = 0
	c.streams = c.streams[:0]
	c.maxSeen = 0
	c.opened = bitmap256{}
	c.resetIDs = [32]uint32{}
	c.resetAt = 0
	c.goawayID, c.goaway, c.peerGone = 0, false, false
	c.last = nil
	c.hb = headerBlock{}
	if c.dec == nil {
		c.dec = hpack.NewDecoder(defaultHeaderTable, c.onField)
	} else {
		// Empty the dynamic table: a size update to 0, then back. The
		// first Close drops bytes a block cut short left behind (and then
		// returns early), the second starts a block.
		c.dec.SetEmitEnabled(false)
		c.dec.Close()
		c.dec.Close()
		c.dec.Write(tableReset)
		c.dec.Close()
	}
	c.dec.SetEmitEnabled(true)
	c.dec.SetMaxStringLength(c.cfg.maxHeaderWire())
	c.rq.reset()
	c.ctl = c.ctl[:0]
	c.sendq = c.sendq[:0]
	c.releases = c.releases[:0]
	c.date = c.date[:0]
	c.newStreams = 0
	c.resets = c.cfg.ResetBudget
	c.junk = c.cfg.JunkBudget
	c.ticked, c.resetFrac, c.junkFrac = false, 0, 0

	s := [...]Setting{
		{SettingMaxConcurrentStreams, c.cfg.MaxConcurrentStreams},
		{SettingInitialWindowSize, c.cfg.InitialWindowSize},
		{SettingMaxFrameSize, c.cfg.MaxFrameSize},
		{SettingMaxHeaderListSize, uint32(c.cfg.Limits.MaxHeaderBytes + 32*c.cfg.Limits.MaxHeaders)},
		{SettingNoRFC7540Priorities, 1},
	}
	c.ctl = appendSettings(c.ctl, s[:])
	if d := int64(c.cfg.ConnWindowSize) - defaultWindow; d > 0 {
		c.ctl = appendWindowUpdate(c.ctl, 0, uint32(d))
		c.recvWin += d
	}
}

// tableReset is an HPACK block of two dynamic table size updates: to 0
// (evicting every entry) and back to 4096.
var tableReset = []byte{0x20, 0x3f, 0xe1, 0x1f}

// Feed parses the whole frames at the start of data and returns how many
// bytes it consumed; the caller keeps the rest (a partial frame) and passes
// it again, extended, next time. A buffer of FrameBytes(cfg) bytes always
// suffices. Complete requests go to Host.Request during the call; replies
// (SETTINGS and PING ACKs, WINDOW_UPDATEs, resets) are queued for Flush.
//
// A non-nil error is a connection error (*Error): GOAWAY is queued, every
// stream is cancelled, and later calls return the same error. The server
// flushes and closes.
func (c *Conn) Feed(data []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.newStreams = 0
	n := 0
	for n < len(data) {
		k, err := c.expect(c, data[n:])
		if err == nil && len(c.ctl) > c.cfg.MaxControlBytes {
			err = ErrControlFlood
		}
		if err != nil {
			c.fail(err)
			return n + k, err
		}
		if k == 0 {
			break
		}
		n += k
	}
	return n, nil
}

// fail makes err the connection's sticky error: it queues GOAWAY with err's
// code and cancels every stream.
func (c *Conn) fail(err *Error) {
	if c.err != nil {
		return
	}
	c.err = err
	last := c.maxSeen
	if c.goaway && c.goawayID < last {
		last = c.goawayID
	}
	c.ctl = appendGoAway(c.ctl, last, err.Code, err.Reason)
	c.goaway, c.goawayID = true, last
	c.hb = headerBlock{}
	for len(c.streams) > 0 {
		c.closeStream(c.streams[len(c.streams)-1])
	}
}

// readFrame returns the frame at the start of p, or n == 0 when p does not
// hold all of it yet.
func (c *Conn) readFrame(p []byte) (h frameHeader, payload []byte, n int, err *Error) {
	if len(p) < frameHeaderLen {
		return h, nil, 0, nil
	}
	h = parseFrameHeader(p)
	if h.Length > c.cfg.MaxFrameSize {
		return h, nil, 0, ErrFrameSize
	}
	n = frameHeaderLen + int(h.Length)
	if len(p) < n {
		return h, nil, 0, nil
	}
	return h, p[frameHeaderLen:n], n, nil
}

// inPreface expects the client's connection preface (RFC 9113 §3.4).
func (c *Conn) inPreface(p []byte) (int, *Error) {
	k := min(len(p), len(Preface))
	if string(p[:k]) != Preface[:k] {
		return 0, ErrPreface
	}
	if k < len(Preface) {
		return 0, nil
	}
	c.expect = expectSettings
	return len(Preface), nil
}

// inSettings expects the SETTINGS frame that must follow the preface.
func (c *Conn) inSettings(p []byte) (int, *Error) {
	h, payload, n, err := c.readFrame(p)
	if err != nil || n == 0 {
		return n, err
	}
	if h.Type != FrameSettings || h.has(flagAck) {
		return n, ErrFirstSettings
	}
	c.expect = expectFrame
	c.junk++ // this SETTINGS is expected: do not charge it
	return n, c.onSettings(h, payload)
}

// inFrame is the default state: any frame, by the handler table.
func (c *Conn) inFrame(p []byte) (int, *Error) {
	h, payload, n, err := c.readFrame(p)
	if err != nil || n == 0 {
		return n, err
	}
	if int(h.Type) < len(frameHandlers) {
		return n, frameHandlers[h.Type](c, h, payload)
	}
	// RFC 9113 §5.5: unknown frame types are ignored.
	return n, c.spendJunk()
}

// inContinuation expects the CONTINUATION frames of an unfinished field
// block; anything else is a connection error (RFC 9113 §6.10).
func (c *Conn) inContinuation(p []byte) (int, *Error) {
	h, payload, n, err := c.readFrame(p)
	if err != nil || n == 0 {
		return n, err
	}
	if h.Type != FrameContinuation || h.StreamID != c.hb.id {
		return n, ErrContinuation
	}
	if len(payload) == 0 && !h.has(flagEndHeaders) {
		if err := c.spendJunk(); err != nil {
			return n, err
		}
	}
	return n, c.fragment(payload, len(payload)+frameHeaderLen, h.has(flagEndHeaders))
}

// Tick tells c the time now, on any monotonic clock the caller keeps for
// the connection (the server passes its loop's clock before each Feed).
// For every whole second since the previous Tick, the reset and junk
// budgets refill by their size over Config.BudgetRefill, never above their
// size: spent at a normal pace, they last forever; a flood still spends
// them in far less time than that. The first Tick only sets the clock.
func (c *Conn) Tick(now time.Duration) {
	if !c.ticked {
		c.ticked, c.tickAt = true, now
		return
	}
	secs := int64((now - c.tickAt) / time.Second)
	if secs <= 0 {
		return
	}
	c.tickAt += time.Duration(secs) * time.Second
	per := int64(c.cfg.BudgetRefill / time.Second)
	c.resets = refill(c.resets, c.cfg.ResetBudget, secs, per, &c.resetFrac)
	c.junk = refill(c.junk, c.cfg.JunkBudget, secs, per, &c.junkFrac)
}

// refill returns left, a budget of size, after secs seconds of refilling
// all of it per per seconds; *frac carries what is not yet a whole unit
// (in units of 1/per), so that small budgets refill too.
func refill(left, size int, secs, per int64, frac *int64) int {
	*frac += int64(size) * secs
	add := *frac / per
	*frac %= per
	if left >= size {
		*frac = 0 // full: nothing saved up for later
		return left
	}
	return int(min(int64(left)+add, int64(size)))
}

// spendJunk charges one frame that does no work against the junk budget.
func (c *Conn) spendJunk() *Error {
	c.junk--
	if c.junk < 0 {
		return ErrJunkFlood
	}
	return nil
}

// spendReset charges one reset caused by the peer against the reset budget
// (Rapid Reset, CVE-2023-44487; MadeYouReset, CVE-2025-8671).
func (c *Conn) spendReset() *Error {
	c.resets--
	if c.resets < 0 {
		return ErrResetFlood
	}
	return nil
}

// Stream id classes for frames whose stream is not open.
const (
	idIdle   = iota // never opened: most frames on it are connection errors
	idQuiet         // reset by us lately, or ignored after our GOAWAY: drop
	idClosed        // closed
)

// classify says what id is when no open stream has it.
func (c *Conn) classify(id uint32) int {
	if id > c.maxSeen || id%2 == 0 {
		return idIdle
	}
	if c.goaway && id > c.goawayID {
		return idQuiet
	}
	for _, r := range c.resetIDs {
		if r == id {
			return idQuiet
		}
	}
	if i := (c.maxSeen - id) / 2; i < 256 && !c.opened.has(i) {
		return idIdle // skipped: a lower id can no longer be opened
	}
	return idClosed
}

// onData handles DATA (RFC 9113 §6.1).
func (c *Conn) onData(h frameHeader, p []byte) *Error {
	if h.StreamID == 0 {
		return ErrStreamZero
	}
	body, ok := unpad(h.Flags, p)
	if !ok {
		return ErrPadding
	}
	// The whole payload, padding included, counts for flow control.
	n := int64(len(p))
	if n > c.recvWin {
		return ErrConnFlow
	}
	c.recvWin -= n
	c.consumed(n)

	s := c.stream(h.StreamID)
	if s == nil {
		switch c.classify(h.StreamID) {
		case idIdle:
			return ErrIdleStream
		case idQuiet:
			return c.spendJunk()
		}
		return c.resetID(h.StreamID, ErrCodeStreamClosed)
	}
	if s.recvDone {
		return c.resetStream(s, ErrCodeStreamClosed, true)
	}
	if n > s.recvWin {
		return c.resetStream(s, ErrCodeFlowControl, true)
	}
	s.recvWin -= n
	end := h.has(flagEndStream)
	if len(p) == 0 && !end {
		if err := c.spendJunk(); err != nil {
			return err
		}
	}
	s.got += int64(len(body))
	if s.declared >= 0 && s.got > s.declared {
		return c.resetStream(s, ErrCodeProtocol, true) // malformed: content-length
	}
	if !s.discard {
		switch {
		case s.got > c.cfg.Limits.MaxBody:
			c.dropBody(s)
			c.answer(s, 413)
		case c.bodyBytes+int64(len(body)) > c.cfg.MaxBodyBuffer:
			return c.resetStream(s, ErrCodeRefusedStream, true)
		default:
			if s.declared > int64(cap(s.body)) && len(s.body) == 0 && s.declared <= c.cfg.Limits.MaxBody {
				s.body = make([]byte, 0, s.declared)
			}
			s.body = append(s.body, body...)
			c.bodyBytes += int64(len(body))
			if !end {
				c.streamConsumed(s, n)
			}
		}
	}
	if end {
		return c.endRequest(s, false)
	}
	return nil
}

// consumed gives n received bytes back to the connection window, in
// WINDOW_UPDATEs of at least half the window.
func (c *Conn) consumed(n int64) {
	c.recvPending += n
	if c.recvPending >= int64(c.cfg.ConnWindowSize)/2 {
		c.ctl = appendWindowUpdate(c.ctl, 0, uint32(c.recvPending))
		c.recvWin += c.recvPending
		c.recvPending = 0
	}
}

// streamConsumed gives n buffered bytes back to s's window.
func (c *Conn) streamConsumed(s *stream, n int64) {
	s.recvPending += n
	if s.recvPending >= int64(c.cfg.InitialWindowSize)/2 {
		c.ctl = appendWindowUpdate(c.ctl, s.id, uint32(s.recvPending))
		s.recvWin += s.recvPending
		s.recvPending = 0
	}
}

// onHeaders handles HEADERS (RFC 9113 §6.2): a new request, trailers, or a
// block to decode and drop.
func (c *Conn) onHeaders(h frameHeader, p []byte) *Error {
	id := h.StreamID
	if id == 0 {
		return ErrStreamZero
	}
	frag, ok := unpad(h.Flags, p)
	if !ok {
		return ErrPadding
	}
	var prio priorityField
	if h.has(flagPriority) {
		if len(frag) < priorityLen {
			return ErrFrameLength
		}
		prio = parsePriority(frag)
		frag = frag[priorityLen:]
	}
	c.hb = headerBlock{kind: blockDrop, id: id, end: h.has(flagEndStream)}
	var err *Error
	if s := c.stream(id); s != nil {
		switch {
		case s.recvDone:
			err = c.resetStream(s, ErrCodeStreamClosed, true)
		case !c.hb.end:
			err = c.resetStream(s, ErrCodeProtocol, true) // trailers must end the stream
		case prio.Dep == id:
			err = c.resetStream(s, ErrCodeProtocol, true)
		default:
			c.hb.kind, c.hb.st = blockTrailers, s
		}
	} else if id <= c.maxSeen || id%2 == 0 {
		switch c.classify(id) {
		case idIdle:
			return ErrStreamID
		case idClosed:
			// RFC 9113 §5.1: HEADERS on a closed stream; h2spec wants
			// the connection error, which also sends no reset (CVE-2025-8671).
			return ErrClosedStream
		}
	} else {
		err = c.openStream(id, prio)
	}
	if err != nil {
		return err
	}
	if len(p) == 0 && !h.has(flagEndHeaders) {
		if err := c.spendJunk(); err != nil {
			return err
		}
	}
	c.dec.SetEmitEnabled(c.hb.kind != blockDrop)
	return c.fragment(frag, len(p)+frameHeaderLen, h.has(flagEndHeaders))
}

// openStream starts stream id (above every id seen) for a new request, or
// refuses it. The field block that follows is decoded in either case.
func (c *Conn) openStream(id uint32, prio priorityField) *Error {
	if c.maxSeen == 0 {
		c.opened = bitmap256{}
	} else {
		c.opened.shl((id - c.maxSeen) / 2)
	}
	c.opened.set(0)
	c.maxSeen = id
	switch {
	case c.goaway && id > c.goawayID:
		return nil // RFC 9113 §6.8: ignored
	case prio.Dep == id:
		return c.resetID(id, ErrCodeProtocol)
	case len(c.streams) >= int(c.cfg.MaxConcurrentStreams):
		return c.resetID(id, ErrCodeRefusedStream)
	case c.newStreams >= c.cfg.MaxNewStreamsPerFeed:
		return c.resetID(id, ErrCodeRefusedStream)
	}
	c.newStreams++
	s := c.newStream(id)
	c.hb.kind, c.hb.st = blockRequest, s
	return nil
}

// onPriority validates PRIORITY (RFC 9113 §6.3) and ignores it. Its stream
// errors become connection errors on an idle stream, which may not be
// reset (RFC 9113 §6.4).
func (c *Conn) onPriority(h frameHeader, p []byte) *Error {
	if h.StreamID == 0 {
		return ErrStreamZero
	}
	code := ErrCodeNo
	switch {
	case len(p) != priorityLen:
		code = ErrCodeFrameSize
	case parsePriority(p).Dep == h.StreamID:
		code = ErrCodeProtocol
	default:
		return c.spendJunk()
	}
	if s := c.stream(h.StreamID); s != nil {
		return c.resetStream(s, code, true)
	}
	switch c.classify(h.StreamID) {
	case idIdle:
		if code == ErrCodeFrameSize {
			return ErrFrameLength
		}
		return ErrSelfDependency
	case idQuiet:
		return c.spendJunk()
	}
	return c.resetID(h.StreamID, code)
}

// onRSTStream handles RST_STREAM (RFC 9113 §6.4).
func (c *Conn) onRSTStream(h frameHeader, p []byte) *Error {
	if h.StreamID == 0 {
		return ErrStreamZero
	}
	if len(p) != rstStreamLen {
		return ErrFrameLength
	}
	s := c.stream(h.StreamID)
	if s == nil {
		if c.classify(h.StreamID) == idIdle {
			return ErrIdleStream
		}
		return c.spendJunk()
	}
	c.closeStream(s)
	return c.spendReset()
}

// onSettings handles SETTINGS (RFC 9113 §6.5).
func (c *Conn) onSettings(h frameHeader, p []byte) *Error {
	if h.StreamID != 0 {
		return ErrStreamNonZero
	}
	if h.has(flagAck) {
		if len(p) != 0 {
			return ErrFrameLength
		}
		if !c.settingsAcked {
			c.settingsAcked = true
			// The peer now applies our initial window to open streams.
			d := int64(c.cfg.InitialWindowSize) - defaultWindow
			for _, s := range c.streams {
				s.recvWin += d
			}
		}
		return nil
	}
	if len(p)%settingLen != 0 {
		return ErrFrameLength
	}
	if err := c.spendJunk(); err != nil {
		return err
	}
	for i := 0; i < len(p)/settingLen; i++ {
		s := setting(p, i)
		switch s.ID {
		case SettingHeaderTableSize:
			c.enc.setPeerMax(s.Val)
		case SettingEnablePush, SettingEnableConnectProtocol, SettingNoRFC7540Priorities:
			if s.Val > 1 {
				return ErrSettingValue
			}
		case SettingInitialWindowSize:
			if s.Val > maxWindow {
				return ErrWindowSetting
			}
			if err := c.setPeerWindow(int64(s.Val)); err != nil {
				return err
			}
		case SettingMaxFrameSize:
			if s.Val < minMaxFrameSize || s.Val > maxMaxFrameSize {
				return ErrSettingValue
			}
			c.peerMaxFrame = int64(s.Val)
		}
	}
	c.ctl = appendSettingsAck(c.ctl)
	return nil
}

// setPeerWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE: every open
// stream's send window shifts by the difference (RFC 9113 §6.9.2) and may go
// negative.
func (c *Conn) setPeerWindow(w int64) *Error {
	d := w - c.peerWindow
	c.peerWindow = w
	for _, s := range c.streams {
		s.sendWin += d
		if s.sendWin > maxWindow {
			return ErrWindowOverflow
		}
		c.wake(s)
	}
	return nil
}

// onPushPromise: a client never sends PUSH_PROMISE (RFC 9113 §8.4).
func (c *Conn) onPushPromise(frameHeader, []byte) *Error { return ErrPushPromise }

// onPing answers PING (RFC 9113 §6.7).
func (c *Conn) onPing(h frameHeader, p []byte) *Error {
	if h.StreamID != 0 {
		return ErrStreamNonZero
	}
	if len(p) != pingLen {
		return ErrFrameLength
	}
	if h.has(flagAck) {
		return c.spendJunk() // we send no PING
	}
	if err := c.spendJunk(); err != nil {
		return err
	}
	c.ctl = appendPing(c.ctl, true, p)
	return nil
}

// onGoAway notes the peer's GOAWAY (RFC 9113 §6.8): it opens no more
// streams; the open ones are finished.
func (c *Conn) onGoAway(h frameHeader, p []byte) *Error {
	if h.StreamID != 0 {
		return ErrStreamNonZero
	}
	if len(p) < goAwayMinLen {
		return ErrFrameLength
	}
	c.peerGone = true
	return nil
}

// onWindowUpdate handles WINDOW_UPDATE (RFC 9113 §6.9).
func (c *Conn) onWindowUpdate(h frameHeader, p []byte) *Error {
	if len(p) != windowUpdateLen {
		return ErrFrameLength
	}
	incr := int64(u31(p))
	if h.StreamID == 0 {
		if incr == 0 {
			return ErrWindowZero
		}
		c.sendWin += incr
		if c.sendWin > maxWindow {
			return ErrWindowOverflow
		}
		return nil
	}
	s := c.stream(h.StreamID)
	if s == nil {
		if c.classify(h.StreamID) == idIdle {
			return ErrIdleStream
		}
		return nil // RFC 9113 §6.9: may arrive on a closed stream
	}
	if incr == 0 {
		return c.resetStream(s, ErrCodeProtocol, true)
	}
	s.sendWin += incr
	if s.sendWin > maxWindow {
		return c.resetStream(s, ErrCodeFlowControl, true)
	}
	c.wake(s)
	return nil
}

// onStrayContinuation: CONTINUATION outside a field block (RFC 9113 §6.10).
func (c *Conn) onStrayContinuation(frameHeader, []byte) *Error { return ErrUnexpectedCont }

// GoAway starts a graceful shutdown: it queues GOAWAY with the last stream
// id the peer opened; streams above it are ignored, open streams finish.
// Idle reports when the server may close. Calling it again does nothing.
func (c *Conn) GoAway() {
	if c.goaway || c.err != nil {
		return
	}
	c.goaway, c.goawayID = true, c.maxSeen
	c.ctl = appendGoAway(c.ctl, c.goawayID, ErrCodeNo, "")
}

// Idle reports whether no stream is open and nothing is pending: the server
// may close the connection (after a GoAway, or when idle too long).
func (c *Conn) Idle() bool {
	return len(c.streams) == 0 && len(c.ctl) == 0 && len(c.releases) == 0 && c.hb.kind == blockNone
}

// Closing reports whether the connection is winding down: after a
// connection error, the server's GoAway or the peer's GOAWAY. Together
// with Idle it tells the server to close.
func (c *Conn) Closing() bool { return c.err != nil || c.goaway || c.peerGone }

// Release ends the connection: it cancels the streams the host holds and
// releases every FileRef still held, directly. The engine calls it once the
// Sink holds nothing of this connection (every queued segment sent or
// dropped, no kernel operation still using a file). Init may follow.
func (c *Conn) Release() {
	for len(c.streams) > 0 {
		c.closeStream(c.streams[len(c.streams)-1])
	}
	for i, f := range c.releases {
		f.Release()
		c.releases[i] = nil
	}
	c.releases = c.releases[:0]
	c.host = nil
	c.last = nil
	c.hb = headerBlock{}
	if cap(c.ctl) > 4<<10 {
		c.ctl = nil
	}
	c.ctl = c.ctl[:0]
	c.eresp.Reset()
}
