package httpcore

import (
	"bufio"
	"bytes"
	"io"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// mustParse parses one complete request.
func mustParse(t testing.TB, raw string) *Request {
	t.Helper()
	var p Parser
	req := new(Request)
	if _, err := p.Parse([]byte(raw), req); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return req
}

// readHead parses a finished head (and body) with net/http, an independent
// HTTP/1.1 reader, for req's method.
func readHead(t *testing.T, resp *Response, method string) *http.Response {
	t.Helper()
	wire := append(append([]byte(nil), resp.Head...), resp.Body...)
	hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wire)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("net/http cannot read %q: %v", wire, err)
	}
	return hr
}

func TestPreflight(t *testing.T) {
	cases := []struct {
		name   string
		raw    string
		filled bool
		status int
		allow  string
		close  bool
	}{
		{"unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", true, 501, "", true},
		{"lower-case get", "get / HTTP/1.1\r\nHost: a\r\n\r\n", true, 501, "", true},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", true, 405, AllowedMethods, false},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", true, 200, AllowedMethods, false},
		{"OPTIONS path", "OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, "", false},
		{"GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, "", false},
		{"POST", "POST / HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := mustParse(t, c.raw)
			var resp Response
			if got := Preflight(req, &resp); got != c.filled {
				t.Fatalf("Preflight = %v, want %v", got, c.filled)
			}
			if !c.filled {
				if resp.Status != 0 || len(resp.Head) != 0 {
					t.Fatalf("Preflight touched resp: %+v", resp)
				}
				return
			}
			if resp.Status != c.status || resp.Close != c.close {
				t.Fatalf("status %d close %v, want %d %v", resp.Status, resp.Close, c.status, c.close)
			}
			resp.Finish(req, []byte("Date: Tue, 24 Nov 2026 05:00:00 GMT\r\n"))
			hr := readHead(t, &resp, string(req.MethodName))
			if hr.StatusCode != c.status || hr.Header.Get("Allow") != c.allow {
				t.Fatalf("wire: status %d Allow %q, want %d %q", hr.StatusCode, hr.Header.Get("Allow"), c.status, c.allow)
			}
			body, _ := io.ReadAll(hr.Body)
			if int64(len(body)) != hr.ContentLength {
				t.Fatalf("body %q, Content-Length %d", body, hr.ContentLength)
			}
		})
	}
}

type fakeFile struct{ released int }

func (f *fakeFile) Fd() int  { return 3 }
func (f *fakeFile) Release() { f.released++ }

