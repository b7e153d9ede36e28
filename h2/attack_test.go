package h2

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// These tests play the attacks of doc.go's "Defenses" against a Conn and
// check that the work it does (Host calls, frames answered), the memory it
// holds and the bytes it queues stay bounded, and that an ordinary client
// doing the same things at a normal rate is served.

// attackRig feeds input in 64 KiB reads, as an engine would, flushing
// after each into a Sink that drains (a reading peer) or never drains.
type attackRig struct {
	c       Conn
	h       *testHost
	out     memSink
	reads   int
	maxCtl  int
	maxBody int64
	drain   bool
}

func newAttack(cfg Config, answer bool) *attackRig {
	r := &attackRig{drain: true}
	if answer {
		r.h = okHost(&r.c, "ok")
	} else {
		r.h = &testHost{}
	}
	r.c.Init(&cfg, r.h)
	return r
}

// run feeds data and returns the Feed error, if any.
func (r *attackRig) run(data []byte) error {
	f := &feeder{c: &r.c}
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		err := f.feed(data[:n])
		data = data[n:]
		r.reads++
		r.maxCtl = max(r.maxCtl, len(r.c.ctl))
		r.maxBody = max(r.maxBody, r.c.bodyBytes)
		r.c.Flush(&r.out, 1<<20)
		if r.drain {
			r.out.drain()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// polite feeds what gen writes for n streams in reads of at most 100 new
// streams, flushing after each: a client that keeps within
// MAX_CONCURRENT_STREAMS because it reads the responses.
func (r *attackRig) polite(n int, gen func(cl *client, i uint32)) error {
	cl := newClient().preface()
	for i := 0; i < n; i++ {
		gen(cl, uint32(i))
		if i%100 == 99 || i == n-1 {
			cl.fr.WriteWindowUpdate(0, 1<<16) // what the responses used, and more
			if err := r.run(cl.take()); err != nil {
				return err
			}
		}
	}
	return nil
}

// goAwayCode returns the code of the GOAWAY in out, or -1.
func goAwayCode(t *testing.T, b []byte) http2.ErrCode {
	for _, f := range newReader().frames(t, b) {
		if f.typ == http2.FrameGoAway {
			return f.code
		}
	}
	return 1<<32 - 1
}

func TestRapidReset(t *testing.T) {
	// HEADERS + RST_STREAM, 20000 times (CVE-2023-44487).
	cl := newClient().preface()
	for i := uint32(0); i < 20000; i++ {
		cl.get(2*i+1, "/")
		cl.fr.WriteRSTStream(2*i+1, http2.ErrCodeCancel)
	}
	r := newAttack(Config{}, true)
	r.drain = false
	err := r.run(cl.take())
	if !errors.Is(err, ErrResetFlood) {
		t.Fatalf("err %v, want %v", err, ErrResetFlood)
	}
	if code := goAwayCode(t, r.out.drain()); code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v", code)
	}
	// Work: one request per budget unit (256), then the connection is gone.
	if n := len(r.h.reqs); n > 2*DefaultMaxConcurrentStreams+1 {
		t.Fatalf("%d requests reached the host", n)
	}
	if len(r.c.streams) != 0 || len(r.c.free) > 2 {
		t.Fatalf("streams %d, pooled %d", len(r.c.streams), len(r.c.free))
	}
	t.Logf("%d requests served before GOAWAY ENHANCE_YOUR_CALM", len(r.h.reqs))

	// An ordinary client cancelling one stream in ten, 20000 streams: served.
	r = newAttack(Config{}, true)
	err = r.polite(20000, func(cl *client, i uint32) {
		cl.get(2*i+1, "/")
		if i%10 == 0 {
			cl.fr.WriteRSTStream(2*i+1, http2.ErrCodeCancel)
		}
	})
	if err != nil {
		t.Fatalf("ordinary client: %v", err)
	}
	if len(r.h.reqs) != 20000 {
		t.Fatalf("ordinary client: %d requests", len(r.h.reqs))
	}
}

func TestNewStreamsPerFeed(t *testing.T) {
	// 150 new streams in one read: 100 served, 50 refused; the next read
	// opens more.
	cl := newClient().preface()
	for i := uint32(0); i < 150; i++ {
		cl.get(2*i+1, "/")
	}
	r := newAttack(Config{MaxConcurrentStreams: 1000, MaxNewStreamsPerFeed: 100}, false)
	r.drain = false
	if err := r.run(cl.take()); err != nil {
		t.Fatal(err)
	}
	if len(r.h.reqs) != 100 {
		t.Fatalf("%d requests, want 100", len(r.h.reqs))
	}
	r.c.Flush(&r.out, 1<<30)
	if n := strings.Count(summary(newReader().frames(t, r.out.drain())), "REFUSED_STREAM"); n != 50 {
		t.Fatalf("%d refused", n)
	}
	cl.get(301, "/")
	if err := r.run(cl.take()); err != nil || len(r.h.reqs) != 101 {
		t.Fatalf("next read: %v, %d requests", err, len(r.h.reqs))
	}
}

func TestMadeYouReset(t *testing.T) {
	// Frames that make the server reset streams (CVE-2025-8671): a zero
	// WINDOW_UPDATE, DATA on a half-closed stream, a malformed request, a
	// window overflow; each reset is charged to the reset budget.
	tricks := []func(cl *client, id uint32){
		func(cl *client, id uint32) { cl.headers(id, false, get...); cl.fr.WriteWindowUpdate(id, 0) },
		func(cl *client, id uint32) { cl.headers(id, true, get...); cl.fr.WriteData(id, true, []byte("x")) },
		func(cl *client, id uint32) { cl.headers(id, true, fields(nil, "Bad", "1")...) },
		func(cl *client, id uint32) { cl.headers(id, false, get...); cl.fr.WriteWindowUpdate(id, 1<<31-1) },
	}
	for i, trick := range tricks {
		cl := newClient().preface()
		for k := uint32(0); k < 5000; k++ {
			trick(cl, 2*k+1)
		}
		r := newAttack(Config{}, false)
		r.drain = false
		err := r.run(cl.take())
		if !errors.Is(err, ErrResetFlood) {
			t.Fatalf("trick %d: err %v", i, err)
		}
		b := r.out.drain()
		resets := strings.Count(summary(newReader().frames(t, b)), "RST ")
		if resets > 2*DefaultMaxConcurrentStreams+1 || goAwayCode(t, b) != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("trick %d: %d resets sent", i, resets)
		}
	}
}

