package httpcore

import (
	"bytes"
	"encoding/binary"
)

// fieldID names a request field httpcore interprets. The first nStored are
// the ones a Request keeps a value of (see Request.known); fOther is every
// other name.
type fieldID uint8

const (
	fIfMatch fieldID = iota
	fIfNoneMatch
	fAcceptEncoding
	fIfModifiedSince
	fIfUnmodifiedSince
	fIfRange
	fRange
	nStored // the ids above have a slot in Request.known

	fHost
	fContentLength
	fTransferEncoding
	fConnection
	fExpect
	fTE
	fUpgrade
	fCacheControl
	fAuthorization
	fOther
)

// bit returns id's bit in the fieldRules masks.
func (id fieldID) bit() uint32 { return 1 << id }

// isList reports whether id is a list-based field whose lines combine.
func (id fieldID) isList() bool {
	switch id {
	case fIfMatch, fIfNoneMatch, fAcceptEncoding, fTransferEncoding, fConnection, fExpect,
		fTE, fUpgrade, fCacheControl:
		return true
	}
	return false
}

// lookupField classifies a field name, ignoring ASCII case: a switch on the
// length, then one comparison.
func lookupField(name []byte) fieldID {
	switch len(name) {
	case 2:
		if equalFold(name, "te") {
			return fTE
		}
	case 4:
		if equalFold(name, "host") {
			return fHost
		}
	case 5:
		if equalFold(name, "range") {
			return fRange
		}
	case 6:
		if equalFold(name, "expect") {
			return fExpect
		}
	case 7:
		if equalFold(name, "upgrade") {
			return fUpgrade
		}
	case 8:
		if name[3]|0x20 == 'm' {
			if equalFold(name, "if-match") {
				return fIfMatch
			}
		} else if equalFold(name, "if-range") {
			return fIfRange
		}
	case 10:
		if equalFold(name, "connection") {
			return fConnection
		}
	case 13:
		switch name[0] | 0x20 {
		case 'i':
			if equalFold(name, "if-none-match") {
				return fIfNoneMatch
			}
		case 'a':
			if equalFold(name, "authorization") {
				return fAuthorization
			}
		case 'c':
			if equalFold(name, "cache-control") {
				return fCacheControl
			}
		}
	case 14:
		if equalFold(name, "content-length") {
			return fContentLength
		}
	case 15:
		if equalFold(name, "accept-encoding") {
			return fAcceptEncoding
		}
	case 17:
		switch name[0] | 0x20 {
		case 'i':
			if equalFold(name, "if-modified-since") {
				return fIfModifiedSince
			}
		case 't':
			if equalFold(name, "transfer-encoding") {
				return fTransferEncoding
			}
		}
	case 19:
		if equalFold(name, "if-unmodified-since") {
			return fIfUnmodifiedSince
		}
	}
	return fOther
}

// fieldRules is the state of the per-field rules of one request, shared by
// Parser (HTTP/1.1 field lines) and Request.AddField (HTTP/2 field entries)
// so that both protocols give a field the same meaning. The zero value is a
// request with no fields.
type fieldRules struct {
	seen  uint32 // bit per fieldID: at least one line
	multi uint32 // bit per fieldID: more than one line
	cl    int64  // the Content-Length value when seen

	teChunked bool // Transfer-Encoding: chunked seen (and so far last)
	teOther   bool // a coding other than chunked seen before chunked
	connClose bool // Connection: close
	connKeep  bool // Connection: keep-alive
	expect100 bool // Expect: 100-continue
}

// The errors of the field rules that are not framing errors of HTTP/1.1.
var (
	errManyAuth = &Error{400, "several Authorization fields"}
)

// add applies the rules to one line (entry) of field id with value v, in the
// order the lines came. It returns the *Error that makes the request invalid.
func (s *fieldRules) add(id fieldID, v []byte) *Error {
	if id == fOther {
		return nil
	}
	b := id.bit()
	if s.seen&b != 0 {
		s.multi |= b
	}
	s.seen |= b
	switch id {
	case fHost:
		if s.multi&b != 0 {
			return errManyHosts
		}
		if !validHost(v) {
			return errBadHost
		}
	case fAuthorization:
		if s.multi&b != 0 {
			return errManyAuth
		}
	case fContentLength:
		return s.contentLength(v)
	case fTransferEncoding:
		return s.transferEncoding(v)
	case fConnection:
		for l := ListOf(v); ; {
			tok, ok := l.Next()
			if !ok {
				break
			}
			switch {
			case equalFold(tok, "close"):
				s.connClose = true
			case equalFold(tok, "keep-alive"):
				s.connKeep = true
			}
		}
	case fExpect:
		for l := ListOf(v); ; {
			tok, ok := l.Next()
			if !ok {
				break
			}
			if equalFold(tok, "100-continue") {
				s.expect100 = true
			}
		}
	}
	return nil
}

