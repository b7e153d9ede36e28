package h2

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func TestTableNeutral(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{[]byte{0x82}, true},
		{[]byte{0x82, 0x87, 0x84, 0xbe}, true},
		{[]byte{0xff, 0x00}, true},                                        // index 127
		{[]byte{0xff, 0x80, 0x01, 0x82}, true},                            // index 255, then 2
		{[]byte{0x82, 0x04, 0x01, '/'}, true},                             // literal without indexing, indexed name
		{[]byte{0x14, 0x81, 0x63, 0x82}, true},                            // never indexed, Huffman value
		{[]byte{0x00, 0x01, 'a', 0x01, 'b', 0x10, 0x01, 'c', 0x00}, true}, // literal names
		{[]byte{0x0f, 0x10, 0x00}, true},                                  // name index 31
		{[]byte{0xff}, false},                                             // integer cut short
		{[]byte{0x82, 0xff, 0x80}, false},                                 // integer cut short
		{[]byte{0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, false},         // integer too long
		{[]byte{0x0f}, false},                                             // name index cut short
		{[]byte{0x04, 0x05, '/'}, false},                                  // value cut short
		{[]byte{0x04}, false},                                             // value missing
		{[]byte{0x00, 0x01}, false},                                       // name cut short
		{[]byte{0x00, 0x01, 'a'}, false},                                  // value missing
		{[]byte{0x82, 0x41, 0x01, 'a'}, false},                            // literal with incremental indexing
		{[]byte{0x40, 0x01, 'a', 0x01, 'b'}, false},                       // the same, literal name
		{[]byte{0x3f, 0xe1, 0x1f, 0x82}, false},                           // size update
		{[]byte{0x82, 0x20}, false},                                       // size update after a field
	} {
		if got := tableNeutral(tc.b); got != tc.want {
			t.Errorf("%x: %v, want %v", tc.b, got, tc.want)
		}
	}
}

// TestRequestBlockCache sends the same block of indexed fields (GET https
// / and dynamic entry 62), and one with a literal :path, while the client's
// table changes under them: each request must carry what entry 62 holds at
// the time, whether the block came from the cache or not; a block split into CONTINUATION decodes as usual;
// and once a size update emptied the table, the same bytes are a
// compression error, not a cached request. Fed whole, byte by byte and at
// every split.
func TestRequestBlockCache(t *testing.T) {
	raw := []byte{0x82, 0x87, 0x84, 0xbe}
	in := func() []byte {
		cl := newClient().preface()
		hdr := func(id uint32, blk []byte) {
			cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true})
		}
		cl.headers(1, true, ":method", "GET", ":scheme", "https", ":path", "/", "x-a", "1") // 62: x-a: 1
		hdr(3, raw)                                                                         // stored
		hdr(5, raw)                                                                         // from the cache
		cl.headers(7, true, ":method", "GET", ":scheme", "https", ":path", "/", "x-a", "2") // 62: x-a: 2
		hdr(9, raw)
		hdr(11, raw)
		lit := []byte{0x82, 0x87, 0x04, 0x02, '/', 'x', 0xbe} // :path /x without indexing, as nghttp2 sends it
		hdr(13, lit)
		hdr(15, lit)
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 17, BlockFragment: raw[:2], EndStream: true})
		cl.fr.WriteContinuation(17, true, raw[2:])
		hdr(19, raw)
		hdr(21, append([]byte{0x3f, 0xe1, 0x1f}, raw...)) // a size update to the same size: no change
		hdr(23, raw)
		hdr(25, []byte{0x20, 0x3f, 0xe1, 0x1f, 0x82, 0x87, 0x84}) // size 0 then back: an empty table
		hdr(27, raw)                                              // index 62 is gone
		return cl.take()
	}()
	want := "1 / x-a: 1|3 / x-a: 1|5 / x-a: 1|7 / x-a: 2|9 / x-a: 2|11 / x-a: 2|13 /x x-a: 2|15 /x x-a: 2|" +
		"17 / x-a: 2|19 / x-a: 2|21 / x-a: 2|23 / x-a: 2|25 / "
	run := func(mode string, feed func(*Conn, []byte) error) {
		t.Helper()
		var c Conn
		h := okHost(&c, "ok")
		c.Init(&Config{}, h)
		err := feed(&c, in)
		var reqs []string
		for _, r := range h.reqs {
			reqs = append(reqs, strconv.Itoa(int(r.id))+" "+r.path+" "+strings.Join(r.headers, ","))
		}
		if got := strings.Join(reqs, "|"); got != want {
			t.Fatalf("%s: requests\n%s\nwant\n%s", mode, got, want)
		}
		if !errors.Is(err, ErrCompression) {
			t.Fatalf("%s: err %v, want %v", mode, err, ErrCompression)
		}
	}
	run("whole", func(c *Conn, b []byte) error { return feedSplit(c, b) })
	run("byte by byte", feedBytes)
	for cut := 1; cut < len(in); cut++ {
		run("split at "+strconv.Itoa(cut), func(c *Conn, b []byte) error { return feedSplit(c, b, cut) })
	}
}

