package httpcore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
)

// Limits bounds what a Parser accepts. A zero (or negative) field takes its
// default; MaxRequestLine and MaxHeaderBytes are capped at 256 MiB.
type Limits struct {
	MaxRequestLine int   // request line without its CRLF; default 8 KiB; over it: 414
	MaxHeaderBytes int   // whole header section, blank line included; default 16 KiB; over it: 431
	MaxHeaders     int   // field lines; default 100; over it: 431
	MaxBody        int64 // body after de-chunking; default 1 MiB; over it: 413 (and
	// a chunked body's framing is bounded by MaxBody/8 + 16 KiB, also 413)
}

// The default limits (nginx's and h2o's order of magnitude).
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxHeaders     = 100
	DefaultMaxBody        = 1 << 20
)

// maxChunkLine bounds a chunk-size line (size and extensions).
const maxChunkLine = 4096

// maxScratchKeep is the largest chunked-body scratch a Parser keeps between
// requests; a larger one is dropped so that an idle connection stays small.
const maxScratchKeep = 64 << 10

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{
		MaxRequestLine: DefaultMaxRequestLine,
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxHeaders:     DefaultMaxHeaders,
		MaxBody:        DefaultMaxBody,
	}
}

// withDefaults returns l with every zero (or negative) field set to its default.
func (l Limits) withDefaults() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	// Offsets into the head are int32: keep the head well inside that.
	const maxHead = 1 << 28
	l.MaxRequestLine = min(l.MaxRequestLine, maxHead)
	l.MaxHeaderBytes = min(l.MaxHeaderBytes, maxHead)
	return l
}

// maxFraming bounds the chunk framing of one body (size lines, extensions,
// CRLFs): an eighth of MaxBody plus 16 KiB. Framing stays in the caller's
// buffer until the request is complete, so it must be bounded like the data.
func (l Limits) maxFraming() int64 {
	return l.MaxBody/8 + 16<<10
}

// MaxRequestBytes returns the most bytes one request can span in Parse's buf:
// leading blank lines, request line, header section, body, and for a chunked
// body its framing and trailer section. A caller whose buffer can grow to
// this size never has to refuse a request Parse would accept.
func (l Limits) MaxRequestBytes() int64 {
	l = l.withDefaults()
	head := 2*int64(l.MaxRequestLine) + 2 + int64(l.MaxHeaderBytes)
	return head + l.MaxBody + l.maxFraming() + int64(l.MaxHeaderBytes)
}

// ErrNeedMore is returned by Parse when buf holds only part of a request.
var ErrNeedMore = errors.New("httpcore: need more input")

// Error is a request Parse rejects. Status is the answer to send (400, 413,
// 414, 431, 501 or 505); the connection closes after it.
type Error struct {
	Status int
	Reason string
}

// Error returns "httpcore: STATUS REASON".
func (e *Error) Error() string {
	return "httpcore: " + strconv.Itoa(e.Status) + " " + e.Reason
}

// The errors Parse returns. They are shared values: never modify them.
var (
	errBadRequestLine  = &Error{400, "malformed request line"}
	errBadMethod       = &Error{400, "malformed method"}
	errBadTarget       = &Error{400, "malformed request target"}
	errFragment        = &Error{400, "fragment in request target"}
	errBadVersion      = &Error{400, "malformed HTTP version"}
	errVersion         = &Error{505, "HTTP version not supported"}
	errLineTooLong     = &Error{414, "request line too long"}
	errHeaderTooLarge  = &Error{431, "header section too large"}
	errTooManyHeaders  = &Error{431, "too many header fields"}
	errObsFold         = &Error{400, "obsolete line folding"}
	errBadFieldName    = &Error{400, "malformed field name"}
	errBadFieldValue   = &Error{400, "invalid byte in field value"}
	errBareCR          = &Error{400, "bare CR"}
	errNoHost          = &Error{400, "missing Host"}
	errManyHosts       = &Error{400, "several Host fields"}
	errBadHost         = &Error{400, "invalid Host"}
	errBadCL           = &Error{400, "invalid Content-Length"}
	errManyCL          = &Error{400, "conflicting Content-Length fields"}
	errTEAndCL         = &Error{400, "Transfer-Encoding with Content-Length"}
	errTEHTTP10        = &Error{400, "Transfer-Encoding in HTTP/1.0"}
	errBadTE           = &Error{400, "chunked is not the final transfer coding"}
	errUnknownTE       = &Error{501, "unknown transfer coding"}
	errBodyTooLarge    = &Error{413, "body too large"}
	errFramingTooLarge = &Error{413, "chunked framing too large"}
	errBadChunkSize    = &Error{400, "invalid chunk size"}
	errBadChunkExt     = &Error{400, "invalid chunk extension"}
	errChunkLF         = &Error{400, "chunk framing without CRLF"}
	errBadTrailer      = &Error{400, "invalid trailer field"}
	errTrailerTooBig   = &Error{431, "trailer section too large"}
)

