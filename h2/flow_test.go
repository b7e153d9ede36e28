package h2

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
)

// flowRig is a connection whose host answers each request with the plan
// set in next (a Response template) and keeps the ids.
type flowRig struct {
	t    *testing.T
	c    Conn
	h    *testHost
	cl   *client
	rd   *reader
	out  memSink
	next func() httpcore.Response
	ids  []uint32
	hold bool // do not answer during Request
}

func newRig(t *testing.T, cfg Config, settings ...http2.Setting) *flowRig {
	r := &flowRig{t: t, cl: newClient(), rd: newReader()}
	r.h = &testHost{}
	r.h.respond = func(id uint32, req *httpcore.Request) {
		r.ids = append(r.ids, id)
		if r.hold {
			return
		}
		resp := r.next()
		r.c.Respond(id, &resp, req.Method == httpcore.MethodHead, nil)
	}
	r.c.Init(&cfg, r.h)
	r.cl.buf.WriteString(Preface)
	r.cl.fr.WriteSettings(settings...)
	r.feed()
	return r
}

func (r *flowRig) feed() {
	r.t.Helper()
	if err := feedSplit(&r.c, r.cl.take()); err != nil {
		r.t.Fatal(err)
	}
}

// flush flushes with budget and returns the summary of what came out.
func (r *flowRig) flush(budget int64) string {
	r.t.Helper()
	r.c.Flush(&r.out, budget)
	return summary(r.rd.frames(r.t, r.out.drain()))
}

// bodyOf concatenates the DATA of stream id in fs.
func bodyOf(fs []frame, id uint32) string {
	var b strings.Builder
	for _, f := range fs {
		if f.typ == http2.FrameData && f.id == id {
			b.WriteString(f.data)
		}
	}
	return b.String()
}

func memBody(n int) func() httpcore.Response {
	body := pattern(n)
	return func() httpcore.Response {
		return httpcore.Response{Status: 200, Head: []byte("HTTP/1.1 200 OK\r\n"), Body: body}
	}
}

func TestFrameSizeAndConnWindow(t *testing.T) {
	r := newRig(t, Config{}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 70000})
	r.next = memBody(100000)
	r.cl.get(1, "/")
	r.feed()
	// The peer's connection window is 65535: 16384 x 3 + 16383, then stall.
	got := r.flush(1 << 30)
	want := "SETTINGS ack\nHEADERS 1 200\nDATA 1 16384\nDATA 1 16384\nDATA 1 16384\nDATA 1 16383\n"
	if got != want {
		t.Fatalf("frames:\n%s\nwant:\n%s", got, want)
	}
	if !r.c.Stalled() {
		t.Error("Stalled() false with the connection window at 0")
	}
	r.cl.fr.WriteWindowUpdate(0, 1000)
	r.feed()
	if r.c.Stalled() {
		t.Error("Stalled() true with window to send")
	}
	if got := r.flush(1 << 30); got != "DATA 1 1000\n" {
		t.Fatalf("after WINDOW_UPDATE(0, 1000): %s", got)
	}
	r.cl.fr.WriteWindowUpdate(0, 1<<20)
	r.feed()
	// The stream window (70000) is the limit now.
	if got := r.flush(1 << 30); got != "DATA 1 3465\n" {
		t.Fatalf("up to the stream window: %s", got)
	}
	if !r.c.Stalled() {
		t.Error("Stalled() false with the stream window at 0")
	}
	r.cl.fr.WriteWindowUpdate(1, 1<<20)
	r.feed()
	if got := r.flush(1 << 30); got != "DATA 1 16384\nDATA 1 +es 13616\n" {
		t.Fatalf("after stream WINDOW_UPDATE: %s", got)
	}
	if !r.c.Idle() || r.c.Stalled() {
		t.Errorf("Idle %v Stalled %v after the body", r.c.Idle(), r.c.Stalled())
	}
}

