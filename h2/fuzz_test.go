package h2

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzFrameHeader checks the frame header codec against x/net's Framer:
// any 9 bytes decode the same way, and what we encode reads back the same.
func FuzzFrameHeader(f *testing.F) {
	f.Add([]byte{0, 0, 8, 6, 1, 0, 0, 0, 0}, uint32(0), uint8(0), uint8(0), uint32(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint32(1<<24-1), uint8(9), uint8(0xff), uint32(1<<32-1))
	f.Add([]byte{0, 0x40, 0, 0, 1, 0x80, 0, 0, 1}, uint32(16384), uint8(1), uint8(5), uint32(3))
	f.Fuzz(func(t *testing.T, b []byte, length uint32, typ, flags uint8, id uint32) {
		if len(b) >= frameHeaderLen {
			h := parseFrameHeader(b)
			xh, err := http2.ReadFrameHeader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if h.Length != xh.Length || uint8(h.Type) != uint8(xh.Type) || h.Flags != uint8(xh.Flags) || h.StreamID != xh.StreamID {
				t.Fatalf("ours %+v, x/net %+v", h, xh)
			}
		}
		length &= 1<<24 - 1
		var enc [frameHeaderLen]byte
		putFrameHeader(enc[:], int(length), FrameType(typ), flags, id)
		h := parseFrameHeader(enc[:])
		if h.Length != length || uint8(h.Type) != typ || h.Flags != flags || h.StreamID != id&maxStreamID {
			t.Fatalf("round trip %+v from %d %d %d %d", h, length, typ, flags, id)
		}
		if p, ok := unpad(flags, b); ok && len(p) > len(b) {
			t.Fatal("unpad grew the payload")
		}
	})
}

// fuzzHost answers odd-numbered requests (by count) from a file and the
// others from memory, and counts the files it hands out.
type fuzzHost struct {
	c     *Conn
	n     int
	files []*fakeFile
}

func (h *fuzzHost) Request(id uint32, req *httpcore.Request) {
	h.n++
	resp := httpcore.Response{Status: 200, Head: []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")}
	if h.n%2 == 1 {
		f := newFile(20000 + h.n)
		h.files = append(h.files, f)
		resp.File, resp.Off, resp.Len = f, 7, int64(len(f.data)-7)
	} else {
		resp.Body = pattern(30000)
	}
	h.c.Respond(id, &resp, req.Method == httpcore.MethodHead, nil)
}

func (h *fuzzHost) Cancel(uint32) {}

// fuzzRun feeds in (cut at cut when 0 < cut < len(in)), flushes everything
// a Sink that drains takes, releases the Conn and returns the output.
func fuzzRun(t *testing.T, in []byte, cut int) ([]byte, error, *fuzzHost) {
	var c Conn
	h := &fuzzHost{c: &c}
	c.Init(&Config{MaxNewStreamsPerFeed: 1 << 20}, h)
	var err error
	if cut > 0 && cut < len(in) {
		err = feedSplit(&c, in, cut)
	} else {
		err = feedSplit(&c, in)
	}
	if err != nil {
		if _, err2 := c.Feed(in[:0]); err2 != err {
			t.Fatalf("error not sticky: %v then %v", err, err2)
		}
	}
	var out memSink
	var all []byte
	for i := 0; ; i++ {
		more := c.Flush(&out, 1<<16)
		all = append(all, out.drain()...)
		if !more {
			break
		}
		if i > 1<<16 {
			t.Fatal("Flush does not finish")
		}
	}
	c.Release()
	return all, err, h
}

// FuzzFeed feeds arbitrary frames after a valid preface. Invariants: no
// panic; the output is valid frames with decodable field blocks; the result
// does not depend on where the input was cut; every file handed to the
// Conn is released exactly once.
func FuzzFeed(f *testing.F) {
	for _, tc := range connCases {
		cl := newClient()
		tc.in(cl)
		f.Add(cl.take(), uint16(5))
	}
	cl := newClient()
	cl.get(1, "/")
	cl.fr.WriteWindowUpdate(0, 1<<20)
	cl.fr.WriteWindowUpdate(1, 1<<20)
	cl.get(3, "/")
	cl.fr.WriteRSTStream(3, http2.ErrCodeCancel)
	f.Add(cl.take(), uint16(40))

	prefix := newClient().preface().take()
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		in := append(append([]byte(nil), prefix...), data...)
		whole, err1, h := fuzzRun(t, in, 0)
		newReader().frames(t, whole)
		for i, file := range h.files {
			if file.releases != 1 {
				t.Fatalf("file %d released %d times", i, file.releases)
			}
		}
		split, err2, _ := fuzzRun(t, in, len(prefix)+int(cut)%(len(data)+1))
		if !bytes.Equal(whole, split) || !errors.Is(err1, err2) && err1 != err2 {
			t.Fatalf("cut changes the result: %v / %v\n%s\n%s", err1, err2,
				summary(newReader().frames(t, whole)), summary(newReader().frames(t, split)))
		}
	})
}

// FuzzEncoder encodes arbitrary response heads, three blocks per input with
// a table size change between them, and decodes them with x/net's decoder:
// every block decodes to the status and the lines' fields (names lowercased,
// connection-specific ones dropped), and the table stays within bounds.
func FuzzEncoder(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: ringhttpd\r\nConnection: close\r\n"), uint16(4096), uint16(0))
	f.Add([]byte("HTTP/1.1 404 Not Found\nX-A:  b \n\r\nafter: blank\r\n"), uint16(100), uint16(4096))
	f.Add([]byte("Vary: Accept-Encoding\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n"), uint16(0), uint16(65535))
	f.Fuzz(func(t *testing.T, head []byte, size1, size2 uint16) {
		var e encoder
		e.reset()
		dec := hpack.NewDecoder(4096, nil)
		for round, size := range []int{-1, -1, -1, int(size1), -1, int(size2), -1} { // repeats: block cache hits
			if size >= 0 {
				e.setPeerMax(uint32(size))
				dec.SetAllowedMaxDynamicTableSize(uint32(min(size, 4096)))
			}
			status, lines := responseText(head, 200)
			b := e.appendBlock(nil, status, lines)
			fs, err := dec.DecodeFull(b)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if len(fs) == 0 || fs[0].Name != ":status" {
				t.Fatalf("round %d: no :status first: %v", round, fs)
			}
			var want []string
			for rest := lines; len(rest) > 0; {
				var line []byte
				line, rest = cutLine(rest)
				if len(line) == 0 {
					break
				}
				k := bytes.IndexByte(line, ':')
				if k <= 0 {
					continue
				}
				name := make([]byte, k) // ASCII lower case only
				for i, c := range line[:k] {
					if 'A' <= c && c <= 'Z' {
						c += 'a' - 'A'
					}
					name[i] = c
				}
				if dropResponseField(name) {
					continue
				}
				want = append(want, string(name)+": "+string(trimOWS(line[k+1:])))
			}
			var got []string
			for _, f := range fs[1:] {
				got = append(got, f.Name+": "+f.Value)
			}
			if len(got) != len(want) {
				t.Fatalf("round %d: %d fields, want %d", round, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("round %d: field %q, want %q", round, got[i], want[i])
				}
			}
			if e.size > e.max || e.max > maxEncTable {
				t.Fatalf("table %d over %d", e.size, e.max)
			}
		}
	})
}