// Parser states.
const (
	stLine      uint8 = iota // request line (and leading blank lines)
	stFields                 // header field lines
	stBody                   // Content-Length body
	stChunk                  // chunk-size line
	stChunkData              // chunk data
	stChunkEnd               // CRLF after chunk data
	stTrailer                // trailer field lines
)

// field is a field line as offsets into the request's buffer, and what
// lookupField said of its name.
type field struct {
	ns, ne, vs, ve int32
	id             fieldID
}

// Parser parses the requests of one connection, one after the other. The zero
// value is ready to use with DefaultLimits; set Limits before the first Parse.
//
// Invariant: the parser's state holds offsets relative to the first byte of
// the request being parsed, never pointers into the caller's buffer, so the
// caller may move the bytes between calls.
type Parser struct {
	Limits Limits
	// SkipBodies makes Parse return a request that has a body as soon as
	// its head is complete, without the body: Request.BodyUnread says what
	// follows, and the caller skips it. For handlers that never read
	// bodies (a file server answers them 405): the answer goes out at
	// once and no body is buffered.
	SkipBodies bool

	lim   Limits // Limits with defaults, fixed at a request's first byte
	err   *Error // sticky: once set, every Parse returns it until Reset
	state uint8

	scan int // where the search for the current line's LF resumes
	line int // first byte of the current line

	// Request line.
	start          int // first byte of the request line (after blank lines)
	mEnd           int // end of the method
	tStart, tEnd   int // request-target
	pathS, pathE   int // path; pathS < 0 means the static "/"
	queryS, queryE int // query; queryS < 0 means none
	hostS, hostE   int // absolute-form authority; hostS < 0 means none
	method         Method
	major, minor   uint8

	// Header section.
	hstart    int // first byte after the request line
	hend      int // first byte after the blank line
	fields    []field
	rules     fieldRules // the field rules, shared with Request.AddField
	cl        int64      // body length to read: Content-Length, 0 when chunked
	expect100 bool       // Expect: 100-continue, when it applies (see endHead)

	// Body.
	pos       int   // chunked: next byte to consume
	chunkLeft int64 // chunked: data bytes left in the current chunk
	tstart    int   // chunked: first byte of the trailer section
	tfields   int   // chunked: trailer fields so far
	scratch   []byte
}

// Reset prepares p for a new connection, keeping its memory.
func (p *Parser) Reset() {
	p.err = nil
	p.next()
	if cap(p.scratch) > maxScratchKeep {
		p.scratch = nil
	}
}

// next prepares p for the connection's next request.
func (p *Parser) next() {
	p.state = stLine
	p.scan, p.line, p.start, p.pos = 0, 0, 0, 0
	p.fields = p.fields[:0]
	p.rules = fieldRules{}
	p.cl, p.expect100 = 0, false
	p.chunkLeft, p.tfields = 0, 0
	p.scratch = p.scratch[:0]
}

// fail makes e sticky and returns it.
func (p *Parser) fail(e *Error) (int, error) {
	p.err = e
	return 0, e
}

