package tlsrec

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces, as the RFCs print it.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 8448 §3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256) values.
var (
	rfc8448ServerHSSecret  = unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38")
	rfc8448ServerAppSecret = unhex("a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43")
	rfc8448ClientAppSecret = unhex("9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5")
	// {client} send application_data record: 00 01 .. 31, client seq 0.
	rfc8448ClientAppRecord = unhex(`17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea
		42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b
		62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4`)
	// {server} send application_data record: the same 50 bytes, server seq 1
	// (its NewSessionTicket was record 0).
	rfc8448ServerAppRecord = unhex(`17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc
		32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8
		fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d`)
	// {client} send alert record: close_notify, client seq 1.
	rfc8448ClientAlertRecord = unhex("17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3")
	// {server} send alert record: close_notify, server seq 2.
	rfc8448ServerAlertRecord = unhex("17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9")
)

func TestKeys13RFC8448(t *testing.T) {
	cases := []struct {
		name            string
		secret          []byte
		wantKey, wantIV string
	}{
		{"server handshake", rfc8448ServerHSSecret, "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", "5d 31 3e b2 67 12 76 ee 13 00 0b 30"},
		{"server application", rfc8448ServerAppSecret, "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56", "cf 78 2b 88 dd 83 54 9a ad f1 e9 84"},
		{"client application", rfc8448ClientAppSecret, "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51", "5b 78 92 3d ee 08 57 90 33 e5 23 d9"},
	}
	for _, tc := range cases {
		k := keys13(&suiteAES128, tc.secret)
		if !bytes.Equal(k.Key, unhex(tc.wantKey)) || !bytes.Equal(k.IV, unhex(tc.wantIV)) {
			t.Errorf("%s: key %x iv %x, want %s / %s", tc.name, k.Key, k.IV, tc.wantKey, tc.wantIV)
		}
	}
}

func TestHKDFExpandLabelInfo(t *testing.T) {
	// RFC 8448 prints the HkdfLabel of the key and IV expansions:
	// "key info (13 octets): 00 10 09 74 6c 73 31 33 20 6b 65 79 00".
	// Expand(prk, info) with that exact info must give our result.
	got := hkdfExpandLabel(sha256.New, rfc8448ServerAppSecret, "key", nil, 16)
	if want := unhex("9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56"); !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
}

// TestRecordRFC8448 opens the RFC's client records and reproduces its
// server records byte for byte.
func TestRecordRFC8448(t *testing.T) {
	payload := make([]byte, 50)
	for i := range payload {
		payload[i] = byte(i)
	}
	s := &Session{
		Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256,
		Read:  keys13(&suiteAES128, rfc8448ClientAppSecret),
		Write: keys13(&suiteAES128, rfc8448ServerAppSecret),
	}
	s.Write.Seq = 1 // after the NewSessionTicket
	var c Conn
	if err := c.Init(s); err != nil {
		t.Fatal(err)
	}
	in := append(append([]byte(nil), rfc8448ClientAppRecord...), rfc8448ClientAlertRecord...)
	plain, n, err := c.Open(in)
	if err.Error() != "EOF" || n != len(in) || !bytes.Equal(plain, payload) {
		t.Fatalf("Open: %x n=%d err=%v", plain, n, err)
	}
	out := c.Seal(nil, payload)
	if !bytes.Equal(out, rfc8448ServerAppRecord) {
		t.Fatalf("Seal:\n got %x\nwant %x", out, rfc8448ServerAppRecord)
	}
	out = c.CloseNotify(nil)
	if !bytes.Equal(out, rfc8448ServerAlertRecord) {
		t.Fatalf("CloseNotify:\n got %x\nwant %x", out, rfc8448ServerAlertRecord)
	}
	if out := c.Seal(nil, payload); len(out) != 0 {
		t.Fatalf("Seal after close_notify appended %d bytes", len(out))
	}
}

func TestPRF12(t *testing.T) {
	// The TLS 1.2 PRF (P_SHA256) vector published for the TLS working group.
	got := prf12(sha256.New, unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"), "test label",
		unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"), 100)
	want := unhex(`e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95
		32 9b 52 d4 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af
		0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b
		97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
		87 34 7b 66`)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
}

func TestKeys12Layout(t *testing.T) {
	// key_block is client key, server key, client IV, server IV.
	master := bytes.Repeat([]byte{7}, 48)
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for _, tc := range []struct {
		s     *suite
		ivLen int
	}{{&suiteAES128, 4}, {&suiteAES256, 4}, {&suiteChaCha, 12}} {
		kb := prf12(tc.s.hash, master, "key expansion", append(append([]byte(nil), sr...), cr...), 2*tc.s.keyLen+2*tc.ivLen)
		c, s := keys12(tc.s, master, cr, sr)
		want := append(append(append(append([]byte(nil), c.Key...), s.Key...), c.IV...), s.IV...)
		if !bytes.Equal(kb, want) || len(c.Key) != tc.s.keyLen || len(s.IV) != tc.ivLen {
			t.Errorf("%v: layout differs", tc.s.cipher)
		}
	}
}