func TestPeerMaxFrameSize(t *testing.T) {
	r := newRig(t, Config{}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 20000},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	r.next = memBody(50000)
	r.cl.fr.WriteWindowUpdate(0, 1<<20)
	r.cl.get(1, "/")
	r.feed()
	if got := r.flush(1 << 30); got != "SETTINGS ack\nHEADERS 1 200\nDATA 1 20000\nDATA 1 20000\nDATA 1 +es 10000\n" {
		t.Fatalf("frames:\n%s", got)
	}
}

// TestInitialWindowShift: SETTINGS_INITIAL_WINDOW_SIZE changes shift the
// send window of open streams, which may go negative (RFC 9113 §6.9.2).
func TestInitialWindowShift(t *testing.T) {
	r := newRig(t, Config{})
	r.next = memBody(65535) // uses up the connection window
	r.cl.get(1, "/")
	r.feed()
	r.c.Flush(&r.out, 1<<30)
	r.next = memBody(40000)
	r.cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 16384})
	r.cl.get(3, "/")
	r.feed()
	r.flush(1 << 30)
	r.cl.fr.WriteWindowUpdate(0, 1<<20)
	r.feed()
	if got := r.flush(1 << 30); got != "DATA 3 16384\n" {
		t.Fatalf("frames:\n%s", got)
	}
	// Window 0 now; shrink by 10000: -10000.
	r.cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 6384})
	r.cl.fr.WriteWindowUpdate(3, 9000)
	r.feed()
	if got := r.flush(1 << 30); got != "SETTINGS ack\n" {
		t.Fatalf("negative window sent data: %s", got)
	}
	if !r.c.Stalled() {
		t.Error("not Stalled with a negative stream window")
	}
	r.cl.fr.WriteWindowUpdate(3, 1500) // -1000 + 1500 = 500
	r.feed()
	if got := r.flush(1 << 30); got != "DATA 3 500\n" {
		t.Fatalf("frames after the window turned positive: %s", got)
	}
	r.cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	r.feed()
	if got := r.flush(1 << 30); got != "SETTINGS ack\nDATA 3 16384\nDATA 3 +es 6732\n" {
		t.Fatalf("frames after the window grew: %s", got)
	}
}

