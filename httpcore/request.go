package httpcore

import "time"

// Method is a request method ringhttpd knows by name. Methods it does not know
// parse as MethodUnknown (the engine answers 501).
type Method uint8

// The known methods.
const (
	MethodUnknown Method = iota
	MethodGet
	MethodHead
	MethodPost
	MethodPut
	MethodDelete
	MethodOptions
	MethodPatch
	MethodTrace
	MethodConnect
)

// Header is one field line of a request. Invariant: Name and Value alias the
// buffer the request was parsed from; Value has no leading or trailing
// whitespace.
type Header struct {
	Name  []byte
	Value []byte
}

// Request is one complete, validated request: head and (for the few requests
// that carry one) body.
//
// Invariant: every byte slice aliases the buffer the request was parsed from
// (for a chunked body, the parser's scratch; for the combined value of a
// list-based field sent on several lines, the Request's own scratch; for an
// HTTP/2 request, the memory its fields were added from) and is valid only
// until the Handler returns. A handler that answers later (see Op) copies
// what it needs.
//
// Fields enter a Request only through Parse or AddField, which apply the same
// per-field rules (see the package doc's field table); a handler reads them
// through the accessors (IfMatch, Range, List, Field, ...), which give one
// meaning whatever the protocol.
type Request struct {
	Method     Method
	MethodName []byte // as sent, e.g. "GET"
	Target     []byte // the request-target as sent
	Path       []byte // raw (still percent-encoded) path: starts with '/', or is "*"
	Query      []byte // after '?', without it; nil when the target has none
	Host       []byte // authority: absolute-form's wins over the Host field

	// Major and Minor are the HTTP version. 1.x with x > 1 is served (and
	// reported) as 1.1, so Minor is 0 or 1; HTTP/2 requests are 2.0.
	Major, Minor uint8

	Headers []Header // every field line (HTTP/2: entry) in order; capacity is reused

	ContentLength int64 // body length after de-chunking; 0 when there is none
	Chunked       bool  // the body came with Transfer-Encoding: chunked
	// Body is the whole request body, de-chunked, read before the handler
	// runs (at most Limits.MaxBody: a larger one is answered 413 without
	// the handler). It is nil when there is none, for a BodyIgnorer
	// handler (see BodyUnread), and for an Expect: 100-continue request
	// whose body had not arrived with its head (see Expect100). Like every
	// slice of the Request it is valid only until Serve returns.
	Body []byte
	// BodyUnread, with Parser.SkipBodies, says the body was not read: that
	// many bytes of it follow the head in the input (-1: a chunked body,
	// its length unknown). Body is then nil; the caller discards the
	// bytes (or closes the connection) before the next request.
	BodyUnread int64

	// KeepAlive says the connection persists after the response: by version
	// and Connection tokens (HTTP/1.1 unless "close", HTTP/1.0 only with
	// "keep-alive").
	KeepAlive bool
	// Expect100 says the request carried Expect: 100-continue and a body.
	// When the body had not arrived with the head, the request reaches the
	// handler without it (Body nil; ContentLength the announced length, or
	// Chunked; the engine sends no 100 Continue) and the connection closes
	// after the answer, which should be a final error (417, 413).
	Expect100 bool

	// Now is when the server took the request up: the clock of the loop
	// turn that parsed it, read once per turn rather than once per
	// request. It is the zero Time when the caller did not set it; a
	// handler then reads the clock itself.
	Now time.Time

	// The fields a file server consults on every request are found while
	// the fields are added (by Parse or AddField), so that handlers never
	// scan Headers for them: see the accessors IfMatch, IfNoneMatch,
	// AcceptEncoding, IfModifiedSince, IfUnmodifiedSince, IfRange and Range.
	rules   fieldRules      // per-field line counts and rule state
	known   [nStored][]byte // first line's value (or the combined list once joined)
	joined  uint32          // bit per fieldID: known holds the combined list
	scratch []byte          // combined lists of fields sent on several lines
}

// LookupMethod returns the Method named m (case-sensitive, RFC 9110 §9.1),
// MethodUnknown for a name it does not know. An HTTP/2 caller uses it for
// the :method pseudo-header field.
func LookupMethod(m []byte) Method { return lookupMethod(m) }