// Parse parses one request from buf.
//
// buf always starts at the first byte of the request not yet consumed; between
// calls that return ErrNeedMore the caller may only extend buf (same first
// byte, more bytes at the end, possibly copied to a new backing array), and
// Parse resumes where it stopped instead of rescanning. Results:
//
//	(n, nil)          a complete request is in req; n bytes are consumed and the
//	                  next request starts at buf[n:]
//	(0, ErrNeedMore)  buf holds only part of a request
//	(0, *Error)       malformed or over a limit; Error.Status is the answer, the
//	                  connection closes after it, and every later Parse returns
//	                  the same error until Reset
//
// req's slices alias buf (the de-chunked body aliases p's scratch) and stay
// valid until buf changes or the next Parse. req.Headers' capacity is reused.
//
// A request with Expect: 100-continue whose body has not fully arrived (and
// any such request with a chunked body) is returned at once without its body
// and with KeepAlive false: the answer is final and the connection closes.
// After any request with KeepAlive false the caller parses nothing more on
// the connection (the bytes after it may be an unread body).
//
// Every decision depends only on the bytes seen so far, in order, so a
// request gets the same result whatever the read boundaries were (the one
// exception is Expect: 100-continue above, by design).
func (p *Parser) Parse(buf []byte, req *Request) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if len(buf) < p.scan || len(buf) < p.pos {
		panic("httpcore: Parse: buf is shorter than at the previous call")
	}
	for {
		switch p.state {
		case stLine:
			if p.scan == 0 {
				p.lim = p.Limits.withDefaults()
				if cap(p.scratch) > maxScratchKeep {
					p.scratch = nil
				}
			}
			i := bytes.IndexByte(buf[p.scan:], '\n')
			if i < 0 {
				p.scan = len(buf)
				if len(buf)-p.start > p.lim.MaxRequestLine+1 {
					return p.fail(errLineTooLong)
				}
				return 0, ErrNeedMore
			}
			e := p.scan + i
			p.scan = e + 1
			le := e
			if le > p.start && buf[le-1] == '\r' {
				le--
			}
			if le == p.start {
				// RFC 9112 §2.2: ignore empty lines before the request line.
				p.start, p.line = e+1, e+1
				if p.start > p.lim.MaxRequestLine {
					return p.fail(errBadRequestLine)
				}
				continue
			}
			if le-p.start > p.lim.MaxRequestLine {
				return p.fail(errLineTooLong)
			}
			if err := p.requestLine(buf, p.start, le); err != nil {
				return p.fail(err)
			}
			p.line, p.hstart = e+1, e+1
			p.state = stFields

		case stFields:
			i := bytes.IndexByte(buf[p.scan:], '\n')
			if i < 0 {
				p.scan = len(buf)
				if len(buf)-p.hstart > p.lim.MaxHeaderBytes {
					return p.fail(errHeaderTooLarge)
				}
				return 0, ErrNeedMore
			}
			e := p.scan + i
			p.scan = e + 1
			ls := p.line
			p.line = e + 1
			if e+1-p.hstart > p.lim.MaxHeaderBytes {
				return p.fail(errHeaderTooLarge)
			}
			le := e
			if le > ls && buf[le-1] == '\r' {
				le--
			}
			if le > ls {
				if err := p.fieldLine(buf, ls, le); err != nil {
					return p.fail(err)
				}
				continue
			}
			p.hend = e + 1
			if err := p.endHead(); err != nil {
				return p.fail(err)
			}
			switch {
			case p.SkipBodies && (p.chunked() || p.cl > 0):
				return p.skipBody(buf, req)
			case p.chunked():
				if p.expect100 {
					return p.done(buf, req, p.hend, false)
				}
				p.pos, p.line, p.scan = p.hend, p.hend, p.hend
				p.state = stChunk
			case p.cl > 0:
				if p.expect100 && int64(len(buf)-p.hend) < p.cl {
					return p.done(buf, req, p.hend, false)
				}
				p.state = stBody
			default:
				return p.done(buf, req, p.hend, true)
			}

		case stBody:
			if int64(len(buf)-p.hend) < p.cl {
				return 0, ErrNeedMore
			}
			return p.done(buf, req, p.hend+int(p.cl), true)

		case stChunk:
			i := bytes.IndexByte(buf[p.scan:], '\n')
			if i < 0 {
				p.scan = len(buf)
				if len(buf)-p.line > maxChunkLine {
					return p.fail(errBadChunkExt)
				}
				if int64(len(buf)-p.hend-len(p.scratch)) > p.lim.maxFraming() {
					return p.fail(errFramingTooLarge)
				}
				return 0, ErrNeedMore
			}
			e := p.scan + i
			if e-p.line > maxChunkLine {
				return p.fail(errBadChunkExt)
			}
			// Everything between the head and this line's end that is not
			// data is framing; it stays in buf, so it is bounded too.
			if int64(e+1-p.hend-len(p.scratch)) > p.lim.maxFraming() {
				return p.fail(errFramingTooLarge)
			}
			if e == p.line || buf[e-1] != '\r' {
				return p.fail(errChunkLF)
			}
			size, err := p.chunkSize(buf[p.line : e-1])
			if err != nil {
				return p.fail(err)
			}
			p.pos, p.line, p.scan = e+1, e+1, e+1
			if size == 0 {
				p.tstart = e + 1
				p.state = stTrailer
				continue
			}
			p.chunkLeft = size
			p.state = stChunkData

		case stChunkData:
			n := len(buf) - p.pos
			if int64(n) > p.chunkLeft {
				n = int(p.chunkLeft)
			}
			p.scratch = append(p.scratch, buf[p.pos:p.pos+n]...)
			p.pos += n
			p.chunkLeft -= int64(n)
			if p.chunkLeft > 0 {
				return 0, ErrNeedMore
			}
			p.state = stChunkEnd

		case stChunkEnd:
			if len(buf)-p.pos < 2 {
				if len(buf) > p.pos && buf[p.pos] != '\r' {
					return p.fail(errChunkLF)
				}
				return 0, ErrNeedMore
			}
			if buf[p.pos] != '\r' || buf[p.pos+1] != '\n' {
				return p.fail(errChunkLF)
			}
			p.pos += 2
			p.line, p.scan = p.pos, p.pos
			p.state = stChunk

		case stTrailer:
			i := bytes.IndexByte(buf[p.scan:], '\n')
			if i < 0 {
				p.scan = len(buf)
				if len(buf)-p.tstart > p.lim.MaxHeaderBytes {
					return p.fail(errTrailerTooBig)
				}
				return 0, ErrNeedMore
			}
			e := p.scan + i
			ls := p.line
			p.scan, p.line = e+1, e+1
			if e+1-p.tstart > p.lim.MaxHeaderBytes {
				return p.fail(errTrailerTooBig)
			}
			if e == ls || buf[e-1] != '\r' {
				return p.fail(errChunkLF)
			}
			if e-1 == ls {
				return p.done(buf, req, e+1, true)
			}
			if _, _, _, err := splitField(buf, ls, e-1); err != nil {
				return p.fail(errBadTrailer)
			}
			p.tfields++
			if p.tfields > p.lim.MaxHeaders {
				return p.fail(errTrailerTooBig)
			}
		}
	}
}

