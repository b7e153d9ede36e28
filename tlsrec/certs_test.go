package tlsrec

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPairErrors(t *testing.T) {
	dir := t.TempDir()
	a := writeCert(t, dir, "a", certOpts{names: []string{"a.example"}})
	b := writeCert(t, dir, "b", certOpts{names: []string{"b.example"}})
	noPEM := filepath.Join(dir, "nopem")
	os.WriteFile(noPEM, []byte("hello\n"), 0o644)
	enc := filepath.Join(dir, "enc.key")
	os.WriteFile(enc, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), 0o600)
	badCert := filepath.Join(dir, "bad.crt")
	os.WriteFile(badCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 1, 2}}), 0o644)

	cases := []struct {
		name     string
		pair     Pair
		is       error  // errors.Is target, or nil
		contains string // substring of the message
	}{
		{"missing cert", Pair{filepath.Join(dir, "none.crt"), a.KeyFile}, fs.ErrNotExist, "none.crt"},
		{"missing key", Pair{a.CertFile, filepath.Join(dir, "none.key")}, fs.ErrNotExist, "none.key"},
		{"cert is a directory", Pair{dir, a.KeyFile}, nil, "is a directory"},
		{"mismatched key", Pair{a.CertFile, b.KeyFile}, ErrKeyMismatch, "b.key does not belong to " + a.CertFile},
		{"no PEM in cert", Pair{noPEM, a.KeyFile}, ErrNoCertificate, "nopem"},
		{"cert file as key", Pair{a.CertFile, a.CertFile}, ErrNoKey, "a.crt"},
		{"encrypted key", Pair{a.CertFile, enc}, ErrEncryptedKey, "enc.key"},
		{"bad certificate DER", Pair{badCert, a.KeyFile}, nil, "bad.crt: certificate 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := LoadPair(tc.pair, time.Now())
			if err == nil {
				t.Fatalf("loaded %v, want an error", c.Leaf.Subject)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			if !strings.HasPrefix(err.Error(), "tlsrec: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestLoadPairWarnings(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cases := []struct {
		name string
		opts certOpts
		want []string // substrings, one per warning, in order
	}{
		{"ecdsa ok", certOpts{names: []string{"ok.example"}}, nil},
		{"rsa ok", certOpts{names: []string{"rsa.example"}, rsa: true}, nil},
		{"leaf only", certOpts{names: []string{"leaf.example"}, noChain: true}, nil},
		{"expired", certOpts{names: []string{"old.example"}, notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour)},
			[]string{`certificate for "old.example" expired on`}},
		{"not yet valid", certOpts{names: []string{"new.example"}, notBefore: now.Add(time.Hour)},
			[]string{`certificate for "new.example" is not valid before`}},
		{"no names", certOpts{}, []string{"no DNS name"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeCert(t, dir, strings.Repeat("x", i+1), tc.opts)
			c, warn, err := LoadPair(p, now)
			if err != nil {
				t.Fatal(err)
			}
			if c.Leaf == nil || len(c.Certificate) == 0 || c.PrivateKey == nil {
				t.Fatalf("incomplete certificate %+v", c)
			}
			wantLen := 2
			if tc.opts.noChain {
				wantLen = 1
			}
			if len(c.Certificate) != wantLen {
				t.Errorf("chain length %d, want %d", len(c.Certificate), wantLen)
			}
			if len(warn) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", warn, len(tc.want))
			}
			for j, w := range tc.want {
				if !strings.Contains(warn[j], w) || !strings.Contains(warn[j], p.CertFile) {
					t.Errorf("warning %q does not say %q about %s", warn[j], w, p.CertFile)
				}
			}
		})
	}
}

func TestLoadPairChainOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	a := writeCert(t, dir, "a", certOpts{names: []string{"a.example"}, noChain: true})
	b := writeCert(t, dir, "b", certOpts{names: []string{"b.example"}, noChain: true})
	// a's leaf followed by b's leaf: b did not sign a.
	ab, _ := os.ReadFile(a.CertFile)
	bb, _ := os.ReadFile(b.CertFile)
	os.WriteFile(a.CertFile, append(ab, bb...), 0o644)
	_, warn, err := LoadPair(a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "chain out of order") {
		t.Fatalf("warnings %q, want one about the chain order", warn)
	}
}

