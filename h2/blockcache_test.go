package h2

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// fieldsOf decodes block with dec and renders its fields "name: value".
func fieldsOf(t *testing.T, dec *hpack.Decoder, block []byte) string {
	t.Helper()
	fs, err := dec.DecodeFull(block)
	if err != nil {
		t.Fatalf("block %x does not decode: %v", block, err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name+": "+f.Value)
	}
	return strings.Join(out, "\n")
}

// TestBlockCache walks the cache through its cases with one encoder and
// one x/net decoder: a head that changed the table is not cached, the
// same head on the unchanged table is, and is then served from the cache;
// another head misses; an insertion, a peer's table size change and a
// reset invalidate every entry.
func TestBlockCache(t *testing.T) {
	var e encoder
	e.reset()
	dec := hpack.NewDecoder(4096, nil)
	a := []byte("Content-Type: text/html\r\nETag: \"1\"\r\nContent-Length: 3500\r\nServer: ringhttpd\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n")
	wantA := ":status: 200\ncontent-type: text/html\netag: \"1\"\ncontent-length: 3500\nserver: ringhttpd\ndate: Mon, 02 Jan 2006 15:04:05 GMT"
	b := []byte("Content-Type: text/css\r\nServer: ringhttpd\r\n")
	wantB := ":status: 200\ncontent-type: text/css\nserver: ringhttpd"

	step := func(what string, status int, lines []byte, want string, hit bool) []byte {
		t.Helper()
		if got := e.cached(status, lines) != nil && !e.update; got != hit {
			t.Fatalf("%s: cached %v, want %v", what, got, hit)
		}
		blk := e.appendBlock(nil, status, lines)
		if got := fieldsOf(t, dec, blk); got != want {
			t.Fatalf("%s: fields\n%s\nwant\n%s", what, got, want)
		}
		return blk
	}

	// The first block inserts content-type, server and date; etag and
	// content-length go as literals the encoder remembers, and enter the
	// table when sent again.
	first := step("first", 200, a, wantA, false)
	if e.cached(200, a) != nil {
		t.Fatal("a block that changed the table was cached")
	}
	again := step("per-resource fields again", 200, a, wantA, false)
	if e.cached(200, a) != nil {
		t.Fatal("a block that changed the table was cached")
	}
	second := step("second", 200, a, wantA, false) // all references: cached now
	if len(second) != 6 || len(again) >= len(first) {
		t.Fatalf("blocks of %d, %d and %d bytes: want fewer each time, the last all references", len(first), len(again), len(second))
	}
	third := step("hit", 200, a, wantA, true)
	if !bytes.Equal(third, second) {
		t.Fatalf("cached block %x, encoded %x", third, second)
	}
	step("other status", 404, a, strings.Replace(wantA, "200", "404", 1), false)
	step("hit after another status", 200, a, wantA, true)

	// b inserts text/css: every entry is stale.
	step("other head", 200, b, wantB, false)
	step("after an insertion", 200, a, wantA, false)
	step("hit again", 200, a, wantA, true)
	step("other head, no insertion", 200, b, wantB, false)
	step("both cached: a", 200, a, wantA, true)
	step("both cached: b", 200, b, wantB, true)

	// The peer changes SETTINGS_HEADER_TABLE_SIZE: the next block starts
	// with the size update, whatever is cached.
	e.setPeerMax(4096)
	dec.SetAllowedMaxDynamicTableSize(4096)
	if blk := step("size update", 200, a, wantA, false); blk[0]&0xe0 != 0x20 {
		t.Fatalf("block %x does not start with a size update", blk)
	}
	step("after the size update", 200, a, wantA, true)
	e.setPeerMax(0)
	dec.SetAllowedMaxDynamicTableSize(0)
	step("table emptied", 200, a, wantA, false)
	step("empty table", 200, a, wantA, true) // nothing is ever inserted
	e.setPeerMax(4096)
	dec.SetAllowedMaxDynamicTableSize(4096)
	step("table back", 200, a, wantA, false)
	step("refilled", 200, a, wantA, false)
	step("hit on the refilled table", 200, a, wantA, true)

	// A new connection: nothing cached from the old one applies.
	e.reset()
	dec = hpack.NewDecoder(4096, nil)
	step("new connection", 200, a, wantA, false)
}

