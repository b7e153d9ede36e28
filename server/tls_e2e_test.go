//go:build linux

package server

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// tlsFixture is a self-signed ECDSA P-256 certificate for localhost and
// 127.0.0.1, written as PEM files, and a client pool trusting it.
type tlsFixture struct {
	pair tlsrec.Pair
	pool *x509.CertPool
}

var (
	tlsFixOnce sync.Once
	tlsFix     tlsFixture
	tlsFixErr  error
)

func testTLSFixture(t testing.TB) tlsFixture {
	t.Helper()
	tlsFixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ringhttpd-tls")
		if err != nil {
			tlsFixErr = err
			return
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "localhost"},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IsCA:         true, BasicConstraintsValid: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			tlsFixErr = err
			return
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		cert := filepath.Join(dir, "cert.pem")
		kf := filepath.Join(dir, "key.pem")
		os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
		leaf, _ := x509.ParseCertificate(der)
		pool := x509.NewCertPool()
		pool.AddCert(leaf)
		tlsFix = tlsFixture{pair: tlsrec.Pair{CertFile: cert, KeyFile: kf}, pool: pool}
	})
	if tlsFixErr != nil {
		t.Fatal(tlsFixErr)
	}
	return tlsFix
}

// startTLSServer starts h with a plaintext and a TLS listener.
func startTLSServer(t testing.TB, backend string, h httpcore.Handler, mod func(*Config)) *Server {
	t.Helper()
	fx := testTLSFixture(t)
	certs, err := tlsrec.NewCerts([]tlsrec.Pair{fx.pair})
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, backend, h, func(c *Config) {
		c.TLSListen = []string{"127.0.0.1:0"}
		c.TLS = &TLSConfig{Certs: certs}
		if mod != nil {
			mod(c)
		}
	})
}

// tlsAddr returns the first TLS listener's address.
func tlsAddr(s *Server) string {
	return s.Addrs()[len(s.cfg.Listen)].String()
}

func clientTLS(t testing.TB) *tls.Config {
	return &tls.Config{RootCAs: testTLSFixture(t).pool, ServerName: "localhost"}
}

// dialTLS connects to s's TLS listener and completes the handshake.
func dialTLS(t testing.TB, s *Server, cfg *tls.Config) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", tlsAddr(s), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(nc, cfg)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if err := c.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return c, bufio.NewReaderSize(c, 64<<10)
}

func readResp(t testing.TB, r *bufio.Reader, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	return resp, body
}

func TestTLSServe(t *testing.T) {
	versions := []struct {
		name   string
		vers   uint16
		suites []uint16
	}{
		{"1.3", tls.VersionTLS13, nil},
		{"1.2-aes128", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
		{"1.2-aes256", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}},
		{"1.2-chacha", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
	}
	forEachEngine(t, func(t *testing.T, backend string) {
		h := newTestHandler(t)
		big := pattern(3<<20 + 12345)
		if err := os.WriteFile(filepath.Join(h.dir, "big"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		s := startTLSServer(t, backend, h, nil)
		for _, v := range versions {
			t.Run(v.name, func(t *testing.T) {
				cfg := clientTLS(t)
				cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites = v.vers, v.vers, v.suites
				c, r := dialTLS(t, s, cfg)
				if got := c.ConnectionState().Version; got != v.vers {
					t.Fatalf("version %x, want %x", got, v.vers)
				}
				// Memory, a file through the record layer, and pipelining
				// (three requests in one record).
				fmt.Fprintf(c, "%s", get("/mem/100"))
				if resp, body := readResp(t, r, "GET"); resp.StatusCode != 200 || !bytes.Equal(body, pattern(100)) {
					t.Fatalf("mem: %d %d bytes", resp.StatusCode, len(body))
				}
				fmt.Fprintf(c, "%s", get("/file/big"))
				if resp, body := readResp(t, r, "GET"); resp.StatusCode != 200 || !bytes.Equal(body, big) {
					t.Fatalf("file: %d, %d bytes of %d, equal %v", resp.StatusCode, len(body), len(big), bytes.Equal(body, big))
				}
				io.WriteString(c, get("/mem/10")+get("/op/1")+get("/mem/70000"))
				for _, n := range []int{10, -1, 70000} {
					resp, body := readResp(t, r, "GET")
					if resp.StatusCode != 200 || (n >= 0 && !bytes.Equal(body, pattern(n))) || (n < 0 && string(body) != "op 1") {
						t.Fatalf("pipelined %d: %d %q", n, resp.StatusCode, body[:min(len(body), 20)])
					}
				}
				// One request over many records.
				req := get("/mem/5")
				for i := 0; i < len(req); i++ {
					c.Write([]byte{req[i]})
				}
				if resp, _ := readResp(t, r, "GET"); resp.StatusCode != 200 {
					t.Fatalf("byte by byte: %d", resp.StatusCode)
				}
			})
		}
		waitFor(t, 5*time.Second, "file refs released", func() bool { return h.refs.Load() == h.rels.Load() })
	})
}

// holdConn holds writes once the first application-data record (in TLS 1.3
// the client's Finished) has been written, until flush: so the Finished and
// the first request reach the server in one segment.
type holdConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	buf  []byte
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hold && bytes.IndexByte(p, 0x17) == 0 {
		h.hold = true
	}
	if h.hold {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *holdConn) flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.Conn.Write(h.buf)
	h.buf, h.hold = nil, false
	return err
}

func TestTLSRequestWithFinished(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startTLSServer(t, backend, newTestHandler(t), nil)
		nc, err := net.Dial("tcp", tlsAddr(s))
		if err != nil {
			t.Fatal(err)
		}
		hc := &holdConn{Conn: nc}
		cfg := clientTLS(t)
		cfg.MinVersion = tls.VersionTLS13
		c := tls.Client(hc, cfg)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, get("/mem/33"))
		if err := hc.flush(); err != nil {
			t.Fatal(err)
		}
		if resp, body := readResp(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || len(body) != 33 {
			t.Fatalf("%d %d", resp.StatusCode, len(body))
		}
	})
}

