package httpcore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// summary is what a test compares of a parsed request.
type summary struct {
	Method   Method
	Path     string
	Query    string // "<nil>" when Request.Query is nil
	Host     string // "<nil>" when Request.Host is nil
	Minor    uint8
	Keep     bool
	Body     string
	Chunked  bool
	CL       int64
	Expect   bool
	NHeaders int
	N        int // bytes consumed
}

func summarize(r *Request, n int) summary {
	s := summary{
		Method: r.Method, Path: string(r.Path), Query: string(r.Query), Host: string(r.Host),
		Minor: r.Minor, Keep: r.KeepAlive, Body: string(r.Body), Chunked: r.Chunked,
		CL: r.ContentLength, Expect: r.Expect100, NHeaders: len(r.Headers), N: n,
	}
	if r.Query == nil {
		s.Query = "<nil>"
	}
	if r.Host == nil {
		s.Host = "<nil>"
	}
	return s
}

// parseCase is one raw request (possibly followed by more bytes) and the
// outcome of parsing its first request: an error status, or a summary.
type parseCase struct {
	name   string
	raw    string
	limits Limits
	rest   string   // bytes after the first request (pipelined), part of raw
	status int      // the *Error status; 0 for success
	want   *summary // for success; its N is len(raw)-len(rest)
}

// get returns the summary of a GET of path with Host h that keeps the
// connection.
func get(path, h string) *summary {
	return &summary{Method: MethodGet, Path: path, Query: "<nil>", Host: h, Minor: 1, Keep: true, NHeaders: 1}
}

// with applies f to a copy of s.
func with(s *summary, f func(*summary)) *summary {
	c := *s
	f(&c)
	return &c
}

const (
	hostLine = "Host: example.com\r\n"
	chunked  = "Transfer-Encoding: chunked\r\n"
)

func post(fields, body string) string {
	return "POST /up HTTP/1.1\r\n" + hostLine + fields + "\r\n" + body
}

