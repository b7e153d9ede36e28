package h2

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestRequestFields checks the Request a Host gets: pseudo-header fields
// mapped like httpcore maps a request line, regular fields through
// AddField (lists combined, Range dropped when repeated), cookies joined.
func TestRequestFields(t *testing.T) {
	var c Conn
	var got *httpcore.Request
	var snap struct {
		method                  httpcore.Method
		name, target, path, q   string
		host                    string
		major, minor            uint8
		headers                 []string
		ae, inm, rng, im        string
		keepAlive, queryPresent bool
	}
	h := &testHost{}
	h.respond = func(id uint32, req *httpcore.Request) {
		got = req
		snap.method, snap.name, snap.target = req.Method, string(req.MethodName), string(req.Target)
		snap.path, snap.q, snap.queryPresent = string(req.Path), string(req.Query), req.Query != nil
		snap.host, snap.major, snap.minor = string(req.Host), req.Major, req.Minor
		snap.headers = nil
		for _, f := range req.Headers {
			snap.headers = append(snap.headers, string(f.Name)+": "+string(f.Value))
		}
		snap.ae, snap.inm, snap.rng, snap.im = string(req.AcceptEncoding()), string(req.IfNoneMatch()), string(req.Range()), string(req.IfMatch())
		snap.keepAlive = req.KeepAlive
	}
	c.Init(&Config{}, h)
	cl := newClient().preface()
	cl.headers(1, true, ":method", "GET", ":scheme", "https", ":path", "/p/a%20b?x=1&y", ":authority", "a.example:8443",
		"accept-encoding", "gzip", "cookie", "a=1", "if-none-match", `"x"`, "accept-encoding", "br",
		"cookie", "b=2", "range", "bytes=0-1", "range", "bytes=2-3", "if-match", `"m"`)
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("no request")
	}
	want := []string{"accept-encoding: gzip", "cookie: a=1; b=2", `if-none-match: "x"`, "accept-encoding: br",
		"range: bytes=0-1", "range: bytes=2-3", `if-match: "m"`}
	if strings.Join(snap.headers, "\n") != strings.Join(want, "\n") {
		t.Errorf("headers:\n%s\nwant:\n%s", strings.Join(snap.headers, "\n"), strings.Join(want, "\n"))
	}
	if snap.method != httpcore.MethodGet || snap.name != "GET" || snap.target != "/p/a%20b?x=1&y" ||
		snap.path != "/p/a%20b" || snap.q != "x=1&y" || snap.host != "a.example:8443" || snap.major != 2 ||
		snap.minor != 0 || !snap.keepAlive {
		t.Errorf("request line fields: %+v", snap)
	}
	if snap.ae != "gzip, br" || snap.inm != `"x"` || snap.rng != "" || snap.im != `"m"` {
		t.Errorf("accessors: accept-encoding %q, if-none-match %q, range %q, if-match %q", snap.ae, snap.inm, snap.rng, snap.im)
	}

	// CONNECT: authority-form; Preflight answers it (405).
	cl.headers(3, true, ":method", "CONNECT", ":authority", "b.example:443")
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	if snap.method != httpcore.MethodConnect || snap.target != "b.example:443" || snap.path != "" || snap.host != "b.example:443" {
		t.Errorf("CONNECT: %+v", snap)
	}
	// An unknown method is MethodUnknown (Preflight answers 501).
	cl.headers(5, true, fields(map[string]string{":method": "BREW"})...)
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	if snap.method != httpcore.MethodUnknown || snap.name != "BREW" || snap.queryPresent {
		t.Errorf("BREW: %+v", snap)
	}
}

// appendResponseBlock encodes resp with a fresh encoder (an empty table).
func appendResponseBlock(dst []byte, resp *httpcore.Response, date []byte) []byte {
	var e encoder
	e.reset()
	st, lines := responseText(resp.Head, resp.Status)
	return e.appendBlock(dst, st, append(append([]byte(nil), lines...), date...))
}

