// Package parse compares HTTP/1.1 request parsers on the same bytes: a
// typical ~500-byte browser GET through httpcore.Parser, net/http's
// http.ReadRequest and fasthttp's RequestHeader.Read and Request.Read.
//
//	cd bench && go test -run '^$' -bench . -benchmem ./parse/
//
// scripts/bench.sh runs it and puts the table in the results.
package parse

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/valyala/fasthttp"
)

// browserGET is what a current browser sends for a stylesheet on a site it
// has visited: 13 header fields, a cookie, validators.
var browserGET = []byte("GET /static/css/site.css?v=20261124 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/css,*/*;q=0.1\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://www.example.com/docs/\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: sid=3f9a1c2e7b; theme=dark\r\n" +
	"Sec-Fetch-Dest: style\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"If-None-Match: \"5f2b-63a1c0e4\"\r\n" +
	"If-Modified-Since: Mon, 23 Nov 2026 10:00:00 GMT\r\n" +
	"\r\n")

func TestMain(m *testing.M) {
	fmt.Printf("input: a %d-byte browser GET with %d header fields, parsed whole from memory each iteration\n",
		len(browserGET), bytes.Count(browserGET, []byte("\r\n"))-2)
	os.Exit(m.Run())
}

// TestParsersAgree checks every parser reads the same method, path and host
// from the input, so the benchmarks compare equal work.
func TestParsersAgree(t *testing.T) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(browserGET)))
	if err != nil {
		t.Fatal(err)
	}
	var fh fasthttp.RequestHeader
	if err := fh.Read(bufio.NewReader(bytes.NewReader(browserGET))); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"net/http method", req.Method, "GET"},
		{"net/http path", req.URL.Path, "/static/css/site.css"},
		{"net/http host", req.Host, "www.example.com"},
		{"net/http cookie", req.Header.Get("Cookie"), "sid=3f9a1c2e7b; theme=dark"},
		{"fasthttp method", string(fh.Method()), "GET"},
		{"fasthttp path", string(fh.RequestURI()), "/static/css/site.css?v=20261124"},
		{"fasthttp host", string(fh.Host()), "www.example.com"},
		{"fasthttp cookie", string(fh.Cookie("sid")), "3f9a1c2e7b"},
	}
	tests = append(tests, httpcoreCases(t)...)
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.Run("httpcore", benchHTTPCore)
	b.Run("net-http-ReadRequest", func(b *testing.B) {
		rd := bytes.NewReader(browserGET)
		br := bufio.NewReader(rd)
		b.SetBytes(int64(len(browserGET)))
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(browserGET)
			br.Reset(rd)
			if _, err := http.ReadRequest(br); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fasthttp-RequestHeader.Read", func(b *testing.B) {
		rd := bytes.NewReader(browserGET)
		br := bufio.NewReader(rd)
		var h fasthttp.RequestHeader
		b.SetBytes(int64(len(browserGET)))
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(browserGET)
			br.Reset(rd)
			h.Reset()
			if err := h.Read(br); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fasthttp-Request.Read", func(b *testing.B) {
		rd := bytes.NewReader(browserGET)
		br := bufio.NewReader(rd)
		var r fasthttp.Request
		b.SetBytes(int64(len(browserGET)))
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(browserGET)
			br.Reset(rd)
			r.Reset()
			if err := r.Read(br); err != nil {
				b.Fatal(err)
			}
		}
	})
}
