//go:build linux

package server

// End-to-end attacks on the TLS listener against a child server on each
// engine (harness in attack_util_test.go): what reaches a TLS port before
// or instead of a handshake, handshakes that never end, and slowloris over
// TLS. Each logs one row of the table (go test -run TestAttackTLS -v).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// atHello returns the first record a crypto/tls client with cfg sends: its
// ClientHello.
func atHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	cc, sc := net.Pipe()
	defer sc.Close()
	go func() {
		tls.Client(cc, cfg).Handshake()
		cc.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(sc, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(sc, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// atSSLv3Hello is an SSL 3.0 ClientHello (record and hello version 3.0;
// TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA, no
// compression).
func atSSLv3Hello() []byte {
	var hello []byte
	hello = append(hello, 3, 0)                           // client_version
	hello = append(hello, bytes.Repeat([]byte{7}, 32)...) // random
	hello = append(hello, 0)                              // session id
	hello = append(hello, 0, 4, 0x00, 0x2f, 0x00, 0x0a)
	hello = append(hello, 1, 0) // compression: null
	msg := append([]byte{1, 0, byte(len(hello) >> 8), byte(len(hello))}, hello...)
	return append([]byte{0x16, 3, 0, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// atAlertProtocolVersion is the plaintext protocol_version alert an old
// client gets.
var atAlertProtocolVersion = []byte{0x15, 3, 1, 0, 2, 2, 70}

// TestAttackTLS runs the TLS attacks on each engine.
func TestAttackTLS(t *testing.T) {
	atEngines(t, func(t *testing.T, a *atChild) {
		t.Run("Garbage", func(t *testing.T) { atRefused(t, a, "garbage") })
		t.Run("OldHello", func(t *testing.T) { atRefused(t, a, "old") })
		t.Run("Truncated", func(t *testing.T) { atTruncated(t, a) })
		t.Run("Silent", func(t *testing.T) { atSilent(t, a) })
		t.Run("Slowloris", func(t *testing.T) { atSlowloris(t, a, false) })
		t.Run("SlowlorisH2", func(t *testing.T) { atSlowloris(t, a, true) })
		t.Run("HandshakeFlood", func(t *testing.T) { atHandshakeFlood(t, a) })
	})
}

// atRefused: connections to the TLS port that send what is not a TLS 1.2+
// ClientHello ("garbage": random bytes, an HTTP/1.1 request, an HTTP/2
// preface; "old": SSL 3.0 and TLS 1.0 ClientHellos). Each must be refused
// at once, on the loop (no handshake helper, none started), old clients
// with a protocol_version alert, and cost less than an ordinary
// connection. A unit is a connection.
func atRefused(t *testing.T, a *atChild, kind string) {
	var inputs [][]byte
	if kind == "garbage" {
		junk := make([]byte, 1024)
		rand.Read(junk)
		junk[0] = 0x80 // never a TLS record type
		inputs = [][]byte{junk, []byte(get("/")), []byte(http2.ClientPreface)}
	} else {
		inputs = [][]byte{atSSLv3Hello(), atHello(t, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, InsecureSkipVerify: true})}
	}
	s0 := a.stats(t, false)
	var alerts atomic.Int64
	r := a.run(t, atAttack{
		name: "TLS " + kind, unit: "conns", attackers: 4, client: "h1tls",
		run: func(ctx context.Context, cnt *atCount) {
			for i := 0; ctx.Err() == nil; i++ {
				nc, err := atDial(ctx, cnt, a.tls, nil)
				if err != nil {
					continue
				}
				in := inputs[i%len(inputs)]
				nc.Write(in)
				closed, got := atWaitClosed(nc, 3*time.Second)
				nc.Close()
				switch {
				case !closed:
					cnt.note("%q...: not closed within 3 s", in[:8])
				case kind == "old" && !bytes.Equal(got, atAlertProtocolVersion):
					cnt.note("old hello %x...: answered %x", in[:11], got)
				case kind == "garbage" && len(got) > 7:
					cnt.note("%q...: answered %q", in[:8], got)
				default:
					if len(got) > 0 {
						alerts.Add(1)
					}
					cnt.units.Add(1)
				}
			}
		},
	})
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	s1 := a.stats(t, false)
	if d := s1["hsstarted"] - s0["hsstarted"]; d > 2 { // the ordinary client's
		t.Errorf("%d handshakes went to a helper for %s", d, kind)
	}
	if kind == "old" && alerts.Load() < r.units {
		t.Errorf("%d protocol_version alerts for %d old hellos", alerts.Load(), r.units)
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return b.conn }, "an ordinary h2c connection with a request")
	r.maxPeakGrowth(t, 32<<20)
}

// atTruncated: handshakes cut short by the client: half a ClientHello then
// FIN, and a whole ClientHello then FIN (the handshake runs on a helper,
// then EOF aborts it), from 4 attackers one after the other; half a
// ClientHello then silence (the handshake timeout closes it), 20 at a time
// from 2 more. No helper stays busy, no goroutine is left, and a
// connection costs no more than a handshake. A unit is a connection.
func atTruncated(t *testing.T, a *atChild) {
	hello := atHello(t, atClientTLS(t, "h2", "http/1.1"))
	var role atomic.Int64
	one := func(ctx context.Context, cnt *atCount, variant int) {
		nc, err := atDial(ctx, cnt, a.tls, nil)
		if err != nil {
			return
		}
		t0 := time.Now()
		switch variant {
		case 0:
			nc.Write(hello[:50])
			tcpOf(nc).CloseWrite()
		case 1:
			nc.Write(hello)
			tcpOf(nc).CloseWrite()
		case 2:
			nc.Write(hello[:50])
		}
		closed, _ := atWaitClosed(nc, atHandshakeTimeout+3*time.Second)
		nc.Close()
		if !closed {
			cnt.note("variant %d: not closed after %v", variant, time.Since(t0))
			return
		}
		if variant == 2 {
			cnt.closedAfter(time.Since(t0))
		}
		cnt.units.Add(1)
	}
	r := a.run(t, atAttack{
		name: "TLS truncated", unit: "conns", attackers: 6, client: "h1tls",
		run: func(ctx context.Context, cnt *atCount) {
			if atTicket(&role) < 4 {
				for i := 0; ctx.Err() == nil; i++ {
					one(ctx, cnt, i%2)
				}
				return
			}
			for ctx.Err() == nil {
				var wg sync.WaitGroup
				for range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						one(ctx, cnt, 2)
					}()
				}
				wg.Wait()
			}
		},
	})
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	if ds := atSorted(r.cnt.closeAt); len(ds) > 0 {
		t.Logf("  stalled half hellos closed after %v .. %v (handshake timeout %v)", ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), atHandshakeTimeout)
		if ds[0] < atHandshakeTimeout/2 || ds[len(ds)-1] > atHandshakeTimeout+2*time.Second {
			t.Errorf("stalled half hellos closed after %v .. %v, want about %v", ds[0], ds[len(ds)-1], atHandshakeTimeout)
		}
	}
	if s := a.stats(t, false); s["hsrun"] != 0 || s["hsqueued"] != 0 {
		t.Errorf("after the attack: %d handshakes on helpers, %d queued", s["hsrun"], s["hsqueued"])
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return b.hs }, "an ordinary TLS handshake")
	r.maxPeakGrowth(t, 32<<20)
}