// requestLine parses buf[s:e], a request line without its line end.
func (p *Parser) requestLine(buf []byte, s, e int) *Error {
	i := s
	for i < e && tchar[buf[i]] {
		i++
	}
	if i == s || i == e || buf[i] != ' ' {
		if i < e && buf[i] == '\r' {
			return errBareCR
		}
		return errBadMethod
	}
	p.mEnd = i
	p.method = lookupMethod(buf[s:i])

	ts := i + 1
	i = ts
	for i < e && targetChar[buf[i]] {
		i++
	}
	if i == ts || i == e || buf[i] != ' ' {
		if i < e {
			switch buf[i] {
			case '#':
				return errFragment
			case '\r':
				return errBareCR
			}
		}
		return errBadTarget
	}
	p.tStart, p.tEnd = ts, i

	v := buf[i+1 : e]
	if len(v) != 8 || v[0] != 'H' || v[1] != 'T' || v[2] != 'T' || v[3] != 'P' || v[4] != '/' ||
		!isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		if bytes.IndexByte(v, '\r') >= 0 {
			return errBareCR
		}
		return errBadVersion
	}
	p.major, p.minor = v[5]-'0', v[7]-'0'
	if p.major != 1 {
		return errVersion
	}
	if p.minor > 1 {
		p.minor = 1 // RFC 9110 §6.2: a higher minor version is served as 1.1.
	}
	return p.target(buf, ts, p.tEnd)
}