// TestRequestBlockCacheDifferential sends random requests from a small pool
// of fields through x/net's encoder (which indexes them, so most blocks end
// up all references), with table size changes and evictions, to a
// connection with the cache and to one whose cache never hits (its table
// generation moves before every frame): both must see the requests sent.
func TestRequestBlockCacheDifferential(t *testing.T) {
	var a, b Conn
	ha, hb := okHost(&a, "ok"), okHost(&b, "ok")
	a.Init(&Config{}, ha)
	b.Init(&Config{}, hb)
	cl := newClient().preface()
	pre := cl.take()
	if err := feedSplit(&a, pre); err != nil {
		t.Fatal(err)
	}
	if err := feedSplit(&b, pre); err != nil {
		t.Fatal(err)
	}
	rng := uint32(3)
	next := func(n uint32) uint32 { rng = rng*1664525 + 1013904223; return (rng >> 8) % n }
	paths := []string{"/", "/a.css", "/b.js", "/img/c.png"}
	agents := []string{"curl/8", "h2load nghttp2/1.52", "Mozilla/5.0 " + strings.Repeat("x", 300)}
	var want []string
	hits := 0
	var kv []string
	var out memSink
	for i := 0; i < 3000; i++ {
		id := uint32(2*i + 1)
		if next(200) == 0 {
			cl.enc.SetMaxDynamicTableSizeLimit(4096)
			cl.enc.SetMaxDynamicTableSize([]uint32{0, 256, 4096, 1024}[next(4)])
		}
		if next(2) == 0 || kv == nil { // else the previous request again
			kv = []string{":method", "GET", ":scheme", "https", ":path", paths[next(uint32(len(paths)))], ":authority", "example.com",
				"user-agent", agents[next(uint32(len(agents)))]}
			if next(4) == 0 {
				kv = append(kv, "x-n", strconv.Itoa(int(next(20))))
			}
		}
		var w []string
		for k := 8; k < len(kv); k += 2 {
			w = append(w, kv[k]+": "+kv[k+1])
		}
		want = append(want, kv[5]+" "+strings.Join(w, ","))
		// Half the time :path goes as a never-indexed literal (nghttp2
		// sends it without indexing): the block still leaves the table alone.
		cl.hb.Reset()
		lit := next(2) == 0
		for k := 0; k < len(kv); k += 2 {
			cl.enc.WriteField(hpack.HeaderField{Name: kv[k], Value: kv[k+1], Sensitive: lit && kv[k] == ":path"})
		}
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: cl.hb.Bytes(), EndStream: true, EndHeaders: true})
		frame := cl.take()
		if blk := frame[frameHeaderLen:]; a.rq.ok && a.rq.at == a.rq.gen && string(a.rq.block) == string(blk) {
			hits++
		}
		if _, err := a.Feed(frame); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b.rq.gen++
		if _, err := b.Feed(frame); err != nil {
			t.Fatalf("request %d without the cache: %v", i, err)
		}
		a.Flush(&out, 1<<30)
		b.Flush(&out, 1<<30)
		out.drain()
	}
	render := func(h *testHost) string {
		var s []string
		for _, r := range h.reqs {
			s = append(s, r.path+" "+strings.Join(r.headers, ","))
		}
		return strings.Join(s, "\n")
	}
	if got := render(ha); got != strings.Join(want, "\n") {
		t.Errorf("with the cache: requests differ from those sent")
	}
	if got := render(hb); got != strings.Join(want, "\n") {
		t.Errorf("without the cache: requests differ from those sent")
	}
	if hits < 500 {
		t.Errorf("%d cache hits in 3000 requests", hits)
	}
}

