package tlsrec

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"testing"
)

// testSuites are the (version, suite) pairs ringhttpd serves, one per AEAD.
var testSuites = []struct {
	name  string
	vers  uint16
	suite uint16
}{
	{"1.3-AES128", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256},
	{"1.3-AES256", tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384},
	{"1.3-ChaCha", tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256},
	{"1.2-AES128", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	{"1.2-AES256", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	{"1.2-ChaCha", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
}

// randomSession returns a session with random keys for vers/suite, as the
// server sees it.
func randomSession(t testing.TB, vers, id uint16) *Session {
	su, err := suiteOf(vers, id)
	if err != nil {
		t.Fatal(err)
	}
	mk := func() Keys {
		if vers == tls.VersionTLS13 {
			sec := make([]byte, su.hlen)
			rand.Read(sec)
			return keys13(su, sec)
		}
		k := Keys{Key: make([]byte, su.keyLen), IV: make([]byte, su.ivLen(vers))}
		rand.Read(k.Key)
		rand.Read(k.IV)
		return k
	}
	return &Session{Version: vers, CipherSuite: id, Read: mk(), Write: mk()}
}

// pair returns the server's Conn for s and the client's (directions swapped).
func pair(t testing.TB, s *Session) (srv, cli *Conn) {
	srv, cli = new(Conn), new(Conn)
	if err := srv.Init(s); err != nil {
		t.Fatal(err)
	}
	r := *s
	r.Read, r.Write = s.Write, s.Read
	if err := cli.Init(&r); err != nil {
		t.Fatal(err)
	}
	return srv, cli
}

// openAll feeds in to c in chunks cut at the given points, the way an
// engine does: unconsumed bytes stay and the next chunk is appended. It
// returns all plaintext and the final error.
func openAll(c *Conn, in []byte, cuts []int) ([]byte, error) {
	var plain, pend []byte
	prev := 0
	for _, cut := range append(cuts, len(in)) {
		pend = append(pend, in[prev:cut]...)
		prev = cut
		p, n, err := c.Open(pend)
		plain = append(plain, p...)
		pend = append(pend[:0], pend[n:]...)
		if err != nil {
			return plain, err
		}
	}
	if len(pend) != 0 {
		return plain, fmt.Errorf("%d bytes left unconsumed", len(pend))
	}
	return plain, nil
}

func TestRoundTripSplits(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			s := randomSession(t, ts.vers, ts.suite)
			s.Read.Seq, s.Write.Seq = 3, 1 // not 0, as after a real handshake
			srv, cli := pair(t, s)
			// Client: three records (one empty, which is allowed), then close_notify.
			msg := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
			var wire []byte
			wire = cli.Seal(wire, msg[:20])
			wire = cli.seal(wire, recordAppData, nil)
			wire = cli.Seal(wire, msg[20:])
			wire = cli.CloseNotify(wire)
			// Whole, byte by byte, and at every split point.
			check := func(name string, cuts []int) {
				t.Helper()
				srv, _ := pair(t, s)
				plain, err := openAll(srv, wire, cuts)
				if !errors.Is(err, io.EOF) || !bytes.Equal(plain, msg) {
					t.Fatalf("%s: got %q, %v", name, plain, err)
				}
				if rk := srv.ReadKeys(); rk.Seq != 3+4 {
					t.Fatalf("%s: read seq %d, want 7", name, rk.Seq)
				}
			}
			check("whole", nil)
			var each []int
			for i := 1; i < len(wire); i++ {
				each = append(each, i)
			}
			check("byte by byte", each)
			for i := 1; i < len(wire); i++ {
				check(fmt.Sprint("split ", i), []int{i})
			}
			// Server to client: a large body in 16 KiB records.
			body := make([]byte, 3*MaxPlaintext+123)
			rand.Read(body)
			out := srv.Seal(nil, body)
			if len(out) != srv.SealedLen(len(body)) {
				t.Fatalf("sealed %d bytes, SealedLen says %d", len(out), srv.SealedLen(len(body)))
			}
			plain, err := openAll(cli, out, nil)
			if err != nil || !bytes.Equal(plain, body) {
				t.Fatalf("large body: %v", err)
			}
		})
	}
}