// atSilent: connections to the TLS port that send nothing. The handshake
// timeout closes them; while they wait they cost no helper goroutine (none
// runs before a whole ClientHello) and no goroutine at all. 4 attackers
// hold 50 connections each at a time. A unit is a connection.
func atSilent(t *testing.T, a *atChild) {
	const per = 50
	var maxRun, maxGor atomic.Int64
	var ticks atomic.Int64
	var start time.Time // the attack's first sample (only the sampler goroutine uses it)
	r := a.run(t, atAttack{
		name: "TLS silent", unit: "conns", attackers: 4, client: "h1tls",
		sample: func() bool {
			// While the first 200 are silent: before their timeout,
			// whose timer functions run on goroutines of their own.
			// Wall time, not ticks: a slow (emulated) machine drops
			// ticks, and a sample answered late is not counted.
			if start.IsZero() {
				start = time.Now()
			}
			if ticks.Add(1)%3 != 0 || time.Since(start) > atHandshakeTimeout*6/10 {
				return false
			}
			s, _ := a.statsErr(false)
			if time.Since(start) > atHandshakeTimeout*8/10 {
				return true
			}
			atMax(&maxRun, s["hsrun"]+s["hsqueued"])
			atMax(&maxGor, s["goroutines"])
			return true
		},
		run: func(ctx context.Context, cnt *atCount) {
			for ctx.Err() == nil {
				var wg sync.WaitGroup
				for i := 0; i < per; i++ {
					nc, err := atDial(ctx, cnt, a.tls, nil)
					if err != nil {
						continue
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						t0 := time.Now()
						closed, got := atWaitClosed(nc, atHandshakeTimeout+3*time.Second)
						nc.Close()
						switch {
						case !closed:
							cnt.note("not closed after %v", time.Since(t0))
						case len(got) > 7:
							cnt.note("answered %q", got)
						default:
							cnt.closedAfter(time.Since(t0))
							cnt.units.Add(1)
						}
					}()
				}
				wg.Wait()
			}
		},
	})
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	ds := atSorted(r.cnt.closeAt)
	if len(ds) == 0 {
		t.Fatal("no silent connection closed")
	}
	t.Logf("  closed after %v .. %v (handshake timeout %v); while silent at most %d handshakes on helpers or queued, %d goroutines (%d before)",
		ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), atHandshakeTimeout, maxRun.Load(), maxGor.Load(), r.gor0)
	if ds[0] < atHandshakeTimeout*8/10 || ds[len(ds)-1] > atHandshakeTimeout+2*time.Second {
		t.Errorf("silent connections closed after %v .. %v, want the handshake timeout %v", ds[0], ds[len(ds)-1], atHandshakeTimeout)
	}
	if maxRun.Load() > 0 {
		t.Errorf("%d handshakes on helpers or queued for silent clients", maxRun.Load())
	}
	if maxGor.Load() == 0 {
		t.Error("no goroutine sample taken while the connections were silent")
	}
	if maxGor.Load() > r.gor0+4 {
		t.Errorf("goroutines rose from %d to %d with %d silent connections", r.gor0, maxGor.Load(), 4*per)
	}
	// Few units over a second: the measurement is noisy; an accept, a
	// timer and a close are well within a few ordinary connections.
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return 4 * b.conn }, "4 ordinary h2c connections with a request")
	r.maxPeakGrowth(t, 32<<20)
}