// target classifies and splits the request-target buf[s:e] (RFC 9112 §3.2).
func (p *Parser) target(buf []byte, s, e int) *Error {
	p.queryS, p.queryE, p.hostS, p.hostE = -1, -1, -1, -1
	switch {
	case buf[s] == '/':
		p.splitPath(buf, s, e)
		return nil
	case e-s == 1 && buf[s] == '*':
		if p.method != MethodOptions {
			return errBadTarget
		}
		p.pathS, p.pathE = s, e
		return nil
	case p.method == MethodConnect:
		// authority-form: Preflight answers 405; keep the authority as Host.
		if !validHost(buf[s:e]) {
			return errBadTarget
		}
		p.hostS, p.hostE = s, e
		p.pathS, p.pathE = s, s
		return nil
	}
	// absolute-form: "http" or "https" "://" authority [path-abempty] ["?" query].
	i := s
	for i < e && buf[i] != ':' {
		i++
	}
	scheme := buf[s:i]
	if !(equalFold(scheme, "http") || equalFold(scheme, "https")) || e-i < 3 || buf[i+1] != '/' || buf[i+2] != '/' {
		return errBadTarget
	}
	as := i + 3
	ae := as
	for ae < e && buf[ae] != '/' && buf[ae] != '?' {
		ae++
	}
	if ae == as || !validHost(buf[as:ae]) {
		return errBadTarget
	}
	p.hostS, p.hostE = as, ae
	if ae == e || buf[ae] == '?' {
		p.pathS, p.pathE = -1, -1
		if ae < e {
			p.queryS, p.queryE = ae+1, e
		}
		return nil
	}
	p.splitPath(buf, ae, e)
	return nil
}

// splitPath splits buf[s:e], which starts with '/', at its first '?'.
func (p *Parser) splitPath(buf []byte, s, e int) {
	if q := bytes.IndexByte(buf[s:e], '?'); q >= 0 {
		p.pathS, p.pathE = s, s+q
		p.queryS, p.queryE = s+q+1, e
		return
	}
	p.pathS, p.pathE = s, e
}

// splitField splits the field line buf[s:e] (no line end, not empty) into name
// end and value bounds, validating both (RFC 9112 §5, RFC 9110 §5.5).
func splitField(buf []byte, s, e int) (ne, vs, ve int, err *Error) {
	c := buf[s]
	if c == ' ' || c == '\t' {
		return 0, 0, 0, errObsFold
	}
	i := s
	for i < e && tchar[buf[i]] {
		i++
	}
	if i == s || i == e || buf[i] != ':' {
		if i < e && buf[i] == '\r' {
			return 0, 0, 0, errBareCR
		}
		return 0, 0, 0, errBadFieldName
	}
	ne = i
	i++
	for i < e && (buf[i] == ' ' || buf[i] == '\t') {
		i++
	}
	vs = i
	// Field values are the bulk of a request head: check 8 bytes at a time
	// while they are all plain (no CTL, no DEL; HTAB takes the slow path).
	for i+8 <= e && plain8(binary.LittleEndian.Uint64(buf[i:])) {
		i += 8
	}
	for i < e && valueChar[buf[i]] {
		i++
	}
	if i != e {
		if buf[i] == '\r' {
			return 0, 0, 0, errBareCR
		}
		return 0, 0, 0, errBadFieldValue
	}
	ve = e
	for ve > vs && (buf[ve-1] == ' ' || buf[ve-1] == '\t') {
		ve--
	}
	return ne, vs, ve, nil
}