func TestWriteError(t *testing.T) {
	cases := []struct {
		status  int
		pre     string // field lines already in Head
		close   bool
		body    string
		allow   bool
		wantPre bool
	}{
		{400, "", true, "400 Bad Request\n", false, false},
		{403, "", false, "403 Forbidden\n", false, false},
		{404, "", false, "404 Not Found\n", false, false},
		{405, "", false, "405 Method Not Allowed\n", true, false},
		{408, "", true, "408 Request Timeout\n", false, false},
		{413, "", true, "413 Content Too Large\n", false, false},
		{414, "", true, "414 URI Too Long\n", false, false},
		{416, "Content-Range: bytes */10\r\n", false, "416 Range Not Satisfiable\n", false, true},
		{416, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", false, "416 Range Not Satisfiable\n", false, false},
		{431, "", true, "431 Request Header Fields Too Large\n", false, false},
		{500, "", false, "500 Internal Server Error\n", false, false},
		{501, "", true, "501 Not Implemented\n", false, false},
		{505, "", true, "505 HTTP Version Not Supported\n", false, false},
		{599, "", false, "599 Status\n", false, false},
		{304, "ETag: \"x\"\r\n", false, "", false, true},
		{204, "", false, "", false, false},
		{42, "", false, "500 Internal Server Error\n", false, false},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			f := &fakeFile{}
			resp := Response{Head: append(make([]byte, 0, 8), c.pre...), File: f, Parts: []Part{{Len: 1}}, Off: 5, Len: 6}
			WriteError(&resp, c.status)
			if f.released != 1 || resp.File != nil || len(resp.Parts) != 0 || resp.Off != 0 || resp.Len != 0 {
				t.Fatalf("body plan not cleared: released %d File %v Parts %d", f.released, resp.File, len(resp.Parts))
			}
			if string(resp.Body) != c.body || resp.Close != c.close {
				t.Fatalf("body %q close %v, want %q %v", resp.Body, resp.Close, c.body, c.close)
			}
			want := c.status
			if want < 100 || want > 599 {
				want = 500
			}
			if resp.Status != want {
				t.Fatalf("Status %d, want %d", resp.Status, want)
			}
			head := string(resp.Head)
			if (c.pre != "" && c.wantPre != strings.Contains(head, c.pre)) || !strings.HasPrefix(head, "HTTP/1.1 "+strconv.Itoa(want)+" ") {
				t.Fatalf("head %q", head)
			}
			resp.Finish(nil, []byte("Date: Tue, 24 Nov 2026 05:00:00 GMT\r\n"))
			hr := readHead(t, &resp, "GET")
			if hr.StatusCode != want {
				t.Fatalf("wire status %d", hr.StatusCode)
			}
			if c.body != "" {
				if hr.Header.Get("Content-Type") != "text/plain; charset=utf-8" || hr.Header.Get("X-Content-Type-Options") != "nosniff" ||
					hr.ContentLength != int64(len(c.body)) {
					t.Fatalf("wire header %v", hr.Header)
				}
			} else if hr.Header.Get("Content-Length") != "" {
				t.Fatalf("Content-Length on a %d", want)
			}
			if (hr.Header.Get("Allow") == AllowedMethods) != c.allow {
				t.Fatalf("Allow %q", hr.Header.Get("Allow"))
			}
		})
	}
}

// TestReply checks the answers Reply builds on the wire: status line,
// Content-Type, Content-Length and body, none of the last two where RFC 9110
// forbids them, whatever the response held before.
func TestReply(t *testing.T) {
	cases := []struct {
		status int
		ctype  string
		body   string
		want   int    // status on the wire
		cl     string // Content-Length on the wire ("" none)
		sent   string // Body
	}{
		{200, "application/json", `{"ok":true}`, 200, "11", `{"ok":true}`},
		{201, "", "made", 201, "4", "made"},
		{404, "text/plain; charset=utf-8", "", 404, "0", ""},
		{204, "text/plain", "dropped", 204, "", ""},
		{304, "", "dropped", 304, "", ""},
		{42, "text/plain", "x", 500, "1", "x"},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			f := &fakeFile{}
			resp := Response{Head: []byte("HTTP/1.1 206 Partial Content\r\nX-Old: 1\r\n"), File: f, Parts: []Part{{Len: 1}}, Off: 5, Len: 6}
			resp.Reply(c.status, c.ctype, []byte(c.body))
			if f.released != 1 || resp.File != nil || len(resp.Parts) != 0 || resp.Off != 0 || resp.Len != 0 {
				t.Fatalf("body plan not cleared: released %d File %v Parts %d", f.released, resp.File, len(resp.Parts))
			}
			if resp.Status != c.want || string(resp.Body) != c.sent {
				t.Fatalf("Status %d Body %q, want %d %q", resp.Status, resp.Body, c.want, c.sent)
			}
			resp.Head = AppendField(resp.Head, "Cache-Control", "no-store")
			resp.Finish(nil, []byte("Date: Tue, 24 Nov 2026 05:00:00 GMT\r\n"))
			hr := readHead(t, &resp, "GET")
			if hr.StatusCode != c.want || hr.Header.Get("Content-Type") != c.ctype ||
				hr.Header.Get("Content-Length") != c.cl || hr.Header.Get("X-Old") != "" || hr.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("wire: %d %v", hr.StatusCode, hr.Header)
			}
		})
	}
	resp := Response{Head: make([]byte, 0, 256)}
	body := []byte("Hello, World!")
	if n := testing.AllocsPerRun(100, func() {
		resp.Reset()
		resp.Reply(200, "text/plain", body)
	}); n != 0 {
		t.Fatalf("Reply allocates %.1f times", n)
	}
}