// atSlowloris: TLS connections (handshake done) that send a request one
// byte every 50 ms and never finish it: HTTP/1.1 (ALPN http/1.1), or h2
// (the preface and SETTINGS whole, then a HEADERS frame byte by byte). The
// header timeout (1 s in the child) closes each, HTTP/1.1 with a 408.
// 16 attackers. A unit is a connection; it costs what its handshake does.
func atSlowloris(t *testing.T, a *atChild, h2 bool) {
	name, proto, client := "TLS slowloris h1", "http/1.1", "h1tls"
	if h2 {
		name, proto, client = "TLS slowloris h2", "h2", "h2tls"
	}
	var slow []byte
	if h2 {
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "x"}, {":path", "/mem/10"}, {"x-pad", strings.Repeat("p", 200)}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		var fb bytes.Buffer
		http2.NewFramer(&fb, nil).WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
		slow = fb.Bytes()
	} else {
		slow = []byte("GET /mem/10 HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 200) + "\r\n\r\n")
	}
	var s408 atomic.Int64
	r := a.run(t, atAttack{
		name: name, unit: "conns", attackers: 16, client: client,
		run: func(ctx context.Context, cnt *atCount) {
			for ctx.Err() == nil {
				nc, err := atDial(ctx, cnt, a.tls, atClientTLS(t, proto))
				if err != nil {
					continue
				}
				if h2 {
					var b bytes.Buffer
					b.WriteString(http2.ClientPreface)
					http2.NewFramer(&b, nil).WriteSettings()
					nc.Write(b.Bytes())
				}
				t0 := time.Now()
				done := make(chan []byte, 1)
				go func() {
					_, got := atWaitClosed(nc, atHeaderTimeout+5*time.Second)
					done <- got
				}()
				var got []byte
				closed := false
			send:
				for i := 0; ; i++ {
					select {
					case got = <-done:
						closed = true
						break send
					case <-time.After(50 * time.Millisecond):
					}
					if i < len(slow)-1 { // never the last byte
						nc.Write(slow[i : i+1])
					}
					if time.Since(t0) > atHeaderTimeout+4*time.Second {
						break
					}
				}
				nc.Close()
				if !closed {
					cnt.note("not closed after %v", time.Since(t0))
					continue
				}
				if !h2 && bytes.Contains(got, []byte(" 408 ")) {
					s408.Add(1)
				}
				cnt.closedAfter(time.Since(t0))
				cnt.units.Add(1)
			}
		},
	})
	for _, n := range r.cnt.notes {
		t.Error(n)
	}
	ds := atSorted(r.cnt.closeAt)
	if len(ds) == 0 {
		t.Fatal("no slowloris connection closed")
	}
	t.Logf("  closed after %v .. %v (header timeout %v); %d answered 408", ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), atHeaderTimeout, s408.Load())
	if ds[0] < atHeaderTimeout*8/10 || ds[len(ds)-1] > atHeaderTimeout+2*time.Second {
		t.Errorf("slowloris connections closed after %v .. %v, want the header timeout %v", ds[0], ds[len(ds)-1], atHeaderTimeout)
	}
	if !h2 && s408.Load() < r.units {
		t.Errorf("%d of %d slowloris connections answered 408", s408.Load(), r.units)
	}
	// A handshake, then a TLS record for every byte (20 a second), then
	// the close; few units: a generous bound.
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return 8 * b.hs }, "8 ordinary TLS handshakes")
	r.maxPeakGrowth(t, 32<<20)
}