// fieldLine parses and records the field line buf[s:e] and applies the
// field rules to it.
func (p *Parser) fieldLine(buf []byte, s, e int) *Error {
	ne, vs, ve, err := splitField(buf, s, e)
	if err != nil {
		return err
	}
	if len(p.fields) >= p.lim.MaxHeaders {
		return errTooManyHeaders
	}
	id := lookupField(buf[s:ne])
	p.fields = append(p.fields, field{int32(s), int32(ne), int32(vs), int32(ve), id})
	return p.rules.add(id, buf[vs:ve])
}

// chunked reports whether the request has Transfer-Encoding (which endHead
// only lets through when it ends in chunked).
func (p *Parser) chunked() bool {
	return p.rules.seen&fTransferEncoding.bit() != 0
}

// endHead applies the rules that need the whole header section.
func (p *Parser) endHead() *Error {
	r := &p.rules
	if r.seen&fHost.bit() == 0 && p.minor == 1 {
		return errNoHost
	}
	p.cl = r.cl
	if p.chunked() {
		switch {
		case p.minor == 0:
			return errTEHTTP10
		case r.seen&fContentLength.bit() != 0:
			return errTEAndCL
		case !r.teChunked:
			return errBadTE
		case r.teOther:
			return errUnknownTE
		}
		p.cl = 0
	}
	if p.cl > p.lim.MaxBody && !p.SkipBodies { // a skipped body is never buffered
		return errBodyTooLarge
	}
	// RFC 9110 §10.1.1: ignored in HTTP/1.0, and without a body to wait for.
	p.expect100 = r.expect100 && p.minor == 1 && (p.chunked() || p.cl > 0)
	return nil
}

// chunkSize parses a chunk-size line without its CRLF (RFC 9112 §7.1).
func (p *Parser) chunkSize(b []byte) (int64, *Error) {
	i := 0
	var n int64
	for i < len(b) {
		v := unhex[b[i]]
		if v < 0 {
			break
		}
		if n > (1<<59)-1 {
			return 0, errBadChunkSize
		}
		n = n<<4 | int64(v)
		i++
	}
	if i == 0 {
		return 0, errBadChunkSize
	}
	if i < len(b) {
		// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )
		j := i
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j == len(b) || b[j] != ';' {
			return 0, errBadChunkSize
		}
		for _, c := range b[j:] {
			if !valueChar[c] {
				return 0, errBadChunkExt
			}
		}
	}
	if n > p.lim.MaxBody-int64(len(p.scratch)) {
		return 0, errBodyTooLarge
	}
	return n, nil
}

// slashPath is the path of an absolute-form target without one.
var slashPath = []byte("/")

// done fills req with the request that ends at buf[n] and readies p for the
// next one.
// skipBody returns the head of a request whose body the caller skips
// (SkipBodies): the head's bytes are consumed, the body's are not.
func (p *Parser) skipBody(buf []byte, req *Request) (int, error) {
	unread := p.cl
	if p.chunked() {
		unread = -1
	}
	// A chunked framing that is not read hides where the next request
	// starts, and with Expect: 100-continue the client may or may not send
	// the body after a final answer: either way the connection closes
	// after the answer.
	keep := p.keepAlive() && unread >= 0 && !p.expect100
	n, err := p.done(buf, req, p.hend, false)
	req.BodyUnread = unread
	req.KeepAlive = keep
	return n, err
}

// keepAlive says whether the connection persists after the request just
// framed: by version and Connection tokens.
func (p *Parser) keepAlive() bool {
	if p.minor == 1 {
		return !p.rules.connClose
	}
	return p.rules.connKeep && !p.rules.connClose
}

