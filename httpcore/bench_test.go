package httpcore

import (
	"testing"
	"time"
)

// browserGET is a typical request of a current browser for a page asset
// (about 500 bytes).
const browserGET = "GET /static/js/app.min.js?v=3f2a9c HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n" +
	"Accept: */*\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Referer: https://www.example.com/\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"If-None-Match: \"5f1a-62c3b1e0a4f00\"\r\n" +
	"If-Modified-Since: Mon, 23 Nov 2026 10:00:00 GMT\r\n" +
	"\r\n"

func TestBrowserGETSize(t *testing.T) {
	if n := len(browserGET); n < 450 || n > 600 {
		t.Fatalf("browserGET is %d bytes, want about 500", n)
	}
	req := mustParse(t, browserGET)
	if string(req.IfNoneMatch()) != `"5f1a-62c3b1e0a4f00"` || string(req.AcceptEncoding()) != "gzip, deflate, br, zstd" ||
		string(req.Host) != "www.example.com" || !req.KeepAlive || len(req.Headers) != 13 {
		t.Fatalf("parsed %+v", req)
	}
}

// serveHead is what an engine does per request on the hot path: parse,
// preflight, build the head of a small cached answer, finish it.
func serveHead(p *Parser, buf []byte, req *Request, resp *Response, dc *DateCache, now time.Time) {
	n, err := p.Parse(buf, req)
	if err != nil || n != len(buf) {
		panic(err)
	}
	resp.Reset()
	if !Preflight(req, resp) {
		resp.Status = 200
		resp.Head = AppendStatusLine(resp.Head, 200)
		resp.Head = AppendField(resp.Head, "Content-Type", "text/javascript; charset=utf-8")
		resp.Head = AppendContentLength(resp.Head, 24410)
		resp.Head = AppendFieldBytes(resp.Head, "ETag", req.IfNoneMatch())
	}
	dc.Update(now)
	resp.Finish(req, dc.Line())
}

// TestZeroAllocs proves that parse plus head encoding of a typical browser
// request allocates nothing once the Request and Response have their memory.
func TestZeroAllocs(t *testing.T) {
	buf := []byte(browserGET)
	var p Parser
	var req Request
	resp := Response{Head: make([]byte, 0, 512)}
	var dc DateCache
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() { serveHead(&p, buf, &req, &resp, &dc, now) }); n != 0 {
		t.Fatalf("parse + head: %v allocations per request, want 0", n)
	}
	// Resuming after ErrNeedMore allocates nothing either.
	cut := len(buf) / 2
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := p.Parse(buf[:cut], &req); err != ErrNeedMore {
			panic(err)
		}
		if _, err := p.Parse(buf, &req); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Fatalf("split parse: %v allocations per request, want 0", n)
	}
	// A chunked body reuses the parser's scratch.
	chunkedReq := []byte(post(chunked, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := p.Parse(chunkedReq, &req); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Fatalf("chunked parse: %v allocations per request, want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	buf := []byte(browserGET)
	var p Parser
	var req Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse(buf, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSplit parses the browser GET arriving in two reads.
func BenchmarkParseSplit(b *testing.B) {
	buf := []byte(browserGET)
	cut := len(buf) / 2
	var p Parser
	var req Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(buf[:cut], &req)
		if _, err := p.Parse(buf, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAndHead is parse + preflight + head encoding + Finish.
func BenchmarkParseAndHead(b *testing.B) {
	buf := []byte(browserGET)
	var p Parser
	var req Request
	resp := Response{Head: make([]byte, 0, 512)}
	var dc DateCache
	now := time.Now()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		serveHead(&p, buf, &req, &resp, &dc, now)
	}
}

func BenchmarkParseChunked(b *testing.B) {
	buf := []byte(post(chunked, "400\r\n"+string(make([]byte, 1024))+"\r\n400\r\n"+string(make([]byte, 1024))+"\r\n0\r\n\r\n"))
	var p Parser
	var req Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse(buf, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHTTPDate(b *testing.B) {
	d := []byte("Mon, 23 Nov 2026 10:00:00 GMT")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseHTTPDate(d); !ok {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkDateCache(b *testing.B) {
	var d DateCache
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		d.Update(now)
		_ = d.Line()
	}
}
