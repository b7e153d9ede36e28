package tlsrec

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Session is the outcome of a handshake: what was negotiated and the
// traffic keys of both directions, ready for the record layer (Conn.Init)
// or kernel TLS.
type Session struct {
	Version     uint16 // tls.VersionTLS12 or tls.VersionTLS13
	CipherSuite uint16 // a tls.TLS_* suite id
	ALPN        string // negotiated protocol ("" when none)
	ServerName  string // SNI sent by the client ("" when none)
	Resumed     bool   // the handshake resumed an earlier session

	// Read protects client-to-server records, Write server-to-client ones;
	// each Seq is the number of the next record after the handshake.
	Read, Write Keys

	// Leftover holds the bytes received after the client's last handshake
	// record (often the first request, sent with the client's Finished):
	// whole or partial records for the record layer.
	Leftover []byte
}

// Errors of the handshake driver; crypto/tls's own failures come wrapped
// ("tlsrec: handshake: ...").
var (
	ErrTimeout    = errors.New("tlsrec: handshake timed out")
	ErrAborted    = errors.New("tlsrec: handshake aborted")
	ErrNotTLS     = errors.New("tlsrec: not a TLS handshake")
	ErrOldVersion = errors.New("tlsrec: client offers no TLS version above 1.1")
	ErrBusy       = errors.New("tlsrec: too many handshakes waiting")
	ErrStalled    = errors.New("tlsrec: handshake stalled while others waited for a helper")
	ErrInputLimit = errors.New("tlsrec: too much input during the handshake")
	ErrKeyCapture = errors.New("tlsrec: traffic keys not captured")
)

// Handshaker defaults.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxInProgress    = 1024
	DefaultStallEvict       = time.Second
	// maxHandshakeInput bounds what a connection may send before its
	// handshake ends (ClientHello, Finished, and what follows them).
	maxHandshakeInput = 256 << 10
)

// HandshakerOptions tune a Handshaker; zero fields take the defaults.
type HandshakerOptions struct {
	// Timeout bounds a handshake from Start to its end (default 10 s).
	Timeout time.Duration
	// MaxInProgress caps the handshakes running on helper goroutines at
	// once (default 1024); more wait in a queue, in order.
	MaxInProgress int
	// MaxQueued caps the queue (default 4 x MaxInProgress); beyond it a
	// handshake fails at once with ErrBusy.
	MaxQueued int
	// StallEvict: while handshakes wait for a helper, a running one whose
	// client has not sent its next record for this long is ended with
	// ErrStalled, longest waiting first, and its helper takes the queue
	// (default 1 s; negative: never). A real client answers the server's
	// flight within a round trip; one that does not would otherwise hold
	// its helper until Timeout while real clients wait behind it.
	StallEvict time.Duration
}

// Handshaker runs crypto/tls server handshakes for the engines' loops on a
// bounded set of helper goroutines. One Handshaker serves the whole server
// (every worker): session tickets it issues resume only on it.
//
// A handshake costs no goroutine until the client's first record is whole
// and looks like a ClientHello of TLS 1.2 or later; garbage and old clients
// are refused on the caller's goroutine in Feed, in microseconds.
type Handshaker struct {
	cfg     *tls.Config
	timeout time.Duration
	max     int
	maxQ    int
	stall   time.Duration // StallEvict; <= 0: never

	mu      sync.Mutex
	running int
	queue   []*Handshake
	onHelp  []*Handshake // the handshakes helpers run now (stall eviction)
	reaping bool         // a reap is scheduled

	started, failed, done, evicted atomic.Uint64
}

// NewHandshaker returns a driver for handshakes with cfg (normally from
// ServerConfig). It uses a clone of cfg whose GetConfigForClient gives each
// handshake its own key log; a GetConfigForClient already in cfg is called
// first and its result used the same way.
func NewHandshaker(cfg *tls.Config, opt HandshakerOptions) *Handshaker {
	d := &Handshaker{timeout: opt.Timeout, max: opt.MaxInProgress, maxQ: opt.MaxQueued, stall: opt.StallEvict}
	if d.stall == 0 {
		d.stall = DefaultStallEvict
	}
	if d.timeout <= 0 {
		d.timeout = DefaultHandshakeTimeout
	}
	if d.max <= 0 {
		d.max = DefaultMaxInProgress
	}
	if d.maxQ <= 0 {
		d.maxQ = 4 * d.max
	}
	base := cfg.Clone()
	user := base.GetConfigForClient
	base.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base
		if user != nil {
			uc, err := user(hi)
			if err != nil {
				return nil, err
			}
			if uc != nil {
				c = uc
			}
		}
		hc, ok := hi.Conn.(*hsConn)
		if !ok {
			return c, nil
		}
		return hc.h.config(base, c), nil
	}
	d.cfg = base
	return d
}

