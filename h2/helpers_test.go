package h2

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// memSink is a Sink that keeps everything in memory: file segments are
// copied from fakeFile contents at write time, releases are counted.
type memSink struct {
	buf      []byte
	refs     int   // WriteRef calls
	files    int   // WriteFile calls with n > 0
	pending  int64 // what Buffered reports
	released []*fakeFile
}

func (m *memSink) Write(p []byte) { m.buf = append(m.buf, p...); m.pending += int64(len(p)) }
func (m *memSink) WriteRef(p []byte) {
	m.refs++
	m.buf = append(m.buf, p...)
	m.pending += int64(len(p))
}
func (m *memSink) WriteFile(f httpcore.FileRef, off, n int64, release bool) {
	ff := f.(*fakeFile)
	if n > 0 {
		m.files++
		m.buf = append(m.buf, ff.data[off:off+n]...)
		m.pending += n
	}
	if release {
		m.released = append(m.released, ff)
		ff.Release()
	}
}
func (m *memSink) Buffered() int64 { return m.pending }

// drain takes what the sink holds, as if sent.
func (m *memSink) drain() []byte {
	b := m.buf
	m.buf = nil
	m.pending = 0
	return b
}

// fakeFile is a FileRef over bytes that counts its releases.
type fakeFile struct {
	data     []byte
	releases int
}

func (f *fakeFile) Fd() int   { return -1 }
func (f *fakeFile) Release()  { f.releases++ }
func newFile(n int) *fakeFile { return &fakeFile{data: pattern(n)} }

// pattern returns n bytes of a recognisable pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// gotReq is a copy of a request a Host received.
type gotReq struct {
	id                 uint32
	method, path, host string
	query              string
	hasQuery           bool
	major              uint8
	headers            []string // "name: value"
	body               string
	ifNoneMatch, rng   string
	acceptEncoding     string
	meth               httpcore.Method
}

// testHost records requests and cancels; respond (when set) answers during
// Request.
type testHost struct {
	c       *Conn
	reqs    []gotReq
	cancels []uint32
	respond func(id uint32, req *httpcore.Request)
}

func (h *testHost) Request(id uint32, req *httpcore.Request) {
	g := gotReq{id: id, method: string(req.MethodName), path: string(req.Path), host: string(req.Host),
		query: string(req.Query), hasQuery: req.Query != nil, major: req.Major, body: string(req.Body),
		ifNoneMatch: string(req.IfNoneMatch()), rng: string(req.Range()), acceptEncoding: string(req.AcceptEncoding()),
		meth: req.Method}
	for _, f := range req.Headers {
		g.headers = append(g.headers, string(f.Name)+": "+string(f.Value))
	}
	h.reqs = append(h.reqs, g)
	if h.respond != nil {
		h.respond(id, req)
	}
}

func (h *testHost) Cancel(id uint32) { h.cancels = append(h.cancels, id) }

// okHost returns a host that answers every request with body (200).
func okHost(c *Conn, body string) *testHost {
	h := &testHost{c: c}
	h.respond = func(id uint32, req *httpcore.Request) {
		var resp httpcore.Response
		resp.Status = 200
		resp.Head = httpcore.AppendStatusLine(nil, 200)
		resp.Head = httpcore.AppendContentLength(resp.Head, int64(len(body)))
		resp.Head = append(resp.Head, "Content-Type: text/plain\r\n"...)
		resp.Body = []byte(body)
		c.Respond(id, &resp, req.Method == httpcore.MethodHead, []byte("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"))
	}
	return h
}

// client writes frames the way a client would, with x/net/http2's Framer.
type client struct {
	buf bytes.Buffer
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
}

func newClient() *client {
	cl := &client{}
	cl.fr = http2.NewFramer(&cl.buf, nil)
	cl.fr.AllowIllegalWrites = true
	cl.enc = hpack.NewEncoder(&cl.hb)
	return cl
}

// preface writes the preface and an empty SETTINGS.
func (cl *client) preface() *client {
	cl.buf.WriteString(Preface)
	cl.fr.WriteSettings()
	return cl
}

// block encodes fields given as "name", "value" pairs.
func (cl *client) block(kv ...string) []byte {
	cl.hb.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		cl.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), cl.hb.Bytes()...)
}

// get writes a GET request for path on stream id.
func (cl *client) get(id uint32, path string, extra ...string) {
	kv := append([]string{":method", "GET", ":scheme", "https", ":path", path, ":authority", "example.com"}, extra...)
	cl.headers(id, true, kv...)
}

// headers writes one HEADERS frame with END_HEADERS.
func (cl *client) headers(id uint32, end bool, kv ...string) {
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: cl.block(kv...), EndStream: end, EndHeaders: true})
}

func (cl *client) take() []byte {
	b := append([]byte(nil), cl.buf.Bytes()...)
	cl.buf.Reset()
	return b
}

// frame is a server frame as a test sees it.
type frame struct {
	typ     http2.FrameType
	id      uint32
	flags   http2.Flags
	fields  []string // HEADERS: "name: value"
	data    string   // DATA
	code    http2.ErrCode
	lastID  uint32 // GOAWAY
	setting []http2.Setting
	incr    uint32
}