// parseCases covers every Framing row of HTTP.md that the parser decides
// (Preflight's rows are in response_test.go) and the parse's own rules.
var parseCases = []parseCase{
	// Plain requests.
	{name: "simple GET", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", want: get("/", "a")},
	{name: "bare LF line ends", raw: "GET / HTTP/1.1\nHost: a\n\n", want: get("/", "a")},
	{name: "mixed line ends", raw: "GET / HTTP/1.1\r\nHost: a\n\r\n", want: get("/", "a")},
	{name: "leading blank lines ignored", raw: "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: get("/", "a")},
	{name: "query", raw: "GET /p/q?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n",
		want: with(get("/p/q", "a"), func(s *summary) { s.Query = "x=1&y=%20" })},
	{name: "empty query", raw: "GET /?\r\n HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "empty query ok", raw: "GET /? HTTP/1.1\r\nHost: a\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.Query = "" })},
	{name: "obs-text in target", raw: "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", want: get("/\xc3\xa9", "a")},
	{name: "value whitespace trimmed", raw: "GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", want: get("/", "a")},
	{name: "empty value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.NHeaders = 2 })},
	{name: "empty Host allowed", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n", want: get("/", "")},
	{name: "Host with port", raw: "GET / HTTP/1.1\r\nHost: a.b:8080\r\n\r\n", want: get("/", "a.b:8080")},
	{name: "Host IPv6", raw: "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", want: get("/", "[::1]:80")},
	{name: "lower-case host name", raw: "GET / HTTP/1.1\r\nhOST: a\r\n\r\n", want: get("/", "a")},
	{name: "HTTP/1.0 no Host", raw: "GET / HTTP/1.0\r\n\r\n",
		want: &summary{Method: MethodGet, Path: "/", Query: "<nil>", Host: "<nil>"}},
	{name: "pipelined rest untouched", raw: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n", rest: "GET /2 HTTP/1.1\r\n", want: get("/1", "a")},
	{name: "pipelined garbage untouched", raw: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\x00\x01", rest: "\x00\x01", want: get("/1", "a")},

	// Methods.
	{name: "HEAD", raw: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get("/", "a"), func(s *summary) { s.Method = MethodHead })},
	{name: "unknown method parses", raw: "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get("/", "a"), func(s *summary) { s.Method = MethodUnknown })},
	{name: "lower-case get is unknown", raw: "get / HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get("/", "a"), func(s *summary) { s.Method = MethodUnknown })},
	{name: "non-token method", raw: "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "empty method", raw: " / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},

	// Request line shape.
	{name: "double space", raw: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "space before version twice", raw: "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "tab separator", raw: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "tab before version", raw: "GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "trailing space", raw: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: 400},
	{name: "leading space", raw: " GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "lower-case version", raw: "GET / http/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "HTTP/1.11", raw: "GET / HTTP/1.11\r\nHost: a\r\n\r\n", status: 400},
	{name: "HTTP/1", raw: "GET / HTTP/1\r\nHost: a\r\n\r\n", status: 400},
	{name: "missing version", raw: "GET /\r\nHost: a\r\n\r\n", status: 400},
	{name: "HTTP/0.9 style", raw: "GET /\r\n\r\n", status: 400},
	{name: "missing target", raw: "GET HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "bare CR in request line", raw: "GET /\ra HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "bare CR at end of request line", raw: "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", status: 400},
	{name: "NUL in target", raw: "GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "DEL in target", raw: "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "fragment", raw: "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "fragment only", raw: "GET # HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},
	{name: "bare CR blank line", raw: "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},

	// Versions.
	{name: "HTTP/1.2 served as 1.1", raw: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", want: get("/", "a")},
	{name: "HTTP/1.9 needs Host", raw: "GET / HTTP/1.9\r\n\r\n", status: 400},
	{name: "HTTP/2.0", raw: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505},
	{name: "HTTP/3.0", raw: "GET / HTTP/3.0\r\nHost: a\r\n\r\n", status: 505},
	{name: "HTTP/0.9 version", raw: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", status: 505},
	{name: "h2 preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505},

	// Target forms.
	{name: "absolute-form", raw: "GET http://origin.example:81/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
		want: with(get("/x", "origin.example:81"), func(s *summary) { s.Query = "y" })},
	{name: "absolute-form https upper case", raw: "GET HTTPS://h/ HTTP/1.1\r\nHost: other\r\n\r\n", want: get("/", "h")},
	{name: "absolute-form without path", raw: "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", want: get("/", "h")},
	{name: "absolute-form query without path", raw: "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n",
		want: with(get("/", "h"), func(s *summary) { s.Query = "q" })},
	{name: "absolute-form still needs Host", raw: "GET http://h/ HTTP/1.1\r\n\r\n", status: 400},
	{name: "absolute-form empty authority", raw: "GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n", status: 400},
	{name: "absolute-form userinfo", raw: "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", status: 400},
	{name: "absolute-form other scheme", raw: "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", status: 400},
	{name: "authority-form for GET", raw: "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n", status: 400},
	{name: "CONNECT authority-form", raw: "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
		want: &summary{Method: MethodConnect, Query: "<nil>", Host: "h:443", Minor: 1, Keep: true, NHeaders: 1}},
	{name: "OPTIONS *", raw: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		want: with(get("*", "a"), func(s *summary) { s.Method = MethodOptions })},
	{name: "GET *", raw: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", status: 400},

	// Host.
	{name: "no Host", raw: "GET / HTTP/1.1\r\n\r\n", status: 400},
	{name: "two Hosts", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", status: 400},
	{name: "two Hosts HTTP/1.0", raw: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", status: 400},
	{name: "Host with space", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400},
	{name: "Host with slash", raw: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400},
	{name: "Host with userinfo", raw: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", status: 400},
	{name: "Host bad port", raw: "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", status: 400},
	{name: "Host unclosed bracket", raw: "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", status: 400},
	{name: "Host HTTP/1.0 invalid", raw: "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", status: 400},

	// Field syntax.
	{name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400},
	{name: "tab before colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nX\t: b\r\n\r\n", status: 400},
	{name: "empty name", raw: "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", status: 400},
	{name: "non-token name", raw: "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", status: 400},
	{name: "no colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nJunk\r\n\r\n", status: 400},
	{name: "obs-fold", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", status: 400},
	{name: "obs-fold tab", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", status: 400},
	{name: "space before first field", raw: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", status: 400},
	{name: "bare CR in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n", status: 400},
	{name: "bare CR ends value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\r\n\r\n", status: 400},
	{name: "bare CR in name", raw: "GET / HTTP/1.1\r\nHost: a\r\nX\r: b\r\n\r\n", status: 400},
	{name: "bare CR line", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", status: 400},
	{name: "LF in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\nc d\r\n\r\n", status: 400},
	{name: "NUL in name", raw: "GET / HTTP/1.1\r\nHost: a\r\nX\x00: b\r\n\r\n", status: 400},
	{name: "NUL in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\x00c\r\n\r\n", status: 400},
	{name: "ctl in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\x01c\r\n\r\n", status: 400},
	{name: "DEL in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: b\x7fc\r\n\r\n", status: 400},
	{name: "obs-text in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: \xff\x80\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.NHeaders = 2 })},

	// Connection.
	{name: "close", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.Keep = false; s.NHeaders = 2 })},
	{name: "close in list, any case", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade ,\tCLOSE\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.Keep = false; s.NHeaders = 2 })},
	{name: "close in second field", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nconnection: close\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.Keep = false; s.NHeaders = 3 })},
	{name: "closed is not close", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.NHeaders = 2 })},
	{name: "1.0 keep-alive", raw: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		want: &summary{Method: MethodGet, Path: "/", Query: "<nil>", Host: "<nil>", Keep: true, NHeaders: 1}},
	{name: "1.0 keep-alive and close", raw: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		want: &summary{Method: MethodGet, Path: "/", Query: "<nil>", Host: "<nil>", NHeaders: 1}},

	// Content-Length.
	{name: "CL body", raw: post("Content-Length: 5\r\n", "hello"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "hello", CL: 5, NHeaders: 2}},
	{name: "CL body then pipelined", raw: post("Content-Length: 5\r\n", "helloGET / HTTP/1.1\r\n"), rest: "GET / HTTP/1.1\r\n",
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "hello", CL: 5, NHeaders: 2}},
	{name: "CL zero", raw: post("Content-Length: 0\r\n", ""),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, NHeaders: 2}},
	{name: "CL leading zeros", raw: post("Content-Length: 0002\r\n", "hi"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "hi", CL: 2, NHeaders: 2}},
	{name: "CL duplicate same", raw: post("Content-Length: 2\r\nContent-Length: 2\r\n", "hi"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "hi", CL: 2, NHeaders: 3}},
	{name: "CL duplicate different", raw: post("Content-Length: 2\r\nContent-Length: 3\r\n", "hi!"), status: 400},
	{name: "CL list", raw: post("Content-Length: 2, 2\r\n", "hi"), status: 400},
	{name: "CL sign", raw: post("Content-Length: +2\r\n", "hi"), status: 400},
	{name: "CL negative", raw: post("Content-Length: -1\r\n", ""), status: 400},
	{name: "CL hex", raw: post("Content-Length: 0x2\r\n", "hi"), status: 400},
	{name: "CL empty", raw: post("Content-Length:\r\n", ""), status: 400},
	{name: "CL inner space", raw: post("Content-Length: 1 2\r\n", ""), status: 400},
	{name: "CL overflow", raw: post("Content-Length: 99999999999999999999\r\n", ""), status: 400},
	{name: "CL over limit", raw: post("Content-Length: 1048577\r\n", ""), status: 413},
	{name: "CL over custom limit", raw: post("Content-Length: 11\r\n", "hello world"), limits: Limits{MaxBody: 10}, status: 413},
	{name: "CL at custom limit", raw: post("Content-Length: 10\r\n", "helloworld"), limits: Limits{MaxBody: 10},
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "helloworld", CL: 10, NHeaders: 2}},

	// Transfer-Encoding and chunked bodies.
	{name: "chunked", raw: post(chunked, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "hello world", Chunked: true, CL: 11, NHeaders: 2}},
	{name: "chunked upper-case hex, ext, trailer", raw: post("transfer-encoding: Chunked\r\n", "A;name=\"v\"\r\n0123456789\r\n0 ; x\r\nTrailer: t\r\n\r\nGET"), rest: "GET",
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "0123456789", Chunked: true, CL: 10, NHeaders: 2}},
	{name: "chunked empty body", raw: post(chunked, "0\r\n\r\n"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Chunked: true, NHeaders: 2}},
	{name: "chunked leading zeros", raw: post(chunked, "0001\r\nx\r\n0\r\n\r\n"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "x", Chunked: true, CL: 1, NHeaders: 2}},
	{name: "TE list with empty elements", raw: post("Transfer-Encoding: ,\tchunked ,\r\n", "0\r\n\r\n"),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Chunked: true, NHeaders: 2}},
	{name: "TE empty field then chunked", raw: post("Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), status: 400},
	{name: "TE and CL", raw: post(chunked+"Content-Length: 5\r\n", "0\r\n\r\n"), status: 400},
	{name: "CL and TE", raw: post("Content-Length: 5\r\n"+chunked, "0\r\n\r\n"), status: 400},
	{name: "TE gzip, chunked", raw: post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), status: 501},
	{name: "TE gzip then chunked field", raw: post("Transfer-Encoding: gzip\r\n"+chunked, "0\r\n\r\n"), status: 501},
	{name: "TE chunked, gzip", raw: post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"), status: 400},
	{name: "TE chunked twice", raw: post("Transfer-Encoding: chunked\r\n"+chunked, "0\r\n\r\n"), status: 400},
	{name: "TE gzip only", raw: post("Transfer-Encoding: gzip\r\n", ""), status: 400},
	{name: "TE identity", raw: post("Transfer-Encoding: identity\r\n", ""), status: 400},
	{name: "TE chunked with param", raw: post("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n"), status: 400},
	{name: "TE xchunked", raw: post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"), status: 400},
	{name: "TE empty", raw: post("Transfer-Encoding:\r\n", ""), status: 400},
	{name: "TE in HTTP/1.0", raw: "POST / HTTP/1.0\r\n" + chunked + "\r\n0\r\n\r\n", status: 400},
	{name: "chunk size empty", raw: post(chunked, "\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size sign", raw: post(chunked, "+1\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size minus", raw: post(chunked, "-1\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size 0x", raw: post(chunked, "0x1\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size leading space", raw: post(chunked, " 1\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size trailing space", raw: post(chunked, "1 \r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size overflow", raw: post(chunked, "10000000000000000\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk size over limit", raw: post(chunked, "100001\r\n"), status: 413},
	{name: "chunks add up over limit", raw: post(chunked, "6\r\nhello!\r\n6\r\nhello!\r\n"), limits: Limits{MaxBody: 10}, status: 413},
	{name: "chunk framing over limit", raw: post(chunked, strings.Repeat("1;"+strings.Repeat("e", 2000)+"\r\nx\r\n", 10)), limits: Limits{MaxBody: 100}, status: 413},
	{name: "chunk framing at limit", raw: post(chunked, strings.Repeat("1;"+strings.Repeat("e", 2041)+"\r\nx\r\n", 8)+"0\r\n\r\n"), limits: Limits{MaxBody: 16},
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Keep: true, Body: "xxxxxxxx", Chunked: true, CL: 8, NHeaders: 2}},
	{name: "chunk size bare LF", raw: post(chunked, "1\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk data bare LF", raw: post(chunked, "1\r\nx\n0\r\n\r\n"), status: 400},
	{name: "chunk data too long", raw: post(chunked, "1\r\nxy\r\n0\r\n\r\n"), status: 400},
	{name: "last chunk bare LF", raw: post(chunked, "1\r\nx\r\n0\n\r\n"), status: 400},
	{name: "trailer end bare LF", raw: post(chunked, "0\r\n\n"), status: 400},
	{name: "trailer field bare LF", raw: post(chunked, "0\r\nA: b\n\r\n"), status: 400},
	{name: "trailer obs-fold", raw: post(chunked, "0\r\nA: b\r\n c\r\n\r\n"), status: 400},
	{name: "trailer NUL", raw: post(chunked, "0\r\nA: \x00\r\n\r\n"), status: 400},
	{name: "chunk ext with CTL", raw: post(chunked, "1;a\x01\r\nx\r\n0\r\n\r\n"), status: 400},
	{name: "chunk ext bare CR", raw: post(chunked, "1;a\rb\r\nx\r\n0\r\n\r\n"), status: 400},

	// Expect.
	{name: "Expect 100-continue, no body yet", raw: post("Expect: 100-continue\r\nContent-Length: 5\r\n", ""),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, CL: 5, Expect: true, NHeaders: 3}},
	{name: "Expect 100-continue, chunked", raw: post("Expect: 100-Continue\r\n"+chunked, ""),
		want: &summary{Method: MethodPost, Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1, Chunked: true, Expect: true, NHeaders: 3}},
	{name: "Expect without body", raw: "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		want: with(get("/", "a"), func(s *summary) { s.NHeaders = 2 })},
	{name: "Expect in HTTP/1.0 ignored", raw: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		want: &summary{Method: MethodPost, Path: "/", Query: "<nil>", Host: "<nil>", Body: "x", CL: 1, NHeaders: 2}},

	// Limits.
	{name: "request line at limit", raw: "GET /" + strings.Repeat("a", 50-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: a\r\n\r\n",
		limits: Limits{MaxRequestLine: 50}, want: get("/"+strings.Repeat("a", 50-len("GET / HTTP/1.1")), "a")},
	{name: "request line over limit", raw: "GET /" + strings.Repeat("a", 51-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: a\r\n\r\n",
		limits: Limits{MaxRequestLine: 50}, status: 414},
	{name: "request line over default limit", raw: "GET /" + strings.Repeat("a", 8192) + " HTTP/1.1\r\nHost: a\r\n\r\n", status: 414},
	{name: "blank lines over limit", raw: strings.Repeat("\r\n", 30) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", limits: Limits{MaxRequestLine: 50}, status: 400},
	{name: "header section at limit", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 100-len("Host: a\r\nX: \r\n\r\n")) + "\r\n\r\n",
		limits: Limits{MaxHeaderBytes: 100}, want: with(get("/", "a"), func(s *summary) { s.NHeaders = 2 })},
	{name: "header section over limit", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 101-len("Host: a\r\nX: \r\n\r\n")) + "\r\n\r\n",
		limits: Limits{MaxHeaderBytes: 100}, status: 431},
	{name: "header section over default limit", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 16384) + "\r\n\r\n", status: 431},
	{name: "fields at limit", raw: "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 99) + "\r\n",
		want: with(get("/", "a"), func(s *summary) { s.NHeaders = 100 })},
	{name: "too many fields", raw: "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n", status: 431},
	{name: "too many fields custom", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nX: y\r\n\r\n", limits: Limits{MaxHeaders: 2}, status: 431},
	{name: "trailer over limit", raw: post(chunked, "0\r\nX: "+strings.Repeat("y", 100)+"\r\n\r\n"), limits: Limits{MaxHeaderBytes: 100}, status: 431},
}

// feedWhole parses raw in one call.
func feedWhole(p *Parser, raw []byte, req *Request) (int, error) {
	return p.Parse(raw, req)
}

// feedBytes offers raw one byte more at a time, each time in a fresh array
// (the caller may move the bytes between calls).
func feedBytes(p *Parser, raw []byte, req *Request) (int, error) {
	for i := 1; ; i++ {
		buf := append([]byte(nil), raw[:i]...)
		n, err := p.Parse(buf, req)
		if !errors.Is(err, ErrNeedMore) || i == len(raw) {
			return n, err
		}
	}
}

// feedSplit offers raw[:k], then all of raw in a fresh array.
func feedSplit(k int) func(p *Parser, raw []byte, req *Request) (int, error) {
	return func(p *Parser, raw []byte, req *Request) (int, error) {
		n, err := p.Parse(append([]byte(nil), raw[:k]...), req)
		if !errors.Is(err, ErrNeedMore) {
			return n, err
		}
		return p.Parse(append([]byte(nil), raw...), req)
	}
}

// check compares the outcome of one feed with the case.
func (c *parseCase) check(t *testing.T, how string, n int, err error, req *Request) {
	t.Helper()
	if c.status != 0 {
		var e *Error
		if !errors.As(err, &e) || e.Status != c.status {
			t.Fatalf("%s: got (%d, %v), want status %d", how, n, err, c.status)
		}
		// HTTP.md: a rejected request is answered with Connection: close.
		var resp Response
		WriteError(&resp, e.Status)
		resp.Finish(nil, nil)
		if !resp.Close || !bytes.Contains(resp.Head, []byte("\r\nConnection: close\r\n")) {
			t.Fatalf("%s: the answer to %d does not close: %q", how, e.Status, resp.Head)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: got error %v, want success", how, err)
	}
	want := *c.want
	want.N = len(c.raw) - len(c.rest)
	if got := summarize(req, n); got != want {
		t.Fatalf("%s:\n got %+v\nwant %+v", how, got, *c.want)
	}
}

func TestParseTable(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.raw)
			var req Request
			p := Parser{Limits: c.limits}
			n, err := feedWhole(&p, raw, &req)
			c.check(t, "whole", n, err, &req)

			p = Parser{Limits: c.limits}
			n, err = feedBytes(&p, raw, &req)
			c.check(t, "byte by byte", n, err, &req)

			step := 1
			if len(raw) > 2000 {
				step = 7 // the long-line cases: every 7th split point is plenty
			}
			for k := 0; k < len(raw); k += step {
				p = Parser{Limits: c.limits}
				n, err = feedSplit(k)(&p, raw, &req)
				c.check(t, fmt.Sprintf("split at %d", k), n, err, &req)
			}
		})
	}
}

// TestParseErrorIsFinal checks that nothing after a rejected request is
// parsed: the error sticks until Reset.
func TestParseErrorIsFinal(t *testing.T) {
	var p Parser
	var req Request
	bad := []byte("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	_, err1 := p.Parse(bad, &req)
	var e *Error
	if !errors.As(err1, &e) || e.Status != 400 {
		t.Fatalf("first parse: %v, want 400", err1)
	}
	good := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, err := p.Parse(good, &req); err != err1 {
		t.Fatalf("after an error Parse returned %v, want the same error %v", err, err1)
	}
	p.Reset()
	if n, err := p.Parse(good, &req); err != nil || n != len(good) {
		t.Fatalf("after Reset: (%d, %v)", n, err)
	}
}

// TestParsePipelined parses several requests from one buffer, in order.
func TestParsePipelined(t *testing.T) {
	raw := []byte("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		post("Content-Length: 3\r\n", "abc") +
		post(chunked, "2\r\nde\r\n0\r\n\r\n") +
		"\r\nHEAD /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	want := []struct {
		method Method
		path   string
		body   string
		keep   bool
	}{
		{MethodGet, "/1", "", true},
		{MethodPost, "/up", "abc", true},
		{MethodPost, "/up", "de", true},
		{MethodHead, "/4", "", false},
	}
	var p Parser
	var req Request
	buf := raw
	for i, w := range want {
		n, err := p.Parse(buf, &req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if req.Method != w.method || string(req.Path) != w.path || string(req.Body) != w.body || req.KeepAlive != w.keep {
			t.Fatalf("request %d: got %v %q body %q keep %v", i, req.Method, req.Path, req.Body, req.KeepAlive)
		}
		buf = buf[n:]
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left", len(buf))
	}
	if _, err := p.Parse(buf, &req); !errors.Is(err, ErrNeedMore) {
		t.Fatalf("empty buffer: %v, want ErrNeedMore", err)
	}
}

// TestParseDoesNotRescan proves that accepted lines are not scanned again:
// after ErrNeedMore, a byte of an accepted line is replaced by NUL (which a
// rescan would reject) before the rest arrives.
func TestParseDoesNotRescan(t *testing.T) {
	raw := []byte("GET /x HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\n\r\n")
	cut := bytes.Index(raw, []byte("X-Two"))
	for _, pos := range []int{bytes.IndexByte(raw, 'x'), bytes.Index(raw, []byte("1\r\n"))} {
		var p Parser
		var req Request
		if _, err := p.Parse(raw[:cut+2], &req); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("prefix: %v", err)
		}
		moved := append([]byte(nil), raw...)
		moved[pos] = 0
		n, err := p.Parse(moved, &req)
		if err != nil || n != len(raw) {
			t.Fatalf("resume after changing byte %d: (%d, %v): the parser rescanned", pos, n, err)
		}
	}
}

// TestParseKnownFields checks that the fields a file server needs are found
// during the parse, in any case, and that Headers keeps every field in order.
func TestParseKnownFields(t *testing.T) {
	raw := "GET /f HTTP/1.1\r\n" +
		"HOST: h\r\n" +
		"if-match: \"a\"\r\n" +
		"If-None-Match: W/\"b\", \"c\"\r\n" +
		"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n" +
		"If-Unmodified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n" +
		"If-Range: \"d\"\r\n" +
		"Range: bytes=0-1\r\n" +
		"Accept-Encoding: gzip, br\r\n" +
		"If-None-Match: \"second\"\r\n" +
		"X-Other: o\r\n\r\n"
	var p Parser
	var req Request
	if _, err := p.Parse([]byte(raw), &req); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"Host": string(req.Host), "If-Match": string(req.IfMatch()), "If-None-Match": string(req.IfNoneMatch()),
		"If-Modified-Since": string(req.IfModifiedSince()), "If-Unmodified-Since": string(req.IfUnmodifiedSince()),
		"If-Range": string(req.IfRange()), "Range": string(req.Range()), "Accept-Encoding": string(req.AcceptEncoding()),
	}
	want := map[string]string{
		"Host": "h", "If-Match": `"a"`, "If-None-Match": `W/"b", "c", "second"`,
		"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT", "If-Unmodified-Since": "Mon, 07 Nov 1994 08:49:37 GMT",
		"If-Range": `"d"`, "Range": "bytes=0-1", "Accept-Encoding": "gzip, br",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(req.Headers) != 10 || string(req.Headers[9].Name) != "X-Other" || string(req.Headers[9].Value) != "o" {
		t.Errorf("Headers = %d fields, last %q: %q", len(req.Headers), req.Headers[len(req.Headers)-1].Name, req.Headers[len(req.Headers)-1].Value)
	}

	// Absent fields are nil; a duplicated Range is ignored.
	raw = "GET / HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n"
	if _, err := p.Parse([]byte(raw), &req); err != nil {
		t.Fatal(err)
	}
	if req.Range() != nil || req.IfMatch() != nil || req.IfNoneMatch() != nil || req.AcceptEncoding() != nil {
		t.Errorf("Range %q IfMatch %q IfNoneMatch %q AcceptEncoding %q, want all nil", req.Range(), req.IfMatch(), req.IfNoneMatch(), req.AcceptEncoding())
	}
}

// TestParseExpectWithBody: a 100-continue request whose body is already
// there is returned whole and keeps the connection.
func TestParseExpectWithBody(t *testing.T) {
	raw := []byte(post("Expect: 100-continue\r\nContent-Length: 3\r\n", "abc"))
	var p Parser
	var req Request
	n, err := p.Parse(raw, &req)
	if err != nil || n != len(raw) || string(req.Body) != "abc" || !req.KeepAlive || !req.Expect100 {
		t.Fatalf("(%d, %v) body %q keep %v expect %v", n, err, req.Body, req.KeepAlive, req.Expect100)
	}
}

// TestParseLimitsDefault: the zero Limits are DefaultLimits.
func TestParseLimitsDefault(t *testing.T) {
	if got, want := (Limits{}).withDefaults(), DefaultLimits(); got != want {
		t.Fatalf("zero Limits = %+v, want %+v", got, want)
	}
	custom := Limits{MaxRequestLine: 1, MaxHeaderBytes: 2, MaxHeaders: 3, MaxBody: 4}
	if got := custom.withDefaults(); got != custom {
		t.Fatalf("custom Limits changed: %+v", got)
	}
}

func TestErrorString(t *testing.T) {
	if got := errLineTooLong.Error(); got != "httpcore: 414 request line too long" {
		t.Fatalf("Error() = %q", got)
	}
}

// TestPlain8 compares the word-at-a-time check with the byte table on every
// byte value in every position, and on random words.
func TestPlain8(t *testing.T) {
	check := func(w [8]byte) {
		want := true
		for _, c := range w {
			if !valueChar[c] || c == '\t' {
				want = false
			}
		}
		if got := plain8(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("plain8(%q) = %v, want %v", w, got, want)
		}
	}
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'a', 0x20, 0x21, 0x80, 0xff, 0x7e} {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				check(w)
			}
		}
	}
	rng := rand.New(rand.NewSource(4))
	for i := 0; i < 1e6; i++ {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		check(w)
	}
}

func TestParseSkipBodies(t *testing.T) {
	cases := []struct {
		in     string
		unread int64
		keep   bool
	}{
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 5, true},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n", 99999999, true}, // over MaxBody: never buffered, so no 413
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -1, false},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 5, false},
		{"POST / HTTP/1.0\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n", 5, true},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", 5, false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, true},
	}
	for _, tc := range cases {
		// Whole, then byte by byte: the head alone completes the request,
		// whatever follows it.
		for _, step := range []int{len(tc.in), 1} {
			var p Parser
			p.SkipBodies = true
			var req Request
			buf := []byte{}
			n, err := 0, ErrNeedMore
			for i := 0; err == ErrNeedMore && i < len(tc.in); i += step {
				buf = append(buf, tc.in[i:min(i+step, len(tc.in))]...)
				n, err = p.Parse(append(buf, "hello"...)[:len(buf)], &req)
			}
			if err != nil || n != len(tc.in) {
				t.Fatalf("%q step %d: n=%d err=%v, want the head (%d)", tc.in, step, n, err, len(tc.in))
			}
			if req.BodyUnread != tc.unread || req.KeepAlive != tc.keep || req.Body != nil {
				t.Fatalf("%q: BodyUnread %d KeepAlive %v Body %q, want %d %v nil", tc.in, req.BodyUnread, req.KeepAlive, req.Body, tc.unread, tc.keep)
			}
		}
	}
}
