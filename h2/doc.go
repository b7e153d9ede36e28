// Package h2 is the server side of HTTP/2 (RFC 9113) as a state machine with
// no I/O, shaped like httpcore: bytes in, complete requests out through a
// Host, frames out into a Sink. It never reads a socket, starts a goroutine
// or opens a file; everything in it is testable with byte slices.
//
// # Use
//
//	var c h2.Conn
//	c.Init(&cfg, host)               // queues the server's SETTINGS
//	c.Tick(now)                      // the time: budgets refill with it
//	n, err := c.Feed(buf)            // whole frames; keep buf[n:] for next time
//	// host.Request(id, req) ran for each complete request; later:
//	c.Respond(id, &resp, noBody, dateLine)
//	more := c.Flush(sink, budget)    // frames into the connection's output queue
//	...
//	c.Release()                      // connection gone (after the Sink let go)
//
// Feed consumes whole frames only: the engine keeps the tail and its buffer
// needs FrameBytes(cfg) bytes. A Feed error is a connection error with
// GOAWAY already queued. GoAway starts a graceful shutdown; Idle says when
// the connection holds nothing; Stalled says output waits only for the
// peer's flow-control window (the engine's send timeout runs then).
//
// # Files
//
//	frame.go    frame codec: pure encode/decode on byte slices
//	conn.go     Conn, Feed's input states (one expect function per state:
//	            preface, first SETTINGS, any frame, CONTINUATION) and the
//	            frame handlers, indexed by type; connection flow control
//	stream.go   stream states, Respond, the send path (Flush) and send
//	            windows
//	hpack.go    field blocks in through x/net/http2/hpack with their limits
//	encoder.go  the response field block encoder (dynamic table, no
//	            allocation)
//	blockcache.go  the encoder's cache of blocks that left the table
//	            unchanged, keyed by status, field lines and table state
//	reqcache.go the decoded fields of the last request block made only of
//	            indexed fields (a repeated request skips the decoder)
//	request.go  pseudo-header rules and the httpcore.Request a Host gets
//	config.go   Config, defaults and limits
//
// # Streams
//
// A stream lives from its HEADERS until both sides ended it (or a reset).
// The request goes to Host.Request once END_STREAM arrived, with its body
// (bounded by Limits.MaxBody: 413 beyond, answered by the Conn itself, like
// 414 for a long :path and 431 for a large field section). The host answers
// with Respond at any later time (or during Request); Host.Cancel tells it a
// stream it holds is gone. A request the Conn answers itself before its body
// ended is followed by RST_STREAM(NO_ERROR), as RFC 9113 §8.1 allows.
// Malformed requests (RFC 9113 §8.1.1: pseudo-header order, duplicates,
// missing or unknown pseudo-headers, upper-case names, connection-specific
// fields, TE other than "trailers", a content-length that the DATA does not
// match) are reset with PROTOCOL_ERROR.
//
// Closed streams are not kept. A 256-bit map of the latest stream ids tells
// a closed stream from an id the peer skipped (an idle stream forever), and
// a ring of the last 32 streams the Conn reset drops the frames the peer sent
// before it saw the reset.
//
// # Responses
//
// resp.Head's status line and "Name: value" lines become one HPACK field
// block, encoded when its HEADERS frame is written: fields shared across
// responses (server, content-type, vary, the date of the current second)
// enter the dynamic table once and are one-byte references after that;
// per-resource fields (etag, last-modified, content-length) are literals
// with static-table names, Huffman-coded when shorter, that enter the table
// when the connection sends them a second time (a resource asked for again).
// Per-response fields (content-range, location, set-cookie...) never do. A
// block that leaves the table alone is kept and copied the next time (the
// block cache). Connection,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade and TE
// are dropped. Bodies go out as DATA frames of at most the peer's
// SETTINGS_MAX_FRAME_SIZE within both send windows: in-memory bytes by
// reference (Sink.WriteRef), file ranges as a 9-byte frame head followed by
// Sink.WriteFile of exactly the frame's bytes, the last one with release.
// A stream reset while its file is partly queued releases it in order with
// WriteFile(f, 0, 0, true).
//
// # Defenses
//
// Every attack below is a test in attack_test.go that shows the work, the
// memory and the queued bytes stay bounded.
//
//   - Rapid Reset (CVE-2023-44487): at most Config.MaxNewStreamsPerFeed new
//     streams per Feed (the rest are refused), and a reset budget: each
//     stream the peer resets while live costs one, each stream served to
//     completion gives one back; an empty budget is GOAWAY ENHANCE_YOUR_CALM.
//   - MadeYouReset (CVE-2025-8671): every RST_STREAM the Conn sends because of
//     what the peer sent (malformed requests, flow-control or state errors,
//     refused streams) is charged to the same budget.
//   - CONTINUATION flood (CVE-2024-27316 family): a field block's encoded
//     bytes are counted across its frames (frame headers and padding
//     included) and bounded; over the bound is ENHANCE_YOUR_CALM. The HPACK
//     decoder always runs over every block, refused or not, so its dynamic
//     table stays in sync.
//   - HPACK bomb: decoded bytes and the field count are bounded as they are
//     emitted; past the limit the decoder keeps running with emission off (no
//     strings built) and the stream gets 431.
//   - SETTINGS, PING and empty-frame floods: control frames queue in the Conn
//     only while the Sink is over its budget (a peer that does not read), and
//     at most Config.MaxControlBytes of them; frames that do no work spend a
//     junk budget that completed streams refill.
//   - Both budgets also refill with time (Tick; all of a budget per
//     Config.BudgetRefill), so that a long-lived connection that completes
//     few streams (keep-alive PINGs during a long download) is not closed
//     for what it did over hours; a flood spends them far faster.
//   - Zero-window slow read: Stalled reports it; the engine's send timer
//     closes the connection.
//   - Stream-id exhaustion: no state grows with stream ids (closed streams
//     are not kept); ids are checked to only grow; 2^31-1 is the last.
//
// Request bodies buffered across a connection's streams are bounded by
// Config.MaxBodyBuffer: a stream that would pass it is refused.
package h2