// hello builds a ClientHelloInfo for SNI tests: TLS 1.3 with the given
// signature schemes.
func hello(name string, schemes ...tls.SignatureScheme) *tls.ClientHelloInfo {
	if len(schemes) == 0 {
		schemes = []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256, tls.PKCS1WithSHA256}
	}
	return &tls.ClientHelloInfo{
		ServerName:        name,
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		SignatureSchemes:  schemes,
		CipherSuites:      Suites12,
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SupportedPoints:   []uint8{0},
	}
}

func TestSelectSNI(t *testing.T) {
	dir := t.TempDir()
	pairs := []Pair{
		writeCert(t, dir, "def", certOpts{names: []string{"default.example"}}),
		writeCert(t, dir, "b", certOpts{names: []string{"b.example", "*.wild.example"}}),
		writeCert(t, dir, "dual-ec", certOpts{names: []string{"dual.example"}}),
		writeCert(t, dir, "dual-rsa", certOpts{names: []string{"dual.example"}, rsa: true}),
		writeCert(t, dir, "rsa", certOpts{names: []string{"rsaonly.example"}, rsa: true}),
	}
	set, err := LoadCertSet(pairs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rsaOnly := []tls.SignatureScheme{tls.PSSWithSHA256, tls.PKCS1WithSHA256}
	cases := []struct {
		name    string
		hello   *tls.ClientHelloInfo
		wantDNS string // first DNS name of the chosen leaf
		wantRSA bool
	}{
		{"no SNI gets default", hello(""), "default.example", false},
		{"unknown name gets default", hello("nope.example"), "default.example", false},
		{"exact", hello("b.example"), "b.example", false},
		{"case and trailing dot", hello("B.Example."), "b.example", false},
		{"wildcard", hello("x.wild.example"), "b.example", false},
		{"wildcard covers one label only", hello("y.x.wild.example"), "default.example", false},
		{"bare wildcard domain", hello("wild.example"), "default.example", false},
		{"first usable of two", hello("dual.example"), "dual.example", false},
		{"rsa-only client gets the rsa pair", hello("dual.example", rsaOnly...), "dual.example", true},
		{"rsa-only client without SNI skips the ecdsa default", hello("", rsaOnly...), "dual.example", true},
		{"ecdsa-only client asks for rsa-only name", hello("rsaonly.example", tls.ECDSAWithP256AndSHA256), "rsaonly.example", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := set.Select(tc.hello)
			if got := c.Leaf.DNSNames[0]; got != tc.wantDNS {
				t.Errorf("chose %s, want %s", got, tc.wantDNS)
			}
			if _, isRSA := c.Leaf.PublicKey.(interface{ Size() int }); isRSA != tc.wantRSA {
				t.Errorf("RSA=%v, want %v", isRSA, tc.wantRSA)
			}
		})
	}
	for name, want := range map[string]bool{"b.example": true, "q.wild.example": true, "wild.example": false, "": false, "DUAL.example": true} {
		if got := set.Covers(name); got != want {
			t.Errorf("Covers(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCertsSwap(t *testing.T) {
	dir := t.TempDir()
	a := writeCert(t, dir, "a", certOpts{names: []string{"a.example"}})
	b := writeCert(t, dir, "b", certOpts{names: []string{"b.example"}})
	c, err := NewCerts([]Pair{a})
	if err != nil {
		t.Fatal(err)
	}
	pick := func() string {
		got, err := c.GetCertificate(hello("b.example"))
		if err != nil {
			t.Fatal(err)
		}
		return got.Leaf.DNSNames[0]
	}
	if got := pick(); got != "a.example" {
		t.Fatalf("before swap: %s", got)
	}
	// A bad set (second pair mismatched) is refused whole; a stays.
	if _, err := c.Swap([]Pair{b, {a.CertFile, b.KeyFile}}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("bad swap: %v, want ErrKeyMismatch", err)
	}
	if got := pick(); got != "a.example" {
		t.Fatalf("after refused swap: %s", got)
	}
	if _, err := c.Swap(nil); !errors.Is(err, ErrNoPairs) {
		t.Fatalf("empty swap: %v", err)
	}
	warn, err := c.Swap([]Pair{a, b})
	if err != nil || len(warn) != 0 {
		t.Fatalf("good swap: %v %q", err, warn)
	}
	if got := pick(); got != "b.example" {
		t.Fatalf("after swap: %s", got)
	}
	var zero Certs
	if _, err := zero.GetCertificate(hello("")); !errors.Is(err, ErrNoPairs) {
		t.Fatalf("empty store: %v", err)
	}
}

// TestServerConfigPolicy handshakes crypto/tls clients against ServerConfig
// over a pipe: what the policy allows succeeds, the rest fails.
func TestServerConfigPolicy(t *testing.T) {
	dir := t.TempDir()
	ec := writeCert(t, dir, "ec", certOpts{names: []string{"ec.example"}})
	rs := writeCert(t, dir, "rsa", certOpts{names: []string{"rsa.example"}, rsa: true})
	certs, err := NewCerts([]Pair{ec, rs})
	if err != nil {
		t.Fatal(err)
	}
	srv := ServerConfig(certs, []string{"h2", "http/1.1"})
	roots := getCA(t).pool
	cases := []struct {
		name    string
		cfg     *tls.Config
		ok      bool
		vers    uint16
		suite   uint16
		alpn    string
		rsaCert bool
	}{
		{"tls13 default", &tls.Config{ServerName: "ec.example", NextProtos: []string{"http/1.1"}}, true, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, "http/1.1", false},
		{"tls13 h2 preferred", &tls.Config{ServerName: "ec.example", NextProtos: []string{"http/1.1", "h2"}}, true, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, "h2", false},
		{"tls12 ecdsa chacha", &tls.Config{ServerName: "ec.example", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, true, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "", false},
		{"tls12 rsa aes256", &tls.Config{ServerName: "rsa.example", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}}, true, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "", true},
		{"tls12 p256 only", &tls.Config{ServerName: "ec.example", MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP256}}, true, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "", false},
		{"tls11 refused", &tls.Config{ServerName: "ec.example", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false, 0, 0, "", false},
		{"cbc suites refused", &tls.Config{ServerName: "ec.example", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}}, false, 0, 0, "", false},
		{"static rsa refused", &tls.Config{ServerName: "rsa.example", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false, 0, 0, "", false},
		{"p384 only refused", &tls.Config{ServerName: "ec.example", CurvePreferences: []tls.CurveID{tls.CurveP384}}, false, 0, 0, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := net.Pipe()
			defer cc.Close()
			defer sc.Close()
			errc := make(chan error, 1)
			go func() {
				s := tls.Server(sc, srv)
				errc <- s.Handshake()
				sc.Close()
			}()
			cfg := tc.cfg.Clone()
			cfg.RootCAs = roots
			if cfg.MinVersion == 0 {
				cfg.MinVersion = tls.VersionTLS12
			}
			c := tls.Client(cc, cfg)
			err := c.Handshake()
			serr := <-errc
			if !tc.ok {
				if err == nil && serr == nil {
					t.Fatalf("handshake succeeded: %+v", c.ConnectionState())
				}
				return
			}
			if err != nil || serr != nil {
				t.Fatalf("client %v, server %v", err, serr)
			}
			st := c.ConnectionState()
			if st.Version != tc.vers || st.CipherSuite != tc.suite || st.NegotiatedProtocol != tc.alpn {
				t.Errorf("got %s %s %q, want %s %s %q", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol,
					tls.VersionName(tc.vers), tls.CipherSuiteName(tc.suite), tc.alpn)
			}
			if _, isRSA := st.PeerCertificates[0].PublicKey.(interface{ Size() int }); isRSA != tc.rsaCert {
				t.Errorf("RSA cert %v, want %v", isRSA, tc.rsaCert)
			}
			if _, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: cfg.ServerName}); err != nil {
				t.Errorf("chain does not verify: %v", err)
			}
		})
	}
}