// contentLength validates one Content-Length value: 1*DIGIT, no overflow, and
// equal to any earlier one (RFC 9112 §6.3). A list ("5, 5") is invalid.
func (s *fieldRules) contentLength(v []byte) *Error {
	if len(v) == 0 || len(v) > 18 {
		return errBadCL
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return errBadCL
		}
		n = n*10 + int64(c-'0')
	}
	if s.multi&fContentLength.bit() != 0 && n != s.cl {
		return errManyCL
	}
	s.cl = n
	return nil
}

// transferEncoding reads one Transfer-Encoding line, a list of codings that
// continues the list of the earlier lines: chunked must be the last coding
// of all of them. Empty elements are ignored, but a line without any coding
// is 400: framing is where a lenient reading lets a proxy and ringhttpd
// disagree.
func (s *fieldRules) transferEncoding(v []byte) *Error {
	empty := true
	for len(v) > 0 {
		var tok []byte
		tok, v = nextToken(v)
		if tok == nil {
			return errBadTE
		}
		if len(tok) == 0 {
			continue
		}
		empty = false
		for _, c := range tok {
			if !tchar[c] {
				return errBadTE
			}
		}
		if s.teChunked {
			return errBadTE // chunked is not last
		}
		if equalFold(tok, "chunked") {
			s.teChunked = true
		} else {
			s.teOther = true
		}
	}
	if empty {
		return errBadTE
	}
	return nil
}

// nextToken splits a comma-separated list element off v, trimming optional
// whitespace around it. It returns an empty tok for an empty element and a
// nil tok when the element has inner whitespace.
func nextToken(v []byte) (tok, rest []byte) {
	i := bytes.IndexByte(v, ',')
	if i < 0 {
		tok, rest = v, nil
	} else {
		tok, rest = v[:i], v[i+1:]
	}
	for len(tok) > 0 && (tok[0] == ' ' || tok[0] == '\t') {
		tok = tok[1:]
	}
	for len(tok) > 0 && (tok[len(tok)-1] == ' ' || tok[len(tok)-1] == '\t') {
		tok = tok[:len(tok)-1]
	}
	if bytes.IndexByte(tok, ' ') >= 0 || bytes.IndexByte(tok, '\t') >= 0 {
		return nil, rest
	}
	if tok == nil {
		tok = v[:0]
	}
	return tok, rest
}

// Errors of AddField for names and values a parser of field lines would have
// rejected.
var (
	errAddName  = &Error{400, "malformed field name"}
	errAddValue = &Error{400, "invalid field value"}
)

// AddField adds one field to r: the next line of an HTTP/1.1 header section,
// or the next entry of an HTTP/2 header list. It is the one way fields enter a
// Request (the Parser applies the same rules to each line it parses), so a
// field has the same meaning whatever the protocol: list-based fields
// combine, in order, with the earlier lines of the same name, and singletons
// follow the table in the package doc.
//
// name is a token in any ASCII case (HTTP/2 callers check that it is lower
// case themselves); value contains no CTL (NUL, CR, LF included) and no
// leading or trailing SP/HTAB. Neither is copied: both must stay unchanged
// until the Handler has returned, like a parsed request's buffer.
//
// AddField returns a *Error (status 400) for a malformed name or value, a
// second Host or Authorization, an invalid Host, an invalid or conflicting
// Content-Length, or a Transfer-Encoding line without a coding; the caller
// rejects the request (an HTTP/2 caller treats it as malformed, RFC 9113
// §8.1.1). The field is in Headers even then.
//
// A Host field sets r.Host unless it is already set (HTTP/2's :authority, or
// an absolute-form target, wins). Expect: 100-continue sets r.Expect100.
// AddField never changes KeepAlive, ContentLength or Chunked: those are the
// caller's framing. HTTP/2 callers reject the connection-specific fields
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, and
// TE other than "trailers"; RFC 9113 §8.2.2) before calling AddField.
func (r *Request) AddField(name, value []byte) error {
	r.pushHeader(name, value)
	if len(name) == 0 {
		return errAddName
	}
	for _, c := range name {
		if !tchar[c] {
			return errAddName
		}
	}
	i := 0
	for i+8 <= len(value) && plain8(binary.LittleEndian.Uint64(value[i:])) {
		i += 8 // as splitField: 8 plain bytes at a time
	}
	for _, c := range value[i:] {
		if !valueChar[c] {
			return errAddValue
		}
	}
	if n := len(value); n > 0 && (value[0] == ' ' || value[0] == '\t' || value[n-1] == ' ' || value[n-1] == '\t') {
		return errAddValue
	}
	return r.addRules(name, value)
}