// extraMaster prefixes the TLS 1.2 master secret that WrapSession adds to
// a session ticket's Extra: crypto/tls logs no key when it resumes a TLS 1.2
// session, so the resumed handshake takes the secret from its ticket.
const extraMaster = "ringhttpd/tls12-master:"

// config returns the handshake's own tls.Config: a clone of c whose key log
// is h and whose ticket hooks carry the TLS 1.2 master secret. Tickets are
// sealed and opened with base's keys (crypto/tls rotates them), so every
// handshake of the Handshaker can resume every other's.
func (h *Handshake) config(base, c *tls.Config) *tls.Config {
	cl := c.Clone()
	cl.GetConfigForClient = nil
	cl.KeyLogWriter = (*keyLog)(h)
	wrap, unwrap := c.WrapSession, c.UnwrapSession
	cl.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		if cs.Version == tls.VersionTLS12 && h.master != nil {
			ss.Extra = append(ss.Extra, append([]byte(extraMaster), h.master...))
		}
		if wrap != nil {
			return wrap(cs, ss)
		}
		return base.EncryptTicket(cs, ss)
	}
	cl.UnwrapSession = func(id []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		var ss *tls.SessionState
		var err error
		if unwrap != nil {
			ss, err = unwrap(id, cs)
		} else {
			ss, err = base.DecryptTicket(id, cs)
		}
		if ss == nil || err != nil || cs.Version != tls.VersionTLS12 {
			return ss, err
		}
		for _, e := range ss.Extra {
			if m, ok := bytes.CutPrefix(e, []byte(extraMaster)); ok {
				h.master = m
				return ss, nil
			}
		}
		return nil, nil // no secret to resume with: a full handshake
	}
	return cl
}

// HandshakerStats are a Handshaker's counters.
type HandshakerStats struct {
	InProgress int    // handshakes on helper goroutines now
	Queued     int    // handshakes waiting for a helper
	Started    uint64 // handshakes handed to a helper so far
	Succeeded  uint64
	Failed     uint64 // failed, timed out or aborted, at any stage
	Evicted    uint64 // of Failed: ended with ErrStalled (StallEvict)
}

// Stats returns the current counters.
func (d *Handshaker) Stats() HandshakerStats {
	d.mu.Lock()
	s := HandshakerStats{InProgress: d.running, Queued: len(d.queue)}
	d.mu.Unlock()
	s.Started, s.Succeeded, s.Failed = d.started.Load(), d.done.Load(), d.failed.Load()
	s.Evicted = d.evicted.Load()
	return s
}

// Handshake states.
const (
	stHello   = iota // waiting for the first whole record; no goroutine
	stQueued         // waiting for a helper
	stRunning        // crypto/tls runs on a helper
	stDone           // Done reports the result
)

// Handshake is one connection's handshake. The loop side (Feed, Output,
// Done, Abort) never blocks; crypto/tls runs on a helper goroutine and
// reports through notify.
type Handshake struct {
	d      *Handshaker
	notify func()
	timer  *time.Timer

	// notifyMu orders notify calls against Abort: after Abort returns,
	// notify is never called again.
	notifyMu sync.Mutex
	quiet    bool // under notifyMu

	mu     sync.Mutex
	cond   sync.Cond // the helper waits here for input
	state  int
	in     []byte // received bytes; in[inOff:] not yet handed to crypto/tls
	inOff  int
	recEnd int    // offset in in of the end of the record being handed out
	rlog   []byte // records handed to crypto/tls, for counting
	out    []byte // output not yet taken by Output
	wlog   []byte // everything crypto/tls wrote, for counting
	sess   *Session
	err    error
	stop   error // ErrTimeout or ErrAborted once the helper must stop
	helped int   // index in d.onHelp while a helper runs it (d.mu)

	// waitSince is when the helper started waiting for the client's next
	// record (UnixNano; 0: not waiting).
	waitSince atomic.Int64

	// Secrets from the key log (written by crypto/tls on the helper
	// goroutine) or, for a resumed TLS 1.2 session, from its ticket.
	master   []byte // TLS 1.2
	cTraffic []byte // TLS 1.3 CLIENT_TRAFFIC_SECRET_0
	sTraffic []byte // TLS 1.3 SERVER_TRAFFIC_SECRET_0

	cpu time.Duration // helper CPU time, when a test hook measures it
}