// TestFileBody: a file body goes out as frame heads and WriteFile segments
// of exactly the frame's size, the last one releasing the file.
func TestFileBody(t *testing.T) {
	f := newFile(40000)
	r := newRig(t, Config{}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	r.next = func() httpcore.Response {
		return httpcore.Response{Status: 200, Head: []byte("HTTP/1.1 200 OK\r\n"), File: f, Off: 100, Len: 39000}
	}
	r.cl.fr.WriteWindowUpdate(0, 1<<20)
	r.cl.get(1, "/")
	r.feed()
	r.c.Flush(&r.out, 1<<30)
	if r.out.files != 3 || len(r.out.released) != 1 || f.releases != 1 {
		t.Fatalf("segments %d, released %d (file %d), want 3, 1, 1", r.out.files, len(r.out.released), f.releases)
	}
	fs := r.rd.frames(t, r.out.drain())
	if got := bodyOf(fs, 1); got != string(f.data[100:39100]) {
		t.Fatalf("body differs (%d bytes)", len(got))
	}
}

// TestPartsBody: a multipart plan mixes bytes and file ranges; empty parts
// vanish; the file is released with its last range.
func TestPartsBody(t *testing.T) {
	f := newFile(1000)
	r := newRig(t, Config{})
	r.next = func() httpcore.Response {
		return httpcore.Response{Status: 206, Head: []byte("HTTP/1.1 206 Partial Content\r\n"), File: f, Parts: []httpcore.Part{
			{Bytes: []byte("--b\r\n")}, {Off: 0, Len: 10}, {Bytes: []byte{}}, {Bytes: []byte("\r\n--b\r\n")},
			{Off: 990, Len: 10}, {Off: 5, Len: 0}, {Bytes: []byte("\r\n--b--\r\n")},
		}}
	}
	r.cl.get(1, "/")
	r.feed()
	r.c.Flush(&r.out, 1<<30)
	if f.releases != 1 || r.out.files != 2 {
		t.Fatalf("releases %d, file segments %d", f.releases, r.out.files)
	}
	fs := r.rd.frames(t, r.out.drain())
	want := "--b\r\n" + string(f.data[:10]) + "\r\n--b\r\n" + string(f.data[990:]) + "\r\n--b--\r\n"
	if got := bodyOf(fs, 1); got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
	if s := summary(fs); !strings.HasSuffix(s, "DATA 1 +es 9\n") || strings.Count(s, "DATA") != 5 {
		t.Fatalf("frames:\n%s", s)
	}
}

// TestFileReleases: a FileRef is released exactly once however the stream
// ends: HEAD (no body), reset before any byte was queued (directly), reset
// with bytes queued (through the Sink, in order), Respond after Cancel,
// Release with the file held.
func TestFileReleases(t *testing.T) {
	fileResp := func(f *fakeFile) func() httpcore.Response {
		return func() httpcore.Response {
			return httpcore.Response{Status: 200, Head: []byte("HTTP/1.1 200 OK\r\n"), File: f, Len: int64(len(f.data))}
		}
	}
	t.Run("HEAD", func(t *testing.T) {
		f := newFile(10)
		r := newRig(t, Config{})
		r.next = fileResp(f)
		r.cl.headers(1, true, fields(map[string]string{":method": "HEAD"})...)
		r.feed()
		if f.releases != 1 {
			t.Fatalf("releases %d", f.releases)
		}
		if got := r.flush(1 << 30); got != "SETTINGS ack\nHEADERS 1 +es 200\n" {
			t.Fatalf("frames:\n%s", got)
		}
	})
	t.Run("reset before any byte", func(t *testing.T) {
		f := newFile(100000)
		r := newRig(t, Config{})
		r.next = fileResp(f)
		r.cl.get(1, "/")
		r.cl.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		r.feed()
		if f.releases != 1 || len(r.h.cancels) != 0 {
			t.Fatalf("releases %d cancels %v", f.releases, r.h.cancels)
		}
		if got := r.flush(1 << 30); got != "SETTINGS ack\n" {
			t.Fatalf("frames:\n%s", got)
		}
	})
	t.Run("reset with bytes queued", func(t *testing.T) {
		f := newFile(100000)
		r := newRig(t, Config{})
		r.next = fileResp(f)
		r.cl.get(1, "/")
		r.feed()
		r.flush(1 << 30) // 65535 bytes of the file queued, window empty
		if f.releases != 0 {
			t.Fatalf("released early: %d", f.releases)
		}
		r.cl.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		r.feed()
		if f.releases != 0 {
			t.Fatal("released directly while segments are queued")
		}
		r.flush(1 << 30)
		if f.releases != 1 || len(r.out.released) != 1 {
			t.Fatalf("releases %d through the sink %d", f.releases, len(r.out.released))
		}
	})
	t.Run("Respond after Cancel", func(t *testing.T) {
		f := newFile(10)
		r := newRig(t, Config{})
		r.hold = true
		r.cl.get(1, "/")
		r.cl.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		r.feed()
		if len(r.h.cancels) != 1 || r.h.cancels[0] != 1 {
			t.Fatalf("cancels %v", r.h.cancels)
		}
		resp := fileResp(f)()
		r.c.Respond(1, &resp, false, nil)
		if f.releases != 1 {
			t.Fatalf("releases %d", f.releases)
		}
	})
	t.Run("Release with the file held", func(t *testing.T) {
		f, g := newFile(100000), newFile(100000)
		r := newRig(t, Config{})
		r.next = fileResp(f)
		r.cl.get(1, "/")
		r.feed()
		r.flush(1 << 30) // f partly queued
		r.next = fileResp(g)
		r.cl.get(3, "/") // g held, nothing queued
		r.feed()
		r.hold = true
		r.cl.get(5, "/") // held by the host
		r.feed()
		r.c.Release()
		if f.releases != 1 || g.releases != 1 {
			t.Fatalf("releases f %d g %d", f.releases, g.releases)
		}
		if len(r.h.cancels) != 1 || r.h.cancels[0] != 5 {
			t.Fatalf("cancels %v", r.h.cancels)
		}
	})
	t.Run("connection error", func(t *testing.T) {
		f := newFile(100000)
		r := newRig(t, Config{})
		r.next = fileResp(f)
		r.cl.get(1, "/")
		r.feed()
		r.flush(1 << 30)
		raw(r.cl, FrameData, 0, 0, nil)
		if err := feedSplit(&r.c, r.cl.take()); err == nil {
			t.Fatal("no error")
		}
		if got := r.flush(1 << 30); got != "GOAWAY 1 PROTOCOL_ERROR\n" || f.releases != 1 {
			t.Fatalf("frames %s, releases %d", got, f.releases)
		}
	})
}

// TestFlushBudget: Flush stops at the budget and resumes; the output is the
// same as one unbounded Flush.
func TestFlushBudget(t *testing.T) {
	run := func(budget int64) (string, int) {
		r := newRig(t, Config{}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		r.next = memBody(200000)
		r.cl.fr.WriteWindowUpdate(0, 1<<20)
		for id := uint32(1); id < 10; id += 2 {
			r.cl.get(id, "/")
		}
		r.feed()
		var all []byte
		calls := 0
		for {
			calls++
			more := r.c.Flush(&r.out, budget)
			if r.out.pending > budget+16384+frameHeaderLen {
				t.Fatalf("budget %d overshot: %d", budget, r.out.pending)
			}
			all = append(all, r.out.drain()...)
			if !more {
				break
			}
		}
		fs := r.rd.frames(t, all)
		for id := uint32(1); id < 10; id += 2 {
			if bodyOf(fs, id) != string(pattern(200000)) {
				t.Fatalf("budget %d: stream %d body differs", budget, id)
			}
		}
		return summary(fs), calls
	}
	whole, _ := run(1 << 30)
	small, calls := run(20000)
	if whole != small || calls < 20 {
		t.Fatalf("budgeted output differs or came in %d calls", calls)
	}
	// Round-robin: the first frames alternate between streams.
	if !strings.HasPrefix(whole, "SETTINGS ack\nHEADERS 1 200\nDATA 1 16384\nHEADERS 3 200\nDATA 3 16384\n") {
		t.Errorf("not interleaved:\n%s", whole[:200])
	}
}

// TestRequestBody checks window updates for a body and the buffered-body
// cap across streams.
func TestRequestBody(t *testing.T) {
	r := newRig(t, Config{Limits: limits(0, 0, 1<<20), MaxBodyBuffer: 100000})
	r.hold = true
	post := fields(map[string]string{":method": "POST"})
	r.cl.headers(1, false, post...)
	r.cl.headers(3, false, post...)
	for i := 0; i < 3; i++ {
		r.cl.fr.WriteData(1, false, make([]byte, 16384))
		r.cl.fr.WriteData(3, false, make([]byte, 16384))
	}
	r.cl.fr.WriteData(1, false, make([]byte, 16384)) // 114688 buffered: over the cap
	r.cl.fr.WriteData(3, true, []byte("end"))
	r.feed()
	got := r.flush(1 << 30)
	want := "SETTINGS ack\nWU 1 32768\nWU 3 32768\nRST 1 REFUSED_STREAM\n"
	if got != want {
		t.Fatalf("frames:\n%s\nwant:\n%s", got, want)
	}
	if len(r.h.reqs) != 1 || len(r.h.reqs[0].body) != 3*16384+3 {
		t.Fatalf("requests %d", len(r.h.reqs))
	}
	if r.c.bodyBytes != 0 {
		t.Fatalf("bodyBytes %d after both streams", r.c.bodyBytes)
	}
	if !bytes.Equal([]byte(r.h.reqs[0].body[:5]), make([]byte, 5)) {
		t.Fatal("body content")
	}
}

// TestGoAway: a graceful GoAway finishes open streams, ignores new ones,
// and Idle turns true once the last one is out.
func TestGoAway(t *testing.T) {
	r := newRig(t, Config{})
	r.hold = true
	r.cl.get(1, "/")
	r.cl.get(3, "/")
	r.feed()
	r.c.GoAway()
	r.c.GoAway()
	r.cl.get(5, "/")
	r.cl.fr.WriteData(5, true, []byte("x")) // ignored with its stream
	r.feed()
	if got := r.flush(1 << 30); got != "SETTINGS ack\nGOAWAY 3 NO_ERROR\n" {
		t.Fatalf("frames:\n%s", got)
	}
	if len(r.ids) != 2 || r.c.Idle() || !r.c.Closing() {
		t.Fatalf("ids %v Idle %v Closing %v", r.ids, r.c.Idle(), r.c.Closing())
	}
	for _, id := range r.ids {
		resp := memBody(10)()
		r.c.Respond(id, &resp, false, nil)
	}
	if got := r.flush(1 << 30); got != "HEADERS 1 200\nDATA 1 +es 10\nHEADERS 3 200\nDATA 3 +es 10\n" {
		t.Fatalf("frames:\n%s", got)
	}
	if !r.c.Idle() {
		t.Fatal("not Idle after the last stream")
	}
}

// TestConnReuse: Init after Release serves a new connection with a fresh
// HPACK table (the old one's entries would corrupt the new peer's fields).
func TestConnReuse(t *testing.T) {
	var c Conn
	h := okHost(&c, "ok")
	for round := 0; round < 3; round++ {
		c.Init(&Config{}, h)
		cl := newClient().preface()
		cl.get(1, "/round", "x-round", strings.Repeat("r", round+1))
		cl.get(3, "/round", "x-round", strings.Repeat("r", round+1))
		if err := feedSplit(&c, cl.take()); err != nil {
			t.Fatal(err)
		}
		var out memSink
		c.Flush(&out, 1<<30)
		if got := summary(newReader().frames(t, out.drain())); got != "SETTINGS ack\nHEADERS 1 200\nDATA 1 +es 2\nHEADERS 3 200\nDATA 3 +es 2\n" {
			t.Fatalf("round %d:\n%s", round, got)
		}
		c.Release()
	}
	if n := len(h.reqs); n != 6 || h.reqs[5].headers[0] != "x-round: rrr" {
		t.Fatalf("requests %d: %v", n, h.reqs[n-1].headers)
	}
}

// TestConnReuseMidBlock: a connection released in the middle of a field
// block (a literal cut between CONTINUATION frames) leaves nothing behind
// in the decoder for the next one.
func TestConnReuseMidBlock(t *testing.T) {
	var c Conn
	h := okHost(&c, "ok")
	c.Init(&Config{}, h)
	cl := newClient().preface()
	cl.get(1, "/", "x-a", "indexed-on-the-first-connection")
	b := cl.block(fields(nil, "x-cut", strings.Repeat("c", 100))...)
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: b[:len(b)-50], EndStream: true})
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	c.Release()
	c.Init(&Config{}, h)
	cl = newClient().preface()
	cl.enc.SetMaxDynamicTableSize(2048) // its first block starts with a size update
	cl.get(1, "/second", "x-b", "fresh")
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.reqs); n != 2 || h.reqs[1].path != "/second" || h.reqs[1].headers[0] != "x-b: fresh" {
		t.Fatalf("requests %+v", h.reqs)
	}
}
