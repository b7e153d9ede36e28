package tlsrec

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// fuzzSession returns a session with fixed keys for suite i of testSuites,
// so that checked-in corpus entries stay valid records.
func fuzzSession(i int) *Session {
	ts := testSuites[i%len(testSuites)]
	su, _ := suiteOf(ts.vers, ts.suite)
	mk := func(b byte) Keys {
		if ts.vers == tls.VersionTLS13 {
			return keys13(su, bytes.Repeat([]byte{b}, su.hlen))
		}
		return Keys{Key: bytes.Repeat([]byte{b}, su.keyLen), IV: bytes.Repeat([]byte{b + 1}, su.ivLen(ts.vers))}
	}
	return &Session{Version: ts.vers, CipherSuite: ts.suite, Read: mk(1), Write: mk(2)}
}

// checkOpen runs Open over in, cut at cut, and checks its invariants.
func checkOpen(t *testing.T, c *Conn, in []byte, cut int) {
	var pend []byte
	for _, chunk := range [][]byte{in[:cut], in[cut:]} {
		pend = append(pend, chunk...)
		plain, n, err := c.Open(pend)
		if n < 0 || n > len(pend) || len(plain) > n {
			t.Fatalf("Open: n=%d plain=%d of %d", n, len(plain), len(pend))
		}
		if err != nil {
			// The error is sticky and whatever we owe is one sealed alert.
			if _, _, err2 := c.Open(pend[n:]); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			c.Seal(nil, []byte("x"))
			return
		}
		rest := pend[n:]
		if len(rest) >= recordHeaderLen && len(rest) >= recordHeaderLen+(int(rest[3])<<8|int(rest[4])) {
			t.Fatalf("Open stopped before a whole record (%d bytes left)", len(rest))
		}
		pend = append(pend[:0], rest...)
	}
}

// FuzzOpen feeds arbitrary bytes to the record parser of every suite.
func FuzzOpen(f *testing.F) {
	for i := range testSuites {
		_, cli := pair(f, fuzzSession(i))
		var w []byte
		w = cli.Seal(w, []byte("GET / HTTP/1.1\r\n\r\n"))
		w = cli.seal(w, recordAlert, []byte{1, alertUserCanceled})
		w = cli.CloseNotify(w)
		f.Add(uint8(i), uint16(7), w)
	}
	f.Add(uint8(0), uint16(0), []byte{23, 3, 3, 0, 0})
	f.Add(uint8(3), uint16(1), []byte{20, 3, 3, 0, 1, 1})
	f.Fuzz(func(t *testing.T, suite uint8, cut uint16, in []byte) {
		srv, _ := pair(t, fuzzSession(int(suite)))
		checkOpen(t, srv, in, int(cut)%(len(in)+1))
	})
}

// FuzzOpenSealed seals fuzzer-chosen (type, content) records with the
// client's key, so every content reaches the alert and post-handshake
// message handling, then opens them cut at one point.
func FuzzOpenSealed(f *testing.F) {
	f.Add(uint8(0), uint16(3), []byte("\x17\x05hello\x16\x05\x18\x00\x00\x01\x01\x17\x02hi"))
	f.Add(uint8(1), uint16(9), []byte("\x16\x02\x18\x00\x16\x03\x00\x01\x00\x17\x01x"))
	f.Add(uint8(3), uint16(0), []byte("\x15\x02\x01\x5a\x16\x04\x01\x00\x00\x00"))
	f.Add(uint8(2), uint16(1), []byte("\x15\x02\x01\x00"))
	f.Fuzz(func(t *testing.T, suite uint8, cut uint16, script []byte) {
		srv, cli := pair(t, fuzzSession(int(suite)))
		// script: type byte, length byte, content...
		var w []byte
		for len(script) >= 2 {
			typ, n := script[0], int(script[1])
			script = script[2:]
			n = min(n, len(script))
			w = cli.seal(w, typ, script[:n])
			script = script[n:]
		}
		checkOpen(t, srv, w, int(cut)%(len(w)+1))
	})
}