// Start begins a handshake for a new connection. notify is called from
// another goroutine (a helper or the timeout timer) whenever Output has new
// bytes or Done has the result; it must only wake the connection's loop
// (never call back into the Handshake). It is not called for changes made
// by the loop's own calls: after Feed, take Output, then check Done (in
// that order: see Done).
func (d *Handshaker) Start(notify func()) *Handshake {
	h := &Handshake{d: d, notify: notify}
	h.cond.L = &h.mu
	// Under h.mu: expire reads h.timer (finishLocked stops it), and
	// without a Feed in between nothing else orders the two.
	h.mu.Lock()
	h.timer = time.AfterFunc(d.timeout, h.expire)
	h.mu.Unlock()
	return h
}

// Feed hands the handshake bytes received from the client (copied). Bytes
// fed after a successful handshake ended on its helper, but before the loop
// saw Done, are appended to the Session's Leftover: nothing is lost.
func (h *Handshake) Feed(p []byte) {
	h.mu.Lock()
	if h.state == stDone && h.sess != nil && len(p) > 0 {
		h.sess.Leftover = append(h.sess.Leftover, p...)
		h.mu.Unlock()
		return
	}
	if h.state == stDone || h.stop != nil || len(p) == 0 {
		h.mu.Unlock()
		return
	}
	if len(h.in)-h.inOff+len(p) > maxHandshakeInput {
		// halt, not just finish: a helper waiting for input must stop.
		h.halt(ErrInputLimit)
		h.mu.Unlock()
		return
	}
	if h.inOff > 0 && h.inOff == len(h.in) {
		// Everything was handed out: start over, keeping the end of a
		// record handed out in part relative to the new start.
		h.recEnd -= h.inOff
		h.in, h.inOff = h.in[:0], 0
	}
	h.in = append(h.in, p...)
	switch h.state {
	case stRunning:
		h.cond.Signal()
	case stHello:
		need, err := checkClientHello(h.in)
		switch {
		case err != nil:
			if err == ErrOldVersion {
				// A plaintext protocol_version alert, as crypto/tls would send.
				h.out = append(h.out, recordAlert, 3, 1, 0, 2, 2, alertProtocolVersion)
			}
			h.finishLocked(nil, err)
		case !need:
			h.state = stQueued
			h.mu.Unlock()
			h.d.submit(h)
			return
		}
	}
	h.mu.Unlock()
}

// checkClientHello looks at the start of a connection: need is true while
// the first record is incomplete; err is ErrNotTLS for anything but a
// handshake record starting with a ClientHello, ErrOldVersion when that
// ClientHello's version is below TLS 1.2 (a TLS 1.3 client sends 0x0303
// there too).
func checkClientHello(b []byte) (need bool, err error) {
	if len(b) >= 1 && b[0] != recordHandshake {
		return false, ErrNotTLS
	}
	if len(b) >= 2 && b[1] != 3 {
		return false, ErrNotTLS
	}
	if len(b) < recordHeaderLen {
		return true, nil
	}
	n := int(b[3])<<8 | int(b[4])
	if n == 0 || n > MaxPlaintext {
		return false, ErrNotTLS
	}
	if len(b) >= 6 && b[5] != 1 {
		return false, ErrNotTLS
	}
	if n >= 6 && len(b) >= 11 && (b[9] != 3 || b[10] < 3) {
		return false, ErrOldVersion
	}
	return len(b) < recordHeaderLen+n, nil
}

// Output appends the bytes to send to the client to dst and returns it.
func (h *Handshake) Output(dst []byte) []byte {
	h.mu.Lock()
	dst = append(dst, h.out...)
	h.out = h.out[:0]
	h.mu.Unlock()
	return dst
}