// AddCheckedField is AddField without its byte checks, for a caller that
// replays fields AddField accepted before: the same name and value bytes,
// after the same fields, on a Request reset since (an HTTP/2 connection
// whose client repeats a request's field block). The field rules still
// run, so the Request ends up as AddField would leave it.
func (r *Request) AddCheckedField(name, value []byte) error {
	r.pushHeader(name, value)
	return r.addRules(name, value)
}

// pushHeader appends name: value to Headers. The fields are stored one by
// one: append of a Header literal builds it on the stack and copies it
// with 16-byte loads of 8-byte stores, a store-forwarding stall on every
// field (12 ns of AddField's 15 measured in h2's round trip).
func (r *Request) pushHeader(name, value []byte) {
	n := len(r.Headers)
	if n < cap(r.Headers) {
		r.Headers = r.Headers[:n+1]
	} else {
		r.Headers = append(r.Headers, Header{})
	}
	h := &r.Headers[n]
	h.Name, h.Value = name, value
}

// addRules applies the rules of field name (its meaning, combining, the
// accessors' values) to a line already in Headers.
func (r *Request) addRules(name, value []byte) error {
	id := lookupField(name)
	first := r.rules.seen&id.bit() == 0
	err := r.rules.add(id, value)
	r.store(id, value, first)
	r.Expect100 = r.rules.expect100
	if err != nil {
		return err
	}
	return nil
}

// store records the value of a line of field id for the accessors; first
// says it is the first line of that name.
func (r *Request) store(id fieldID, v []byte, first bool) {
	switch {
	case id < nStored:
		if first {
			if v == nil {
				v = []byte{}
			}
			r.known[id] = v
		}
	case id == fHost:
		if r.Host == nil && first {
			if v == nil {
				v = []byte{}
			}
			r.Host = v
		}
	}
}

// Reset empties r for the next request, keeping the memory of Headers and of
// the combined values. An HTTP/2 caller resets a Request, sets the fields
// that come from pseudo-header fields (Method, MethodName, Target, Path,
// Query, Host, Major = 2) and calls AddField for each regular field.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0], scratch: r.scratch[:0]}
}

// DeclaredLength returns the value of the request's Content-Length field and
// whether it had one. For HTTP/1.1 it is the body's framing (ContentLength);
// an HTTP/2 caller checks it against the DATA it receives (RFC 9113 §8.1.1).
func (r *Request) DeclaredLength() (int64, bool) {
	return r.rules.cl, r.rules.seen&fContentLength.bit() != 0
}

// IfMatch returns the If-Match list: all its field lines combined in order
// (RFC 9110 §5.3), nil when absent. Elements may be empty (see List).
func (r *Request) IfMatch() []byte { return r.combined(fIfMatch) }

// IfNoneMatch returns the If-None-Match list, all its lines combined; nil
// when absent.
func (r *Request) IfNoneMatch() []byte { return r.combined(fIfNoneMatch) }

// AcceptEncoding returns the Accept-Encoding list, all its lines combined;
// nil when absent.
func (r *Request) AcceptEncoding() []byte { return r.combined(fAcceptEncoding) }

// IfModifiedSince returns the If-Modified-Since value; nil when absent or
// sent more than once (RFC 9110 §13.1.3: then it is ignored).
func (r *Request) IfModifiedSince() []byte { return r.single(fIfModifiedSince) }

// IfUnmodifiedSince returns the If-Unmodified-Since value; nil when absent or
// sent more than once (RFC 9110 §13.1.4).
func (r *Request) IfUnmodifiedSince() []byte { return r.single(fIfUnmodifiedSince) }

// IfRange returns the If-Range value; nil when absent or sent more than once.
func (r *Request) IfRange() []byte { return r.single(fIfRange) }