func TestSealInPlace(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			srv, cli := pair(t, randomSession(t, ts.vers, ts.suite))
			body := []byte("file segment bytes")
			buf := make([]byte, 0, 100)
			buf = buf[:srv.HeaderLen()+len(body)]
			copy(buf[srv.HeaderLen():], body)
			rec := srv.SealInPlace(buf, len(body))
			want := srv.HeaderLen() + len(body) + srv.TrailerLen()
			if len(rec) != want {
				t.Fatalf("record of %d bytes, want %d", len(rec), want)
			}
			rec2 := srv.Seal(nil, body) // the next record, by copy
			plain, err := openAll(cli, append(append([]byte(nil), rec...), rec2...), nil)
			if err != nil || string(plain) != string(body)+string(body) {
				t.Fatalf("got %q %v", plain, err)
			}
		})
	}
}

// TestSealBorrow checks that SealBorrow makes Seal's records, whether p
// has a byte to lend or not, across record boundaries, and leaves p as it
// was.
func TestSealBorrow(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			s := randomSession(t, ts.vers, ts.suite)
			a, cli := pair(t, s)
			b, _ := pair(t, s)
			src := make([]byte, 3*MaxPlaintext+100)
			rand.Read(src)
			keep := bytes.Clone(src)
			for _, n := range []int{1, 100, MaxPlaintext - 1, MaxPlaintext, MaxPlaintext + 1, 2*MaxPlaintext + 7} {
				for _, spare := range []int{0, 1, 50} {
					p := src[: n : n+spare]
					want := a.Seal(nil, p)
					got := b.SealBorrow(nil, p)
					if !bytes.Equal(got, want) {
						t.Fatalf("%d bytes (spare %d): SealBorrow's records differ from Seal's", n, spare)
					}
					if !bytes.Equal(src, keep) {
						t.Fatalf("%d bytes (spare %d): p changed", n, spare)
					}
					plain, err := openAll(cli, got, nil)
					if err != nil || !bytes.Equal(plain, p) {
						t.Fatalf("%d bytes (spare %d): opened %d bytes, %v", n, spare, len(plain), err)
					}
				}
			}
		})
	}
}

// controlRecord seals a record of any type with c's write key (a test-only
// way to send what a misbehaving or re-keying client sends).
func controlRecord(c *Conn, typ byte, p []byte) []byte { return c.seal(nil, typ, p) }