// TestRequestBlockCacheChecked: a replayed request block skips the byte
// checks only once the same block passed them. Blocks that leave the table
// alone but fail checkRequest (a :path without its slash) or AddField (two
// Authorization fields) are refused every time they are sent, and the cache
// never marks them checked; a good one is served every time, and is marked
// checked once it passed (its replays skip the checks).
func TestRequestBlockCacheChecked(t *testing.T) {
	lit := func(name, value string) []byte { // literal without indexing, literal name
		return append(append(append([]byte{0x00, byte(len(name))}, name...), byte(len(value))), value...)
	}
	get := []byte{0x82, 0x87} // :method GET, :scheme https
	badPath := append(append([]byte{}, get...), lit(":path", "x")...)
	twoAuth := append(append(append(append([]byte{}, get...), 0x84), lit("authorization", "a")...), lit("authorization", "a")...)
	good := append(append(append([]byte{}, get...), 0x84), lit("x-a", "1")...)

	var c Conn
	h := okHost(&c, "ok")
	c.Init(&Config{}, h)
	cl := newClient().preface()
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	var out memSink
	rd := newReader()
	id := uint32(1)
	send := func(blk []byte) (string, bool) {
		t.Helper()
		cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true})
		id += 2
		if _, err := c.Feed(cl.take()); err != nil {
			t.Fatal(err)
		}
		if !c.rq.ok || string(c.rq.block) != string(blk) {
			t.Fatalf("block %x is not the cached one: its replays would not test the cache", blk)
		}
		checked := c.rq.checked
		c.Flush(&out, 1<<30)
		return strings.TrimSpace(summary(rd.frames(t, out.drain()))), checked
	}
	for _, bad := range []struct {
		name string
		blk  []byte
	}{{"path", badPath}, {"authorization", twoAuth}} {
		for k := 0; k < 3; k++ {
			got, checked := send(bad.blk)
			if want := "RST " + strconv.Itoa(int(id-2)) + " PROTOCOL_ERROR"; !strings.HasSuffix(got, want) || checked {
				t.Fatalf("bad %s, %d: %q (checked %v), want %q and never checked", bad.name, k, got, checked, want)
			}
		}
	}
	n := len(h.reqs)
	for k := 0; k < 3; k++ {
		got, checked := send(good)
		if !strings.Contains(got, "HEADERS "+strconv.Itoa(int(id-2))+" 200") || !checked {
			t.Fatalf("good block, %d: %q, checked %v", k, got, checked)
		}
	}
	if len(h.reqs) != n+3 || n != 0 {
		t.Fatalf("%d requests reached the host after the bad blocks, %d in all: want 0 and 3", n, len(h.reqs))
	}
	for _, r := range h.reqs {
		if r.path != "/" || strings.Join(r.headers, ",") != "x-a: 1" {
			t.Fatalf("request %s %v", r.path, r.headers)
		}
	}
}