// Range returns the Range value; nil when absent, sent more than once, or
// when If-Range was sent more than once: an ignored Range means the whole
// representation (RFC 9110 §14.2), and several If-Range validators can never
// match (§13.1.5), which also means the whole representation.
func (r *Request) Range() []byte {
	if r.rules.multi&fIfRange.bit() != 0 {
		return nil
	}
	return r.single(fRange)
}

// single returns the value of singleton id: nil when it repeats.
func (r *Request) single(id fieldID) []byte {
	if r.rules.multi&id.bit() != 0 {
		return nil
	}
	return r.known[id]
}

// combined returns the combined value of list field id. One line's value is
// returned as it is; several lines are joined with ", " into r's scratch on
// the first call (empty lines contribute nothing) and cached.
func (r *Request) combined(id fieldID) []byte {
	b := id.bit()
	if r.rules.multi&b == 0 || r.joined&b != 0 {
		return r.known[id]
	}
	s := r.scratch
	start := len(s)
	for _, h := range r.Headers {
		if len(h.Value) == 0 || lookupField(h.Name) != id {
			continue
		}
		if len(s) > start {
			s = append(s, ", "...)
		}
		s = append(s, h.Value...)
	}
	r.scratch = s
	r.known[id] = s[start:len(s):len(s)]
	if r.known[id] == nil {
		// Every line empty (and no scratch yet): present, so empty, not
		// nil (an empty slice allocates nothing).
		r.known[id] = []byte{}
	}
	r.joined |= b
	return r.known[id]
}

// Field returns the value of the first line of field name (any ASCII case)
// and how many lines the request has of it: (nil, 0) when absent. For a
// singleton a handler treats lines > 1 by the field's own rule; for a
// list-based field, use List.
func (r *Request) Field(name string) (value []byte, lines int) {
	for _, h := range r.Headers {
		if foldEqual(h.Name, name) {
			if lines == 0 {
				value = h.Value
			}
			lines++
		}
	}
	return value, lines
}

// List returns the elements of the list-based field name (any ASCII case)
// across all its lines in order, as RFC 9110 §5.6.1 defines them: empty
// elements are skipped. It allocates nothing and leaves r unchanged. Use it
// for any list-based field a handler reads (TE, Cache-Control, Upgrade, ...).
func (r *Request) List(name string) List {
	return List{hdrs: r.Headers, name: name}
}

// ListOf returns the elements of one field value (a line, or a combined
// value such as IfMatch's).
func ListOf(v []byte) List {
	return List{cur: v}
}

// List iterates over the elements of a list-based field (RFC 9110 §5.6.1):
//
//	for l := req.List("cache-control"); ; {
//		elem, ok := l.Next()
//		if !ok {
//			break
//		}
//		...
//	}
//
// Elements are separated by commas outside double quotes, trimmed of SP and
// HTAB, and empty ones are skipped. A double quote opens a quoted part that
// the next double quote closes, with no backslash escapes, as in an
// entity-tag (RFC 9110 §8.8.3; a quoted-string with an escaped quote is
// rare in request lists, an ETag with a backslash is not); an unclosed one
// ends at the end of its line. An element of one line never continues on the
// next. The zero List is empty.
type List struct {
	cur  []byte   // rest of the current line
	hdrs []Header // lines after the current one, when iterating a request
	name string   // the field name to look for in hdrs
}

// Next returns the next non-empty element, or ok false at the end.
func (l *List) Next() (elem []byte, ok bool) {
	for {
		v := l.cur
		i := 0
		for i < len(v) && (v[i] == ',' || v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i < len(v) {
			s := i
			quoted := false
			for i < len(v) && (quoted || v[i] != ',') {
				if v[i] == '"' {
					quoted = !quoted
				}
				i++
			}
			e := i
			for v[e-1] == ' ' || v[e-1] == '\t' {
				e--
			}
			l.cur = v[i:]
			return v[s:e:e], true
		}
		l.cur = nil
		if !l.nextLine() {
			return nil, false
		}
	}
}

// nextLine moves l to the next line of its field; false when there is none.
func (l *List) nextLine() bool {
	for i, h := range l.hdrs {
		if foldEqual(h.Name, l.name) {
			l.cur, l.hdrs = h.Value, l.hdrs[i+1:]
			return true
		}
	}
	l.hdrs = nil
	return false
}

// foldEqual reports whether a equals b ignoring ASCII case (any case on
// either side).
func foldEqual(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := a[i], b[i]
		if x != y && lowerASCII(x) != lowerASCII(y) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