func (p *Parser) done(buf []byte, req *Request, n int, full bool) (int, error) {
	hdrs := req.Headers
	if cap(hdrs) < len(p.fields) {
		hdrs = make([]Header, len(p.fields), len(p.fields)+len(p.fields)/2)
	}
	hdrs = hdrs[:len(p.fields)]
	*req = Request{
		Method:     p.method,
		MethodName: buf[p.start:p.mEnd:p.mEnd],
		Target:     buf[p.tStart:p.tEnd:p.tEnd],
		Major:      p.major,
		Minor:      p.minor,
		Headers:    hdrs,
		Expect100:  p.expect100,
		rules:      p.rules,
		scratch:    req.scratch[:0],
	}
	if p.pathS >= 0 {
		req.Path = buf[p.pathS:p.pathE:p.pathE]
	} else {
		req.Path = slashPath
	}
	if p.queryS >= 0 {
		req.Query = buf[p.queryS:p.queryE:p.queryE]
	}
	if p.hostS >= 0 {
		req.Host = buf[p.hostS:p.hostE:p.hostE]
	}
	var seen uint32
	for i, f := range p.fields {
		h := &hdrs[i]
		h.Name = buf[f.ns:f.ne:f.ne]
		h.Value = buf[f.vs:f.ve:f.ve]
		if f.id != fOther {
			req.store(f.id, h.Value, seen&f.id.bit() == 0)
			seen |= f.id.bit()
		}
	}
	if full {
		switch {
		case p.chunked():
			req.Chunked = true
			req.Body = p.scratch[:len(p.scratch):len(p.scratch)]
			req.ContentLength = int64(len(p.scratch))
		case p.cl > 0:
			req.Body = buf[p.hend : p.hend+int(p.cl) : p.hend+int(p.cl)]
			req.ContentLength = p.cl
		}
		req.KeepAlive = p.keepAlive()
	} else {
		// Expect: 100-continue without its body: the answer is final and
		// the unread body makes the connection unusable.
		req.Chunked = p.chunked()
		req.ContentLength = p.cl
	}
	p.next()
	return n, nil
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether each of the 8 bytes in x is at least 0x20 and not
// 0x7F (DEL): a visible ASCII byte, SP or obs-text. The two terms are the
// exact word tests "some byte < 0x20" and "some byte == 0x7F" (Hacker's
// Delight 6-1; x-n*lsb borrows only through a byte that is already < n).
func plain8(x uint64) bool {
	ctl := (x - 0x20*lsb) &^ x & msb
	y := x ^ 0x7f*lsb
	del := (y - lsb) &^ y & msb
	return ctl|del == 0
}

// lookupMethod maps a method name to its Method (case-sensitive, RFC 9110 §9.1).
func lookupMethod(m []byte) Method {
	switch len(m) {
	case 3:
		switch string(m) {
		case "GET":
			return MethodGet
		case "PUT":
			return MethodPut
		}
	case 4:
		switch string(m) {
		case "HEAD":
			return MethodHead
		case "POST":
			return MethodPost
		}
	case 5:
		switch string(m) {
		case "PATCH":
			return MethodPatch
		case "TRACE":
			return MethodTrace
		}
	case 6:
		if string(m) == "DELETE" {
			return MethodDelete
		}
	case 7:
		switch string(m) {
		case "OPTIONS":
			return MethodOptions
		case "CONNECT":
			return MethodConnect
		}
	}
	return MethodUnknown
}

// validHost reports whether h is a valid Host value or authority (RFC 9110
// §7.2, RFC 3986 §3.2.2): reg-name, IPv4 or IP-literal, optional ":" port.
// An empty h is valid (a target URI without authority).
func validHost(h []byte) bool {
	host := h
	if len(h) > 0 && h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 2 {
			return false
		}
		for _, c := range h[1:end] {
			if !ipLiteralChar[c] {
				return false
			}
		}
		rest := h[end+1:]
		if len(rest) == 0 {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		return validPort(rest[1:])
	}
	if i := bytes.IndexByte(h, ':'); i >= 0 {
		host = h[:i]
		if !validPort(h[i+1:]) {
			return false
		}
	}
	for _, c := range host {
		if !regNameChar[c] {
			return false
		}
	}
	return true
}

// validPort reports whether p is *DIGIT.
func validPort(p []byte) bool {
	for _, c := range p {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c-'0' <= 9 }

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case in b. Invariant: s holds only lower-case letters, digits and
// '-', so c|0x20 cannot map any other byte of b onto a byte of s except the
// upper-case letters (and the digits and '-', which already have bit 5 set).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := b[i]
		if c|0x20 != s[i] {
			return false
		}
		if c < '0' && c != '-' {
			return false
		}
	}
	return true
}
