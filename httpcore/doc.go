// Package httpcore is HTTP/1.1 as a state machine with no I/O: bytes in,
// requests out; response heads out. It never reads a socket, starts a
// goroutine or opens a file, so everything in it is testable with byte
// slices.
//
// # Requests
//
// A Parser parses the requests of one connection in order. The engine calls
// Parse with the connection's unconsumed bytes:
//
//	n, err := p.Parse(buf, &req)
//	switch {
//	case err == nil:           // req is complete; the next request starts at buf[n:]
//	case err == ErrNeedMore:   // read more, append it to buf, call Parse again
//	default:                   // *Error: send e.Status with Connection: close, then close
//	}
//
// buf always starts at the first byte of the request being parsed. After
// ErrNeedMore the caller may only extend it (possibly after moving the bytes
// to a bigger array); the parser keeps offsets, never pointers, and resumes at
// the line where it stopped without rescanning the lines it accepted. Field
// names, values, the target and a Content-Length body are slices of buf; a
// chunked body is de-chunked into the parser's scratch. The fields httpcore
// interprets are classified during the parse by a switch on the name's
// length (fields.go). A steady-state parse allocates nothing:
// Request.Headers keeps its capacity.
//
// # Fields
//
// Fields enter a Request through Parse (HTTP/1.1 field lines) or
// Request.AddField (HTTP/2 header list entries, one field per entry); both
// apply the same rules (fieldRules in fields.go), so a handler sees one
// meaning whatever the protocol. Handlers read fields through accessors:
// IfMatch, IfNoneMatch, AcceptEncoding (a list's combined value),
// IfModifiedSince, IfUnmodifiedSince, IfRange, Range (a singleton's value or
// nil), Field (any field's first line and line count) and List (the
// elements of any list-based field).
//
// A list-based field sent on several lines is one list: the concatenation of
// its lines in order (RFC 9110 §5.3), with empty elements ignored (§5.6.1).
// That holds for Accept-Encoding, Connection, Expect, If-Match,
// If-None-Match, TE, Transfer-Encoding, Cache-Control and Upgrade, and for
// any field a handler reads with List. A list field on one line is returned
// as it came (no copy, no allocation); on several lines, its accessor joins
// the non-empty lines with ", " into the Request's scratch once (no
// allocation once the scratch has grown). Transfer-Encoding's list decides
// the framing: chunked must be the last coding of all its lines, and a
// Transfer-Encoding line without any coding is 400 (a lenient reading there
// is where a proxy and ringhttpd could disagree on the body).
//
// Singleton fields may appear once. When one repeats (a second line, or a
// list on one line):
//
//	field                 repeated                             why
//	Host                  400 and close                        RFC 9112 §3.2
//	Content-Length        same value: one; else 400 and close  RFC 9112 §6.3 (framing)
//	Authorization         400 and close                        a proxy and the handler could check different credentials
//	If-Modified-Since     ignored (nil)                        RFC 9110 §13.1.3: more than one member
//	If-Unmodified-Since   ignored (nil)                        RFC 9110 §13.1.4: not a valid HTTP-date
//	If-Range              ignored, and the Range with it       RFC 9110 §13.1.5: no single validator can match
//	Range                 ignored (nil): whole representation  RFC 9110 §14.2
//
// A list on one line ("Content-Length: 5, 5", "Host: a, b") is invalid like
// the field's other malformed values (400 for Host and Content-Length; for
// the ignored ones the handler's own parse finds it invalid and ignores it).
//
// The parser implements RFC 9112 framing strictly, because a proxy in front
// of ringhttpd and ringhttpd must agree on where each request ends:
// Transfer-Encoding with Content-Length, differing or malformed
// Content-Length, obs-fold, bare CR, NUL/CR/LF in a value, whitespace before
// a colon, and malformed chunk sizes are all 400. A bare LF ends a line of
// the head (RFC 9112 §2.2 allows it) but never a line of chunked framing. A
// rejected request is final: Parse returns the same *Error until Reset, so
// nothing after a framing error is ever parsed as a request.
//
// # Limits
//
// Limits bounds the request line (8 KiB, 414), the header section (16 KiB and
// 100 fields, 431) and the body (1 MiB after de-chunking, 413; a chunked
// body's framing gets MaxBody/8 + 16 KiB more, also 413). A zero field takes
// its default. Since a request's bytes stay in the caller's buffer until
// Parse returns it, Limits.MaxRequestBytes is the most an engine's
// per-connection buffer ever has to hold. HTTP/2.0 and other majors get 505;
// HTTP/1.x with x > 1 is served as HTTP/1.1.
//
// Every decision depends only on the bytes seen so far, in order: a request
// gets the same answer whatever the read boundaries were. The table test
// feeds each case whole, byte by byte and split at every point, and the fuzz
// targets check the same property on arbitrary input.
//
// # Responses
//
// A Handler fills a Response: Head (status line and fields, built with
// AppendStatusLine, AppendField, AppendContentLength and friends) plus a body
// plan. Preflight answers OPTIONS *, CONNECT and unknown methods before any
// handler; WriteError builds small error answers from static memory; Finish
// appends the Date line (from a per-worker DateCache, reformatted once a
// second), the Connection field and the blank line. NoBody says when no body
// may be sent (HEAD, 1xx, 204, 304). AppendChunk and AppendLastChunk encode
// bodies of unknown length for HTTP/1.1 clients.
package httpcore