// Done reports the result: ok is false while the handshake runs, and also
// while bytes it produced wait in Output (the last flight of a TLS 1.2
// handshake, an alert), unless it was aborted or timed out. So a loop that
// calls Output, sends, then calls Done never loses bytes written between
// the two calls: their notify is still due. Once ok, use the Session (err
// nil) or close.
func (h *Handshake) Done() (s *Session, err error, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != stDone || (len(h.out) > 0 && h.stop == nil) {
		return nil, nil, false
	}
	return h.sess, h.err, true
}

// Abort ends the handshake (the connection is closing). After it returns,
// notify is never called again; a helper still running stops at its next
// read.
func (h *Handshake) Abort() {
	h.notifyMu.Lock()
	h.quiet = true
	h.notifyMu.Unlock()
	h.mu.Lock()
	h.halt(ErrAborted)
	h.mu.Unlock()
}

// expire is the timeout timer's function.
func (h *Handshake) expire() {
	h.mu.Lock()
	done := h.halt(ErrTimeout)
	h.mu.Unlock()
	if done {
		h.signal()
	}
}

// halt ends the handshake with err at once (h.mu held) and reports whether
// it did. A running helper's next Read returns err, so it ends too; a
// queued handshake is skipped by the helper that pops it.
func (h *Handshake) halt(err error) bool {
	if h.state == stDone {
		return false
	}
	h.stop = err
	h.waitSince.Store(0) // no longer waiting for the client: not a stall candidate
	h.cond.Signal()
	h.finishLocked(nil, err)
	return true
}

// finishLocked records the result (h.mu held).
func (h *Handshake) finishLocked(s *Session, err error) {
	if h.state == stDone {
		return
	}
	h.state = stDone
	h.sess, h.err = s, err
	h.in, h.rlog, h.wlog = nil, nil, nil
	if h.timer != nil {
		h.timer.Stop()
	}
	if err != nil {
		h.d.failed.Add(1)
	} else {
		h.d.done.Add(1)
	}
}

// signal calls notify unless Abort was called.
func (h *Handshake) signal() {
	h.notifyMu.Lock()
	if !h.quiet && h.notify != nil {
		h.notify()
	}
	h.notifyMu.Unlock()
}

// submit runs h on a helper, or queues it.
func (d *Handshaker) submit(h *Handshake) {
	d.mu.Lock()
	if d.running < d.max {
		d.running++
		d.mu.Unlock()
		go d.helper(h)
		return
	}
	if len(d.queue) >= d.maxQ {
		d.mu.Unlock()
		h.mu.Lock()
		h.finishLocked(nil, ErrBusy) // reported by Done after Feed returns
		h.mu.Unlock()
		return
	}
	d.queue = append(d.queue, h)
	stalled := d.evictLocked(time.Now())
	d.mu.Unlock()
	signalAll(stalled)
}

// evictLocked ends, longest waiting first, as many running handshakes as
// there are queued ones among those whose client has sent nothing for
// d.stall (d.mu held), and schedules a later look when the queue still
// waits. It returns the ended ones, to be signalled once d.mu is released.
func (d *Handshaker) evictLocked(now time.Time) []*Handshake {
	if d.stall <= 0 || len(d.queue) == 0 {
		return nil
	}
	var out []*Handshake
	limit := now.Add(-d.stall).UnixNano()
	for len(out) < len(d.queue) {
		var old *Handshake
		for _, r := range d.onHelp {
			if w := r.waitSince.Load(); w != 0 && w <= limit && (old == nil || w < old.waitSince.Load()) {
				old = r
			}
		}
		if old == nil {
			break
		}
		old.mu.Lock()
		ended := old.state == stRunning && old.halt(ErrStalled)
		old.waitSince.Store(0) // ended or not, no longer a candidate (halt clears it too)
		old.mu.Unlock()
		if ended {
			d.evicted.Add(1)
			out = append(out, old)
		}
	}
	if len(out) < len(d.queue) && !d.reaping {
		// The queue still waits: look again when the helpers' clients
		// may have stalled long enough.
		d.reaping = true
		time.AfterFunc(d.stall/2, d.reap)
	}
	return out
}

// reap is the scheduled look of evictLocked.
func (d *Handshaker) reap() {
	d.mu.Lock()
	d.reaping = false
	stalled := d.evictLocked(time.Now())
	d.mu.Unlock()
	signalAll(stalled)
}

// signalAll notifies the loops of handshakes ended by eviction.
func signalAll(hs []*Handshake) {
	for _, h := range hs {
		h.signal()
	}
}

