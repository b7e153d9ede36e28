package h2

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
)

// connCase is a client's frame sequence (after the preface and an empty
// SETTINGS), the server frames it must produce and the requests the host
// must see.
type connCase struct {
	name string
	cfg  Config
	in   func(cl *client)
	want string   // summary() of the server's output
	reqs []string // "METHOD path host [body]" per request the host got
	err  *Error   // the connection error Feed must return
}

var get = []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a.example"}

// fields returns get's pseudo-header fields followed by extra, with
// replace applied: a name in replace changes its value ("" removes it).
func fields(replace map[string]string, extra ...string) []string {
	var kv []string
	for i := 0; i < len(get); i += 2 {
		v, ok := replace[get[i]]
		switch {
		case !ok:
			kv = append(kv, get[i], get[i+1])
		case v != "":
			kv = append(kv, get[i], v)
		}
	}
	return append(kv, extra...)
}

func raw(cl *client, typ FrameType, flags uint8, id uint32, payload []byte) {
	cl.buf.Write(appendFrameHeader(nil, len(payload), typ, flags, id))
	cl.buf.Write(payload)
}

var connCases = []connCase{
	{
		name: "get",
		in:   func(cl *client) { cl.get(1, "/a?b=c") },
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET /a example.com"},
	},
	{
		name: "head has no body",
		in:   func(cl *client) { cl.headers(1, true, fields(map[string]string{":method": "HEAD"})...) },
		want: "SETTINGS ack\nHEADERS 1 +es 200\n",
		reqs: []string{"HEAD / a.example"},
	},
	{
		name: "several streams answered in order",
		in: func(cl *client) {
			cl.get(1, "/1")
			cl.get(3, "/3")
			cl.get(7, "/7")
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\nHEADERS 3 200\nDATA 3 +es 2\nHEADERS 7 200\nDATA 7 +es 2\n",
		reqs: []string{"GET /1 example.com", "GET /3 example.com", "GET /7 example.com"},
	},
	{
		name: "post body in two DATA frames",
		in: func(cl *client) {
			cl.headers(1, false, fields(map[string]string{":method": "POST"}, "content-length", "11")...)
			cl.fr.WriteData(1, false, []byte("hello "))
			cl.fr.WriteDataPadded(1, true, []byte("world"), make([]byte, 7))
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"POST / a.example hello world"},
	},
	{
		name: "expect 100-continue",
		in: func(cl *client) {
			cl.headers(1, false, fields(map[string]string{":method": "POST"}, "expect", "100-continue")...)
			cl.fr.WriteData(1, true, []byte("body"))
		},
		want: "SETTINGS ack\nHEADERS 1 100\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"POST / a.example body"},
	},
	{
		name: "trailers end the request",
		in: func(cl *client) {
			cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
			cl.fr.WriteData(1, false, []byte("x"))
			cl.headers(1, true, "x-checksum", "1")
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"POST / a.example x"},
	},
	{
		name: "field block in HEADERS and two CONTINUATIONs",
		in: func(cl *client) {
			b := cl.block(fields(nil, "user-agent", "test", "accept", "*/*")...)
			cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3], EndStream: true})
			cl.fr.WriteContinuation(1, false, b[3:6])
			cl.fr.WriteContinuation(1, true, b[6:])
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET / a.example"},
	},
	{
		name: "padded HEADERS with priority",
		in: func(cl *client) {
			cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: cl.block(get...), EndStream: true,
				EndHeaders: true, PadLength: 5, Priority: http2.PriorityParam{StreamDep: 0, Weight: 10}})
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET / a.example"},
	},
	{
		name: "ping",
		in:   func(cl *client) { cl.fr.WritePing(false, [8]byte{1, 2, 3}) },
		want: "SETTINGS ack\nPING ack\n",
	},
	{
		name: "priority ignored",
		in: func(cl *client) {
			cl.fr.WritePriority(3, http2.PriorityParam{StreamDep: 1, Weight: 1})
			cl.get(1, "/")
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET / example.com"},
	},
	{
		name: "unknown frame type ignored",
		in: func(cl *client) {
			raw(cl, 0xfa, 0xff, 0, []byte("xyz"))
			cl.get(1, "/")
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET / example.com"},
	},
	{
		name: "cookie crumbs joined",
		in: func(cl *client) {
			cl.headers(1, true, fields(nil, "cookie", "a=1", "x-y", "z", "cookie", "b=2")...)
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET / a.example"},
	},
	{
		name: "host field without :authority",
		in: func(cl *client) {
			cl.headers(1, true, fields(map[string]string{":authority": ""}, "host", "h.example")...)
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"GET / h.example"},
	},
	{
		name: "options asterisk",
		in: func(cl *client) {
			cl.headers(1, true, fields(map[string]string{":method": "OPTIONS", ":path": "*"})...)
		},
		want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n",
		reqs: []string{"OPTIONS * a.example"},
	},

	// Malformed requests: RST_STREAM PROTOCOL_ERROR, the host sees nothing.
	{name: "upper-case name", in: func(cl *client) { cl.headers(1, true, fields(nil, "X-A", "1")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "connection field", in: func(cl *client) { cl.headers(1, true, fields(nil, "connection", "close")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "keep-alive field", in: func(cl *client) { cl.headers(1, true, fields(nil, "keep-alive", "1")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "transfer-encoding field", in: func(cl *client) { cl.headers(1, true, fields(nil, "transfer-encoding", "chunked")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "te other than trailers", in: func(cl *client) { cl.headers(1, true, fields(nil, "te", "gzip")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "te trailers is fine", in: func(cl *client) { cl.headers(1, true, fields(nil, "te", "trailers")...) }, want: "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\n", reqs: []string{"GET / a.example"}},
	{name: "missing :path", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":path": ""})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "missing :method", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":method": ""})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "missing :scheme", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":scheme": ""})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "duplicate :method", in: func(cl *client) { cl.headers(1, true, fields(nil, ":method", "GET")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "pseudo after regular", in: func(cl *client) {
		cl.headers(1, true, ":method", "GET", ":scheme", "https", "x", "1", ":path", "/")
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: ":status in a request", in: func(cl *client) { cl.headers(1, true, fields(nil, ":status", "200")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "unknown pseudo", in: func(cl *client) { cl.headers(1, true, append([]string{":foo", "1"}, get...)...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "path without slash", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":path": "a"})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "asterisk for GET", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":path": "*"})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "fragment in path", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":path": "/a#b"})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "space in path", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":path": "/a b"})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "bad authority", in: func(cl *client) { cl.headers(1, true, fields(map[string]string{":authority": "a b"})...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "host differs from authority", in: func(cl *client) { cl.headers(1, true, fields(nil, "host", "b.example")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "two hosts", in: func(cl *client) {
		cl.headers(1, true, fields(map[string]string{":authority": ""}, "host", "a", "host", "a")...)
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "CR in value", in: func(cl *client) { cl.headers(1, true, fields(nil, "x", "a\rb")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "NUL in value", in: func(cl *client) { cl.headers(1, true, fields(nil, "x", "a\x00b")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "leading space in value", in: func(cl *client) { cl.headers(1, true, fields(nil, "x", " a")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "bad content-length", in: func(cl *client) { cl.headers(1, true, fields(nil, "content-length", "1x")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "content-length without body", in: func(cl *client) { cl.headers(1, true, fields(nil, "content-length", "3")...) }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "body longer than content-length", in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"}, "content-length", "1")...)
		cl.fr.WriteData(1, true, []byte("ab"))
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "trailers with a pseudo-header", in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
		cl.headers(1, true, ":path", "/")
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "trailers without END_STREAM", in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
		cl.headers(1, false, "x", "y")
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "CONNECT without authority", in: func(cl *client) { cl.headers(1, true, ":method", "CONNECT") }, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "malformed stream does not stop the next", in: func(cl *client) {
		cl.headers(1, true, fields(nil, "X", "1")...)
		cl.get(3, "/")
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\nHEADERS 3 200\nDATA 3 +es 2\n", reqs: []string{"GET / example.com"}},

	// Stream errors.
	{name: "HEADERS on a half-closed (remote) stream", in: func(cl *client) {
		cl.headers(1, true, get...)
		cl.headers(1, true, get...)
	}, want: "SETTINGS ack\nRST 1 STREAM_CLOSED\n", reqs: []string{"GET / a.example"}},
	{name: "DATA on a half-closed (remote) stream", in: func(cl *client) {
		cl.headers(1, true, get...)
		cl.fr.WriteData(1, true, []byte("x"))
	}, want: "SETTINGS ack\nRST 1 STREAM_CLOSED\n", reqs: []string{"GET / a.example"}},
	{name: "zero WINDOW_UPDATE on a stream", in: func(cl *client) {
		cl.headers(1, false, get...)
		cl.fr.WriteWindowUpdate(1, 0)
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\n"},
	{name: "stream window overflow", in: func(cl *client) {
		cl.headers(1, false, get...)
		cl.fr.WriteWindowUpdate(1, 1<<31-1)
	}, want: "SETTINGS ack\nRST 1 FLOW_CONTROL_ERROR\n"},
	{name: "HEADERS depending on itself", in: func(cl *client) {
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: cl.block(get...), EndStream: true,
			EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1}})
		cl.get(3, "/")
	}, want: "SETTINGS ack\nRST 1 PROTOCOL_ERROR\nHEADERS 3 200\nDATA 3 +es 2\n", reqs: []string{"GET / example.com"}},
	{name: "PRIORITY of bad length on an open stream", in: func(cl *client) {
		cl.headers(1, false, get...)
		raw(cl, FramePriority, 0, 1, []byte{0, 0, 0, 0})
	}, want: "SETTINGS ack\nRST 1 FRAME_SIZE_ERROR\n"},
	{name: "peer reset is quiet", in: func(cl *client) {
		cl.headers(1, false, get...)
		cl.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		cl.fr.WriteData(1, true, []byte("late"))
		cl.get(3, "/")
	}, want: "SETTINGS ack\nRST 1 STREAM_CLOSED\nHEADERS 3 200\nDATA 3 +es 2\n", reqs: []string{"GET / example.com"}},
	{name: "too many concurrent streams", cfg: Config{MaxConcurrentStreams: 1}, in: func(cl *client) {
		cl.headers(1, false, get...)
		cl.headers(3, true, get...)
	}, want: "SETTINGS ack\nRST 3 REFUSED_STREAM\n"},

	// Limits answered by the connection itself.
	{name: "body over MaxBody is 413 then RST NO_ERROR", cfg: Config{Limits: limits(0, 0, 4)}, in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
		cl.fr.WriteData(1, false, []byte("abc"))
		cl.fr.WriteData(1, false, []byte("def"))
		cl.fr.WriteData(1, false, []byte("ghi"))
	}, want: "SETTINGS ack\nHEADERS 1 413\nDATA 1 +es 22\nRST 1 NO_ERROR\n"},
	{name: "content-length over MaxBody is 413 at once", cfg: Config{Limits: limits(0, 0, 4)}, in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"}, "content-length", "5")...)
		cl.fr.WriteData(1, true, []byte("abcde"))
	}, want: "SETTINGS ack\nHEADERS 1 413\nDATA 1 +es 22\n"},
	{name: "long path is 414", cfg: Config{Limits: limits(10, 0, 0)}, in: func(cl *client) {
		cl.headers(1, true, fields(map[string]string{":path": "/0123456789"})...)
	}, want: "SETTINGS ack\nHEADERS 1 414\nDATA 1 +es 17\n"},
	{name: "large field section is 431", cfg: Config{Limits: limits(0, 100, 0)}, in: func(cl *client) {
		cl.headers(1, true, fields(nil, "x", strings.Repeat("y", 100))...)
		cl.get(3, "/")
	}, want: "SETTINGS ack\nHEADERS 1 431\nDATA 1 +es 36\nHEADERS 3 200\nDATA 3 +es 2\n", reqs: []string{"GET / example.com"}},
	{name: "431 before the body ended", cfg: Config{Limits: limits(0, 100, 0)}, in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"}, "x", strings.Repeat("y", 100))...)
		cl.fr.WriteData(1, false, []byte("abc"))
	}, want: "SETTINGS ack\nHEADERS 1 431\nDATA 1 +es 36\nRST 1 NO_ERROR\n"},

	// Connection errors: GOAWAY with the last stream id.
	{name: "DATA on stream 0", in: func(cl *client) { raw(cl, FrameData, 0, 0, []byte("x")) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrStreamZero},
	{name: "DATA on an idle stream", in: func(cl *client) { cl.fr.WriteData(1, true, []byte("x")) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrIdleStream},
	{name: "even stream id", in: func(cl *client) { cl.headers(2, true, get...) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrStreamID},
	{name: "decreasing stream id", in: func(cl *client) {
		cl.get(5, "/")
		cl.get(3, "/")
	}, want: "SETTINGS ack\nGOAWAY 5 PROTOCOL_ERROR\n", err: ErrStreamID, reqs: []string{"GET / example.com"}},
	{name: "HEADERS on a closed stream", in: func(cl *client) {
		cl.headers(1, false, get...)
		cl.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		cl.headers(1, true, get...)
	}, want: "SETTINGS ack\nGOAWAY 1 STREAM_CLOSED\n", err: ErrClosedStream},
	{name: "bad padding", in: func(cl *client) { raw(cl, FrameHeaders, flagPadded|flagEndHeaders, 1, []byte{5, 1}) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrPadding},
	{name: "frame larger than SETTINGS_MAX_FRAME_SIZE", in: func(cl *client) {
		raw(cl, FrameData, 0, 1, make([]byte, 16385))
	}, want: "SETTINGS ack\nGOAWAY 0 FRAME_SIZE_ERROR\n", err: ErrFrameSize},
	{name: "CONTINUATION interrupted", in: func(cl *client) {
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: cl.block(get...)[:2], EndStream: true})
		cl.fr.WritePing(false, [8]byte{})
	}, want: "SETTINGS ack\nGOAWAY 1 PROTOCOL_ERROR\n", err: ErrContinuation},
	{name: "CONTINUATION on another stream", in: func(cl *client) {
		b := cl.block(get...)
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:2], EndStream: true})
		cl.fr.WriteContinuation(3, true, b[2:])
	}, want: "SETTINGS ack\nGOAWAY 1 PROTOCOL_ERROR\n", err: ErrContinuation},
	{name: "stray CONTINUATION", in: func(cl *client) { cl.fr.WriteContinuation(1, true, nil) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrUnexpectedCont},
	{name: "PUSH_PROMISE from a client", in: func(cl *client) { raw(cl, FramePushPromise, flagEndHeaders, 1, []byte{0, 0, 0, 2}) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrPushPromise},
	{name: "SETTINGS on a stream", in: func(cl *client) { raw(cl, FrameSettings, 0, 1, nil) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrStreamNonZero},
	{name: "SETTINGS of bad length", in: func(cl *client) { raw(cl, FrameSettings, 0, 0, []byte{0, 1, 0}) }, want: "SETTINGS ack\nGOAWAY 0 FRAME_SIZE_ERROR\n", err: ErrFrameLength},
	{name: "SETTINGS ACK with payload", in: func(cl *client) { raw(cl, FrameSettings, flagAck, 0, make([]byte, 6)) }, want: "SETTINGS ack\nGOAWAY 0 FRAME_SIZE_ERROR\n", err: ErrFrameLength},
	{name: "ENABLE_PUSH 2", in: func(cl *client) { cl.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2}) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrSettingValue},
	{name: "INITIAL_WINDOW_SIZE 2^31", in: func(cl *client) { cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}) }, want: "SETTINGS ack\nGOAWAY 0 FLOW_CONTROL_ERROR\n", err: ErrWindowSetting},
	{name: "MAX_FRAME_SIZE too small", in: func(cl *client) { cl.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16383}) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrSettingValue},
	{name: "PING of bad length", in: func(cl *client) { raw(cl, FramePing, 0, 0, make([]byte, 7)) }, want: "SETTINGS ack\nGOAWAY 0 FRAME_SIZE_ERROR\n", err: ErrFrameLength},
	{name: "PING on a stream", in: func(cl *client) { raw(cl, FramePing, 0, 1, make([]byte, 8)) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrStreamNonZero},
	{name: "zero WINDOW_UPDATE on the connection", in: func(cl *client) { cl.fr.WriteWindowUpdate(0, 0) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrWindowZero},
	{name: "connection window overflow", in: func(cl *client) { cl.fr.WriteWindowUpdate(0, 1<<31-1) }, want: "SETTINGS ack\nGOAWAY 0 FLOW_CONTROL_ERROR\n", err: ErrWindowOverflow},
	{name: "WINDOW_UPDATE on an idle stream", in: func(cl *client) { cl.fr.WriteWindowUpdate(1, 1) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrIdleStream},
	{name: "RST_STREAM on an idle stream", in: func(cl *client) { cl.fr.WriteRSTStream(1, http2.ErrCodeCancel) }, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrIdleStream},
	{name: "RST_STREAM of bad length", in: func(cl *client) {
		cl.headers(1, false, get...)
		raw(cl, FrameRSTStream, 0, 1, []byte{0, 0, 8})
	}, want: "SETTINGS ack\nGOAWAY 1 FRAME_SIZE_ERROR\n", err: ErrFrameLength},
	{name: "PRIORITY depending on itself on an idle stream", in: func(cl *client) {
		cl.fr.WritePriority(1, http2.PriorityParam{StreamDep: 1})
	}, want: "SETTINGS ack\nGOAWAY 0 PROTOCOL_ERROR\n", err: ErrSelfDependency},
	{name: "invalid HPACK index", in: func(cl *client) {
		raw(cl, FrameHeaders, flagEndHeaders|flagEndStream, 1, []byte{0xff, 0x7f})
	}, want: "SETTINGS ack\nGOAWAY 1 COMPRESSION_ERROR\n", err: ErrCompression},
	{name: "DATA beyond the connection window", in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
		raw(cl, FrameData, 0, 1, make([]byte, 65536))
	}, want: "SETTINGS ack\nGOAWAY 1 FLOW_CONTROL_ERROR\n", err: ErrConnFlow, cfg: Config{MaxFrameSize: 1 << 17, ConnWindowSize: 65535}},
	{name: "DATA beyond the stream window", in: func(cl *client) {
		cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
		raw(cl, FrameData, 0, 1, make([]byte, 65536))
	}, want: "SETTINGS ack\nRST 1 FLOW_CONTROL_ERROR\n", cfg: Config{MaxFrameSize: 1 << 17}},
}

// limits returns httpcore.Limits with the given request line, header bytes
// and body maxima (0 for the default).
func limits(line, hdr int, body int64) (l httpcore.Limits) {
	l.MaxRequestLine, l.MaxHeaderBytes, l.MaxBody = line, hdr, body
	return l
}

// runCase feeds tc's input with split and returns the summary and requests.
func runCase(t *testing.T, tc *connCase, split func(*Conn, []byte) error) (string, []string, error) {
	t.Helper()
	var c Conn
	h := okHost(&c, "ok")
	c.Init(&tc.cfg, h)
	cl := newClient().preface()
	tc.in(cl)
	err := split(&c, cl.take())
	var out memSink
	c.Flush(&out, 1<<30)
	got := summary(newReader().frames(t, out.drain()))
	var reqs []string
	for _, r := range h.reqs {
		s := r.method + " " + r.path + " " + r.host
		if r.body != "" {
			s += " " + r.body
		}
		reqs = append(reqs, s)
	}
	c.Release()
	return got, reqs, err
}

func TestConnCases(t *testing.T) {
	for i := range connCases {
		tc := &connCases[i]
		t.Run(tc.name, func(t *testing.T) {
			check := func(mode string, got string, reqs []string, err error) {
				t.Helper()
				if got != tc.want {
					t.Errorf("%s: frames:\n%s\nwant:\n%s", mode, got, tc.want)
				}
				if strings.Join(reqs, "|") != strings.Join(tc.reqs, "|") {
					t.Errorf("%s: requests %q, want %q", mode, reqs, tc.reqs)
				}
				if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("%s: err %v, want %v", mode, err, tc.err)
				}
			}
			got, reqs, err := runCase(t, tc, func(c *Conn, b []byte) error { return feedSplit(c, b) })
			check("whole", got, reqs, err)
			got, reqs, err = runCase(t, tc, feedBytes)
			check("byte by byte", got, reqs, err)
			cl := newClient().preface()
			tc.in(cl)
			n := len(cl.take())
			step := 1
			if n > 400 {
				step = n / 200 // long inputs: 200 split points
			}
			for cut := 1; cut < n; cut += step {
				got, reqs, err = runCase(t, tc, func(c *Conn, b []byte) error { return feedSplit(c, b, cut) })
				check("split", got, reqs, err)
				if t.Failed() {
					t.Fatalf("split at %d of %d", cut, n)
				}
			}
		})
	}
}

// TestServerPreamble: the server's first bytes are its SETTINGS (with
// NO_RFC7540_PRIORITIES) and the connection window's WINDOW_UPDATE, ready
// before the client's preface arrives.
func TestServerPreamble(t *testing.T) {
	var c Conn
	c.Init(&Config{MaxConcurrentStreams: 100, InitialWindowSize: 1 << 20, MaxFrameSize: 1 << 15}, &testHost{})
	if c.Idle() {
		t.Error("Idle with the preamble queued")
	}
	var out memSink
	c.Flush(&out, 1<<20)
	fs := newReader().frames(t, out.drain())
	if len(fs) != 2 || fs[0].typ != http2.FrameSettings || fs[1].typ != http2.FrameWindowUpdate ||
		fs[1].id != 0 || fs[1].incr != DefaultConnWindowSize-65535 {
		t.Fatalf("preamble %v", fs)
	}
	want := map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: 100, http2.SettingInitialWindowSize: 1 << 20,
		http2.SettingMaxFrameSize: 1 << 15, 0x9: 1, // SETTINGS_NO_RFC7540_PRIORITIES
		http2.SettingMaxHeaderListSize: 16<<10 + 32*100,
	}
	for _, s := range fs[0].setting {
		if v, ok := want[s.ID]; !ok || v != s.Val {
			t.Errorf("setting %v", s)
		}
		delete(want, s.ID)
	}
	if len(want) != 0 {
		t.Errorf("missing settings %v", want)
	}
	if !c.Idle() {
		t.Error("not Idle after the preamble went out")
	}
}