func TestOpenErrors(t *testing.T) {
	type tc struct {
		name      string
		vers      uint16 // 0: both versions
		wire      func(cli *Conn) []byte
		want      error
		wantAlert int // alert description the server must send; -1 none
		level     byte
	}
	appRec := func(cli *Conn) []byte { return cli.Seal(nil, []byte("hello")) }
	cases := []tc{
		{"flipped ciphertext bit", 0, func(cli *Conn) []byte { r := appRec(cli); r[len(r)-20] ^= 1; return r }, ErrBadRecordMAC, alertBadRecordMAC, 2},
		{"flipped tag bit", 0, func(cli *Conn) []byte { r := appRec(cli); r[len(r)-1] ^= 0x80; return r }, ErrBadRecordMAC, alertBadRecordMAC, 2},
		{"header type changed", tls.VersionTLS12, func(cli *Conn) []byte { r := appRec(cli); r[0] = recordAlert; return r }, ErrBadRecordMAC, alertBadRecordMAC, 2},
		{"replayed record", 0, func(cli *Conn) []byte { r := appRec(cli); return append(r, r...) }, ErrBadRecordMAC, alertBadRecordMAC, 2},
		{"too short for a tag", 0, func(*Conn) []byte { return []byte{23, 3, 3, 0, 3, 1, 2, 3} }, ErrBadRecordMAC, alertBadRecordMAC, 2},
		{"wrong record version", 0, func(cli *Conn) []byte { r := appRec(cli); r[2] = 1; return r }, ErrDecode, alertProtocolVersion, 2},
		{"announced length too long", 0, func(*Conn) []byte { return []byte{23, 3, 3, 0x48, 1} }, ErrRecordOverflow, alertRecordOverflow, 2},
		{"plaintext too long", 0, func(cli *Conn) []byte { return controlRecord(cli, recordAppData, make([]byte, MaxPlaintext+1)) }, ErrRecordOverflow, alertRecordOverflow, 2},
		{"change_cipher_spec", 0, func(*Conn) []byte { return []byte{20, 3, 3, 0, 1, 1} }, ErrUnexpectedMessage, alertUnexpectedMessage, 2},
		{"unknown record type", 0, func(*Conn) []byte { return []byte{24, 3, 3, 0, 1, 1} }, ErrUnexpectedMessage, alertUnexpectedMessage, 2},
		{"fatal alert", 0, func(cli *Conn) []byte { return controlRecord(cli, recordAlert, []byte{2, alertHandshakeFailure}) }, AlertError(alertHandshakeFailure), -1, 0},
		{"alert of 3 bytes", 0, func(cli *Conn) []byte { return controlRecord(cli, recordAlert, []byte{1, 0, 0}) }, ErrDecode, alertDecodeError, 2},
		{"renegotiation", tls.VersionTLS12, func(cli *Conn) []byte {
			return controlRecord(cli, recordHandshake, []byte{1, 0, 0, 4, 3, 3, 0, 0})
		}, ErrRenegotiation, alertNoRenegotiation, 1},
		{"client NewSessionTicket", tls.VersionTLS13, func(cli *Conn) []byte {
			return controlRecord(cli, recordHandshake, []byte{4, 0, 0, 1, 0})
		}, ErrUnexpectedMessage, alertUnexpectedMessage, 2},
		{"KeyUpdate bad length", tls.VersionTLS13, func(cli *Conn) []byte {
			return controlRecord(cli, recordHandshake, []byte{24, 0, 0, 2, 0, 0})
		}, ErrDecode, alertDecodeError, 2},
		{"KeyUpdate bad value", tls.VersionTLS13, func(cli *Conn) []byte {
			return controlRecord(cli, recordHandshake, []byte{24, 0, 0, 1, 2})
		}, ErrDecode, alertIllegalParameter, 2},
		{"KeyUpdate followed by data in its record", tls.VersionTLS13, func(cli *Conn) []byte {
			return controlRecord(cli, recordHandshake, []byte{24, 0, 0, 1, 0, 24})
		}, ErrUnexpectedMessage, alertUnexpectedMessage, 2},
		{"handshake header cut by app data", tls.VersionTLS13, func(cli *Conn) []byte {
			r := controlRecord(cli, recordHandshake, []byte{24, 0})
			return append(r, cli.Seal(nil, []byte("x"))...)
		}, ErrUnexpectedMessage, alertUnexpectedMessage, 2},
		{"padding only", tls.VersionTLS13, func(cli *Conn) []byte {
			// An inner plaintext of zeros has no content type.
			r := controlRecord(cli, 0, nil)
			return r
		}, ErrUnexpectedMessage, alertUnexpectedMessage, 2},
		{"17 empty records", 0, func(cli *Conn) []byte {
			var w []byte
			for range 17 {
				w = cli.seal(w, recordAppData, nil)
			}
			return w
		}, ErrTooManyIgnored, alertUnexpectedMessage, 2},
	}
	for _, ts := range testSuites {
		for _, c := range cases {
			if c.vers != 0 && c.vers != ts.vers {
				continue
			}
			t.Run(ts.name+"/"+c.name, func(t *testing.T) {
				srv, cli := pair(t, randomSession(t, ts.vers, ts.suite))
				wire := c.wire(cli)
				_, _, err := srv.Open(wire)
				if !errors.Is(err, c.want) {
					t.Fatalf("err %v, want %v", err, c.want)
				}
				if _, _, err2 := srv.Open(cli.Seal(nil, []byte("later"))); err2 != err {
					t.Errorf("error not sticky: then %v", err2)
				}
				if srv.Pending() != (c.wantAlert >= 0) {
					t.Fatalf("Pending %v", srv.Pending())
				}
				out := srv.Seal(nil, []byte("must not be sent"))
				if c.wantAlert < 0 {
					if len(out) != 0 {
						t.Fatalf("sent %d bytes after a fatal alert", len(out))
					}
					return
				}
				// The client sees exactly our alert.
				p, n, err := cli.Open(out)
				if n != len(out) || len(p) != 0 {
					t.Fatalf("alert output: n=%d of %d, plain %q", n, len(out), p)
				}
				switch {
				case c.level == 2 && err != AlertError(c.wantAlert):
					t.Fatalf("client got %v, want fatal alert %d", err, c.wantAlert)
				case c.level == 1 && err != nil:
					t.Fatalf("client got %v for warning alert %d, want it ignored", err, c.wantAlert)
				}
			})
		}
	}
}