// helperHook, when set (by tests), wraps each handshake run on a helper,
// e.g. to measure its CPU time.
var helperHook func(h *Handshake, run func())

// helper runs h, then queued handshakes, until the queue is empty.
func (d *Handshaker) helper(h *Handshake) {
	for h != nil {
		d.mu.Lock()
		h.helped = len(d.onHelp)
		d.onHelp = append(d.onHelp, h)
		d.mu.Unlock()
		if helperHook != nil {
			helperHook(h, func() { d.run(h) })
		} else {
			d.run(h)
		}
		d.mu.Lock()
		last := len(d.onHelp) - 1
		d.onHelp[h.helped] = d.onHelp[last]
		d.onHelp[h.helped].helped = h.helped
		d.onHelp[last] = nil
		d.onHelp = d.onHelp[:last]
		h = nil
		if len(d.queue) > 0 {
			h = d.queue[0]
			d.queue[0] = nil
			d.queue = d.queue[1:]
		} else {
			d.running--
		}
		d.mu.Unlock()
	}
}

// run performs one handshake on the calling helper goroutine.
func (d *Handshaker) run(h *Handshake) {
	h.mu.Lock()
	if h.state != stQueued {
		h.mu.Unlock() // timed out or aborted while queued
		return
	}
	h.state = stRunning
	h.mu.Unlock()
	d.started.Add(1)

	tc := tls.Server(&hsConn{h: h}, d.cfg)
	err := tc.Handshake()
	var s *Session
	h.mu.Lock()
	if h.stop != nil {
		err = h.stop
	} else if err != nil {
		err = fmt.Errorf("tlsrec: handshake: %w", err)
	} else {
		s, err = h.session(tc.ConnectionState())
	}
	h.finishLocked(s, err)
	h.mu.Unlock()
	h.signal()
}

// hsConn is the net.Conn crypto/tls runs on: Read hands out the received
// bytes at most one record at a time, so crypto/tls never buffers bytes
// past the client's Finished; Write queues output for the loop.
type hsConn struct{ h *Handshake }

func (c *hsConn) Read(p []byte) (int, error) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if h.stop != nil {
			return 0, h.stop
		}
		avail := len(h.in) - h.inOff
		if h.inOff == h.recEnd && avail >= recordHeaderLen {
			hdr := h.in[h.inOff:]
			h.recEnd = h.inOff + recordHeaderLen + (int(hdr[3])<<8 | int(hdr[4]))
		}
		if h.inOff < h.recEnd && avail > 0 {
			h.waitSince.Store(0)
			n := copy(p, h.in[h.inOff:min(len(h.in), h.recEnd)])
			h.rlog = append(h.rlog, h.in[h.inOff:h.inOff+n]...)
			h.inOff += n
			return n, nil
		}
		if h.waitSince.Load() == 0 {
			h.waitSince.Store(time.Now().UnixNano())
		}
		h.cond.Wait()
	}
}

func (c *hsConn) Write(p []byte) (int, error) {
	h := c.h
	h.mu.Lock()
	if h.stop != nil {
		h.mu.Unlock()
		return 0, h.stop
	}
	h.out = append(h.out, p...)
	h.wlog = append(h.wlog, p...)
	h.mu.Unlock()
	h.signal()
	return len(p), nil
}

var hsAddr = &net.TCPAddr{}

func (c *hsConn) Close() error                     { return nil }
func (c *hsConn) LocalAddr() net.Addr              { return hsAddr }
func (c *hsConn) RemoteAddr() net.Addr             { return hsAddr }
func (c *hsConn) SetDeadline(time.Time) error      { return nil }
func (c *hsConn) SetReadDeadline(time.Time) error  { return nil }
func (c *hsConn) SetWriteDeadline(time.Time) error { return nil }

// keyLog is a handshake's tls.Config.KeyLogWriter: it keeps the secrets
// crypto/tls logs ("LABEL <client random> <secret>" lines, NSS format).
type keyLog Handshake

func (k *keyLog) Write(line []byte) (int, error) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return len(line), nil
	}
	sec, err := hex.DecodeString(string(f[2]))
	if err != nil {
		return len(line), nil
	}
	switch string(f[0]) {
	case "CLIENT_RANDOM":
		k.master = sec
	case "CLIENT_TRAFFIC_SECRET_0":
		k.cTraffic = sec
	case "SERVER_TRAFFIC_SECRET_0":
		k.sTraffic = sec
	}
	return len(line), nil
}