func TestContinuationFlood(t *testing.T) {
	// One field block that never ends (CVE-2024-27316): HEADERS then
	// CONTINUATIONs of valid literal fields, forever.
	cl := newClient().preface()
	first := cl.block(get...)
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true})
	frag := cl.block("x-flood", strings.Repeat("f", 1000))
	for i := 0; i < 10000; i++ {
		cl.fr.WriteContinuation(1, false, frag)
	}
	data := cl.take()
	r := newAttack(Config{}, true)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	err := r.run(data)
	runtime.ReadMemStats(&ms1)
	if !errors.Is(err, ErrHeaderFlood) {
		t.Fatalf("err %v", err)
	}
	// Reads until the error: the block's bound (~77 KiB) over 64 KiB reads.
	if r.reads > 3 {
		t.Fatalf("%d reads of 64 KiB before the GOAWAY", r.reads)
	}
	if len(r.h.reqs) != 0 {
		t.Fatal("request served")
	}
	// The decoded fields stopped counting at 16 KiB: no more memory.
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("%d bytes allocated", alloc)
	}

	// Empty CONTINUATION frames spend the junk budget.
	cl = newClient().preface()
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true})
	for i := 0; i < 100000; i++ {
		cl.fr.WriteContinuation(1, false, nil)
	}
	r = newAttack(Config{}, true)
	if err := r.run(cl.take()); !errors.Is(err, ErrJunkFlood) && !errors.Is(err, ErrHeaderFlood) {
		t.Fatalf("empty CONTINUATIONs: err %v", err)
	}
	if r.reads > 1 {
		t.Fatalf("%d reads", r.reads)
	}
}