func TestWarningsIgnored(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			srv, cli := pair(t, randomSession(t, ts.vers, ts.suite))
			w := controlRecord(cli, recordAlert, []byte{1, alertUserCanceled})
			if ts.vers == tls.VersionTLS12 {
				w = append(w, controlRecord(cli, recordAlert, []byte{1, alertNoRenegotiation})...)
			}
			w = cli.Seal(w, []byte("data"))
			p, n, err := srv.Open(w)
			if err != nil || n != len(w) || string(p) != "data" {
				t.Fatalf("got %q n=%d %v", p, n, err)
			}
		})
	}
}

// TestKeyUpdate: the client updates its key, asking for ours too; the
// header is split over two records once. The server opens the data that
// follows with the new key and answers with its own KeyUpdate before its
// next data.
func TestKeyUpdate(t *testing.T) {
	for _, ts := range testSuites[:3] {
		for _, split := range []bool{false, true} {
			t.Run(fmt.Sprint(ts.name, "/split=", split), func(t *testing.T) {
				srv, cli := pair(t, randomSession(t, ts.vers, ts.suite))
				ku := []byte{24, 0, 0, 1, 1}
				var w []byte
				w = cli.Seal(w, []byte("before "))
				if split {
					w = cli.seal(w, recordHandshake, ku[:2])
					w = cli.seal(w, recordHandshake, ku[2:])
				} else {
					w = cli.seal(w, recordHandshake, ku)
				}
				next := keys13(cli.suite, nextSecret13(cli.suite, cli.out.keys.Secret))
				cli.out.setKeys(cli.suite, next)
				w = cli.Seal(w, []byte("after"))
				p, n, err := srv.Open(w)
				if err != nil || n != len(w) || string(p) != "before after" {
					t.Fatalf("got %q n=%d %v", p, n, err)
				}
				if rk := srv.ReadKeys(); rk.Seq != 1 || bytes.Equal(rk.Secret, cli.in.keys.Secret) {
					t.Fatalf("read keys not updated: seq %d", rk.Seq)
				}
				if !srv.Pending() {
					t.Fatal("our KeyUpdate is not pending")
				}
				out := srv.Seal(nil, []byte("reply"))
				if srv.WriteKeys().Seq != 1 {
					t.Fatalf("write seq %d after KeyUpdate + 1 record", srv.WriteKeys().Seq)
				}
				p, n, err = cli.Open(out)
				if err != nil || n != len(out) || string(p) != "reply" {
					t.Fatalf("client got %q n=%d %v", p, n, err)
				}
				if cli.Pending() {
					t.Fatal("client owes a KeyUpdate for update_not_requested")
				}
			})
		}
	}
}

func TestKeyUpdateOnKernelConn(t *testing.T) {
	srv, cli := pair(t, randomSession(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256))
	srv.kernel = true
	_, _, err := srv.Open(controlRecord(cli, recordHandshake, []byte{24, 0, 0, 1, 0}))
	if !errors.Is(err, ErrKeyUpdate) {
		t.Fatalf("got %v", err)
	}
	if out := srv.Seal(nil, nil); len(out) != 0 {
		t.Fatalf("sealed %d bytes in userspace for a kernel connection", len(out))
	}
	if a := srv.KernelAlert(); !bytes.Equal(a, CloseNotifyAlert) {
		t.Fatalf("KernelAlert %v, want close_notify", a)
	}
}

