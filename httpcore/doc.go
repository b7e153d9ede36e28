// Package httpcore is the contract between ringhttpd's engines and the code
// that answers requests (Handler, Request, Response, Op), and HTTP/1.1 as a
// state machine with no I/O that the engines parse with. It never reads a
// socket, starts a goroutine or opens a file, so everything in it, handlers
// included, is testable with byte slices.
//
// The first sections are for handler authors; the ones from "Requests" on
// describe the parser and the pieces only engines call (Parser, Preflight,
// Response.Finish, DateCache, Request.AddField).
//
// # Writing a handler
//
// A Handler answers one request at a time by filling a Response:
//
//	func hello(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
//		resp.Reply(200, "text/plain; charset=utf-8", helloBody) // helloBody: a package-level []byte
//		return nil
//	}
//
//	s, err := server.New(server.Config{Listen: []string{":8080"}}, httpcore.HandlerFunc(hello))
//
// The same Handler serves HTTP/1.1 and HTTP/2, over plain TCP and TLS, on
// both engines. Serve runs on an engine's loop thread: the thread that also
// receives, parses and sends for thousands of other connections. So a
// handler
//
//   - must not block: no file or network I/O, no locks held for long, no
//     channel waits, no time.Sleep. Anything slow goes into an Op (below);
//   - must not keep req, or any slice of it (Path, Query, header values,
//     Body), after it returns: they alias the connection's input buffer,
//     which the engine reuses. Copy what you need (string(req.Path),
//     bytes.Clone(req.Body)) before returning an Op;
//   - must not keep resp after it returns nil, nor after an Op's Then or
//     Abandon has run: the engine reuses it for the next request;
//   - must be safe for concurrent use when it is shared: every worker (one
//     per CPU by default) calls the same Handler at the same time. A handler
//     that implements PerWorker gets one instance per worker instead, used
//     by that worker's thread only, so per-worker state (caches, scratch
//     buffers) needs no locks. A handler that wraps a PerWorker handler
//     (a router in front of a files.Handler) implements PerWorker too and
//     forwards ForWorker, or the wrapped handler runs its shared, locked path.
//
// A panic in Serve, Then or an OpFunc's Func is recovered: the request is
// answered 500, the panic is logged (with its stack) and counted, and the
// connection and the worker go on; a panic in Abandon is logged and counted.
// Returning nil with an empty Response (no status line) is answered 500
// too.
//
// Before any handler runs, the engine answers what needs no handler: a
// malformed or oversized request (400, 413, 414, 431), an unknown method
// (501), CONNECT (405) and OPTIONS * (Preflight). Every other method,
// OPTIONS /path included, reaches the handler, which answers 405 (with an
// Allow field) to the methods it does not serve.
//
// # Filling the Response
//
// Response.Reply builds a complete in-memory answer: status line,
// Content-Type, Content-Length and body. Field lines appended to resp.Head
// after it are sent too:
//
//	resp.Reply(200, "application/json", body)
//	resp.Head = httpcore.AppendField(resp.Head, "Cache-Control", "no-store")
//
// Built by hand, an answer is Status, Head (the status line, then
// "Name: value\r\n" lines: AppendStatusLine, AppendField,
// AppendContentLength) and one body plan. WriteError answers an error with
// a small text body. The rules the engine applies:
//
//   - Head is HTTP/1.1 text. The engine appends Date, Connection (see
//     Response.Close) and the blank line; over TLS, Strict-Transport-Security
//     when configured. For HTTP/2 it turns the lines into a HEADERS frame,
//     lowercasing names and dropping Connection, Keep-Alive, Transfer-Encoding,
//     Upgrade and TE. Status must be the status line's code.
//   - The handler sends Content-Length (Reply does): the body is always of
//     known length, never chunked.
//   - The body is Parts when it has any (a multipart body: each Part is
//     bytes, or a range of File), else File (Len bytes at Off), else Body.
//   - No body goes out for a HEAD request or a 1xx, 204 or 304 answer,
//     whatever the plan says: build one plan for GET and HEAD, with GET's
//     Content-Length.
//   - Body and Parts' Bytes are sent by reference, after the handler has
//     returned, possibly much later (an HTTP/2 flow-control window, a slow
//     client). They must not change until then: a fresh slice per answer
//     (what json.Marshal returns), or long-lived read-only memory (a
//     constant, a cache entry). Never a scratch buffer the handler reuses.
//   - File is a FileRef: an open descriptor the handler lends for this one
//     answer. The engine sends from it (sendfile/splice, or reads for TLS)
//     and calls Release exactly once, when the last byte is sent, the send
//     failed, the connection closed, or no body was due (HEAD, 304).
//     Give every answer its own reference (a reference count): two answers
//     in flight mean two Releases. Reply and WriteError release a File the
//     Response already held. A File that is also a MappedFile lends its
//     file mapped: an engine may send HTTP/2 frames straight from it.
//   - Close (HTTP/1.1) closes the connection after this answer; HTTP/2
//     ignores it.
//
// # Waiting without blocking: Op
//
// A handler that needs something slow (a database query, a call to another
// service, a file read) returns an Op instead of an answer. The engine runs
// it off the loop, and then calls op.Then on the same loop thread with the
// same Response; the loop serves other connections meanwhile:
//
//	func user(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
//		id := string(req.Query) // copied: req is gone once Serve returns
//		var u User
//		var err error
//		return &httpcore.Op{
//			Kind: httpcore.OpFunc,
//			Func: func() { u, err = db.LoadUser(id) }, // a helper goroutine; may block
//			Then: func(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
//				if err != nil { // back on the loop thread
//					httpcore.WriteError(resp, 500)
//					return nil
//				}
//				body, _ := json.Marshal(u)
//				resp.Reply(200, "application/json", body)
//				return nil
//			},
//		}
//	}
//
// OpFunc's Func runs on one of a bounded set of helper goroutines
// (server.Config.OpHelpers: by default 2 per worker, 4 to 16; each waiting
// Func holds one, more wait in a queue; raise it for handlers that wait on
// slow services). Func must not touch req or resp; it talks to Then through
// the closure, and everything Func wrote is visible to Then. Then may
// answer, or return the next Op (a chain). OpOpenat2, OpStatx and OpRead are
// file system steps the uring engine submits to its ring without any
// goroutine (see files for a handler built on them).
//
// If the client goes away while an Op runs (the connection closed, or the
// HTTP/2 stream was reset), the engine waits for the Op to complete, then
// calls Abandon (when set) instead of Then, so the handler can release what
// it holds. An Op is the handler's again once Then or Abandon has run.
//
// Answers go out in request order: while an Op is pending, the engine
// parses no further request of that HTTP/1.1 connection (its pipelined
// requests wait). HTTP/2 streams of one connection wait for nothing but
// their own Op.
//
// # Request bodies
//
// By default the engine reads a request's whole body before calling Serve:
// req.Body holds it (de-chunked; nil when there is none), up to
// Limits.MaxBody (server.Config.Limits; 1 MiB by default). A larger body is
// answered 413 by the engine and never reaches the handler. Like every
// slice of req, Body is valid only until Serve returns: copy it to use it
// in an Op.
//
// An HTTP/1.1 request with "Expect: 100-continue" whose body has not
// arrived with its head reaches the handler at once, without its body
// (Expect100 true, Body nil, ContentLength the announced length): the
// engine sends no 100 Continue, so answer it with a final status (417, or
// 413); the connection closes after the answer. (Recent curl versions send
// the field for bodies over 1 MiB.)
//
// A handler that never reads bodies implements BodyIgnorer: the engine
// then buffers none, and a request that carries one reaches Serve at its
// head, with Body nil and BodyUnread set; answer it 405 or 413. The body is
// skipped as it arrives (a short one; after a long or chunked one the
// connection closes). That is HTTP/1.1: HTTP/2 request bodies are collected
// whatever the handler (within MaxBody).
//
// # What a handler may keep
//
// Safe to keep: the Handler itself, anything the handler allocated or
// copied, FileRefs it holds references of, and an Op once Then or Abandon
// has run. Not safe: *Request and its slices (valid during Serve only),
// *Response and resp.Head's memory (the engine's, valid until Serve or
// Then returns), and Body bytes handed to the engine (read until sent).
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
// # Responses (engine side)
//
// Preflight answers OPTIONS *, CONNECT and unknown methods before any
// handler; WriteError builds small error answers from static memory; Finish
// appends the Date line (from a per-worker DateCache, reformatted once a
// second), the Connection field and the blank line. NoBody says when no body
// may be sent (HEAD, 1xx, 204, 304).
//
// What lives where: handler.go (Handler, Op, Response, FileRef, MappedFile,
// Part), request.go (Request, Method), fields.go (field rules and accessors, List),
// parser.go (Parser, Limits, Error), response.go (Reply, WriteError, Finish,
// Preflight, the Append helpers), status.go (status lines), date.go (HTTP
// dates, DateCache), lookup.go and tables.go (method and field name lookup).
package httpcore