// atHandshakeFlood: handshakes that occupy helpers (a whole ClientHello,
// then nothing: the helper has sent the server's flight and waits for the
// client's Finished until the handshake timeout), 240 at a time, far more
// than the cap on handshakes in progress (32 in the child) and its queue
// (128), and full handshakes as fast as 4 clients can make them. The cap
// holds (sampled), the excess is refused, and an ordinary client on an
// established connection keeps being served; once the flood ends, new
// handshakes succeed again. A unit is a handshake started.
func atHandshakeFlood(t *testing.T, a *atChild) {
	hello := atHello(t, atClientTLS(t, "h2", "http/1.1"))
	var maxRun, maxQueued, ticks, role, full, refused atomic.Int64
	const stallers, per = 6, 40
	r := a.run(t, atAttack{
		name: "TLS handshake flood", unit: "hs", attackers: stallers + 4, client: "h1tls",
		sample: func() bool {
			if ticks.Add(1)%4 != 0 {
				return false
			}
			s, _ := a.statsErr(false)
			atMax(&maxRun, s["hsrun"])
			atMax(&maxQueued, s["hsqueued"])
			return true
		},
		run: func(ctx context.Context, cnt *atCount) {
			if atTicket(&role) >= stallers {
				// Full handshakes, one after the other.
				cfg := atClientTLS(t, "http/1.1")
				for ctx.Err() == nil {
					nc, err := net.DialTimeout("tcp", a.tls, 5*time.Second)
					if err != nil {
						cnt.dialErrs.Add(1)
						continue
					}
					cnt.conns.Add(1)
					c := tls.Client(nc, cfg)
					c.SetDeadline(time.Now().Add(10 * time.Second))
					if c.Handshake() == nil {
						full.Add(1)
					} else {
						refused.Add(1)
					}
					nc.Close()
					cnt.units.Add(1)
				}
				return
			}
			for ctx.Err() == nil {
				var wg sync.WaitGroup
				for i := 0; i < per; i++ {
					nc, err := atDial(ctx, cnt, a.tls, nil)
					if err != nil {
						continue
					}
					nc.Write(hello)
					cnt.units.Add(1)
					wg.Add(1)
					go func() {
						defer wg.Done()
						atWaitClosed(nc, atHandshakeTimeout+5*time.Second)
						nc.Close()
					}()
				}
				wg.Wait()
			}
		},
	})
	t.Logf("  at most %d handshakes on helpers (cap %d), %d queued (cap %d); full handshakes: %d done, %d refused", maxRun.Load(), atMaxHandshakes, maxQueued.Load(), 4*atMaxHandshakes, full.Load(), refused.Load())
	if maxRun.Load() > atMaxHandshakes || maxQueued.Load() > 4*atMaxHandshakes {
		t.Errorf("handshakes in progress %d (cap %d), queued %d (cap %d)", maxRun.Load(), atMaxHandshakes, maxQueued.Load(), 4*atMaxHandshakes)
	}
	if maxRun.Load() < atMaxHandshakes/2 {
		t.Errorf("the flood never filled the helpers: at most %d in progress", maxRun.Load())
	}
	// After the flood: a new handshake works at once.
	if err := atTLSOnce(a.tls, atClientTLS(t, "http/1.1"), "/mem/10"); err != nil {
		t.Errorf("a new connection after the flood: %v", err)
	}
	if s := a.stats(t, false); s["hsrun"] != 0 || s["hsqueued"] != 0 {
		t.Errorf("after the flood: %d handshakes on helpers, %d queued", s["hsrun"], s["hsqueued"])
	}
	r.maxPerUnit(t, a, func(b atBaseline) time.Duration { return 2 * b.hs }, "2 ordinary TLS handshakes")
	r.maxPeakGrowth(t, 64<<20)
}

// atMax raises m to v.
func atMax(m *atomic.Int64, v int64) {
	for {
		o := m.Load()
		if v <= o || m.CompareAndSwap(o, v) {
			return
		}
	}
}

// atTicket returns 0, 1, 2, ... to successive callers.
func atTicket(n *atomic.Int64) int64 { return n.Add(1) - 1 }
