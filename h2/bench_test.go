package h2

import (
	"encoding/binary"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// nullSink counts what it is given and reports nothing buffered.
type nullSink struct{ n int64 }

func (s *nullSink) Write(p []byte)    { s.n += int64(len(p)) }
func (s *nullSink) WriteRef(p []byte) { s.n += int64(len(p)) }
func (s *nullSink) WriteFile(f httpcore.FileRef, off, n int64, release bool) {
	s.n += n
	if release {
		f.Release()
	}
}
func (s *nullSink) Buffered() int64 { return 0 }

// benchHost answers like a static-file handler with a cached body: its
// Response is reused, the body is shared memory.
type benchHost struct {
	c    *Conn
	resp httpcore.Response
	body []byte
	file *fakeFile
	date []byte
	n    int
}

func (h *benchHost) Request(id uint32, req *httpcore.Request) {
	h.n++
	r := &h.resp
	r.Reset()
	r.Status = 200
	r.Head = httpcore.AppendStatusLine(r.Head, 200)
	r.Head = append(r.Head, "Content-Type: text/html; charset=utf-8\r\nLast-Modified: Mon, 02 Jan 2006 15:04:05 GMT\r\nETag: \"5d4a-1b3c\"\r\nAccept-Ranges: bytes\r\n"...)
	r.Head = append(r.Head, httpcore.ServerField...)
	if h.file != nil {
		r.Head = httpcore.AppendContentLength(r.Head, int64(len(h.file.data)))
		r.File, r.Len = h.file, int64(len(h.file.data))
	} else {
		r.Head = httpcore.AppendContentLength(r.Head, int64(len(h.body)))
		r.Body = h.body
	}
	h.c.Respond(id, r, req.Method == httpcore.MethodHead, h.date)
}

func (h *benchHost) Cancel(uint32) {}

// getRig is a connection past its first request, with a request frame whose
// field block is all dynamic-table references (what a browser's repeated
// requests look like) and a WINDOW_UPDATE that returns the body's window.
type getRig struct {
	c   Conn
	h   benchHost
	req []byte // HEADERS (stream id patched per call) + WINDOW_UPDATE(0)
	id  uint32
	out nullSink
}

func newGetRig(tb testing.TB, bodyLen int, file bool) *getRig {
	return newGetRigPath(tb, bodyLen, file, false)
}

// newGetRigPath is newGetRig; with pathLit the repeated request's :path is
// a literal that is not indexed, as nghttp2 (h2load, curl) sends it.
func newGetRigPath(tb testing.TB, bodyLen int, file, pathLit bool) *getRig {
	r := &getRig{}
	r.h.c = &r.c
	r.h.body = pattern(bodyLen)
	r.h.date = []byte("Date: Tue, 03 Jan 2006 15:04:05 GMT\r\n")
	if file {
		r.h.file = newFile(bodyLen)
	}
	r.c.Init(&Config{}, &r.h)
	cl := newClient()
	cl.buf.WriteString(Preface)
	cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	cl.fr.WriteWindowUpdate(0, 1<<30)
	kv := []string{":method", "GET", ":scheme", "https", ":path", "/static/app.css", ":authority", "www.example.com",
		"user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench", "accept", "text/css,*/*;q=0.1",
		"accept-encoding", "gzip, deflate, br", "accept-language", "en-US,en;q=0.5"}
	cl.headers(1, true, kv...)
	if err := feedSplit(&r.c, cl.take()); err != nil {
		tb.Fatal(err)
	}
	r.c.Flush(&r.out, 1<<40)
	if pathLit {
		cl.hb.Reset()
		for k := 0; k < len(kv); k += 2 {
			cl.enc.WriteField(hpack.HeaderField{Name: kv[k], Value: kv[k+1], Sensitive: kv[k] == ":path"})
		}
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: cl.hb.Bytes(), EndStream: true, EndHeaders: true})
	} else {
		cl.headers(3, true, kv...) // now every field is indexed
	}
	cl.fr.WriteWindowUpdate(0, uint32(bodyLen))
	r.req = cl.take()
	r.id = 3
	return r
}

// roundTrip feeds one request and flushes its response.
func (r *getRig) roundTrip(tb testing.TB) {
	binary.BigEndian.PutUint32(r.req[5:], r.id)
	r.id += 2
	if n, err := r.c.Feed(r.req); err != nil || n != len(r.req) {
		tb.Fatalf("Feed: %d, %v", n, err)
	}
	r.c.Flush(&r.out, 1<<40)
}

// TestGetAllocs: a GET round trip on an existing connection (request in,
// response out) allocates nothing, from memory or from a file (that one
// with :path a literal in the request, as nghttp2 sends it).
func TestGetAllocs(t *testing.T) {
	for _, file := range []bool{false, true} {
		r := newGetRigPath(t, 3500, file, file)
		r.roundTrip(t)
		if a := testing.AllocsPerRun(1000, func() { r.roundTrip(t) }); a != 0 {
			t.Errorf("file=%v: %.1f allocations per round trip", file, a)
		}
		if !r.c.Idle() || r.h.n != 1003 {
			t.Fatalf("file=%v: Idle %v after %d requests", file, r.c.Idle(), r.h.n)
		}
	}
}

func BenchmarkGetRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		file bool
		path bool
	}{{"3.5KB", 3500, false, false}, {"3.5KB-file", 3500, true, false}, {"3.5KB-pathlit", 3500, false, true},
		{"64KB", 64 << 10, false, false}, {"1MB-file", 1 << 20, true, false}} {
		b.Run(bc.name, func(b *testing.B) {
			r := newGetRigPath(b, bc.n, bc.file, bc.path)
			b.ReportAllocs()
			b.SetBytes(int64(bc.n))
			for i := 0; i < b.N; i++ {
				r.roundTrip(b)
			}
		})
	}
}

// BenchmarkRequestBody: a POST with a 64 KiB body in four DATA frames.
func BenchmarkRequestBody(b *testing.B) {
	r := newGetRig(b, 10, false)
	cl := newClient()
	post := []string{":method", "POST", ":scheme", "https", ":path", "/upload", ":authority", "www.example.com", "content-length", "65536"}
	cl.headers(1, false, post...)
	cl.fr.WriteWindowUpdate(0, 10)
	chunk := make([]byte, 16384)
	for i := 0; i < 4; i++ {
		cl.fr.WriteData(1, i == 3, chunk)
	}
	req := cl.take()
	// Stream ids in the HEADERS and the four DATA frame headers.
	var at []int
	for off := 0; off < len(req); {
		at = append(at, off+5)
		off += frameHeaderLen + int(parseFrameHeader(req[off:]).Length)
	}
	b.ReportAllocs()
	b.SetBytes(65536)
	id := r.id
	for i := 0; i < b.N; i++ {
		for _, o := range at {
			if req[o-2] != byte(FrameWindowUpdate) {
				binary.BigEndian.PutUint32(req[o:], id)
			}
		}
		id += 2
		if _, err := r.c.Feed(req); err != nil {
			b.Fatal(err)
		}
		r.c.Flush(&r.out, 1<<40)
	}
}