func TestTLSResumption(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startTLSServer(t, backend, newTestHandler(t), nil)
		for _, vers := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			cfg := clientTLS(t)
			cfg.MaxVersion = vers
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i := 0; i < 2; i++ {
				c, r := dialTLS(t, s, cfg)
				io.WriteString(c, get("/mem/7"))
				if resp, _ := readResp(t, r, "GET"); resp.StatusCode != 200 {
					t.Fatalf("vers %x conn %d: %d", vers, i, resp.StatusCode)
				}
				if got := c.ConnectionState().DidResume; got != (i == 1) {
					t.Fatalf("vers %x conn %d: DidResume %v", vers, i, got)
				}
				c.Close()
			}
		}
	})
}

func TestTLSCloseAndGarbage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startTLSServer(t, backend, newTestHandler(t), nil)
		// close_notify from the client: the server closes too.
		c, r := dialTLS(t, s, clientTLS(t))
		io.WriteString(c, get("/mem/1"))
		readResp(t, r, "GET")
		c.CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := io.ReadAll(r); err != nil || len(b) != 0 {
			t.Fatalf("after close_notify: %q, %v", b, err)
		}
		// Garbage, an HTTP request, an SSLv3-era hello: closed at once.
		for _, in := range []string{
			"\x00\x01\x02garbage garbage garbage",
			get("/"),
			"\x16\x03\x00\x00\x2f\x01\x00\x00\x2b\x03\x00" + strings.Repeat("\x00", 40),
		} {
			nc, err := net.Dial("tcp", tlsAddr(s))
			if err != nil {
				t.Fatal(err)
			}
			nc.Write([]byte(in))
			nc.SetReadDeadline(time.Now().Add(3 * time.Second))
			b, err := io.ReadAll(nc) // an alert at most, then EOF
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("%q: not closed within 3 s", in)
			}
			if len(b) > 7 {
				t.Fatalf("%q: answered %q", in, b)
			}
			nc.Close()
		}
	})
}

func TestTLSRedirectAndHSTS(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend string) {
		s := startTLSServer(t, backend, newTestHandler(t), func(c *Config) {
			c.RedirectHTTPS = true
			c.HSTS = 24 * time.Hour
		})
		_, port, _ := net.SplitHostPort(tlsAddr(s))
		c := dialRaw(t, s)
		for _, tc := range []struct{ host, target, want string }{
			{"example.test:8080", "/a/b?x=1&y", "https://example.test:" + port + "/a/b?x=1&y"},
			{"EXAMPLE.test", "/", "https://EXAMPLE.test:" + port + "/"},
			{"[::1]:80", "/p", "https://[::1]:" + port + "/p"},
			{"ignored", "http://abs.test:81/q?z", "https://abs.test:" + port + "/q?z"},
		} {
			c.send(t, "GET "+tc.target+" HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
			resp, _ := c.response(t, "GET")
			if resp.StatusCode != 308 || resp.Header.Get("Location") != tc.want {
				t.Fatalf("%s %s: %d %q, want 308 %q", tc.host, tc.target, resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Fatal("HSTS on a plaintext answer")
			}
		}
		tc, r := dialTLS(t, s, clientTLS(t))
		io.WriteString(tc, get("/mem/3"))
		resp, _ := readResp(t, r, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=86400" {
			t.Fatalf("over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
	})
}
