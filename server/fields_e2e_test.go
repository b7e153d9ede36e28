//go:build linux

package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// listHandler answers /list/NAME with the elements of the request's list
// field NAME joined by "|", and "lines=N" for /field/NAME: what a handler
// sees of a field, whatever the engine.
func listHandler(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	p := string(req.Path)
	var body string
	switch {
	case strings.HasPrefix(p, "/list/"):
		var elems []string
		for l := req.List(p[6:]); ; {
			e, ok := l.Next()
			if !ok {
				break
			}
			elems = append(elems, string(e))
		}
		body = strings.Join(elems, "|")
	case strings.HasPrefix(p, "/field/"):
		v, n := req.Field(p[7:])
		body = string(v) + " lines=" + string(rune('0'+n))
	default:
		httpcore.WriteError(resp, 404)
		return nil
	}
	resp.Status = 200
	resp.Head = httpcore.AppendStatusLine(resp.Head, 200)
	resp.Head = httpcore.AppendContentLength(resp.Head, int64(len(body)))
	resp.Body = []byte(body)
	return nil
}

// TestE2EFieldLists: a list-based field sent on several lines is one list,
// on both engines (issue 18): for the files handler (Accept-Encoding,
// If-Match, If-None-Match), for the server's own framing (Connection,
// Expect, Transfer-Encoding) and for any field a handler reads with List;
// and the singleton rules of httpcore's field table.
func TestE2EFieldLists(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		for name, body := range map[string]string{"a.txt": "plain text\n", "a.txt.gz": "GZBYTES", "d.txt": "0123456789"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fh, err := files.New(files.Config{Root: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		fs := startServer(t, backend, fh, nil)
		ls := startServer(t, backend, httpcore.HandlerFunc(listHandler), nil)

		// The file's ETag, from a plain GET.
		c := dialRaw(t, fs)
		c.send(t, get("/a.txt"))
		resp, _ := c.response(t, "GET")
		etag := resp.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}

		type want struct {
			status int
			body   string
			hdr    map[string]string
			closes bool
		}
		for _, tc := range []struct {
			name   string
			srv    *Server
			raw    string // a whole request head (and body)
			method string
			want   want
		}{
			// files: Accept-Encoding.
			{name: "accept-encoding one line", srv: fs, raw: "GET /a.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity, gzip\r\n\r\n",
				want: want{200, "GZBYTES", map[string]string{"Content-Encoding": "gzip"}, false}},
			{name: "accept-encoding two lines", srv: fs, raw: "GET /a.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\nAccept-Encoding: gzip\r\n\r\n",
				want: want{200, "GZBYTES", map[string]string{"Content-Encoding": "gzip"}, false}},
			{name: "accept-encoding empty elements, fields between", srv: fs, raw: "GET /a.txt HTTP/1.1\r\nAccept-Encoding: ,\r\nHost: t\r\nAccept-Encoding:\r\nUser-Agent: x\r\nAccept-Encoding: , gzip ,,\r\n\r\n",
				want: want{200, "GZBYTES", map[string]string{"Content-Encoding": "gzip"}, false}},
			{name: "accept-encoding refused on a later line", srv: fs, raw: "GET /a.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\nX: y\r\nAccept-Encoding: gzip;q=0\r\n\r\n",
				want: want{200, "plain text\n", map[string]string{"Content-Encoding": ""}, false}},

			// files: If-Match and If-None-Match.
			{name: "if-match star on a second line", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nIf-Match: \"zzz\"\r\nIf-Match: *\r\n\r\n",
				want: want{200, "0123456789", nil, false}},
			{name: "if-match one line", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nIf-Match: \"zzz\", *\r\n\r\n",
				want: want{200, "0123456789", nil, false}},
			{name: "if-match lines all mismatch", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nIf-Match: \"zzz\",\r\nX: y\r\nIf-Match: , \"yyy\"\r\n\r\n",
				want: want{412, "", nil, false}},
			{name: "if-none-match on a third line", srv: fs, raw: "GET /a.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"x\"\r\nIf-None-Match:\r\nX: y\r\nIf-None-Match: ," + etag + "\r\n\r\n",
				want: want{304, "", nil, false}},

			// files: singletons.
			{name: "range twice ignored", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-1\r\nRange: bytes=0-1\r\n\r\n",
				want: want{200, "0123456789", nil, false}},
			{name: "if-range twice ignores the range", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-1\r\nIf-Range: " + etag + "\r\nIf-Range: " + etag + "\r\n\r\n",
				want: want{200, "0123456789", nil, false}},
			{name: "if-modified-since twice ignored", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n\r\n",
				want: want{200, "0123456789", nil, false}},
			{name: "host twice", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nX: y\r\nHost: t\r\n\r\n",
				want: want{400, "", nil, true}},
			{name: "authorization twice", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YTpi\r\nAuthorization: Basic YTpi\r\n\r\n",
				want: want{400, "", nil, true}},

			// The server's framing.
			{name: "connection close on a later line", srv: fs, raw: "GET /d.txt HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\nX: y\r\nConnection: ,, close\r\n\r\n",
				want: want{200, "0123456789", nil, true}},
			{name: "http/1.0 keep-alive on a later line", srv: fs, raw: "GET /d.txt HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive,\r\n\r\n",
				want: want{200, "0123456789", map[string]string{"Connection": "keep-alive"}, false}},
			{name: "expect 100-continue on a later line", srv: fs, method: "POST", raw: "POST /d.txt HTTP/1.1\r\nHost: t\r\nExpect: foo\r\nContent-Length: 5\r\nExpect: ,100-continue\r\n\r\n",
				want: want{405, "", nil, true}},
			{name: "transfer-encoding chunked not last across lines", srv: fs, method: "POST", raw: "POST /d.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nX: y\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
				want: want{400, "", nil, true}},
			{name: "transfer-encoding unknown coding on an earlier line", srv: fs, method: "POST", raw: "POST /d.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
				want: want{501, "", nil, true}},

			// Any list field a handler reads.
			{name: "te", srv: ls, raw: "GET /list/te HTTP/1.1\r\nHost: t\r\nTE: trailers,\r\nX: y\r\nte: , deflate;q=0.5\r\n\r\n",
				want: want{200, "trailers|deflate;q=0.5", nil, false}},
			{name: "cache-control", srv: ls, raw: "GET /list/Cache-Control HTTP/1.1\r\nHost: t\r\nCache-Control: no-cache\r\nCache-Control: private=\"a, b\", max-age=0\r\n\r\n",
				want: want{200, "no-cache|private=\"a, b\"|max-age=0", nil, false}},
			{name: "upgrade", srv: ls, raw: "GET /list/upgrade HTTP/1.1\r\nHost: t\r\nUpgrade: ,\r\nUpgrade: h2c\r\nUpgrade: websocket,,\r\n\r\n",
				want: want{200, "h2c|websocket", nil, false}},
			{name: "connection", srv: ls, raw: "GET /list/connection HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\nConnection: ,x-a\r\n\r\n",
				want: want{200, "keep-alive|x-a", nil, false}},
			{name: "if-match elements", srv: ls, raw: "GET /list/if-match HTTP/1.1\r\nHost: t\r\nIf-Match: \"a,b\"\r\nIf-Match: W/\"c\", *\r\n\r\n",
				want: want{200, "\"a,b\"|W/\"c\"|*", nil, false}},
			{name: "one line", srv: ls, raw: "GET /list/accept-encoding HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, br\r\n\r\n",
				want: want{200, "gzip|br", nil, false}},
			{name: "field lines", srv: ls, raw: "GET /field/x-single HTTP/1.1\r\nHost: t\r\nX-Single: a\r\nX-Single: b\r\n\r\n",
				want: want{200, "a lines=2", nil, false}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				method := tc.method
				if method == "" {
					method = "GET"
				}
				c := dialRaw(t, tc.srv)
				c.send(t, tc.raw)
				resp, body := c.response(t, method)
				if resp.StatusCode != tc.want.status {
					t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.want.status, body)
				}
				if tc.want.status < 400 && string(body) != tc.want.body {
					t.Fatalf("body %q, want %q", body, tc.want.body)
				}
				for k, v := range tc.want.hdr {
					if got := resp.Header.Get(k); got != v {
						t.Fatalf("%s: %q, want %q", k, got, v)
					}
				}
				if tc.want.closes {
					c.expectEOF(t, 2*time.Second)
					return
				}
				// The connection goes on: a second request on it is served.
				c.send(t, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
				if resp, _ := c.response(t, "GET"); resp.StatusCode != http.StatusNotFound {
					t.Fatalf("next request: %d", resp.StatusCode)
				}
			})
		}
	})
}
