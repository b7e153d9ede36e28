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
// chunked body is de-chunked into the parser's scratch. The fields a file
// server consults on every request (Host, If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since, If-Range, Range, Accept-Encoding)
// are picked out during the parse by a switch on the name's length. A
// steady-state parse allocates nothing: Request.Headers keeps its capacity.
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