// TestBlockCacheDifferential feeds the same responses, table size changes
// included, to an encoder with its cache and to one that never hits it
// (its gen moves before every block): the blocks must be the same bytes,
// and decode with x/net's decoder to the fields sent.
func TestBlockCacheDifferential(t *testing.T) {
	var e, ref encoder
	e.reset()
	ref.reset()
	dec := hpack.NewDecoder(4096, nil)
	rng := uint32(7)
	next := func(n uint32) uint32 { rng = rng*1664525 + 1013904223; return (rng >> 8) % n }
	heads := []string{
		"Content-Type: text/html; charset=utf-8\r\nLast-Modified: Mon, 02 Jan 2006 15:04:05 GMT\r\nETag: \"5d4a-1b3c\"\r\nAccept-Ranges: bytes\r\nServer: ringhttpd\r\nContent-Length: 3500\r\n",
		"Content-Type: text/css\r\nETag: \"77\"\r\nServer: ringhttpd\r\nContent-Length: 12\r\nVary: Accept-Encoding\r\n",
		"Content-Type: image/png\r\nCache-Control: max-age=3600\r\nServer: ringhttpd\r\nContent-Length: 99999\r\nConnection: close\r\n",
		"X-Big: " + strings.Repeat("b", 900) + "\r\nServer: ringhttpd\r\n", // a literal: too big for the table
		"X-Evict: " + strings.Repeat("e", 700) + "\r\n",                    // enters the table, evicts others
		"Location: /elsewhere\r\nContent-Length: 0\r\n",
	}
	sizes := []uint32{4096, 0, 200, 4096, 65536, 1000}
	hits := 0
	for i := 0; i < 20000; i++ {
		if next(400) == 0 {
			for k := uint32(0); k <= next(2); k++ {
				v := sizes[next(uint32(len(sizes)))]
				e.setPeerMax(v)
				ref.setPeerMax(v)
				dec.SetAllowedMaxDynamicTableSize(min(v, 4096))
			}
		}
		if next(50) == 0 {
			// Some heads change their evict field: new table entries.
			heads[4] = "X-Evict: " + strings.Repeat("e", 600+int(next(200))) + "\r\n"
		}
		status := []int{200, 200, 200, 304, 404, 301}[next(6)]
		h := heads[next(uint32(len(heads)))]
		lines := []byte(h + "Date: Mon, 02 Jan 2006 15:" + strconv.Itoa(10+i/2000) + ":00 GMT\r\n")
		if e.cached(status, lines) != nil && !e.update {
			hits++
		}
		got := e.appendBlock(nil, status, lines)
		ref.gen++
		want := ref.appendBlock(nil, status, lines)
		if !bytes.Equal(got, want) {
			t.Fatalf("block %d: %x, without the cache %x", i, got, want)
		}
		fs, err := dec.DecodeFull(got)
		if err != nil {
			t.Fatalf("block %d does not decode: %v", i, err)
		}
		if fs[0].Value != strconv.Itoa(status) || len(fs) < 2 || fs[len(fs)-1].Name != "date" {
			t.Fatalf("block %d: fields %v", i, fs)
		}
	}
	if hits < 2000 {
		t.Errorf("%d cache hits in 20000 blocks", hits)
	}
}

// TestBlockCacheAllocs: a cache hit and a cached miss allocate nothing
// once the entries have grown.
func TestBlockCacheAllocs(t *testing.T) {
	var e encoder
	e.reset()
	a := []byte("Content-Type: text/html\r\nServer: ringhttpd\r\nETag: \"1\"\r\n")
	b := []byte("Content-Type: text/html\r\nServer: ringhttpd\r\nETag: \"2\"\r\n")
	dst := make([]byte, 0, 512)
	for i := 0; i < 2*blockCacheLen; i++ {
		dst = e.appendBlock(dst[:0], 200, a)
		dst = e.appendBlock(dst[:0], 200, b)
	}
	if n := testing.AllocsPerRun(1000, func() {
		dst = e.appendBlock(dst[:0], 200, a)
		e.gen++ // every block a miss that is stored
		dst = e.appendBlock(dst[:0], 200, b)
	}); n != 0 {
		t.Errorf("%.1f allocations", n)
	}
}