func TestFinish(t *testing.T) {
	const date = "Date: Tue, 24 Nov 2026 05:00:00 GMT\r\n"
	cases := []struct {
		name      string
		raw       string // "" for a nil request
		preClose  bool
		conn      string
		wantClose bool
	}{
		{"1.1 persists", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, "", false},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false, "close", true},
		{"1.1 handler closes", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, "close", true},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, "keep-alive", false},
		{"1.0 keep-alive, handler closes", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, "close", true},
		{"1.0 default", "GET / HTTP/1.0\r\n\r\n", false, "close", true},
		{"no request", "", false, "close", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req *Request
			if c.raw != "" {
				req = mustParse(t, c.raw)
			}
			resp := Response{Head: AppendContentLength(AppendStatusLine(nil, 200), 0), Close: c.preClose}
			resp.Finish(req, []byte(date))
			head := string(resp.Head)
			if !strings.HasSuffix(head, "\r\n\r\n") || strings.Count(head, "\r\n\r\n") != 1 || !strings.Contains(head, "\r\n"+date) {
				t.Fatalf("head %q", head)
			}
			conn := ""
			if i := strings.Index(head, "Connection: "); i >= 0 {
				conn = head[i+len("Connection: "):]
				conn = conn[:strings.Index(conn, "\r\n")]
			}
			if conn != c.conn || resp.Close != c.wantClose {
				t.Fatalf("Connection %q Close %v, want %q %v", conn, resp.Close, c.conn, c.wantClose)
			}
		})
	}
}

