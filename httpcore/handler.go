package httpcore

// Handler answers requests on an engine's loop thread (see the package doc,
// "Writing a handler").
//
// Serve fills resp and returns nil, or returns an Op: a blocking step (an open,
// a stat, a read, or arbitrary code) the engine performs off its loop before
// calling op.Then. Serve must not block, must not keep req or its slices past
// its return, and runs on one engine thread at a time per connection; a
// Handler shared by several workers must be safe for concurrent use (or
// implement PerWorker).
//
// Responses to one HTTP/1.1 connection's pipelined requests go out in
// request order: while an Op is pending the engine parses no further request
// of that connection. HTTP/2 streams wait only for their own Op.
type Handler interface {
	Serve(req *Request, resp *Response) *Op
}

// BodyIgnorer is implemented by handlers that never read Request.Body (a
// static file server answers requests with a body 405). The engine then
// parses HTTP/1.1 with Parser.SkipBodies: a request with a body reaches
// Serve as soon as its head is complete (Body nil, BodyUnread set), and the
// body is discarded as it arrives (a short one; a long or chunked one closes
// the connection after the answer) instead of being buffered up to
// Limits.MaxBody. HTTP/2 bodies are still collected (within MaxBody). The
// engine asks the Handler given to server.New, once, at Start.
type BodyIgnorer interface {
	IgnoresBodies() bool
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(req *Request, resp *Response) *Op

// Serve calls f(req, resp).
func (f HandlerFunc) Serve(req *Request, resp *Response) *Op { return f(req, resp) }

// FileRef is an open file a handler lends to the engine for one response body
// (a file cache entry, typically). The engine calls Release exactly once, when
// it no longer needs the descriptor: after the last byte was sent, or the send
// failed, or the connection was closed (after the final completion of any
// in-flight kernel operation that uses the descriptor).
type FileRef interface {
	Fd() int
	Release()
}

// MappedFile is a FileRef that can also lend its whole file mapped
// read-only into memory, so that an engine hands ranges of it to the kernel
// by reference instead of reading them into buffers first (the kernel then
// copies them into the socket once, not twice).
//
// Mapped returns the mapping, its pages made resident when it was made, or
// nil while there is none: the first call asks for one, made off the
// caller's thread (a loop never waits for a disk read). The memory stays
// valid until this reference is released. Only the kernel may read it: a
// file truncated meanwhile turns a read of a lost page into SIGBUS in Go
// code, and into EFAULT (the send fails) in a system call.
type MappedFile interface {
	FileRef
	Mapped() []byte
}

// Part is one piece of a body made of several: in-memory bytes when Bytes is
// non-nil, otherwise Len bytes at Off of Response.File.
type Part struct {
	Bytes []byte
	Off   int64
	Len   int64
}

// Response is the plan for one answer. The engine owns it and resets it
// before each Serve.
//
// Head holds the status line and header fields, each line ending in CRLF,
// but not the Date and Connection fields nor the blank line that ends the
// head: the engine appends those (see Finish), so every response carries
// them consistently. Head starts as an empty slice of engine-owned memory with
// spare capacity; handlers append to it.
//
// Reply fills Status, Head and Body of an in-memory answer in one call.
//
// The body is, in order of precedence: Parts (a multipart body), File (Len
// bytes at Off of the file), Body (bytes). The handler sends Content-Length
// itself (Reply does). Body and Parts' Bytes are sent by reference after the
// handler returns, so they must not change until the response is sent: a
// fresh slice, or long-lived read-only memory (a cache), never a reused
// scratch buffer. The engine never writes to them and stops using them once
// the response is sent.
//
// The engine sends no body for HEAD requests and for 1xx, 204 and 304
// answers, whatever the plan says, so a handler may build one plan for GET and
// HEAD.
type Response struct {
	// Status is the status line's code; the engine decides by it whether
	// a body may follow (and HTTP/2 sends it as :status).
	Status int
	Head   []byte
	Body   []byte
	File   FileRef
	Off    int64
	Len    int64
	Parts  []Part
	// Close asks the engine to close the connection after this response
	// (the engine adds "Connection: close"). HTTP/1.1 only: HTTP/2
	// ignores it.
	Close bool
}

// Reset empties resp for the next request, keeping Head's and Parts' memory.
func (resp *Response) Reset() {
	*resp = Response{Head: resp.Head[:0], Parts: resp.Parts[:0]}
}

// OpKind says which blocking step an Op stands for.
type OpKind uint8

// The steps an engine performs for a handler. The uring engine submits the
// first three to its ring; the epoll engine runs them on a bounded helper.
// OpFunc always runs on a helper goroutine (server.Config.OpHelpers of
// them): the way to call code that blocks, such as a database driver or an
// HTTP client.
const (
	OpOpenat2 OpKind = iota + 1 // openat2(Fd, Path, {Flags, Mode, Resolve})
	OpStatx                     // statx(Fd, Path or "" with AT_EMPTY_PATH, Flags as mask) into Buf (>= 256 bytes)
	OpRead                      // pread(Fd, Buf, Off)
	OpFunc                      // Func() on a goroutine that may block
)

// Op is a blocking step a handler needs before it can answer. The engine
// performs it without blocking its loop, stores the result in Res, and calls
// Then on the engine thread that called Serve. Then fills resp and returns
// nil, or returns the next Op.
//
// For OpFunc only Kind, Func, Then and (optionally) Abandon are used: Func
// runs on a helper goroutine and must not touch the request or the
// Response; what it writes (through its closure) is visible to Then.
//
// Invariant: Path (NUL-terminated) and Buf stay reachable through the Op until
// Then runs; the engine keeps the Op referenced until the kernel's final
// completion for it, cancellation included, so their memory is never reused
// while the kernel may still touch it. If the connection dies first, the
// engine still waits for that completion and then drops the Op without
// calling Then; Abandon (when non-nil) is called instead so the handler can
// release what it holds.
type Op struct {
	Kind    OpKind
	Fd      int32
	Path    []byte
	Flags   uint64
	Mode    uint64
	Resolve uint64
	Buf     []byte
	Off     int64
	Func    func()

	// Res is the result: >= 0 on success (a descriptor for OpOpenat2, a
	// byte count for OpRead), -errno on failure. OpFunc leaves it 0.
	Res int32

	Then    func(op *Op, resp *Response) *Op
	Abandon func(op *Op)
}