func TestInitRejects(t *testing.T) {
	s := randomSession(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	for name, mut := range map[string]func(*Session){
		"tls 1.1":          func(s *Session) { s.Version = tls.VersionTLS11 },
		"cbc suite":        func(s *Session) { s.Version, s.CipherSuite = tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA },
		"short key":        func(s *Session) { s.Read.Key = s.Read.Key[:8] },
		"iv of 1.2 gcm":    func(s *Session) { s.Write.IV = s.Write.IV[:4] },
		"1.2 suite id 1.3": func(s *Session) { s.CipherSuite = tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 },
	} {
		r := *s
		mut(&r)
		var c Conn
		if err := c.Init(&r); !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRecordAllocs proves steady-state Seal and Open allocate nothing.
func TestRecordAllocs(t *testing.T) {
	for _, ts := range testSuites {
		t.Run(ts.name, func(t *testing.T) {
			srv, cli := pair(t, randomSession(t, ts.vers, ts.suite))
			body := make([]byte, MaxPlaintext)
			out := make([]byte, 0, 2*MaxPlaintext)
			in := make([]byte, 0, 2*MaxPlaintext)
			allocs := testing.AllocsPerRun(100, func() {
				out = srv.Seal(out[:0], body)
				in = cli.Seal(in[:0], body[:100])
				if _, _, err := srv.Open(in); err != nil {
					t.Fatal(err)
				}
				if _, _, err := cli.Open(out); err != nil {
					t.Fatal(err)
				}
				rec := srv.SealInPlace(out[:srv.HeaderLen()+len(body)], len(body))
				if _, _, err := cli.Open(rec); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per Seal+Open", allocs)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, ts := range testSuites {
		b.Run(ts.name, func(b *testing.B) {
			srv, _ := pair(b, randomSession(b, ts.vers, ts.suite))
			body := make([]byte, MaxPlaintext)
			out := make([]byte, 0, 2*MaxPlaintext)
			b.SetBytes(MaxPlaintext)
			b.ReportAllocs()
			for b.Loop() {
				out = srv.Seal(out[:0], body)
			}
		})
	}
}

func BenchmarkSealBorrow(b *testing.B) {
	for _, ts := range testSuites {
		b.Run(ts.name, func(b *testing.B) {
			srv, _ := pair(b, randomSession(b, ts.vers, ts.suite))
			body := make([]byte, MaxPlaintext, MaxPlaintext+1)
			out := make([]byte, 0, 2*MaxPlaintext)
			b.SetBytes(MaxPlaintext)
			b.ReportAllocs()
			for b.Loop() {
				out = srv.SealBorrow(out[:0], body)
			}
		})
	}
}

func BenchmarkSealInPlace(b *testing.B) {
	for _, ts := range testSuites {
		b.Run(ts.name, func(b *testing.B) {
			srv, _ := pair(b, randomSession(b, ts.vers, ts.suite))
			buf := make([]byte, srv.HeaderLen()+MaxPlaintext+srv.TrailerLen())
			b.SetBytes(MaxPlaintext)
			b.ReportAllocs()
			for b.Loop() {
				srv.SealInPlace(buf, MaxPlaintext)
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, ts := range testSuites {
		b.Run(ts.name, func(b *testing.B) {
			srv, cli := pair(b, randomSession(b, ts.vers, ts.suite))
			// Pre-seal enough records, then open them in order; re-seal when
			// they run out (outside the timer).
			const batch = 256
			body := make([]byte, MaxPlaintext)
			var recs [][]byte
			fill := func() {
				recs = recs[:0]
				for range batch {
					recs = append(recs, cli.Seal(nil, body))
				}
			}
			fill()
			b.SetBytes(MaxPlaintext)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == batch {
					b.StopTimer()
					fill()
					i = 0
					b.StartTimer()
				}
				if _, _, err := srv.Open(recs[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
