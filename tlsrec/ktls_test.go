package tlsrec

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// TestCryptoInfoLayout checks the <linux/tls.h> structs byte by byte.
func TestCryptoInfoLayout(t *testing.T) {
	seq := uint64(0x0102030405060708)
	seqBE := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	iv12 := []byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab}
	key16, key32 := bytes.Repeat([]byte{0x16}, 16), bytes.Repeat([]byte{0x32}, 32)
	hdr := func(vers, typ uint16) []byte {
		b := make([]byte, 4)
		binary.NativeEndian.PutUint16(b, vers)
		binary.NativeEndian.PutUint16(b[2:], typ)
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		vers uint16
		c    Cipher
		k    Keys
		want []byte
	}{
		{"1.3 aes128", tls.VersionTLS13, AES128GCM, Keys{Key: key16, IV: iv12, Seq: seq},
			cat(hdr(0x0304, 51), iv12[4:], key16, iv12[:4], seqBE)},
		{"1.3 aes256", tls.VersionTLS13, AES256GCM, Keys{Key: key32, IV: iv12, Seq: seq},
			cat(hdr(0x0304, 52), iv12[4:], key32, iv12[:4], seqBE)},
		{"1.3 chacha", tls.VersionTLS13, ChaCha20Poly1305, Keys{Key: key32, IV: iv12, Seq: seq},
			cat(hdr(0x0304, 54), iv12, key32, seqBE)},
		{"1.2 aes128", tls.VersionTLS12, AES128GCM, Keys{Key: key16, IV: iv12[:4], Seq: seq},
			cat(hdr(0x0303, 51), seqBE, key16, iv12[:4], seqBE)},
		{"1.2 aes256", tls.VersionTLS12, AES256GCM, Keys{Key: key32, IV: iv12[:4], Seq: seq},
			cat(hdr(0x0303, 52), seqBE, key32, iv12[:4], seqBE)},
		{"1.2 chacha", tls.VersionTLS12, ChaCha20Poly1305, Keys{Key: key32, IV: iv12, Seq: seq},
			cat(hdr(0x0303, 54), iv12, key32, seqBE)},
	}
	for _, tc := range cases {
		got, err := cryptoInfo(tc.vers, tc.c, tc.k)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %v\n got %x\nwant %x", tc.name, err, got, tc.want)
		}
		wantLen := map[Cipher]int{AES128GCM: 40, AES256GCM: 56, ChaCha20Poly1305: 56}[tc.c]
		if len(got) != wantLen {
			t.Errorf("%s: %d bytes, want sizeof %d", tc.name, len(got), wantLen)
		}
	}
	if _, err := cryptoInfo(tls.VersionTLS13, AES128GCM, Keys{Key: key16, IV: iv12[:4]}); !errors.Is(err, ErrUnsupportedSuite) {
		t.Errorf("short IV accepted: %v", err)
	}
}

// TestKernelControl drives the control-record path kernel TLS uses.
func TestKernelControl(t *testing.T) {
	for _, ts := range testSuites {
		srv, _ := pair(t, randomSession(t, ts.vers, ts.suite))
		srv.kernel = true
		if err := srv.KernelControl(RecordAppData, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := srv.KernelControl(RecordAlert, []byte{1, alertUserCanceled}); err != nil {
			t.Fatalf("%s: user_canceled: %v", ts.name, err)
		}
		if err := srv.KernelControl(RecordAlert, CloseNotifyAlert); err != io.EOF {
			t.Fatalf("%s: close_notify: %v", ts.name, err)
		}
		if srv.KernelAlert() != nil {
			t.Fatalf("%s: alert owed after close_notify", ts.name)
		}
		srv, _ = pair(t, randomSession(t, ts.vers, ts.suite))
		srv.kernel = true
		err := srv.KernelControl(RecordHandshake, []byte{24, 0, 0, 1, 1})
		want, alert := ErrKeyUpdate, []byte{1, alertCloseNotify}
		if ts.vers == tls.VersionTLS12 {
			want, alert = ErrRenegotiation, []byte{1, alertNoRenegotiation}
		}
		if !errors.Is(err, want) {
			t.Fatalf("%s: handshake message: %v", ts.name, err)
		}
		if got := srv.KernelAlert(); !bytes.Equal(got, alert) {
			t.Fatalf("%s: alert %v, want %v", ts.name, got, alert)
		}
		if srv.KernelAlert() != nil {
			t.Fatalf("%s: alert given twice", ts.name)
		}
	}
}

// TestKernelTXConn: with only sending in the kernel, Open goes on in
// userspace (a KeyUpdate that does not ask for ours moves the read key),
// Seal appends nothing, and a KeyUpdate that asks for ours ends the
// connection with a close_notify from KernelAlert.
func TestKernelTXConn(t *testing.T) {
	for _, ts := range testSuites {
		srv, cli := pair(t, randomSession(t, ts.vers, ts.suite))
		srv.kernelTX = true // what EnableKernelTX sets
		srv.out.aead = nil
		w := cli.Seal(nil, []byte("one "))
		if ts.vers == tls.VersionTLS13 {
			w = append(w, controlRecord(cli, recordHandshake, []byte{24, 0, 0, 1, 0})...)
			cli.out.setKeys(cli.suite, keys13(cli.suite, nextSecret13(cli.suite, cli.out.keys.Secret)))
		}
		w = cli.Seal(w, []byte("two"))
		p, n, err := srv.Open(w)
		if err != nil || n != len(w) || string(p) != "one two" {
			t.Fatalf("%s: %q %d %v", ts.name, p, n, err)
		}
		if out := srv.Seal(nil, []byte("x")); len(out) != 0 || srv.Pending() || srv.SealInPlace(make([]byte, 64), 3) != nil {
			t.Fatalf("%s: sealed in userspace with the kernel sealing", ts.name)
		}
		if ts.vers != tls.VersionTLS13 {
			continue
		}
		_, _, err = srv.Open(controlRecord(cli, recordHandshake, []byte{24, 0, 0, 1, 1}))
		if !errors.Is(err, ErrKeyUpdate) {
			t.Fatalf("%s: requested KeyUpdate: %v", ts.name, err)
		}
		if a := srv.KernelAlert(); !bytes.Equal(a, CloseNotifyAlert) {
			t.Fatalf("%s: alert %v", ts.name, a)
		}
	}
}