// session builds the Session of a finished handshake (h.mu held): keys
// from the key log, sequence numbers counted on the records that crossed
// hsConn, the bytes not handed to crypto/tls as Leftover.
func (h *Handshake) session(st tls.ConnectionState) (*Session, error) {
	su, err := suiteOf(st.Version, st.CipherSuite)
	if err != nil {
		return nil, err
	}
	s := &Session{
		Version: st.Version, CipherSuite: st.CipherSuite,
		ALPN: st.NegotiatedProtocol, ServerName: st.ServerName, Resumed: st.DidResume,
	}
	if h.inOff != h.recEnd {
		return nil, fmt.Errorf("%w: handshake ended inside a record", ErrKeyCapture)
	}
	if st.Version == tls.VersionTLS13 {
		if h.cTraffic == nil || h.sTraffic == nil {
			return nil, ErrKeyCapture
		}
		s.Read, s.Write = keys13(su, h.cTraffic), keys13(su, h.sTraffic)
	} else {
		cr, sr := helloRandom(h.rlog, 1), helloRandom(h.wlog, 2)
		if h.master == nil || cr == nil || sr == nil {
			return nil, ErrKeyCapture
		}
		s.Read, s.Write = keys12(su, h.master, cr, sr)
	}
	if s.Read.Seq, err = countRecords(s, s.Read, h.rlog); err != nil {
		return nil, fmt.Errorf("%w: client records: %v", ErrKeyCapture, err)
	}
	if s.Write.Seq, err = countRecords(s, s.Write, h.wlog); err != nil {
		return nil, fmt.Errorf("%w: server records: %v", ErrKeyCapture, err)
	}
	s.Leftover = append([]byte(nil), h.in[h.inOff:]...)
	return s, nil
}

// helloRandom returns the random of the hello message (ClientHello 1,
// ServerHello 2) that starts a handshake direction's log, or nil. The
// message may be fragmented over several handshake records.
func helloRandom(log []byte, msgType byte) []byte {
	// handshake header (4), version (2), random (32)
	var msg []byte
	for len(msg) < 38 && len(log) >= recordHeaderLen && log[0] == recordHandshake {
		n := recordHeaderLen + (int(log[3])<<8 | int(log[4]))
		if n > len(log) {
			return nil
		}
		msg = append(msg, log[recordHeaderLen:n]...)
		log = log[n:]
	}
	if len(msg) < 38 || msg[0] != msgType {
		return nil
	}
	return msg[6:38]
}

// countRecords returns how many records of log (one direction of the
// handshake) were protected with k, which is the sequence number of the
// next record. TLS 1.3: the application-key records are found by trial
// decryption (the handshake-key records before them fail it; crypto/tls
// sends its session ticket under the application key). TLS 1.2: every
// record after the ChangeCipherSpec is under k, and each must decrypt.
// Decryption is done in place: log is scratch.
func countRecords(s *Session, k Keys, log []byte) (uint64, error) {
	var c Conn
	t := *s
	t.Read = k
	if err := c.Init(&t); err != nil {
		return 0, err
	}
	afterCCS := false
	for len(log) >= recordHeaderLen {
		n := recordHeaderLen + (int(log[3])<<8 | int(log[4]))
		if n > len(log) {
			return 0, errors.New("truncated record")
		}
		rec := log[:n]
		log = log[n:]
		switch {
		case rec[0] == recordCCS:
			afterCCS = true
		case s.Version == tls.VersionTLS13 && rec[0] == recordAppData:
			seq := c.in.keys.Seq
			if _, _, err := c.decrypt(rec); err != nil {
				if seq > 0 {
					return 0, errors.New("record after the first application-key record does not decrypt")
				}
				c.err, c.alert = nil, -1
			}
		case s.Version == tls.VersionTLS12 && afterCCS:
			if _, _, err := c.decrypt(rec); err != nil {
				return 0, fmt.Errorf("record %d after ChangeCipherSpec: %v", c.in.keys.Seq, err)
			}
		}
	}
	if s.Version == tls.VersionTLS12 && c.in.keys.Seq == 0 {
		return 0, errors.New("no Finished record")
	}
	return c.in.keys.Seq, nil
}