// decodeBlock decodes a response field block with x/net's decoder.
func decodeBlock(t *testing.T, b []byte) []string {
	t.Helper()
	fs, err := hpack.NewDecoder(4096, nil).DecodeFull(b)
	if err != nil {
		t.Fatalf("block does not decode: %v", err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name+": "+f.Value)
	}
	return out
}

func TestResponseBlock(t *testing.T) {
	long := strings.Repeat("X-Long", 12) // 72 bytes: longer than the lower-casing buffer
	cases := []struct {
		name   string
		status int
		head   string
		date   string
		want   []string
	}{
		{"status line wins", 500, "HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\n", "",
			[]string{":status: 206", "content-type: text/html"}},
		{"no status line", 404, "Content-Length: 0\r\n", "", []string{":status: 404", "content-length: 0"}},
		{"status outside the static table", 0, "HTTP/1.1 299 X\r\n", "", []string{":status: 299"}},
		{"connection-specific fields dropped", 200,
			"HTTP/1.1 200 OK\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nTE: trailers\r\nVary: Accept-Encoding\r\n",
			"Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n",
			[]string{":status: 200", "vary: Accept-Encoding", "date: Mon, 02 Jan 2006 15:04:05 GMT"}},
		{"names lowercased, unknown and long names", 200,
			"HTTP/1.1 200 OK\r\nX-Content-Type-Options: nosniff\r\n" + long + ": v\r\nETag: \"abc\"\r\nServer:  ringhttpd \r\n", "",
			[]string{":status: 200", "x-content-type-options: nosniff", strings.ToLower(long) + ": v", `etag: "abc"`, "server: ringhttpd"}},
		{"blank line ends the fields", 200, "HTTP/1.1 200 OK\r\nA: 1\r\n\r\nB: 2\r\n", "", []string{":status: 200", "a: 1"}},
		{"bare LF lines", 200, "HTTP/1.1 200 OK\nA: 1\n", "", []string{":status: 200", "a: 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := httpcore.Response{Status: tc.status, Head: []byte(tc.head)}
			b := appendResponseBlock(nil, &resp, []byte(tc.date))
			got := decodeBlock(t, b)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	for _, st := range []int{100, 200, 204, 206, 301, 304, 400, 404, 416, 500, 503, 999} {
		resp := httpcore.Response{Status: st}
		got := decodeBlock(t, appendResponseBlock(nil, &resp, nil))
		if len(got) != 1 || got[0] != ":status: "+strconv.Itoa(st) {
			t.Errorf("status %d: %q", st, got)
		}
	}
}

// TestTableSizeUpdate: after the peer lowers SETTINGS_HEADER_TABLE_SIZE,
// the next field block starts with a dynamic table size update (an
// nghttp2-style decoder requires one).
func TestTableSizeUpdate(t *testing.T) {
	var c Conn
	c.Init(&Config{}, okHost(&c, "x"))
	cl := newClient().preface()
	cl.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
	cl.get(1, "/")
	cl.get(3, "/")
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	var out memSink
	c.Flush(&out, 1<<20)
	fr := http2.NewFramer(nil, bytes.NewReader(out.drain()))
	var blocks [][]byte
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		if h, ok := f.(*http2.HeadersFrame); ok {
			blocks = append(blocks, append([]byte(nil), h.HeaderBlockFragment()...))
		}
	}
	if len(blocks) != 2 || blocks[0][0] != 0x20 || blocks[1][0] == 0x20 {
		t.Fatalf("blocks %x: want a size update to 0 at the start of the first only", blocks)
	}
	dec := hpack.NewDecoder(4096, nil)
	dec.SetAllowedMaxDynamicTableSize(0)
	for _, b := range blocks {
		if _, err := dec.DecodeFull(b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeResponseHead: a field block larger than the peer's frame size
// goes out as HEADERS and CONTINUATION frames.
func TestLargeResponseHead(t *testing.T) {
	var c Conn
	big := strings.Repeat("v", 40000)
	h := &testHost{}
	h.respond = func(id uint32, req *httpcore.Request) {
		resp := httpcore.Response{Status: 200, Head: []byte("HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\n"), Body: []byte("b")}
		c.Respond(id, &resp, false, nil)
	}
	c.Init(&Config{}, h)
	cl := newClient().preface()
	cl.get(1, "/")
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	var out memSink
	c.Flush(&out, 1<<20)
	b := out.drain()
	var types []string
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		if f.Header().Length > 16384 {
			t.Errorf("%v of %d bytes", f.Header().Type, f.Header().Length)
		}
		types = append(types, f.Header().Type.String())
	}
	if got := strings.Join(types, " "); got != "SETTINGS WINDOW_UPDATE SETTINGS HEADERS CONTINUATION CONTINUATION DATA" {
		t.Errorf("frames %s", got)
	}
	fs := newReader().frames(t, b)
	if f := fs[3]; len(f.fields) != 2 || f.fields[1] != "x-big: "+big {
		t.Errorf("large field lost")
	}
}

// BenchmarkResponseBlock compares the encoder with x/net's hpack.Encoder on
// a typical static-file response head.
func BenchmarkResponseBlock(b *testing.B) {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 3500\r\n" +
		"Last-Modified: Mon, 02 Jan 2006 15:04:05 GMT\r\nETag: \"5d4a-1b3c\"\r\nAccept-Ranges: bytes\r\n" +
		"Server: ringhttpd\r\n")
	date := []byte("Date: Tue, 03 Jan 2006 15:04:05 GMT\r\n")
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		var e encoder
		e.reset()
		st, lines := responseText(head, 200)
		text := append(append([]byte(nil), lines...), date...)
		var dst []byte
		for i := 0; i < b.N; i++ {
			dst = e.appendBlock(dst[:0], st, text)
		}
		b.ReportMetric(float64(len(dst)), "bytes/block")
	})
	b.Run("hpack.Encoder", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for i := 0; i < b.N; i++ {
			buf.Reset()
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			lines := append(head[17:len(head):len(head)], date...)
			for len(lines) > 0 {
				var line []byte
				line, lines = cutLine(lines)
				k := bytes.IndexByte(line, ':')
				enc.WriteField(hpack.HeaderField{Name: strings.ToLower(string(line[:k])), Value: string(trimOWS(line[k+1:]))})
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes/block")
	})
}

// TestEncoderTable runs many responses through one encoder and one x/net
// decoder, with the peer's table size changing between blocks: every block
// decodes to its fields, repeated fields shrink to references, and the
// table never outgrows what the peer allows.
func TestEncoderTable(t *testing.T) {
	var e encoder
	e.reset()
	dec := hpack.NewDecoder(4096, nil)
	rng := uint32(1)
	next := func(n uint32) uint32 { rng = rng*1664525 + 1013904223; return (rng >> 8) % n }
	types := []string{"text/html", "text/css", "image/png", "application/javascript; charset=utf-8"}
	sizes := []uint32{4096, 0, 100, 4096, 65536, 300, 4096}
	var first, repeat int
	for i := 0; i < 5000; i++ {
		if i%500 == 499 {
			// The peer changes SETTINGS_HEADER_TABLE_SIZE (sometimes twice
			// between blocks); its decoder allows the new size at once.
			for k := uint32(0); k <= next(2); k++ {
				v := sizes[next(uint32(len(sizes)))]
				e.setPeerMax(v)
				dec.SetAllowedMaxDynamicTableSize(min(v, 4096))
			}
		}
		status := []int{200, 200, 404, 403, 301, 206}[next(6)]
		var want []string
		var text []byte
		add := func(name, value string) {
			text = append(text, name+": "+value+"\r\n"...)
			want = append(want, strings.ToLower(name)+": "+value)
		}
		add("Content-Type", types[next(uint32(len(types)))])
		add("Content-Length", strconv.Itoa(int(next(100000))))
		add("ETag", `"`+strconv.Itoa(int(next(50)))+`"`)
		add("Server", "ringhttpd")
		if next(3) == 0 {
			add("X-Long", strings.Repeat("l", int(next(3000))))
		}
		add("Cache-Control", "max-age="+strconv.Itoa(int(next(5))))
		add("Date", "Mon, 02 Jan 2006 15:04:0"+strconv.Itoa(i/1000%10)+" GMT")
		b := e.appendBlock(nil, status, text)
		fs, err := dec.DecodeFull(b)
		if err != nil {
			t.Fatalf("block %d does not decode: %v", i, err)
		}
		got := []string{}
		for _, f := range fs {
			got = append(got, f.Name+": "+f.Value)
		}
		want = append([]string{":status: " + strconv.Itoa(status)}, want...)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("block %d:\n%s\nwant:\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if e.size > e.max || e.max > 4096 {
			t.Fatalf("table size %d over max %d", e.size, e.max)
		}
		if i == 0 {
			first = len(b)
		}
		if i == 1 {
			for k := 0; k < 2; k++ {
				b2 := e.appendBlock(nil, 200, []byte("Server: ringhttpd\r\nContent-Type: text/html\r\n"))
				repeat = len(b2)
				if _, err := dec.DecodeFull(b2); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if repeat != 3 {
		t.Errorf("a repeated server and content-type took %d bytes (first block %d)", repeat, first)
	}
	if len(e.arena) > 2*maxEncTable+4096 {
		t.Errorf("arena grew to %d", len(e.arena))
	}
}

// TestEncoderPerResourceFields: etag, last-modified and content-length
// enter the table only when the connection sends them a second time. A
// page of assets each asked for once leaves the table with the fields all
// its answers share; a resource asked for again is then indexed, and its
// block shrinks to references from its third answer.
func TestEncoderPerResourceFields(t *testing.T) {
	var e encoder
	e.reset()
	dec := hpack.NewDecoder(4096, nil)
	head := func(i int) []byte {
		return []byte("Content-Type: text/css\r\nContent-Length: " + strconv.Itoa(1000+i) +
			"\r\nETag: \"" + strconv.Itoa(i) + "-a1b2c3\"\r\nLast-Modified: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
			"Server: ringhttpd\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n")
	}
	perResource := func() (n int) {
		for i := e.first; i < len(e.ents); i++ {
			x := e.ents[i]
			switch string(e.arena[x.off : x.off+x.nlen]) {
			case "content-length", "etag", "last-modified":
				n++
			}
		}
		return n
	}
	for i := 0; i < 50; i++ {
		fieldsOf(t, dec, e.appendBlock(nil, 200, head(i)))
	}
	// last-modified is the same on every asset: it repeats, so it is
	// indexed; each asset's own etag and length are not.
	if n := perResource(); n != 1 {
		t.Fatalf("%d per-resource entries after 50 assets asked for once, want 1 (the shared last-modified)", n)
	}
	common := len(e.appendBlock(nil, 200, head(50)))
	var sizes []int
	for k := 0; k < 3; k++ {
		b := e.appendBlock(nil, 200, head(7))
		want := ":status: 200\ncontent-type: text/css\ncontent-length: 1007\netag: \"7-a1b2c3\"\n" +
			"last-modified: Mon, 02 Jan 2006 15:04:05 GMT\nserver: ringhttpd\ndate: Mon, 02 Jan 2006 15:04:05 GMT"
		if got := fieldsOf(t, dec, b); got != want {
			t.Fatalf("answer %d:\n%s\nwant\n%s", k, got, want)
		}
		sizes = append(sizes, len(b))
	}
	// Asset 7 was sent once among the 50 but has left the seen ring since:
	// its second answer is a literal again, its third enters the table.
	if n := perResource(); n != 3 {
		t.Fatalf("%d per-resource entries after asset 7 was asked for 3 more times, want 3", n)
	}
	if sizes[2] != 7 || sizes[0] < common-3 || sizes[1] < common-3 {
		t.Fatalf("asset 7's blocks %v bytes (another asset's %d): want the last all references", sizes, common)
	}
}