func TestHPACKBomb(t *testing.T) {
	// A 4000-byte value enters the dynamic table once, then one block
	// references it 20000 times: 80 MB decoded from 20 KB.
	cl := newClient().preface()
	cl.get(1, "/", "x-bomb", strings.Repeat("b", 4000))
	blk := cl.block(get...)
	for i := 0; i < 20000; i++ {
		blk = append(blk, 0x80|62) // indexed: the newest dynamic entry
	}
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: blk[:16000], EndStream: true})
	cl.fr.WriteContinuation(3, true, blk[16000:])
	cl.get(5, "/after")
	r := newAttack(Config{}, true)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	err := r.run(cl.take())
	runtime.ReadMemStats(&ms1)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("%d bytes allocated", alloc)
	}
	if len(r.h.reqs) != 2 || r.h.reqs[1].path != "/after" {
		t.Fatalf("requests %+v", r.h.reqs)
	}
}

// TestHPACKInSync: blocks the Conn refuses or drops are still decoded, so
// later blocks that reference their dynamic table entries decode right.
func TestHPACKInSync(t *testing.T) {
	r := newAttack(Config{MaxConcurrentStreams: 1, MaxNewStreamsPerFeed: 10, Limits: limits(0, 200, 0)}, false)
	cl := newClient().preface()
	// Stream 1 holds the one slot; 3 and 5 are refused (their fields enter
	// the dynamic table all the same); 1 is reset; 7 is answered 431
	// (emission stops at x-pad, x-big entered the table before).
	cl.headers(1, false, get...)
	cl.headers(3, true, fields(nil, "x-refused", "r1")...)
	cl.headers(5, false, fields(nil, "x-431", strings.Repeat("z", 300))...)
	cl.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	cl.headers(7, true, fields(nil, "x-big", strings.Repeat("y", 120), "x-pad", strings.Repeat("p", 100))...)
	if err := r.run(cl.take()); err != nil { // the 431 goes out, 7 closes
		t.Fatal(err)
	}
	// Stream 9's fields are all references to those entries.
	cl.headers(9, true, fields(nil, "x-refused", "r1", "x-big", strings.Repeat("y", 120))...)
	if err := r.run(cl.take()); err != nil {
		t.Fatal(err)
	}
	if len(r.h.reqs) != 1 {
		t.Fatalf("requests %d", len(r.h.reqs))
	}
	got := strings.Join(r.h.reqs[0].headers, "|")
	if got != "x-refused: r1|x-big: "+strings.Repeat("y", 120) {
		t.Fatalf("stream 9 fields %q", got)
	}
}

func TestControlFrameFlood(t *testing.T) {
	// PINGs from a peer that does not read: the ACKs queue in the Conn up to
	// MaxControlBytes, then GOAWAY ENHANCE_YOUR_CALM.
	cl := newClient().preface()
	for i := 0; i < 100000; i++ {
		cl.fr.WritePing(false, [8]byte{byte(i)})
	}
	r := newAttack(Config{JunkBudget: 1 << 30}, false)
	r.out.pending = 1 << 40 // the Sink is over budget: nothing moves
	r.drain = false
	err := r.run(cl.take())
	if !errors.Is(err, ErrControlFlood) {
		t.Fatalf("err %v", err)
	}
	if r.maxCtl > DefaultMaxControlBytes+64 {
		t.Fatalf("%d control bytes queued", r.maxCtl)
	}

	// SETTINGS the same way.
	cl = newClient().preface()
	for i := 0; i < 100000; i++ {
		cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(i)})
	}
	r = newAttack(Config{JunkBudget: 1 << 30}, false)
	r.out.pending = 1 << 40
	if err := r.run(cl.take()); !errors.Is(err, ErrControlFlood) || r.maxCtl > DefaultMaxControlBytes+64 {
		t.Fatalf("SETTINGS: err %v, %d bytes queued", err, r.maxCtl)
	}
}