// String renders f compactly: "HEADERS 1 +es 200", "DATA 1 +es 5",
// "RST 3 PROTOCOL_ERROR", "GOAWAY 3 PROTOCOL_ERROR", "WU 1 100",
// "PING ack", "SETTINGS ack".
func (f frame) String() string {
	es := ""
	if f.flags&http2.FlagDataEndStream != 0 && (f.typ == http2.FrameHeaders || f.typ == http2.FrameData) {
		es = " +es"
	}
	switch f.typ {
	case http2.FrameHeaders:
		st := "?"
		if len(f.fields) > 0 {
			st = strings.TrimPrefix(f.fields[0], ":status: ")
		}
		return fmt.Sprintf("HEADERS %d%s %s", f.id, es, st)
	case http2.FrameData:
		return fmt.Sprintf("DATA %d%s %d", f.id, es, len(f.data))
	case http2.FrameRSTStream:
		return fmt.Sprintf("RST %d %v", f.id, f.code)
	case http2.FrameGoAway:
		return fmt.Sprintf("GOAWAY %d %v", f.lastID, f.code)
	case http2.FrameWindowUpdate:
		return fmt.Sprintf("WU %d %d", f.id, f.incr)
	case http2.FramePing:
		if f.flags&http2.FlagPingAck != 0 {
			return "PING ack"
		}
		return "PING"
	case http2.FrameSettings:
		if f.flags&http2.FlagSettingsAck != 0 {
			return "SETTINGS ack"
		}
		return fmt.Sprintf("SETTINGS %v", f.setting)
	}
	return fmt.Sprintf("%v %d", f.typ, f.id)
}

// reader parses server output as a client: frames, with HPACK state kept
// across calls.
type reader struct {
	dec *hpack.Decoder
}

func newReader() *reader { return &reader{dec: hpack.NewDecoder(4096, nil)} }

func (r *reader) frames(t testing.TB, b []byte) []frame {
	t.Helper()
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.SetMaxReadFrameSize(1 << 24)
	var out []frame
	var cont *frame
	var blk []byte
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("server output does not parse: %v (after %v)", err, out)
		}
		h := f.Header()
		x := frame{typ: h.Type, id: h.StreamID, flags: h.Flags}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			blk = append(blk[:0], f.HeaderBlockFragment()...)
			if !f.HeadersEnded() {
				out = append(out, x)
				cont = &out[len(out)-1]
				continue
			}
			x.fields = r.decode(t, blk)
		case *http2.ContinuationFrame:
			blk = append(blk, f.HeaderBlockFragment()...)
			if f.HeadersEnded() {
				cont.fields = r.decode(t, blk)
				cont.flags |= http2.FlagHeadersEndHeaders
			}
			continue
		case *http2.DataFrame:
			x.data = string(f.Data())
		case *http2.RSTStreamFrame:
			x.code = f.ErrCode
		case *http2.GoAwayFrame:
			x.code, x.lastID = f.ErrCode, f.LastStreamID
		case *http2.WindowUpdateFrame:
			x.incr = f.Increment
		case *http2.SettingsFrame:
			f.ForeachSetting(func(s http2.Setting) error { x.setting = append(x.setting, s); return nil })
		}
		out = append(out, x)
	}
	return out
}

func (r *reader) decode(t testing.TB, blk []byte) []string {
	t.Helper()
	fs, err := r.dec.DecodeFull(blk)
	if err != nil {
		t.Fatalf("response field block does not decode: %v", err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name+": "+f.Value)
	}
	return out
}

// feeder drives a Conn as an engine would: it keeps the unconsumed tail and
// passes it again with the next chunk.
type feeder struct {
	c    *Conn
	tail []byte
	err  error
}

func (f *feeder) feed(chunk []byte) error {
	if f.err != nil {
		return f.err
	}
	f.tail = append(f.tail, chunk...)
	n, err := f.c.Feed(f.tail)
	f.tail = f.tail[:copy(f.tail, f.tail[n:])]
	f.err = err
	return err
}

// feedSplit feeds data in chunks cut at the given offsets.
func feedSplit(c *Conn, data []byte, cuts ...int) error {
	f := &feeder{c: c}
	prev := 0
	for _, cut := range cuts {
		if err := f.feed(data[prev:cut]); err != nil {
			return err
		}
		prev = cut
	}
	return f.feed(data[prev:])
}

// feedBytes feeds data one byte at a time.
func feedBytes(c *Conn, data []byte) error {
	f := &feeder{c: c}
	for i := range data {
		if err := f.feed(data[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

// summary renders frames one per line, skipping the server preamble
// (its SETTINGS and the connection WINDOW_UPDATE before any other frame).
func summary(fs []frame) string {
	var b strings.Builder
	pre := true
	for _, f := range fs {
		if pre && (f.typ == http2.FrameSettings && f.flags&http2.FlagSettingsAck == 0 ||
			f.typ == http2.FrameWindowUpdate && f.id == 0) {
			continue
		}
		pre = false
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