func TestNoBody(t *testing.T) {
	get := mustParse(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	head := mustParse(t, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
	cases := []struct {
		req    *Request
		status int
		want   bool
	}{
		{get, 200, false}, {get, 206, false}, {get, 404, false}, {get, 416, false},
		{get, 100, true}, {get, 101, true}, {get, 204, true}, {get, 304, true},
		{head, 200, true}, {head, 404, true}, {nil, 400, false}, {nil, 304, true},
	}
	for _, c := range cases {
		if got := NoBody(c.req, c.status); got != c.want {
			t.Errorf("NoBody(%v, %d) = %v, want %v", c.req != nil && c.req.Method == MethodHead, c.status, got, c.want)
		}
	}
}

func TestAllowsContentLength(t *testing.T) {
	for s := 100; s < 600; s++ {
		want := !(s < 200 || s == 204 || s == 304)
		if got := AllowsContentLength(s); got != want {
			t.Errorf("AllowsContentLength(%d) = %v", s, got)
		}
		// Where no Content-Length may go, no body may go either.
		if !AllowsContentLength(s) && !NoBody(nil, s) {
			t.Errorf("status %d: no Content-Length but a body", s)
		}
	}
}

// TestMaxRequestBytes builds a request that uses every limit up to its edge
// (blank lines, request line, header section, body, chunk framing, trailers)
// and checks that it parses and fits in MaxRequestBytes.
func TestMaxRequestBytes(t *testing.T) {
	lim := Limits{MaxRequestLine: 64, MaxHeaderBytes: 128, MaxHeaders: 10, MaxBody: 256}
	full := lim.withDefaults()
	var b []byte
	b = append(b, strings.Repeat("\r\n", lim.MaxRequestLine/2)...)
	line := "POST /" + strings.Repeat("a", lim.MaxRequestLine-len("POST / HTTP/1.1")) + " HTTP/1.1\r\n"
	b = append(b, line...)
	fields := "Host: h\r\n" + chunked
	fields += "X: " + strings.Repeat("v", lim.MaxHeaderBytes-len(fields)-len("X: \r\n\r\n")) + "\r\n\r\n"
	b = append(b, fields...)
	// 128 chunks of 2 bytes, each size line padded with an extension so that
	// the framing reaches its bound.
	framing := int(full.maxFraming()) - len("0\r\n")
	per := framing / 128
	for i := 0; i < 128; i++ {
		ext := per - len("2;\r\n\r\n")
		if i == 0 {
			ext += framing % 128
		}
		b = append(b, "2;"...)
		b = append(b, strings.Repeat("e", ext)...)
		b = append(b, "\r\nxy\r\n"...)
	}
	b = append(b, "0\r\n"...)
	trailer := "T: " + strings.Repeat("t", lim.MaxHeaderBytes-len("T: \r\n\r\n")) + "\r\n\r\n"
	b = append(b, trailer...)

	p := Parser{Limits: lim}
	var req Request
	n, err := p.Parse(b, &req)
	if err != nil || n != len(b) || len(req.Body) != 256 {
		t.Fatalf("edge request: (%d, %v), body %d", n, err, len(req.Body))
	}
	if max := lim.MaxRequestBytes(); int64(n) > max {
		t.Fatalf("request of %d bytes, MaxRequestBytes %d", n, max)
	}
	// One more framing byte is over the limit.
	b2 := append([]byte(nil), b[:len(b)-len(trailer)-len("0\r\n")]...)
	b2 = append(b2, "00\r\n"...)
	p = Parser{Limits: lim}
	if _, err := p.Parse(b2, &req); err != errFramingTooLarge {
		t.Fatalf("one framing byte more: %v", err)
	}
}

func TestAppendStatusLine(t *testing.T) {
	cases := []struct {
		status int
		want   string
	}{
		{200, "HTTP/1.1 200 OK\r\n"},
		{206, "HTTP/1.1 206 Partial Content\r\n"},
		{304, "HTTP/1.1 304 Not Modified\r\n"},
		{404, "HTTP/1.1 404 Not Found\r\n"},
		{599, "HTTP/1.1 599 \r\n"},
		{799, "HTTP/1.1 799 \r\n"},
		{42, "HTTP/1.1 500 Internal Server Error\r\n"},
		{1000, "HTTP/1.1 500 Internal Server Error\r\n"},
	}
	for _, c := range cases {
		if got := string(AppendStatusLine([]byte("x"), c.status)); got != "x"+c.want {
			t.Errorf("AppendStatusLine(%d) = %q, want %q", c.status, got, "x"+c.want)
		}
	}
	// Every known status agrees with net/http's reason phrases, except where
	// RFC 9110 renamed them.
	renamed := map[int]bool{413: true, 414: true, 416: true, 422: true}
	for s := 100; s < 600; s++ {
		if StatusText(s) != "" && !renamed[s] && StatusText(s) != http.StatusText(s) {
			t.Errorf("StatusText(%d) = %q, net/http says %q", s, StatusText(s), http.StatusText(s))
		}
	}
}

func TestAppendFields(t *testing.T) {
	b := AppendField(nil, "Content-Type", "text/html")
	b = AppendFieldBytes(b, "ETag", []byte(`"x"`))
	b = AppendContentLength(b, 1234567890123)
	b = AppendUint(b, 42)
	if want := "Content-Type: text/html\r\nETag: \"x\"\r\nContent-Length: 1234567890123\r\n42"; string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
}

// TestChunkedRoundTrip encodes bodies with the chunk helpers and decodes them
// with both the Parser and net/http.
func TestChunkedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 50; trial++ {
		var body, wire []byte
		for i := rng.Intn(6); i > 0; i-- {
			piece := make([]byte, rng.Intn(300))
			rng.Read(piece)
			body = append(body, piece...)
			if rng.Intn(2) == 0 {
				wire = appendChunk(wire, piece)
			} else if len(piece) > 0 {
				wire = appendChunkHeader(wire, len(piece))
				wire = append(wire, piece...)
				wire = appendChunkEnd(wire)
			}
		}
		wire = appendLastChunk(wire)

		raw := append([]byte("POST / HTTP/1.1\r\nHost: a\r\n"+chunkedField+"\r\n"), wire...)
		var p Parser
		var req Request
		n, err := p.Parse(raw, &req)
		if err != nil || n != len(raw) || !bytes.Equal(req.Body, body) {
			t.Fatalf("trial %d: parser (%d, %v), body equal %v", trial, n, err, bytes.Equal(req.Body, body))
		}
		hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(hr.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("trial %d: net/http read %d bytes, %v", trial, len(got), err)
		}
	}
}