func TestJunkFlood(t *testing.T) {
	cases := []struct {
		name string
		junk func(cl *client, i int)
	}{
		{"PING", func(cl *client, i int) { cl.fr.WritePing(false, [8]byte{}) }},
		{"SETTINGS", func(cl *client, i int) { cl.fr.WriteSettings() }},
		{"PRIORITY", func(cl *client, i int) { cl.fr.WritePriority(uint32(2*i+3), http2.PriorityParam{Weight: 1}) }},
		{"unknown type", func(cl *client, i int) { raw(cl, 0x42, 0, 0, nil) }},
		{"empty DATA", func(cl *client, i int) { cl.fr.WriteData(1, false, nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient().preface()
			cl.headers(1, false, fields(map[string]string{":method": "POST"})...)
			for i := 0; i < 100000; i++ {
				tc.junk(cl, i)
			}
			r := newAttack(Config{}, false)
			r.drain = false
			if err := r.run(cl.take()); !errors.Is(err, ErrJunkFlood) {
				t.Fatalf("err %v", err)
			}
			if goAwayCode(t, r.out.drain()) != http2.ErrCodeEnhanceYourCalm {
				t.Fatal("no GOAWAY ENHANCE_YOUR_CALM")
			}
		})
	}
	// An ordinary client: a PING and a SETTINGS with every request, 10000
	// requests.
	r := newAttack(Config{}, true)
	err := r.polite(10000, func(cl *client, i uint32) {
		cl.fr.WritePing(false, [8]byte{})
		cl.fr.WriteSettings()
		cl.get(2*i+1, "/")
	})
	if err != nil || len(r.h.reqs) != 10000 {
		t.Fatalf("ordinary client: %v, %d requests", err, len(r.h.reqs))
	}
}

func TestStreamIDExhaustion(t *testing.T) {
	// 100000 streams one after the other: no state grows with ids.
	r := newAttack(Config{}, true)
	if err := r.polite(100000, func(cl *client, i uint32) { cl.get(2*i+1, "/") }); err != nil {
		t.Fatal(err)
	}
	if len(r.h.reqs) != 100000 || len(r.c.streams) != 0 || len(r.c.free) > DefaultMaxConcurrentStreams {
		t.Fatalf("requests %d, open %d, pooled %d", len(r.h.reqs), len(r.c.streams), len(r.c.free))
	}

	// The last id, with the reserved bit set (ignored), then nothing more.
	r = newAttack(Config{}, true)
	cl := newClient().preface()
	b := cl.block(get...)
	raw(cl, FrameHeaders, flagEndHeaders|flagEndStream, 1<<31|(1<<31-1), b)
	if err := r.run(cl.take()); err != nil || len(r.h.reqs) != 1 || r.h.reqs[0].id != 1<<31-1 {
		t.Fatalf("last id: %v %+v", err, r.h.reqs)
	}
	cl.get(3, "/")
	var ce *Error
	if err := r.run(cl.take()); !errors.As(err, &ce) {
		t.Fatalf("after the last id: %v", err)
	}
}

func TestSlowRead(t *testing.T) {
	// The peer advertises a zero window and requests large bodies: the Conn
	// queues their HEADERS only, holds no copy of any body, and says
	// Stalled.
	body := pattern(1 << 20)
	var c Conn
	h := &testHost{}
	h.respond = func(id uint32, req *httpcore.Request) {
		resp := httpcore.Response{Status: 200, Head: []byte("HTTP/1.1 200 OK\r\n"), Body: body}
		c.Respond(id, &resp, false, nil)
	}
	c.Init(&Config{}, h)
	cl := newClient()
	cl.buf.WriteString(Preface)
	cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	for i := uint32(0); i < 100; i++ {
		cl.get(2*i+1, "/")
	}
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	var out memSink
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	c.Flush(&out, 1<<30)
	runtime.ReadMemStats(&ms1)
	if !c.Stalled() {
		t.Fatal("not Stalled")
	}
	if out.pending > 100*64 || out.refs != 0 {
		t.Fatalf("%d bytes queued, %d body references", out.pending, out.refs)
	}
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 64<<10 {
		t.Fatalf("%d bytes allocated by Flush", alloc)
	}
}

var _ = hpack.HeaderField{}

// TestBudgetRefill: the reset and junk budgets refill with time (Tick), so
// a long-lived connection that completes no stream survives a keep-alive
// PING every 15 s for hours, while floods are still stopped and a
// connection idle for long saves up no more than one budget.
func TestBudgetRefill(t *testing.T) {
	pings := func(r *attackRig, now *time.Duration, n int, step time.Duration) error {
		for i := 0; i < n; i++ {
			*now += step
			r.c.Tick(*now)
			cl := newClient()
			cl.fr.WritePing(false, [8]byte{byte(i)})
			if err := r.run(cl.take()); err != nil {
				return fmt.Errorf("PING %d: %w", i, err)
			}
		}
		return nil
	}
	start := func(cfg Config) (*attackRig, *time.Duration) {
		r := newAttack(cfg, true)
		now := 1000 * time.Hour // any origin
		r.c.Tick(now)
		if err := r.run(newClient().preface().take()); err != nil {
			t.Fatal(err)
		}
		return r, &now
	}

	// A keep-alive PING every 15 s for 24 hours: 5760 PINGs, no GOAWAY.
	r, now := start(Config{})
	if err := pings(r, now, 24*3600/15, 15*time.Second); err != nil {
		t.Fatalf("keep-alive: %v", err)
	}
	// Without time, the same client is stopped by its 1001st PING.
	r = newAttack(Config{}, true)
	r.run(newClient().preface().take())
	var never time.Duration
	if err := pings(r, &never, 2000, 0); !errors.Is(err, ErrJunkFlood) || !strings.Contains(err.Error(), "PING 1000:") {
		t.Fatalf("no time: %v", err)
	}

	// A flood of 1000 PINGs a second (the budget refills 1000 a minute):
	// stopped in about a second, after 1000 + 1000/60 of them.
	r, now = start(Config{})
	if err := pings(r, now, 5000, time.Millisecond); !errors.Is(err, ErrJunkFlood) || !strings.Contains(err.Error(), "PING 1016:") {
		t.Fatalf("flood: %v", err)
	}

	// An hour idle saves up one budget, no more: 1000 PINGs at once pass,
	// the 1001st does not.
	r, now = start(Config{})
	*now += time.Hour
	if err := pings(r, now, 1000, 0); err != nil {
		t.Fatalf("after an hour: %v", err)
	}
	if err := pings(r, now, 1, 0); !errors.Is(err, ErrJunkFlood) {
		t.Fatalf("after an hour, one more: %v", err)
	}

	// A small budget refills too, a unit at a time: 10 per minute is one
	// every 6 s, whatever the Tick steps.
	r, now = start(Config{JunkBudget: 10})
	if err := pings(r, now, 10, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 11; i++ { // 5.5 s in half seconds
		*now += 500 * time.Millisecond
		r.c.Tick(*now)
	}
	if r.c.junk != 0 {
		t.Fatalf("after 5.5 s: junk budget %d, want 0", r.c.junk)
	}
	if err := pings(r, now, 1, 500*time.Millisecond); err != nil {
		t.Fatalf("after 6 s: %v", err)
	}
	if err := pings(r, now, 1, 0); !errors.Is(err, ErrJunkFlood) {
		t.Fatalf("after 6 s, a second: %v", err)
	}

	// The reset budget: 256 streams cancelled, a minute, 256 more; then
	// the next one without time is one too many.
	r, now = start(Config{})
	id := uint32(1)
	cancel := func(n int) error {
		cl := newClient()
		for i := 0; i < n; i++ {
			cl.get(id, "/")
			cl.fr.WriteRSTStream(id, http2.ErrCodeCancel)
			id += 2
		}
		return r.run(cl.take())
	}
	// Each stream is answered during Feed, its RST_STREAM comes before
	// the answer is flushed: a reset of a live stream.
	if err := cancel(2 * DefaultMaxConcurrentStreams); err != nil {
		t.Fatal(err)
	}
	*now += time.Minute
	r.c.Tick(*now)
	if err := cancel(2 * DefaultMaxConcurrentStreams); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	if err := cancel(1); !errors.Is(err, ErrResetFlood) {
		t.Fatalf("one more: %v", err)
	}
}
